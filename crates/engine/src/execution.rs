//! The state of one execution in memory (the store keeps it as a [`crate::snapshot::Snapshot`]).

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_ir::{ScopeId, StateId, StateName, TaskError, ToleratedFailures};

use crate::Millis;
use crate::dag_status::NodeStatus;
use crate::history::EventId;
use crate::inspection::{Inspecting, Inspection};
use crate::step::ChildStart;
use crate::task_call::TaskCall;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    /// Accepted, `Start` not yet applied.
    Starting,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Stopped,
}

impl Status {
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            Status::Succeeded | Status::Failed | Status::TimedOut | Status::Stopped
        )
    }

    /// CloudFlow's spelling (spec §8.1).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Starting => "Starting",
            Status::Running => "Running",
            Status::Succeeded => "Succeeded",
            Status::Failed => "Failed",
            Status::TimedOut => "TimedOut",
            Status::Stopped => "Stopped",
        }
    }
}

/// Bounds enforced by the engine; exceeding one fails the execution with a clear error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// History length (CloudFlow: 5,000 events, adjustable).
    pub max_history_events: u64,
    /// Size of one state input or output, serialized (CloudFlow: 64 KiB).
    pub max_payload_bytes: usize,
    /// Maximum duration of the execution (Standard: 1 year; Express: 5 minutes).
    pub execution_timeout_ms: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_history_events: 5_000,
            max_payload_bytes: 64 * 1024,
            execution_timeout_ms: Some(365 * 24 * 3600 * 1000),
        }
    }
}

/// What the engine is told about an execution when it is created.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionInfo {
    pub name: String,
    pub flow_name: String,
    pub role_arn: Option<String>,
    /// Unguessable prefix of this execution's task tokens (randomness comes from outside).
    pub token_prefix: String,
    /// Seed of `randomInt`/`uuid` in expressions.
    pub seed: u64,
    pub limits: Limits,
    /// How the execution's API names the execution and its flow where a definition reads
    /// them; without them, their names.
    pub context_ids: Option<ContextIds>,
}

/// The ids a definition reads of its execution (the Amazon States Language's context object:
/// `$$.Execution.Id`, `$$.StateMachine.Id`), spelled by the API that started it (Step
/// Functions: ARNs), since the engine knows no vendor's formats. The execution's id is
/// `execution_prefix` and its name, so that a name the service generates gets it too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextIds {
    pub execution_prefix: String,
    pub flow: String,
}

/// Identifies an outstanding task call or timer within an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct OpId(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct ThreadId(pub u32);

/// The execution: status, data, and the tree of running scopes ("threads": the top level, each
/// running Parallel branch and Map iteration).
#[derive(Debug, Clone, PartialEq)]
pub struct Execution {
    pub(crate) info: ExecutionInfo,
    pub(crate) status: Status,
    pub(crate) input: Option<Value>,
    pub(crate) output: Option<Value>,
    pub(crate) error: Option<TaskError>,
    pub(crate) started_at: Option<Millis>,
    pub(crate) stopped_at: Option<Millis>,
    pub(crate) next_event: u64,
    pub(crate) next_op: u64,
    pub(crate) next_thread: u32,
    /// Boxed: a Map keeps thousands of threads coming and going, and a BTreeMap shifts its
    /// values on every insert and remove; pointers shift much faster than whole threads.
    pub(crate) threads: BTreeMap<ThreadId, Box<Thread>>,
    pub(crate) ops: BTreeMap<OpId, Op>,
    /// Where a failed execution resumes when retried: the top-level state that failed, with
    /// the data it was entered with.
    pub(crate) retry_point: Option<RetryPoint>,
    /// The node statuses of each Dag state's latest run that ended: a run's own record lives
    /// in its thread, which is gone once the state is left (see [`crate::dag_node_statuses`]).
    pub(crate) dag_runs: BTreeMap<StateId, Vec<NodeStatus>>,
    /// The execution's global variables (`$Global`, a JSON object), written by states'
    /// `GlobalConstructor`s.
    pub(crate) globals: Value,
    /// The scope the execution runs: the flow's top level, or a distributed Map's processor
    /// for a child execution.
    pub(crate) root: ScopeId,
    /// The distributed Map runs that ended, oldest first (a running one lives in its thread).
    pub(crate) map_runs: Vec<MapRunSummary>,
    /// For a child execution: the execution that started it, which waits for its end.
    pub(crate) parent: Option<ParentLink>,
    /// How often and when it was last redriven.
    pub(crate) redrives: crate::Redrives,
    /// An inspected execution's record of its first state (never stored: an inspected
    /// execution runs in memory).
    pub(crate) inspection: Option<Box<Inspecting>>,
}

