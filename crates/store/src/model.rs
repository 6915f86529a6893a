//! The records the store keeps. Identifiers are newtypes; statuses are the engine's enums.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

use sluice_engine::{
    Effect, Execution, HistoryEvent, Millis, OpId, PendingOp, Redrives, Status, Step, TaskCall,
};
use sluice_ir::{Dialect, TaskError};

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(value: impl Into<String>) -> Self {
                Self(value.into())
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{:?}", self.0)
            }
        }
    };
}

string_id!(
    /// An account: every flow and execution belongs to exactly one.
    TenantId
);
string_id!(
    /// A flow's name, unique within its tenant.
    FlowName
);
string_id!(
    /// An execution's name, unique within its flow.
    ExecutionName
);

/// A flow's surrogate key. A flow deleted and created again under the same name gets a new id,
/// so the old executions stay invisible (CloudFlow semantics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct FlowId(pub i64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct ExecutionId(pub i64);

impl fmt::Display for ExecutionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum ExecutionMode {
    /// Durable, asynchronous, up to a year, full history.
    Standard,
    /// Synchronous, at most 5 minutes, no queryable history.
    Express,
}

impl ExecutionMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ExecutionMode::Standard => "Standard",
            ExecutionMode::Express => "Express",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "Standard" => Some(ExecutionMode::Standard),
            "Express" => Some(ExecutionMode::Express),
            _ => None,
        }
    }
}

/// A flow and its current definition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlowRecord {
    pub id: FlowId,
    pub tenant: TenantId,
    pub name: FlowName,
    pub description: String,
    /// The definition text as the user sent it (returned verbatim).
    pub definition: String,
    /// Which API and language created it: how to parse `definition`.
    pub dialect: Dialect,
    pub role_arn: Option<String>,
    pub mode: ExecutionMode,
    /// Dialect-specific attributes kept verbatim (CloudFlow `Environment`, …).
    pub attributes: Value,
    /// A dialect's grouping of flows that listings filter on (the DataArts workspace); its
    /// executions carry it too.
    pub tag: Option<String>,
    /// Increases with every update of the definition; executions remember the revision they
    /// run, and concurrent updates compare-and-set on it.
    pub revision: i64,
    /// A closed flow refuses new executions (a GES graph stop closes its flow).
    pub open: bool,
    pub created_at: Millis,
    pub modified_at: Millis,
}

impl FlowRecord {
    /// The flow's id as every dialect shows it (CloudFlow `Id`, GES `graph_id`, FunctionGraph
    /// `workflow_id`): the surrogate key in hex, then the name, so a flow deleted and created
    /// again under its name gets a new public id.
    pub fn public_id(&self) -> String {
        format!("{:016x}-{}", self.id.0, self.name)
    }

    /// The key and name a public id names, if it is one.
    pub fn parse_public_id(public: &str) -> Option<(FlowId, FlowName)> {
        let (hex, name) = public.split_once('-')?;
        if hex.len() != 16 || name.is_empty() {
            return None;
        }
        let id = i64::from_str_radix(hex, 16).ok()?;
        Some((FlowId(id), FlowName::new(name)))
    }
}

/// A definition as stored: its text and the dialect that knows how to compile it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowDefinition {
    pub dialect: Dialect,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewFlow {
    pub tenant: TenantId,
    pub name: FlowName,
    pub description: String,
    pub definition: String,
    pub dialect: Dialect,
    pub role_arn: Option<String>,
    pub mode: ExecutionMode,
    pub attributes: Value,
    pub tag: Option<String>,
    pub now: Millis,
}

/// Changes to a flow; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowUpdate {
    pub description: Option<String>,
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    /// Members replacing those of the current attributes (the others are kept).
    pub attributes: Option<Value>,
    pub open: Option<bool>,
    /// When the change is made: the flow's new `modified_at`.
    pub now: Millis,
}

/// Which of a tenant's live flows a listing selects: all of them, or those whose name matches
/// and whose mode and tag are the ones given.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowQuery {
    pub tenant: TenantId,
    pub name: Option<NameMatch>,
    pub mode: Option<ExecutionMode>,
    pub tag: Option<String>,
}

impl FlowQuery {
    /// Every live flow of the tenant.
    pub fn all(tenant: &TenantId) -> Self {
        Self {
            tenant: tenant.clone(),
            name: None,
            mode: None,
            tag: None,
        }
    }
}

