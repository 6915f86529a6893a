//! The Huawei Cloud dialects. They share one request shape: REST paths under a project id,
//! AK/SK signatures (SDK-HMAC-SHA256, checked here once for all of them), `X-Request-Id` on
//! every answer, and errors as a JSON object with a code and a message whose key names differ
//! per service. Each service is a module: `functiongraph` (workflows v2), `cloud_graphs`
//! (FunctionGraph's legacy v1.0 workflows), `dataarts` (Factory
//! jobs and instances), `ges` (graph lifecycle and jobs).
//!
//! Flow: [`handle`] decodes the path, finds the service by its path shape, authenticates (the
//! signature, then that the path's project belongs to the key's tenant), and hands the service
//! module a [`Routed`] request. The module answers a [`Reply`] or a [`HuaweiError`] it built
//! from a `ServiceError` in its one mapping function.

pub mod cloud_graphs;
pub mod dataarts;
pub mod functiongraph;
pub mod ges;
mod wire;

use std::sync::Arc;

use axum::http::{HeaderMap, Method};
use serde_json::Value;
use sluice_service::{Caller, Service, ServiceError};

pub use wire::{ErrorShape, HuaweiError, Reply};

use crate::signature::huawei as signature;

/// A request as it arrived.
pub struct Incoming<'a> {
    pub method: &'a Method,
    /// The raw (percent-encoded) path: the signature covers it as sent.
    pub path: &'a str,
    pub query: Option<&'a str>,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// An authenticated request for one service: the path after the service's root, decoded, and
/// only what the signature covers: the query in its signed order, the signed headers.
pub struct Routed<'a> {
    pub method: &'a Method,
    pub rest: Vec<String>,
    pub query: Vec<(String, String)>,
    headers: &'a HeaderMap,
    signed_headers: Vec<String>,
    pub body: &'a [u8],
}

impl Routed<'_> {
    /// The last value of a query parameter, if present and not empty.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// A signed request header's text, trimmed as the signature saw it, if present and not
    /// empty. An unsigned header is never read: it could change what a signed request means.
    pub fn header(&self, name: &str) -> Option<&str> {
        if !self
            .signed_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            return None;
        }
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// A whole-number query parameter within `range`, `default` when absent.
    pub fn number(
        &self,
        name: &str,
        default: usize,
        range: std::ops::RangeInclusive<usize>,
    ) -> Result<usize, String> {
        match self.query_param(name) {
            None => Ok(default),
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    format!(
                        "{name} must be a whole number from {} to {}, not {text:?}",
                        range.start(),
                        range.end()
                    )
                }),
        }
    }

    /// `offset` (from 0) and `limit` (1 to `max_limit`) of a listing.
    pub fn offset_page(
        &self,
        default_limit: usize,
        max_limit: usize,
    ) -> Result<(usize, usize), ServiceError> {
        let offset = self.number("offset", 0, 0..=usize::MAX);
        let limit = self.number("limit", default_limit, 1..=max_limit);
        offset
            .and_then(|o| limit.map(|l| (o, l)))
            .map_err(ServiceError::InvalidArgument)
    }

    pub fn rest(&self) -> Vec<&str> {
        self.rest.iter().map(String::as_str).collect()
    }

    /// The body as a JSON value; an empty body is `null`.
    pub fn json_body(&self) -> Result<Value, String> {
        if self.body.iter().all(u8::is_ascii_whitespace) {
            return Ok(Value::Null);
        }
        serde_json::from_slice(self.body).map_err(|e| format!("the body is not valid JSON: {e}"))
    }
}

/// The Huawei services this server speaks, told apart by their path shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Ges(ges::Version),
    FunctionGraph,
    /// FunctionGraph's legacy v1.0 `cloud_graphs`.
    CloudGraphs,
    DataArts,
}

impl Api {
    /// The service a path belongs to and its project id. The segments after the first three
    /// (version, project, service root) are the service's.
    fn of(segments: &[String]) -> Option<(Api, &str)> {
        match segments {
            [v, project, fgs, ..] if v == "v2" && fgs == "fgs" => {
                Some((Api::FunctionGraph, project))
            }
            [v, project, jobs, ..] if v == "v1" && jobs == "jobs" => Some((Api::DataArts, project)),
            [v, project, graphs, ..] if v == "v1.0" && graphs == "cloud_graphs" => {
                Some((Api::CloudGraphs, project))
            }
            [v, project, graphs, ..] if v == "v1.0" && graphs == "graphs" => {
                Some((Api::Ges(ges::Version::V1), project))
            }
            [v, project, graphs, ..] if v == "v2" && graphs == "graphs" => {
                Some((Api::Ges(ges::Version::V2), project))
            }
            _ => None,
        }
    }

