//! The HTTP layer: one router for every dialect, health and metrics, and what every request
//! passes through: its body read within a deadline, a panic answered with the dialect's 500
//! rather than a dropped connection, a log line (`debug`) with its dialect, action, status,
//! latency and request id, and the request metrics. [`serve`] holds connections to their [`Limits`].

mod server;

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::FutureExt;
use sluice_service::Service;
use subtle::ConstantTimeEq;

pub use server::{Limits, serve};

use crate::{Answer, cloudflow, huawei, stepfunctions};

/// Requests larger than this are refused before parsing (CloudFlow's request limit is 1 MiB;
/// the margin covers form encoding).
const MAX_REQUEST_BYTES: usize = 4 * 1024 * 1024;

/// The `/metrics` endpoint: what it serves, and the key it asks for.
#[derive(Clone)]
pub struct Metrics {
    /// Renders the Prometheus text.
    pub render: Arc<dyn Fn() -> String + Send + Sync>,
    /// When set, a scrape must send `Authorization: Bearer <key>`.
    pub key: Option<String>,
}

pub fn router(service: Arc<Service>, limits: &Limits, metrics: Option<Metrics>) -> Router {
    let mut router = Router::new()
        // `/` is CloudFlow's RPC, or, for a request naming an `X-Amz-Target`, Step Functions'.
        .route("/", get(root_rpc).post(root_rpc))
        .route("/healthz", get(healthz))
        // Every other path is a Huawei REST path (or nothing, answered in their shape).
        .fallback(huawei_rest)
        .with_state(service);
    if let Some(metrics) = metrics {
        router = router.route(
            "/metrics",
            get(move |headers: HeaderMap| std::future::ready(scrape(&metrics, &headers))),
        );
    }
    router
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BYTES))
        .layer(middleware::from_fn_with_state(
            limits.body_timeout,
            body_in_time,
        ))
}

async fn healthz() -> &'static str {
    "ok"
}

fn scrape(metrics: &Metrics, headers: &HeaderMap) -> Response {
    if let Some(key) = &metrics.key {
        let sent = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .unwrap_or("");
        if !bool::from(sent.as_bytes().ct_eq(key.as_bytes())) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "/metrics needs the metrics key: Authorization: Bearer <key>\n",
            )
                .into_response();
        }
    }
    (metrics.render)().into_response()
}

/// Reads the whole body within `deadline` of the headers, so a client trickling (or
/// withholding) its body cannot hold a connection; the handlers get the body complete.
async fn body_in_time(State(deadline): State<Duration>, request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let read = tokio::time::timeout(deadline, axum::body::to_bytes(body, MAX_REQUEST_BYTES));
    let refused = |status: StatusCode, why: String| {
        tracing::debug!(path = parts.uri.path(), %status, "request body refused: {why}");
        let mut response = (status, why).into_response();
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        response
    };
    match read.await {
        Ok(Ok(bytes)) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Ok(Err(_)) => refused(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than {MAX_REQUEST_BYTES} bytes, or was cut off"),
        ),
        Err(_) => refused(
            StatusCode::REQUEST_TIMEOUT,
            format!("the request body did not arrive within {deadline:?}"),
        ),
    }
}

async fn root_rpc(
    State(service): State<Arc<Service>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if stepfunctions::claims(&headers) {
        return stepfunctions_rpc(&service, &method, &uri, &headers, &body).await;
    }
    let request_id = cloudflow::new_request_id();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let handling = cloudflow::handle(
        &service,
        &request_id,
        method.as_str(),
        uri.query(),
        content_type,
        &body,
    );
    let answer = exchange(&request_id, handling, || {
        cloudflow::internal_error(&request_id)
    })
    .await;
    respond(answer, None)
}

async fn stepfunctions_rpc(
    service: &Service,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Response {
    let request_id = stepfunctions::new_request_id();
    let incoming = stepfunctions::Incoming {
        method,
        path: uri.path(),
        query: uri.query(),
        headers,
        body,
    };
    let handling = stepfunctions::handle(service, incoming);
    let answer = exchange(&request_id, handling, stepfunctions::internal_error).await;
    let mut response = respond(answer, None);
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-amz-json-1.0"),
    );
    if let Ok(id) = HeaderValue::from_str(&request_id) {
        headers.insert("x-amzn-requestid", id);
    }
    response
}

async fn huawei_rest(
    State(service): State<Arc<Service>>,
    method: Method,
    OriginalUri(uri): OriginalUri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = huawei::new_request_id();
    let incoming = huawei::Incoming {
        method: &method,
        path: uri.path(),
        query: uri.query(),
        headers: &headers,
        body: &body,
    };
    let handling = huawei::handle(&service, &request_id, incoming);
    let answer = exchange(&request_id, handling, || {
        huawei::internal_error(uri.path(), &request_id)
    })
    .await;
    respond(answer, Some(&request_id))
}

/// Runs a dialect's handling of one request. A panic becomes the dialect's 500 (`on_panic`),
/// logged with the request id, and the connection stays usable; every request gets its log
/// line.
async fn exchange(
    request_id: &str,
    handling: impl Future<Output = Answer>,
    on_panic: impl FnOnce() -> Answer,
) -> Answer {
    let started = Instant::now();
    let answer = match AssertUnwindSafe(handling).catch_unwind().await {
        Ok(answer) => answer,
        Err(panic) => {
            let answer = on_panic();
            tracing::error!(
                request_id,
                dialect = answer.dialect,
                panic = panic_message(panic.as_ref()),
                "handling a request panicked; answered 500"
            );
            answer
        }
    };
    let latency = started.elapsed();
    tracing::debug!(
        dialect = answer.dialect,
        action = answer.action.unwrap_or("-"),
        status = answer.status,
        latency_ms = latency.as_secs_f64() * 1000.0,
        request_id,
        "request"
    );
    let labels = [
        ("dialect", answer.dialect.to_string()),
        ("status", answer.status.to_string()),
    ];
    metrics::counter!("sluice_http_requests_total", &labels).increment(1);
    metrics::histogram!("sluice_http_request_seconds", "dialect" => answer.dialect)
        .record(latency.as_secs_f64());
    answer
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)")
}

/// The answer on the wire; `request_id` also goes in `X-Request-Id` (the Huawei services').
fn respond(answer: Answer, request_id: Option<&str>) -> Response {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match answer.body {
        Some(body) => (
            status,
            [(header::CONTENT_TYPE, "application/json;charset=utf-8")],
            body.to_string(),
        )
            .into_response(),
        None => status.into_response(),
    };
    if let Some(value) = request_id.and_then(|id| HeaderValue::from_str(id).ok()) {
        response.headers_mut().insert("x-request-id", value);
    }
    response
}

#[cfg(test)]
mod tests;
