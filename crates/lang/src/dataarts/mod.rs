//! DataArts Factory jobs (DGC/DLF `JobInfo`, spec §2.2) to the IR.
//!
//! A job is one Dag state (named [`JOB_STATE`]) whose nodes are the job's `nodes`, with the
//! `preNodeName` edges: a node starts as soon as all its predecessors have finished, nodes
//! without predecessors at once. Each node is a scope holding one state named after the node,
//! so its history events (`StepEntered`, `StepExited`/`StepFailed`) carry the node's name.
//! Cycles, unknown predecessors and duplicate names are located problems.
//!
//! Node types: `Dummy` is a Pass state; `RESTAPI` is the built-in HTTP action with the
//! request its properties describe (`url`, `method` (default POST), `headers` (a JSON object),
//! `body`); `Shell` the built-in shell action with its `script` property; any other
//! type `T` calls the action `DLF:T` with the node's properties (the server maps it to an
//! endpoint or refuses the job). `failPolicy` (see [`NodeFailure`]): `FAIL` (the default)
//! fails the job at once and cancels the nodes still running; `IGNORE` counts the failed
//! node as finished so its successors run; `SUSPEND` starts no further node, lets the running
//! ones finish, then fails the job (DataArts pauses the instance for an operator to resume;
//! sluice has no paused instances, and a rerun plays that part). `retryTimes` /
//! `retryInterval` (seconds) retry a failed node through the task's Retry; `maxExecutionTime`
//! (minutes) is the task's timeout, each attempt's.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use sluice_ir::{
    Body, Dag, DagNode, DataModel, ErrorCode, Flow, Language, Next, NodeFailure, Recovery, Retrier,
    ScopeId, StateKind, Task, TaskMode, TaskTarget, Template, actions,
};

use crate::doc::{Loc, Node, parse_document};
use crate::error::{DefinitionError, Problem};
use crate::frontend::{Arena, Fields, Problems, StateBody};

/// The name of a job's one top-level state, the Dag of its nodes ('#' keeps it apart from
/// every node name).
pub const JOB_STATE: &str = "#job";

/// Prefix of the action of a node type the runtime does not perform itself: `DLF:{type}`.
pub const NODE_ACTION_PREFIX: &str = "DLF:";

const MAX_NODES: usize = 200;
/// `retryInterval` when a node retries and does not say (DataArts' default, seconds).
const DEFAULT_RETRY_INTERVAL_SECS: i64 = 120;
const MAX_EXECUTION_MINUTES: i64 = 7 * 24 * 60;

const JOB_FIELDS: &[&str] = &[
    "name",
    "nodes",
    "schedule",
    "params",
    "directory",
    "processType",
    "singleNodeJobFlag",
    "singleNodeJobType",
    "cleanOverdueDays",
    "cleanWaitingJob",
    "emptyRunningJob",
    "lastUpdateUser",
    "logPath",
    "basicConfig",
    "targetStatus",
    "approvers",
    "description",
];
const NODE_FIELDS: &[&str] = &[
    "name",
    "type",
    "location",
    "preNodeName",
    "conditions",
    "properties",
    "pollingInterval",
    "execTimeOutRetry",
    "maxExecutionTime",
    "retryTimes",
    "retryInterval",
    "failPolicy",
    "eventTrigger",
    "cronTrigger",
];

/// Compiles a `JobInfo` JSON document.
pub fn parse(text: &str) -> Result<Flow, DefinitionError> {
    let root = parse_document(text)?;
    let job = Fields::of(&root, "a job (JobInfo)")?;
    let mut problems = Problems::default();
    problems.keep(job.allow_only(JOB_FIELDS, "a job"));
    let name = problems.keep(job.require("name", "a job").and_then(Node::as_str));
    let node_list = problems
        .keep(job.require("nodes", "a job").and_then(Node::as_seq))
        .unwrap_or_default();
    if node_list.is_empty() || node_list.len() > MAX_NODES {
        problems.push(Problem::at(
            job.loc(),
            format!(
                "a job has 1 to {MAX_NODES} nodes, found {}",
                node_list.len()
            ),
        ));
    }
    let nodes: Vec<JobNode> = node_list
        .iter()
        .filter_map(|n| problems.keep(JobNode::read(n)))
        .collect();
    let name = name.map(str::to_string);
    problems.into_result(())?;
    let predecessors = predecessors(&nodes)?;
    Ok(build(&nodes, &predecessors, name))
}

/// One node as written.
struct JobNode {
    name: String,
    loc: Loc,
    predecessors: Vec<(String, Loc)>,
    kind: StateKind,
    on_failure: NodeFailure,
}

