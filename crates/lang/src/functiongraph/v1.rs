//! FunctionGraph workflows of the legacy v1.0 `cloud_graphs` API (spec §1.4): a JSON object
//! with `event-defs` and a `states` map of six state types.
//!
//! - `EVENT`: a callback task (the built-in event action submits it at once) that waits for its
//!   event, delivered through `event_test`; the event's payload then flows through the event's
//!   `actions` (as an `OPERATION` would run them) to its `next-state`.
//! - `OPERATION`: its `actions` in order (`SEQUENTIAL`), or as branches (`PARALLEL`), each a
//!   function call; the state is named after the state, its further actions `state#2`, ….
//! - `SWITCH`: `choices[{path, value, next-state}]` in order, then `default`.
//! - `DELAY` (`time-delay` seconds), `NOOP` (a Pass), `END` (a Succeed).
//!
//! Constraints checked: exactly one state has `start: true`, exactly one is `END`, action
//! `timeout` 0..=300 s, `max-retry` 0..=10, `invocation-mode` SYNC or ASYNC, `action-mode`
//! SEQUENTIAL or PARALLEL, `time-delay` 1..=86400 s.

use serde_json::Value;
use sluice_ir::expr::{BinaryOp, Expr};
use sluice_ir::{
    Aggregate, Body, Choice, ChoiceBranch, Condition, DataModel, ErrorCode, Flow, Language, Next,
    Parallel, Recovery, Retrier, ScopeId, StateId, StateKind, Task, TaskMode, TaskTarget, Template,
    Wait, actions,
};

use crate::doc::{Key, Loc, Node, parse_document};
use crate::error::{DefinitionError, Problem};
use crate::expr::{ExprSyntaxError, parse_cloudflow};
use crate::frontend::{Arena, Fields, Problems, ScopeNames, StateBody, expr_at};

const STATE_TYPES: &str = "EVENT, OPERATION, SWITCH, DELAY, NOOP, END";

/// Compiles a v1.0 workflow definition (the JSON text of `definition`).
pub fn parse_v1(text: &str) -> Result<Flow, DefinitionError> {
    let root = parse_document(text)?;
    let definition = Fields::of(&root, "a workflow definition")?;
    let mut problems = Problems::default();
    problems.keep(definition.allow_only(&["event-defs", "states"], "a workflow definition"));
    let states = match problems.keep(definition.require("states", "a workflow definition")) {
        Some(node) => problems
            .keep(map_entries(node, "states"))
            .unwrap_or_default(),
        None => &[],
    };
    let mut arena = Arena::default();
    let scope = arena.new_scope(DataModel::Pipe);
    let mut names = ScopeNames::default();
    let mut reserved = Vec::new();
    for (key, node) in states {
        let id = arena.reserve_state(scope, &key.text, key.loc);
        problems.keep(names.insert(&key.text, id, key.loc));
        let extra = (0..extra_states(node))
            .map(|n| arena.reserve_state(scope, &format!("{}#{}", key.text, n + 2), key.loc))
            .collect::<Vec<_>>();
        reserved.push((key, node, id, extra));
    }
    check_start_and_end(states, definition.loc(), &mut problems);
    let mut compiler = Compiler {
        arena: &mut arena,
        names: &names,
    };
    for (key, node, id, extra) in &reserved {
        if let Err(problem) = compiler.state(node, *id, extra) {
            problems.push(problem.in_state(&key.text));
        }
        if node.get("start").and_then(|s| s.as_bool().ok()) == Some(true) {
            compiler.arena.set_start(scope, *id);
        }
    }
    if problems.count() == 0 {
        for (name, loc) in arena.unreachable_states(scope) {
            problems.push(Problem::at(
                loc,
                format!("state {name:?} cannot be reached from the start state"),
            ));
        }
    }
    problems.into_result(arena.into_flow(Language::FunctionGraphV1, None))
}

fn map_entries<'a>(node: &'a Node, what: &str) -> Result<&'a [(Key, Node)], Problem> {
    node.as_map()
        .map_err(|_| node.expected(&format!("{what} (a map of name to state)")))
}

