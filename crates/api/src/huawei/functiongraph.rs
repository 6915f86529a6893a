//! FunctionGraph workflows, API v2 (`/v2/{project}/fgs/workflows…`, spec §1.1–§1.3).
//!
//! A workflow is a flow whose definition is the `WorkflowCreateBody` JSON as sent (dialect
//! `functiongraph-v2`); its `id` is the flow's public id. An execution's `execution_id` is
//! the execution's name. Every flow of the tenant is listed and can be started and stopped
//! here, whatever dialect created it; only workflows created here show their definition.

use std::sync::Arc;

use axum::http::Method;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Value, json};
use sluice_engine::{Millis, Status};
use sluice_service::{
    CallbackResult, Caller, Dialect, FlowChanges, FlowSpec, PeriodCounts, Service, ServiceError,
    StartRequest, StepRun, StepStatus, step_runs,
};
use sluice_store::{
    ExecutionFilter, ExecutionMode, ExecutionQuery, ExecutionRecord, ExecutionSummary, FlowQuery,
    FlowRecord, NameMatch, Page,
};

use super::{ErrorShape, HuaweiError, Reply, Routed};

const SHAPE: ErrorShape = ErrorShape::Snake;
/// The region in URNs: a self-hosted server has one.
const REGION: &str = "local";
/// Listings: default and largest page.
const DEFAULT_LIMIT: usize = 200;
const MAX_LIMIT: usize = 200;
/// Execution listings look this far back when no `start_time` is given (FunctionGraph's
/// default window).
const DEFAULT_WINDOW_MS: Millis = 3 * 24 * 60 * 60 * 1000;

pub async fn handle(
    service: &Arc<Service>,
    caller: &Caller,
    project: &str,
    request: &Routed<'_>,
) -> Result<Reply, HuaweiError> {
    let m = request.method;
    let reply = match request.rest().as_slice() {
        ["workflows"] if m == Method::POST => create(service, caller, project, request).await,
        ["workflows"] if m == Method::GET => list(service, caller, project, request).await,
        ["workflows"] if m == Method::DELETE => delete(service, caller, request).await,
        ["workflows", id] if m == Method::GET => show(service, caller, project, id).await,
        ["workflows", id] if m == Method::PUT => {
            update(service, caller, project, id, request).await
        }
        ["workflows", id, "executions"] if m == Method::POST => {
            start(service, caller, id, request).await
        }
        ["workflows", id, "executions"] if m == Method::GET => {
            executions(service, caller, project, id, request, false).await
        }
        ["workflows", id, "executions-history"] if m == Method::GET => {
            executions(service, caller, project, id, request, true).await
        }
        ["workflows", id, "sync-executions"] if m == Method::POST => {
            start_sync(service, caller, id, request).await
        }
        ["workflows", id, "executions", execution] if m == Method::GET => {
            show_execution(service, caller, project, id, execution).await
        }
        ["workflows", id, "executions", execution, "terminate"] if m == Method::POST => {
            terminate(service, caller, id, execution).await
        }
        ["workflows", id, "executions", execution, "retry"] if m == Method::POST => {
            retry(service, caller, id, execution).await
        }
        ["workflow-statistic"] if m == Method::GET => metrics(service, caller, None, request).await,
        ["workflow-statistic", urn] if m == Method::GET => {
            metrics(service, caller, Some(urn), request).await
        }
        ["workflows", id, "callback"] if m == Method::POST => {
            callback(service, caller, id, request).await
        }
        _ => {
            return Err(HuaweiError::new(
                SHAPE,
                404,
                "FSS.0404",
                "The specified resource was not found.",
            ));
        }
    };
    reply.map_err(error)
}

/// The workflow `id`, once the caller's key may do `action` to it.
async fn workflow(
    service: &Service,
    caller: &Caller,
    action: &str,
    id: &str,
) -> Result<FlowRecord, ServiceError> {
    service.authorize(caller, action)?;
    service.flow_by_public_id(caller, id).await
}

