//! The IR of a definition: states in an arena, grouped into scopes.
//!
//! Invariants (established by the language front ends, relied on by the engine):
//! - every [`StateId`] and [`ScopeId`] indexes into [`Flow::states`] / [`Flow::scopes`];
//! - scope 0 is the top level; each Parallel branch, Map processor and Dag node is its own
//!   scope;
//! - a state's `next` and a Choice's targets point into the state's own scope;
//! - a Dag's `after` indices point into its own `nodes` and form no cycle;
//! - the limits (branch count, Map concurrency, retry intervals) have been checked.

use serde::{Deserialize, Serialize};

use crate::asl::{AslData, AslTemplate, AslValue};
use crate::expr::Expr;
use crate::expr::asl::{JsonataTemplate, Rule};
use crate::names::StateName;
use crate::template::Template;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct StateId(pub u32);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ScopeId(pub u32);

impl ScopeId {
    pub const ROOT: ScopeId = ScopeId(0);
}

/// Which language a flow was written in (kept for rendering and for language-specific
/// defaults the front end could not express in the IR).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Language {
    /// CloudFlow FDL, `Type: StateMachine`.
    CloudFlow,
    /// Serverless Workflow FDL, `type: flow` with `steps`.
    CloudFlowLegacy,
    /// Huawei FunctionGraph workflows v2 (`WorkflowCreateBody` JSON).
    FunctionGraphV2,
    /// Huawei FunctionGraph legacy v1.0 `cloud_graphs` definitions.
    FunctionGraphV1,
    /// Huawei DataArts Factory jobs (`JobInfo` JSON).
    DataArts,
    /// The Amazon States Language.
    Asl,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flow {
    pub language: Language,
    /// The `Name` written in the definition, if any.
    pub name: Option<String>,
    /// ASL `TimeoutSeconds`: the execution times out after this long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<u64>,
    pub states: Vec<State>,
    pub scopes: Vec<Scope>,
}

impl Flow {
    pub fn state(&self, id: StateId) -> &State {
        &self.states[id.0 as usize]
    }

    pub fn scope(&self, id: ScopeId) -> &Scope {
        &self.scopes[id.0 as usize]
    }

    pub fn root(&self) -> &Scope {
        self.scope(ScopeId::ROOT)
    }

    pub fn find_state(&self, scope: ScopeId, name: &str) -> Option<StateId> {
        self.scope(scope)
            .states
            .iter()
            .copied()
            .find(|id| self.state(*id).name.as_str() == name)
    }
}

/// A sequence of states with one entry point: the flow itself, a Parallel branch, a Map
/// processor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    pub start: StateId,
    pub states: Vec<StateId>,
    pub data: DataModel,
    /// Builds the scope's input from the input it is given (legacy flow-level
    /// `inputMappings`, on the top-level scope).
    #[serde(default)]
    pub input: Option<Template>,
    /// Builds the scope's output from its final data (legacy flow-level `outputMappings`).
    pub output: Option<Template>,
}

/// How data moves between the states of a scope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DataModel {
    /// CloudFlow: a state's output is the next state's input; the scope's output is the last
    /// state's output.
    Pipe,
    /// Legacy steps: the scope keeps its input and a `local` object. A state's input is built
    /// from `$input` (scope input) and `$local` (by default the two merged, local winning);
    /// its output is merged into `local`; the scope's output is `local`.
    Merge,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub name: StateName,
    pub scope: ScopeId,
    pub kind: StateKind,
    /// Replaces the state's input (`InputConstructor`, `inputMappings`).
    pub input: Option<Template>,
    /// Shapes the state's output from `$Input` and `$Output` (`OutputConstructor`,
    /// `outputMappings`).
    pub output: Option<Template>,
    /// Written into the execution's global variables when the state finishes
    /// (`GlobalConstructor`): evaluated with `$Output` the state's raw result, merged into
    /// `$Global` after the `OutputConstructor` (which sees `$Global` as it was).
    #[serde(default)]
    pub global: Option<Template>,
    pub next: Next,
    /// An ASL state's data processing, which replaces `input` and `output`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asl: Option<Box<AslData>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Next {
    State(StateId),
    /// `End: true`: the state ends its scope.
    End,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum StateKind {
    Pass,
    Task(Task),
    Choice(Choice),
    Parallel(Parallel),
    Map(Map),
    /// Nodes run as their predecessors finish (DataArts jobs).
    Dag(Dag),
    Wait(Wait),
    /// Ends the current scope successfully with the state's input as output.
    Succeed,
    Fail(Fail),
}

