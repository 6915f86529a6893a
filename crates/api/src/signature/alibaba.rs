//! Alibaba Cloud RPC signature v1 (HMAC-SHA1), as the fnf SDKs sign every request (spec §4).
//!
//! The signed set is every query and form parameter but `Signature` (empty values included),
//! sorted by name, each RFC 3986-encoded; the string to sign is
//! `METHOD&%2F&pct(canonical query)`; the key is `secret&`. A verified request is accepted
//! once: its `SignatureNonce` is claimed through [`super::replay`].

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use jiff::{SignedDuration, Timestamp};
use sha1::Sha1;
use subtle::ConstantTimeEq;

use super::replay::{MAX_NONCE_CHARS, Verified, within_skew};
use super::rfc3986 as percent;

/// How far a request's `Timestamp` may be from the server's clock, either way.
pub const MAX_SKEW: SignedDuration = SignedDuration::from_mins(15);

/// The parameter carrying the signature; it is the one parameter not signed.
const SIGNATURE: &str = "Signature";

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
    #[error("SignatureMethod {0:?} is not supported; use HMAC-SHA1")]
    UnsupportedMethod(String),
    #[error("SignatureVersion {0:?} is not supported; use 1.0")]
    UnsupportedVersion(String),
    #[error("Timestamp {0:?} is not a UTC time like 2024-01-01T00:00:00Z")]
    BadTimestamp(String),
    #[error("SignatureNonce must be at most {MAX_NONCE_CHARS} characters")]
    LongNonce,
}

/// Verifies a request's parameters (query and form merged, `Signature` included) and says who
/// signed it, with its nonce and time for the replay check. `secret_of` gives a key's secret;
/// `now` is the server's clock, passed in so that verification stays a pure function.
pub fn verify(
    method: &str,
    params: &BTreeMap<String, String>,
    secret_of: impl Fn(&str) -> Option<String>,
    now: Timestamp,
) -> Result<Verified, SignatureError> {
    let key_id = present(params, "AccessKeyId")?;
    let signature = present(params, SIGNATURE)?;
    check_scheme(params)?;
    let signed_at = check_time(present(params, "Timestamp")?, now)?;
    let nonce = present(params, "SignatureNonce")?;
    if nonce.chars().count() > MAX_NONCE_CHARS {
        return Err(SignatureError::LongNonce);
    }
    let secret = secret_of(key_id).ok_or_else(|| SignatureError::UnknownKey(key_id.into()))?;
    let expected = sign(method, params, &secret);
    // Comparing the base64 text is as good as comparing the MAC bytes (the encoding is a
    // bijection) and spares decoding attacker-controlled base64.
    if bool::from(expected.as_bytes().ct_eq(signature.as_bytes())) {
        Ok(Verified {
            key_id: key_id.to_string(),
            nonce: nonce.to_string(),
            signed_at,
        })
    } else {
        Err(SignatureError::Mismatch)
    }
}