/// How a name filter matches (byte-wise: `_` and `%` are no wildcards).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameMatch {
    Exact(String),
    Contains(String),
}

/// Which part of a listing to read, in the listing's order: the items after `after` (the key
/// of the last item read before: keyset pagination), less the first `skip` of those (for the
/// APIs that page by offset), at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<K> {
    pub after: Option<K>,
    pub skip: usize,
    pub limit: usize,
}

impl<K> Page<K> {
    /// The first `limit` items.
    pub fn first(limit: usize) -> Self {
        Self {
            after: None,
            skip: 0,
            limit,
        }
    }

    /// At most `limit` items after `after` (from the start without one).
    pub fn after(after: Option<K>, limit: usize) -> Self {
        Self {
            after,
            skip: 0,
            limit,
        }
    }

    /// At most `limit` items, the first `skip` left out.
    pub fn offset(skip: usize, limit: usize) -> Self {
        Self {
            after: None,
            skip,
            limit,
        }
    }
}

/// An execution: its engine state plus the columns lists filter on.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionRecord {
    pub id: ExecutionId,
    pub tenant: TenantId,
    pub flow_id: FlowId,
    pub flow_name: FlowName,
    /// The flow revision whose definition this execution runs.
    pub flow_revision: i64,
    pub name: ExecutionName,
    /// The version (and alias) its start named, if any.
    pub started_as: StartedAs,
    pub state: Execution,
    /// Bumped by every committed step (compare-and-set).
    pub version: i64,
    pub created_at: Millis,
}

impl ExecutionRecord {
    pub fn status(&self) -> Status {
        self.state.status()
    }

    /// What a listing shows of it. `listed_at` is its creation: only a listing knows a
    /// rerun's place.
    pub fn summary(&self) -> ExecutionSummary {
        ExecutionSummary {
            id: self.id,
            flow_id: self.flow_id,
            flow_name: self.flow_name.clone(),
            flow_revision: self.flow_revision,
            name: self.name.clone(),
            started_as: self.started_as.clone(),
            redrives: self.state.redrives(),
            status: self.state.status(),
            started_at: self.state.started_at(),
            stopped_at: self.state.stopped_at(),
            error: self.state.error().cloned(),
            created_at: self.created_at,
            listed_at: self.created_at,
        }
    }
}

/// What listings show of an execution: the columns the store keeps beside its engine state,
/// read without decoding that state.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionSummary {
    pub id: ExecutionId,
    pub flow_id: FlowId,
    pub flow_name: FlowName,
    pub flow_revision: i64,
    pub name: ExecutionName,
    pub started_as: StartedAs,
    pub redrives: Redrives,
    pub status: Status,
    pub started_at: Option<Millis>,
    pub stopped_at: Option<Millis>,
    /// Why it failed, if it did.
    pub error: Option<TaskError>,
    pub created_at: Millis,
    /// Its place in newest-first listings: when it was created, or for a rerun when the run
    /// it replaced was placed.
    pub listed_at: Millis,
}

impl ExecutionSummary {
    /// Where the page after this execution starts.
    pub fn cursor(&self) -> ExecutionCursor {
        ExecutionCursor {
            name: self.name.clone(),
            listed_at: self.listed_at,
            id: self.id,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewExecution {
    pub tenant: TenantId,
    pub flow_id: FlowId,
    pub flow_name: FlowName,
    pub flow_revision: i64,
    pub name: ExecutionName,
    /// The execution of the same flow this one runs again (a DataArts instance rerun): from
    /// now on it replaces that one in the listings of latest runs, in the same place.
    pub reruns: Option<ExecutionId>,
    /// A distributed Map's child execution: the name of the map run it belongs to. Listed
    /// with its map run, never among the flow's own executions.
    pub map_run: Option<String>,
    /// The version (and alias) the start named.
    pub started_as: StartedAs,
    pub now: Millis,
}

/// What a start of a published version named: the version, and the alias that routed the
/// start to it if it named an alias. Both absent: the flow's current definition. And the test
/// case of the mock configuration it runs under, if it named one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StartedAs {
    pub version: Option<i64>,
    pub alias: Option<String>,
    pub test_case: Option<String>,
}

impl NewExecution {
    /// A new execution of `flow` at its current revision (not a rerun).
    pub fn of(flow: &FlowRecord, name: ExecutionName, now: Millis) -> Self {
        Self {
            tenant: flow.tenant.clone(),
            flow_id: flow.id,
            flow_name: flow.name.clone(),
            flow_revision: flow.revision,
            name,
            reruns: None,
            map_run: None,
            started_as: StartedAs::default(),
            now,
        }
    }
}

/// Which executions a listing or a count selects.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionQuery {
    pub tenant: TenantId,
    pub flows: FlowSelection,
    /// Any of these; empty selects every status.
    pub statuses: Vec<Status>,
    pub name_prefix: Option<String>,
    /// Started within, bounds included (an execution not yet started is outside any range).
    pub started_from: Option<Millis>,
    pub started_to: Option<Millis>,
    /// Leaves out the runs replaced by a rerun ([`NewExecution::reruns`]).
    pub latest_runs: bool,
    /// The children of this map run ([`NewExecution::map_run`]); `None`: the executions that
    /// are no map run's children.
    pub map_run: Option<String>,
    /// Those redriven at least once (`Some(true)`) or never (`Some(false)`).
    pub redriven: Option<bool>,
    /// Those started as this version, or through this alias ([`NewExecution::started_as`]).
    pub started_as: StartedAs,
    pub order: ExecutionOrder,
}

impl ExecutionQuery {
    /// Whether the kept counts can count what it selects: they know flows, statuses, start
    /// minutes and latest runs, but no names, redrives or versions.
    pub(crate) fn counts_know_it(&self) -> bool {
        self.name_prefix.is_none()
            && self.redriven.is_none()
            && self.started_as == StartedAs::default()
    }