impl StateKind {
    /// The name CloudFlow uses for the state type (`Pass`, `Task`, …).
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass => "Pass",
            StateKind::Task(_) => "Task",
            StateKind::Choice(_) => "Choice",
            StateKind::Parallel(_) => "Parallel",
            StateKind::Map(_) => "Map",
            StateKind::Dag(_) => "Dag",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail(_) => "Fail",
        }
    }

    /// Retry and Catch of the states that have them.
    pub fn recovery(&self) -> Option<&Recovery> {
        match self {
            StateKind::Task(t) => Some(&t.recovery),
            StateKind::Parallel(p) => Some(&p.recovery),
            StateKind::Map(m) => Some(&m.recovery),
            StateKind::Dag(d) => Some(&d.recovery),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Task {
    pub target: TaskTarget,
    /// How history events name the target (`resource` in `TaskScheduled`'s detail), in the
    /// definition language's own spelling: an ARN, a URN, an action's name.
    pub resource: String,
    pub mode: TaskMode,
    /// What the task is called with.
    pub body: Body,
    /// `Timeout` / `timeoutSeconds`: covers the call and, in callback modes, the wait.
    pub timeout_secs: Option<u64>,
    /// ASL `HeartbeatSeconds`: a callback or activity task fails with a heartbeat timeout
    /// when no heartbeat (or result) comes within this period.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_secs: Option<u64>,
    pub recovery: Recovery,
}

/// Actions the runtime performs itself (any other action needs an endpoint configured for it).
pub mod actions {
    /// An HTTP request described by the task's body: `{url, method, headers, body}`.
    pub const HTTP: &str = "sluice:http";
    /// An HTTP request as AWS's HTTP Task describes it (`ApiEndpoint`, `Method`, `Headers`,
    /// `QueryParameters`, `RequestBody`, `Transform`), answered in its shape.
    pub const HTTP_TASK: &str = "sluice:http-task";
    /// A shell script (`{script}`), run only where the server's configuration allows it.
    pub const SHELL: &str = "sluice:shell";
    /// Submits a callback task that waits for an event (FunctionGraph v1 EVENT states): the
    /// call answers at once; the event arrives as the task's callback report.
    pub const EVENT: &str = "sluice:event";
    /// Reads a distributed Map's items from a bucket ([`crate::objects::ItemsRequest`]).
    pub const READ_ITEMS: &str = "sluice:read-items";
    /// Writes a distributed Map's results to a bucket ([`crate::objects::ResultsRequest`]).
    pub const WRITE_RESULTS: &str = "sluice:write-results";
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskTarget {
    /// `FC:InvokeFunction` (or a legacy `resourceArn` naming a function).
    Function(FunctionRef),
    /// Any other `Service:Operation`; the runtime decides whether it can run it.
    Action(String),
    /// A Step Functions activity of the execution's tenant, by name: nothing is called; the
    /// task waits for a worker to take it (`GetActivityTask`) and report its result with the
    /// task's token.
    Activity(String),
    /// An execution of another flow of the execution's tenant (ASL
    /// `arn:aws:states:::states:startExecution[.sync[:2]]`), named by the task's input
    /// ([`crate::asl::NestedStart`]). Waited for, it is a child execution, stopped with its
    /// parent; not waited for, it runs on its own.
    Execution(NestedWait),
}

/// Whether a task that starts an execution waits for its end, and how it hands on the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NestedWait {
    /// The task ends once the execution started (`startExecution`).
    Started,
    /// The task ends with the execution; its output as JSON text (`startExecution.sync`).
    OutputText,
    /// The task ends with the execution; its output as JSON (`startExecution.sync:2`).
    OutputJson,
}

/// A Function Compute function as named by a resource ARN:
/// `acs:fc:{region}:{account}:services/{service}[.{qualifier}]/functions/{function}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct FunctionRef {
    pub service: String,
    pub qualifier: Option<String>,
    pub function: String,
    /// How the function is asked to run (CloudFlow `Parameters.invocationType`).
    #[serde(default, skip_serializing_if = "Invocation::is_sync")]
    pub invocation: Invocation,
}

/// Function Compute's invocation types: `Sync` answers with the function's result; `Async`
/// accepts the event at once and runs the function on, its result going nowhere.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Invocation {
    #[default]
    Sync,
    Async,
}

