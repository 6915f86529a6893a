//! Arbitrary Huawei requests (method, path, query, Authorization, date and content-hash
//! headers, body) through the SDK-HMAC-SHA256 verifier, for a key that may or may not sign
//! `UNSIGNED-PAYLOAD`. Nothing may panic; garbage is refused.
#![no_main]

use axum::http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;
use sluice_api::signature::huawei::{Key, SignedRequest, verify};

fuzz_target!(|data: &[u8]| {
    let [flags, data @ ..] = data else { return };
    let text = String::from_utf8_lossy(data);
    let mut parts = text.splitn(7, '\n');
    let method = parts.next().unwrap_or_default();
    let path = parts.next().unwrap_or_default();
    let query = parts.next().unwrap_or_default();
    let authorization = parts.next().unwrap_or_default();
    let date = parts.next().unwrap_or_default();
    let content_hash = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let mut headers = HeaderMap::new();
    let fields = [
        ("authorization", authorization),
        ("x-sdk-date", date),
        ("x-sdk-content-sha256", content_hash),
        ("host", "h"),
    ];
    for (name, value) in fields {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    }
    let request = SignedRequest { method, path, query, headers: &headers, body: body.as_bytes() };
    let key = Key { secret: "secret".to_string(), allow_unsigned_payload: flags & 1 == 1 };
    let _ = verify(&request, |_| Some(key.clone()), jiff::Timestamp::UNIX_EPOCH);
});
