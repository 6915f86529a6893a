//! FunctionGraph workflows of the legacy v1.0 API (`/v1.0/{project}/cloud_graphs…`, spec
//! §1.4), which no current SDK has. A graph is a flow (dialect `functiongraph-v1`, its
//! definition the JSON text sent); graphs and executions are addressed by URN:
//! `urn:fgs:<region>:<project>:graph:<name>` and
//! `urn:fgs:<region>:<project>:execution:<graph>:<execution>:<32 hex>`.

use std::sync::Arc;

use axum::http::Method;
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use sluice_engine::{Millis, Status};
use sluice_service::{
    Caller, Dialect, FlowChanges, FlowSpec, Service, ServiceError, StartRequest, StepRun,
    StepStatus, step_runs,
};
use sluice_store::{
    ExecutionFilter, ExecutionMode, ExecutionQuery, ExecutionRecord, ExecutionSummary, FlowQuery,
    FlowRecord, NameMatch, Page,
};

use super::{ErrorShape, HuaweiError, Reply, Routed};

const SHAPE: ErrorShape = ErrorShape::Snake;
const REGION: &str = "local";
const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 1000;

pub async fn handle(
    service: &Arc<Service>,
    caller: &Caller,
    project: &str,
    request: &Routed<'_>,
) -> Result<Reply, HuaweiError> {
    let graphs = Graphs {
        service,
        caller,
        project,
    };
    let m = request.method;
    let reply = match request.rest().as_slice() {
        [] if m == Method::POST => graphs.create(request).await,
        [] if m == Method::GET => graphs.list(request).await,
        ["graph_detail", execution] if m == Method::GET => graphs.execution_graph(execution).await,
        ["executions", execution] if m == Method::GET => graphs.show_execution(execution).await,
        ["executions", execution, "history"] if m == Method::GET => {
            graphs.history(execution, request).await
        }
        [graph] if m == Method::GET => graphs.show(graph).await,
        [graph] if m == Method::PUT => graphs.update(graph, request).await,
        [graph] if m == Method::DELETE => graphs.delete(graph).await,
        [graph, "executions", "action"] if m == Method::POST => graphs.action(graph, request).await,
        [graph, "executions"] if m == Method::GET => graphs.executions(graph, request).await,
        [graph, "executions", execution, "event_test"] if m == Method::POST => {
            graphs.event(graph, execution, request).await
        }
        _ => Err(V1Error::Code(404, "FGS.0010", "no such resource".into())),
    };
    reply.map_err(error)
}

enum V1Error {
    /// A code of the v1.0 table with its status and message.
    Code(u16, &'static str, String),
    Service(ServiceError),
}

impl From<ServiceError> for V1Error {
    fn from(e: ServiceError) -> Self {
        V1Error::Service(e)
    }
}

type V1Result<T> = Result<T, V1Error>;

struct Graphs<'a> {
    service: &'a Arc<Service>,
    caller: &'a Caller,
    project: &'a str,
}

