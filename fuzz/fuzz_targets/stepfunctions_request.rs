//! Arbitrary Step Functions requests: the SigV4 verifier (Authorization, X-Amz-Date,
//! X-Amz-Content-Sha256, path, query, body) and every action's decoder (X-Amz-Target and a
//! body into a typed call). Nothing may panic; garbage is refused.
#![no_main]

use axum::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use sluice_api::signature::aws::{SignedRequest, verify};
use sluice_api::stepfunctions::Call;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(7, '\n');
    let target = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    let query = parts.next().unwrap_or_default();
    let authorization = parts.next().unwrap_or_default();
    let date = parts.next().unwrap_or_default();
    let content_hash = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let mut headers = HeaderMap::new();
    let fields = [
        ("authorization", authorization),
        ("x-amz-date", date),
        ("x-amz-content-sha256", content_hash),
        ("x-amz-target", target),
        ("host", "h"),
    ];
    for (name, value) in fields {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    let request = SignedRequest { method: "POST", path, query, headers: &headers, body: body.as_bytes() };
    let _ = verify(&request, "states", &["x-amz-target"], |_| Some("secret".into()), jiff::Timestamp::UNIX_EPOCH);
    if let Ok(call) = Call::decode(target, body.as_bytes()) {
        let _ = call.permission();
    }
});