/// A project that is not the caller's.
pub fn foreign_project(project: &str) -> HuaweiError {
    HuaweiError::new(
        SHAPE,
        403,
        "FSS.0403",
        format!("Forbidden: the project {project} is not the access key's."),
    )
}

async fn create(
    service: &Service,
    caller: &Caller,
    project: &str,
    request: &Routed<'_>,
) -> Result<Reply, ServiceError> {
    service.authorize(caller, "functiongraph:workflow:create")?;
    let spec = workflow_spec(request)?;
    let flow = service.create_flow(caller, spec).await?;
    Ok(Reply::json(201, workflow_brief(&flow, project)))
}

/// The flow a `WorkflowCreateBody` describes; the definition is kept as sent.
fn workflow_spec(request: &Routed<'_>) -> Result<FlowSpec, ServiceError> {
    let body = request.json_body().map_err(ServiceError::InvalidArgument)?;
    let text = |key: &str| body.get(key).and_then(Value::as_str).map(str::to_string);
    let name = text("name")
        .ok_or_else(|| ServiceError::InvalidArgument("the workflow name is required".into()))?;
    let mode = match text("mode").as_deref() {
        None | Some("NORMAL") => ExecutionMode::Standard,
        Some("EXPRESS") => ExecutionMode::Express,
        Some(other) => {
            return Err(ServiceError::InvalidArgument(format!(
                "mode must be NORMAL or EXPRESS, not {other:?}"
            )));
        }
    };
    Ok(FlowSpec {
        name,
        definition: String::from_utf8_lossy(request.body).into_owned(),
        dialect: Dialect::FunctionGraphV2,
        description: text("description").unwrap_or_default(),
        role_arn: None,
        mode,
        attributes: Value::Null,
        tag: None,
    })
}

async fn list(
    service: &Service,
    caller: &Caller,
    project: &str,
    request: &Routed<'_>,
) -> Result<Reply, ServiceError> {
    service.authorize(caller, "functiongraph:workflow:list")?;
    let (offset, limit) = request.offset_page(DEFAULT_LIMIT, MAX_LIMIT)?;
    let mode = match request.query_param("mode").map(mode_of) {
        // No workflow has a mode of another name.
        Some(None) => return Ok(Reply::ok(json!({"total": 0, "size": 0, "workflows": []}))),
        mode => mode.flatten(),
    };
    let query = FlowQuery {
        name: request
            .query_param("workflow_name")
            .map(|n| NameMatch::Contains(n.to_string())),
        mode,
        ..FlowQuery::all(&caller.tenant)
    };
    let flows = service
        .flow_page(caller, &query, Page::offset(offset, limit))
        .await?;
    let listed: Vec<Value> = flows
        .items
        .iter()
        .map(|f| workflow_brief(f, project))
        .collect();
    Ok(Reply::ok(
        json!({"total": flows.total, "size": listed.len(), "workflows": listed}),
    ))
}

async fn show(
    service: &Service,
    caller: &Caller,
    project: &str,
    id: &str,
) -> Result<Reply, ServiceError> {
    let flow = workflow(service, caller, "functiongraph:workflow:get", id).await?;
    let mut body = workflow_brief(&flow, project);
    body["definition"] = definition(&flow);
    Ok(Reply::ok(body))
}

async fn update(
    service: &Service,
    caller: &Caller,
    project: &str,
    id: &str,
    request: &Routed<'_>,
) -> Result<Reply, ServiceError> {
    let flow = workflow(service, caller, "functiongraph:workflow:update", id).await?;
    if flow.dialect != Dialect::FunctionGraphV2 {
        return Err(ServiceError::InvalidArgument(format!(
            "workflow {} was created through the {} API and is updated there",
            flow.name, flow.dialect
        )));
    }
    let spec = workflow_spec(request)?;
    if spec.name != flow.name.as_str() || spec.mode != flow.mode {
        return Err(ServiceError::InvalidArgument(
            "a workflow's name and mode cannot change".into(),
        ));
    }
    let changes = FlowChanges {
        definition: Some(spec.definition),
        description: Some(spec.description),
        ..Default::default()
    };
    let flow = service
        .update_flow(caller, flow.name.as_str(), changes)
        .await?;
    Ok(Reply::ok(workflow_brief(&flow, project)))
}