    /// The executions of one flow that `filter` selects, in name order.
    pub fn of_flow(tenant: &TenantId, flow: FlowId, filter: &ExecutionFilter) -> Self {
        Self::of(
            tenant,
            FlowSelection::Flow(flow),
            filter,
            ExecutionOrder::Name,
        )
    }

    /// The executions of the flows selected that `filter` selects, every run, in `order`.
    pub fn of(
        tenant: &TenantId,
        flows: FlowSelection,
        filter: &ExecutionFilter,
        order: ExecutionOrder,
    ) -> Self {
        Self {
            tenant: tenant.clone(),
            flows,
            statuses: filter.status.into_iter().collect(),
            name_prefix: filter.name_prefix.clone(),
            started_from: filter.started_from,
            started_to: filter.started_to,
            latest_runs: false,
            map_run: filter.map_run.clone(),
            redriven: filter.redriven,
            started_as: filter.started_as.clone(),
            order,
        }
    }
}

/// Whose executions a query selects.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowSelection {
    /// One flow's (deleted or not).
    Flow(FlowId),
    /// Those of the tenant's live flows whose name matches and whose tag is the one given.
    Live {
        name: Option<NameMatch>,
        tag: Option<String>,
    },
}

impl FlowSelection {
    /// Every live flow of the tenant.
    pub const ALL: FlowSelection = FlowSelection::Live {
        name: None,
        tag: None,
    };
}

/// The order of an execution listing; each has its keyset ([`ExecutionCursor`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExecutionOrder {
    /// By name (then id).
    Name,
    /// Newest first: by `listed_at`, then id, both descending.
    Newest,
}

/// The keys of an execution in every listing order: a page starts after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecutionCursor {
    pub name: ExecutionName,
    pub listed_at: Millis,
    pub id: ExecutionId,
}

impl ExecutionCursor {
    /// After every execution of that name, in name order (a name is unique within its flow).
    pub fn after_name(name: ExecutionName) -> Self {
        Self {
            name,
            listed_at: Millis::MIN,
            id: ExecutionId(i64::MAX),
        }
    }
}

/// Whose execution counts to read, per minute, for the minutes in `[from, to]` (epoch ms).
#[derive(Debug, Clone, PartialEq)]
pub struct CountsQuery {
    pub tenant: TenantId,
    pub flows: FlowSelection,
    pub from: Millis,
    pub to: Millis,
}

/// What the store counts of the executions that started in one minute, as they are now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MinuteCounts {
    /// The minute's first millisecond.
    pub minute: Millis,
    pub started: u64,
    /// Failed or timed out.
    pub failed: u64,
    /// Not yet terminal.
    pub running: u64,
    /// Ended (they have a stop time), and the sum of their durations.
    pub finished: u64,
    pub duration_ms: i64,
}