impl Graphs<'_> {
    async fn create(&self, request: &Routed<'_>) -> V1Result<Reply> {
        self.service
            .authorize(self.caller, "functiongraph:graph:create")?;
        let body = json_body(request)?;
        let name = body["graph_name"]
            .as_str()
            .ok_or_else(|| invalid("graph_name is required"))?;
        let definition = body["definition"].as_str().ok_or_else(|| {
            invalid("definition must be the workflow definition as a JSON string")
        })?;
        let spec = FlowSpec {
            name: name.to_string(),
            definition: definition.to_string(),
            dialect: Dialect::FunctionGraphV1,
            description: body["description"].as_str().unwrap_or_default().to_string(),
            role_arn: None,
            mode: ExecutionMode::Standard,
            attributes: Value::Null,
            tag: None,
        };
        let flow = self.service.create_flow(self.caller, spec).await?;
        Ok(Reply::ok(json!({
            "graph_urn": self.graph_urn(&flow),
            "created_at": time(flow.created_at),
        })))
    }

    async fn list(&self, request: &Routed<'_>) -> V1Result<Reply> {
        self.service
            .authorize(self.caller, "functiongraph:graph:list")?;
        let (start, limit) = page(request)?;
        let contains = request.query_param("name");
        let query = match request.query_param("graph_urn") {
            // A URN names one graph, whose name must hold what `name` asks for too.
            Some(urn) => match self.graph_of_urn(urn) {
                Some(graph) if contains.is_none_or(|n| graph.contains(n)) => {
                    Some(NameMatch::Exact(graph.to_string()))
                }
                _ => return Ok(Reply::ok(json!({"count": 0, "graphs": []}))),
            },
            None => contains.map(|n| NameMatch::Contains(n.to_string())),
        };
        let query = FlowQuery {
            name: query,
            ..FlowQuery::all(&self.caller.tenant)
        };
        let flows = self
            .service
            .flow_page(self.caller, &query, Page::offset(start - 1, limit))
            .await?;
        let listed: Vec<Value> = flows
            .items
            .iter()
            .map(|f| {
                json!({"name": f.name.as_str(), "created_at": time(f.created_at), "graph_urn": self.graph_urn(f)})
            })
            .collect();
        Ok(Reply::ok(json!({"count": flows.total, "graphs": listed})))
    }

    async fn show(&self, urn: &str) -> V1Result<Reply> {
        self.service
            .authorize(self.caller, "functiongraph:graph:get")?;
        let flow = self.graph(urn).await?;
        Ok(Reply::ok(json!({
            "name": flow.name.as_str(),
            "created_at": time(flow.created_at),
            "definition": definition(&flow.definition),
            "graph_urn": self.graph_urn(&flow),
        })))
    }

    async fn update(&self, urn: &str, request: &Routed<'_>) -> V1Result<Reply> {
        self.service
            .authorize(self.caller, "functiongraph:graph:update")?;
        let flow = self.graph(urn).await?;
        let body = json_body(request)?;
        if body["info_type"].as_str() != Some("definition") {
            return Err(invalid("info_type must be \"definition\""));
        }
        let info = body["info"]
            .as_str()
            .ok_or_else(|| invalid("info must be the definition as a JSON string"))?;
        let changes = FlowChanges {
            definition: Some(info.to_string()),
            ..Default::default()
        };
        let flow = self
            .service
            .update_flow(self.caller, flow.name.as_str(), changes)
            .await?;
        Ok(Reply::ok(json!({
            "last_modified": time(flow.modified_at),
            "graph_urn": self.graph_urn(&flow),
        })))
    }

    async fn delete(&self, urn: &str) -> V1Result<Reply> {
        self.service
            .authorize(self.caller, "functiongraph:graph:delete")?;
        let flow = self.graph(urn).await?;
        self.service
            .delete_flow(self.caller, flow.name.as_str())
            .await?;
        Ok(Reply::empty(204))
    }

    /// `executions/action`: `start`, `test_start` or `stop`.
    async fn action(&self, urn: &str, request: &Routed<'_>) -> V1Result<Reply> {
        let flow = self.graph(urn).await?;
        let body = json_body(request)?;
        let executions = &body["executions"];
        match body["action_type"].as_str() {
            Some("start" | "test_start") => {
                self.service
                    .authorize(self.caller, "functiongraph:graph:start")?;
                let name = executions["execution_name"].as_str().map(str::to_string);
                let input = match &executions["input"] {
                    Value::Null => None,
                    Value::String(text) => {
                        let parsed: Value = serde_json::from_str(text).map_err(|_| {
                            V1Error::Code(400, "FGS.2008", "input is not valid JSON".into())
                        })?;
                        Some(parsed.to_string())
                    }
                    _ => {
                        return Err(V1Error::Code(
                            400,
                            "FGS.2008",
                            "input must be a JSON string".into(),
                        ));
                    }
                };
                let start = StartRequest {
                    flow: flow.name.to_string(),
                    name,
                    input,
                };
                let (_, execution) = self.service.start_execution(self.caller, start).await?;
                Ok(Reply::ok(json!({
                    "execution_urn": self.execution_urn(&flow, &execution.summary()),
                    "started_at": time(execution.state.started_at.unwrap_or(execution.created_at)),
                })))
            }
            Some("stop") => {
                self.service
                    .authorize(self.caller, "functiongraph:graph:stop")?;
                let urn = executions["execution_urn"]
                    .as_str()
                    .ok_or_else(|| invalid("executions.execution_urn is required"))?;
                let (graph, name) = parse_execution_urn(urn)?;
                if graph != flow.name.as_str() {
                    return Err(V1Error::Code(
                        404,
                        "FGS.2002",
                        "the execution does not exist".into(),
                    ));
                }
                let (_, stopped) = self
                    .service
                    .stop_execution(
                        self.caller,
                        graph,
                        name,
                        Some("Aborted".into()),
                        Some("stopped through the cloud_graphs API".into()),
                    )
                    .await?;
                Ok(Reply::ok(json!({
                    "stopped_at": time(stopped.state.stopped_at.unwrap_or_default()),
                })))
            }
            other => Err(V1Error::Code(
                400,
                "FGS.2006",
                format!("action_type {other:?} is not start, test_start or stop"),
            )),
        }
    }

    async fn executions(&self, urn: &str, request: &Routed<'_>) -> V1Result<Reply> {
        self.service
            .authorize(self.caller, "functiongraph:graph:listExecutions")?;
        let flow = self.graph(urn).await?;
        let (start, limit) = page(request)?;
        let filter = ExecutionFilter {
            name_prefix: request.query_param("name").map(str::to_string),
            ..Default::default()
        };
        if let Some(wanted) = request.query_param("execution_urn") {
            // A URN names one execution, which must hold what `name` asks for too.
            let found = match self.execution(wanted).await {
                Ok((of, e)) if of.id == flow.id && filter_admits(&filter, &e) && start == 1 => {
                    vec![self.execution_brief(&flow, &e.summary())]
                }
                _ => Vec::new(),
            };
            return Ok(Reply::ok(
                json!({"count": found.len(), "executions": found}),
            ));
        }
        let query = ExecutionQuery::of_flow(&self.caller.tenant, flow.id, &filter);
        let runs = self
            .service
            .execution_page(self.caller, &query, Page::offset(start - 1, limit))
            .await?;
        let listed: Vec<Value> = runs
            .items
            .iter()
            .map(|e| self.execution_brief(&flow, e))
            .collect();
        Ok(Reply::ok(
            json!({"count": runs.total, "executions": listed}),
        ))
    }

    async fn show_execution(&self, urn: &str) -> V1Result<Reply> {
        self.service
            .authorize(self.caller, "functiongraph:graph:getExecution")?;
        let (flow, execution) = self.execution(urn).await?;
        let history = self.service.full_history(self.caller, &execution).await?;
        let runs = step_runs(&history);
        let mut info = self.execution_brief(&flow, &execution.summary());
        let definition_text = self.service.execution_definition(&flow, &execution).await?;
        let definition = definition(&definition_text);
        info["execution_state"] = info["execution_status"].clone();
        info["start_state"] = json!(start_state(&definition));
        info["isTest"] = json!(false);
        info["input"] = json!(execution.state.input.as_ref().map(Value::to_string));
        if let Some(output) = &execution.state.output {
            info["output"] = json!(output.to_string());
        }
        info["state_map"] = state_map(&definition, &execution, &runs);
        Ok(Reply::ok(json!({"execution_info": info})))
    }

    async fn history(&self, urn: &str, request: &Routed<'_>) -> V1Result<Reply> {
        self.service
            .authorize(self.caller, "functiongraph:graph:getExecution")?;
        let (_, execution) = self.execution(urn).await?;
        let (start, limit) = page(request)?;
        let history = self.service.full_history(self.caller, &execution).await?;
        let entries = history_entries(&execution, &step_runs(&history));
        let count = entries.len();
        let listed: Vec<Value> = entries.into_iter().skip(start - 1).take(limit).collect();
        Ok(Reply::ok(json!({"count": count, "state_history": listed})))
    }

    /// The definition the execution runs.
    async fn execution_graph(&self, urn: &str) -> V1Result<Reply> {
        self.service
            .authorize(self.caller, "functiongraph:graph:get")?;
        let (flow, execution) = self.execution(urn).await?;
        let text = self.service.execution_definition(&flow, &execution).await?;
        Ok(Reply::ok(json!({
            "name": flow.name.as_str(),
            "last_modified": time(flow.modified_at),
            "definition": definition(&text),
            "graph_urn": self.graph_urn(&flow),
        })))
    }

    /// `event_test`: the event reaches the execution's waiting EVENT state.
    async fn event(&self, urn: &str, execution_urn: &str, request: &Routed<'_>) -> V1Result<Reply> {
        self.service
            .authorize(self.caller, "functiongraph:graph:event")?;
        let flow = self.graph(urn).await?;
        let (graph, name) = parse_execution_urn(execution_urn)?;
        if graph != flow.name.as_str() {
            return Err(V1Error::Code(
                404,
                "FGS.2002",
                "the execution does not exist".into(),
            ));
        }
        let body = json_body(request)?;
        let payload = match &body["input"] {
            Value::String(text) => text.clone(),
            Value::Null => "{}".to_string(),
            other => other.to_string(),
        };
        let state = self
            .service
            .deliver_event(self.caller, graph, name, payload)
            .await?;
        Ok(Reply::ok(
            json!({"response": format!("the event reached state {state}")}),
        ))
    }

    async fn graph(&self, urn: &str) -> V1Result<FlowRecord> {
        let parts: Vec<&str> = urn.split(':').collect();
        let ["urn", "fgs", _, project, "graph", name] = parts.as_slice() else {
            return Err(V1Error::Code(
                400,
                "FGS.0010",
                format!("{urn:?} is not a graph URN"),
            ));
        };
        if *project != self.project {
            return Err(V1Error::Code(
                404,
                "FGS.1011",
                "the workflow does not exist".into(),
            ));
        }
        Ok(self.service.describe_flow(self.caller, name).await?)
    }

    async fn execution(&self, urn: &str) -> V1Result<(FlowRecord, ExecutionRecord)> {
        let (graph, name) = parse_execution_urn(urn)?;
        let (flow, execution) = self
            .service
            .describe_execution(self.caller, graph, name, Default::default())
            .await?;
        if self.execution_urn(&flow, &execution.summary()) != urn {
            return Err(V1Error::Code(
                404,
                "FGS.2002",
                "the execution does not exist".into(),
            ));
        }
        Ok((flow, execution))
    }

    fn graph_urn(&self, flow: &FlowRecord) -> String {
        format!("urn:fgs:{REGION}:{}:graph:{}", self.project, flow.name)
    }

    /// The graph name in a URN of this project's, if it is one.
    fn graph_of_urn<'u>(&self, urn: &'u str) -> Option<&'u str> {
        let prefix = format!("urn:fgs:{REGION}:{}:graph:", self.project);
        urn.strip_prefix(&prefix).filter(|name| !name.is_empty())
    }

    fn execution_urn(&self, flow: &FlowRecord, execution: &ExecutionSummary) -> String {
        format!(
            "urn:fgs:{REGION}:{}:execution:{}:{}:{:032x}",
            self.project, flow.name, execution.name, execution.id.0
        )
    }

    fn execution_brief(&self, flow: &FlowRecord, execution: &ExecutionSummary) -> Value {
        json!({
            "graph_urn": self.graph_urn(flow),
            "execution_urn": self.execution_urn(flow, execution),
            "execution_name": execution.name.as_str(),
            "started_at": time(execution.started_at.unwrap_or(execution.created_at)),
            "stopped_at": execution.stopped_at.map(time),
            "execution_status": status(execution.status),
        })
    }
}