/// `DELETE` with `{"workflow_urns": [...]}`: each deleted or reported, never all-or-nothing.
async fn delete(
    service: &Service,
    caller: &Caller,
    request: &Routed<'_>,
) -> Result<Reply, ServiceError> {
    service.authorize(caller, "functiongraph:workflow:delete")?;
    let body = request.json_body().map_err(ServiceError::InvalidArgument)?;
    let urns = body
        .get("workflow_urns")
        .and_then(Value::as_array)
        .ok_or_else(|| ServiceError::InvalidArgument("workflow_urns must be a list".into()))?;
    let (mut success, mut fail) = (Vec::new(), Vec::new());
    for urn in urns {
        let urn = urn.as_str().unwrap_or_default();
        let outcome = match workflow_name_of(urn) {
            Some(name) => service.delete_flow(caller, name).await.map(|_| ()),
            None => Err(ServiceError::InvalidArgument(format!(
                "{urn:?} is not a workflow URN"
            ))),
        };
        match outcome {
            Ok(()) => success.push(json!(urn)),
            Err(e) => fail.push(json!({"workflow_urn": urn, "error_detail": e.to_string()})),
        }
    }
    Ok(Reply::ok(json!({"success": success, "fail": fail})))
}

async fn start(
    service: &Service,
    caller: &Caller,
    id: &str,
    request: &Routed<'_>,
) -> Result<Reply, ServiceError> {
    let flow = workflow(service, caller, "functiongraph:workflow:execute", id).await?;
    let run_id = request.header("x-workflowrun-id");
    let start = start_request(&flow, run_id, request)?;
    let (_, execution) = service.start_execution(caller, start).await?;
    Ok(Reply::ok(json!({"execution_id": execution.name.as_str()})))
}

async fn start_sync(
    service: &Service,
    caller: &Caller,
    id: &str,
    request: &Routed<'_>,
) -> Result<Reply, ServiceError> {
    let flow = workflow(service, caller, "functiongraph:workflow:execute", id).await?;
    let start = start_request(&flow, None, request)?;
    let run = service.start_sync_execution(caller, start).await?;
    let status = status(run.outcome.status);
    let mut body = json!({
        "execution_id": run.name,
        "status": status,
        "begin_time": time(run.started_at),
        "end_time": time(run.stopped_at),
    });
    if let Some(output) = &run.outcome.output {
        body["output"] = output.clone();
    }
    if let Some(error) = &run.outcome.error {
        body["errors"] = json!([{
            "node_id": "",
            "error_message": format!("{}: {}", error.code.as_str(), error.detail),
            "begin_time": time(run.started_at),
            "end_time": time(run.stopped_at),
        }]);
    }
    Ok(Reply::ok(body))
}

/// `FlowExecuteBody {headers, input}`: the input becomes the execution's input.
fn start_request(
    flow: &FlowRecord,
    name: Option<&str>,
    request: &Routed<'_>,
) -> Result<StartRequest, ServiceError> {
    let body = request.json_body().map_err(ServiceError::InvalidArgument)?;
    let input = match body.get("input") {
        None | Some(Value::Null) => None,
        Some(input @ Value::Object(_)) => Some(input.to_string()),
        Some(_) => {
            return Err(ServiceError::InvalidArgument(
                "input must be a JSON object".into(),
            ));
        }
    };
    Ok(StartRequest {
        flow: flow.name.to_string(),
        name: name.map(str::to_string),
        input,
    })
}

