//! Executions: list (across flows), describe with the runs of every state, history, start,
//! stop.

use std::sync::Arc;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::Value;
use sluice_service::views::{EventId, ExecutionFilter, ExecutionView, FlowView};
use sluice_service::{Caller, Listing, Service, StartRequest, step_runs};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Action, auth};
use super::problem::Problem;
use super::query::{Body, Paging, Params, next_token};
use super::wire::{Event, Execution, ExecutionDetail, ExecutionPage, ExecutionStatus, HistoryPage};

/// Which executions to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExecutionQuery {
    /// Only this flow's.
    pub flow: Option<String>,
    pub status: Option<ExecutionStatus>,
    pub name_prefix: Option<String>,
    /// Started at or after (RFC 3339).
    #[param(value_type = Option<String>)]
    pub started_after: Option<Timestamp>,
    /// Started at or before (RFC 3339).
    #[param(value_type = Option<String>)]
    pub started_before: Option<Timestamp>,
    /// Items per page, 1 to 1000 (default 100).
    pub limit: Option<usize>,
    /// The `next_page_token` of the previous page.
    pub page_token: Option<String>,
}

/// The caller's executions, newest first.
#[utoipa::path(get, operation_id = "ListExecutions", path = "/api/v1/executions", params(ExecutionQuery), tag = "executions",
    responses((status = 200, body = ExecutionPage, description = "ok"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "a problem")))]
pub async fn list(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    Params(query): Params<ExecutionQuery>,
) -> Result<Json<ExecutionPage>, Problem> {
    let caller = auth(&service, &headers, Action::ListExecutions)?;
    let paging = Paging {
        limit: query.limit,
        page_token: query.page_token.clone(),
    };
    let limit = paging.limit()?;
    let filter = ExecutionFilter {
        status: query.status.map(ExecutionStatus::stored),
        name_prefix: query.name_prefix.clone(),
        started_from: query.started_after.map(|t| t.as_millisecond()),
        started_to: query.started_before.map(|t| t.as_millisecond()),
        // A distributed Map's children are listed under their map run, not here.
        map_run: None,
        ..ExecutionFilter::default()
    };
    let page = service
        .newest_executions(
            &caller,
            query.flow.as_deref(),
            &filter,
            paging.page_token.as_deref(),
            limit,
        )
        .await?;
    Ok(Json(ExecutionPage {
        next_page_token: page.next_page_token,
        executions: page
            .items
            .iter()
            .map(|(summary, dialect)| Execution::of(summary, *dialect))
            .collect(),
    }))
}

/// An execution, with its input, output, error and the runs of each state.
#[utoipa::path(get, operation_id = "DescribeExecution", path = "/api/v1/flows/{flow}/executions/{execution}", tag = "executions",
    params(("flow" = String, Path), ("execution" = String, Path)),
    responses((status = 200, body = ExecutionDetail, description = "ok"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "a problem")))]
pub async fn describe(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    Path((flow, execution)): Path<(String, String)>,
) -> Result<Json<ExecutionDetail>, Problem> {
    let caller = auth(&service, &headers, Action::DescribeExecution)?;
    let (flow, record) = service
        .describe_execution(&caller, &flow, &execution, Duration::ZERO)
        .await?;
    Ok(Json(detail(&service, &caller, &flow, &record).await?))
}

pub(super) async fn detail(
    service: &Service,
    caller: &Caller,
    flow: &FlowView,
    record: &ExecutionView,
) -> Result<ExecutionDetail, Problem> {
    let history = service.full_history(caller, record).await?;
    Ok(ExecutionDetail::of(
        record,
        flow.dialect,
        step_runs(&history),
    ))
}

/// An execution's history, oldest first.
#[utoipa::path(get, operation_id = "GetExecutionHistory", path = "/api/v1/flows/{flow}/executions/{execution}/history",
    tag = "executions", params(("flow" = String, Path), ("execution" = String, Path), Paging),
    responses((status = 200, body = HistoryPage, description = "ok"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "a problem")))]
pub async fn history(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    Path((flow, execution)): Path<(String, String)>,
    Params(paging): Params<Paging>,
) -> Result<Json<HistoryPage>, Problem> {
    let caller = auth(&service, &headers, Action::GetExecutionHistory)?;
    let limit = paging.limit()?;
    let after = paging.cursor(Listing::History)?.unwrap_or(0);
    let after = EventId(u64::try_from(after).unwrap_or(0));
    let events = service
        .execution_history(&caller, &flow, &execution, after, limit)
        .await?;
    let last = events
        .last()
        .map(|e| i64::try_from(e.id.0).unwrap_or(i64::MAX));
    Ok(Json(HistoryPage {
        next_page_token: next_token(Listing::History, events.len() == limit, last),
        events: events.iter().map(Event::of).collect(),
    }))
}

/// What to start.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    /// Unique within the flow; generated when absent.
    pub name: Option<String>,
    /// A JSON object (`{}` when absent).
    pub input: Option<Value>,
}

/// Starts an execution.
#[utoipa::path(post, operation_id = "StartExecution", path = "/api/v1/flows/{flow}/executions", tag = "executions",
    params(("flow" = String, Path)), request_body = StartBody,
    responses((status = 201, body = ExecutionDetail, description = "ok"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "a problem")))]
pub async fn start(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    Path(flow): Path<String>,
    Body(body): Body<StartBody>,
) -> Result<Response, Problem> {
    let caller = auth(&service, &headers, Action::StartExecution)?;
    let request = StartRequest {
        flow,
        name: body.name,
        input: body.input.map(|input| input.to_string()),
        qualifier: None,
        context_ids: None,
        test_case: None,
    };
    let (flow, record) = service.start_execution(&caller, request).await?;
    let location = format!("/api/v1/flows/{}/executions/{}", flow.name, record.name);
    let detail = detail(&service, &caller, &flow, &record).await?;
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(detail),
    )
        .into_response())
}

/// A JSON body that may be left out.
pub(super) fn optional_body<T: Default + serde::de::DeserializeOwned>(
    body: &[u8],
) -> Result<T, Problem> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| Problem::bad_request(format!("the body is not the JSON expected: {e}")))
}

/// Why an execution is stopped.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopBody {
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// Stops an execution: 409 if it had completed.
#[utoipa::path(post, operation_id = "StopExecution", path = "/api/v1/flows/{flow}/executions/{execution}/stop",
    tag = "executions", params(("flow" = String, Path), ("execution" = String, Path)),
    request_body = StopBody,
    responses((status = 200, body = ExecutionDetail, description = "ok"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "a problem")))]
pub async fn stop(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    Path((flow, execution)): Path<(String, String)>,
    body: Bytes,
) -> Result<Json<ExecutionDetail>, Problem> {
    let caller = auth(&service, &headers, Action::StopExecution)?;
    let StopBody { error, cause } = optional_body(&body)?;
    let (flow, record) = service
        .stop_execution(&caller, &flow, &execution, error, cause)
        .await?;
    Ok(Json(detail(&service, &caller, &flow, &record).await?))
}
