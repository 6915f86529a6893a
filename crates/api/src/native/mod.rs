//! The native JSON API (`/api/v1`): dialect-neutral, the one the console and the `sluice`
//! CLI use. Every route authenticates in [`auth`] (HTTP Basic with a tenant's access key; the
//! console adds its session there), needs one `sluice:` permission ([`Action`]), answers
//! JSON and fails with an RFC 9457 `application/problem+json` ([`Problem`]).
//!
//! A module per resource turns the service's records into the wire shapes of [`wire`]; none
//! holds business logic (listing, filtering, paging and permissions are the service's).

mod auth;
mod events;
mod executions;
mod flows;
mod graph;
mod jobs;
mod openapi;
mod problem;
mod query;
mod redrive;
mod schedules;
mod wire;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use sluice_service::Service;

pub use auth::{Action, auth};
pub use openapi::document;
pub use problem::Problem;

/// The routes under `/api/v1`.
pub fn router() -> Router<Arc<Service>> {
    Router::new()
        .route("/flows", get(flows::list))
        .route("/flows/{flow}", get(flows::describe))
        .route("/flows/{flow}/graph", get(graph::graph))
        .route("/executions", get(executions::list))
        .route("/flows/{flow}/executions", post(executions::start))
        .route(
            "/flows/{flow}/executions/{execution}",
            get(executions::describe),
        )
        .route(
            "/flows/{flow}/executions/{execution}/history",
            get(executions::history),
        )
        .route(
            "/flows/{flow}/executions/{execution}/stop",
            post(executions::stop),
        )
        .route(
            "/flows/{flow}/executions/{execution}/redrive",
            post(redrive::redrive),
        )
        .route("/stop-jobs", post(jobs::start_stop))
        .route("/jobs", get(jobs::list))
        .route("/jobs/{id}", get(jobs::describe))
        .route("/schedules", get(schedules::list))
        .route("/events", get(events::stream))
        .route("/openapi.json", get(openapi::serve))
        .fallback(problem::no_route)
}

/// Every permission the native API checks.
pub fn permissions() -> Vec<&'static str> {
    Action::ALL.iter().map(|a| a.as_str()).collect()
}