/// The execution a child execution reports its end to, and the op it waits on there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentLink {
    /// The parent's name (in its flow).
    pub execution: String,
    pub op: OpId,
    /// A nested execution's parent's flow (as the runtime numbers flows): the parent runs
    /// another flow and waits in a task, which the child's end answers
    /// (`Input::TaskCompleted`). `None`: a distributed Map's child, of its parent's flow,
    /// answered by `Input::ChildFinished`.
    pub flow: Option<i64>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct RetryPoint {
    pub state: StateId,
    pub scope_input: Value,
    /// The top-level data before the state's input was built from it.
    pub data: Value,
    /// Of a Parallel or Map state: each branch's or iteration's output if it succeeded,
    /// by index (empty for other states). A redrive runs only the others.
    pub finished: Vec<Option<Value>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Thread {
    pub parent: Option<Slot>,
    pub scope: ScopeId,
    /// The scope's input (`$input` of legacy mappings).
    pub scope_input: Value,
    /// Pipe: the value flowing to the next state. Merge: the scope's `local`.
    pub data: Value,
    pub at: Option<Active>,
    /// ASL variables assigned in this thread's scope; those of enclosing scopes are read
    /// through `parent`.
    pub variables: serde_json::Map<String, Value>,
}

/// Where a branch or iteration reports its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    pub thread: ThreadId,
    pub index: u32,
}

/// The state a thread is executing.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Active {
    pub state: StateId,
    pub input: Value,
    pub entered: EventId,
    /// Retries used per `Retry` entry of the state.
    pub retries: Vec<u32>,
    pub retry_count: u32,
    pub block: Block,
}

/// What a thread waits for.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    /// Nothing yet (transient while a state is being entered).
    None,
    Task(OpId),
    Wait(OpId),
    Backoff(OpId),
    Fanout(Fanout),
    Dag(DagRun),
    /// A distributed Map's children (see `machine/map_run.rs`).
    MapRun(MapRun),
}

/// The children of a running distributed Map state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct MapRun {
    /// Names the run ([`map_run_name`]).
    pub run: OpId,
    pub started_at: Millis,
    /// The input of each child not yet started, in order.
    pub pending: Vec<Value>,
    pub next_index: u32,
    /// Each child's output (a failed child's error object), by index.
    pub results: Vec<Option<Value>>,
    /// The op of each running child, by index.
    pub running: BTreeMap<u32, OpId>,
    /// 0: no bound. Changed while it runs by `Input::UpdateMapRun`.
    pub max_concurrency: u32,
    pub tolerated: ToleratedFailures,
    pub succeeded: u32,
    pub failed: u32,
    /// The indices of the children that failed (a result sink records each child's status).
    pub failed_at: BTreeSet<u32>,
}

/// The name of the map run `run` of the execution named `execution`: 32 hex digits, as the
/// vendor's map run names look, unique within the flow as execution names are.
pub fn map_run_name(execution: &str, run: OpId) -> String {
    sluice_ir::expr::HashAlgorithm::Md5.hex_digest(format!("{execution}/{}", run.0).as_bytes())
}