async fn executions(
    service: &Service,
    caller: &Caller,
    project: &str,
    id: &str,
    request: &Routed<'_>,
    paged: bool,
) -> Result<Reply, ServiceError> {
    let flow = workflow(service, caller, "functiongraph:workflow:listExecutions", id).await?;
    let (offset, limit) = request.offset_page(DEFAULT_LIMIT, MAX_LIMIT)?;
    let filter = ExecutionFilter {
        status: request
            .query_param("status")
            .map(parse_status)
            .transpose()?,
        name_prefix: None,
        started_from: Some(match request.query_param("start_time") {
            Some(t) => parse_time(t)?,
            None => Timestamp::now().as_millisecond() - DEFAULT_WINDOW_MS,
        }),
        started_to: request
            .query_param("end_time")
            .map(parse_time)
            .transpose()?,
    };
    let query = ExecutionQuery::of_flow(&caller.tenant, flow.id, &filter);
    let page = Page::offset(offset, limit);
    let runs = service.execution_page(caller, &query, page).await?;
    let listed: Vec<Value> = runs
        .items
        .iter()
        .map(|e| execution_brief(&flow, project, e))
        .collect();
    let body = if paged {
        json!({"total": runs.total, "size": listed.len(), "executions": listed})
    } else {
        json!({"executions": listed})
    };
    Ok(Reply::ok(body))
}

async fn show_execution(
    service: &Service,
    caller: &Caller,
    project: &str,
    id: &str,
    execution: &str,
) -> Result<Reply, ServiceError> {
    let flow = workflow(service, caller, "functiongraph:workflow:getExecution", id).await?;
    let (_, record) = service
        .describe_execution(caller, flow.name.as_str(), execution, Default::default())
        .await?;
    let history = service.full_history(caller, &record).await?;
    let mut body = execution_brief(&flow, project, &record.summary());
    body["input"] = record.state.input.clone().unwrap_or(json!({}));
    body["output"] = record.state.output.clone().unwrap_or(Value::Null);
    body["headers"] = json!({});
    body["node_execution_details"] = node_details(&record, &step_runs(&history));
    Ok(Reply::ok(body))
}

async fn terminate(
    service: &Service,
    caller: &Caller,
    id: &str,
    execution: &str,
) -> Result<Reply, ServiceError> {
    let flow = workflow(service, caller, "functiongraph:workflow:terminate", id).await?;
    service
        .stop_execution(
            caller,
            flow.name.as_str(),
            execution,
            Some("Terminated".into()),
            Some("terminated through the FunctionGraph API".into()),
        )
        .await?;
    Ok(Reply::empty(200))
}

/// `workflow-statistic[/{urn}]`: per `period` minutes from `start_time` to `end_time` (epoch
/// ms), the executions started (`count`), their mean duration in ms (`duration`), how many of
/// them failed (`fail_count`) and how many still run (`running_count`); for one workflow, or
/// every workflow of the tenant.
async fn metrics(
    service: &Service,
    caller: &Caller,
    urn: Option<&str>,
    request: &Routed<'_>,
) -> Result<Reply, ServiceError> {
    service.authorize(caller, "functiongraph:workflow:getMetric")?;
    let now = Timestamp::now().as_millisecond();
    let number = |name: &str, default: Millis| -> Result<Millis, ServiceError> {
        request.query_param(name).map_or(Ok(default), |t| {
            t.parse()
                .map_err(|_| ServiceError::InvalidArgument(format!("{name} must be a number")))
        })
    };
    let minutes = number("period", 60)?;
    let end = number("end_time", now)?;
    let start = number("start_time", end - 24 * 3_600_000)?;
    let flow = urn
        .map(|urn| {
            workflow_name_of(urn).ok_or_else(|| {
                ServiceError::InvalidArgument(format!("{urn:?} is not a workflow URN"))
            })
        })
        .transpose()?;
    let periods = service
        .execution_metrics(caller, flow, (start, end), minutes)
        .await?;
    let series = |value: fn(&PeriodCounts) -> f64| -> Vec<Value> {
        periods
            .iter()
            .map(|p| json!({"timestamp": p.start, "value": value(p)}))
            .collect()
    };
    Ok(Reply::ok(json!({
        "count": series(|p| p.started as f64),
        "duration": series(PeriodCounts::mean_duration_ms),
        "fail_count": series(|p| p.failed as f64),
        "running_count": series(|p| p.running as f64),
    })))
}

