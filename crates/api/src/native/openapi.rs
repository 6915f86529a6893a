//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document, generated from the routes' and wire
//! types' annotations.

use axum::Json;
use utoipa::OpenApi;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};

use super::events::{ExecutionChange, StateChange};
use super::{events, executions, flows, graph, jobs, problem, redrive, schedules, wire};

#[derive(OpenApi)]
#[openapi(
    info(title = "sluice native API", description = "Flows, executions, bulk stops and live events of one tenant."),
    paths(
        flows::list, flows::describe, graph::graph, schedules::list, jobs::list,
        executions::list, executions::describe, executions::history, executions::start,
        executions::stop, redrive::redrive,
        jobs::start_stop, jobs::describe,
        events::stream,
    ),
    components(schemas(problem::Problem, wire::Flow, wire::FlowDetail, wire::FlowPage,
        wire::Execution, wire::ExecutionPage, wire::ExecutionDetail, wire::ExecutionStatus,
        wire::StateRuns, wire::StateRun, wire::RunStatus, wire::Event, wire::HistoryPage,
        wire::Job, ExecutionChange, StateChange, graph::Graph, graph::Node, graph::Edge,
        schedules::Schedule, schedules::SchedulePage, jobs::JobPage)),
    modifiers(&BasicAuth),
    security(("basic" = [])),
)]
struct Document;

/// Every route authenticates with HTTP Basic (an access key id and secret).
struct BasicAuth;

impl utoipa::Modify for BasicAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.add_security_scheme(
                "basic",
                SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
            );
        }
    }
}

/// The document, as JSON.
pub fn document() -> serde_json::Value {
    serde_json::to_value(Document::openapi()).unwrap_or_default()
}

pub(super) async fn serve() -> Json<serde_json::Value> {
    Json(document())
}
