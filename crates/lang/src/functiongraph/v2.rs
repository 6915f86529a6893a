//! FunctionGraph workflows v2: the `WorkflowCreateBody` JSON (spec §1.3) to the IR.
//!
//! - `Operation` with one action, or `sequential` actions: a chain of Task states (the first
//!   named by the state's `id`, the next ones `id#2`, `id#3`, …), each calling its function
//!   with `arguments` evaluated against the previous one's output (the state's input for the
//!   first); `parallel` actions: a Parallel state with one branch per action.
//! - `Sleep`: a Wait of `duration` seconds. `End`: a Succeed state.
//! - `on_errors`: `retry_ref` names an entry of `retries` (a Retrier for that error pattern),
//!   `transition` a state to go to when retries are exhausted (a Catcher).
//! - `state_data_filter`: JsonPath `input` / `output` filters become the state's input and
//!   output templates.
//! - `arguments` values: a JsonPath into the input (`$.a.b`), a `$CONST.…` path (resolved
//!   here: constants do not change), a `'quoted string'`, or any other JSON value as is.

use serde_json::Value;
use sluice_ir::{
    Aggregate, Body, Catcher, DataModel, ErrorCode, Flow, FunctionRef, Language, Next, Parallel,
    Recovery, Retrier, ScopeId, StateId, StateKind, Task, TaskMode, TaskTarget, Template, Wait,
};

use crate::doc::{Node, NodeKind, parse_document};
use crate::error::{DefinitionError, Problem};
use crate::expr::{ExprSyntaxError, parse_cloudflow};
use crate::frontend::{
    Arena, DEFAULT_BACKOFF_RATE, ExprParser, Fields, Problems, RetrySyntax, ScopeNames, StateBody,
    build_retrier, expr_at,
};

/// Documented bounds: 1 to 100 states; a Sleep of at most a year.
const MAX_STATES: usize = 100;
const MAX_SLEEP_SECS: i64 = 365 * 24 * 60 * 60;

const WORKFLOW_FIELDS: &[&str] = &[
    "name",
    "description",
    "start",
    "triggers",
    "functions",
    "states",
    "constants",
    "retries",
    "mode",
    "express_config",
    "enterprise_project_id",
    "enable_stream_response",
];
const STATE_FIELDS: &[&str] = &[
    "id",
    "name",
    "type",
    "action_mode",
    "actions",
    "on_errors",
    "end",
    "transition",
    "state_data_filter",
    "duration",
];
const RETRY_SYNTAX: RetrySyntax = RetrySyntax {
    errors: None,
    max_attempts: "max_attempts",
    interval: "delay",
    backoff_rate: "backoff_rate",
    max_backoff: None,
    ignored: &["name"],
    owner: "a retries entry",
    default_backoff_rate: DEFAULT_BACKOFF_RATE,
    jitter: None,
};

