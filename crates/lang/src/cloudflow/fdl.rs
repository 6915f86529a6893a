//! The current CloudFlow form: `Type: StateMachine`, `SpecVersion: v1`, `StartAt`, `States`.

use sluice_ir::{
    Aggregate, Body, Catcher, ChildMode, Choice, ChoiceBranch, Condition, DataModel, Distributed,
    Expr, Fail, Flow, Invocation, ItemBatcher, ItemInput, Items, Language, Map, Next, Parallel,
    Recovery, ScopeId, StateKind, Task, TaskMode, TaskTarget, Template, ToleratedFailures, Wait,
};

use super::{FUNCTION_ARN_SHAPE, function_ref, objects, resource_name};
use crate::doc::{Node, NodeKind};
use crate::error::{DefinitionError, Problem};
use crate::expr::parse_cloudflow;
use crate::frontend::{
    Arena, DEFAULT_BACKOFF_RATE, ExprParser, Fields, ITEM_BATCHER_FIELDS, Problems, RetrySyntax,
    ScopeNames, Slot, StateBody, build_retrier, checked_name, error_names, expr_at, item_batcher,
    one_of, registered_name,
};

/// The most branches a Parallel state may have.
pub const MAX_PARALLEL_BRANCHES: usize = 50;
/// The highest `MaxConcurrency` of an inline Map.
pub const MAX_MAP_CONCURRENCY: i64 = 40;
/// The longest constant Wait, in seconds (one year, the longest a Standard execution runs).
/// CloudFlow documents 1–300 s for Standard workflows; that limit is a known pain point and
/// the engine has no reason to keep it, so any duration up to the execution limit is accepted.
pub const MAX_WAIT_SECS: i64 = 31_536_000;
/// The longest task `Timeout` the Task page allows: 604,800 s (seven days).
pub const MAX_TASK_TIMEOUT_SECS: u64 = 604_800;

const TOP_LEVEL_FIELDS: &[&str] = &[
    "Type",
    "Name",
    "SpecVersion",
    "StartAt",
    "States",
    "Description",
];
const SCOPE_FIELDS: &[&str] = &["StartAt", "States"];
const STATE_TYPES: &[&str] = &[
    "Pass", "Task", "Choice", "Parallel", "Map", "Wait", "Succeed", "Fail",
];
const COMMON_FIELDS: &[&str] = &[
    "Name",
    "Type",
    "Description",
    "InputConstructor",
    "OutputConstructor",
    "GlobalConstructor",
];
/// The longest name of a global variable (the Global variables page's limits).
const MAX_GLOBAL_KEY_BYTES: usize = 128;
/// Fields of a Map only its distributed mode has.
const DISTRIBUTED_MAP_FIELDS: &[&str] = &[
    "ItemBatcher",
    "ToleratedFailureCount",
    "ToleratedFailurePercentage",
    "ItemReader",
    "ResultWriter",
    "MaxItems",
    "MaxItems.$",
];
const PROCESSOR_CONFIG_FIELDS: &[&str] = &["Mode", "ExecutionMode"];
/// At most this many children of a distributed Map run at once (sluice's bound: the page
/// gives none).
pub const MAX_DISTRIBUTED_CONCURRENCY: i64 = 10_000;
const TASK_MODES: &[&str] = &[
    "RequestComplete",
    "WaitForCustomCallback",
    "WaitForSystemCallback",
];
const FUNCTION_ACTION: &str = "FC:InvokeFunction";
const FUNCTION_PARAMETERS: &[&str] = &["resourceArn", "invocationType", "body", "body.$"];

const RETRY: RetrySyntax = RetrySyntax {
    errors: Some("Errors"),
    max_attempts: "MaxAttempts",
    interval: "IntervalSeconds",
    backoff_rate: "BackoffRate",
    max_backoff: Some("MaxBackoffSeconds"),
    ignored: &["Description"],
    owner: "a Retry entry",
    default_backoff_rate: DEFAULT_BACKOFF_RATE,
    jitter: None,
};

/// The `Retry` of an older `OnErrors` entry; its error names are the entry's `Errors`.
const ON_ERRORS_RETRY: RetrySyntax = RetrySyntax {
    errors: None,
    max_attempts: "MaxAttempts",
    interval: "FixedBackoff",
    backoff_rate: "Multiplier",
    max_backoff: None,
    ignored: &[],
    owner: "the Retry of an OnErrors entry",
    default_backoff_rate: DEFAULT_BACKOFF_RATE,
    jitter: None,
};