fn state_type(node: &Node) -> Option<&str> {
    node.get("type").and_then(|t| t.as_str().ok())
}

/// IR states beyond the first a state needs: one per further action of a sequential
/// OPERATION, one per action of an EVENT (its actions follow the wait).
fn extra_states(node: &Node) -> usize {
    let actions = |holder: Option<&Node>| {
        holder
            .and_then(|h| h.get("actions"))
            .and_then(|a| a.as_seq().ok())
            .map_or(0, <[Node]>::len)
    };
    let sequential = |holder: Option<&Node>| {
        holder
            .and_then(|h| h.get("action-mode"))
            .and_then(|m| m.as_str().ok())
            .is_none_or(|m| m != "PARALLEL")
    };
    match state_type(node) {
        Some("OPERATION") if sequential(Some(node)) => actions(Some(node)).saturating_sub(1),
        Some("EVENT") => {
            let event = node
                .get("events")
                .and_then(|e| e.as_seq().ok())
                .and_then(|e| e.first());
            match actions(event) {
                0 => 0,
                n if sequential(event) => n,
                _ => 1,
            }
        }
        _ => 0,
    }
}

fn check_start_and_end(states: &[(Key, Node)], loc: Loc, problems: &mut Problems) {
    let starts = states
        .iter()
        .filter(|(_, n)| n.get("start").and_then(|s| s.as_bool().ok()) == Some(true))
        .count();
    if starts != 1 {
        problems.push(Problem::at(
            loc,
            format!("exactly one state must have \"start\": true, found {starts}"),
        ));
    }
    let ends = states
        .iter()
        .filter(|(_, n)| state_type(n) == Some("END"))
        .count();
    if ends != 1 {
        problems.push(Problem::at(
            loc,
            format!("exactly one state must be of type END, found {ends}"),
        ));
    }
}

struct Compiler<'a> {
    arena: &'a mut Arena,
    names: &'a ScopeNames,
}