/// One engine step made durable: the new state, its history events, and the index rows of
/// timers and task dispatches that changed. Applied atomically, if the execution is still at
/// `expected_version`.
#[derive(Debug, Clone, PartialEq)]
pub struct StepWrite {
    pub execution: ExecutionId,
    pub expected_version: i64,
    pub state: Execution,
    pub events: Vec<HistoryEvent>,
    pub timers_added: Vec<TimerRow>,
    pub timers_removed: Vec<OpId>,
    pub tasks_added: Vec<TaskCall>,
    pub tasks_removed: Vec<OpId>,
    /// What the same step does to other executions, in the same transaction: the child
    /// executions a distributed Map starts or stops, the parent a finished child reports to.
    pub linked: Vec<LinkedWrite>,
}

/// A write to another execution that commits (or fails) with the step it belongs to.
#[derive(Debug, Clone, PartialEq)]
pub enum LinkedWrite {
    /// A new execution with its first step (its id is `ExecutionId(0)` in the write).
    Create { new: NewExecution, first: StepWrite },
    /// A step of an existing execution, compare-and-set on its version like any step.
    Step(StepWrite),
}

impl StepWrite {
    /// The write of one engine step that took the execution from `before` to `after`: the
    /// timer and task rows added follow from the step's effects, the ones removed from the ops
    /// `before` had and `after` no longer has.
    pub fn new(
        execution: ExecutionId,
        expected_version: i64,
        before: &Execution,
        after: Execution,
        step: &Step,
    ) -> Self {
        let (old, new) = (outstanding_ops(before), outstanding_ops(&after));
        // The store ignores rows that do not exist, so a gone op need not be classified.
        let gone: Vec<OpId> = old.difference(&new).copied().collect();
        let mut write = StepWrite {
            execution,
            expected_version,
            state: after,
            events: step.events.clone(),
            timers_added: Vec::new(),
            timers_removed: gone.clone(),
            tasks_added: Vec::new(),
            tasks_removed: gone,
            linked: Vec::new(),
        };
        // A task row of an activity is its place in the activity's queue: it goes when a
        // worker takes the task.
        let waiting: BTreeSet<OpId> = after_waiting(&write.state);
        for call in before.waiting_activities() {
            if new.contains(&call.op) && !waiting.contains(&call.op) {
                write.tasks_removed.push(call.op);
            }
        }
        for effect in &step.effects {
            match effect {
                Effect::Dispatch(call) if new.contains(&call.op) => {
                    write.tasks_added.push(call.clone())
                }
                Effect::StartTimer { op, fire_at } if new.contains(op) => {
                    write.timers_added.push(TimerRow {
                        execution,
                        op: *op,
                        fire_at: *fire_at,
                    })
                }
                _ => {}
            }
        }
        write
    }
}

fn after_waiting(state: &Execution) -> BTreeSet<OpId> {
    state.waiting_activities().map(|call| call.op).collect()
}

fn outstanding_ops(state: &Execution) -> BTreeSet<OpId> {
    state
        .pending_ops()
        .map(|op| match op {
            PendingOp::Task { call, .. } => call.op,
            PendingOp::Timer { op, .. } => op,
            PendingOp::Child(start) => start.op,
        })
        .collect()
}

/// Which finished executions one purge deletes: of the flows of each dialect listed, the
/// top-level executions that ended before its cutoff (epoch ms), with every execution they
/// started (a distributed Map's children); about `limit` of them, in one transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Purge {
    pub cutoffs: Vec<(Dialect, Millis)>,
    pub limit: usize,
}

/// A timer as the store indexes it, for a runtime that loads the ones coming due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimerRow {
    pub execution: ExecutionId,
    pub op: OpId,
    pub fire_at: Millis,
}

/// A dispatched task call not yet answered: after a restart it is dispatched again.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskRow {
    pub execution: ExecutionId,
    pub call: TaskCall,
}

/// Work a node took over from nodes whose lease ran out (on a single-node store: from the
/// process before it).
#[derive(Debug, Default)]
pub struct TakenOver {
    /// Task calls to make again (at-least-once: the dead node may have made them already).
    pub tasks: Vec<TaskRow>,
    /// Background jobs to resume.
    pub jobs: Vec<JobRecord>,
    /// How many timers became this node's; its next timer scan loads them.
    pub timers: u64,
}

/// A message from one node to the others sharing the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// Abort this task call if you are making it: its execution was stopped, or its state got
    /// its result another way (a callback), in a step already committed.
    AbortCall { execution: ExecutionId, op: OpId },
    /// Signals may have been missed (the store's connection for hearing them was made again):
    /// check the calls in flight here against the store ([`crate::NodeStore::open_calls`]).
    /// Raised by a store to its own node, never sent to the others.
    Resync,
}