/// Which of `Next`/`End` a state type takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transition {
    /// Exactly one of `Next` and `End: true`.
    NextOrEnd,
    /// Neither (Choice: its branches decide).
    Branches,
    /// No `Next`; `End: true` is tolerated (Succeed, Fail).
    Terminal,
}

fn transition_of(ty: &str) -> Transition {
    match ty {
        "Choice" => Transition::Branches,
        "Succeed" | "Fail" => Transition::Terminal,
        _ => Transition::NextOrEnd,
    }
}

fn specific_fields(ty: &str) -> &'static [&'static str] {
    match ty {
        "Task" => &[
            "Action",
            "TaskMode",
            "Parameters",
            "Timeout",
            "Timeout.$",
            "Retry",
            "Catch",
            "OnErrors",
        ],
        "Choice" => &["Branches", "Default"],
        "Parallel" => &["Branches", "Retry", "Catch", "OnErrors"],
        "Map" => &[
            "ItemsPath",
            "Processor",
            "MaxConcurrency",
            "MaxConcuccency",
            "ItemConstructor",
            "Retry",
            "Catch",
            "OnErrors",
            "ProcessorConfig",
            "ItemBatcher",
            "ToleratedFailureCount",
            "ToleratedFailurePercentage",
            "ItemReader",
            "ResultWriter",
            "MaxItems",
            "MaxItems.$",
        ],
        "Wait" => &["Seconds", "Seconds.$"],
        "Fail" => &["Code", "Detail"],
        _ => &[],
    }
}

fn allowed_fields(ty: &str) -> Vec<&'static str> {
    let mut allowed = COMMON_FIELDS.to_vec();
    match transition_of(ty) {
        Transition::NextOrEnd => allowed.extend(["Next", "End"]),
        Transition::Terminal => allowed.push("End"),
        Transition::Branches => {}
    }
    allowed.extend(specific_fields(ty));
    allowed
}

/// Compiles a `Type: StateMachine` definition.
pub(super) fn compile(root: &Node) -> Result<Flow, DefinitionError> {
    let mut compiler = Compiler::default();
    let name = compiler.top_level(root);
    let Compiler { arena, problems } = compiler;
    problems.into_result(arena.into_flow(Language::CloudFlow, name))
}

#[derive(Default)]
struct Compiler {
    arena: Arena,
    problems: Problems,
}

impl Compiler {
    fn top_level(&mut self, root: &Node) -> Option<String> {
        let fields = self.problems.keep(Fields::of(root, "a flow definition"))?;
        self.problems
            .keep(fields.allow_only(TOP_LEVEL_FIELDS, "the flow definition"));
        self.problems.keep(spec_version(&fields));
        let name = self.problems.keep(
            fields
                .require("Name", "the flow definition")
                .and_then(|n| checked_name(n, "flow name")),
        );
        self.compile_scope(&fields, "the flow definition");
        name
    }

    /// Compiles a `{StartAt, States}` map into a new scope.
    fn compile_scope(&mut self, fields: &Fields<'_>, owner: &str) -> ScopeId {
        let scope = self.arena.new_scope(DataModel::Pipe);
        let problems_before = self.problems.count();
        let start = self.problems.keep(fields.require("StartAt", owner));
        let states = self
            .problems
            .keep(fields.require("States", owner).and_then(states_list));
        let (names, slots) = self.reserve_states(scope, states.unwrap_or_default());
        let start = start.and_then(|s| self.problems.keep(names.resolve(s, "StartAt")));
        if let Some(start) = start {
            self.arena.set_start(scope, start);
        }
        for slot in &slots {
            let global = global_constructor(slot.node);
            match self
                .compile_state(slot.node, &names)
                .and_then(|b| Ok((b, global?)))
            {
                Ok((body, global)) => {
                    self.arena.fill_state(slot.id, body);
                    self.arena.set_global(slot.id, global);
                }
                Err(problem) => self.problems.push(problem.in_state(&slot.name)),
            }
        }
        if start.is_some() && self.problems.count() == problems_before {
            self.report_unreachable(scope);
        }
        scope
    }

    fn report_unreachable(&mut self, scope: ScopeId) {
        for (name, loc) in self.arena.unreachable_states(scope) {
            self.problems.push(
                Problem::at(
                    loc,
                    format!(
                        "state {name:?} is unreachable: no Next, Default, Choice branch or Catch leads to it from StartAt"
                    ),
                )
                .in_state(name.as_str()),
            );
        }
    }