/// Compiles a v2 workflow definition.
pub fn parse_v2(text: &str) -> Result<Flow, DefinitionError> {
    let root = parse_document(text)?;
    let workflow = Fields::of(&root, "a workflow definition")?;
    let mut problems = Problems::default();
    problems.keep(workflow.allow_only(WORKFLOW_FIELDS, "a workflow definition"));
    let name = problems.keep(
        workflow
            .require("name", "a workflow definition")
            .and_then(Node::as_str),
    );
    let context = Context {
        functions: problems
            .keep(functions(workflow.get("functions")))
            .unwrap_or_default(),
        constants: workflow
            .get("constants")
            .map(Node::to_json)
            .unwrap_or(Value::Null),
        retries: problems
            .keep(retries(workflow.get("retries")))
            .unwrap_or_default(),
    };
    let mut arena = Arena::default();
    let scope = arena.new_scope(DataModel::Pipe);
    let states = problems
        .keep(
            workflow
                .require("states", "a workflow definition")
                .and_then(Node::as_seq),
        )
        .unwrap_or_default();
    if states.is_empty() || states.len() > MAX_STATES {
        problems.push(Problem::at(
            workflow.loc(),
            format!(
                "a workflow has 1 to {MAX_STATES} states, found {}",
                states.len()
            ),
        ));
    }
    let reserved = reserve_states(&mut arena, scope, states, &mut problems);
    if let Some(start) = problems.keep(workflow.require("start", "a workflow definition"))
        && let Some(id) = problems.keep(reserved.names.resolve(start, "start"))
    {
        arena.set_start(scope, id);
    }
    for (node, ids) in states.iter().zip(&reserved.ids) {
        if let Some(ids) = ids {
            let mut state = StateCompiler {
                arena: &mut arena,
                names: &reserved.names,
                context: &context,
            };
            if let Err(problem) = state.compile(node, ids) {
                problems.push(problem);
            }
        }
    }
    if problems.count() == 0 {
        for (name, loc) in arena.unreachable_states(scope) {
            problems.push(Problem::at(
                loc,
                format!("state {name:?} cannot be reached from start"),
            ));
        }
    }
    let flow = arena.into_flow(Language::FunctionGraphV2, name.map(str::to_string));
    problems.into_result(flow)
}

/// What every state may refer to.
struct Context {
    functions: Vec<Function>,
    constants: Value,
    retries: Vec<(String, Retrier)>,
}

/// A `functions[]` entry: the name states call it by, and the function its URN names.
struct Function {
    name: String,
    urn: String,
    target: FunctionRef,
}

/// `functions[]`: a name and the function's URN
/// (`urn:fss:<region>:<project>:function:<package>:<name>:<version>`).
fn functions(node: Option<&Node>) -> Result<Vec<Function>, Problem> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    node.as_seq()?
        .iter()
        .map(|f| {
            let fields = Fields::of(f, "a functions entry")?;
            fields.allow_only(&["name", "operation", "metadata"], "a functions entry")?;
            let name = fields.require("name", "a functions entry")?.as_str()?;
            let urn_node = fields.require("operation", "a functions entry")?;
            let urn = urn_node.as_str()?;
            let target = super::function_of(urn).ok_or_else(|| {
                Problem::at(
                    urn_node.text_loc(),
                    format!(
                        "{urn:?} is not a function URN \
                         (urn:fss:<region>:<project>:function:<package>:<name>:<version>)"
                    ),
                )
            })?;
            Ok(Function {
                name: name.to_string(),
                urn: urn.to_string(),
                target,
            })
        })
        .collect()
}

/// `retries[]`: named retry rules (`delay` seconds, `max_attempts`).
fn retries(node: Option<&Node>) -> Result<Vec<(String, Retrier)>, Problem> {
    let Some(node) = node else {
        return Ok(Vec::new());
    };
    node.as_seq()?
        .iter()
        .map(|r| {
            let fields = Fields::of(r, "a retries entry")?;
            let name = fields.require("name", "a retries entry")?.as_str()?;
            let retrier = build_retrier(r, &RETRY_SYNTAX, &[])?;
            Ok((name.to_string(), retrier))
        })
        .collect()
}

struct Reserved {
    names: ScopeNames,
    /// Per state node: the ids of its IR states (more than one for sequential actions), or
    /// `None` when the node was too broken to reserve.
    ids: Vec<Option<Vec<StateId>>>,
}

fn reserve_states(
    arena: &mut Arena,
    scope: ScopeId,
    states: &[Node],
    problems: &mut Problems,
) -> Reserved {
    let mut names = ScopeNames::default();
    let mut ids = Vec::new();
    for node in states {
        let id = problems.keep(
            Fields::of(node, "a state")
                .and_then(|f| f.require("id", "a state"))
                .and_then(|n| n.as_str().map(|s| (s.to_string(), n.loc))),
        );
        let Some((id, loc)) = id else {
            ids.push(None);
            continue;
        };
        let extra = sequential_extra_actions(node);
        let first = arena.reserve_state(scope, &id, loc);
        problems.keep(names.insert(&id, first, loc));
        let mut reserved = vec![first];
        for n in 0..extra {
            reserved.push(arena.reserve_state(scope, &format!("{id}#{}", n + 2), loc));
        }
        ids.push(Some(reserved));
    }
    Reserved { names, ids }
}

