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
//! the canonical query sorts `(name, value)` pairs, both encoded. The Go SDK lower-cases query
//! names before sorting; both forms are accepted.

use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::rfc3986;

/// How far `X-Sdk-Date` may be from the server's clock, either way.
pub const MAX_SKEW: SignedDuration = SignedDuration::from_mins(15);

const ALGORITHM: &str = "SDK-HMAC-SHA256";
const DATE_HEADER: &str = "x-sdk-date";
const CONTENT_HASH_HEADER: &str = "x-sdk-content-sha256";
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
    #[error("verify aksk signature fail")]
    Mismatch,
}

/// A request as received: the raw path and query (percent-encoded as sent), the headers and
/// the body bytes.
pub struct SignedRequest<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// The parts of an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authorization<'a> {
    access: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

/// Verifies the request's signature and returns the access key id that made it. `secret_of`
/// gives a key's secret; `now` is the server clock (passed in: verification is pure).
pub fn verify(
    request: &SignedRequest<'_>,
    secret_of: impl Fn(&str) -> Option<String>,
    now: Timestamp,
) -> Result<String, SignatureError> {
    let sent =
        header(request.headers, "authorization").ok_or(SignatureError::MissingAuthorization)?;
    let auth = parse_authorization(sent)?;
    if !auth.signed_headers.contains(&DATE_HEADER) {
        return Err(SignatureError::MissingDate);
    }
    let date = header(request.headers, DATE_HEADER).ok_or(SignatureError::MissingDate)?;
    check_date(date, now)?;
    let secret =
        secret_of(auth.access).ok_or_else(|| SignatureError::UnknownKey(auth.access.into()))?;
    let headers = canonical_headers(request.headers, &auth.signed_headers)?;
    let queries = [
        canonical_query(request.query, QueryNames::AsSent),
        canonical_query(request.query, QueryNames::LowerCased),
    ];
    let matches = queries.iter().any(|query| {
        let canonical = canonical_request(request, query, &headers, &auth.signed_headers);
        let expected = signature(&secret, date, &canonical);
        bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes()))
    });
    if matches {
        Ok(auth.access.to_string())
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
    let query = canonical_query(request.query, QueryNames::AsSent);
    let canonical = canonical_request(request, &query, &headers, signed_headers);
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
    if now.duration_since(at.timestamp()).abs() > MAX_SKEW {
        return Err(SignatureError::Skewed {
            request: date.into(),
            server: now.strftime(DATE_FORMAT).to_string(),
        });
    }
    Ok(())
}

fn canonical_request(
    request: &SignedRequest<'_>,
    query: &str,
    headers: &str,
    signed_headers: &[&str],
) -> String {
    format!(
        "{}\n{}\n{query}\n{headers}\n{}\n{}",
        request.method.to_ascii_uppercase(),
        canonical_uri(request.path),
        signed_headers.join(";"),
        payload_hash(request)
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum QueryNames {
    /// Python and Java SDKs.
    AsSent,
    /// The Go SDK signs lower-cased names.
    LowerCased,
}

fn canonical_query(query: &str, names: QueryNames) -> String {
    let mut pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| {
            let k = match names {
                QueryNames::AsSent => k.into_owned(),
                QueryNames::LowerCased => k.to_lowercase(),
            };
            (k, v.into_owned())
        })
        .collect();
    pairs.sort();
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", rfc3986(k), rfc3986(v)))
        .collect::<Vec<_>>()
        .join("&")
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

fn payload_hash(request: &SignedRequest<'_>) -> String {
    const EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    if request.body.is_empty() {
        return EMPTY.to_string();
    }
    match header(request.headers, CONTENT_HASH_HEADER) {
        Some(declared) => declared.to_string(),
        None => hex::encode(Sha256::digest(request.body)),
    }
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests;
