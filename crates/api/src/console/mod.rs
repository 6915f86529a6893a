//! The web console (`/console/`): static pages compiled into the binary and the log-in that
//! gives them a session. Everything they show and do goes through the native API
//! (`/api/v1`), which accepts the session cookie (see [`session`]); the console adds no
//! business logic of its own.
//!
//! - `POST /console/login` `{key_id, secret}` → the session cookie and what the key may do;
//! - `GET /console/session` → the same for the current session (401 without one);
//! - `POST /console/logout` (with the CSRF token) → the cookie removed, the session revoked.

mod assets;
pub mod session;

use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};
use sluice_service::Service;

pub use session::SessionError;

use session::Session;

/// The native API's permission a key needs to stop an execution; the console shows the Stop
/// buttons only to keys that have it (and the API refuses the others anyway).
pub const STOP_PERMISSION: &str = "sluice:StopExecution";
/// The permission to start a bulk stop job.
pub const BULK_STOP_PERMISSION: &str = "sluice:StartStopJob";
/// Whether the execution page offers "Redrive" on a failed or stopped execution.
pub const REDRIVE_PERMISSION: &str = "sluice:RedriveExecution";

/// The console's routes.
pub fn routes(service: Arc<Service>) -> Router {
    Router::new()
        .route(
            "/console",
            get(|| async { Redirect::permanent("/console/") }),
        )
        .route("/console/", get(|| async { page(assets::INDEX) }))
        .route("/console/assets/{*file}", get(asset))
        .route("/console/login", post(login))
        .route("/console/session", get(current))
        .route("/console/logout", post(logout))
        .with_state(service)
}

#[derive(Deserialize)]
struct Login {
    key_id: String,
    secret: String,
}

async fn login(State(service): State<Arc<Service>>, headers: HeaderMap, body: Bytes) -> Response {
    // A JSON body cannot come from another site's form without a CORS preflight, which this
    // server never grants: no page elsewhere can log a browser in under someone else's key.
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    let Some(login) = is_json
        .then(|| serde_json::from_slice::<Login>(&body).ok())
        .flatten()
    else {
        return problem(
            StatusCode::BAD_REQUEST,
            "a log-in is a JSON body {\"key_id\", \"secret\"}",
        );
    };
    let now = now_ms();
    match session::open(service.tenants(), &login.key_id, &login.secret, now) {
        Ok(session) => {
            let mut response = Json(described(&session)).into_response();
            set_header(&mut response, &session::set_cookie(&session, now));
            response
        }
        Err(e) => refused(&e),
    }
}

async fn current(State(service): State<Arc<Service>>, headers: HeaderMap) -> Response {
    match checked(&service, &headers, false) {
        Ok(session) => Json(described(&session)).into_response(),
        Err(e) => refused(&e),
    }
}

async fn logout(State(service): State<Arc<Service>>, headers: HeaderMap) -> Response {
    match checked(&service, &headers, true) {
        Ok(session) => {
            session::close(&session, now_ms());
            let mut response = StatusCode::NO_CONTENT.into_response();
            set_header(&mut response, &session::clear_cookie());
            response
        }
        Err(e) => refused(&e),
    }
}

fn checked(service: &Service, headers: &HeaderMap, changes: bool) -> Result<Session, SessionError> {
    session::check(service.tenants(), headers, changes, now_ms())
        .unwrap_or(Err(SessionError::Missing))
}

/// The answer to a request whose session was refused.
pub fn refused(error: &SessionError) -> Response {
    let status = match error {
        SessionError::Csrf => StatusCode::FORBIDDEN,
        _ => StatusCode::UNAUTHORIZED,
    };
    problem(status, &error.to_string())
}

/// What the pages need to know of their session.
fn described(session: &Session) -> Value {
    let caller = &session.caller;
    json!({
        "key_id": caller.key_id,
        "tenant": caller.tenant.as_str(),
        "csrf_token": session.csrf,
        "expires_at": jiff::Timestamp::from_millisecond(session.expires_ms)
            .map(|t| t.to_string())
            .unwrap_or_default(),
        "may_stop": caller.may(STOP_PERMISSION),
        "may_bulk_stop": caller.may(BULK_STOP_PERMISSION),
        "may_redrive": caller.may(REDRIVE_PERMISSION),
    })
}

async fn asset(Path(file): Path<String>) -> Response {
    match assets::find(&file) {
        Some(asset) => page(asset),
        None => problem(StatusCode::NOT_FOUND, "no such console file"),
    }
}

/// A page or asset, with headers that keep the console from running anything but its own
/// files or being framed by another site.
fn page(asset: assets::Asset) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'",
            ),
        ],
        asset.body,
    )
        .into_response();
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    response
}

struct Json(Value);

impl IntoResponse for Json {
    fn into_response(self) -> Response {
        (
            [(header::CONTENT_TYPE, "application/json")],
            self.0.to_string(),
        )
            .into_response()
    }
}

/// An RFC 9457 problem, as the native API answers.
fn problem(status: StatusCode, detail: &str) -> Response {
    let body = json!({
        "type": "about:blank",
        "title": status.canonical_reason().unwrap_or(""),
        "status": status.as_u16(),
        "detail": detail,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/problem+json")],
        body.to_string(),
    )
        .into_response()
}

fn set_header(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().insert(header::SET_COOKIE, value);
    }
}

fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}
