//! `POST /api/v1/flows/{flow}/executions/{execution}/redrive`: the engine's redrive, which
//! every dialect shares (a failed, stopped or timed-out execution runs on from where it
//! ended, within 14 days of its end), for executions of any API.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use sluice_service::Service;

use super::auth::{Action, auth};
use super::executions::detail;
use super::problem::Problem;
use super::wire::ExecutionDetail;

/// Redrives an execution: 409 `NotRedrivable` if it is running, succeeded, ended before
/// entering a state or more than 14 days ago.
#[utoipa::path(post, operation_id = "RedriveExecution", path = "/api/v1/flows/{flow}/executions/{execution}/redrive",
    tag = "executions", params(("flow" = String, Path), ("execution" = String, Path)),
    responses((status = 200, body = ExecutionDetail, description = "ok: the execution runs again"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "a problem")))]
pub async fn redrive(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    Path((flow, execution)): Path<(String, String)>,
) -> Result<Json<ExecutionDetail>, Problem> {
    let caller = auth(&service, &headers, Action::RedriveExecution)?;
    let (flow, record) = service
        .redrive_execution(&caller, &flow, &execution)
        .await?;
    Ok(Json(detail(&service, &caller, &flow, &record).await?))
}
