//! FunctionGraph workflows of the legacy v1.0 API (`/v1.0/{project}/cloud_graphs…`, spec
//! §1.4), which no current SDK has. A graph is a flow (dialect `functiongraph-v1`, its
//! definition the JSON text sent); graphs and executions are addressed by URN:
//! `urn:fgs:<region>:<project>:graph:<name>` and
//! `urn:fgs:<region>:<project>:execution:<graph>:<execution>:<32 hex>`.

use axum::http::Method;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};
use sluice_service::views::{
    ExecutionFilter, ExecutionMode, ExecutionQuery, ExecutionSummary, ExecutionView, FlowQuery,
    FlowView, NameMatch,
};
use sluice_service::{
    Dialect, FlowChanges, FlowSpec, ServiceError, StepRun, StepStatus, step_runs,
};

use super::{
    ErrorShape, Handlers, HuaweiError, Page, Reply, Routed, StatusWords, rendered, start_of,
};
use crate::wire_time::millis_z as time;

const SHAPE: ErrorShape = ErrorShape::Snake;
const REGION: &str = "local";
const DEFAULT_LIMIT: usize = 10;
const MAX_LIMIT: usize = 1000;

calls! {
    /// What a v1.0 request asks, typed. Each variant carries the permission a key needs for it
    /// ([`Action`]). Graphs and executions are named by URN, as sent.
    pub enum Call {
        "functiongraph:graph:create" => CreateGraph {
            name: String,
            definition: String,
            description: String,
        },
        "functiongraph:graph:list" => ListGraphs {
            page: Page,
            name: Option<String>,
            urn: Option<String>,
        },
        "functiongraph:graph:get" => ShowGraph { graph: String },
        /// `graph_detail`: the definition an execution runs.
        "functiongraph:graph:get" => ExecutionGraph { execution: String },
        "functiongraph:graph:update" => UpdateGraph { graph: String, definition: String },
        "functiongraph:graph:delete" => DeleteGraph { graph: String },
        /// `executions/action` with `start` or `test_start`.
        "functiongraph:graph:start" => StartExecution {
            graph: String,
            name: Option<String>,
            input: Option<String>,
        },
        /// `executions/action` with `stop`.
        "functiongraph:graph:stop" => StopExecution { graph: String, execution: String },
        "functiongraph:graph:listExecutions" => ListExecutions {
            graph: String,
            page: Page,
            name: Option<String>,
            urn: Option<String>,
        },
        "functiongraph:graph:getExecution" => ShowExecution { execution: String },
        "functiongraph:graph:getExecution" => History { execution: String, page: Page },
        /// `event_test`: an event for the execution's waiting EVENT state.
        "functiongraph:graph:event" => Event {
            graph: String,
            execution: String,
            payload: String,
        },
    }
}