/// The signature of `params` as a client computes it; a `Signature` entry is ignored.
pub fn sign(method: &str, params: &BTreeMap<String, String>, secret: &str) -> String {
    let mut mac = mac(secret);
    mac.update(string_to_sign(method, params).as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// `METHOD&%2F&pct(canonical query)`.
pub fn string_to_sign(method: &str, params: &BTreeMap<String, String>) -> String {
    format!(
        "{method}&{}&{}",
        percent("/"),
        percent(&canonical_query(params))
    )
}

/// `k1=v1&k2=v2…`, sorted by name (the map's order), RFC 3986-encoded, without `Signature`.
pub fn canonical_query(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .filter(|(name, _)| name.as_str() != SIGNATURE)
        .map(|(name, value)| format!("{}={}", percent(name), percent(value)))
        .collect::<Vec<_>>()
        .join("&")
}

fn mac(secret: &str) -> Hmac<Sha1> {
    // HMAC takes keys of any length, so the error case cannot happen.
    <Hmac<Sha1> as KeyInit>::new_from_slice(format!("{secret}&").as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"))
}

fn present<'a>(
    params: &'a BTreeMap<String, String>,
    name: &'static str,
) -> Result<&'a str, SignatureError> {
    params
        .get(name)
        .map(String::as_str)
        .ok_or(SignatureError::Missing(name))
}

/// Only HMAC-SHA1 signature version 1.0 is served: every fnf SDK uses it (spec §4.1).
fn check_scheme(params: &BTreeMap<String, String>) -> Result<(), SignatureError> {
    let method = present(params, "SignatureMethod")?;
    if method != "HMAC-SHA1" {
        return Err(SignatureError::UnsupportedMethod(method.into()));
    }
    let version = present(params, "SignatureVersion")?;
    if version != "1.0" {
        return Err(SignatureError::UnsupportedVersion(version.into()));
    }
    Ok(())
}

/// The timestamp bounds how long a captured request can be replayed (and its nonce must be
/// remembered).
fn check_time(timestamp: &str, now: Timestamp) -> Result<Timestamp, SignatureError> {
    let at: Timestamp = timestamp
        .parse()
        .map_err(|_| SignatureError::BadTimestamp(timestamp.into()))?;
    if !within_skew(at, now, MAX_SKEW) {
        return Err(SignatureError::Skewed {
            request: timestamp.into(),
            server: now.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
        });
    }
    Ok(at)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// Spec §4.4, computed with the SDK's own signer.
    const VECTOR_SIGNATURE: &str = "vgaIv+Gtlvu3MqZxJOP6eR5+PO0=";

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

    fn signed_vector() -> BTreeMap<String, String> {
        let mut params = vector();
        params.insert(SIGNATURE.into(), VECTOR_SIGNATURE.into());
        params
    }

    fn at(text: &str) -> Timestamp {
        text.parse().expect("timestamp")
    }

    const VECTOR_NOW: &str = "2024-01-01T00:05:00Z";

    fn secret(id: &str) -> Option<String> {
        (id == "testid").then(|| "testsecret".to_string())
    }

    fn verify_vector(params: &BTreeMap<String, String>) -> Result<String, SignatureError> {
        verify("POST", params, secret, at(VECTOR_NOW)).map(|v| v.key_id)
    }

    /// Query and body of a raw request, form-decoded and merged, as the server sees them.
    fn merged(query: &str, body: &str) -> BTreeMap<String, String> {
        form_urlencoded::parse(query.as_bytes())
            .chain(form_urlencoded::parse(body.as_bytes()))
            .map(|(name, value)| (name.into_owned(), value.into_owned()))
            .collect()
    }

    #[test]
    fn the_sdk_test_vector_byte_for_byte() {
        let params = vector();
        assert_eq!(
            canonical_query(&params),
            "AccessKeyId=testid&Action=StopExecution&Cause=stop%20by%20user&Error=Manual&ExecutionName=exec-1&FlowName=my_flow&Format=json&SignatureMethod=HMAC-SHA1&SignatureNonce=0123456789abcdef0123456789abcdef&SignatureVersion=1.0&Timestamp=2024-01-01T00%3A00%3A00Z&Version=2019-03-15"
        );
        assert_eq!(
            string_to_sign("POST", &params),
            "POST&%2F&AccessKeyId%3Dtestid%26Action%3DStopExecution%26Cause%3Dstop%2520by%2520user%26Error%3DManual%26ExecutionName%3Dexec-1%26FlowName%3Dmy_flow%26Format%3Djson%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D0123456789abcdef0123456789abcdef%26SignatureVersion%3D1.0%26Timestamp%3D2024-01-01T00%253A00%253A00Z%26Version%3D2019-03-15"
        );
        assert_eq!(sign("POST", &params, "testsecret"), VECTOR_SIGNATURE);
        assert_eq!(
            sign("POST", &signed_vector(), "testsecret"),
            VECTOR_SIGNATURE,
            "Signature itself is not signed"
        );
    }

    #[test]
    fn the_vector_verifies() {
        assert_eq!(verify_vector(&signed_vector()), Ok("testid".into()));
    }

    /// Appendix A: a StopExecution captured from the Python SDK 2.0.1, `+` and non-ASCII in
    /// the form body.
    #[test]
    fn the_captured_sdk_request_verifies() {
        let params = merged(
            "Action=StopExecution&Format=json&Version=2019-03-15&Timestamp=2026-11-22T06%3A00%3A43Z&SignatureNonce=ccf0a74fea3b9ae8f17c1e105ab23201&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testid&Signature=fZiWLx%2BKnizOTGGM0rcvQcLzWVs%3D",
            "Cause=stop+by+user+~+test%2F%C3%A9&Error=Manual&ExecutionName=exec-1&FlowName=my_flow",
        );
        assert_eq!(
            string_to_sign("POST", &params),
            "POST&%2F&AccessKeyId%3Dtestid%26Action%3DStopExecution%26Cause%3Dstop%2520by%2520user%2520~%2520test%252F%25C3%25A9%26Error%3DManual%26ExecutionName%3Dexec-1%26FlowName%3Dmy_flow%26Format%3Djson%26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3Dccf0a74fea3b9ae8f17c1e105ab23201%26SignatureVersion%3D1.0%26Timestamp%3D2026-11-22T06%253A00%253A43Z%26Version%3D2019-03-15"
        );
        let now = at("2026-11-22T06:01:00Z");
        assert_eq!(
            verify("POST", &params, secret, now),
            Ok(Verified {
                key_id: "testid".into(),
                nonce: "ccf0a74fea3b9ae8f17c1e105ab23201".into(),
                signed_at: at("2026-11-22T06:00:43Z"),
            })
        );
    }

    #[test]
    fn plus_and_percent_20_are_the_same_space() {
        let base = "Action=StopExecution&Format=json&Version=2019-03-15&Timestamp=2024-01-01T00%3A00%3A00Z&SignatureNonce=0123456789abcdef0123456789abcdef&SignatureMethod=HMAC-SHA1&SignatureVersion=1.0&AccessKeyId=testid&Signature=vgaIv%2BGtlvu3MqZxJOP6eR5%2BPO0%3D";
        for body in [
            "Cause=stop+by+user&Error=Manual&ExecutionName=exec-1&FlowName=my_flow",
            "Cause=stop%20by%20user&Error=Manual&ExecutionName=exec-1&FlowName=my_flow",
        ] {
            assert_eq!(
                verify_vector(&merged(base, body)),
                Ok("testid".into()),
                "{body}"
            );
        }
    }

    #[test]
    fn non_ascii_values_are_signed_as_utf8() {
        assert_eq!(percent("é ~*/+"), "%C3%A9%20~%2A%2F%2B");
        let mut params = vector();
        params.insert("Cause".into(), "arrêt".into());
        let signature = sign("POST", &params, "testsecret");
        params.insert(SIGNATURE.into(), signature);
        assert_eq!(verify_vector(&params), Ok("testid".into()));
    }

    #[test]
    fn empty_values_are_signed() {
        // The legacy core SDKs send `SignatureType=` and sign it.
        let mut params = vector();
        params.insert("SignatureType".into(), String::new());
        assert!(canonical_query(&params).contains("&SignatureType=&"));
        let signature = sign("POST", &params, "testsecret");
        assert_ne!(signature, VECTOR_SIGNATURE);
        params.insert(SIGNATURE.into(), signature);
        assert_eq!(verify_vector(&params), Ok("testid".into()));
    }

    #[test]
    fn a_wrong_secret_does_not_match() {
        let other = |_: &str| Some("othersecret".to_string());
        assert_eq!(
            verify("POST", &signed_vector(), other, at(VECTOR_NOW)).map(|v| v.key_id),
            Err(SignatureError::Mismatch)
        );
    }

    #[test]
    fn tampering_does_not_match() {
        let mut tampered = signed_vector();
        tampered.insert("ExecutionName".into(), "exec-2".into());
        assert_eq!(verify_vector(&tampered), Err(SignatureError::Mismatch));
        let mut added = signed_vector();
        added.insert("Input".into(), "{}".into());
        assert_eq!(verify_vector(&added), Err(SignatureError::Mismatch));
        assert_eq!(
            verify("GET", &signed_vector(), secret, at(VECTOR_NOW)).map(|v| v.key_id),
            Err(SignatureError::Mismatch),
            "the method is signed"
        );
        let mut garbage = signed_vector();
        garbage.insert(SIGNATURE.into(), "not base64!".into());
        assert_eq!(verify_vector(&garbage), Err(SignatureError::Mismatch));
    }

    #[test]
    fn unknown_keys_are_refused() {
        let nobody = |_: &str| None;
        assert_eq!(
            verify("POST", &signed_vector(), nobody, at(VECTOR_NOW)).map(|v| v.key_id),
            Err(SignatureError::UnknownKey("testid".into()))
        );
    }

    #[test]
    fn timestamps_more_than_15_minutes_off_are_refused() {
        for now in ["2024-01-01T00:20:00Z", "2023-12-31T23:40:00Z"] {
            assert!(matches!(
                verify("POST", &signed_vector(), secret, at(now)),
                Err(SignatureError::Skewed { .. })
            ));
        }
        assert!(verify("POST", &signed_vector(), secret, at("2024-01-01T00:15:00Z")).is_ok());
    }

    #[test]
    fn the_nonce_is_required_and_bounded() {
        let mut params = vector();
        params.remove("SignatureNonce");
        let signature = sign("POST", &params, "testsecret");
        params.insert(SIGNATURE.into(), signature);
        assert_eq!(
            verify_vector(&params),
            Err(SignatureError::Missing("SignatureNonce"))
        );
        let mut params = vector();
        params.insert("SignatureNonce".into(), "n".repeat(MAX_NONCE_CHARS + 1));
        let signature = sign("POST", &params, "testsecret");
        params.insert(SIGNATURE.into(), signature);
        assert_eq!(verify_vector(&params), Err(SignatureError::LongNonce));
    }

    #[test]
    fn timestamps_with_milliseconds_are_accepted() {
        let mut params = vector();
        params.insert("Timestamp".into(), "2024-01-01T00:00:00.123Z".into());
        let signature = sign("POST", &params, "testsecret");
        params.insert(SIGNATURE.into(), signature);
        assert_eq!(verify_vector(&params), Ok("testid".into()));
    }

    #[test]
    fn other_schemes_and_bad_timestamps_are_refused() {
        let with = |name: &str, value: &str| {
            let mut params = signed_vector();
            params.insert(name.into(), value.into());
            verify_vector(&params)
        };
        assert_eq!(
            with("SignatureMethod", "HMAC-SHA256"),
            Err(SignatureError::UnsupportedMethod("HMAC-SHA256".into()))
        );
        assert_eq!(
            with("SignatureVersion", "2.0"),
            Err(SignatureError::UnsupportedVersion("2.0".into()))
        );
        assert_eq!(
            with("Timestamp", "yesterday"),
            Err(SignatureError::BadTimestamp("yesterday".into()))
        );
        for name in ["AccessKeyId", SIGNATURE, "Timestamp", "SignatureMethod"] {
            let mut params = signed_vector();
            params.remove(name);
            assert!(
                matches!(verify_vector(&params), Err(SignatureError::Missing(missing)) if missing == name)
            );
        }
    }

    proptest! {
        #[test]
        fn arbitrary_parameters_never_panic(
            params in proptest::collection::btree_map(".{0,12}", ".{0,24}", 0..12),
            now in any::<i32>(),
        ) {
            let now = Timestamp::from_second(i64::from(now)).unwrap_or(Timestamp::UNIX_EPOCH);
            let _ = verify("POST", &params, |_| Some("s".into()), now);
        }

        #[test]
        fn what_is_signed_verifies(
            mut params in proptest::collection::btree_map("[A-Za-z]{1,8}", ".{0,16}", 0..6),
            secret_text in ".{0,16}",
        ) {
            for (name, value) in vector() {
                params.insert(name, value);
            }
            let signature = sign("GET", &params, &secret_text);
            params.insert(SIGNATURE.into(), signature);
            let secret_of = |_: &str| Some(secret_text.clone());
            prop_assert_eq!(verify("GET", &params, secret_of, at(VECTOR_NOW)).map(|v| v.key_id), Ok("testid".to_string()));
        }
    }
}