/// Whether the listing filter of an execution listing selects `execution`.
fn filter_admits(filter: &ExecutionFilter, execution: &ExecutionRecord) -> bool {
    filter
        .name_prefix
        .as_deref()
        .is_none_or(|p| execution.name.as_str().starts_with(p))
}

/// `(graph name, execution name)` of an execution URN.
fn parse_execution_urn(urn: &str) -> V1Result<(&str, &str)> {
    match urn.split(':').collect::<Vec<_>>().as_slice() {
        ["urn", "fgs", _, _, "execution", graph, name, _] => Ok((graph, name)),
        _ => Err(V1Error::Code(
            400,
            "FGS.0010",
            format!("{urn:?} is not an execution URN"),
        )),
    }
}

fn json_body(request: &Routed<'_>) -> V1Result<Value> {
    request
        .json_body()
        .map_err(|e| V1Error::Code(400, "FGS.0009", e))
}

fn invalid(message: &str) -> V1Error {
    V1Error::Code(400, "FGS.0005", message.to_string())
}

fn definition(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

fn start_state(definition: &Value) -> Option<String> {
    definition["states"]
        .as_object()?
        .iter()
        .find(|(_, s)| s["start"] == json!(true))
        .map(|(name, _)| name.clone())
}

/// Every state of the definition with the status of its latest run.
fn state_map(definition: &Value, execution: &ExecutionRecord, runs: &[StepRun]) -> Value {
    let mut map = Map::new();
    let empty = Map::new();
    for (name, state) in definition["states"].as_object().unwrap_or(&empty) {
        let latest = runs.iter().rev().find(|r| &r.step == name);
        let mut entry = Map::new();
        entry.insert("state_name".into(), name.as_str().into());
        entry.insert("TYPE".into(), state["type"].clone());
        entry.insert("status".into(), state_status(latest, execution).into());
        if let Some(run) = latest {
            entry.insert("started_at".into(), time(run.entered_at).into());
            if let Some(left) = run.left_at {
                entry.insert("stopped_at".into(), time(left).into());
            }
            entry.insert("input".into(), run.input.to_string().into());
            if let Some(output) = &run.output {
                entry.insert("output".into(), output.to_string().into());
            }
        }
        map.insert(name.clone(), Value::Object(entry));
    }
    Value::Object(map)
}

fn state_status(run: Option<&StepRun>, execution: &ExecutionRecord) -> &'static str {
    match run.map(|r| r.status) {
        None => "NOTRUNNING",
        Some(StepStatus::Succeeded) => "SUCCESS",
        Some(StepStatus::Failed) => "FAILED",
        Some(StepStatus::Running) if execution.status().is_terminal() => status(execution.status()),
        Some(StepStatus::Running) => "RUNNING",
    }
}

