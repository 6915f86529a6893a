//! Arbitrary requests to the Huawei services, routed by path and decoded by the service it
//! names (FunctionGraph v2 and v1.0, DataArts, GES v1 and v2): route, query, headers and body
//! into a typed call, or an error in the service's shape. Nothing may panic.
//!
//! Input: a method byte, a service byte (picks a path prefix, or none), then lines: the rest of
//! the path, the query, a header value (sent, and signed, as `workspace` and every
//! FunctionGraph run and state id header), and the body.
#![no_main]

use axum::http::{HeaderMap, HeaderValue, Method};
use libfuzzer_sys::fuzz_target;
use sluice_api::huawei::{Incoming, route};

const METHODS: [Method; 4] = [Method::GET, Method::POST, Method::PUT, Method::DELETE];
const PREFIXES: [&str; 6] = [
    "/v2/p/fgs/",
    "/v1.0/p/cloud_graphs/",
    "/v1/p/jobs/",
    "/v1.0/p/graphs/",
    "/v2/p/graphs/",
    "",
];
const HEADERS: [&str; 4] = ["workspace", "x-workflowrun-id", "x-workflow-run-id", "x-workflow-state-id"];

fuzz_target!(|data: &[u8]| {
    let [method, prefix, rest @ ..] = data else { return };
    let method = &METHODS[usize::from(*method) % METHODS.len()];
    let prefix = PREFIXES[usize::from(*prefix) % PREFIXES.len()];
    let mut lines = rest.splitn(4, |b| *b == b'\n');
    let mut line = || String::from_utf8_lossy(lines.next().unwrap_or_default()).into_owned();
    let path = format!("{prefix}{}", line());
    let query = line();
    let header = line();
    let body = lines.next().unwrap_or_default();
    let mut headers = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(&header) {
        for name in HEADERS {
            headers.insert(name, value.clone());
        }
    }
    let incoming = Incoming { method, path: &path, query: Some(&query), headers: &headers, body };
    if let Ok(target) = route(&incoming) {
        let signed = HEADERS.iter().map(|h| h.to_string()).collect();
        if let Ok(call) = target.signed(signed).decode() {
            let _ = call.permission();
        }
    }
});