impl JobNode {
    fn read(node: &Node) -> Result<Self, Problem> {
        let fields = Fields::of(node, "a node")?;
        fields.allow_only(NODE_FIELDS, "a node")?;
        let name_node = fields.require("name", "a node")?;
        let name = name_node.as_str()?.to_string();
        if name.is_empty() || name.contains('#') {
            return Err(Problem::at(
                name_node.text_loc(),
                "a node name must be non-empty and must not contain '#'",
            ));
        }
        let in_node = |p: Problem| p.in_state(&name);
        let ty = fields
            .require("type", "a node")
            .and_then(Node::as_str)
            .map_err(in_node)?;
        let properties = properties(fields.get("properties")).map_err(in_node)?;
        let predecessors = match fields.get("preNodeName") {
            None => Vec::new(),
            Some(list) => list
                .as_seq()
                .map_err(in_node)?
                .iter()
                .map(|p| p.as_str().map(|s| (s.to_string(), p.text_loc())))
                .collect::<Result<_, _>>()
                .map_err(in_node)?,
        };
        let kind = node_kind(ty, &properties, &fields).map_err(in_node)?;
        let on_failure = fail_policy(&fields).map_err(in_node)?;
        Ok(JobNode {
            name,
            loc: name_node.loc,
            predecessors,
            kind,
            on_failure,
        })
    }
}

/// `properties: [{name, value}]` as a map (values kept as strings, as DataArts sends them).
fn properties(node: Option<&Node>) -> Result<Map<String, Value>, Problem> {
    let mut map = Map::new();
    let Some(node) = node else { return Ok(map) };
    for entry in node.as_seq()? {
        let fields = Fields::of(entry, "a property")?;
        let name = fields.require("name", "a property")?.as_str()?;
        let value = fields
            .get("value")
            .map(Node::to_json)
            .unwrap_or(Value::Null);
        map.insert(name.to_string(), value);
    }
    Ok(map)
}

fn node_kind(
    ty: &str,
    properties: &Map<String, Value>,
    fields: &Fields<'_>,
) -> Result<StateKind, Problem> {
    // Checked for every type, a Dummy's too: a typo is a mistake wherever it is.
    let recovery = retries(fields)?;
    let timeout_secs = fields
        .optional_int("maxExecutionTime", 1, MAX_EXECUTION_MINUTES)?
        .map(|minutes| minutes.unsigned_abs() * 60);
    let (action, body) = match ty {
        "Dummy" => return Ok(StateKind::Pass),
        "RESTAPI" | "RestClient" => (actions::HTTP.to_string(), rest_request(properties, fields)?),
        "Shell" => {
            let script = ["script", "scriptContent"]
                .iter()
                .find_map(|k| properties.get(*k).and_then(Value::as_str))
                .ok_or_else(|| {
                    Problem::at(
                        fields.loc(),
                        "a Shell node needs its script text in the property \"script\"",
                    )
                })?;
            (actions::SHELL.to_string(), json!({ "script": script }))
        }
        other => (
            format!("{NODE_ACTION_PREFIX}{other}"),
            json!({ "type": other, "properties": properties }),
        ),
    };
    Ok(StateKind::Task(Task {
        resource: action.clone(),
        target: TaskTarget::Action(action),
        mode: TaskMode::RequestComplete,
        body: Body::Template(Template::Literal(body)),
        timeout_secs,
        heartbeat_secs: None,
        recovery,
    }))
}

/// The request of a RESTAPI node: `url` (required), `method` (default POST), `headers` (a JSON
/// object, as an object or its text), `body` (any text).
fn rest_request(properties: &Map<String, Value>, fields: &Fields<'_>) -> Result<Value, Problem> {
    let url = properties
        .get("url")
        .and_then(Value::as_str)
        .filter(|u| u.starts_with("http://") || u.starts_with("https://"))
        .ok_or_else(|| {
            Problem::at(
                fields.loc(),
                "a RESTAPI node needs an http(s) URL in the property \"url\"",
            )
        })?;
    let method = properties
        .get("method")
        .and_then(Value::as_str)
        .unwrap_or("POST")
        .to_ascii_uppercase();
    if !["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"].contains(&method.as_str()) {
        return Err(Problem::at(
            fields.loc(),
            format!("unknown HTTP method {method:?}"),
        ));
    }
    let headers = match properties.get("headers") {
        None | Some(Value::Null) => json!({}),
        Some(Value::String(text)) => serde_json::from_str::<Value>(text)
            .ok()
            .filter(Value::is_object)
            .ok_or_else(|| {
                Problem::at(
                    fields.loc(),
                    "the property \"headers\" must be a JSON object",
                )
            })?,
        Some(object @ Value::Object(_)) => object.clone(),
        Some(_) => {
            return Err(Problem::at(
                fields.loc(),
                "the property \"headers\" must be a JSON object",
            ));
        }
    };
    let body = match properties.get("body") {
        None | Some(Value::Null) => Value::Null,
        Some(Value::String(text)) => Value::String(text.clone()),
        Some(other) => Value::String(other.to_string()),
    };
    Ok(json!({ "url": url, "method": method, "headers": headers, "body": body }))
}