/// How many IR states beyond the first a state node needs: one per further action of a
/// sequential Operation.
fn sequential_extra_actions(node: &Node) -> usize {
    let sequential = node
        .get("action_mode")
        .and_then(|m| m.as_str().ok())
        .is_none_or(|m| m != "parallel");
    let operation = node.get("type").and_then(|t| t.as_str().ok()) == Some("Operation");
    let actions = node
        .get("actions")
        .and_then(|a| a.as_seq().ok())
        .map_or(0, <[Node]>::len);
    if sequential && operation {
        actions.saturating_sub(1)
    } else {
        0
    }
}

struct StateCompiler<'a> {
    arena: &'a mut Arena,
    names: &'a ScopeNames,
    context: &'a Context,
}

impl StateCompiler<'_> {
    fn compile(&mut self, node: &Node, ids: &[StateId]) -> Result<(), Problem> {
        let fields = Fields::of(node, "a state")?;
        fields.allow_only(STATE_FIELDS, "a state")?;
        let id = fields.require("id", "a state")?.as_str()?;
        let in_state = |p: Problem| p.in_state(id);
        let ty = fields.require("type", "a state").map_err(in_state)?;
        let next = self.next(&fields).map_err(in_state)?;
        let (input, output) = data_filter(fields.get("state_data_filter")).map_err(in_state)?;
        let recovery = self.recovery(fields.get("on_errors")).map_err(in_state)?;
        match ty.as_str()? {
            "Operation" => self.operation(&fields, id, ids, next, (input, output), recovery),
            "Sleep" => {
                let seconds = fields
                    .require("duration", "a Sleep state")?
                    .as_int_in(0, MAX_SLEEP_SECS)?;
                self.fill(
                    ids[0],
                    StateKind::Wait(Wait::Seconds(seconds.unsigned_abs())),
                    (input, output),
                    next,
                );
                Ok(())
            }
            "End" => {
                self.fill(ids[0], StateKind::Succeed, (input, output), Next::End);
                Ok(())
            }
            other => Err(Problem::at(
                ty.text_loc(),
                format!("unknown state type {other:?}; allowed types: Operation, Sleep, End"),
            )),
        }
        .map_err(in_state)
    }

    fn next(&self, fields: &Fields<'_>) -> Result<Next, Problem> {
        if fields.optional_bool("end")?.unwrap_or(false) {
            return Ok(Next::End);
        }
        match fields.get("transition") {
            Some(t) if !matches!(&t.kind, NodeKind::String(s) if s.is_empty()) => {
                Ok(Next::State(self.names.resolve(t, "transition")?))
            }
            _ => {
                let ty = fields.get("type").and_then(|t| t.as_str().ok());
                if ty == Some("End") {
                    Ok(Next::End)
                } else {
                    Err(Problem::at(
                        fields.loc(),
                        "a state needs `end: true` or a `transition` to another state",
                    ))
                }
            }
        }
    }

    fn recovery(&self, node: Option<&Node>) -> Result<Recovery, Problem> {
        let mut recovery = Recovery::default();
        let Some(node) = node else {
            return Ok(recovery);
        };
        for entry in node.as_seq()? {
            let fields = Fields::of(entry, "an on_errors entry")?;
            fields.allow_only(&["error", "transition", "retry_ref"], "an on_errors entry")?;
            let error = match fields.optional_str("error")? {
                None | Some("*") => ErrorCode::ALL.to_string(),
                Some(pattern) => pattern.to_string(),
            };
            if let Some(reference) = fields.get("retry_ref") {
                let name = reference.as_str()?;
                let (_, rule) = self
                    .context
                    .retries
                    .iter()
                    .find(|(n, _)| n == name)
                    .ok_or_else(|| {
                        Problem::at(
                            reference.text_loc(),
                            format!("no retries entry is named {name:?}"),
                        )
                    })?;
                recovery.retry.push(Retrier {
                    errors: vec![error.clone()],
                    ..rule.clone()
                });
            }
            if let Some(target) = fields
                .get("transition")
                .filter(|t| t.as_str().is_ok_and(|s| !s.is_empty()))
            {
                recovery.catch.push(Catcher {
                    errors: vec![error],
                    next: self.names.resolve(target, "on_errors transition")?,
                    output: None,
                    asl: None,
                });
            }
        }
        Ok(recovery)
    }

    fn operation(
        &mut self,
        fields: &Fields<'_>,
        name: &str,
        ids: &[StateId],
        next: Next,
        filters: (Option<Template>, Option<Template>),
        recovery: Recovery,
    ) -> Result<(), Problem> {
        let actions = fields.require("actions", "an Operation state")?.as_seq()?;
        if actions.is_empty() {
            return Err(Problem::at(
                fields.loc(),
                "an Operation state needs at least one action",
            ));
        }
        let tasks = actions
            .iter()
            .map(|a| self.action(a, recovery.clone()))
            .collect::<Result<Vec<_>, _>>()?;
        let parallel = fields.optional_str("action_mode")? == Some("parallel");
        if parallel && tasks.len() > 1 {
            let branches = tasks
                .into_iter()
                .enumerate()
                .map(|(i, task)| self.branch(name, i, task))
                .collect();
            let kind = StateKind::Parallel(Parallel {
                branches,
                result: Aggregate::Array,
                recovery,
            });
            self.fill(ids[0], kind, filters, next);
            return Ok(());
        }
        let (input, output) = filters;
        let last = tasks.len() - 1;
        for (i, (task, id)) in tasks.into_iter().zip(ids).enumerate() {
            let step_next = ids.get(i + 1).map_or(next, |n| Next::State(*n));
            let input = if i == 0 { input.clone() } else { None };
            let output = if i == last { output.clone() } else { None };
            self.fill(*id, StateKind::Task(task), (input, output), step_next);
        }
        Ok(())
    }

    /// One parallel action as a branch scope holding one Task state.
    fn branch(&mut self, state: &str, index: usize, task: Task) -> ScopeId {
        let branch = self.arena.new_scope(DataModel::Pipe);
        let name = format!("{state}#{}", index + 1);
        let id = self.arena.reserve_state(branch, &name, Default::default());
        self.arena.fill_state(
            id,
            StateBody {
                kind: StateKind::Task(task),
                input: None,
                output: None,
                next: Next::End,
            },
        );
        self.arena.set_start(branch, id);
        branch
    }

    fn action(&self, node: &Node, recovery: Recovery) -> Result<Task, Problem> {
        let fields = Fields::of(node, "an action")?;
        fields.allow_only(&["function_ref"], "an action")?;
        let reference = Fields::of(
            fields.require("function_ref", "an action")?,
            "a function_ref",
        )?;
        reference.allow_only(&["ref_name", "invoke_mode", "arguments"], "a function_ref")?;
        let ref_node = reference.require("ref_name", "a function_ref")?;
        let ref_name = ref_node.as_str()?;
        let function = self
            .context
            .functions
            .iter()
            .find(|f| f.name == ref_name)
            .ok_or_else(|| {
                Problem::at(
                    ref_node.text_loc(),
                    format!("no functions entry is named {ref_name:?}"),
                )
            })?;
        if let Some(mode) = reference.optional_str("invoke_mode")?
            && mode != "synchronize"
        {
            return Err(Problem::at(
                reference.loc(),
                format!("invoke_mode {mode:?} is not supported; use \"synchronize\""),
            ));
        }
        let body = match reference.get("arguments") {
            None => Body::StateInput,
            Some(arguments) => Body::Template(self.argument(arguments)?),
        };
        Ok(Task {
            target: TaskTarget::Function(function.target.clone()),
            resource: function.urn.clone(),
            mode: TaskMode::RequestComplete,
            body,
            timeout_secs: None,
            heartbeat_secs: None,
            recovery,
        })
    }

    fn argument(&self, node: &Node) -> Result<Template, Problem> {
        match &node.kind {
            NodeKind::Map(entries) => entries
                .iter()
                .map(|(k, v)| Ok((k.text.clone(), self.argument(v)?)))
                .collect::<Result<_, _>>()
                .map(Template::Object),
            NodeKind::Seq(items) => items
                .iter()
                .map(|v| self.argument(v))
                .collect::<Result<_, _>>()
                .map(Template::Array),
            NodeKind::String(s) if s.starts_with("$CONST") => self.constant(node, s),
            NodeKind::String(s) if is_json_path(s) => {
                Ok(Template::Expr(expr_at(node, input_path)?))
            }
            NodeKind::String(s) if s.len() >= 2 && s.starts_with('\'') && s.ends_with('\'') => Ok(
                Template::Literal(Value::String(s[1..s.len() - 1].to_string())),
            ),
            _ => Ok(Template::Literal(node.to_json())),
        }
    }

    /// `$CONST.a.b`, looked up now.
    fn constant(&self, node: &Node, path: &str) -> Result<Template, Problem> {
        let keys = path.trim_start_matches("$CONST").trim_start_matches('.');
        let mut value = &self.context.constants;
        for key in keys.split('.').filter(|k| !k.is_empty()) {
            value = value.get(key).ok_or_else(|| {
                Problem::at(
                    node.text_loc(),
                    format!("{path}: the constants have no {key:?}"),
                )
            })?;
        }
        Ok(Template::Literal(value.clone()))
    }

    fn fill(
        &mut self,
        id: StateId,
        kind: StateKind,
        filters: (Option<Template>, Option<Template>),
        next: Next,
    ) {
        let (input, output) = filters;
        self.arena.fill_state(
            id,
            StateBody {
                kind,
                input,
                output,
                next,
            },
        );
    }
}

