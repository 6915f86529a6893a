//! AWS Signature Version 4 (`AWS4-HMAC-SHA256`), as botocore and the AWS SDKs sign a request:
//!
//! ```text
//! canonical request = METHOD \n canonical URI \n canonical query \n canonical headers \n
//!                     signed header names \n hex(sha256(body))
//! string to sign    = "AWS4-HMAC-SHA256" \n X-Amz-Date \n DATE/REGION/SERVICE/aws4_request \n
//!                     hex(sha256(canonical request))
//! signing key       = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, DATE), REGION), SERVICE), "aws4_request")
//! signature         = hex(hmac-sha256(signing key, string to sign))
//! ```
//!
//! Verified over exactly what was received: the method, the raw path (each segment encoded
//! again, as botocore does for every service but S3), the query, the signed headers' values
//! and the hash of the body received; a declared `X-Amz-Content-Sha256` must be that hash.
//! `Host`, `X-Amz-Date` and the headers the dialect reads must be signed (the dialect never
//! reads an unsigned header). Any region; the service of the credential scope is the
//! dialect's. The request time must be within [`MAX_SKEW`] of the server's clock, as AWS
//! allows (`replay.rs`); there is no nonce to claim.

use axum::http::HeaderMap;
use hmac::{Hmac, KeyInit, Mac};
use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{SignedDuration, Timestamp};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

pub use super::SignedRequest;
use super::replay::within_skew;
use super::{canonical_query, rfc3986};

/// How far `X-Amz-Date` may be from the server's clock, either way: AWS's five minutes.
pub const MAX_SKEW: SignedDuration = SignedDuration::from_mins(5);

const ALGORITHM: &str = "AWS4-HMAC-SHA256";
const TERMINATOR: &str = "aws4_request";
const DATE_HEADER: &str = "x-amz-date";
const CONTENT_HASH_HEADER: &str = "x-amz-content-sha256";
const DATE_FORMAT: &str = "%Y%m%dT%H%M%SZ";

/// Why a request's signature is refused. The dialect words each in its vendor's codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("Missing Authentication Token")]
    MissingAuthorization,
    #[error("{0}")]
    Incomplete(String),
    #[error("The security token included in the request is invalid.")]
    UnknownKey(String),
    #[error("Credential should be scoped to correct service: '{expected}'.")]
    WrongService { expected: String },
    #[error("Credential should be scoped to a valid region.")]
    NoRegion,
    #[error(
        "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{scope}' != '{date}', from '{amz_date}'."
    )]
    ScopeDate {
        scope: String,
        date: String,
        amz_date: String,
    },
    #[error("{0}")]
    Skewed(String),
    #[error("'{0}' must be a signed header.")]
    Unsigned(String),
    #[error("The provided 'x-amz-content-sha256' header does not match what was computed.")]
    ContentHashMismatch,
    #[error(
        "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."
    )]
    Mismatch,
}

/// A verified request: who signed it, for which region, and what it covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    pub key_id: String,
    pub region: String,
    /// Lower-case names of the headers the signature covers.
    pub signed_headers: Vec<String>,
}

/// The parts of an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Authorization<'a> {
    key_id: &'a str,
    date: &'a str,
    region: &'a str,
    service: &'a str,
    signed_headers: Vec<&'a str>,
    signature: &'a str,
}

