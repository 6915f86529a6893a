//! The legacy Serverless Workflow form: `version: v1`, `type: flow`, `steps`.
//!
//! Data model: every scope (the flow, each parallel branch, each foreach body) is
//! [`DataModel::Merge`]. Steps run in list order: a step continues with the next step of its
//! list, the last one ends its scope, unless it says `end: true`.
//!
//! Choices compile to a [`Choice`] state. The `steps` nested in a choice entry (or in
//! `default`) are inlined into the same scope under their own names: selecting the entry
//! runs them, then continues at the entry's `goto`, or else at the step after the choice.

use sluice_ir::{
    Aggregate, Body, Catcher, Choice, ChoiceBranch, Condition, DataModel, Fail, Flow, ItemInput,
    Items, Language, Map, Next, Parallel, Recovery, ScopeId, StateId, StateKind, Task, TaskMode,
    TaskTarget, Template, Wait,
};

use super::fdl::{MAX_PARALLEL_BRANCHES, condition_with};
use super::{function_ref, resource_name};
use crate::doc::{Node, NodeKind};
use crate::error::{DefinitionError, Problem};
use crate::expr::parse_legacy;
use crate::frontend::{
    Arena, DEFAULT_BACKOFF_RATE, Fields, Problems, RetrySyntax, ScopeNames, StateBody,
    build_retrier, error_names, expr_at, one_of, registered_name,
};

/// The highest `maxConcurrency` of a foreach step.
pub const MAX_FOREACH_CONCURRENCY: i64 = 100;
/// The longest constant wait of a wait step, in seconds (two days).
pub const MAX_WAIT_SECS: i64 = 2 * 24 * 60 * 60;

const TOP_LEVEL_FIELDS: &[&str] = &[
    "version",
    "type",
    "steps",
    "inputMappings",
    "outputMappings",
];
const VERSIONS: &[&str] = &["v1", "v1beta1"];
const STEP_TYPES: &[&str] = &[
    "task", "pass", "choice", "parallel", "foreach", "wait", "succeed", "fail",
];
const COMMON_FIELDS: &[&str] = &["type", "name", "end", "inputMappings", "outputMappings"];
const PATTERNS: &[&str] = &["requestResponse", "sync", "waitForCallback"];

const RETRY: RetrySyntax = RetrySyntax {
    errors: Some("errors"),
    max_attempts: "maxAttempts",
    interval: "intervalSeconds",
    backoff_rate: "multiplier",
    max_backoff: Some("maxIntervalSeconds"),
    ignored: &[],
    owner: "a retry entry",
    default_backoff_rate: DEFAULT_BACKOFF_RATE,
    jitter: None,
};

fn specific_fields(ty: &str) -> &'static [&'static str] {
    match ty {
        "task" => &[
            "resourceArn",
            "pattern",
            "timeoutSeconds",
            "retry",
            "catch",
            "errorMappings",
        ],
        "choice" => &["choices", "default"],
        "parallel" => &["branches"],
        "foreach" => &["iterationMapping", "steps", "maxConcurrency"],
        "wait" => &["duration", "timestamp"],
        "fail" => &["error", "cause"],
        _ => &[],
    }
}

/// Compiles a `type: flow` definition.
pub(super) fn compile(root: &Node) -> Result<Flow, DefinitionError> {
    let mut compiler = Compiler::default();
    compiler.top_level(root);
    let Compiler { arena, problems } = compiler;
    problems.into_result(arena.into_flow(Language::CloudFlowLegacy, None))
}

#[derive(Default)]
struct Compiler {
    arena: Arena,
    problems: Problems,
}

/// A step whose name has been registered, with the steps inlined from its choices.
struct Slot<'a> {
    id: StateId,
    name: String,
    node: &'a Node,
    /// Per entry of `choices`, the ids of its nested steps (empty without steps).
    choice_steps: Vec<Vec<Slot<'a>>>,
    default_steps: Vec<Slot<'a>>,
}

