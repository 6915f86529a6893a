//! FunctionGraph workflows, API v2 (`/v2/{project}/fgs/workflows…`, spec §1.1–§1.3).
//!
//! A workflow is a flow whose definition is the `WorkflowCreateBody` JSON as sent (dialect
//! `functiongraph-v2`); its `id` is the flow's public id. An execution's `execution_id` is
//! the execution's name. Every flow of the tenant is listed and can be started and stopped
//! here, whatever dialect created it; only workflows created here show their definition.

use axum::http::Method;
use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use sluice_service::views::{
    ExecutionFilter, ExecutionMode, ExecutionQuery as Runs, ExecutionSummary, ExecutionView,
    FlowQuery, FlowView, NameMatch,
};
use sluice_service::views::{Millis, Status};
use sluice_service::{
    CallbackResult, Dialect, FlowChanges, FlowSpec, PeriodCounts, ServiceError, StepRun,
    StepStatus, step_runs,
};

use super::{
    ErrorShape, Handlers, HuaweiError, Page, Reply, Routed, StatusWords, Window, rendered, start_of,
};
use crate::wire_time::seconds_z as time;

const SHAPE: ErrorShape = ErrorShape::Snake;
/// The region in URNs: a self-hosted server has one.
const REGION: &str = "local";
/// Listings: default and largest page.
const DEFAULT_LIMIT: usize = 200;
const MAX_LIMIT: usize = 200;
/// Execution listings look this far back when no `start_time` is given (FunctionGraph's
/// default window).
const DEFAULT_WINDOW_MS: Millis = 3 * 24 * 60 * 60 * 1000;

calls! {
    /// What a FunctionGraph request asks, typed. Each variant carries the permission a key
    /// needs for it ([`Action`]).
    pub enum Call {
        "functiongraph:workflow:create" => CreateWorkflow(WorkflowBody),
        "functiongraph:workflow:list" => ListWorkflows {
            page: Page,
            name: Option<String>,
            mode: Option<String>,
        },
        /// Deletes each workflow of the list (`workflow_urns`).
        "functiongraph:workflow:delete" => DeleteWorkflows { urns: Vec<String> },
        "functiongraph:workflow:get" => ShowWorkflow { id: String },
        "functiongraph:workflow:update" => UpdateWorkflow { id: String, body: WorkflowBody },
        "functiongraph:workflow:execute" => StartExecution {
            id: String,
            /// `X-WorkflowRun-ID`: the execution's name, when the caller chooses it.
            name: Option<String>,
            input: Option<String>,
        },
        "functiongraph:workflow:execute" => StartSyncExecution { id: String, input: Option<String> },
        /// `executions` (unpaged: no total) or `executions-history` (paged).
        "functiongraph:workflow:listExecutions" => ListExecutions {
            id: String,
            query: ExecutionQuery,
            paged: bool,
        },
        "functiongraph:workflow:getExecution" => ShowExecution { id: String, execution: String },
        "functiongraph:workflow:terminate" => TerminateExecution { id: String, execution: String },
        "functiongraph:workflow:retry" => RetryExecution { id: String, execution: String },
        /// `workflow-statistic[/{urn}]`.
        "functiongraph:workflow:getMetric" => Metrics {
            urn: Option<String>,
            query: MetricsQuery,
        },
        "functiongraph:workflow:callback" => Callback {
            id: String,
            /// `X-Workflow-Run-Id` and `X-Workflow-State-Id`.
            execution: String,
            state: String,
            result: CallbackResult,
        },
    }
}

/// The fields of a `WorkflowCreateBody` this dialect reads; the definition is the body as
/// sent, the language's to read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct WorkflowBody {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub mode: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(skip)]
    pub definition: String,
}

/// `FlowExecuteBody {headers, input}`: the input is an object.
#[derive(Debug, Deserialize)]
struct ExecuteBody {
    #[serde(default)]
    input: Option<Map<String, Value>>,
}

