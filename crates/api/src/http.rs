//! The HTTP server: one router for every dialect, health and metrics.

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use sluice_service::Service;

use crate::{cloudflow, huawei};

/// Requests larger than this are refused before parsing (CloudFlow's request limit is 1 MiB;
/// the margin covers form encoding).
const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/", get(cloudflow_rpc).post(cloudflow_rpc))
        .route("/healthz", get(healthz))
        // Every other path is a Huawei REST path (or nothing, answered in their shape).
        .fallback(huawei_rest)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .with_state(service)
}

async fn healthz() -> &'static str {
    "ok"
}

async fn cloudflow_rpc(
    State(service): State<Arc<Service>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let (status, body) =
        cloudflow::handle(&service, method.as_str(), uri.query(), content_type, &body).await;
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
        body.to_string(),
    )
        .into_response()
}

async fn huawei_rest(
    State(service): State<Arc<Service>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let incoming = huawei::Incoming {
        method: &method,
        path: uri.path(),
        query: uri.query(),
        headers: &headers,
        body: &body,
    };
    let (reply, request_id) = huawei::handle(&service, incoming).await;
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match reply.body {
        Some(body) => (
            status,
            [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
            body.to_string(),
        )
            .into_response(),
        None => status.into_response(),
    };
    if let Ok(value) = header::HeaderValue::from_str(&request_id) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}