impl Compiler {
    fn top_level(&mut self, root: &Node) {
        let Some(fields) = self.problems.keep(Fields::of(root, "a flow definition")) else {
            return;
        };
        self.problems
            .keep(fields.allow_only(TOP_LEVEL_FIELDS, "the flow definition"));
        self.problems.keep(version(&fields));
        let Some(steps) = self
            .problems
            .keep(fields.require("steps", "the flow definition"))
        else {
            return;
        };
        let scope = self.compile_scope(steps);
        let input = fields.get("inputMappings").map(mappings).transpose();
        let output = fields.get("outputMappings").map(mappings).transpose();
        if let (Some(input), Some(output)) = (self.problems.keep(input), self.problems.keep(output))
        {
            self.arena.set_scope_mappings(scope, input, output);
        }
    }

    /// Compiles a `steps` list into a new scope.
    fn compile_scope(&mut self, steps_node: &Node) -> ScopeId {
        let scope = self.arena.new_scope(DataModel::Merge);
        let Some(steps) = self.problems.keep(steps_list(steps_node)) else {
            return scope;
        };
        let mut names = ScopeNames::default();
        let slots = self.reserve_list(scope, steps, &mut names);
        if let Some(first) = slots.first() {
            self.arena.set_start(scope, first.id);
        }
        self.compile_list(&slots, Next::End, &names);
        scope
    }