/// `retryTimes` retries after `retryInterval` seconds, whatever the error.
fn retries(fields: &Fields<'_>) -> Result<Recovery, Problem> {
    let mut recovery = Recovery::default();
    let times = fields.optional_int("retryTimes", 0, 100)?.unwrap_or(0);
    let interval = fields
        .optional_int("retryInterval", 0, 86_400)?
        .unwrap_or(DEFAULT_RETRY_INTERVAL_SECS);
    if times > 0 {
        recovery.retry.push(Retrier {
            errors: vec![ErrorCode::ALL.to_string()],
            max_attempts: u32::try_from(times).unwrap_or(0),
            interval_secs: interval.unsigned_abs(),
            backoff_rate: 1.0,
            max_backoff_secs: None,
            full_jitter: false,
        });
    }
    Ok(recovery)
}

fn fail_policy(fields: &Fields<'_>) -> Result<NodeFailure, Problem> {
    match fields.optional_str("failPolicy")?.unwrap_or("FAIL") {
        "FAIL" => Ok(NodeFailure::Fail),
        "IGNORE" => Ok(NodeFailure::Continue),
        "SUSPEND" => Ok(NodeFailure::Drain),
        other => Err(Problem::at(
            fields
                .get("failPolicy")
                .map_or(fields.loc(), Node::text_loc),
            format!("unknown failPolicy {other:?}; allowed: FAIL, IGNORE, SUSPEND"),
        )),
    }
}

/// Each node's predecessors as node indices. Duplicate names, unknown predecessors and
/// cycles are located problems.
fn predecessors(nodes: &[JobNode]) -> Result<Vec<Vec<u32>>, DefinitionError> {
    let mut problems = Vec::new();
    let mut index: HashMap<&str, u32> = HashMap::new();
    for (i, node) in (0u32..).zip(nodes) {
        if index.insert(&node.name, i).is_some() {
            problems.push(Problem::at(
                node.loc,
                format!("duplicate node name {:?}", node.name),
            ));
        }
    }
    let mut edges = Vec::with_capacity(nodes.len());
    for node in nodes {
        let mut after = Vec::new();
        for (pred, loc) in &node.predecessors {
            match index.get(pred.as_str()) {
                Some(p) if !after.contains(p) => after.push(*p),
                Some(_) => {}
                None => problems.push(
                    Problem::at(*loc, format!("unknown preNodeName {pred:?}")).in_state(&node.name),
                ),
            }
        }
        edges.push(after);
    }
    problems.extend(on_cycles(&edges).into_iter().map(|i| &nodes[i]).map(|n| {
        Problem::at(n.loc, "the node is on a cycle of preNodeName edges").in_state(&n.name)
    }));
    if problems.is_empty() {
        Ok(edges)
    } else {
        Err(DefinitionError { problems })
    }
}

/// The nodes that are their own (indirect) predecessors, in order. Only these: a node that
/// merely follows a cycle is not reported, the cycle is the mistake.
fn on_cycles(edges: &[Vec<u32>]) -> Vec<usize> {
    (0..edges.len())
        .filter(|start| {
            let mut seen = vec![false; edges.len()];
            let mut stack: Vec<u32> = edges[*start].clone();
            while let Some(p) = stack.pop() {
                let p = p as usize;
                if p == *start {
                    return true;
                }
                if !std::mem::replace(&mut seen[p], true) {
                    stack.extend(&edges[p]);
                }
            }
            false
        })
        .collect()
}

fn build(nodes: &[JobNode], predecessors: &[Vec<u32>], name: Option<String>) -> Flow {
    let mut arena = Arena::default();
    let root = arena.new_scope(DataModel::Pipe);
    let job = arena.reserve_state(root, JOB_STATE, Loc::default());
    let dag_nodes = nodes
        .iter()
        .zip(predecessors)
        .map(|(node, after)| DagNode {
            name: node.name.clone(),
            scope: node_scope(&mut arena, node),
            after: after.clone(),
            on_failure: node.on_failure,
        })
        .collect();
    let kind = StateKind::Dag(Dag {
        nodes: dag_nodes,
        recovery: Recovery::default(),
    });
    arena.fill_state(
        job,
        StateBody {
            kind,
            input: None,
            output: None,
            next: Next::End,
        },
    );
    arena.set_start(root, job);
    arena.into_flow(Language::DataArts, name)
}

/// The scope of one node: its one state, named after it.
fn node_scope(arena: &mut Arena, node: &JobNode) -> ScopeId {
    let scope = arena.new_scope(DataModel::Pipe);
    let id = arena.reserve_state(scope, &node.name, node.loc);
    arena.fill_state(
        id,
        StateBody {
            kind: node.kind.clone(),
            input: None,
            output: None,
            next: Next::End,
        },
    );
    arena.set_start(scope, id);
    scope
}
