//! GES (Graph Engine Service) management plane: a graph is a flow of the tenant, whatever
//! dialect created it. Stopping a graph closes the flow to new executions and stops its
//! running executions in a background job; starting reopens it; restarting does both.
//!
//! v1 (`/v1.0/{project}/graphs…`, `?action_id=`) spells fields and errors in camelCase; v2
//! (`/v2/{project}/graphs/{id}/{action}`) in snake_case. Bodies are built once in snake_case
//! and converted for v1.

use std::sync::Arc;

use axum::http::Method;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use sluice_service::views::Millis;
use sluice_service::views::{FlowQuery, FlowView, JobKind, JobStatus, JobView};
use sluice_service::{Caller, FlowState, Service, ServiceError, progress_percent};

use super::wire::camel_case_keys;
use super::{ErrorShape, HuaweiError, Page, Reply, Routed, Window, gateway_error};
use crate::wire_time::seconds as time;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

impl Version {
    pub fn error_shape(self) -> ErrorShape {
        match self {
            Version::V1 => ErrorShape::Camel,
            Version::V2 => ErrorShape::Snake,
        }
    }

    fn body(self, snake: Value) -> Value {
        match self {
            Version::V1 => camel_case_keys(snake),
            Version::V2 => snake,
        }
    }
}

/// Default and largest page of graph and job listings.
const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 1000;

calls! {
    /// What a GES request asks, typed. Each variant carries the permission a key needs for it
    /// ([`Action`]).
    pub enum Call {
        "ges:graph:list" => ListGraphs { page: Page },
        "ges:graph:get" => ShowGraph { graph: String },
        /// Stopping a graph closes its flow and stops its executions, as a job.
        "ges:graph:stop" => StopGraph { graph: String },
        "ges:graph:start" => StartGraph { graph: String },
        "ges:graph:restart" => RestartGraph { graph: String },
        "ges:job:list" => ListJobs(JobQuery),
        "ges:job:get" => ShowJob { graph: String, job: String },
    }
}

/// The filters of a job listing; the days are UTC, `to` is exclusive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobQuery {
    pub page: Page,
    pub status: Option<String>,
    pub graph_name: Option<String>,
    pub days: Window,
}

/// Decodes a GES request: the route and its query, checked and typed.
pub fn decode(version: Version, request: &Routed<'_>) -> Result<Call, HuaweiError> {
    let shape = version.error_shape();
    let fail = |e: ServiceError| error(shape, e);
    let get = request.method == Method::GET;
    let post = request.method == Method::POST;
    let owned = |s: &str| s.to_string();
    let call = match (version, request.rest().as_slice()) {
        (_, []) if get => Call::ListGraphs {
            page: request
                .offset_page(DEFAULT_LIMIT, MAX_LIMIT)
                .map_err(fail)?,
        },
        (_, ["jobs"]) if get => Call::ListJobs(job_query(request).map_err(fail)?),
        (_, [graph]) if get => Call::ShowGraph {
            graph: owned(graph),
        },
        (_, [graph, "jobs", job, "status"]) if get => Call::ShowJob {
            graph: owned(graph),
            job: owned(job),
        },
        (Version::V1, [graph, "action"]) if post => {
            operation(graph, request.query_param("action_id").unwrap_or(""), shape)?
        }
        (Version::V2, [graph, action]) if post => operation(graph, action, shape)?,
        _ => {
            return Err(HuaweiError::new(
                shape,
                404,
                "GES.0016",
                "Resource not found",
            ));
        }
    };
    Ok(call)
}

/// A graph operation by its GES name. GES names many more (import, export, backups, EIPs,
/// …); the ones that are not about a flow's lifecycle have no meaning here.
fn operation(graph: &str, action: &str, shape: ErrorShape) -> Result<Call, HuaweiError> {
    let graph = graph.to_string();
    match action {
        "start" => Ok(Call::StartGraph { graph }),
        "stop" => Ok(Call::StopGraph { graph }),
        "restart" => Ok(Call::RestartGraph { graph }),
        _ => Err(invalid_operation(shape, action)),
    }
}

