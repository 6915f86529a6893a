//! Vectors signed by the official `huaweicloudsdkcore` signer (`tests/data/huawei_signatures.py`).

use axum::http::{HeaderName, HeaderValue};
use proptest::prelude::*;
use serde_json::Value;

use super::*;

const VECTORS: &str = include_str!("../../../tests/data/huawei_signatures.json");

struct Vector {
    method: String,
    path: String,
    query: String,
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Vector {
    fn request(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: &self.method,
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

fn vectors() -> (String, String, Timestamp, Vec<Vector>) {
    let all: Value = serde_json::from_str(VECTORS).expect("vectors parse");
    let text = |v: &Value| v.as_str().expect("a string").to_string();
    let requests = all["requests"]
        .as_array()
        .expect("requests")
        .iter()
        .map(|r| {
            let mut headers = HeaderMap::new();
            for (name, value) in r["headers"].as_object().expect("headers") {
                headers.insert(
                    HeaderName::try_from(name.as_str()).expect("header name"),
                    HeaderValue::from_str(value.as_str().expect("value")).expect("header value"),
                );
            }
            Vector {
                method: text(&r["method"]),
                path: text(&r["path"]),
                query: text(&r["query"]),
                headers,
                body: text(&r["body"]).into_bytes(),
            }
        })
        .collect();
    let date = DateTime::strptime(DATE_FORMAT, all["date"].as_str().expect("date"))
        .expect("date")
        .to_zoned(TimeZone::UTC)
        .expect("utc")
        .timestamp();
    (text(&all["access"]), text(&all["secret"]), date, requests)
}

fn verify_with(
    request: &SignedRequest<'_>,
    access: &str,
    secret: &str,
    now: Timestamp,
) -> Result<String, SignatureError> {
    verify_key(request, access, secret, false, now)
}

fn verify_key(
    request: &SignedRequest<'_>,
    access: &str,
    secret: &str,
    allow_unsigned_payload: bool,
    now: Timestamp,
) -> Result<String, SignatureError> {
    let key = Key {
        secret: secret.to_string(),
        allow_unsigned_payload,
    };
    verify(request, |id| (id == access).then(|| key.clone()), now).map(|signed| signed.key_id)
}

#[test]
fn every_sdk_signed_request_verifies() {
    let (access, secret, now, vectors) = vectors();
    assert!(vectors.len() >= 7);
    for v in &vectors {
        assert_eq!(
            verify_with(&v.request(), &access, &secret, now),
            Ok(access.clone()),
            "{} {}?{}",
            v.method,
            v.path,
            v.query
        );
    }
}

#[test]
fn our_signer_makes_the_sdks_authorization() {
    let (access, secret, _, vectors) = vectors();
    for v in &vectors {
        let sent = v.headers["authorization"].to_str().expect("ascii");
        let signed = parse_authorization(sent).expect("parses").signed_headers;
        let ours = authorization(&v.request(), &access, &secret, &signed).expect("signs");
        assert_eq!(ours, sent, "{} {}", v.method, v.path);
    }
}

#[test]
fn a_wrong_secret_or_a_tampered_request_is_refused() {
    let (access, secret, now, mut vectors) = vectors();
    let v = &vectors[0];
    assert_eq!(
        verify_with(&v.request(), &access, "wrong", now),
        Err(SignatureError::Mismatch)
    );
    assert_eq!(
        verify_with(&v.request(), "someone-else", &secret, now),
        Err(SignatureError::UnknownKey(access.clone()))
    );
    let mut tampered = vectors.remove(0);
    tampered.query = tampered.query.replace("limit=10", "limit=11");
    assert_eq!(
        verify_with(&tampered.request(), &access, &secret, now),
        Err(SignatureError::Mismatch)
    );
    let with_body = vectors
        .iter_mut()
        .find(|v| !v.body.is_empty())
        .expect("a vector with a body");
    with_body.body.push(b' ');
    assert_eq!(
        verify_with(&with_body.request(), &access, &secret, now),
        Err(SignatureError::Mismatch)
    );
    let mut other_project = vectors.remove(0);
    other_project
        .headers
        .insert("x-project-id", HeaderValue::from_static("ffff"));
    assert_eq!(
        verify_with(&other_project.request(), &access, &secret, now),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn the_date_must_be_within_15_minutes() {
    let (access, secret, now, vectors) = vectors();
    let v = &vectors[0];
    let sixteen = SignedDuration::from_mins(16);
    for skewed in [now + sixteen, now - sixteen] {
        assert!(matches!(
            verify_with(&v.request(), &access, &secret, skewed),
            Err(SignatureError::Skewed { .. })
        ));
    }
    let fourteen = SignedDuration::from_mins(14);
    assert!(verify_with(&v.request(), &access, &secret, now + fourteen).is_ok());
}

/// A request signed by `authorization` over `query` and `body`, with extra headers signed too.
fn signed_request(
    access: &str,
    secret: &str,
    method: &'static str,
    query: &'static str,
    body: &'static [u8],
    extra: &[(&'static str, &'static str)],
) -> (HeaderMap, &'static str, &'static str, &'static [u8]) {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
    headers.insert("x-sdk-date", HeaderValue::from_static("20261122T060353Z"));
    let mut signed = vec!["content-type", "host", "x-sdk-date"];
    for (name, value) in extra {
        headers.insert(*name, HeaderValue::from_static(value));
        signed.push(name);
    }
    signed.sort_unstable();
    let request = SignedRequest {
        method,
        path: PATH,
        query,
        headers: &headers,
        body,
    };
    let value = authorization(&request, access, secret, &signed).expect("signs");
    headers.insert(
        "authorization",
        HeaderValue::from_str(&value).expect("header"),
    );
    (headers, method, query, body)
}

const PATH: &str = "/v1/p/jobs";

fn as_sent<'a>(
    headers: &'a HeaderMap,
    method: &'a str,
    query: &'a str,
    body: &'a [u8],
) -> SignedRequest<'a> {
    SignedRequest {
        method,
        path: PATH,
        query,
        headers,
        body,
    }
}

#[test]
fn query_names_and_the_method_are_not_case_folded() {
    let (access, secret, now, _) = vectors();
    let (headers, method, query, body) =
        signed_request(&access, &secret, "GET", "limit=1", b"", &[]);
    assert_eq!(
        verify_with(
            &as_sent(&headers, method, query, body),
            &access,
            &secret,
            now
        ),
        Ok(access.clone())
    );
    for (method, query) in [("GET", "LIMIT=1"), ("GET", "Limit=1"), ("get", "limit=1")] {
        assert_eq!(
            verify_with(
                &as_sent(&headers, method, query, body),
                &access,
                &secret,
                now
            ),
            Err(SignatureError::Mismatch),
            "{method} ?{query}"
        );
    }
}

#[test]
fn repeated_query_parameters_read_in_the_signed_order() {
    assert_eq!(
        sorted_query("b=2&a=9&a=1"),
        sorted_query("a=1&b=2&a=9"),
        "one signature, one meaning"
    );
    assert_eq!(
        sorted_query("b=2&a=9&a=1"),
        [("a", "1"), ("a", "9"), ("b", "2")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .to_vec()
    );
}

#[test]
fn the_body_hash_is_the_received_bodys() {
    let (access, secret, now, _) = vectors();
    let original: &[u8] = br#"{"name":"a"}"#;
    let (headers, method, query, _) = signed_request(&access, &secret, "POST", "", original, &[]);
    assert!(
        verify_with(
            &as_sent(&headers, method, query, original),
            &access,
            &secret,
            now
        )
        .is_ok()
    );
    // Another body, with an unsigned header declaring the original body's hash.
    let mut forged = headers.clone();
    let declared = hex::encode(Sha256::digest(original));
    forged.insert(
        "x-sdk-content-sha256",
        HeaderValue::from_str(&declared).expect("hex"),
    );
    let swapped: &[u8] = br#"{"name":"b"}"#;
    assert_eq!(
        verify_with(
            &as_sent(&forged, method, query, swapped),
            &access,
            &secret,
            now
        ),
        Err(SignatureError::UnsignedContentHash)
    );
    assert_eq!(
        verify_with(
            &as_sent(&headers, method, query, swapped),
            &access,
            &secret,
            now
        ),
        Err(SignatureError::Mismatch)
    );
}

#[test]
fn a_signed_content_hash_must_match_the_body() {
    let (access, secret, now, _) = vectors();
    const BODY: &[u8] = br#"{"name":"a"}"#;
    const HASH: &str = "0d1b3a0a4eb0a36ee1b5bb7d4ab3c5d1cb6c0bdd6b1e6e17ab8a7f4c7bd8e3e0";
    let (headers, method, query, _) = signed_request(
        &access,
        &secret,
        "POST",
        "",
        BODY,
        &[("x-sdk-content-sha256", HASH)],
    );
    assert_eq!(
        verify_with(
            &as_sent(&headers, method, query, BODY),
            &access,
            &secret,
            now
        ),
        Err(SignatureError::ContentHashMismatch)
    );
    let real = hex::encode(Sha256::digest(BODY));
    assert_ne!(real, HASH);
    let (headers, method, query, _) = signed_request(
        &access,
        &secret,
        "POST",
        "",
        BODY,
        &[("x-sdk-content-sha256", Box::leak(real.into_boxed_str()))],
    );
    assert_eq!(
        verify_with(
            &as_sent(&headers, method, query, BODY),
            &access,
            &secret,
            now
        ),
        Ok(access)
    );
}

#[test]
fn unsigned_payload_only_for_a_key_allowed_it() {
    let (access, secret, now, _) = vectors();
    const BODY: &[u8] = b"--boundary\r\nfile\r\n";
    let (headers, method, query, _) = signed_request(
        &access,
        &secret,
        "POST",
        "",
        BODY,
        &[("x-sdk-content-sha256", "UNSIGNED-PAYLOAD")],
    );
    let request = as_sent(&headers, method, query, BODY);
    assert_eq!(
        verify_key(&request, &access, &secret, false, now),
        Err(SignatureError::UnsignedPayload(access.clone()))
    );
    assert_eq!(
        verify_key(&request, &access, &secret, true, now),
        Ok(access)
    );
}

#[test]
fn the_signed_headers_are_returned() {
    let (access, secret, now, vectors) = vectors();
    let v = &vectors[0];
    let key = Key {
        secret,
        allow_unsigned_payload: false,
    };
    let signed = verify(&v.request(), |_| Some(key.clone()), now).expect("verifies");
    assert_eq!(signed.key_id, access);
    assert_eq!(
        signed.signed_headers,
        ["content-type", "host", "x-project-id", "x-sdk-date"]
    );
}

#[test]
fn missing_or_malformed_authorization_is_named() {
    let (access, secret, now, vectors) = vectors();
    let mut v = vectors.into_iter().next().expect("a vector");
    for (value, expected) in [
        ("Basic abc", SignatureError::MalformedAuthorization),
        (
            "SDK-HMAC-SHA256 Access=a",
            SignatureError::MalformedAuthorization,
        ),
        (
            "SDK-HMAC-SHA256 Access=a, SignedHeaders=host, Signature=00",
            SignatureError::MissingDate,
        ),
    ] {
        v.headers
            .insert("authorization", HeaderValue::from_static(value));
        assert_eq!(
            verify_with(&v.request(), &access, &secret, now),
            Err(expected)
        );
    }
    v.headers.remove("authorization");
    assert_eq!(
        verify_with(&v.request(), &access, &secret, now),
        Err(SignatureError::MissingAuthorization)
    );
}

proptest! {
    #[test]
    fn garbage_authorization_headers_never_panic(value in "[ -~]{0,200}", query in "[ -~]{0,60}") {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.insert("authorization", value);
        }
        headers.insert("x-sdk-date", HeaderValue::from_static("20261122T060353Z"));
        let request = SignedRequest { method: "GET", path: "/v1/%zz/ü", query: &query, headers: &headers, body: b"x" };
        let key = Key { secret: "s".into(), allow_unsigned_payload: false };
        let _ = verify(&request, |_| Some(key.clone()), Timestamp::UNIX_EPOCH);
    }
}