    /// Registers the names of `steps` and of the steps nested in their choices.
    fn reserve_list<'a>(
        &mut self,
        scope: ScopeId,
        steps: &'a [Node],
        names: &mut ScopeNames,
    ) -> Vec<Slot<'a>> {
        let mut slots = Vec::with_capacity(steps.len());
        for node in steps {
            let Some(name_node) = self
                .problems
                .keep(Fields::of(node, "a step").and_then(|f| f.require("name", "a step")))
            else {
                continue;
            };
            let Some(name) = registered_name(name_node, "step name", &mut self.problems) else {
                continue;
            };
            let id = self.arena.reserve_state(scope, &name, name_node.loc);
            let inserted = names.insert(&name, id, name_node.text_loc());
            self.problems.keep(inserted.map_err(|p| p.in_state(&name)));
            let choice_steps = nested_choice_steps(node)
                .into_iter()
                .map(|steps| self.reserve_list(scope, steps, names))
                .collect();
            let default_steps = match node.get("default").and_then(|d| d.get("steps")) {
                Some(Node {
                    kind: NodeKind::Seq(steps),
                    ..
                }) => self.reserve_list(scope, steps, names),
                _ => Vec::new(),
            };
            slots.push(Slot {
                id,
                name,
                node,
                choice_steps,
                default_steps,
            });
        }
        slots
    }

    /// Compiles steps that run in order, the last one continuing at `after`.
    fn compile_list(&mut self, slots: &[Slot<'_>], after: Next, names: &ScopeNames) {
        for (i, slot) in slots.iter().enumerate() {
            let continuation = slots.get(i + 1).map_or(after, |s| Next::State(s.id));
            match self.compile_step(slot, continuation, names) {
                Ok(body) => self.arena.fill_state(slot.id, body),
                Err(problem) => self.problems.push(problem.in_state(&slot.name)),
            }
        }
    }

    fn compile_step(
        &mut self,
        slot: &Slot<'_>,
        continuation: Next,
        names: &ScopeNames,
    ) -> Result<StateBody, Problem> {
        let fields = Fields::of(slot.node, "a step")?;
        let ty = step_type(fields.require("type", "a step")?)?;
        if let Some(node) = fields.get("serviceParams") {
            return Err(Problem::at(node.loc, "serviceParams are not supported yet"));
        }
        let mut allowed = COMMON_FIELDS.to_vec();
        allowed.extend(specific_fields(ty));
        fields.allow_only(&allowed, &format!("a {ty} step"))?;
        let end = fields.optional_bool("end")?.unwrap_or(false);
        let next = if end || matches!(ty, "succeed" | "fail") {
            Next::End
        } else {
            continuation
        };
        let input = fields.get("inputMappings").map(mappings).transpose()?;
        let mut output = fields.get("outputMappings").map(mappings).transpose()?;
        let kind = match ty {
            "task" => StateKind::Task(task(&fields, names)?),
            "pass" => StateKind::Pass,
            "choice" => StateKind::Choice(self.choice(&fields, slot, next, names)?),
            "parallel" => StateKind::Parallel(self.parallel(&fields)?),
            "foreach" => StateKind::Map(self.foreach(&fields)?),
            "wait" => StateKind::Wait(wait(&fields)?),
            "succeed" => StateKind::Succeed,
            _ => StateKind::Fail(fail(&fields)?),
        };
        if matches!(ty, "parallel" | "foreach") && output.is_none() {
            // Parallel and foreach steps output nothing unless outputMappings say otherwise.
            output = Some(Template::Literal(serde_json::json!({})));
        }
        Ok(StateBody {
            kind,
            input,
            output,
            next,
        })
    }

    fn choice(
        &mut self,
        fields: &Fields<'_>,
        slot: &Slot<'_>,
        continuation: Next,
        names: &ScopeNames,
    ) -> Result<Choice, Problem> {
        let choices_node = fields.require("choices", "a choice step")?;
        let choices = choices_node.as_seq()?;
        if choices.is_empty() {
            return Err(Problem::at(
                choices_node.loc,
                "a choice step needs at least one entry in choices",
            ));
        }
        let mut branches = Vec::with_capacity(choices.len());
        for (i, entry) in choices.iter().enumerate() {
            let owner = "an entry of choices";
            let entry = Fields::of(entry, owner)?;
            entry.allow_only(&["condition", "steps", "goto"], owner)?;
            let condition = condition_with(entry.require("condition", owner)?, parse_legacy)?;
            let inline = slot.choice_steps.get(i).map_or(&[][..], Vec::as_slice);
            let next = self.choice_target(&entry, inline, continuation, names)?;
            branches.push(ChoiceBranch {
                condition: Condition::Expr(condition),
                next,
                asl: None,
            });
        }
        let default = match fields.get("default") {
            Some(node) => {
                let owner = "the default of a choice step";
                let default = Fields::of(node, owner)?;
                default.allow_only(&["steps", "goto"], owner)?;
                self.choice_target(&default, &slot.default_steps, continuation, names)?
            }
            None => continuation,
        };
        Ok(Choice {
            branches,
            default: Some(default),
        })
    }

    /// Where a choice entry leads: its inlined steps (then `goto`, or the step after the
    /// choice), else its `goto`, else the step after the choice.
    fn choice_target(
        &mut self,
        entry: &Fields<'_>,
        inline: &[Slot<'_>],
        continuation: Next,
        names: &ScopeNames,
    ) -> Result<Next, Problem> {
        if let Some(steps) = entry.get("steps") {
            steps_list(steps)?;
        }
        let after = match entry.get("goto") {
            Some(goto) => Next::State(names.resolve(goto, "goto")?),
            None => continuation,
        };
        self.compile_list(inline, after, names);
        Ok(inline.first().map_or(after, |s| Next::State(s.id)))
    }

    fn parallel(&mut self, fields: &Fields<'_>) -> Result<Parallel, Problem> {
        let branches_node = fields.require("branches", "a parallel step")?;
        let branches = branches_node.as_seq()?;
        if branches.is_empty() || branches.len() > MAX_PARALLEL_BRANCHES {
            return Err(Problem::at(
                branches_node.loc,
                format!(
                    "a parallel step has from 1 to {MAX_PARALLEL_BRANCHES} branches, found {}",
                    branches.len()
                ),
            ));
        }
        let mut scopes = Vec::with_capacity(branches.len());
        for branch in branches {
            let branch = Fields::of(branch, "a parallel branch")?;
            branch.allow_only(&["steps"], "a parallel branch")?;
            scopes.push(self.compile_scope(branch.require("steps", "a parallel branch")?));
        }
        Ok(Parallel {
            branches: scopes,
            result: Aggregate::Array,
            recovery: Recovery::default(),
        })
    }

    fn foreach(&mut self, fields: &Fields<'_>) -> Result<Map, Problem> {
        let owner = "iterationMapping";
        let mapping = Fields::of(fields.require("iterationMapping", "a foreach step")?, owner)?;
        mapping.allow_only(&["collection", "item", "index"], owner)?;
        let items = expr_at(mapping.require("collection", owner)?, parse_legacy)?;
        let item = mapping.require("item", owner)?.as_str()?.to_string();
        let index = mapping.optional_str("index")?.map(str::to_string);
        let max_concurrency = fields
            .optional_int("maxConcurrency", 0, MAX_FOREACH_CONCURRENCY)?
            .unwrap_or(0);
        let processor = self.compile_scope(fields.require("steps", "a foreach step")?);
        Ok(Map {
            items: Items::Expr(items),
            processor,
            max_concurrency: u32::try_from(max_concurrency).unwrap_or(0),
            item_input: ItemInput::Merge { item, index },
            result: Aggregate::Array,
            recovery: Recovery::default(),
            distributed: None,
            asl_limits: None,
        })
    }
}

fn version(fields: &Fields<'_>) -> Result<(), Problem> {
    let node = fields.require("version", "the flow definition")?;
    let version = node.as_str()?;
    if VERSIONS.contains(&version) {
        Ok(())
    } else {
        Err(Problem::at(
            node.text_loc(),
            format!("unsupported version {version:?}; supported versions: v1, v1beta1"),
        ))
    }
}

fn steps_list(node: &Node) -> Result<&[Node], Problem> {
    let steps = node
        .as_seq()
        .map_err(|_| node.expected("a list of steps"))?;
    if steps.is_empty() {
        return Err(Problem::at(node.loc, "steps must list at least one step"));
    }
    Ok(steps)
}

/// The `steps` lists nested in the entries of a choice step's `choices`, one per entry.
fn nested_choice_steps(step: &Node) -> Vec<&[Node]> {
    let Some(NodeKind::Seq(choices)) = step.get("choices").map(|c| &c.kind) else {
        return Vec::new();
    };
    choices
        .iter()
        .map(|entry| match entry.get("steps").map(|s| &s.kind) {
            Some(NodeKind::Seq(steps)) => steps.as_slice(),
            _ => &[],
        })
        .collect()
}

fn step_type(node: &Node) -> Result<&'static str, Problem> {
    one_of(node, STEP_TYPES, "step type", "step types")
}

