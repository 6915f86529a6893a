//! The dialects: each vendor's HTTP wire format over the dialect-neutral service.
//!
//! A dialect verifies the request's signature, decodes its parameters into a typed request,
//! calls the service, and renders the answer — or the error, mapped to the vendor's code in
//! one place per dialect. It holds no business logic.
//!
//! - [`signature`]: request signing schemes (Alibaba RPC HMAC-SHA1, Huawei SDK-HMAC-SHA256,
//!   AWS Signature Version 4).
//! - [`cloudflow`]: Alibaba Cloud CloudFlow, API `fnf` 2019-03-15.
//! - [`huawei`]: Huawei Cloud REST services (FunctionGraph, DataArts Factory, GES).
//! - [`stepfunctions`]: AWS Step Functions (AWS JSON 1.0, Signature Version 4).
//! - [`http`]: the router serving every dialect, and the rules every connection is held to.
//! - [`echo`]: the bound on what error messages echo of a request.

pub mod cloudflow;
pub mod echo;
pub mod http;
pub mod huawei;
pub mod paging;
pub mod signature;
pub mod stepfunctions;
pub mod wire_time;

#[cfg(test)]
mod permission_walk;

use axum::http::{HeaderMap, Method};
use serde_json::Value;

/// A request as it arrived, for a dialect that reads its headers and signs its path.
pub struct Incoming<'a> {
    pub method: &'a Method,
    /// The raw (percent-encoded) path: the signature covers it as sent.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// A dialect's answer to one request.
#[derive(Debug, Clone, PartialEq)]
pub struct Answer {
    /// The dialect that answered (`cloudflow`, `dataarts`, …), for the request log.
    pub dialect: &'static str,
    /// The permission the request needed, once it was decoded that far (`fnf:StartExecution`).
    pub action: Option<&'static str>,
    pub status: u16,
    /// The JSON body; none for an empty answer.
    pub body: Option<Value>,
}

/// Every permission a key's `actions` can name, dialect by dialect.
pub fn permissions() -> Vec<&'static str> {
    let mut all = cloudflow::request::Request::PERMISSIONS.to_vec();
    all.extend(huawei::permissions());
    all.extend(stepfunctions::permissions());
    all
}

#[cfg(test)]
mod tests {
    /// `docs/configuration.md` lists every permission the code checks, so the list cannot
    /// drift from the code.
    #[test]
    fn every_permission_is_documented() {
        let doc = include_str!("../../../docs/configuration.md");
        let missing: Vec<&str> = super::permissions()
            .into_iter()
            .filter(|p| !doc.contains(&format!("`{p}`")))
            .collect();
        assert!(
            missing.is_empty(),
            "docs/configuration.md does not list {missing:?}"
        );
    }
}
