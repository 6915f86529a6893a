//! The records the store keeps. Identifiers are newtypes; statuses are the engine's enums.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeSet;

use sluice_engine::{
    Effect, Execution, HistoryEvent, Millis, OpId, PendingOp, Status, Step, TaskCall,
};
use sluice_ir::Dialect;

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
    pub now: Millis,
}

/// Changes to a flow; `None` keeps the current value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FlowUpdate {
    pub description: Option<String>,
    pub definition: Option<String>,
    pub role_arn: Option<String>,
    pub attributes: Option<Value>,
    pub open: Option<bool>,
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
    pub state: Execution,
    /// Bumped by every committed step (compare-and-set).
    pub version: i64,
    pub created_at: Millis,
}

impl ExecutionRecord {
    pub fn status(&self) -> Status {
        self.state.status()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct NewExecution {
    pub tenant: TenantId,
    pub flow_id: FlowId,
    pub flow_name: FlowName,
    pub flow_revision: i64,
    pub name: ExecutionName,
    pub now: Millis,
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
        };
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
    /// check the calls in flight here against the store ([`crate::Store::open_calls`]).
    /// Raised by a store to its own node, never sent to the others.
    Resync,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutionFilter {
    pub status: Option<Status>,
    pub name_prefix: Option<String>,
    pub started_from: Option<Millis>,
    pub started_to: Option<Millis>,
}

/// One page of a listing; `next` is the opaque token of the following page.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
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

/// A named, weighted routing over versions (`CreateFlowAlias`).
#[derive(Debug, Clone, PartialEq)]
pub struct AliasRecord {
    pub flow_id: FlowId,
    pub name: String,
    pub description: String,
    /// Dialect-shaped routing (CloudFlow `RoutingConfigurations`), kept verbatim.
    pub routing: Value,
    pub created_at: Millis,
    pub modified_at: Millis,
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
    /// unfinished at a time ([`crate::Store::create_flow_job`]).
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

/// Which executions of a flow a stopping job stops (those running when it gets to them).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct JobFilter {
    pub name_prefix: Option<String>,
    pub started_from: Option<Millis>,
    pub started_to: Option<Millis>,
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
    /// Executions found to stop so far, and how many of them are stopped (or had finished).
    pub total: i64,
    pub done: i64,
    pub failure: Option<String>,
    pub created_at: Millis,
    pub finished_at: Option<Millis>,
}