#[derive(Debug, Deserialize)]
struct DeleteBody {
    workflow_urns: Vec<String>,
}

/// `{result, error, output}` of a callback: `result` `success` carries `output`.
#[derive(Debug, Deserialize)]
struct CallbackBody {
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    output: Option<Value>,
}

/// The filters of an execution listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionQuery {
    pub page: Page,
    pub status: Option<Status>,
    /// `start_time` and `end_time`; the listing looks back [`DEFAULT_WINDOW_MS`] when the
    /// start is absent.
    pub window: Window,
}

/// The window of a statistic: epoch milliseconds, each a valid instant, and the period in
/// minutes (at least 1). Absent ends are filled in when the call runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsQuery {
    pub period_minutes: Millis,
    pub window: Window,
}

/// The longest statistic period: a year of minutes.
const MAX_PERIOD_MINUTES: Millis = 366 * 24 * 60;

/// Decodes a FunctionGraph request: the route, its query, headers and body, checked and typed.
pub fn decode(request: &Routed<'_>) -> Result<Call, HuaweiError> {
    match decode_call(request) {
        Ok(Some(call)) => Ok(call),
        Ok(None) => Err(HuaweiError::new(
            SHAPE,
            404,
            "FSS.0404",
            "The specified resource was not found.",
        )),
        Err(e) => Err(error(e)),
    }
}

/// The call a request makes, or none for a route FunctionGraph does not have.
fn decode_call(request: &Routed<'_>) -> Result<Option<Call>, ServiceError> {
    let m = request.method;
    let owned = |s: &str| s.to_string();
    let call = match request.rest().as_slice() {
        ["workflows"] if m == Method::POST => Call::CreateWorkflow(workflow_body(request)?),
        ["workflows"] if m == Method::GET => Call::ListWorkflows {
            page: request.offset_page(DEFAULT_LIMIT, MAX_LIMIT)?,
            name: request.query_param("workflow_name").map(owned),
            mode: request.query_param("mode").map(owned),
        },
        ["workflows"] if m == Method::DELETE => {
            let body: DeleteBody = request.json()?;
            Call::DeleteWorkflows {
                urns: body.workflow_urns,
            }
        }
        ["workflows", id] if m == Method::GET => Call::ShowWorkflow { id: owned(id) },
        ["workflows", id] if m == Method::PUT => Call::UpdateWorkflow {
            id: owned(id),
            body: workflow_body(request)?,
        },
        ["workflows", id, "executions"] if m == Method::POST => Call::StartExecution {
            id: owned(id),
            name: request.header("x-workflowrun-id").map(owned),
            input: execution_input(request)?,
        },
        ["workflows", id, "executions"] if m == Method::GET => Call::ListExecutions {
            id: owned(id),
            query: execution_query(request)?,
            paged: false,
        },
        ["workflows", id, "executions-history"] if m == Method::GET => Call::ListExecutions {
            id: owned(id),
            query: execution_query(request)?,
            paged: true,
        },
        ["workflows", id, "sync-executions"] if m == Method::POST => Call::StartSyncExecution {
            id: owned(id),
            input: execution_input(request)?,
        },
        ["workflows", id, "executions", execution] if m == Method::GET => Call::ShowExecution {
            id: owned(id),
            execution: owned(execution),
        },
        ["workflows", id, "executions", execution, "terminate"] if m == Method::POST => {
            Call::TerminateExecution {
                id: owned(id),
                execution: owned(execution),
            }
        }
        ["workflows", id, "executions", execution, "retry"] if m == Method::POST => {
            Call::RetryExecution {
                id: owned(id),
                execution: owned(execution),
            }
        }
        ["workflow-statistic"] if m == Method::GET => Call::Metrics {
            urn: None,
            query: metrics_query(request)?,
        },
        ["workflow-statistic", urn] if m == Method::GET => Call::Metrics {
            urn: Some(owned(urn)),
            query: metrics_query(request)?,
        },
        ["workflows", id, "callback"] if m == Method::POST => callback(id, request)?,
        _ => return Ok(None),
    };
    Ok(Some(call))
}

