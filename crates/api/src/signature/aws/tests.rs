//! Vectors signed by botocore's `SigV4Auth` (`tests/data/aws_signatures.py`).

use axum::http::{HeaderName, HeaderValue};
use proptest::prelude::*;
use serde_json::Value;

use super::*;

const VECTORS: &str = include_str!("../../../tests/data/aws_signatures.json");
const REQUIRED: &[&str] = &["x-amz-target"];

struct Vector {
    path: String,
    query: String,
    headers: HeaderMap,
    body: Vec<u8>,
    region: String,
}

impl Vector {
    fn request(&self) -> SignedRequest<'_> {
        SignedRequest {
            method: "POST",
            path: &self.path,
            query: &self.query,
            headers: &self.headers,
            body: &self.body,
        }
    }
}

struct Vectors {
    access: String,
    secret: String,
    now: Timestamp,
    requests: Vec<Vector>,
}

impl Vectors {
    fn verify(
        &self,
        request: &SignedRequest<'_>,
        now: Timestamp,
    ) -> Result<Signed, SignatureError> {
        let secret = self.secret.clone();
        let access = self.access.clone();
        verify(
            request,
            "states",
            REQUIRED,
            move |k| (k == access).then(|| secret.clone()),
            now,
        )
    }
}

fn vectors() -> Vectors {
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
                path: text(&r["path"]),
                query: text(&r["query"]),
                headers,
                body: text(&r["body"]).into_bytes(),
                region: text(&r["region"]),
            }
        })
        .collect();
    let now = DateTime::strptime(DATE_FORMAT, all["date"].as_str().expect("date"))
        .expect("date")
        .to_zoned(TimeZone::UTC)
        .expect("utc")
        .timestamp();
    Vectors {
        access: text(&all["access"]),
        secret: text(&all["secret"]),
        now,
        requests,
    }
}

#[test]
fn botocores_signatures_verify_in_any_region() {
    let v = vectors();
    for vector in &v.requests {
        let signed = v.verify(&vector.request(), v.now).expect("verifies");
        assert_eq!(signed.key_id, v.access);
        assert_eq!(signed.region, vector.region);
        assert!(signed.signed_headers.contains(&"x-amz-target".to_string()));
    }
}

#[test]
fn the_client_side_authorization_is_botocores() {
    let v = vectors();
    let vector = &v.requests[1];
    let sent = vector.headers["authorization"].to_str().unwrap();
    let names = ["content-type", "host", "x-amz-date", "x-amz-target"];
    let ours = authorization(
        &vector.request(),
        &v.access,
        &v.secret,
        &vector.region,
        "states",
        &names,
    );
    assert_eq!(ours.unwrap(), sent);
}

#[test]
fn a_changed_body_target_or_query_is_refused() {
    let v = vectors();
    let vector = &v.requests[2];
    let mut body = vector.body.clone();
    body[2] ^= 1;
    let tampered = SignedRequest {
        body: &body,
        ..vector.request()
    };
    assert_eq!(v.verify(&tampered, v.now), Err(SignatureError::Mismatch));
    let mut headers = vector.headers.clone();
    headers.insert(
        "x-amz-target",
        HeaderValue::from_static("AWSStepFunctions.StopExecution"),
    );
    let retargeted = SignedRequest {
        headers: &headers,
        ..vector.request()
    };
    assert_eq!(v.verify(&retargeted, v.now), Err(SignatureError::Mismatch));
    let requeried = SignedRequest {
        query: "a=1&b=x%20z",
        ..vector.request()
    };
    assert_eq!(v.verify(&requeried, v.now), Err(SignatureError::Mismatch));
}

#[test]
fn the_skew_window_is_five_minutes_either_way() {
    let v = vectors();
    let request = v.requests[0].request();
    for (offset, ok) in [(-300, true), (300, true), (-301, false), (301, false)] {
        let now = v.now + SignedDuration::from_secs(offset);
        let outcome = v.verify(&request, now);
        assert_eq!(outcome.is_ok(), ok, "{offset}: {outcome:?}");
    }
    let late = v.now + SignedDuration::from_mins(6);
    match v.verify(&request, late) {
        Err(SignatureError::Skewed(message)) => {
            assert!(
                message.starts_with("Signature expired: 20261122T060353Z is now earlier than"),
                "{message}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unknown_keys_wrong_services_and_unsigned_headers_are_refused() {
    let v = vectors();
    let vector = &v.requests[0];
    let request = vector.request();
    let nobody = verify(&request, "states", REQUIRED, |_| None, v.now);
    assert_eq!(nobody, Err(SignatureError::UnknownKey(v.access.clone())));
    let other = verify(
        &request,
        "lambda",
        REQUIRED,
        |_| Some(v.secret.clone()),
        v.now,
    );
    assert!(matches!(other, Err(SignatureError::WrongService { .. })));
    let must_sign = verify(
        &request,
        "states",
        &["x-amz-user-agent"],
        |_| Some(v.secret.clone()),
        v.now,
    );
    assert_eq!(
        must_sign,
        Err(SignatureError::Unsigned("x-amz-user-agent".into()))
    );
    let mut headers = vector.headers.clone();
    headers.insert(
        "x-amz-content-sha256",
        HeaderValue::from_static("UNSIGNED-PAYLOAD"),
    );
    let unsigned_body = SignedRequest {
        headers: &headers,
        ..vector.request()
    };
    assert_eq!(
        v.verify(&unsigned_body, v.now),
        Err(SignatureError::ContentHashMismatch)
    );
    let mut headers = vector.headers.clone();
    headers.remove("authorization");
    let anonymous = SignedRequest {
        headers: &headers,
        ..vector.request()
    };
    assert_eq!(
        v.verify(&anonymous, v.now),
        Err(SignatureError::MissingAuthorization)
    );
}

proptest! {
    /// Whatever the Authorization and X-Amz-Date headers hold, the verifier refuses or
    /// accepts; it never panics.
    #[test]
    fn garbage_authorization_headers_never_panic(
        authorization in "[ -~]{0,200}",
        date in "[0-9TZ]{0,20}",
        body in proptest::collection::vec(any::<u8>(), 0..32),
    ) {
        let mut headers = HeaderMap::new();
        if let Ok(value) = HeaderValue::from_str(&authorization) {
            headers.insert("authorization", value);
        }
        if let Ok(value) = HeaderValue::from_str(&date) {
            headers.insert("x-amz-date", value);
        }
        headers.insert("host", HeaderValue::from_static("h"));
        let request = SignedRequest { method: "POST", path: "/", query: "", headers: &headers, body: &body };
        let _ = verify(&request, "states", REQUIRED, |_| Some("s".into()), Timestamp::now());
    }
}
