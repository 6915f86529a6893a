//! Arbitrary bytes as a CloudFlow request: split into a query string and a form body, decoded,
//! signature-checked and turned into a typed request. Nothing may panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sluice_api::cloudflow::params::Params;
use sluice_api::cloudflow::request::Request;
use sluice_api::signature::alibaba;

fuzz_target!(|data: &[u8]| {
    let split = data.iter().position(|b| *b == b'\n').unwrap_or(data.len());
    let (query, body) = data.split_at(split);
    let query = String::from_utf8_lossy(query);
    let params = Params::decode("POST", Some(&query), Some("application/x-www-form-urlencoded"), body);
    let _ = Request::decode(&params);
    let _ = alibaba::verify(params.method(), params.all(), |_| Some("secret".to_string()), jiff::Timestamp::UNIX_EPOCH);
});