/// `Execution Start`, a `State Start` / `State End` per step run, `Execution End`.
fn history_entries(execution: &ExecutionRecord, runs: &[StepRun]) -> Vec<Value> {
    let started = execution.state.started_at.unwrap_or(execution.created_at);
    let mut entries = vec![json!({
        "type": "Execution Start",
        "execution_name": execution.name.as_str(),
        "input": execution.state.input.as_ref().map(Value::to_string),
        "started_at": time(started),
    })];
    for run in runs {
        entries.push(json!({
            "type": "State Start",
            "state_name": run.step,
            "input": run.input.to_string(),
            "started_at": time(run.entered_at),
        }));
        if let Some(left) = run.left_at {
            entries.push(json!({
                "type": "State End",
                "state_name": run.step,
                "output": run.output.as_ref().map(Value::to_string),
                "status": state_status(Some(run), execution),
                "stopped_at": time(left),
            }));
        }
    }
    if let Some(stopped) = execution.state.stopped_at {
        entries.push(json!({
            "type": "Execution End",
            "execution_name": execution.name.as_str(),
            "output": execution.state.output.as_ref().map(Value::to_string),
            "status": status(execution.status()),
            "stopped_at": time(stopped),
        }));
    }
    entries
}

/// Execution statuses of the v1.0 API: a stopped execution is `ABORTED`.
fn status(status: Status) -> &'static str {
    match status {
        Status::Starting | Status::Running => "RUNNING",
        Status::Succeeded => "SUCCESS",
        Status::Failed => "FAILED",
        Status::TimedOut => "TIMEOUT",
        Status::Stopped => "ABORTED",
    }
}

