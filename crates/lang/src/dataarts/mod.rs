//! DataArts Factory jobs (DGC/DLF `JobInfo`, spec §2.2) to the IR.
//!
//! A job's `nodes` form a DAG through `preNodeName`. It runs in dependency layers: layer 1
//! holds the nodes without predecessors, layer k+1 the nodes whose predecessors are all in
//! layers 1..=k. Each layer is a Parallel state (`layer-1`, `layer-2`, …) with one branch per
//! node, so every edge is respected; a node may wait for a slower node of the previous layer
//! that it does not depend on (a known simplification of the vendor's scheduling).
//!
//! Node types: `Dummy` is a Pass state; `RESTAPI` is the built-in HTTP action with the
//! request its properties describe (`url`, `method` (default POST), `headers` (a JSON object),
//! `body`); `Shell` the built-in shell action with its `script` property; any other
//! type `T` calls the action `DLF:T` with the node's properties (the server maps it to an
//! endpoint or refuses the job). `failPolicy`: `FAIL` (default) and `SUSPEND` fail the job
//! (and stop the nodes still running); `IGNORE` lets the successors run. `retryTimes` /
//! `retryInterval` (seconds) retry a failed node; `maxExecutionTime` (minutes) bounds it.

use std::collections::HashMap;

use serde_json::{Map, Value, json};
use sluice_ir::{
    Aggregate, Body, Catcher, DataModel, ErrorCode, Flow, Language, Next, Parallel, Recovery,
    Retrier, ScopeId, StateId, StateKind, Task, TaskMode, TaskTarget, Template, actions,
};

use crate::cloudflow::{Arena, Fields, Problems, StateBody};
use crate::doc::{Loc, Node, parse_document};
use crate::error::{DefinitionError, Problem};

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
    let layers = layers(&nodes)?;
    Ok(build(&nodes, &layers, name))
}

/// One node as written.
struct JobNode {
    name: String,
    loc: Loc,
    predecessors: Vec<(String, Loc)>,
    kind: StateKind,
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
        Ok(JobNode {
            name,
            loc: name_node.loc,
            predecessors,
            kind,
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
    let recovery = recovery(fields)?;
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
        target: TaskTarget::Action(action),
        mode: TaskMode::RequestComplete,
        body: Body::Template(Template::Literal(body)),
        timeout_secs,
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

fn recovery(fields: &Fields<'_>) -> Result<Recovery, Problem> {
    let mut recovery = Recovery::default();
    let times = fields.optional_int("retryTimes", 0, 100)?.unwrap_or(0);
    if times > 0 {
        let interval = fields
            .optional_int("retryInterval", 0, 86_400)?
            .unwrap_or(DEFAULT_RETRY_INTERVAL_SECS);
        recovery.retry.push(Retrier {
            errors: vec![ErrorCode::ALL.to_string()],
            max_attempts: u32::try_from(times).unwrap_or(0),
            interval_secs: interval.unsigned_abs(),
            backoff_rate: 1.0,
            max_backoff_secs: None,
        });
    }
    match fields.optional_str("failPolicy")?.unwrap_or("FAIL") {
        "FAIL" | "SUSPEND" => {}
        // The catch target is filled in when the node's scope is built.
        "IGNORE" => recovery.catch.push(Catcher {
            errors: vec![ErrorCode::ALL.to_string()],
            next: StateId(u32::MAX),
            output: None,
        }),
        other => {
            return Err(Problem::at(
                fields.loc(),
                format!("unknown failPolicy {other:?}; allowed: FAIL, IGNORE, SUSPEND"),
            ));
        }
    }
    Ok(recovery)
}

/// Node indices by layer (Kahn's algorithm, document order within a layer). Unknown
/// predecessors, duplicates and cycles are located problems.
fn layers(nodes: &[JobNode]) -> Result<Vec<Vec<usize>>, DefinitionError> {
    let mut problems = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for (i, node) in nodes.iter().enumerate() {
        if index.insert(&node.name, i).is_some() {
            problems.push(Problem::at(
                node.loc,
                format!("duplicate node name {:?}", node.name),
            ));
        }
    }
    for node in nodes {
        for (pred, loc) in &node.predecessors {
            if !index.contains_key(pred.as_str()) {
                problems.push(
                    Problem::at(*loc, format!("unknown preNodeName {pred:?}")).in_state(&node.name),
                );
            }
        }
    }
    if !problems.is_empty() {
        return Err(DefinitionError { problems });
    }
    let mut layer_of: Vec<Option<usize>> = vec![None; nodes.len()];
    let mut layers: Vec<Vec<usize>> = Vec::new();
    loop {
        let ready: Vec<usize> = (0..nodes.len())
            .filter(|i| layer_of[*i].is_none())
            .filter(|i| {
                nodes[*i]
                    .predecessors
                    .iter()
                    .all(|(p, _)| layer_of[index[p.as_str()]].is_some())
            })
            .collect();
        if ready.is_empty() {
            break;
        }
        for i in &ready {
            layer_of[*i] = Some(layers.len());
        }
        layers.push(ready);
    }
    let cyclic: Vec<Problem> = nodes
        .iter()
        .zip(&layer_of)
        .filter(|(_, layer)| layer.is_none())
        .map(|(n, _)| {
            Problem::at(n.loc, "the node is on a cycle of preNodeName edges").in_state(&n.name)
        })
        .collect();
    if cyclic.is_empty() {
        Ok(layers)
    } else {
        Err(DefinitionError { problems: cyclic })
    }
}

fn build(nodes: &[JobNode], layers: &[Vec<usize>], name: Option<String>) -> Flow {
    let mut arena = Arena::default();
    let root = arena.new_scope(DataModel::Pipe);
    let ids: Vec<StateId> = (1..=layers.len())
        .map(|k| arena.reserve_state(root, &format!("layer-{k}"), Loc::default()))
        .collect();
    for (k, layer) in layers.iter().enumerate() {
        let branches = layer
            .iter()
            .map(|i| node_scope(&mut arena, &nodes[*i]))
            .collect();
        let next = ids.get(k + 1).map_or(Next::End, |id| Next::State(*id));
        let kind = StateKind::Parallel(Parallel {
            branches,
            result: Aggregate::Array,
            recovery: Recovery::default(),
        });
        arena.fill_state(
            ids[k],
            StateBody {
                kind,
                input: None,
                output: None,
                next,
            },
        );
    }
    if let Some(first) = ids.first() {
        arena.set_start(root, *first);
    }
    arena.into_flow(Language::DataArts, name)
}

/// A branch holding one node: its state, and for `IGNORE` a Succeed state its failure goes to.
fn node_scope(arena: &mut Arena, node: &JobNode) -> ScopeId {
    let scope = arena.new_scope(DataModel::Pipe);
    let id = arena.reserve_state(scope, &node.name, node.loc);
    let mut kind = node.kind.clone();
    if let StateKind::Task(task) = &mut kind
        && !task.recovery.catch.is_empty()
    {
        let ignored = arena.reserve_state(scope, &format!("{}#ignored", node.name), node.loc);
        arena.fill_state(
            ignored,
            StateBody {
                kind: StateKind::Succeed,
                input: None,
                output: None,
                next: Next::End,
            },
        );
        for catcher in &mut task.recovery.catch {
            catcher.next = ignored;
        }
    }
    arena.fill_state(
        id,
        StateBody {
            kind,
            input: None,
            output: None,
            next: Next::End,
        },
    );
    arena.set_start(scope, id);
    scope
}