    /// Registers the names of a scope's states (so that `Next` can point forward).
    fn reserve_states<'a>(
        &mut self,
        scope: ScopeId,
        states: &'a [Node],
    ) -> (ScopeNames, Vec<Slot<'a>>) {
        let mut names = ScopeNames::default();
        let mut slots = Vec::with_capacity(states.len());
        for node in states {
            let Some(name_node) = self
                .problems
                .keep(Fields::of(node, "a state").and_then(|f| f.require("Name", "a state")))
            else {
                continue;
            };
            let Some(name) = registered_name(name_node, "state name", &mut self.problems) else {
                continue;
            };
            let id = self.arena.reserve_state(scope, &name, name_node.loc);
            let inserted = names.insert(&name, id, name_node.text_loc());
            self.problems.keep(inserted.map_err(|p| p.in_state(&name)));
            slots.push(Slot { id, name, node });
        }
        (names, slots)
    }

    fn compile_state(&mut self, node: &Node, names: &ScopeNames) -> Result<StateBody, Problem> {
        let fields = Fields::of(node, "a state")?;
        let ty_node = fields.require("Type", "a state")?;
        let ty = state_type(ty_node)?;
        check_transition_fields(&fields, ty)?;
        fields.allow_only(&allowed_fields(ty), &format!("a {ty} state"))?;
        let input = optional_constructor(fields.get("InputConstructor"))?;
        let output = optional_constructor(fields.get("OutputConstructor"))?;
        let mut next = transition(&fields, ty, names)?;
        let kind = match ty {
            "Pass" => StateKind::Pass,
            "Task" => StateKind::Task(task(&fields, names)?),
            "Choice" => {
                let choice = choice(&fields, names)?;
                next = choice.default.unwrap_or(Next::End);
                StateKind::Choice(choice)
            }
            "Parallel" => StateKind::Parallel(self.parallel(&fields, names)?),
            "Map" => StateKind::Map(self.map(&fields, names)?),
            "Wait" => StateKind::Wait(wait(&fields)?),
            "Succeed" => StateKind::Succeed,
            _ => StateKind::Fail(fail(&fields)?),
        };
        Ok(StateBody {
            kind,
            input,
            output,
            next,
        })
    }

    fn parallel(&mut self, fields: &Fields<'_>, names: &ScopeNames) -> Result<Parallel, Problem> {
        let branches_node = fields.require("Branches", "a Parallel state")?;
        let branches = branches_node.as_seq()?;
        if branches.is_empty() || branches.len() > MAX_PARALLEL_BRANCHES {
            return Err(Problem::at(
                branches_node.loc,
                format!(
                    "a Parallel state has from 1 to {MAX_PARALLEL_BRANCHES} branches, found {}",
                    branches.len()
                ),
            ));
        }
        let recovery = recovery(fields, names)?;
        let mut scopes = Vec::with_capacity(branches.len());
        for branch in branches {
            let branch = Fields::of(branch, "a Parallel branch")?;
            branch.allow_only(SCOPE_FIELDS, "a Parallel branch")?;
            scopes.push(self.compile_scope(&branch, "a Parallel branch"));
        }
        Ok(Parallel {
            branches: scopes,
            result: Aggregate::BranchKeys,
            recovery,
        })
    }

    fn map(&mut self, fields: &Fields<'_>, names: &ScopeNames) -> Result<Map, Problem> {
        let distributed = distributed_mode(fields)?;
        // Items read from OSS need no ItemsPath; one given beside an ItemReader is not used.
        let items = match (fields.get("ItemsPath"), &distributed) {
            (None, Some(d)) if d.reader.is_some() => Expr::Literal(serde_json::Value::Null),
            _ => expr_at(fields.require("ItemsPath", "a Map state")?, parse_cloudflow)?,
        };
        let max_concurrency = map_concurrency(fields, distributed.is_some())?;
        let item_input = match optional_constructor(fields.get("ItemConstructor"))? {
            Some(template) => ItemInput::Constructor(template),
            None => ItemInput::Item,
        };
        let recovery = recovery(fields, names)?;
        let processor = Fields::of(
            fields.require("Processor", "a Map state")?,
            "a Map Processor",
        )?;
        processor.allow_only(SCOPE_FIELDS, "a Map Processor")?;
        let processor = self.compile_scope(&processor, "a Map Processor");
        Ok(Map {
            items: Items::Expr(items),
            processor,
            max_concurrency,
            item_input,
            result: Aggregate::ItemsField,
            recovery,
            distributed,
            asl_limits: None,
        })
    }
}