/// Runs a decoded request, which the caller's key may make.
pub async fn run(workflows: Workflows<'_>, call: Call) -> Result<Reply, HuaweiError> {
    let w = &workflows;
    let reply = match call {
        Call::CreateWorkflow(body) => w.create(body).await,
        Call::ListWorkflows { page, name, mode } => {
            w.list(page, name.as_deref(), mode.as_deref()).await
        }
        Call::DeleteWorkflows { urns } => w.delete(&urns).await,
        Call::ShowWorkflow { id } => w.show(&id).await,
        Call::UpdateWorkflow { id, body } => w.update(&id, body).await,
        Call::StartExecution { id, name, input } => w.start(&id, name, input).await,
        Call::StartSyncExecution { id, input } => w.start_sync(&id, input).await,
        Call::ListExecutions { id, query, paged } => w.executions(&id, &query, paged).await,
        Call::ShowExecution { id, execution } => w.show_execution(&id, &execution).await,
        Call::TerminateExecution { id, execution } => w.terminate(&id, &execution).await,
        Call::RetryExecution { id, execution } => w.retry(&id, &execution).await,
        Call::Metrics { urn, query } => w.metrics(urn.as_deref(), &query).await,
        Call::Callback {
            id,
            execution,
            state,
            result,
        } => w.callback_state(&id, &execution, &state, result).await,
    };
    reply.map_err(error)
}

/// The handlers of FunctionGraph calls; their scope is the path's project.
pub type Workflows<'a> = Handlers<'a, Call>;