/// A distributed Map's run as `DescribeMapRun` shows it: its bounds and its children's counts.
#[derive(Debug, Clone, PartialEq)]
pub struct MapRunSummary {
    pub name: String,
    /// The distributed Map state that runs it.
    pub state: StateName,
    pub status: MapRunStatus,
    pub started_at: Millis,
    pub stopped_at: Option<Millis>,
    /// 0: no bound.
    pub max_concurrency: u32,
    pub tolerated: ToleratedFailures,
    pub total: u32,
    /// Not started yet.
    pub pending: u32,
    pub running: u32,
    pub succeeded: u32,
    pub failed: u32,
    /// Stopped, or never started, because the run ended early.
    pub aborted: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapRunStatus {
    Running,
    Succeeded,
    Failed,
    Aborted,
}

impl MapRunStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MapRunStatus::Running => "Running",
            MapRunStatus::Succeeded => "Succeeded",
            MapRunStatus::Failed => "Failed",
            MapRunStatus::Aborted => "Aborted",
        }
    }
}

impl MapRun {
    /// The run as it is now; `stopped_at` given when it ends with `status`.
    pub(crate) fn summary(
        &self,
        execution: &str,
        state: &StateName,
        status: MapRunStatus,
        stopped_at: Option<Millis>,
    ) -> MapRunSummary {
        let total = u32::try_from(self.pending.len()).unwrap_or(u32::MAX);
        let running = u32::try_from(self.running.len()).unwrap_or(u32::MAX);
        let pending = total.saturating_sub(self.next_index);
        let (running, pending, aborted) = match status {
            MapRunStatus::Running => (running, pending, 0),
            _ => (0, 0, running + pending),
        };
        MapRunSummary {
            name: map_run_name(execution, self.run),
            state: state.clone(),
            status,
            started_at: self.started_at,
            stopped_at,
            max_concurrency: self.max_concurrency,
            tolerated: self.tolerated,
            total,
            pending,
            running,
            succeeded: self.succeeded,
            failed: self.failed,
            aborted,
        }
    }
}

/// The children of a running Parallel or Map state.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Fanout {
    /// The input of each branch or iteration not yet started, in order.
    pub pending: Vec<Value>,
    pub next_index: u32,
    pub results: Vec<Option<Value>>,
    pub running: BTreeMap<u32, ThreadId>,
    /// 0: no bound.
    pub max_concurrency: u32,
}

impl Fanout {
    /// Moves past the branches or iterations that finished before a redrive: they are not
    /// run again.
    pub fn skip_finished(&mut self) {
        while self
            .results
            .get(self.next_index as usize)
            .is_some_and(Option::is_some)
        {
            self.next_index += 1;
        }
    }
}

/// The nodes of a running Dag state, by node index.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DagRun {
    pub nodes: Vec<NodeStatus>,
    pub running: BTreeMap<u32, ThreadId>,
    /// The outputs of finished nodes (a continued failure's error object).
    pub results: Vec<Option<Value>>,
    /// The error of a node whose failure drains the graph: set, nothing new starts, and the
    /// graph fails with it once the running nodes have finished.
    pub draining: Option<TaskError>,
}

impl DagRun {
    pub fn new(nodes: usize) -> Self {
        Self {
            nodes: vec![NodeStatus::Waiting; nodes],
            running: BTreeMap::new(),
            results: vec![None; nodes],
            draining: None,
        }
    }