/// Verifies the request's signature for `service` (`states`), the headers in `required`
/// signed too. `secret_of` gives a key's secret; `now` is the server clock (passed in:
/// verification is pure).
pub fn verify(
    request: &SignedRequest<'_>,
    service: &str,
    required: &[&str],
    secret_of: impl Fn(&str) -> Option<String>,
    now: Timestamp,
) -> Result<Signed, SignatureError> {
    let sent =
        header(request.headers, "authorization").ok_or(SignatureError::MissingAuthorization)?;
    let auth = parse_authorization(sent)?;
    if auth.service != service {
        return Err(SignatureError::WrongService {
            expected: service.into(),
        });
    }
    if auth.region.is_empty() {
        return Err(SignatureError::NoRegion);
    }
    for name in ["host", DATE_HEADER].iter().chain(required) {
        if !auth.signed_headers.contains(name) {
            return Err(SignatureError::Unsigned((*name).to_string()));
        }
    }
    let amz_date = header(request.headers, DATE_HEADER).ok_or_else(|| {
        SignatureError::Incomplete(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."
                .into(),
        )
    })?;
    check_date(amz_date, auth.date, now)?;
    let secret =
        secret_of(auth.key_id).ok_or_else(|| SignatureError::UnknownKey(auth.key_id.into()))?;
    check_content_hash(request)?;
    let headers = canonical_headers(request.headers, &auth.signed_headers)?;
    let canonical = canonical_request(request, &headers, &auth.signed_headers);
    let scope = Scope {
        date: auth.date,
        region: auth.region,
        service,
    };
    let expected = signature(&secret, amz_date, &scope, &canonical);
    if !bool::from(expected.as_bytes().ct_eq(auth.signature.as_bytes())) {
        return Err(SignatureError::Mismatch);
    }
    Ok(Signed {
        key_id: auth.key_id.to_string(),
        region: auth.region.to_string(),
        signed_headers: auth.signed_headers.iter().map(|h| h.to_string()).collect(),
    })
}

/// The `Authorization` value a client computes for a request whose headers already hold
/// `X-Amz-Date` and every header in `signed_headers` (sorted, lower-case names).
pub fn authorization(
    request: &SignedRequest<'_>,
    key_id: &str,
    secret: &str,
    region: &str,
    service: &str,
    signed_headers: &[&str],
) -> Result<String, SignatureError> {
    let amz_date = header(request.headers, DATE_HEADER)
        .ok_or_else(|| SignatureError::Incomplete("no X-Amz-Date".into()))?;
    let date = amz_date.get(..8).unwrap_or(amz_date);
    let headers = canonical_headers(request.headers, signed_headers)?;
    let canonical = canonical_request(request, &headers, signed_headers);
    let scope = Scope {
        date,
        region,
        service,
    };
    Ok(format!(
        "{ALGORITHM} Credential={key_id}/{}, SignedHeaders={}, Signature={}",
        scope.text(),
        signed_headers.join(";"),
        signature(secret, amz_date, &scope, &canonical)
    ))
}

struct Scope<'a> {
    date: &'a str,
    region: &'a str,
    service: &'a str,
}

impl Scope<'_> {
    fn text(&self) -> String {
        format!(
            "{}/{}/{}/{TERMINATOR}",
            self.date, self.region, self.service
        )
    }
}

fn parse_authorization(header: &str) -> Result<Authorization<'_>, SignatureError> {
    let incomplete =
        |what: &str| SignatureError::Incomplete(format!("Authorization header {what}"));
    let rest = header
        .strip_prefix(ALGORITHM)
        .and_then(|r| r.strip_prefix(' '))
        .ok_or_else(|| incomplete("must use the AWS4-HMAC-SHA256 algorithm."))?;
    let (mut credential, mut signed, mut signature) = (None, None, None);
    for part in rest.split(',') {
        let (name, value) = part
            .trim()
            .split_once('=')
            .ok_or_else(|| incomplete("is not Credential=…, SignedHeaders=…, Signature=…."))?;
        match name {
            "Credential" => credential = Some(value),
            "SignedHeaders" => signed = Some(value),
            "Signature" => signature = Some(value),
            _ => return Err(incomplete("has an unknown part.")),
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(incomplete(
            "requires 'Credential', 'SignedHeaders' and 'Signature' parameters.",
        ));
    };
    match credential.split('/').collect::<Vec<_>>().as_slice() {
        [key_id, date, region, service, TERMINATOR] if !key_id.is_empty() => Ok(Authorization {
            key_id,
            date,
            region,
            service,
            signed_headers: signed.split(';').collect(),
            signature,
        }),
        _ => Err(SignatureError::Incomplete(format!(
            "Credential must have exactly 5 slash-delimited elements, e.g. keyid/date/region/service/{TERMINATOR}; got '{}'.",
            crate::echo::bounded(credential.to_string())
        ))),
    }
}