impl Workflows<'_> {
    async fn create(&self, body: WorkflowBody) -> Result<Reply, ServiceError> {
        let spec = workflow_spec(body)?;
        let flow = self.service.create_flow(self.caller, spec).await?;
        Ok(Reply::json(201, workflow_brief(&flow, self.scope)))
    }

    async fn list(
        &self,
        page: Page,
        name: Option<&str>,
        mode: Option<&str>,
    ) -> Result<Reply, ServiceError> {
        let mode = match mode.map(mode_of) {
            // No workflow has a mode of another name.
            Some(None) => return Ok(Reply::ok(json!({"total": 0, "size": 0, "workflows": []}))),
            mode => mode.flatten(),
        };
        let query = FlowQuery {
            name: name.map(|n| NameMatch::Contains(n.to_string())),
            mode,
            ..FlowQuery::all(&self.caller.tenant)
        };
        let flows = self.flow_page(&query, page).await?;
        let listed = rendered(&flows, |f| workflow_brief(f, self.scope));
        Ok(Reply::ok(
            json!({"total": flows.total, "size": listed.len(), "workflows": listed}),
        ))
    }

    async fn show(&self, id: &str) -> Result<Reply, ServiceError> {
        let flow = self.service.flow_by_public_id(self.caller, id).await?;
        let mut body = workflow_brief(&flow, self.scope);
        body["definition"] = definition(&flow);
        Ok(Reply::ok(body))
    }

    async fn update(&self, id: &str, body: WorkflowBody) -> Result<Reply, ServiceError> {
        let flow = self.service.flow_by_public_id(self.caller, id).await?;
        if flow.dialect != Dialect::FunctionGraphV2 {
            return Err(ServiceError::InvalidArgument(format!(
                "workflow {} was created through the {} API and is updated there",
                flow.name, flow.dialect
            )));
        }
        let spec = workflow_spec(body)?;
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
        let flow = self
            .service
            .update_flow(self.caller, flow.name.as_str(), changes)
            .await?;
        Ok(Reply::ok(workflow_brief(&flow, self.scope)))
    }

    /// `DELETE` with `{"workflow_urns": [...]}`: each deleted or reported, never all-or-nothing.
    async fn delete(&self, urns: &[String]) -> Result<Reply, ServiceError> {
        let (mut success, mut fail) = (Vec::new(), Vec::new());
        for urn in urns {
            let outcome = match workflow_name_of(urn) {
                Some(name) => self
                    .service
                    .delete_flow(self.caller, name)
                    .await
                    .map(|_| ()),
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
        &self,
        id: &str,
        name: Option<String>,
        input: Option<String>,
    ) -> Result<Reply, ServiceError> {
        let (id, test_case) = sluice_service::with_test_case(id);
        let flow = self.service.flow_by_public_id(self.caller, id).await?;
        let start = start_of(flow.name.as_str(), name, input).under(test_case);
        let (_, execution) = self.service.start_execution(self.caller, start).await?;
        Ok(Reply::ok(json!({"execution_id": execution.name.as_str()})))
    }

    async fn start_sync(&self, id: &str, input: Option<String>) -> Result<Reply, ServiceError> {
        let (id, test_case) = sluice_service::with_test_case(id);
        let flow = self.service.flow_by_public_id(self.caller, id).await?;
        let start = start_of(flow.name.as_str(), None, input).under(test_case);
        let run = self
            .service
            .start_sync_execution(self.caller, start)
            .await?;
        let status = STATUSES.word(run.status);
        let mut body = json!({
            "execution_id": run.name,
            "status": status,
            "begin_time": time(run.started_at),
            "end_time": time(run.stopped_at),
        });
        if let Some(output) = &run.output {
            body["output"] = output.clone();
        }
        if let Some(error) = &run.error {
            body["errors"] = json!([{
                "node_id": "",
                "error_message": format!("{}: {}", error.code.as_str(), error.detail),
                "begin_time": time(run.started_at),
                "end_time": time(run.stopped_at),
            }]);
        }
        Ok(Reply::ok(body))
    }

    async fn executions(
        &self,
        id: &str,
        query: &ExecutionQuery,
        paged: bool,
    ) -> Result<Reply, ServiceError> {
        let flow = self.service.flow_by_public_id(self.caller, id).await?;
        let filter = ExecutionFilter {
            map_run: None,
            status: query.status,
            name_prefix: None,
            started_from: Some(
                query
                    .window
                    .from
                    .unwrap_or_else(|| Timestamp::now().as_millisecond() - DEFAULT_WINDOW_MS),
            ),
            started_to: query.window.to,
            ..ExecutionFilter::default()
        };
        let runs = Runs::of_flow(&self.caller.tenant, flow.id, &filter);
        let runs = self.execution_page(runs, query.page).await?;
        let listed = rendered(&runs, |e| execution_brief(&flow, self.scope, e));
        let body = if paged {
            json!({"total": runs.total, "size": listed.len(), "executions": listed})
        } else {
            json!({"executions": listed})
        };
        Ok(Reply::ok(body))
    }

    async fn show_execution(&self, id: &str, execution: &str) -> Result<Reply, ServiceError> {
        let flow = self.service.flow_by_public_id(self.caller, id).await?;
        let (_, record) = self
            .describe_execution(flow.name.as_str(), execution)
            .await?;
        let history = self.service.full_history(self.caller, &record).await?;
        let mut body = execution_brief(&flow, self.scope, &record.summary());
        body["input"] = record.input.clone().unwrap_or(json!({}));
        body["output"] = record.output.clone().unwrap_or(Value::Null);
        body["headers"] = json!({});
        body["node_execution_details"] = node_details(&record, &step_runs(&history));
        Ok(Reply::ok(body))
    }

    async fn terminate(&self, id: &str, execution: &str) -> Result<Reply, ServiceError> {
        let flow = self.service.flow_by_public_id(self.caller, id).await?;
        let why = ("Terminated", "terminated through the FunctionGraph API");
        self.stop_execution(flow.name.as_str(), execution, why)
            .await?;
        Ok(Reply::empty(200))
    }

    /// `workflow-statistic[/{urn}]`: per `period` minutes from `start_time` to `end_time` (epoch
    /// ms), the executions started (`count`), their mean duration in ms (`duration`), how many of
    /// them failed (`fail_count`) and how many still run (`running_count`); for one workflow, or
    /// every workflow of the tenant.
    async fn metrics(
        &self,
        urn: Option<&str>,
        query: &MetricsQuery,
    ) -> Result<Reply, ServiceError> {
        let end = query
            .window
            .to
            .unwrap_or_else(|| Timestamp::now().as_millisecond());
        let start = query.window.from.unwrap_or(end - 24 * 3_600_000);
        let flow = urn
            .map(|urn| {
                workflow_name_of(urn).ok_or_else(|| {
                    ServiceError::InvalidArgument(format!("{urn:?} is not a workflow URN"))
                })
            })
            .transpose()?;
        let periods = self
            .service
            .execution_metrics(self.caller, flow, (start, end), query.period_minutes)
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
    async fn retry(&self, id: &str, execution: &str) -> Result<Reply, ServiceError> {
        let flow = self.service.flow_by_public_id(self.caller, id).await?;
        self.service
            .retry_execution(self.caller, flow.name.as_str(), execution)
            .await?;
        Ok(Reply::empty(200))
    }

    /// `callback`: completes the running state `state` of `execution` with the result.
    async fn callback_state(
        &self,
        id: &str,
        execution: &str,
        state: &str,
        result: CallbackResult,
    ) -> Result<Reply, ServiceError> {
        let flow = self.service.flow_by_public_id(self.caller, id).await?;
        self.service
            .complete_state(self.caller, flow.name.as_str(), execution, state, result)
            .await?;
        Ok(Reply::ok(json!({"execution_id": execution})))
    }
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

/// A `WorkflowCreateBody`, its definition the body as sent.
fn workflow_body(request: &Routed<'_>) -> Result<WorkflowBody, ServiceError> {
    let mut body: WorkflowBody = request.json()?;
    body.definition = String::from_utf8_lossy(request.body).into_owned();
    Ok(body)
}

/// The flow a `WorkflowCreateBody` describes; the definition is kept as sent.
fn workflow_spec(body: WorkflowBody) -> Result<FlowSpec, ServiceError> {
    let name = body
        .name
        .ok_or_else(|| ServiceError::InvalidArgument("the workflow name is required".into()))?;
    let mode = match body.mode.as_deref() {
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
        definition: body.definition,
        dialect: Dialect::FunctionGraphV2,
        description: body.description.unwrap_or_default(),
        role_arn: None,
        mode,
        attributes: Value::Null,
        tag: None,
    })
}

/// The input of a `FlowExecuteBody`, as the execution's input.
fn execution_input(request: &Routed<'_>) -> Result<Option<String>, ServiceError> {
    let body: ExecuteBody = request.json()?;
    Ok(body.input.map(|input| Value::Object(input).to_string()))
}

fn execution_query(request: &Routed<'_>) -> Result<ExecutionQuery, ServiceError> {
    Ok(ExecutionQuery {
        page: request.offset_page(DEFAULT_LIMIT, MAX_LIMIT)?,
        status: request
            .query_param("status")
            .map(parse_status)
            .transpose()?,
        window: window(request, |_, text| parse_time(text))?,
    })
}

/// `start_time` and `end_time`, each read by `parse` (given the parameter's name and text).
fn window(
    request: &Routed<'_>,
    parse: impl Fn(&str, &str) -> Result<Millis, ServiceError>,
) -> Result<Window, ServiceError> {
    let at = |name: &str| {
        request
            .query_param(name)
            .map(|t| parse(name, t))
            .transpose()
    };
    Ok(Window {
        from: at("start_time")?,
        to: at("end_time")?,
    })
}

/// `period` (minutes), `start_time` and `end_time` (epoch ms), each within its range.
fn metrics_query(request: &Routed<'_>) -> Result<MetricsQuery, ServiceError> {
    let instant = |name: &str, text: &str| {
        text.parse::<Millis>()
            .ok()
            .filter(|ms| Timestamp::from_millisecond(*ms).is_ok())
            .ok_or_else(|| {
                ServiceError::InvalidArgument(format!("{name} must be epoch milliseconds"))
            })
    };
    let period = request
        .number("period", 60, 1..=MAX_PERIOD_MINUTES as usize)
        .map_err(ServiceError::InvalidArgument)?;
    Ok(MetricsQuery {
        period_minutes: period as Millis,
        window: window(request, instant)?,
    })
}

fn callback(id: &str, request: &Routed<'_>) -> Result<Call, ServiceError> {
    let header = |name: &str| {
        request
            .header(name)
            .map(str::to_string)
            .ok_or_else(|| ServiceError::InvalidArgument(format!("the header {name} is required")))
    };
    let (execution, state) = (header("x-workflow-run-id")?, header("x-workflow-state-id")?);
    let body: CallbackBody = request.json()?;
    let result = match body.result.as_deref() {
        Some("success") => CallbackResult::Succeeded {
            output: body.output.unwrap_or_else(|| json!({})).to_string(),
        },
        other => CallbackResult::Failed {
            error: body.error.unwrap_or_else(|| "Callback.Failed".to_string()),
            cause: format!("the callback reported {}", other.unwrap_or("no result")),
        },
    };
    Ok(Call::Callback {
        id: id.to_string(),
        execution,
        state,
        result,
    })
}

/// Step runs grouped by step, in the order each step first ran. A run cut short by the end
/// of its execution takes the execution's status (a terminated run is `cancel`).
fn node_details(record: &ExecutionView, runs: &[StepRun]) -> Value {
    let mut nodes: Vec<(String, Vec<Value>)> = Vec::new();
    for run in runs {
        let run_status = match run.status {
            StepStatus::Succeeded => "success",
            StepStatus::Failed => "fail",
            StepStatus::Running if record.status.is_terminal() => STATUSES.word(record.status),
            StepStatus::Running => "running",
        };
        let entry = json!({
            "status": run_status,
            "input": run.input,
            "output": run.output,
            "begin_time": run.entered_at,
            "end_time": run.left_at.or(record.stopped_at),
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

fn workflow_brief(flow: &FlowView, project: &str) -> Value {
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
fn definition(flow: &FlowView) -> Value {
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

fn execution_brief(flow: &FlowView, project: &str, e: &ExecutionSummary) -> Value {
    let begin = e.started_at.unwrap_or(e.created_at);
    json!({
        "workflow_id": flow.public_id(),
        "workflow_urn": workflow_urn(flow, project),
        "execution_id": e.name.as_str(),
        "status": STATUSES.word(e.status),
        "begin_time": time(begin),
        "end_time": e.stopped_at.map(time),
        "last_update_time": time(e.stopped_at.unwrap_or(begin)),
        "created_by": "",
    })
}

fn workflow_urn(flow: &FlowView, project: &str) -> String {
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
const STATUSES: StatusWords =
    StatusWords(["running", "running", "success", "fail", "timeout", "cancel"]);

fn parse_status(text: &str) -> Result<Status, ServiceError> {
    STATUSES.named(text).first().copied().ok_or_else(|| {
        ServiceError::InvalidArgument(format!(
            "status must be success, fail, running, timeout or cancel, not {text:?}"
        ))
    })
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
pub(super) fn error(e: ServiceError) -> HuaweiError {
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
        | ServiceError::InvalidName(_)
        | ServiceError::InvalidInput(_)
        | ServiceError::InvalidDefinition(_)
        | ServiceError::WrongMode(_)
        | ServiceError::NotSupported(_)
        | ServiceError::ExecutionCompleted { .. }
        | ServiceError::NotRedrivable { .. }
        | ServiceError::VersionInUse { .. }
        | ServiceError::TaskCompleted(_)
        | ServiceError::TaskNotFound(_)
        | ServiceError::NotWaiting(_) => (400, "FSS.0400"),
    };
    HuaweiError::new(SHAPE, status, code, e.to_string())
}
