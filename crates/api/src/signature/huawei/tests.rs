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
    verify(
        request,
        |key| (key == access).then(|| secret.to_string()),
        now,
    )
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

#[test]
fn the_go_sdks_lower_cased_query_names_verify() {
    let (access, secret, now, _) = vectors();
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("host", HeaderValue::from_static("127.0.0.1:8080"));
    headers.insert("x-sdk-date", HeaderValue::from_static("20261122T060353Z"));
    let path = "/v1/p/jobs/j/instances/detail";
    let as_go_signs = SignedRequest {
        method: "GET",
        path,
        query: "jobname=j&limit=5",
        headers: &headers,
        body: b"",
    };
    let signed = ["content-type", "host", "x-sdk-date"];
    let authorization = authorization(&as_go_signs, &access, &secret, &signed).expect("signs");
    headers.insert(
        "authorization",
        HeaderValue::from_str(&authorization).expect("header"),
    );
    let as_sent = SignedRequest {
        method: "GET",
        path,
        query: "jobName=j&limit=5",
        headers: &headers,
        body: b"",
    };
    assert_eq!(verify_with(&as_sent, &access, &secret, now), Ok(access));
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
        let _ = verify(&request, |_| Some("s".into()), Timestamp::UNIX_EPOCH);
    }
}