fn spec_version(fields: &Fields<'_>) -> Result<(), Problem> {
    let node = fields.require("SpecVersion", "the flow definition")?;
    match node.as_str()? {
        "v1" => Ok(()),
        other => Err(Problem::at(
            node.text_loc(),
            format!("unsupported SpecVersion {other:?}; the supported version is \"v1\""),
        )),
    }
}

fn states_list(node: &Node) -> Result<&[Node], Problem> {
    let states = node
        .as_seq()
        .map_err(|_| node.expected("a list of states"))?;
    if states.is_empty() {
        return Err(Problem::at(node.loc, "States must list at least one state"));
    }
    Ok(states)
}

fn state_type(node: &Node) -> Result<&'static str, Problem> {
    one_of(node, STATE_TYPES, "state Type", "state types")
}

/// Clear messages for `Next`/`End` where the state type has none.
fn check_transition_fields(fields: &Fields<'_>, ty: &str) -> Result<(), Problem> {
    let misplaced = |key: &str, why: &str| {
        fields.get(key).map_or(Ok(()), |n| {
            Err(Problem::at(
                n.loc,
                format!("a {ty} state cannot have {key}: {why}"),
            ))
        })
    };
    match transition_of(ty) {
        Transition::Branches => {
            let why = "it continues at the Next of the matching branch or at Default";
            misplaced("Next", why)?;
            misplaced("End", why)
        }
        Transition::Terminal => misplaced("Next", "it ends the current scope"),
        Transition::NextOrEnd => Ok(()),
    }
}

/// The distributed mode of a Map (`ProcessorConfig: {Mode: Distributed}`), or `None` for an
/// inline Map, which may not have the distributed mode's fields.
fn distributed_mode(fields: &Fields<'_>) -> Result<Option<Distributed>, Problem> {
    let config = match fields.get("ProcessorConfig") {
        Some(node) => Some(Fields::of(node, "a ProcessorConfig")?),
        None => None,
    };
    if let Some(config) = &config {
        config.allow_only(PROCESSOR_CONFIG_FIELDS, "a ProcessorConfig")?;
    }
    let mode = match config.as_ref().and_then(|c| c.get("Mode")) {
        Some(node) => one_of(node, &["Inline", "Distributed"], "Map Mode", "modes")?,
        None => "Inline",
    };
    if mode == "Inline" {
        if let Some((key, node)) = DISTRIBUTED_MAP_FIELDS
            .iter()
            .find_map(|key| fields.get(key).map(|node| (key, node)))
        {
            return Err(Problem::at(
                node.loc,
                format!(
                    "{key} belongs to the distributed Map mode: add ProcessorConfig: {{Mode: Distributed}}"
                ),
            ));
        }
        return Ok(None);
    }
    let execution_mode = match config.as_ref().and_then(|c| c.get("ExecutionMode")) {
        Some(node) => match one_of(node, &["Standard", "Express"], "ExecutionMode", "modes")? {
            "Express" => ChildMode::Express,
            _ => ChildMode::Standard,
        },
        None => ChildMode::Standard,
    };
    let batcher = fields.get("ItemBatcher").map(batcher).transpose()?;
    let count = fields
        .get("ToleratedFailureCount")
        .map(|node| node.as_int_in(0, i64::from(u32::MAX)))
        .transpose()?
        .map(|count| u32::try_from(count).unwrap_or(u32::MAX));
    let percentage = match fields.get("ToleratedFailurePercentage") {
        Some(node) => {
            let value = node.as_f64()?;
            if !(0.0..=100.0).contains(&value) {
                return Err(Problem::at(
                    node.text_loc(),
                    format!("ToleratedFailurePercentage is from 0 to 100, found {value}"),
                ));
            }
            Some(value)
        }
        None => None,
    };
    let reader = match fields.get("ItemReader") {
        Some(node) => Some(Box::new(objects::item_reader(node, fields)?)),
        None => None,
    };
    if let (None, Some(node)) = (&reader, fields.get("MaxItems").or(fields.get("MaxItems.$"))) {
        return Err(Problem::at(
            node.loc,
            "MaxItems bounds the items of an ItemReader: this Map has none",
        ));
    }
    let writer = match fields.get("ResultWriter") {
        Some(node) => Some(Box::new(objects::result_writer(node)?)),
        None => None,
    };
    Ok(Some(Distributed {
        execution_mode,
        batcher,
        tolerated: ToleratedFailures { count, percentage },
        reader,
        writer,
    }))
}

