//! Huawei Cloud AK/SK signatures (SDK-HMAC-SHA256), as `huaweicloudsdkcore`'s `Signer` makes
//! them (spec §4.2):
//!
//! ```text
//! canonical request = METHOD \n canonical URI \n canonical query \n canonical headers \n
//!                     signed header names \n hex(sha256(body))
//! string to sign    = "SDK-HMAC-SHA256" \n X-Sdk-Date \n hex(sha256(canonical request))
//! signature         = hex(hmac-sha256(secret, string to sign))
//! ```
//!
//! The canonical URI is the decoded path, each segment RFC 3986-encoded, with a trailing `/`;
//! the canonical query sorts `(name, value)` pairs, both encoded, names as sent.
//!
//! One form only is accepted, the SDK's: the method and query names as sent (no case folding:
//! a request signed over `?limit=1` is not `?LIMIT=1`), and the body's hash is always the hash
//! of the body received. A declared `X-Sdk-Content-Sha256` must be signed and equal to it;
//! `UNSIGNED-PAYLOAD` (which the SDK declares for bodies that are not JSON) only for a key
//! allowed to send it. The dialect reads only the headers the signature covers
//! ([`Signed::signed_headers`]).

use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::replay::within_skew;
pub use super::{SignedRequest, sorted_query};
use super::{canonical_query, rfc3986};

/// How far `X-Sdk-Date` may be from the server's clock, either way.
pub const MAX_SKEW: SignedDuration = SignedDuration::from_mins(15);

const ALGORITHM: &str = "SDK-HMAC-SHA256";
const DATE_HEADER: &str = "x-sdk-date";
const CONTENT_HASH_HEADER: &str = "x-sdk-content-sha256";
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";
const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Authorization header is missing")]
    MissingAuthorization,
    #[error(
        "the Authorization header is not `SDK-HMAC-SHA256 Access=…, SignedHeaders=…, Signature=…`"
    )]
    MalformedAuthorization,
    #[error("the access key {0} is unknown")]
    UnknownKey(String),
    #[error("the header {0} is signed but missing")]
    MissingSignedHeader(String),
    #[error("the X-Sdk-Date header is missing or not signed")]
    MissingDate,
    #[error("X-Sdk-Date {0:?} is not a UTC time like 20240101T000000Z")]
    MalformedDate(String),
    #[error("X-Sdk-Date {request} is more than 15 minutes from the server time {server}")]
    Skewed { request: String, server: String },
    #[error("the X-Sdk-Content-Sha256 header is not among the signed headers")]
    UnsignedContentHash,
    #[error("X-Sdk-Content-Sha256 does not match the body received")]
    ContentHashMismatch,
    #[error("X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD is not allowed for the access key {0}")]
    UnsignedPayload(String),
    #[error("verify aksk signature fail")]
    Mismatch,
}

/// What the verifier needs to know of an access key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Key {
    pub secret: String,
    /// Whether it may sign `X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD` (the body then unsigned).
    pub allow_unsigned_payload: bool,
}

/// A verified request: who signed it, and the headers the signature covers (lower-case).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub key_id: String,
    pub signed_headers: Vec<String>,
}

/// The parts of an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authorization<'a> {
    access: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