/// ISO 8601 with milliseconds and `Z`.
fn time(ms: Millis) -> String {
    Timestamp::from_millisecond(ms)
        .map(|t| t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string())
        .unwrap_or_default()
}

/// `start` (1-based, default 1) and `limit` (1..=1000, default 10).
fn page(request: &Routed<'_>) -> V1Result<(usize, usize)> {
    let start = request.number("start", 1, 1..=usize::MAX);
    let limit = request.number("limit", DEFAULT_LIMIT, 1..=MAX_LIMIT);
    start
        .and_then(|s| limit.map(|l| (s, l)))
        .map_err(|e| invalid(&e))
}

/// The one mapping to the v1.0 `FGS.*` codes.
fn error(e: V1Error) -> HuaweiError {
    let (status, code, message) = match e {
        V1Error::Code(status, code, message) => (status, code, message),
        V1Error::Service(e) => {
            let (status, code) = match &e {
                ServiceError::InvalidDefinition(_) => (400, "FGS.1001"),
                ServiceError::FlowExists(_) => (409, "FGS.1005"),
                ServiceError::FlowNotFound(_) => (404, "FGS.1011"),
                ServiceError::ExecutionNotFound { .. } => (404, "FGS.2002"),
                ServiceError::ExecutionCompleted { .. } => (400, "FGS.2022"),
                ServiceError::ExecutionExists { .. } => (409, "FGS.4106"),
                ServiceError::NotWaiting(_) | ServiceError::TaskCompleted(_) => (400, "FGS.2024"),
                ServiceError::AccessDenied { .. } => (403, "FSS.0403"),
                ServiceError::Throttled => (429, "FSS.0429"),
                ServiceError::Internal(_) => (500, "FSS.0500"),
                _ => (400, "FGS.0005"),
            };
            (status, code, e.to_string())
        }
    };
    HuaweiError::new(SHAPE, status, code, message)
}