/// One committed step of one execution, as live watchers see it (the native API's event
/// stream) and as nodes tell each other of it ([`crate::NodeStore::publish`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub tenant: TenantId,
    pub flow: FlowName,
    pub id: ExecutionId,
    pub execution: ExecutionName,
    /// The execution's status once the step committed.
    pub status: Status,
    /// The step's history events; those of a step committed on another node come without
    /// their `detail` (read the history for it).
    pub events: Vec<HistoryEvent>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionFilter {
    pub status: Option<Status>,
    /// The children of this map run instead of the flow's own executions.
    pub map_run: Option<String>,
    pub name_prefix: Option<String>,
    pub started_from: Option<Millis>,
    pub started_to: Option<Millis>,
    /// Redriven at least once, or never.
    pub redriven: Option<bool>,
    /// Started as this version, or through this alias.
    pub started_as: StartedAs,
}

/// A version to publish: the flow's current revision, numbered next.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVersion {
    pub flow_id: FlowId,
    pub description: String,
    /// Publish only if the flow is at this revision (`Conflict` otherwise).
    pub expected_revision: Option<i64>,
    /// If a version of the flow's current revision exists, answer it instead of numbering a
    /// new one (AWS's idempotent `PublishStateMachineVersion`).
    pub reuse: bool,
    pub now: Millis,
}

/// A published, immutable snapshot of a flow's definition (`PublishFlowVersion`).
#[derive(Debug, Clone, PartialEq)]
pub struct VersionRecord {
    pub flow_id: FlowId,
    /// 1, 2, … per flow; never reused after a delete.
    pub version: i64,
    /// The flow revision the version points at.
    pub revision: i64,
    pub description: String,
    pub created_at: Millis,
}

/// A named, weighted routing over versions (`CreateFlowAlias`). The store keeps every route
/// on a version that exists: writing an alias that routes to a missing version, or deleting a
/// version an alias routes to, is refused in the transaction that would do it.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasRecord {
    pub flow_id: FlowId,
    pub name: String,
    pub description: String,
    pub routing: Vec<Route>,
    pub created_at: Millis,
    pub modified_at: Millis,
}

impl AliasRecord {
    pub fn routes_to(&self, version: i64) -> bool {
        self.routing.iter().any(|route| route.version == version)
    }
}

/// What an alias update changes: the fields given, applied in one statement (two concurrent
/// updates of different fields both hold).
#[derive(Debug, Clone, PartialEq)]
pub struct AliasUpdate {
    pub description: Option<String>,
    pub routing: Option<Vec<Route>>,
    pub modified_at: Millis,
}

/// One version an alias sends a share of the starts to. Stored (and rendered) in CloudFlow's
/// `RoutingConfigurations` shape: `{"Version": "1", "Weight": 90}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "StoredRoute", try_from = "StoredRoute")]
pub struct Route {
    pub version: i64,
    /// Percent of the starts, 0 to 100.
    pub weight: u32,
}

#[derive(Serialize, Deserialize)]
struct StoredRoute {
    #[serde(rename = "Version")]
    version: String,
    #[serde(rename = "Weight")]
    weight: u32,
}

impl From<Route> for StoredRoute {
    fn from(route: Route) -> Self {
        StoredRoute {
            version: route.version.to_string(),
            weight: route.weight,
        }
    }
}

impl TryFrom<StoredRoute> for Route {
    type Error = std::num::ParseIntError;

    fn try_from(stored: StoredRoute) -> Result<Self, Self::Error> {
        Ok(Route {
            version: stored.version.parse()?,
            weight: stored.weight,
        })
    }
}

/// A cron schedule that starts executions of a flow.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRecord {
    pub id: i64,
    pub tenant: TenantId,
    pub flow_id: FlowId,
    pub flow_name: FlowName,
    pub name: String,
    pub cron: String,
    pub payload: String,
    pub description: String,
    pub enabled: bool,
    /// When it fires next; `None` when disabled or exhausted.
    pub next_fire_at: Option<Millis>,
    pub created_at: Millis,
    pub modified_at: Millis,
}

/// A due tick of a schedule to claim: its next fire time moves from `fired` to `next`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScheduleTick {
    pub schedule: i64,
    pub fired: Millis,
    pub next: Option<Millis>,
}

string_id!(
    /// A background job's id: 32 lower-case hex digits (the shape of GES job ids).
    JobId
);