impl Compiler<'_> {
    fn state(&mut self, node: &Node, id: StateId, extra: &[StateId]) -> Result<(), Problem> {
        let fields = Fields::of(node, "a state")?;
        let ty = fields.require("type", "a state")?;
        match ty.as_str()? {
            "END" => {
                fields.allow_only(&["type", "start"], "an END state")?;
                self.fill(id, StateKind::Succeed, Next::End);
            }
            "NOOP" => {
                fields.allow_only(&["type", "start", "next-state"], "a NOOP state")?;
                let next = self.next(&fields)?;
                self.fill(id, StateKind::Pass, next);
            }
            "DELAY" => {
                fields.allow_only(
                    &["type", "start", "time-delay", "next-state"],
                    "a DELAY state",
                )?;
                let seconds = fields
                    .require("time-delay", "a DELAY state")?
                    .as_int_in(1, 86_400)?;
                let next = self.next(&fields)?;
                self.fill(
                    id,
                    StateKind::Wait(Wait::Seconds(seconds.unsigned_abs())),
                    next,
                );
            }
            "SWITCH" => {
                fields.allow_only(&["type", "start", "choices", "default"], "a SWITCH state")?;
                let kind = self.switch(&fields)?;
                self.fill(id, kind, Next::End);
            }
            "OPERATION" => {
                fields.allow_only(
                    &[
                        "type",
                        "start",
                        "action-mode",
                        "actions",
                        "next-state",
                        "payload-filter-in",
                        "payload-filter-out",
                    ],
                    "an OPERATION state",
                )?;
                let next = self.next(&fields)?;
                let ids: Vec<StateId> = std::iter::once(id).chain(extra.iter().copied()).collect();
                self.operation(&fields, &ids, next)?;
            }
            "EVENT" => {
                fields.allow_only(
                    &[
                        "type",
                        "start",
                        "events",
                        "event-timeout",
                        "payload-filter-in",
                        "payload-filter-out",
                    ],
                    "an EVENT state",
                )?;
                self.event(&fields, id, extra)?;
            }
            other => {
                return Err(Problem::at(
                    ty.text_loc(),
                    format!("unknown state type {other:?}; the types are {STATE_TYPES}"),
                ));
            }
        }
        Ok(())
    }

    fn next(&self, fields: &Fields<'_>) -> Result<Next, Problem> {
        let target = fields.require("next-state", "this state")?;
        Ok(Next::State(self.names.resolve(target, "next-state")?))
    }

    fn switch(&self, fields: &Fields<'_>) -> Result<StateKind, Problem> {
        let mut branches = Vec::new();
        for choice in fields.require("choices", "a SWITCH state")?.as_seq()? {
            let choice = Fields::of(choice, "a choice")?;
            choice.allow_only(&["path", "value", "next-state"], "a choice")?;
            let path = expr_at(choice.require("path", "a choice")?, input_path)?;
            let value = choice.require("value", "a choice")?.to_json();
            let condition =
                Expr::Binary(BinaryOp::Eq, Box::new(path), Box::new(Expr::Literal(value)));
            let next = Next::State(
                self.names
                    .resolve(choice.require("next-state", "a choice")?, "next-state")?,
            );
            branches.push(ChoiceBranch {
                condition: Condition::Expr(condition),
                next,
                asl: None,
            });
        }
        let default = Next::State(
            self.names
                .resolve(fields.require("default", "a SWITCH state")?, "default")?,
        );
        Ok(StateKind::Choice(Choice {
            branches,
            default: Some(default),
        }))
    }

    /// The actions of `holder` (an OPERATION, or an EVENT's event) into `ids`, then `next`.
    fn operation(
        &mut self,
        holder: &Fields<'_>,
        ids: &[StateId],
        next: Next,
    ) -> Result<(), Problem> {
        let tasks = holder
            .require("actions", "this state")?
            .as_seq()?
            .iter()
            .map(action)
            .collect::<Result<Vec<_>, _>>()?;
        if tasks.is_empty() {
            return Err(Problem::at(holder.loc(), "at least one action is required"));
        }
        match holder.optional_str("action-mode")?.unwrap_or("SEQUENTIAL") {
            "SEQUENTIAL" => {
                for (i, (task, id)) in tasks.into_iter().zip(ids).enumerate() {
                    let step_next = ids.get(i + 1).map_or(next, |n| Next::State(*n));
                    self.fill(*id, StateKind::Task(task), step_next);
                }
            }
            "PARALLEL" => {
                let branches = tasks
                    .into_iter()
                    .enumerate()
                    .map(|(i, task)| self.branch(i, task))
                    .collect();
                let kind = StateKind::Parallel(Parallel {
                    branches,
                    result: Aggregate::Array,
                    recovery: Recovery::default(),
                });
                self.fill(ids[0], kind, next);
            }
            other => {
                return Err(Problem::at(
                    holder.loc(),
                    format!("action-mode {other:?} is not SEQUENTIAL or PARALLEL"),
                ));
            }
        }
        Ok(())
    }

    /// The wait for the event, then the event's actions.
    fn event(
        &mut self,
        fields: &Fields<'_>,
        id: StateId,
        extra: &[StateId],
    ) -> Result<(), Problem> {
        let events = fields.require("events", "an EVENT state")?.as_seq()?;
        let [event] = events else {
            return Err(Problem::at(
                fields.loc(),
                "an EVENT state waits for exactly one event",
            ));
        };
        let event = Fields::of(event, "an event")?;
        event.allow_only(
            &["event-expression", "action-mode", "actions", "next-state"],
            "an event",
        )?;
        event.require("event-expression", "an event")?.as_str()?;
        let next = self.next(&event)?;
        let timeout = fields
            .optional_int("event-timeout", 0, 86_400 * 365)?
            .filter(|t| *t > 0);
        let wait = Task {
            target: TaskTarget::Action(actions::EVENT.to_string()),
            resource: actions::EVENT.to_string(),
            mode: TaskMode::WaitForCustomCallback,
            body: Body::Template(Template::Literal(Value::Object(Default::default()))),
            timeout_secs: timeout.map(i64::unsigned_abs),
            heartbeat_secs: None,
            recovery: Recovery::default(),
        };
        let after_wait = extra.first().map_or(next, |first| Next::State(*first));
        self.fill(id, StateKind::Task(wait), after_wait);
        if !extra.is_empty() {
            self.operation(&event, extra, next)?;
        }
        Ok(())
    }

    /// A parallel action as a branch holding its one task (`action-1`, `action-2`, …).
    fn branch(&mut self, index: usize, task: Task) -> ScopeId {
        let branch = self.arena.new_scope(DataModel::Pipe);
        let id = self
            .arena
            .reserve_state(branch, &format!("action-{}", index + 1), Loc::default());
        self.fill(id, StateKind::Task(task), Next::End);
        self.arena.set_start(branch, id);
        branch
    }

    fn fill(&mut self, id: StateId, kind: StateKind, next: Next) {
        self.arena.fill_state(
            id,
            StateBody {
                kind,
                input: None,
                output: None,
                next,
            },
        );
    }
}

