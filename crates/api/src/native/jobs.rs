//! Bulk stops (`POST /api/v1/stop-jobs`) and jobs (`GET /api/v1/jobs/{id}`: bulk stops and
//! GES graph stops alike).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sluice_service::Service;
use sluice_service::views::JobFilter;
use utoipa::{IntoParams, ToSchema};

use super::auth::{Action, auth};
use super::problem::Problem;
use super::query::{Body, Params, page_limit};
use super::wire::{ExecutionStatus, Job};

/// Which executions a bulk stop stops.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopFilter {
    pub flow: String,
    /// Only `running` (the default): only running executions can be stopped.
    pub status: Option<ExecutionStatus>,
    pub name_prefix: Option<String>,
    /// Started at or before (RFC 3339).
    #[schema(value_type = Option<String>)]
    pub started_before: Option<Timestamp>,
}

/// A bulk stop.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StopJobBody {
    pub filter: StopFilter,
    /// What the stopped executions' error says (`JobStopped` when absent).
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// Starts a job stopping every running execution the filter selects.
#[utoipa::path(post, operation_id = "StartStopJob", path = "/api/v1/stop-jobs", tag = "jobs", request_body = StopJobBody,
    responses((status = 202, body = Job, description = "ok"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "a problem")))]
pub async fn start_stop(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    Body(body): Body<StopJobBody>,
) -> Result<Response, Problem> {
    let caller = auth(&service, &headers, Action::StartStopJob)?;
    if body
        .filter
        .status
        .is_some_and(|s| s != ExecutionStatus::Running)
    {
        return Err(Problem::bad_request(
            "a stop job stops running executions: its filter's status can only be running",
        ));
    }
    let filter = JobFilter {
        name_prefix: body.filter.name_prefix,
        started_from: None,
        started_to: body.filter.started_before.map(|t| t.as_millisecond()),
        stop_error: body.error,
        stop_cause: body.cause,
    };
    let job = service
        .stop_executions(&caller, &body.filter.flow, filter)
        .await?;
    let location = format!("/api/v1/jobs/{}", job.id);
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(Job::of(&job)),
    )
        .into_response())
}

/// A job and its progress.
#[utoipa::path(get, operation_id = "DescribeJob", path = "/api/v1/jobs/{id}", tag = "jobs", params(("id" = String, Path)),
    responses((status = 200, body = Job, description = "ok"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "a problem")))]
pub async fn describe(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Job>, Problem> {
    let caller = auth(&service, &headers, Action::DescribeJob)?;
    Ok(Json(Job::of(&service.job(&caller, &id).await?)))
}

/// The caller's most recent jobs.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobPage {
    pub jobs: Vec<Job>,
}

/// How many of the newest jobs to list.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct JobQuery {
    /// 1 to 1000 (default 100).
    pub limit: Option<usize>,
}

/// The caller's jobs, newest first: bulk stops and GES graph stops, starts and restarts.
#[utoipa::path(get, operation_id = "ListJobs", path = "/api/v1/jobs", tag = "jobs", params(JobQuery),
    responses((status = 200, body = JobPage, description = "ok"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "a problem")))]
pub async fn list(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    Params(query): Params<JobQuery>,
) -> Result<Json<JobPage>, Problem> {
    let caller = auth(&service, &headers, Action::ListJobs)?;
    let limit = page_limit(query.limit)?;
    let jobs = service.jobs(&caller, 0, limit).await?;
    Ok(Json(JobPage {
        jobs: jobs.iter().map(Job::of).collect(),
    }))
}
