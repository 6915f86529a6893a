//! Alibaba Cloud RPC signature v1 (HMAC-SHA1), as the fnf SDKs sign every request (spec §4).
//!
//! The signed set is every query and form parameter but `Signature`, sorted by name, each
//! RFC 3986-encoded; the string to sign is `METHOD&%2F&pct(canonical query)`; the key is
//! `secret&`.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use sha1::Sha1;

/// How far a request's `Timestamp` may be from the server's clock.
pub const MAX_SKEW: SignedDuration = SignedDuration::from_mins(15);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the parameter {0} is missing")]
    Missing(&'static str),
    #[error("the AccessKey ID {0} is invalid")]
    UnknownKey(String),
    #[error("the request signature does not match")]
    Mismatch,
    #[error("the request time {request} is too far from the server time {server}")]
    Skewed { request: String, server: String },
    #[error("{0}")]
    Invalid(String),
}

/// Verifies a request's parameters (query and form merged, `Signature` included) and returns
/// the AccessKeyId that signed it. `secret_of` gives a key's secret.
pub fn verify(
    method: &str,
    params: &BTreeMap<String, String>,
    secret_of: impl Fn(&str) -> Option<String>,
    now: Timestamp,
) -> Result<String, SignatureError> {
    let key_id = params
        .get("AccessKeyId")
        .ok_or(SignatureError::Missing("AccessKeyId"))?;
    let signature = params
        .get("Signature")
        .ok_or(SignatureError::Missing("Signature"))?;
    let timestamp = params
        .get("Timestamp")
        .ok_or(SignatureError::Missing("Timestamp"))?;
    check_method(params)?;
    check_time(timestamp, now)?;
    let secret = secret_of(key_id).ok_or_else(|| SignatureError::UnknownKey(key_id.clone()))?;
    let expected = STANDARD
        .decode(signature)
        .map_err(|_| SignatureError::Mismatch)?;
    let mut mac = mac(&secret);
    mac.update(string_to_sign(method, params).as_bytes());
    mac.verify_slice(&expected)
        .map_err(|_| SignatureError::Mismatch)?;
    Ok(key_id.clone())
}

/// The signature of `params` (without `Signature`), as a client computes it.
pub fn sign(method: &str, params: &BTreeMap<String, String>, secret: &str) -> String {
    let mut mac = mac(secret);
    mac.update(string_to_sign(method, params).as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn mac(secret: &str) -> Hmac<Sha1> {
    // HMAC accepts keys of any length, so this cannot fail.
    <Hmac<Sha1> as KeyInit>::new_from_slice(format!("{secret}&").as_bytes())
        .unwrap_or_else(|_| unreachable!())
}

pub fn string_to_sign(method: &str, params: &BTreeMap<String, String>) -> String {
    format!(
        "{method}&{}&{}",
        percent("/"),
        percent(&canonical_query(params))
    )
}

pub fn canonical_query(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .filter(|(k, _)| k.as_str() != "Signature")
        .map(|(k, v)| format!("{}={}", percent(k), percent(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// RFC 3986: everything but `A–Z a–z 0–9 - _ . ~` as `%XX`.
fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(char::from(byte))
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

fn check_method(params: &BTreeMap<String, String>) -> Result<(), SignatureError> {
    match params.get("SignatureMethod").map(String::as_str) {
        Some("HMAC-SHA1") | None => {}
        Some(other) => {
            return Err(SignatureError::Invalid(format!(
                "SignatureMethod {other} is not supported; use HMAC-SHA1"
            )));
        }
    }
    match params.get("SignatureVersion").map(String::as_str) {
        Some("1.0") | None => Ok(()),
        Some(other) => Err(SignatureError::Invalid(format!(
            "SignatureVersion {other} is not supported; use 1.0"
        ))),
    }
}

fn check_time(timestamp: &str, now: Timestamp) -> Result<(), SignatureError> {
    let at: Timestamp = timestamp.parse().map_err(|_| {
        SignatureError::Invalid(format!(
            "Timestamp {timestamp:?} is not YYYY-MM-DDThh:mm:ssZ"
        ))
    })?;
    if now.duration_since(at).abs() > MAX_SKEW {
        return Err(SignatureError::Skewed {
            request: timestamp.to_string(),
            server: now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Spec §4.4, computed with the SDK's own signer.
    fn vector() -> BTreeMap<String, String> {
        [
            ("Action", "StopExecution"),
            ("Format", "json"),
            ("Version", "2019-03-15"),
            ("Timestamp", "2024-01-01T00:00:00Z"),
            ("SignatureNonce", "0123456789abcdef0123456789abcdef"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("AccessKeyId", "testid"),
            ("FlowName", "my_flow"),
            ("ExecutionName", "exec-1"),
            ("Error", "Manual"),
            ("Cause", "stop by user"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    fn secret(id: &str) -> Option<String> {
        (id == "testid").then(|| "testsecret".to_string())
    }

    #[test]
    fn the_sdk_test_vector_byte_for_byte() {
        let params = vector();
        assert_eq!(
            canonical_query(&params),
            "AccessKeyId=testid&Action=StopExecution&Cause=stop%20by%20user&Error=Manual&ExecutionName=exec-1&FlowName=my_flow&Format=json&SignatureMethod=HMAC-SHA1&SignatureNonce=0123456789abcdef0123456789abcdef&SignatureVersion=1.0&Timestamp=2024-01-01T00%3A00%3A00Z&Version=2019-03-15"
        );
        assert!(string_to_sign("POST", &params).starts_with(
            "POST&%2F&AccessKeyId%3Dtestid%26Action%3DStopExecution%26Cause%3Dstop%2520by%2520user"
        ));
        assert_eq!(
            sign("POST", &params, "testsecret"),
            "vgaIv+Gtlvu3MqZxJOP6eR5+PO0="
        );
    }

    #[test]
    fn verification_accepts_the_vector_and_refuses_tampering() {
        let mut params = vector();
        params.insert("Signature".into(), "vgaIv+Gtlvu3MqZxJOP6eR5+PO0=".into());
        let now = at("2024-01-01T00:05:00Z");
        assert_eq!(
            verify("POST", &params, secret, now),
            Ok("testid".to_string())
        );
        assert_eq!(
            verify("GET", &params, secret, now),
            Err(SignatureError::Mismatch)
        );
        let mut tampered = params.clone();
        tampered.insert("ExecutionName".into(), "exec-2".into());
        assert_eq!(
            verify("POST", &tampered, secret, now),
            Err(SignatureError::Mismatch)
        );
        let wrong_secret = |_: &str| Some("other".to_string());
        assert_eq!(
            verify("POST", &params, wrong_secret, now),
            Err(SignatureError::Mismatch)
        );
        let nobody = |_: &str| None;
        assert_eq!(
            verify("POST", &params, nobody, now),
            Err(SignatureError::UnknownKey("testid".into()))
        );
    }

    #[test]
    fn old_timestamps_are_refused() {
        let mut params = vector();
        params.insert("Signature".into(), "vgaIv+Gtlvu3MqZxJOP6eR5+PO0=".into());
        let late = at("2024-01-01T00:20:00Z");
        assert!(matches!(
            verify("POST", &params, secret, late),
            Err(SignatureError::Skewed { .. })
        ));
    }

    #[test]
    fn non_ascii_values_are_encoded_as_utf8() {
        assert_eq!(percent("é ~*"), "%C3%A9%20~%2A");
    }
}