impl Invocation {
    pub fn is_sync(&self) -> bool {
        *self == Invocation::Sync
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Body {
    /// The state's input is the payload (legacy task steps).
    StateInput,
    /// Evaluated with the state's input (CloudFlow `Parameters.body`, or all `Parameters` for
    /// non-function actions).
    Template(Template),
    /// ASL `lambda:invoke`: the `Payload` of the effective input is sent, and the answer
    /// becomes Lambda's result wrapper (`{ExecutedVersion, Payload, StatusCode, …}`).
    LambdaPayload,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TaskMode {
    /// The call's answer is the task's result.
    RequestComplete,
    /// The call submits the task; its result arrives through `ReportTaskSucceeded/Failed`
    /// with the task token.
    WaitForCustomCallback,
    /// The call's completion is reported by the system (for a function: when it returns).
    WaitForSystemCallback,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recovery {
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Retrier {
    pub errors: Vec<String>,
    /// Retries after the first attempt.
    pub max_attempts: u32,
    pub interval_secs: u64,
    pub backoff_rate: f64,
    pub max_backoff_secs: Option<u64>,
    /// ASL `JitterStrategy: FULL`: each delay is drawn uniformly from zero to the computed
    /// delay, with a random number the engine is given.
    #[serde(default)]
    pub full_jitter: bool,
}

impl Retrier {
    /// The delay before retry number `retry` (1-based), in milliseconds.
    pub fn delay_ms(&self, retry: u32) -> u64 {
        let factor = self
            .backoff_rate
            .max(1.0)
            .powi(retry.saturating_sub(1) as i32);
        let mut secs = self.interval_secs as f64 * factor;
        if let Some(max) = self.max_backoff_secs {
            secs = secs.min(max as f64);
        }
        // Keep within the documented 86,400 s bound even if backoff overflows.
        (secs.min(86_400.0) * 1000.0) as u64
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Catcher {
    pub errors: Vec<String>,
    pub next: StateId,
    /// Builds the input of `next` (sees `$Context.Current.Error`). Without it, the input of
    /// `next` is the error object `{"Code", "Detail"}` (merged into local for legacy steps).
    pub output: Option<Template>,
    /// ASL: the catcher's `ResultPath` or `Output`, and `Assign`, applied to the error output
    /// `{"Error", "Cause"}` (replaces `output`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asl: Option<Box<AslData>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    pub branches: Vec<ChoiceBranch>,
    /// Where to go when no branch matches; without it, the state fails (ASL
    /// `States.NoChoiceMatched`).
    pub default: Option<Next>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoiceBranch {
    pub condition: Condition,
    pub next: Next,
    /// ASL: the rule's own `Assign` and `Output`, which take the place of the Choice state's
    /// when the rule matches.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asl: Option<Box<RuleData>>,
}

/// What a matched ASL Choice Rule assigns and outputs instead of its state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleData {
    pub assign: Option<AslTemplate>,
    /// JSONata only.
    pub output: Option<JsonataTemplate>,
}

impl RuleData {
    /// The Choice state's `data` with what the rule gives in place of the state's own.
    pub fn over(&self, data: &AslData) -> AslData {
        AslData {
            assign: self.assign.clone().or_else(|| data.assign.clone()),
            output: self.output.clone().or_else(|| data.output.clone()),
            ..data.clone()
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Condition {
    /// An expression that gives `true` or `false`.
    Expr(Expr),
    /// An ASL Choice Rule (JSONPath operators or a JSONata `Condition`).
    Rule(Rule),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Parallel {
    pub branches: Vec<ScopeId>,
    pub result: Aggregate,
    pub recovery: Recovery,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Map {
    /// Yields the array to iterate (`ItemsPath`, `iterationMapping.collection`, ASL `Items`).
    pub items: Items,
    pub processor: ScopeId,
    /// At most this many iterations run at once; 0 means no bound.
    pub max_concurrency: u32,
    pub item_input: ItemInput,
    pub result: Aggregate,
    pub recovery: Recovery,
    /// Distributed mode: each item (or batch of items) runs as a child execution of the
    /// processor, with its own history, instead of an iteration inside this execution.
    #[serde(default)]
    pub distributed: Option<Distributed>,
    /// ASL's limits read at run time (`MaxConcurrencyPath`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub asl_limits: Option<Box<MapLimits>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Items {
    /// Evaluated with the state's input.
    Expr(Expr),
    /// ASL: `ItemsPath` (against the effective input) or JSONata `Items`.
    Asl(AslValue),
}

/// ASL Map limits read from the input.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MapLimits {
    /// `MaxConcurrencyPath`, or a JSONata `MaxConcurrency` (replaces `max_concurrency`).
    pub max_concurrency: Option<AslValue>,
    /// `ToleratedFailureCountPath` or JSONata `ToleratedFailureCount`: a distributed Map's
    /// replaces its `tolerated.count`; an INLINE Map's is read and checked only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_count: Option<AslValue>,
    /// `ToleratedFailurePercentagePath` or JSONata `ToleratedFailurePercentage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tolerated_percentage: Option<AslValue>,
}

/// How a distributed Map runs its children (CloudFlow `ProcessorConfig: {Mode: Distributed}`;
/// the Amazon States Language's distributed Map has the same parts).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Distributed {
    pub execution_mode: ChildMode,
    /// Groups items into one child's input; `None`: a child per item.
    pub batcher: Option<ItemBatcher>,
    pub tolerated: ToleratedFailures,
    /// Items read from a bucket instead of the Map's input.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reader: Option<Box<crate::objects::ItemReader>>,
    /// Results written to a bucket instead of the Map's output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writer: Option<Box<crate::objects::ResultWriter>>,
}

/// How a child execution runs (CloudFlow `ExecutionMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ChildMode {
    Standard,
    Express,
}

/// A child's input is `{"Items": [...]}` (with `"BatchInput"` when given) of at most
/// `max_items` items and `max_bytes` serialized bytes of items (0: no bound).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemBatcher {
    pub max_items: u32,
    pub max_bytes: u64,
    pub batch_input: Option<serde_json::Value>,
}

/// How many children may fail before the Map fails: more than `count`, or more than
/// `percentage` percent of the children, fails it; neither set, the first failure does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ToleratedFailures {
    pub count: Option<u32>,
    pub percentage: Option<f64>,
}

impl ToleratedFailures {
    /// Whether `failed` failures out of `total` children exceed what is tolerated.
    pub fn exceeded(&self, failed: u32, total: u32) -> bool {
        let over_count = self.count.map(|count| failed > count);
        let over_percentage = self
            .percentage
            .map(|percentage| f64::from(failed) * 100.0 > percentage * f64::from(total));
        match (over_count, over_percentage) {
            (None, None) => failed > 0,
            (count, percentage) => count.unwrap_or(false) || percentage.unwrap_or(false),
        }
    }
}

/// A graph of nodes, each a scope run with the state's input once every node it comes
/// `after` has finished: nodes without predecessors start at once, together. The state's
/// result is an object of the nodes' outputs by node name, in node order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dag {
    pub nodes: Vec<DagNode>,
    /// Retry and Catch of the whole graph (a node's own retries belong to its states).
    pub recovery: Recovery,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DagNode {
    /// Unique within the Dag; the key of the node's output.
    pub name: String,
    pub scope: ScopeId,
    /// Indices into [`Dag::nodes`] of the nodes this one waits for.
    pub after: Vec<u32>,
    pub on_failure: NodeFailure,
}

/// What the failure of a node (its scope failing, retries spent) does to the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NodeFailure {
    /// The graph fails at once with the node's error: running nodes are cancelled, the
    /// others never start (DataArts `FAIL`).
    Fail,
    /// The node counts as finished, its error object as its output: its successors run
    /// (DataArts `IGNORE`).
    Continue,
    /// No further node starts; the nodes already running finish; then the graph fails with
    /// the node's error (DataArts `SUSPEND`: the vendor pauses the instance for an operator;
    /// sluice has no paused state, so it drains and fails, and a rerun resumes the job).
    Drain,
}

/// How the outputs of branches or iterations become the state's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Aggregate {
    /// `{"Branch0": …, "Branch1": …}` (CloudFlow Parallel).
    BranchKeys,
    /// `{"Items": [ … ]}` (CloudFlow Map).
    ItemsField,
    /// `[ … ]` (legacy parallel and foreach: `$local` is the array).
    Array,
}

/// The input of each Map iteration.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ItemInput {
    /// The item itself.
    Item,
    /// `ItemConstructor`, evaluated with `$Item` = the item and `$Input` = the Map's input.
    Constructor(Template),
    /// Legacy `iterationMapping`: the step's input with the item under `item` (and its index
    /// under `index`, if named).
    Merge { item: String, index: Option<String> },
    /// ASL `ItemSelector` (or `Parameters`), evaluated with `$$.Map.Item.Value` and
    /// `$$.Map.Item.Index` in the context object (JSONata: `$states.context.Map.Item`).
    Selector(AslTemplate),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Wait {
    Seconds(u64),
    /// `Seconds.$` / a legacy `duration: $.key`: evaluated against the state's input.
    SecondsExpr(Expr),
    /// An RFC 3339 instant, in milliseconds since the Unix epoch.
    Until(i64),
    /// A legacy `timestamp: $.key`, evaluated to an RFC 3339 string.
    UntilExpr(Expr),
    /// ASL `SecondsPath` or a JSONata `Seconds`.
    SecondsAsl(AslValue),
    /// ASL `TimestampPath` or a JSONata `Timestamp`.
    UntilAsl(AslValue),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fail {
    pub code: Option<String>,
    pub detail: Option<String>,
    /// ASL `ErrorPath` or a JSONata `Error` (replaces `code`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_from: Option<AslValue>,
    /// ASL `CausePath` or a JSONata `Cause` (replaces `detail`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail_from: Option<AslValue>,
}