fn batcher(node: &Node) -> Result<ItemBatcher, Problem> {
    let fields = Fields::of(node, "an ItemBatcher")?;
    fields.allow_only(ITEM_BATCHER_FIELDS, "an ItemBatcher")?;
    item_batcher(node, &fields)
}

fn transition(fields: &Fields<'_>, ty: &str, names: &ScopeNames) -> Result<Next, Problem> {
    if transition_of(ty) != Transition::NextOrEnd {
        fields.optional_bool("End")?;
        return Ok(Next::End);
    }
    let next = fields.get("Next");
    let end = fields.optional_bool("End")?.unwrap_or(false);
    match (next, end) {
        (Some(next), true) => Err(Problem::at(
            next.loc,
            "a state has either Next or End: true, not both",
        )),
        (Some(next), false) => names.resolve(next, "Next").map(Next::State),
        (None, true) => Ok(Next::End),
        (None, false) => Err(Problem::at(
            fields.loc(),
            format!("a {ty} state needs Next (the state that follows) or End: true"),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Constructors

/// A state's `GlobalConstructor`: a constructor whose keys name global variables, each at most
/// [`MAX_GLOBAL_KEY_BYTES`] long.
fn global_constructor(state: &Node) -> Result<Option<Template>, Problem> {
    let Some(node) = Fields::of(state, "a state")?.get("GlobalConstructor") else {
        return Ok(None);
    };
    for (key, _) in node.as_map()? {
        let name = key.text.strip_suffix(".$").unwrap_or(&key.text);
        if name.len() > MAX_GLOBAL_KEY_BYTES {
            return Err(Problem::at(
                key.loc,
                format!(
                    "a global variable's name is at most {MAX_GLOBAL_KEY_BYTES} bytes, {:?} has {}",
                    name,
                    name.len()
                ),
            ));
        }
    }
    constructor(node).map(Some)
}

fn optional_constructor(node: Option<&Node>) -> Result<Option<Template>, Problem> {
    node.map(constructor).transpose()
}

/// A constructor: a map whose `.$` keys hold expressions.
fn constructor(node: &Node) -> Result<Template, Problem> {
    node.as_map()?;
    template(node)
}

/// A value whose maps may have `.$` keys (at any depth).
pub(super) fn template(node: &Node) -> Result<Template, Problem> {
    if !has_expression_keys(node) {
        return Ok(Template::Literal(node.to_json()));
    }
    match &node.kind {
        NodeKind::Map(entries) => {
            let mut fields: Vec<(String, Template)> = Vec::with_capacity(entries.len());
            for (key, value) in entries {
                let (name, value) = match key.text.strip_suffix(".$") {
                    Some(name) => (name, Template::Expr(expr_at(value, parse_cloudflow)?)),
                    None => (key.text.as_str(), template(value)?),
                };
                if name.is_empty() || fields.iter().any(|(n, _)| n == name) {
                    return Err(Problem::at(
                        key.loc,
                        format!(
                            "the key {:?} gives the output key {name:?} twice or empty",
                            key.text
                        ),
                    ));
                }
                fields.push((name.to_string(), value));
            }
            Ok(Template::Object(fields))
        }
        NodeKind::Seq(items) => items
            .iter()
            .map(template)
            .collect::<Result<_, _>>()
            .map(Template::Array),
        _ => Ok(Template::Literal(node.to_json())),
    }
}

fn has_expression_keys(node: &Node) -> bool {
    match &node.kind {
        NodeKind::Map(entries) => entries
            .iter()
            .any(|(k, v)| k.text.ends_with(".$") || has_expression_keys(v)),
        NodeKind::Seq(items) => items.iter().any(has_expression_keys),
        _ => false,
    }
}

// ---------------------------------------------------------------------------------------------
// Task

fn task(fields: &Fields<'_>, names: &ScopeNames) -> Result<Task, Problem> {
    let action_node = fields.require("Action", "a Task state")?;
    let action = action_node.as_str()?;
    if !is_service_operation(action) {
        return Err(Problem::at(
            action_node.text_loc(),
            format!(
                "invalid Action {action:?}; expected <Service>:<Operation>, e.g. FC:InvokeFunction"
            ),
        ));
    }
    let mode = task_mode(fields.get("TaskMode"))?;
    reject_dynamic_timeout(fields)?;
    let timeout_secs = fields.get("Timeout").map(timeout).transpose()?.flatten();
    let parameters = fields.get("Parameters");
    if let Some(p) = parameters {
        p.as_map().map_err(|_| p.expected("Parameters as a map"))?;
    }
    let (target, body) = if action == FUNCTION_ACTION {
        function_call(parameters, fields)?
    } else {
        let body = parameters
            .map(template)
            .transpose()?
            .unwrap_or_else(empty_object);
        (TaskTarget::Action(action.to_string()), Body::Template(body))
    };
    Ok(Task {
        resource: resource_name(&target),
        target,
        mode,
        body,
        timeout_secs,
        heartbeat_secs: None,
        recovery: recovery(fields, names)?,
    })
}

fn empty_object() -> Template {
    Template::Literal(serde_json::Value::Object(serde_json::Map::new()))
}

fn is_service_operation(action: &str) -> bool {
    let word = |s: &str| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric());
    action
        .split_once(':')
        .is_some_and(|(service, operation)| word(service) && word(operation))
}

fn task_mode(node: Option<&Node>) -> Result<TaskMode, Problem> {
    let Some(node) = node else {
        return Ok(TaskMode::RequestComplete);
    };
    match node.as_str()? {
        "RequestComplete" => Ok(TaskMode::RequestComplete),
        "WaitForCustomCallback" => Ok(TaskMode::WaitForCustomCallback),
        "WaitForSystemCallback" => Ok(TaskMode::WaitForSystemCallback),
        other => Err(Problem::at(
            node.text_loc(),
            format!(
                "unknown TaskMode {other:?}; task modes: {}",
                TASK_MODES.join(", ")
            ),
        )),
    }
}

/// `Timeout`: whole seconds from 0 to [`MAX_TASK_TIMEOUT_SECS`], written as a number or as a
/// string of digits (the Task page types it `string`, example `30`); 0 means the task never
/// times out.
fn timeout(node: &Node) -> Result<Option<u64>, Problem> {
    let seconds = match &node.kind {
        NodeKind::Number(n) => n.as_u64(),
        NodeKind::String(s) if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) => {
            s.parse::<u64>().ok()
        }
        _ => None,
    }
    .filter(|s| *s <= MAX_TASK_TIMEOUT_SECS)
    .ok_or_else(|| {
        node.expected(&format!(
            "Timeout as a whole number of seconds from 0 (never) to {MAX_TASK_TIMEOUT_SECS}, such as 30 or \"30\""
        ))
    })?;
    Ok((seconds > 0).then_some(seconds))
}

/// `Timeout.$` would set a task's timeout from its input when it starts; the engine takes a
/// task's timeout from the definition only, so it is refused with the way around it.
fn reject_dynamic_timeout(fields: &Fields<'_>) -> Result<(), Problem> {
    fields.get("Timeout.$").map_or(Ok(()), |node| {
        Err(Problem::at(
            node.loc,
            "Timeout.$ (a timeout read from the input) is not supported; give Timeout in seconds",
        ))
    })
}

/// `FC:InvokeFunction`: the function from `Parameters.resourceArn`, the payload from
/// `Parameters.body`.
fn function_call(
    parameters: Option<&Node>,
    state: &Fields<'_>,
) -> Result<(TaskTarget, Body), Problem> {
    let missing = || {
        Problem::at(
            state.loc(),
            "FC:InvokeFunction requires Parameters.resourceArn (acs:fc:{region}:{account}:services/{service}[.{qualifier}]/functions/{function})",
        )
    };
    let parameters = Fields::of(parameters.ok_or_else(missing)?, "Parameters")?;
    parameters.allow_only(FUNCTION_PARAMETERS, "the Parameters of FC:InvokeFunction")?;
    let arn_node = parameters.get("resourceArn").ok_or_else(missing)?;
    let arn = arn_node
        .as_str()
        .map_err(|_| arn_node.expected("resourceArn as a literal string"))?;
    let mut function = match function_ref(arn) {
        Ok(Some(function)) => function,
        Ok(None) => {
            return Err(Problem::at(
                arn_node.text_loc(),
                format!(
                    "resourceArn {arn:?} is not a Function Compute function; expected {FUNCTION_ARN_SHAPE}"
                ),
            ));
        }
        Err(message) => return Err(Problem::at(arn_node.text_loc(), message)),
    };
    if let Some(kind) = parameters.get("invocationType") {
        function.invocation = match kind.as_str()? {
            "Sync" => Invocation::Sync,
            "Async" => Invocation::Async,
            other => {
                return Err(Problem::at(
                    kind.text_loc(),
                    format!("unknown invocationType {other:?}; expected Sync or Async"),
                ));
            }
        };
    }
    let body = match (parameters.get("body"), parameters.get("body.$")) {
        (Some(_), Some(dynamic)) => {
            return Err(Problem::at(
                dynamic.loc,
                "give either body or body.$, not both",
            ));
        }
        (Some(body), None) => template(body)?,
        (None, Some(dynamic)) => Template::Expr(expr_at(dynamic, parse_cloudflow)?),
        (None, None) => empty_object(),
    };
    Ok((TaskTarget::Function(function), Body::Template(body)))
}

// ---------------------------------------------------------------------------------------------
// Retry and Catch

fn recovery(fields: &Fields<'_>, names: &ScopeNames) -> Result<Recovery, Problem> {
    let mut recovery = Recovery::default();
    for rule in optional_list(fields.get("Retry"))? {
        recovery.retry.push(build_retrier(rule, &RETRY, &[])?);
    }
    for rule in optional_list(fields.get("Catch"))? {
        recovery.catch.push(catcher(rule, names)?);
    }
    for rule in optional_list(fields.get("OnErrors"))? {
        on_errors_entry(rule, names, &mut recovery)?;
    }
    Ok(recovery)
}

fn optional_list(node: Option<&Node>) -> Result<&[Node], Problem> {
    node.map_or(Ok(&[][..]), Node::as_seq)
}

fn catcher(node: &Node, names: &ScopeNames) -> Result<Catcher, Problem> {
    let fields = Fields::of(node, "a Catch entry")?;
    fields.allow_only(
        &["Errors", "Next", "OutputConstructor", "Description"],
        "a Catch entry",
    )?;
    Ok(Catcher {
        errors: error_names(fields.require("Errors", "a Catch entry")?)?,
        next: names.resolve(fields.require("Next", "a Catch entry")?, "Catch Next")?,
        output: optional_constructor(fields.get("OutputConstructor"))?,
        asl: None,
    })
}

/// The older `OnErrors` form: an entry with `Retry` retries, an entry with `Next` catches.
fn on_errors_entry(
    node: &Node,
    names: &ScopeNames,
    recovery: &mut Recovery,
) -> Result<(), Problem> {
    let owner = "an OnErrors entry";
    let fields = Fields::of(node, owner)?;
    fields.allow_only(
        &[
            "Errors",
            "Retry",
            "Next",
            "OutputConstructor",
            "Description",
        ],
        owner,
    )?;
    let errors = error_names(fields.require("Errors", owner)?)?;
    let retry = fields.get("Retry");
    let next = fields.get("Next");
    if retry.is_none() && next.is_none() {
        return Err(Problem::at(
            fields.loc(),
            "an OnErrors entry needs Retry, Next or both",
        ));
    }
    if let Some(retry) = retry {
        recovery
            .retry
            .push(build_retrier(retry, &ON_ERRORS_RETRY, &errors)?);
    }
    if let Some(next) = next {
        recovery.catch.push(Catcher {
            errors,
            next: names.resolve(next, "OnErrors Next")?,
            output: optional_constructor(fields.get("OutputConstructor"))?,
            asl: None,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Choice, Map, Wait, Fail

fn choice(fields: &Fields<'_>, names: &ScopeNames) -> Result<Choice, Problem> {
    let branches_node = fields.require("Branches", "a Choice state")?;
    let branches = branches_node.as_seq()?;
    if branches.is_empty() {
        return Err(Problem::at(
            branches_node.loc,
            "a Choice state needs at least one branch",
        ));
    }
    let branches = branches
        .iter()
        .map(|b| choice_branch(b, names))
        .collect::<Result<_, _>>()?;
    let default = fields.require(
        "Default",
        "a Choice state (the state to go to when no branch matches)",
    )?;
    Ok(Choice {
        branches,
        default: Some(Next::State(names.resolve(default, "Default")?)),
    })
}

fn choice_branch(node: &Node, names: &ScopeNames) -> Result<ChoiceBranch, Problem> {
    let owner = "a Choice branch";
    let fields = Fields::of(node, owner)?;
    fields.allow_only(&["Condition", "Next", "Description"], owner)?;
    Ok(ChoiceBranch {
        condition: Condition::Expr(condition(fields.require("Condition", owner)?)?),
        next: Next::State(names.resolve(fields.require("Next", owner)?, "Next")?),
        asl: None,
    })
}

/// A condition expression (`true`/`false` written as YAML booleans are accepted too).
pub(super) fn condition(node: &Node) -> Result<Expr, Problem> {
    condition_with(node, parse_cloudflow)
}

/// A condition reads absent keys as `null` ([`Expr::AbsentAsNull`]): the choice and fail
/// pages of both forms say that an input without the key goes to the default branch.
pub(super) fn condition_with(node: &Node, parser: ExprParser) -> Result<Expr, Problem> {
    match &node.kind {
        NodeKind::Bool(b) => Ok(Expr::Literal(serde_json::Value::Bool(*b))),
        NodeKind::String(_) => Ok(Expr::AbsentAsNull(Box::new(expr_at(node, parser)?))),
        _ => Err(node.expected("a condition expression")),
    }
}

/// `MaxConcurrency`: up to 40 iterations inline (the Inline mode page), up to
/// [`MAX_DISTRIBUTED_CONCURRENCY`] children distributed.
fn map_concurrency(fields: &Fields<'_>, distributed: bool) -> Result<u32, Problem> {
    let node = match (fields.get("MaxConcurrency"), fields.get("MaxConcuccency")) {
        (None, None) => return Ok(0),
        (Some(node), None) | (None, Some(node)) => node,
        (Some(_), Some(misspelled)) => {
            return Err(Problem::at(
                misspelled.loc,
                "give MaxConcurrency only once (MaxConcuccency is the same field, misspelled)",
            ));
        }
    };
    let max = if distributed {
        MAX_DISTRIBUTED_CONCURRENCY
    } else {
        MAX_MAP_CONCURRENCY
    };
    let value = node.as_int_in(0, max)?;
    Ok(u32::try_from(value).unwrap_or(0))
}

fn wait(fields: &Fields<'_>) -> Result<Wait, Problem> {
    match (fields.get("Seconds"), fields.get("Seconds.$")) {
        (Some(_), Some(dynamic)) => Err(Problem::at(
            dynamic.loc,
            "give either Seconds or Seconds.$, not both",
        )),
        (Some(seconds), None) => {
            let seconds = seconds.as_int_in(0, MAX_WAIT_SECS)?;
            Ok(Wait::Seconds(u64::try_from(seconds).unwrap_or(0)))
        }
        (None, Some(dynamic)) => Ok(Wait::SecondsExpr(expr_at(dynamic, parse_cloudflow)?)),
        (None, None) => Err(Problem::at(
            fields.loc(),
            "a Wait state requires Seconds (a number) or Seconds.$ (an expression)",
        )),
    }
}

fn fail(fields: &Fields<'_>) -> Result<Fail, Problem> {
    Ok(Fail {
        code: fields.optional_str("Code")?.map(str::to_string),
        detail: fields.optional_str("Detail")?.map(str::to_string),
        code_from: None,
        detail_from: None,
    })
}

#[cfg(test)]
mod tests {
    use sluice_ir::{Invocation, StateKind, Task, TaskTarget};

    use crate::cloudflow::parse;

    fn first_task(text: &str) -> Task {
        let flow = parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        match &flow.state(flow.root().start).kind {
            StateKind::Task(task) => task.clone(),
            other => panic!("{other:?}"),
        }
    }

    fn task_with_timeout(timeout: &str) -> Task {
        first_task(&format!(
            "Type: StateMachine\nName: f\nSpecVersion: v1\nStartAt: T\nStates:\n  - Type: Task\n    Name: T\n    Action: HTTP:Request\n    Timeout: {timeout}\n    End: true\n"
        ))
    }

    fn invocation(parameter: &str) -> Invocation {
        let task = first_task(&format!(
            "Type: StateMachine\nName: f\nSpecVersion: v1\nStartAt: T\nStates:\n  - Type: Task\n    Name: T\n    Action: FC:InvokeFunction\n    Parameters:\n      resourceArn: acs:fc:::services/s/functions/f\n{parameter}    End: true\n"
        ));
        match task.target {
            TaskTarget::Function(function) => function.invocation,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn invocation_type_is_sync_unless_async() {
        assert_eq!(invocation(""), Invocation::Sync);
        assert_eq!(invocation("      invocationType: Sync\n"), Invocation::Sync);
        assert_eq!(
            invocation("      invocationType: Async\n"),
            Invocation::Async
        );
    }

    #[test]
    fn timeout_is_seconds_as_a_number_or_a_string_and_0_is_never() {
        assert_eq!(task_with_timeout("30").timeout_secs, Some(30));
        assert_eq!(task_with_timeout("\"30\"").timeout_secs, Some(30));
        assert_eq!(task_with_timeout("'604800'").timeout_secs, Some(604_800));
        assert_eq!(task_with_timeout("0").timeout_secs, None);
        assert_eq!(task_with_timeout("\"0\"").timeout_secs, None);
    }
}