/// `retry`: a failed NORMAL execution runs again from the state that failed.
async fn retry(
    service: &Service,
    caller: &Caller,
    id: &str,
    execution: &str,
) -> Result<Reply, ServiceError> {
    let flow = workflow(service, caller, "functiongraph:workflow:retry", id).await?;
    service
        .retry_execution(caller, flow.name.as_str(), execution)
        .await?;
    Ok(Reply::empty(200))
}

/// `callback`: completes the running state `X-Workflow-State-Id` of execution
/// `X-Workflow-Run-Id` with `{result, error, output}` (`result` `success` carries `output`).
async fn callback(
    service: &Service,
    caller: &Caller,
    id: &str,
    request: &Routed<'_>,
) -> Result<Reply, ServiceError> {
    let flow = workflow(service, caller, "functiongraph:workflow:callback", id).await?;
    let header = |name: &str| {
        request
            .header(name)
            .ok_or_else(|| ServiceError::InvalidArgument(format!("the header {name} is required")))
    };
    let (execution, state) = (header("x-workflow-run-id")?, header("x-workflow-state-id")?);
    let body = request.json_body().map_err(ServiceError::InvalidArgument)?;
    let result = match body["result"].as_str() {
        Some("success") => CallbackResult::Succeeded {
            output: body.get("output").unwrap_or(&json!({})).to_string(),
        },
        other => CallbackResult::Failed {
            error: body["error"]
                .as_str()
                .unwrap_or("Callback.Failed")
                .to_string(),
            cause: format!("the callback reported {}", other.unwrap_or("no result")),
        },
    };
    service
        .complete_state(caller, flow.name.as_str(), execution, state, result)
        .await?;
    Ok(Reply::ok(json!({"execution_id": execution})))
}

/// Step runs grouped by step, in the order each step first ran. A run cut short by the end
/// of its execution takes the execution's status (a terminated run is `cancel`).
fn node_details(record: &ExecutionRecord, runs: &[StepRun]) -> Value {
    let mut nodes: Vec<(String, Vec<Value>)> = Vec::new();
    for run in runs {
        let run_status = match run.status {
            StepStatus::Succeeded => "success",
            StepStatus::Failed => "fail",
            StepStatus::Running if record.status().is_terminal() => status(record.status()),
            StepStatus::Running => "running",
        };
        let entry = json!({
            "status": run_status,
            "input": run.input,
            "output": run.output,
            "begin_time": run.entered_at,
            "end_time": run.left_at.or(record.state.stopped_at),
            "error_message": run.error,
        });
        match nodes.iter_mut().find(|(step, _)| *step == run.step) {
            Some((_, executions)) => executions.push(entry),
            None => nodes.push((run.step.clone(), vec![entry])),
        }
    }
    Value::Array(
        nodes
            .into_iter()
            .map(|(step, executions)| {
                json!({
                    "node_id": step,
                    "node_name": step,
                    "execution_id": record.name.as_str(),
                    "executions": executions,
                })
            })
            .collect(),
    )
}

fn workflow_brief(flow: &FlowRecord, project: &str) -> Value {
    json!({
        "id": flow.public_id(),
        "workflow_urn": workflow_urn(flow, project),
        "name": flow.name.as_str(),
        "description": flow.description,
        "created_time": time(flow.created_at),
        "updated_time": time(flow.modified_at),
        "created_by": "",
        "enable_stream_response": false,
    })
}

/// The definition as sent, for workflows created here; the shape the models share otherwise.
fn definition(flow: &FlowRecord) -> Value {
    let sent = (flow.dialect == Dialect::FunctionGraphV2)
        .then(|| serde_json::from_str::<Value>(&flow.definition).ok())
        .flatten();
    sent.unwrap_or_else(|| {
        json!({
            "name": flow.name.as_str(),
            "description": flow.description,
            "mode": mode_name(flow.mode),
        })
    })
}