/// What a background job does. Each kind says which executions it stops and what it does to
/// the flow's `open` flag, so one runner serves them all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobKind {
    /// Close the flow to new starts, then stop its running executions.
    CloseFlow,
    /// Reopen a closed flow.
    OpenFlow,
    /// Close, stop, reopen.
    RestartFlow,
    /// Stop the running executions the job's filter selects; the flow stays open.
    StopExecutions,
    /// Stop the executions of a flow being deleted (recorded before the delete, so a crash
    /// in between leaves a job to finish, not executions of a deleted flow running on).
    DeleteFlow,
}

impl JobKind {
    pub const ALL: [JobKind; 5] = [
        JobKind::CloseFlow,
        JobKind::OpenFlow,
        JobKind::RestartFlow,
        JobKind::StopExecutions,
        JobKind::DeleteFlow,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobKind::CloseFlow => "CloseFlow",
            JobKind::OpenFlow => "OpenFlow",
            JobKind::RestartFlow => "RestartFlow",
            JobKind::StopExecutions => "StopExecutions",
            JobKind::DeleteFlow => "DeleteFlow",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether the job moves its flow's `open` flag: at most one such job of a flow is
    /// unfinished at a time ([`crate::JobStore::create_flow_job`]).
    pub fn moves_flow(self) -> bool {
        matches!(
            self,
            JobKind::CloseFlow | JobKind::OpenFlow | JobKind::RestartFlow
        )
    }

    /// The kinds that move a flow, as stored.
    pub(crate) fn moving_flow() -> Vec<&'static str> {
        Self::ALL
            .into_iter()
            .filter(|k| k.moves_flow())
            .map(JobKind::as_str)
            .collect()
    }

    /// Whether the job stops executions (and so closes the flow first, unless it only
    /// selects executions).
    pub fn stops(self) -> bool {
        !matches!(self, JobKind::OpenFlow)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum JobStatus {
    Pending,
    Running,
    Succeeded,
    Failed,
}

impl JobStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            JobStatus::Pending => "Pending",
            JobStatus::Running => "Running",
            JobStatus::Succeeded => "Succeeded",
            JobStatus::Failed => "Failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [
            JobStatus::Pending,
            JobStatus::Running,
            JobStatus::Succeeded,
            JobStatus::Failed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    pub fn is_finished(self) -> bool {
        matches!(self, JobStatus::Succeeded | JobStatus::Failed)
    }
}

/// Which executions of a flow a stopping job stops (those running when it gets to them), and
/// the error and cause they are stopped with (the job's own when absent).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobFilter {
    pub name_prefix: Option<String>,
    pub started_from: Option<Millis>,
    pub started_to: Option<Millis>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_cause: Option<String>,
}

impl JobFilter {
    /// Whether it selects every running execution of the flow.
    pub fn selects_all(&self) -> bool {
        self.name_prefix.is_none() && self.started_from.is_none() && self.started_to.is_none()
    }
}

/// A bulk operation on one flow that runs in the background and reports its progress: a GES
/// graph stop/start/restart, or a stop of selected executions. Written before it starts and
/// after every batch, so a restarted node resumes it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobRecord {
    pub id: JobId,
    pub tenant: TenantId,
    pub kind: JobKind,
    pub flow_id: FlowId,
    pub flow_name: FlowName,
    pub filter: JobFilter,
    pub status: JobStatus,
    /// Executions found to stop so far, and how many of them were dealt with: stopped, found
    /// already completed, or failed to stop (the last two counted apart as well).
    pub total: i64,
    pub done: i64,
    pub already_completed: i64,
    pub failed: i64,
    pub failure: Option<String>,
    pub created_at: Millis,
    pub finished_at: Option<Millis>,
}

impl JobRecord {
    /// Where the page after this job starts (jobs are listed newest first).
    pub fn cursor(&self) -> JobCursor {
        JobCursor {
            created_at: self.created_at,
            id: self.id.clone(),
        }
    }
}

/// The keys of a job in its tenant's listing, newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JobCursor {
    pub created_at: Millis,
    pub id: JobId,
}

/// A Step Functions activity: a queue of tasks, named within its tenant, that workers take
/// tasks from (`TaskTarget::Activity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActivityRecord {
    pub tenant: TenantId,
    pub name: String,
    pub created_at: Millis,
    /// Its tags, key and value, in the order given.
    pub tags: Vec<(String, String)>,
}