    fn shape(self) -> ErrorShape {
        match self {
            Api::Ges(version) => version.error_shape(),
            Api::FunctionGraph | Api::CloudGraphs | Api::DataArts => ErrorShape::Snake,
        }
    }

    /// The service's own error for a project that is not the key's tenant's.
    fn foreign_project(self, project: &str) -> HuaweiError {
        match self {
            Api::Ges(version) => ges::foreign_project(version, project),
            Api::FunctionGraph => functiongraph::foreign_project(project),
            // The legacy API is FunctionGraph's too, with the same gateway in front.
            Api::CloudGraphs => functiongraph::foreign_project(project),
            Api::DataArts => dataarts::foreign_project(project),
        }
    }
}

/// Handles one request. Never fails: every problem is a reply in the service's error shape.
pub async fn handle(service: &Arc<Service>, incoming: Incoming<'_>) -> (Reply, String) {
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let all = segments(incoming.path);
    let reply = match Api::of(&all) {
        None => Err(HuaweiError::not_found_route(incoming.path)),
        Some((api, project)) => match authenticate(service, &incoming, api, project) {
            Err(e) => Err(e),
            Ok((caller, signed_headers)) => {
                let routed = Routed {
                    method: incoming.method,
                    rest: all[3..].to_vec(),
                    query: signature::sorted_query(incoming.query.unwrap_or("")),
                    headers: incoming.headers,
                    signed_headers,
                    body: incoming.body,
                };
                match api {
                    Api::Ges(version) => ges::handle(service, &caller, version, &routed).await,
                    Api::FunctionGraph => {
                        functiongraph::handle(service, &caller, project, &routed).await
                    }
                    Api::CloudGraphs => {
                        cloud_graphs::handle(service, &caller, project, &routed).await
                    }
                    Api::DataArts => dataarts::handle(service, &caller, &routed).await,
                }
            }
        },
    };
    let reply = reply.unwrap_or_else(|e| {
        if e.status >= 500 {
            tracing::error!(request_id, error = %e.message, "request failed");
        }
        e.into_reply(&request_id)
    });
    (reply, request_id)
}

/// The signature, then the project: a key of one tenant cannot name another's project. Returns
/// the caller and the headers the signature covers.
fn authenticate(
    service: &Service,
    incoming: &Incoming<'_>,
    api: Api,
    project: &str,
) -> Result<(Caller, Vec<String>), HuaweiError> {
    let tenants = service.tenants();
    let key_of = |key_id: &str| {
        tenants.key(key_id).map(|(secret, caller)| signature::Key {
            secret: secret.to_string(),
            allow_unsigned_payload: caller.allow_unsigned_payload,
        })
    };
    let request = signature::SignedRequest {
        method: incoming.method.as_str(),
        path: incoming.path,
        query: incoming.query.unwrap_or(""),
        headers: incoming.headers,
        body: incoming.body,
    };
    let signed = signature::verify(&request, key_of, jiff::Timestamp::now())
        .map_err(|e| HuaweiError::unauthenticated(api.shape(), &e.to_string()))?;
    let caller = tenants
        .key(&signed.key_id)
        .map(|(_, caller)| caller.clone())
        .ok_or_else(|| HuaweiError::internal(api.shape(), "the verified key vanished"))?;
    if tenants.project_tenant(project) != Some(&caller.tenant) {
        return Err(api.foreign_project(project));
    }
    Ok((caller, signed.signed_headers))
}

/// Path segments of the percent-decoded path (URNs arrive with `:` as `%3A`), split as the
/// signer splits it: an encoded `/` separates segments here too, so the path means what its
/// signature covers.
fn segments(path: &str) -> Vec<String> {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Service errors every Huawei service words the same way (the API gateway's), whatever the
/// service's own codes.
pub fn gateway_error(shape: ErrorShape, e: &ServiceError) -> Option<HuaweiError> {
    match e {
        ServiceError::Throttled => Some(HuaweiError::new(
            shape,
            429,
            "APIG.0308",
            "The throttling threshold has been reached.",
        )),
        _ => None,
    }
}