/// Verifies the request's signature and says who made it. `key_of` gives what is known of a
/// key; `now` is the server clock (passed in: verification is pure).
pub fn verify(
    request: &SignedRequest<'_>,
    key_of: impl Fn(&str) -> Option<Key>,
    now: Timestamp,
) -> Result<Signed, SignatureError> {
    let sent =
        header(request.headers, "authorization").ok_or(SignatureError::MissingAuthorization)?;
    let auth = parse_authorization(sent)?;
    if !auth.signed_headers.contains(&DATE_HEADER) {
        return Err(SignatureError::MissingDate);
    }
    let date = header(request.headers, DATE_HEADER).ok_or(SignatureError::MissingDate)?;
    check_date(date, now)?;
    let key = key_of(auth.access).ok_or_else(|| SignatureError::UnknownKey(auth.access.into()))?;
    check_content_hash(request, &auth.signed_headers, auth.access, &key)?;
    let headers = canonical_headers(request.headers, &auth.signed_headers)?;
    let canonical = canonical_request(request, &headers, &auth.signed_headers);
    let expected = signature(&key.secret, date, &canonical);
    if bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        Ok(Signed {
            key_id: auth.access.to_string(),
            signed_headers: auth.signed_headers.iter().map(|h| h.to_string()).collect(),
        })
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The `Authorization` value a client computes for a request whose headers already hold
/// `X-Sdk-Date` and every header in `signed_headers` (lower-case names).
pub fn authorization(
    request: &SignedRequest<'_>,
    access: &str,
    secret: &str,
    signed_headers: &[&str],
) -> Result<String, SignatureError> {
    let date = header(request.headers, DATE_HEADER).ok_or(SignatureError::MissingDate)?;
    let headers = canonical_headers(request.headers, signed_headers)?;
    let canonical = canonical_request(request, &headers, signed_headers);
    Ok(format!(
        "{ALGORITHM} Access={access}, SignedHeaders={}, Signature={}",
        signed_headers.join(";"),
        signature(secret, date, &canonical)
    ))
}

fn parse_authorization(header: &str) -> Result<Authorization<'_>, SignatureError> {
    let rest = header
        .strip_prefix(ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or(SignatureError::MalformedAuthorization)?;
    let (mut access, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (name, value) = part
            .trim()
            .split_once('=')
            .ok_or(SignatureError::MalformedAuthorization)?;
        match name {
            "Access" => access = Some(value),
            "SignedHeaders" => signed = Some(value),
            "Signature" => signature = Some(value),
            _ => return Err(SignatureError::MalformedAuthorization),
        }
    }
    match (access, signed, signature) {
        (Some(access), Some(signed), Some(signature)) if !access.is_empty() => Ok(Authorization {
            access,
            signed_headers: signed.split(';').collect(),
            signature,
        }),
        _ => Err(SignatureError::MalformedAuthorization),
    }
}

fn check_date(date: &str, now: Timestamp) -> Result<(), SignatureError> {
    let at = DateTime::strptime(DATE_FORMAT, date)
        .ok()
        .and_then(|d| d.to_zoned(TimeZone::UTC).ok())
        .ok_or_else(|| SignatureError::MalformedDate(date.into()))?;
    if !within_skew(at.timestamp(), now, MAX_SKEW) {
        return Err(SignatureError::Skewed {
            request: date.into(),
            server: now.strftime(DATE_FORMAT).to_string(),
        });
    }
    Ok(())
}

/// The method as sent: the SDK signs it upper-cased and sends it so.
fn canonical_request(
    request: &SignedRequest<'_>,
    headers: &str,
    signed_headers: &[&str],
) -> String {
    format!(
        "{}\n{}\n{}\n{headers}\n{}\n{}",
        request.method,
        canonical_uri(request.path),
        canonical_query(request.query),
        signed_headers.join(";"),
        payload_hash(request),
    )
}

fn signature(secret: &str, date: &str, canonical_request: &str) -> String {
    let string_to_sign = format!(
        "{ALGORITHM}\n{date}\n{}",
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(string_to_sign.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The SDK decodes the whole path, splits it on `/`, encodes each segment, and always ends it
/// with `/`.
fn canonical_uri(path: &str) -> String {
    let decoded = percent_encoding::percent_decode_str(path).decode_utf8_lossy();
    let mut uri = decoded
        .split('/')
        .map(rfc3986)
        .collect::<Vec<_>>()
        .join("/");
    if !uri.ends_with('/') {
        uri.push('/');
    }
    uri
}

/// `name:value` lines of the signed headers, values trimmed, each line ending in `\n`.
fn canonical_headers(headers: &HeaderMap, signed: &[&str]) -> Result<String, SignatureError> {
    signed
        .iter()
        .map(|name| {
            header(headers, name)
                .map(|value| format!("{name}:{}\n", value.trim()))
                .ok_or_else(|| SignatureError::MissingSignedHeader((*name).to_string()))
        })
        .collect()
}

/// The hash the SDK's signer ends the canonical request with: the declared
/// `X-Sdk-Content-Sha256`, else the body's; an empty body's whatever is declared.
fn payload_hash(request: &SignedRequest<'_>) -> String {
    let received = || hex::encode(Sha256::digest(request.body));
    match header(request.headers, CONTENT_HASH_HEADER) {
        Some(declared) if !request.body.is_empty() => declared.trim().to_string(),
        _ => received(),
    }
}

/// A declared hash must be signed and be the received body's; `UNSIGNED-PAYLOAD` only for a
/// key allowed to send it.
fn check_content_hash(
    request: &SignedRequest<'_>,
    signed: &[&str],
    key_id: &str,
    key: &Key,
) -> Result<(), SignatureError> {
    let Some(declared) = header(request.headers, CONTENT_HASH_HEADER) else {
        return Ok(());
    };
    if !signed.contains(&CONTENT_HASH_HEADER) {
        return Err(SignatureError::UnsignedContentHash);
    }
    match declared.trim() {
        _ if request.body.is_empty() => Ok(()),
        UNSIGNED_PAYLOAD if key.allow_unsigned_payload => Ok(()),
        UNSIGNED_PAYLOAD => Err(SignatureError::UnsignedPayload(key_id.to_string())),
        hash if hash.eq_ignore_ascii_case(&hex::encode(Sha256::digest(request.body))) => Ok(()),
        _ => Err(SignatureError::ContentHashMismatch),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests;