#[derive(Debug, Deserialize)]
struct CreateBody {
    #[serde(default)]
    graph_name: Option<String>,
    /// The workflow definition, as a JSON string.
    #[serde(default)]
    definition: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct UpdateBody {
    #[serde(default)]
    info_type: Option<String>,
    #[serde(default)]
    info: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ActionBody {
    #[serde(default)]
    action_type: Option<String>,
    #[serde(default)]
    executions: ActionExecutions,
}

#[derive(Debug, Default, Deserialize)]
struct ActionExecutions {
    #[serde(default)]
    execution_name: Option<String>,
    /// The execution's input, as a JSON string.
    #[serde(default)]
    input: Option<String>,
    #[serde(default)]
    execution_urn: Option<String>,
}

#[derive(Debug, Deserialize)]
struct EventBody {
    #[serde(default)]
    input: Option<EventInput>,
}

/// An event's input: JSON text, or JSON itself.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum EventInput {
    Text(String),
    Json(Value),
}

/// Decodes a v1.0 request: the route, its query and its body, checked and typed.
pub fn decode(request: &Routed<'_>) -> Result<Call, HuaweiError> {
    decode_call(request).map_err(error)
}

fn decode_call(request: &Routed<'_>) -> V1Result<Call> {
    let m = request.method;
    let owned = |s: &str| s.to_string();
    let call = match request.rest().as_slice() {
        [] if m == Method::POST => {
            let body: CreateBody = json_body(request)?;
            Call::CreateGraph {
                name: body
                    .graph_name
                    .ok_or_else(|| invalid("graph_name is required"))?,
                definition: body.definition.ok_or_else(|| {
                    invalid("definition must be the workflow definition as a JSON string")
                })?,
                description: body.description.unwrap_or_default(),
            }
        }
        [] if m == Method::GET => Call::ListGraphs {
            page: page(request)?,
            name: request.query_param("name").map(owned),
            urn: request.query_param("graph_urn").map(owned),
        },
        ["graph_detail", execution] if m == Method::GET => Call::ExecutionGraph {
            execution: owned(execution),
        },
        ["executions", execution] if m == Method::GET => Call::ShowExecution {
            execution: owned(execution),
        },
        ["executions", execution, "history"] if m == Method::GET => Call::History {
            execution: owned(execution),
            page: page(request)?,
        },
        [graph] if m == Method::GET => Call::ShowGraph {
            graph: owned(graph),
        },
        [graph] if m == Method::PUT => {
            let body: UpdateBody = json_body(request)?;
            if body.info_type.as_deref() != Some("definition") {
                return Err(invalid("info_type must be \"definition\""));
            }
            Call::UpdateGraph {
                graph: owned(graph),
                definition: body
                    .info
                    .ok_or_else(|| invalid("info must be the definition as a JSON string"))?,
            }
        }
        [graph] if m == Method::DELETE => Call::DeleteGraph {
            graph: owned(graph),
        },
        [graph, "executions", "action"] if m == Method::POST => action(graph, request)?,
        [graph, "executions"] if m == Method::GET => Call::ListExecutions {
            graph: owned(graph),
            page: page(request)?,
            name: request.query_param("name").map(owned),
            urn: request.query_param("execution_urn").map(owned),
        },
        [graph, "executions", execution, "event_test"] if m == Method::POST => {
            let body: EventBody = json_body(request)?;
            Call::Event {
                graph: owned(graph),
                execution: owned(execution),
                payload: match body.input {
                    Some(EventInput::Text(text)) => text,
                    Some(EventInput::Json(json)) => json.to_string(),
                    None => "{}".to_string(),
                },
            }
        }
        _ => return Err(V1Error::Code(404, "FGS.0010", "no such resource".into())),
    };
    Ok(call)
}

/// `executions/action`: `start`, `test_start` or `stop`.
fn action(graph: &str, request: &Routed<'_>) -> V1Result<Call> {
    let body: ActionBody = json_body(request)?;
    let executions = body.executions;
    match body.action_type.as_deref() {
        Some("start" | "test_start") => {
            let input = match executions.input {
                None => None,
                Some(text) => {
                    let parsed: Value = serde_json::from_str(&text).map_err(|_| {
                        V1Error::Code(400, "FGS.2008", "input is not valid JSON".into())
                    })?;
                    Some(parsed.to_string())
                }
            };
            Ok(Call::StartExecution {
                graph: graph.to_string(),
                name: executions.execution_name,
                input,
            })
        }
        Some("stop") => Ok(Call::StopExecution {
            graph: graph.to_string(),
            execution: executions
                .execution_urn
                .ok_or_else(|| invalid("executions.execution_urn is required"))?,
        }),
        other => Err(V1Error::Code(
            400,
            "FGS.2006",
            format!("action_type {other:?} is not start, test_start or stop"),
        )),
    }
}

/// Runs a decoded request for `caller`, whose key may make it.
pub async fn run(graphs: Graphs<'_>, call: Call) -> Result<Reply, HuaweiError> {
    let reply = match call {
        Call::CreateGraph {
            name,
            definition,
            description,
        } => graphs.create(name, definition, description).await,
        Call::ListGraphs { page, name, urn } => {
            graphs.list(page, name.as_deref(), urn.as_deref()).await
        }
        Call::ShowGraph { graph } => graphs.show(&graph).await,
        Call::ExecutionGraph { execution } => graphs.execution_graph(&execution).await,
        Call::UpdateGraph { graph, definition } => graphs.update(&graph, definition).await,
        Call::DeleteGraph { graph } => graphs.delete(&graph).await,
        Call::StartExecution { graph, name, input } => graphs.start(&graph, name, input).await,
        Call::StopExecution { graph, execution } => graphs.stop(&graph, &execution).await,
        Call::ListExecutions {
            graph,
            page,
            name,
            urn,
        } => graphs.executions(&graph, page, name, urn.as_deref()).await,
        Call::ShowExecution { execution } => graphs.show_execution(&execution).await,
        Call::History { execution, page } => graphs.history(&execution, page).await,
        Call::Event {
            graph,
            execution,
            payload,
        } => graphs.event(&graph, &execution, payload).await,
    };
    reply.map_err(error)
}

/// Why a v1.0 call failed beyond what the service says.
#[derive(Debug, thiserror::Error)]
pub(super) enum V1Error {
    /// A code of the v1.0 table with its status and message.
    #[error("{2}")]
    Code(u16, &'static str, String),
    #[error(transparent)]
    Service(#[from] ServiceError),
}

type V1Result<T> = Result<T, V1Error>;

/// The handlers of v1.0 calls; their scope is the path's project.
pub type Graphs<'a> = Handlers<'a, Call>;

impl Graphs<'_> {
    async fn create(
        &self,
        name: String,
        definition: String,
        description: String,
    ) -> V1Result<Reply> {
        let spec = FlowSpec {
            name,
            definition,
            dialect: Dialect::FunctionGraphV1,
            description,
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

    async fn list(&self, page: Page, name: Option<&str>, urn: Option<&str>) -> V1Result<Reply> {
        let selected = match urn {
            // A URN names one graph, whose name must hold what `name` asks for too.
            Some(urn) => match self.graph_of_urn(urn) {
                Some(graph) if name.is_none_or(|n| graph.contains(n)) => {
                    Some(NameMatch::Exact(graph.to_string()))
                }
                _ => return Ok(Reply::ok(json!({"count": 0, "graphs": []}))),
            },
            None => name.map(|n| NameMatch::Contains(n.to_string())),
        };
        let query = FlowQuery {
            name: selected,
            ..FlowQuery::all(&self.caller.tenant)
        };
        let flows = self.flow_page(&query, page).await?;
        let listed = rendered(
            &flows,
            |f| json!({"name": f.name.as_str(), "created_at": time(f.created_at), "graph_urn": self.graph_urn(f)}),
        );
        Ok(Reply::ok(json!({"count": flows.total, "graphs": listed})))
    }

    async fn show(&self, urn: &str) -> V1Result<Reply> {
        let flow = self.graph(urn).await?;
        Ok(Reply::ok(json!({
            "name": flow.name.as_str(),
            "created_at": time(flow.created_at),
            "definition": definition(&flow.definition),
            "graph_urn": self.graph_urn(&flow),
        })))
    }

    async fn update(&self, urn: &str, definition: String) -> V1Result<Reply> {
        let flow = self.graph(urn).await?;
        let changes = FlowChanges {
            definition: Some(definition),
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
        let flow = self.graph(urn).await?;
        self.service
            .delete_flow(self.caller, flow.name.as_str())
            .await?;
        Ok(Reply::empty(204))
    }

    async fn start(
        &self,
        urn: &str,
        name: Option<String>,
        input: Option<String>,
    ) -> V1Result<Reply> {
        let flow = self.graph(urn).await?;
        let start = start_of(flow.name.as_str(), name, input);
        let (_, execution) = self.service.start_execution(self.caller, start).await?;
        Ok(Reply::ok(json!({
            "execution_urn": self.execution_urn(&flow, &execution.summary()),
            "started_at": time(execution.started_at.unwrap_or(execution.created_at)),
        })))
    }

    async fn stop(&self, urn: &str, execution_urn: &str) -> V1Result<Reply> {
        let flow = self.graph(urn).await?;
        let name = execution_of(&flow, execution_urn)?;
        let why = ("Aborted", "stopped through the cloud_graphs API");
        let stopped = self.stop_execution(flow.name.as_str(), name, why).await?;
        Ok(Reply::ok(json!({
            "stopped_at": time(stopped.stopped_at.unwrap_or_default()),
        })))
    }

    async fn executions(
        &self,
        urn: &str,
        page: Page,
        name: Option<String>,
        wanted: Option<&str>,
    ) -> V1Result<Reply> {
        let flow = self.graph(urn).await?;
        let filter = ExecutionFilter {
            name_prefix: name,
            ..Default::default()
        };
        if let Some(wanted) = wanted {
            // A URN names one execution, which must hold what `name` asks for too.
            let found = match self.execution(wanted).await {
                Ok((of, e))
                    if of.id == flow.id && filter_admits(&filter, &e) && page.offset == 0 =>
                {
                    vec![self.execution_brief(&flow, &e.summary())]
                }
                _ => Vec::new(),
            };
            return Ok(Reply::ok(
                json!({"count": found.len(), "executions": found}),
            ));
        }
        let query = ExecutionQuery::of_flow(&self.caller.tenant, flow.id, &filter);
        let runs = self.execution_page(query, page).await?;
        let listed = rendered(&runs, |e| self.execution_brief(&flow, e));
        Ok(Reply::ok(
            json!({"count": runs.total, "executions": listed}),
        ))
    }

    async fn show_execution(&self, urn: &str) -> V1Result<Reply> {
        let (flow, execution) = self.execution(urn).await?;
        let history = self.service.full_history(self.caller, &execution).await?;
        let runs = step_runs(&history);
        let mut info = self.execution_brief(&flow, &execution.summary());
        let definition_text = self.service.execution_definition(&flow, &execution).await?;
        let definition = definition(&definition_text);
        info["execution_state"] = info["execution_status"].clone();
        info["start_state"] = json!(start_state(&definition));
        info["isTest"] = json!(false);
        info["input"] = json!(execution.input.as_ref().map(Value::to_string));
        if let Some(output) = execution.output.as_ref() {
            info["output"] = json!(output.to_string());
        }
        info["state_map"] = state_map(&definition, &execution, &runs);
        Ok(Reply::ok(json!({"execution_info": info})))
    }

    async fn history(&self, urn: &str, page: Page) -> V1Result<Reply> {
        let (_, execution) = self.execution(urn).await?;
        let history = self.service.full_history(self.caller, &execution).await?;
        let entries = history_entries(&execution, &step_runs(&history));
        let count = entries.len();
        let listed: Vec<Value> = entries
            .into_iter()
            .skip(page.offset)
            .take(page.limit)
            .collect();
        Ok(Reply::ok(json!({"count": count, "state_history": listed})))
    }

    /// The definition the execution runs.
    async fn execution_graph(&self, urn: &str) -> V1Result<Reply> {
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
    async fn event(&self, urn: &str, execution_urn: &str, payload: String) -> V1Result<Reply> {
        let flow = self.graph(urn).await?;
        let name = execution_of(&flow, execution_urn)?;
        let state = self
            .service
            .deliver_event(self.caller, flow.name.as_str(), name, payload)
            .await?;
        Ok(Reply::ok(
            json!({"response": format!("the event reached state {state}")}),
        ))
    }

    async fn graph(&self, urn: &str) -> V1Result<FlowView> {
        let parts: Vec<&str> = urn.split(':').collect();
        let ["urn", "fgs", _, project, "graph", name] = parts.as_slice() else {
            return Err(V1Error::Code(
                400,
                "FGS.0010",
                format!("{urn:?} is not a graph URN"),
            ));
        };
        if *project != self.scope {
            return Err(V1Error::Code(
                404,
                "FGS.1011",
                "the workflow does not exist".into(),
            ));
        }
        Ok(self.service.describe_flow(self.caller, name).await?)
    }

    async fn execution(&self, urn: &str) -> V1Result<(FlowView, ExecutionView)> {
        let (graph, name) = parse_execution_urn(urn)?;
        let (flow, execution) = self.describe_execution(graph, name).await?;
        if self.execution_urn(&flow, &execution.summary()) != urn {
            return Err(V1Error::Code(
                404,
                "FGS.2002",
                "the execution does not exist".into(),
            ));
        }
        Ok((flow, execution))
    }

    fn graph_urn(&self, flow: &FlowView) -> String {
        format!("urn:fgs:{REGION}:{}:graph:{}", self.scope, flow.name)
    }

    /// The graph name in a URN of this project's, if it is one.
    fn graph_of_urn<'u>(&self, urn: &'u str) -> Option<&'u str> {
        let prefix = format!("urn:fgs:{REGION}:{}:graph:", self.scope);
        urn.strip_prefix(&prefix).filter(|name| !name.is_empty())
    }

    fn execution_urn(&self, flow: &FlowView, execution: &ExecutionSummary) -> String {
        format!(
            "urn:fgs:{REGION}:{}:execution:{}:{}:{:032x}",
            self.scope, flow.name, execution.name, execution.id.0
        )
    }

    fn execution_brief(&self, flow: &FlowView, execution: &ExecutionSummary) -> Value {
        json!({
            "graph_urn": self.graph_urn(flow),
            "execution_urn": self.execution_urn(flow, execution),
            "execution_name": execution.name.as_str(),
            "started_at": time(execution.started_at.unwrap_or(execution.created_at)),
            "stopped_at": execution.stopped_at.map(time),
            "execution_status": STATUSES.word(execution.status),
        })
    }
}

/// Whether the listing filter of an execution listing selects `execution`.
fn filter_admits(filter: &ExecutionFilter, execution: &ExecutionView) -> bool {
    filter
        .name_prefix
        .as_deref()
        .is_none_or(|p| execution.name.as_str().starts_with(p))
}

/// The name of the execution an execution URN names, if it is one of `flow`'s.
fn execution_of<'u>(flow: &FlowView, execution_urn: &'u str) -> V1Result<&'u str> {
    match parse_execution_urn(execution_urn)? {
        (graph, name) if graph == flow.name.as_str() => Ok(name),
        _ => Err(V1Error::Code(
            404,
            "FGS.2002",
            "the execution does not exist".into(),
        )),
    }
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

/// The body as a `T`: `FGS.0009` if it is not JSON, `FGS.0005` if it is not a `T`.
fn json_body<T: DeserializeOwned>(request: &Routed<'_>) -> V1Result<T> {
    request.json().map_err(|e| {
        let code = if e.is_malformed() {
            "FGS.0009"
        } else {
            "FGS.0005"
        };
        V1Error::Code(400, code, e.to_string())
    })
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
fn state_map(definition: &Value, execution: &ExecutionView, runs: &[StepRun]) -> Value {
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

fn state_status(run: Option<&StepRun>, execution: &ExecutionView) -> &'static str {
    match run.map(|r| r.status) {
        None => "NOTRUNNING",
        Some(StepStatus::Succeeded) => "SUCCESS",
        Some(StepStatus::Failed) => "FAILED",
        Some(StepStatus::Running) if execution.status.is_terminal() => {
            STATUSES.word(execution.status)
        }
        Some(StepStatus::Running) => "RUNNING",
    }
}

/// `Execution Start`, a `State Start` / `State End` per step run, `Execution End`.
fn history_entries(execution: &ExecutionView, runs: &[StepRun]) -> Vec<Value> {
    let started = execution.started_at.unwrap_or(execution.created_at);
    let mut entries = vec![json!({
        "type": "Execution Start",
        "execution_name": execution.name.as_str(),
        "input": execution.input.as_ref().map(Value::to_string),
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
    if let Some(stopped) = execution.stopped_at {
        entries.push(json!({
            "type": "Execution End",
            "execution_name": execution.name.as_str(),
            "output": execution.output.as_ref().map(Value::to_string),
            "status": STATUSES.word(execution.status),
            "stopped_at": time(stopped),
        }));
    }
    entries
}

/// Execution statuses of the v1.0 API: a stopped execution is `ABORTED`.
const STATUSES: StatusWords = StatusWords([
    "RUNNING", "RUNNING", "SUCCESS", "FAILED", "TIMEOUT", "ABORTED",
]);

/// `start` (1-based, default 1) and `limit` (1..=1000, default 10).
fn page(request: &Routed<'_>) -> V1Result<Page> {
    let start = request.number("start", 1, 1..=usize::MAX);
    let limit = request.number("limit", DEFAULT_LIMIT, 1..=MAX_LIMIT);
    start
        .and_then(|start| {
            limit.map(|limit| Page {
                offset: start - 1,
                limit,
            })
        })
        .map_err(|e| invalid(&e))
}

/// The one mapping to the v1.0 `FGS.*` codes.
pub(super) fn error(e: V1Error) -> HuaweiError {
    let (status, code) = match &e {
        V1Error::Code(status, code, _) => (*status, *code),
        V1Error::Service(e) => match e {
            ServiceError::InvalidDefinition(_) => (400, "FGS.1001"),
            ServiceError::FlowExists(_) => (409, "FGS.1005"),
            ServiceError::FlowNotFound(_) => (404, "FGS.1011"),
            ServiceError::ExecutionNotFound { .. } => (404, "FGS.2002"),
            ServiceError::ExecutionCompleted { .. } => (400, "FGS.2022"),
            ServiceError::ExecutionExists { .. } => (409, "FGS.4106"),
            ServiceError::NotWaiting(_)
            | ServiceError::TaskCompleted(_)
            | ServiceError::TaskNotFound(_) => (400, "FGS.2024"),
            ServiceError::AccessDenied { .. } => (403, "FSS.0403"),
            ServiceError::Throttled => (429, "FSS.0429"),
            ServiceError::Internal(_) => (500, "FSS.0500"),
            _ => (400, "FGS.0005"),
        },
    };
    HuaweiError::new(SHAPE, status, code, e.to_string())
}