    /// The statuses as they stand once the run ends: what was running was cut short, what
    /// was waiting never ran.
    pub fn ended(&self) -> Vec<NodeStatus> {
        self.nodes
            .iter()
            .map(|status| match status {
                NodeStatus::Running => NodeStatus::Cancelled,
                NodeStatus::Waiting => NodeStatus::Skipped,
                other => *other,
            })
            .collect()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    Task {
        thread: ThreadId,
        scheduled: EventId,
        call: Box<TaskCall>,
        /// Callback modes: the call has answered and the task waits for its token.
        submitted: bool,
        timeout: Option<OpId>,
        /// The heartbeat timer, restarted by every heartbeat.
        heartbeat: Option<OpId>,
    },
    Timer {
        fire_at: Millis,
        purpose: TimerPurpose,
    },
    /// A child execution started for a distributed Map.
    Child {
        thread: ThreadId,
        start: Box<ChildStart>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TimerPurpose {
    Wait(ThreadId),
    Backoff(ThreadId),
    TaskTimeout(OpId),
    Heartbeat(OpId),
    ExecutionDeadline,
}

/// An outstanding operation, for a runtime that resumes an execution after a restart.
#[derive(Debug, Clone, PartialEq)]
pub enum PendingOp<'a> {
    /// A task call to (re)dispatch, unless it was submitted and now awaits its callback.
    Task {
        call: &'a TaskCall,
        submitted: bool,
    },
    Timer {
        op: OpId,
        fire_at: Millis,
    },
    /// A child execution to start (again, if it is not there yet) and wait for.
    Child(&'a ChildStart),
}

impl Execution {
    pub fn new(info: ExecutionInfo) -> Self {
        Self {
            info,
            status: Status::Starting,
            input: None,
            output: None,
            error: None,
            started_at: None,
            stopped_at: None,
            next_event: 1,
            next_op: 1,
            next_thread: 0,
            threads: BTreeMap::new(),
            ops: BTreeMap::new(),
            retry_point: None,
            dag_runs: BTreeMap::new(),
            globals: Value::Object(serde_json::Map::new()),
            root: ScopeId::ROOT,
            map_runs: Vec::new(),
            parent: None,
            redrives: crate::Redrives::default(),
            inspection: None,
        }
    }

    /// An execution whose first top-level state is inspected (`crate::inspection`), starting
    /// with `variables` set.
    pub fn inspected(info: ExecutionInfo, variables: serde_json::Map<String, Value>) -> Self {
        let inspecting = Inspecting {
            preset: variables,
            ..Inspecting::default()
        };
        Self {
            inspection: Some(Box::new(inspecting)),
            ..Self::new(info)
        }
    }

    /// What an inspected execution recorded of its first state.
    pub fn inspection(&self) -> Option<&Inspection> {
        self.inspection.as_deref().map(|i| &i.record)
    }

    /// A child execution: it runs `scope` of the flow (a distributed Map's processor) as if
    /// it were the flow's top level.
    pub fn child(info: ExecutionInfo, scope: ScopeId, parent: ParentLink) -> Self {
        Self {
            root: scope,
            parent: Some(parent),
            ..Self::new(info)
        }
    }

    /// The execution that started this one, if it is a child execution.
    pub fn parent(&self) -> Option<&ParentLink> {
        self.parent.as_ref()
    }

    /// Its distributed Map runs, running and ended, oldest first.
    pub fn map_runs(&self, flow: &sluice_ir::Flow) -> Vec<MapRunSummary> {
        let mut runs = self.map_runs.clone();
        for thread in self.threads.values() {
            if let Some(Active {
                state,
                block: Block::MapRun(run),
                ..
            }) = &thread.at
            {
                runs.push(run.summary(
                    &self.info.name,
                    &flow.state(*state).name,
                    MapRunStatus::Running,
                    None,
                ));
            }
        }
        runs.sort_by_key(|run| run.started_at);
        runs
    }

    /// The scope the execution runs ([`ScopeId::ROOT`] unless it is a child execution).
    pub fn root(&self) -> ScopeId {
        self.root
    }

    /// What the execution was created with: names, limits, seeds.
    pub fn info(&self) -> &ExecutionInfo {
        &self.info
    }

    pub fn status(&self) -> Status {
        self.status
    }

    /// The execution input, once started.
    pub fn input(&self) -> Option<&Value> {
        self.input.as_ref()
    }

    /// The result of a succeeded execution.
    pub fn output(&self) -> Option<&Value> {
        self.output.as_ref()
    }

    /// Why a failed, timed-out or stopped execution ended.
    pub fn error(&self) -> Option<&TaskError> {
        self.error.as_ref()
    }

    pub fn started_at(&self) -> Option<Millis> {
        self.started_at
    }

    /// When it reached its terminal status.
    pub fn stopped_at(&self) -> Option<Millis> {
        self.stopped_at
    }

    /// How often it was redriven, and when last.
    pub fn redrives(&self) -> crate::Redrives {
        self.redrives
    }

    /// Whether a redrive at `now` would be accepted.
    pub fn redrivable(&self, now: Millis) -> Result<(), crate::NotRedrivable> {
        use crate::NotRedrivable;
        match self.status {
            Status::Starting | Status::Running => return Err(NotRedrivable::Running),
            Status::Succeeded => return Err(NotRedrivable::Succeeded),
            Status::Failed | Status::TimedOut | Status::Stopped => {}
        }
        if self.retry_point.is_none() {
            return Err(NotRedrivable::NoState);
        }
        let ended = self.stopped_at.unwrap_or(now);
        if now.saturating_sub(ended) > crate::REDRIVE_WINDOW_MS {
            return Err(NotRedrivable::Expired);
        }
        if self.redrives.count >= crate::MAX_REDRIVES {
            return Err(NotRedrivable::TooMany);
        }
        Ok(())
    }

    /// The number of history events so far.
    pub fn history_len(&self) -> u64 {
        self.next_event - 1
    }

    /// Task calls and timers the execution waits for, in id order.
    pub fn pending_ops(&self) -> impl Iterator<Item = PendingOp<'_>> {
        self.ops.iter().map(|(id, op)| match op {
            Op::Task {
                call, submitted, ..
            } => PendingOp::Task {
                call: call.as_ref(),
                submitted: *submitted,
            },
            Op::Timer { fire_at, .. } => PendingOp::Timer {
                op: *id,
                fire_at: *fire_at,
            },
            Op::Child { start, .. } => PendingOp::Child(start),
        })
    }

    /// The `TaskScheduled` event of task `op`, while the execution waits for it.
    pub fn task_scheduled(&self, op: OpId) -> Option<EventId> {
        match self.ops.get(&op) {
            Some(Op::Task { scheduled, .. }) => Some(*scheduled),
            _ => None,
        }
    }

    /// Whether `token` is the token of a task this execution still waits for.
    pub fn awaits_token(&self, token: &str) -> bool {
        self.find_token(token).is_some()
    }

    /// Whether the task of `token` waits with a heartbeat timer running, which a heartbeat
    /// restarts ([`crate::Input::Heartbeat`]).
    pub fn awaits_heartbeat(&self, token: &str) -> bool {
        self.find_token(token).is_some_and(|op| {
            matches!(
                self.ops.get(&op),
                Some(Op::Task {
                    heartbeat: Some(_),
                    ..
                })
            )
        })
    }

    /// The activity tasks no worker has taken yet.
    pub fn waiting_activities(&self) -> impl Iterator<Item = &TaskCall> {
        self.ops.values().filter_map(|op| match op {
            Op::Task {
                call,
                submitted: false,
                ..
            } if call.activity().is_some() => Some(call.as_ref()),
            _ => None,
        })
    }

    /// The state and token of each callback task waiting for its report (a FunctionGraph v1
    /// EVENT state waiting for its event), oldest first. That includes a task whose
    /// submitting call has not answered yet: a report may come first (the call is then
    /// cancelled), so an event sent right after the start is not refused.
    pub fn awaiting_callbacks(&self) -> impl Iterator<Item = (&StateName, &str)> {
        self.ops.values().filter_map(|op| match op {
            Op::Task { call, .. } => call.token.as_deref().map(|token| (&call.state, token)),
            Op::Timer { .. } | Op::Child { .. } => None,
        })
    }

    /// The task call of state `state` that is in flight (dispatched, not answered), if any.
    pub fn task_in_flight(&self, state: &str) -> Option<OpId> {
        self.ops.iter().find_map(|(id, op)| match op {
            Op::Task {
                call,
                submitted: false,
                ..
            } if call.state.as_str() == state => Some(*id),
            _ => None,
        })
    }

    pub(crate) fn find_token(&self, token: &str) -> Option<OpId> {
        self.ops.iter().find_map(|(id, op)| match op {
            Op::Task { call, .. } if call.token.as_deref() == Some(token) => Some(*id),
            _ => None,
        })
    }
}
