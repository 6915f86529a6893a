//! RFC 9457 problem details: every native API error, and the one mapping from the service's
//! errors to HTTP statuses.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sluice_service::ServiceError;
use utoipa::ToSchema;

use crate::console::SessionError;
use crate::echo;

/// An error, as `application/problem+json`.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: `code` says which problem it is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The HTTP status's phrase.
    pub title: &'static str,
    pub status: u16,
    /// What went wrong, for a person.
    pub detail: String,
    /// What went wrong, for a program (`ExecutionNotFound`, `InvalidParameter`, …).
    pub code: &'static str,
}

impl Problem {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: echo::bounded(detail.into()),
            code,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Problem::new(StatusCode::BAD_REQUEST, "InvalidParameter", detail)
    }

    pub fn unauthenticated(detail: &str) -> Self {
        Problem::new(StatusCode::UNAUTHORIZED, "Unauthenticated", detail)
    }
}

impl From<SessionError> for Problem {
    fn from(e: SessionError) -> Self {
        match e {
            SessionError::Csrf => {
                Problem::new(StatusCode::FORBIDDEN, "InvalidCsrfToken", e.to_string())
            }
            _ => Problem::new(StatusCode::UNAUTHORIZED, "Unauthenticated", e.to_string()),
        }
    }
}

impl From<ServiceError> for Problem {
    fn from(e: ServiceError) -> Self {
        let (status, code) = match &e {
            ServiceError::InvalidArgument(_)
            | ServiceError::InvalidName(_)
            | ServiceError::InvalidInput(_) => (StatusCode::BAD_REQUEST, "InvalidParameter"),
            ServiceError::InvalidDefinition(_) => (StatusCode::BAD_REQUEST, "InvalidDefinition"),
            ServiceError::WrongMode(_) => (StatusCode::BAD_REQUEST, "WrongMode"),
            ServiceError::NotSupported(_) => (StatusCode::BAD_REQUEST, "NotSupported"),
            ServiceError::PayloadTooLarge { .. } => {
                (StatusCode::PAYLOAD_TOO_LARGE, "PayloadTooLarge")
            }
            ServiceError::FlowNotFound(_) => (StatusCode::NOT_FOUND, "FlowNotFound"),
            ServiceError::ExecutionNotFound { .. } => (StatusCode::NOT_FOUND, "ExecutionNotFound"),
            ServiceError::NotFound { .. } => (StatusCode::NOT_FOUND, "NotFound"),
            ServiceError::FlowExists(_) | ServiceError::Exists { .. } => {
                (StatusCode::CONFLICT, "AlreadyExists")
            }
            ServiceError::ExecutionExists { .. } => (StatusCode::CONFLICT, "ExecutionExists"),
            ServiceError::ExecutionCompleted { .. } => (StatusCode::CONFLICT, "ExecutionCompleted"),
            ServiceError::FlowClosed(_)
            | ServiceError::FlowNotOpen(_)
            | ServiceError::FlowNotClosed(_) => (StatusCode::CONFLICT, "FlowClosed"),
            ServiceError::TaskCompleted(_)
            | ServiceError::TaskNotFound(_)
            | ServiceError::NotWaiting(_) => (StatusCode::CONFLICT, "NotWaiting"),
            ServiceError::ConcurrentUpdate => (StatusCode::CONFLICT, "ConcurrentUpdate"),
            ServiceError::AccessDenied { .. } => (StatusCode::FORBIDDEN, "AccessDenied"),
            ServiceError::Throttled => (StatusCode::TOO_MANY_REQUESTS, "Throttled"),
            ServiceError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "InternalError"),
        };
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!(error = %e, "a native API request failed");
            return Problem::new(status, code, "the server failed; see its log");
        }
        Problem::new(status, code, e.to_string())
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let body = serde_json::to_string(&self).unwrap_or_default();
        let mut response = (
            status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        if status == StatusCode::UNAUTHORIZED {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                header::HeaderValue::from_static("Basic realm=\"sluice\""),
            );
        }
        response
    }
}

/// A path under `/api/v1` that names no route.
pub(super) async fn no_route() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "NoSuchRoute",
        "no such route in the native API; see /api/v1/openapi.json",
    )
}