/// `[{target, source}]`: a source string starting with `$` is an expression, anything else
/// a literal.
fn mappings(node: &Node) -> Result<Template, Problem> {
    let entries = node
        .as_seq()
        .map_err(|_| node.expected("a list of {target, source} mappings"))?;
    let mut fields: Vec<(String, Template)> = Vec::with_capacity(entries.len());
    for entry in entries {
        let owner = "a mapping";
        let mapping = Fields::of(entry, owner)?;
        mapping.allow_only(&["target", "source"], owner)?;
        let target_node = mapping.require("target", owner)?;
        let target = target_node.as_str()?;
        if fields.iter().any(|(t, _)| t == target) {
            return Err(Problem::at(
                target_node.text_loc(),
                format!("the target {target:?} is mapped twice"),
            ));
        }
        let source = mapping.require("source", owner)?;
        fields.push((target.to_string(), mapping_source(source)?));
    }
    Ok(Template::Object(fields))
}

fn mapping_source(node: &Node) -> Result<Template, Problem> {
    match &node.kind {
        NodeKind::String(s) if s.starts_with('$') => {
            expr_at(node, parse_legacy).map(Template::Expr)
        }
        _ => Ok(Template::Literal(node.to_json())),
    }
}

fn task(fields: &Fields<'_>, names: &ScopeNames) -> Result<Task, Problem> {
    let arn_node = fields.require("resourceArn", "a task step")?;
    let arn = arn_node.as_str()?;
    let target = match function_ref(arn) {
        Ok(Some(function)) => TaskTarget::Function(function),
        Ok(None) => TaskTarget::Action(arn.to_string()),
        Err(message) => return Err(Problem::at(arn_node.text_loc(), message)),
    };
    let timeout_secs = fields
        .optional_int("timeoutSeconds", 1, i64::MAX)?
        .and_then(|t| u64::try_from(t).ok());
    Ok(Task {
        resource: resource_name(&target),
        target,
        mode: pattern(fields.get("pattern"))?,
        body: Body::StateInput,
        timeout_secs,
        heartbeat_secs: None,
        recovery: recovery(fields, names)?,
    })
}