fn job_query(request: &Routed<'_>) -> Result<JobQuery, ServiceError> {
    let from = request
        .query_param("start_time")
        .or(request.query_param("startTime"));
    let to = request
        .query_param("end_time")
        .or(request.query_param("endTime"));
    Ok(JobQuery {
        page: request.offset_page(DEFAULT_LIMIT, MAX_LIMIT)?,
        status: request.query_param("status").map(str::to_string),
        graph_name: request.query_param("graph_name").map(str::to_string),
        days: Window {
            from: day_start(from)?,
            to: day_start(to)?.map(|t| t + DAY_MS),
        },
    })
}

/// Runs a decoded request for `caller`, whose key may make it.
pub async fn run(
    service: &Arc<Service>,
    caller: &Caller,
    version: Version,
    call: Call,
) -> Result<Reply, HuaweiError> {
    let fail = |e: ServiceError| error(version.error_shape(), e);
    let body = match call {
        Call::ListGraphs { page } => list_graphs(service, caller, page).await.map_err(fail)?,
        Call::ListJobs(query) => list_jobs(service, caller, &query).await.map_err(fail)?,
        Call::ShowGraph { graph } => {
            let flow = service
                .flow_by_public_id(caller, &graph)
                .await
                .map_err(fail)?;
            json!({"graph": graph_json(service, caller, &flow).await.map_err(fail)?})
        }
        Call::ShowJob { graph, job } => {
            let flow = service
                .flow_by_public_id(caller, &graph)
                .await
                .map_err(fail)?;
            let job = service.job(caller, &job).await.map_err(fail)?;
            if job.flow_id != flow.id {
                return Err(fail(ServiceError::NotFound {
                    kind: "job",
                    name: job.id.to_string(),
                }));
            }
            job_json(&job)
        }
        Call::StopGraph { graph } => operate(service, caller, &graph, Operation::Stop)
            .await
            .map_err(fail)?,
        Call::StartGraph { graph } => operate(service, caller, &graph, Operation::Start)
            .await
            .map_err(fail)?,
        Call::RestartGraph { graph } => operate(service, caller, &graph, Operation::Restart)
            .await
            .map_err(fail)?,
    };
    Ok(Reply::ok(version.body(body)))
}

/// A project that is not the caller's: GES's "Insufficient permission."
pub fn foreign_project(version: Version, project: &str) -> HuaweiError {
    HuaweiError::new(
        version.error_shape(),
        403,
        "GES.7041",
        format!("Insufficient permission. The project {project} is not the access key's."),
    )
}

/// What a graph operation does to its flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operation {
    Start,
    Stop,
    Restart,
}

/// Opens, closes or closes-and-reopens the graph's flow, as a job.
async fn operate(
    service: &Arc<Service>,
    caller: &Caller,
    graph: &str,
    operation: Operation,
) -> Result<Value, ServiceError> {
    let flow = service.flow_by_public_id(caller, graph).await?;
    let name = flow.name.as_str();
    let job = match operation {
        Operation::Start => service.open_flow(caller, name).await,
        Operation::Stop => service.close_flow(caller, name).await,
        Operation::Restart => service.restart_flow(caller, name).await,
    }?;
    Ok(json!({"job_id": job.id.as_str()}))
}

async fn list_graphs(
    service: &Service,
    caller: &Caller,
    page: Page,
) -> Result<Value, ServiceError> {
    let query = FlowQuery::all(&caller.tenant);
    let flows = service.flow_page(caller, &query, page.store_page()).await?;
    let mut graphs = Vec::new();
    for flow in &flows.items {
        graphs.push(graph_json(service, caller, flow).await?);
    }
    Ok(json!({"graph_count": flows.total, "graphs": graphs}))
}

async fn list_jobs(
    service: &Service,
    caller: &Caller,
    query: &JobQuery,
) -> Result<Value, ServiceError> {
    let status = query.status.as_deref();
    let graph_name = query.graph_name.as_deref();
    let Window { from, to } = query.days;
    let jobs: Vec<JobView> = service
        .jobs(caller, 0, usize::MAX)
        .await?
        .into_iter()
        .filter(|j| {
            status.is_none_or(|s| {
                job_status(j) == s || (s == "waiting" && job_status(j) == "pending")
            })
        })
        .filter(|j| graph_name.is_none_or(|g| j.flow_name.as_str() == g))
        .filter(|j| from.is_none_or(|t| j.created_at >= t))
        .filter(|j| to.is_none_or(|t| j.created_at < t))
        .collect();
    let listed: Vec<Value> = jobs
        .iter()
        .skip(query.page.offset)
        .take(query.page.limit)
        .map(job_json)
        .collect();
    Ok(json!({"job_count": jobs.len(), "job_list": listed}))
}

