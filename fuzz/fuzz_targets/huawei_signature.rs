//! Arbitrary Huawei requests (method, path, query, Authorization and date headers, body) through
//! the SDK-HMAC-SHA256 verifier. Nothing may panic; garbage is refused.
#![no_main]

use axum::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use sluice_api::signature::huawei::{Key, SignedRequest, verify};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(6, '\n');
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    let query = parts.next().unwrap_or_default();
    let authorization = parts.next().unwrap_or_default();
    let date = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let mut headers = HeaderMap::new();
    for (name, value) in [("authorization", authorization), ("x-sdk-date", date), ("host", "h")] {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    let request = SignedRequest { method, path, query, headers: &headers, body: body.as_bytes() };
    let key = Key { secret: "secret".to_string(), allow_unsigned_payload: false };
    let _ = verify(&request, |_| Some(key.clone()), jiff::Timestamp::UNIX_EPOCH);
});