/// `X-Amz-Date` is a UTC time of the credential scope's day, within the skew window.
fn check_date(amz_date: &str, scope_date: &str, now: Timestamp) -> Result<(), SignatureError> {
    let at = DateTime::strptime(DATE_FORMAT, amz_date)
        .ok()
        .and_then(|d| d.to_zoned(TimeZone::UTC).ok())
        .map(|z| z.timestamp())
        .ok_or_else(|| {
            SignatureError::Incomplete(format!(
                "X-Amz-Date {:?} is not a UTC time like 20240101T000000Z.",
                crate::echo::bounded(amz_date.to_string())
            ))
        })?;
    let day = amz_date.get(..8).unwrap_or_default();
    if day != scope_date {
        return Err(SignatureError::ScopeDate {
            scope: crate::echo::bounded(scope_date.to_string()),
            date: day.into(),
            amz_date: amz_date.into(),
        });
    }
    if within_skew(at, now, MAX_SKEW) {
        return Ok(());
    }
    let stamp = |t: Timestamp| t.strftime(DATE_FORMAT).to_string();
    let message = if at < now {
        format!(
            "Signature expired: {amz_date} is now earlier than {} ({} - 5 min.)",
            stamp(now - MAX_SKEW),
            stamp(now)
        )
    } else {
        format!(
            "Signature not yet current: {amz_date} is still later than {} ({} + 5 min.)",
            stamp(now + MAX_SKEW),
            stamp(now)
        )
    };
    Err(SignatureError::Skewed(message))
}

/// A declared body hash must be the hash of the body received (`UNSIGNED-PAYLOAD` too is
/// refused: the body is always signed).
fn check_content_hash(request: &SignedRequest<'_>) -> Result<(), SignatureError> {
    match header(request.headers, CONTENT_HASH_HEADER) {
        None => Ok(()),
        Some(declared)
            if declared
                .trim()
                .eq_ignore_ascii_case(&body_hash(request.body)) =>
        {
            Ok(())
        }
        Some(_) => Err(SignatureError::ContentHashMismatch),
    }
}

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
        body_hash(request.body),
    )
}

fn body_hash(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

fn hmac_sha256(key: &[u8], data: &str) -> Vec<u8> {
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key)
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(data.as_bytes());
    mac.finalize().into_bytes().to_vec()
}

fn signature(secret: &str, amz_date: &str, scope: &Scope<'_>, canonical_request: &str) -> String {
    let string_to_sign = format!(
        "{ALGORITHM}\n{amz_date}\n{}\n{}",
        scope.text(),
        hex::encode(Sha256::digest(canonical_request.as_bytes()))
    );
    let key = [scope.date, scope.region, scope.service, TERMINATOR]
        .iter()
        .fold(format!("AWS4{secret}").into_bytes(), |key, part| {
            hmac_sha256(&key, part)
        });
    hex::encode(hmac_sha256(&key, &string_to_sign))
}

/// The raw path, each segment encoded (again: `%` becomes `%25`), as botocore signs it for
/// every service but S3.
fn canonical_uri(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    path.split('/').map(rfc3986).collect::<Vec<_>>().join("/")
}

/// `name:value` lines of the signed headers: every value of the header, trimmed, runs of
/// spaces made one, joined by `,`; each line ending in `\n`.
fn canonical_headers(headers: &HeaderMap, signed: &[&str]) -> Result<String, SignatureError> {
    let mut lines = String::new();
    for name in signed {
        let values: Vec<String> = headers
            .get_all(*name)
            .iter()
            .map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        if values.is_empty() {
            return Err(SignatureError::Incomplete(format!(
                "The signed header '{}' is missing.",
                crate::echo::bounded((*name).to_string())
            )));
        }
        lines.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    Ok(lines)
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[cfg(test)]
mod tests;