const DAY_MS: Millis = 24 * 60 * 60 * 1000;

/// `yyyy-MM-dd` (UTC) as the epoch milliseconds of that day's start.
fn day_start(text: Option<&str>) -> Result<Option<Millis>, ServiceError> {
    let Some(text) = text else { return Ok(None) };
    let date: jiff::civil::Date = text.parse().map_err(|_| {
        ServiceError::InvalidArgument(format!("{text:?} is not a date (yyyy-MM-dd)"))
    })?;
    let start = date
        .to_zoned(TimeZone::UTC)
        .map_err(|e| ServiceError::InvalidArgument(format!("{text:?}: {e}")))?;
    Ok(Some(start.timestamp().as_millisecond()))
}

async fn graph_json(
    service: &Service,
    caller: &Caller,
    flow: &FlowView,
) -> Result<Value, ServiceError> {
    let (_, state) = service.flow_state(caller, flow.name.as_str()).await?;
    Ok(json!({
        "id": flow.public_id(),
        "name": flow.name.as_str(),
        "status": graph_status(state),
        "created": time(flow.created_at),
        "updated": time(flow.modified_at),
        "data_store_version": flow.dialect.as_str(),
        "replication": 1,
    }))
}

/// GES graph status codes (§3.3): running, stopping, stopped, starting.
fn graph_status(state: FlowState) -> &'static str {
    match state {
        FlowState::Open => "200",
        FlowState::Closing => "901",
        FlowState::Closed => "900",
        FlowState::Opening => "920",
    }
}

fn job_json(job: &JobView) -> Value {
    json!({
        "job_id": job.id.as_str(),
        "status": job_status(job),
        "job_type": "GraphManagement",
        "job_name": job_name(job.kind),
        "related_graph": job.flow_name.as_str(),
        "begin_time": time(job.created_at),
        "end_time": job.finished_at.map(time),
        "fail_reason": job.failure,
        "job_progress": progress_percent(job),
    })
}

fn job_status(job: &JobView) -> &'static str {
    match job.status {
        JobStatus::Pending => "pending",
        JobStatus::Running => "running",
        JobStatus::Succeeded => "success",
        JobStatus::Failed => "failed",
    }
}

fn job_name(kind: JobKind) -> &'static str {
    match kind {
        JobKind::CloseFlow => "StopGraph",
        JobKind::OpenFlow => "StartGraph",
        JobKind::RestartFlow => "RestartGraph",
        JobKind::StopExecutions => "StopExecutions",
        JobKind::DeleteFlow => "DeleteGraph",
    }
}

fn invalid_operation(shape: ErrorShape, action: &str) -> HuaweiError {
    HuaweiError::new(
        shape,
        400,
        "GES.7048",
        format!("Invalid graph operation. {action:?} is not start, stop or restart."),
    )
}

/// The one mapping from service errors to GES codes.
pub(super) fn error(shape: ErrorShape, e: ServiceError) -> HuaweiError {
    if let Some(gateway) = gateway_error(shape, &e) {
        return gateway;
    }
    let (status, code, message) = match &e {
        ServiceError::FlowNotFound(_) => (
            400,
            "GES.7000",
            "The graph does not exist or has been deleted.",
        ),
        ServiceError::FlowNotOpen(_) => {
            (400, "GES.7003", "The graph is being stopped or is stopped.")
        }
        ServiceError::FlowNotClosed(_) => {
            (400, "GES.7037", "The graph is not in the Stopped state.")
        }
        ServiceError::FlowClosed(_) => (400, "GES.7015", "The graph is not running or is stopped."),
        ServiceError::NotFound { kind: "job", .. } => (400, "GES.7007", "The job does not exist."),
        ServiceError::AccessDenied { .. } => (403, "GES.7041", "Insufficient permission."),
        ServiceError::InvalidArgument(_)
        | ServiceError::InvalidName(_)
        | ServiceError::InvalidInput(_) => (400, "GES.0001", "Incorrect parameter."),
        ServiceError::Internal(_) => (
            500,
            "GES.7006",
            "An internal error occurs in the underlying service of the graph engine.",
        ),
        _ => (400, "GES.7016", "The request body or header is invalid."),
    };
    HuaweiError::new(shape, status, code, format!("{message} ({e})"))
}