fn execution_brief(flow: &FlowRecord, project: &str, e: &ExecutionSummary) -> Value {
    let begin = e.started_at.unwrap_or(e.created_at);
    json!({
        "workflow_id": flow.public_id(),
        "workflow_urn": workflow_urn(flow, project),
        "execution_id": e.name.as_str(),
        "status": status(e.status),
        "begin_time": time(begin),
        "end_time": e.stopped_at.map(time),
        "last_update_time": time(e.stopped_at.unwrap_or(begin)),
        "created_by": "",
    })
}

fn workflow_urn(flow: &FlowRecord, project: &str) -> String {
    format!(
        "urn:fss:{REGION}:{project}:workflow:default:{}:latest",
        flow.name
    )
}

/// The workflow name in `urn:fss:<region>:<project>:workflow:default:<name>:latest`.
fn workflow_name_of(urn: &str) -> Option<&str> {
    match urn.split(':').collect::<Vec<_>>().as_slice() {
        ["urn", "fss", _, _, "workflow", _, name, _] if !name.is_empty() => Some(name),
        _ => None,
    }
}

fn mode_of(name: &str) -> Option<ExecutionMode> {
    [ExecutionMode::Standard, ExecutionMode::Express]
        .into_iter()
        .find(|m| mode_name(*m) == name)
}

fn mode_name(mode: ExecutionMode) -> &'static str {
    match mode {
        ExecutionMode::Standard => "NORMAL",
        ExecutionMode::Express => "EXPRESS",
    }
}

/// FunctionGraph's execution statuses (§1.1).
fn status(status: Status) -> &'static str {
    match status {
        Status::Starting | Status::Running => "running",
        Status::Succeeded => "success",
        Status::Failed => "fail",
        Status::TimedOut => "timeout",
        Status::Stopped => "cancel",
    }
}

fn parse_status(text: &str) -> Result<Status, ServiceError> {
    [
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::TimedOut,
        Status::Stopped,
    ]
    .into_iter()
    .find(|s| status(*s) == text)
    .ok_or_else(|| {
        ServiceError::InvalidArgument(format!(
            "status must be success, fail, running, timeout or cancel, not {text:?}"
        ))
    })
}

/// UTC `yyyy-MM-ddTHH:mm:ssZ`.
fn time(ms: Millis) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Query times: RFC 3339, or `yyyy-MM-dd hh:mm:ss` in UTC.
fn parse_time(text: &str) -> Result<Millis, ServiceError> {
    if let Ok(t) = text.parse::<Timestamp>() {
        return Ok(t.as_millisecond());
    }
    jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", text)
        .ok()
        .and_then(|d| d.to_zoned(TimeZone::UTC).ok())
        .map(|z| z.timestamp().as_millisecond())
        .ok_or_else(|| ServiceError::InvalidArgument(format!("{text:?} is not a time")))
}

/// The one mapping from service errors to FunctionGraph codes (§1.5).
fn error(e: ServiceError) -> HuaweiError {
    let (status, code) = match &e {
        ServiceError::FlowNotFound(_)
        | ServiceError::ExecutionNotFound { .. }
        | ServiceError::NotFound { .. } => (404, "FSS.0404"),
        ServiceError::FlowExists(_)
        | ServiceError::ExecutionExists { .. }
        | ServiceError::Exists { .. }
        | ServiceError::ConcurrentUpdate
        | ServiceError::FlowNotOpen(_)
        | ServiceError::FlowNotClosed(_) => (409, "FSS.0409"),
        ServiceError::FlowClosed(_) => (428, "FSS.0428"),
        ServiceError::AccessDenied { .. } => (403, "FSS.0403"),
        ServiceError::PayloadTooLarge { .. } => (413, "FSS.0413"),
        ServiceError::Throttled => (429, "FSS.0429"),
        ServiceError::Internal(_) => (500, "FSS.0500"),
        ServiceError::InvalidArgument(_)
        | ServiceError::InvalidDefinition(_)
        | ServiceError::WrongMode(_)
        | ServiceError::NotSupported(_)
        | ServiceError::ExecutionCompleted { .. }
        | ServiceError::TaskCompleted(_)
        | ServiceError::NotWaiting(_) => (400, "FSS.0400"),
    };
    HuaweiError::new(SHAPE, status, code, e.to_string())
}