/// `state_data_filter`: `input` selects the state's input, `output` its output.
fn data_filter(node: Option<&Node>) -> Result<(Option<Template>, Option<Template>), Problem> {
    let Some(node) = node else {
        return Ok((None, None));
    };
    let fields = Fields::of(node, "a state_data_filter")?;
    fields.allow_only(&["input", "output"], "a state_data_filter")?;
    let filter = |key: &str, parser: ExprParser| {
        fields
            .get(key)
            .filter(|n| n.as_str().is_ok_and(|s| s != "$" && !s.is_empty()))
            .map(|n| expr_at(n, parser).map(Template::Expr))
            .transpose()
    };
    Ok((filter("input", input_path)?, filter("output", output_path)?))
}

fn is_json_path(s: &str) -> bool {
    s == "$" || s.starts_with("$.") || s.starts_with("$[")
}

/// A JsonPath (`$.a.b`) over the state's input.
fn input_path(path: &str) -> Result<sluice_ir::Expr, ExprSyntaxError> {
    parse_cloudflow(&rooted(path, "$Input"))
}

/// A JsonPath (`$.a.b`) over the state's result.
fn output_path(path: &str) -> Result<sluice_ir::Expr, ExprSyntaxError> {
    parse_cloudflow(&rooted(path, "$Output"))
}

fn rooted(path: &str, root: &str) -> String {
    match path.strip_prefix('$') {
        Some(rest) if is_json_path(path) => format!("{root}{rest}"),
        _ => path.to_string(),
    }
}