fn pattern(node: Option<&Node>) -> Result<TaskMode, Problem> {
    let Some(node) = node else {
        return Ok(TaskMode::RequestComplete);
    };
    match node.as_str()? {
        "requestResponse" | "sync" => Ok(TaskMode::RequestComplete),
        "waitForCallback" => Ok(TaskMode::WaitForCustomCallback),
        other => Err(Problem::at(
            node.text_loc(),
            format!(
                "unknown pattern {other:?}; patterns: {}",
                PATTERNS.join(", ")
            ),
        )),
    }
}

/// `retry` and `catch`; `errorMappings` build the input of every catch target.
fn recovery(fields: &Fields<'_>, names: &ScopeNames) -> Result<Recovery, Problem> {
    let mut recovery = Recovery::default();
    for rule in optional_list(fields.get("retry"))? {
        recovery.retry.push(build_retrier(rule, &RETRY, &[])?);
    }
    let output = fields.get("errorMappings").map(mappings).transpose()?;
    for rule in optional_list(fields.get("catch"))? {
        let owner = "a catch entry";
        let rule = Fields::of(rule, owner)?;
        rule.allow_only(&["errors", "goto"], owner)?;
        recovery.catch.push(Catcher {
            errors: error_names(rule.require("errors", owner)?)?,
            next: names.resolve(rule.require("goto", owner)?, "goto")?,
            output: output.clone(),
            asl: None,
        });
    }
    Ok(recovery)
}

fn optional_list(node: Option<&Node>) -> Result<&[Node], Problem> {
    node.map_or(Ok(&[][..]), Node::as_seq)
}

fn wait(fields: &Fields<'_>) -> Result<Wait, Problem> {
    match (fields.get("duration"), fields.get("timestamp")) {
        (Some(_), Some(timestamp)) => Err(Problem::at(
            timestamp.loc,
            "give either duration or timestamp, not both",
        )),
        (Some(duration), None) => wait_duration(duration),
        (None, Some(timestamp)) => wait_timestamp(timestamp),
        (None, None) => Err(Problem::at(
            fields.loc(),
            "a wait step requires duration (seconds or $.key) or timestamp (RFC 3339 or $.key)",
        )),
    }
}

fn wait_duration(node: &Node) -> Result<Wait, Problem> {
    match &node.kind {
        NodeKind::String(s) if s.starts_with('$') => {
            expr_at(node, parse_legacy).map(Wait::SecondsExpr)
        }
        NodeKind::Number(_) => {
            let seconds = node.as_int_in(0, MAX_WAIT_SECS)?;
            Ok(Wait::Seconds(u64::try_from(seconds).unwrap_or(0)))
        }
        _ => Err(node.expected("duration as seconds or a $.key expression")),
    }
}

fn wait_timestamp(node: &Node) -> Result<Wait, Problem> {
    let text = node.as_str()?;
    if text.starts_with('$') {
        return expr_at(node, parse_legacy).map(Wait::UntilExpr);
    }
    text.parse::<jiff::Timestamp>()
        .map(|t| Wait::Until(t.as_millisecond()))
        .map_err(|e| {
            Problem::at(
                node.text_loc(),
                format!("invalid timestamp {text:?}; expected RFC 3339 such as 2024-01-02T03:04:05Z ({e})"),
            )
        })
}

fn fail(fields: &Fields<'_>) -> Result<Fail, Problem> {
    Ok(Fail {
        code: fields.optional_str("error")?.map(str::to_string),
        detail: fields.optional_str("cause")?.map(str::to_string),
        code_from: None,
        detail_from: None,
    })
}