/// One action: a function call with its timeout and retries.
fn action(node: &Node) -> Result<Task, Problem> {
    let fields = Fields::of(node, "an action")?;
    fields.allow_only(
        &[
            "action-name",
            "function",
            "invocation-mode",
            "payload-filter",
            "timeout",
            "results",
        ],
        "an action",
    )?;
    let urn = fields.require("function", "an action")?;
    let function = super::function_of(urn.as_str()?).ok_or_else(|| {
        Problem::at(
            urn.text_loc(),
            "not a function URN (urn:fss:<region>:<project>:function:<package>:<name>[:<version>])",
        )
    })?;
    match fields.optional_str("invocation-mode")?.unwrap_or("SYNC") {
        "SYNC" | "ASYNC" => {}
        other => {
            return Err(Problem::at(
                fields.loc(),
                format!("invocation-mode {other:?} is not SYNC or ASYNC"),
            ));
        }
    }
    let timeout = fields.optional_int("timeout", 0, 300)?.filter(|t| *t > 0);
    let body = match fields.get("payload-filter") {
        Some(filter) if filter.as_str().is_ok_and(|f| f != "$") => {
            Body::Template(Template::Expr(expr_at(filter, input_path)?))
        }
        _ => Body::StateInput,
    };
    Ok(Task {
        target: TaskTarget::Function(function),
        resource: urn.as_str()?.to_string(),
        mode: TaskMode::RequestComplete,
        body,
        timeout_secs: timeout.map(i64::unsigned_abs),
        heartbeat_secs: None,
        recovery: retries(fields.get("results"))?,
    })
}

/// `results[{match, retry-interval, max-retry}]`: the retries of an action.
fn retries(node: Option<&Node>) -> Result<Recovery, Problem> {
    let mut recovery = Recovery::default();
    let Some(node) = node else {
        return Ok(recovery);
    };
    for result in node.as_seq()? {
        let fields = Fields::of(result, "a result")?;
        fields.allow_only(
            &["match", "retry-interval", "max-retry", "next-state"],
            "a result",
        )?;
        let attempts = fields.optional_int("max-retry", 0, 10)?.unwrap_or(0);
        if attempts > 0 {
            recovery.retry.push(Retrier {
                errors: vec![ErrorCode::ALL.to_string()],
                max_attempts: u32::try_from(attempts).unwrap_or(0),
                interval_secs: fields
                    .optional_int("retry-interval", 0, 86_400)?
                    .unwrap_or(1)
                    .unsigned_abs(),
                backoff_rate: 1.0,
                max_backoff_secs: None,
                full_jitter: false,
            });
        }
    }
    Ok(recovery)
}

fn input_path(path: &str) -> Result<Expr, ExprSyntaxError> {
    let rooted = match path.strip_prefix('$') {
        Some(rest) => format!("$Input{rest}"),
        None => path.to_string(),
    };
    parse_cloudflow(&rooted)
}
