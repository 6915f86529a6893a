//! Format 2, written since snapshots were versioned: `"format": 2` first, then names of its
//! own (snake_case, apart from the Rust names of the in-memory structs), records that carry
//! their ids (threads, ops, running children) in lists, and enums tagged by a key:
//!
//! ```text
//! {"format": 2, "info": {…}, "status": "running", "input": {…}, "started_at": 1700000000000,
//!  "next_event": 5, "next_op": 3, "next_thread": 1,
//!  "threads": [{"id": 0, "parent": null, "scope": 0, "scope_input": {…}, "data": null,
//!               "at": {"state": 0, "input": {…}, "entered": 2, "retries": [], "retry_count": 0,
//!                      "block": {"task": {"op": 2}}}}],
//!  "ops": [{"timer": {"id": 1, "fire_at": 1731536000000, "purpose": "execution_deadline"}},
//!          {"task": {"id": 2, "thread": 0, "scheduled": 3, "call": {…}, "submitted": false,
//!                    "timeout": null}}]}
//! ```
//!
//! `"globals": {…}`, the global variables, only when there are some.
//!
//! An absent `input` or `output` is none; a present one is a value, `null` included. A
//! finished child's result is `{"output": …}`, a missing one `null`.
//!
//! Values borrow from the execution when written (nothing is copied) and are owned when read.
//! Once a newer format exists, this file keeps only the reading and the upgrade to it.

use std::borrow::Cow;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;
use sluice_ir::{FunctionRef, ScopeId, StateId, StateName, TaskError, TaskMode, TaskTarget};

use crate::Millis;
use crate::dag_status::NodeStatus as EngineNodeStatus;
use crate::execution::{self as engine, ThreadId};
use crate::history::EventId;
use crate::{ExecutionInfo, OpId};

#[derive(Serialize, Deserialize)]
pub(super) struct Execution<'a> {
    pub info: Info<'a>,
    pub status: Status,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub input: Option<Cow<'a, Value>>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "present"
    )]
    pub output: Option<Cow<'a, Value>>,
    pub error: Option<Error<'a>>,
    pub started_at: Option<Millis>,
    pub stopped_at: Option<Millis>,
    pub next_event: u64,
    pub next_op: u64,
    pub next_thread: u32,
    pub threads: Vec<Thread<'a>>,
    pub ops: Vec<Op<'a>>,
    pub retry_point: Option<RetryPoint<'a>>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dag_runs: Vec<DagRecord>,
    /// The global variables (`$Global`); absent when there are none, and in snapshots written
    /// before they existed.
    #[serde(default, skip_serializing_if = "no_globals")]
    pub globals: Option<Cow<'a, Value>>,
    /// The scope a child execution runs; absent for the flow's top level.
    #[serde(default, skip_serializing_if = "is_top_level")]
    pub root: u32,
    /// The distributed Map runs that ended; absent when there are none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub map_runs: Vec<MapRunRecord<'a>>,
    /// A child execution's parent: its name and the op it waits on; absent otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Parent<'a>>,
    /// Absent until the execution is redriven.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redrives: Option<Redrives>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Parent<'a> {
    pub execution: Cow<'a, str>,
    pub op: u64,
}

/// A distributed Map run that ended, as `DescribeMapRun` shows it.
#[derive(Serialize, Deserialize)]
pub(super) struct MapRunRecord<'a> {
    pub name: Cow<'a, str>,
    pub state: Cow<'a, str>,
    pub status: MapRunStatus,
    pub started_at: Millis,
    pub stopped_at: Option<Millis>,
    pub max_concurrency: u32,
    pub tolerated_count: Option<u32>,
    pub tolerated_percentage: Option<f64>,
    pub total: u32,
    pub succeeded: u32,
    pub failed: u32,
    pub aborted: u32,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum MapRunStatus {
    Running,
    Succeeded,
    Failed,
    Aborted,
}

impl<'a> MapRunRecord<'a> {
    fn of(run: &'a engine::MapRunSummary) -> Self {
        Self {
            name: Cow::Borrowed(&run.name),
            state: Cow::Borrowed(run.state.as_str()),
            status: match run.status {
                engine::MapRunStatus::Running => MapRunStatus::Running,
                engine::MapRunStatus::Succeeded => MapRunStatus::Succeeded,
                engine::MapRunStatus::Failed => MapRunStatus::Failed,
                engine::MapRunStatus::Aborted => MapRunStatus::Aborted,
            },
            started_at: run.started_at,
            stopped_at: run.stopped_at,
            max_concurrency: run.max_concurrency,
            tolerated_count: run.tolerated.count,
            tolerated_percentage: run.tolerated.percentage,
            total: run.total,
            succeeded: run.succeeded,
            failed: run.failed,
            aborted: run.aborted,
        }
    }
}

impl From<MapRunRecord<'_>> for engine::MapRunSummary {
    fn from(run: MapRunRecord<'_>) -> Self {
        Self {
            name: run.name.into_owned(),
            state: StateName::new(run.state),
            status: match run.status {
                MapRunStatus::Running => engine::MapRunStatus::Running,
                MapRunStatus::Succeeded => engine::MapRunStatus::Succeeded,
                MapRunStatus::Failed => engine::MapRunStatus::Failed,
                MapRunStatus::Aborted => engine::MapRunStatus::Aborted,
            },
            started_at: run.started_at,
            stopped_at: run.stopped_at,
            max_concurrency: run.max_concurrency,
            tolerated: sluice_ir::ToleratedFailures {
                count: run.tolerated_count,
                percentage: run.tolerated_percentage,
            },
            total: run.total,
            pending: 0,
            running: 0,
            succeeded: run.succeeded,
            failed: run.failed,
            aborted: run.aborted,
        }
    }
}

fn is_top_level(root: &u32) -> bool {
    *root == ScopeId::ROOT.0
}

fn no_globals(globals: &Option<Cow<'_, Value>>) -> bool {
    globals
        .as_deref()
        .is_none_or(|g| g.as_object().is_some_and(serde_json::Map::is_empty))
}

/// A field that is there is a value, even `null` (an absent one is `None`).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(d: D) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Serialize, Deserialize)]
pub(super) struct Info<'a> {
    pub name: Cow<'a, str>,
    pub flow_name: Cow<'a, str>,
    pub role_arn: Option<Cow<'a, str>>,
    pub token_prefix: Cow<'a, str>,
    pub seed: u64,
    pub limits: Limits,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_ids: Option<ContextIds<'a>>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ContextIds<'a> {
    pub execution_prefix: Cow<'a, str>,
    pub flow: Cow<'a, str>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Limits {
    pub max_history_events: u64,
    pub max_payload_bytes: u64,
    pub execution_timeout_ms: Option<u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Status {
    Starting,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Stopped,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Error<'a> {
    pub code: Cow<'a, str>,
    pub detail: Cow<'a, str>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct RetryPoint<'a> {
    pub state: u32,
    pub scope_input: Cow<'a, Value>,
    pub data: Cow<'a, Value>,
    /// A Parallel's or Map's finished branches or iterations; absent for other states and in
    /// snapshots written before redrives.
    #[serde(default, skip_serializing_if = "<[_]>::is_empty")]
    pub finished: Cow<'a, [Option<Value>]>,
}

/// How often an execution was redriven, and when last.
#[derive(Serialize, Deserialize)]
pub(super) struct Redrives {
    pub count: u32,
    pub last_at: Option<Millis>,
}

/// The node statuses of a Dag state's latest run that ended.
#[derive(Serialize, Deserialize)]
pub(super) struct DagRecord {
    pub state: u32,
    pub nodes: Vec<NodeStatus>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Thread<'a> {
    pub id: u32,
    pub parent: Option<Slot>,
    pub scope: u32,
    pub scope_input: Cow<'a, Value>,
    pub data: Cow<'a, Value>,
    pub at: Option<Active<'a>>,
    /// ASL variables of the thread's scope (absent from snapshots written before them).
    #[serde(default, skip_serializing_if = "is_empty_map")]
    pub variables: Cow<'a, serde_json::Map<String, Value>>,
}

fn is_empty_map(map: &serde_json::Map<String, Value>) -> bool {
    map.is_empty()
}

#[derive(Serialize, Deserialize)]
pub(super) struct Slot {
    pub thread: u32,
    pub index: u32,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Active<'a> {
    pub state: u32,
    pub input: Cow<'a, Value>,
    pub entered: u64,
    pub retries: Cow<'a, [u32]>,
    pub retry_count: u32,
    pub block: Block<'a>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Block<'a> {
    None,
    Task { op: u64 },
    Wait { op: u64 },
    Backoff { op: u64 },
    Fanout(Fanout<'a>),
    Dag(DagRun<'a>),
    MapRun(MapRun<'a>),
}

/// A distributed Map's children: what is to start, what runs (op ids by index), results.
#[derive(Serialize, Deserialize)]
pub(super) struct MapRun<'a> {
    pub run: u64,
    pub started_at: Millis,
    pub pending: Cow<'a, [Value]>,
    pub next_index: u32,
    pub results: Vec<Option<Output<'a>>>,
    pub running: Vec<ChildOp>,
    pub max_concurrency: u32,
    pub tolerated_count: Option<u32>,
    pub tolerated_percentage: Option<f64>,
    pub succeeded: u32,
    pub failed: u32,
    /// The failed children's indices (absent before result sinks came).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failed_at: Vec<u32>,
}

#[derive(Serialize, Deserialize)]
pub(super) struct ChildOp {
    pub index: u32,
    pub op: u64,
}

/// A child execution started and waited for.
#[derive(Serialize, Deserialize)]
pub(super) struct ChildStart<'a> {
    pub state: Cow<'a, str>,
    pub map_run: Cow<'a, str>,
    pub index: u32,
    pub scope: u32,
    pub mode: ChildMode,
    pub input: Cow<'a, Value>,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum ChildMode {
    Standard,
    Express,
}

#[derive(Serialize, Deserialize)]
pub(super) struct Fanout<'a> {
    pub pending: Cow<'a, [Value]>,
    pub next_index: u32,
    pub results: Vec<Option<Output<'a>>>,
    pub running: Vec<Child>,
    pub max_concurrency: u32,
}

#[derive(Serialize, Deserialize)]
pub(super) struct DagRun<'a> {
    pub nodes: Vec<NodeStatus>,
    pub running: Vec<Child>,
    pub results: Vec<Option<Output<'a>>>,
    pub draining: Option<Error<'a>>,
}

/// A finished branch's, iteration's or node's result.
#[derive(Serialize, Deserialize)]
pub(super) struct Output<'a> {
    pub output: Cow<'a, Value>,
}

/// A running branch, iteration or node: its index and its thread.
#[derive(Serialize, Deserialize)]
pub(super) struct Child {
    pub index: u32,
    pub thread: u32,
}

#[derive(Clone, Copy, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum NodeStatus {
    Waiting,
    Running,
    Succeeded,
    Failed,
    Skipped,
    Cancelled,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Op<'a> {
    Task {
        id: u64,
        thread: u32,
        scheduled: u64,
        call: Box<TaskCall<'a>>,
        submitted: bool,
        timeout: Option<u64>,
        /// The heartbeat timer (absent in snapshots written before heartbeats).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        heartbeat: Option<u64>,
    },
    Timer {
        id: u64,
        fire_at: Millis,
        purpose: TimerPurpose,
    },
    Child {
        id: u64,
        thread: u32,
        start: ChildStart<'a>,
    },
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum TimerPurpose {
    Wait { thread: u32 },
    Backoff { thread: u32 },
    TaskTimeout { task: u64 },
    Heartbeat { task: u64 },
    ExecutionDeadline,
}

#[derive(Serialize, Deserialize)]
pub(super) struct TaskCall<'a> {
    pub op: u64,
    pub state: Cow<'a, str>,
    pub target: Target<'a>,
    pub mode: Mode,
    pub body: Cow<'a, Value>,
    pub token: Option<Cow<'a, str>>,
    pub attempt: u32,
    pub timeout_secs: Option<u64>,
    /// Absent without a heartbeat period (and in snapshots written before heartbeats).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat_secs: Option<u64>,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Target<'a> {
    Function {
        service: Cow<'a, str>,
        qualifier: Option<Cow<'a, str>>,
        function: Cow<'a, str>,
        /// Absent on a synchronous invocation (and in snapshots written before the field).
        #[serde(default, skip_serializing_if = "Invocation::is_sync")]
        invocation: Invocation,
    },
    Action {
        name: Cow<'a, str>,
    },
    Activity {
        name: Cow<'a, str>,
    },
}

#[derive(Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Invocation {
    #[default]
    Sync,
    Async,
}

impl Invocation {
    fn is_sync(&self) -> bool {
        *self == Invocation::Sync
    }
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Mode {
    RequestComplete,
    WaitForCustomCallback,
    WaitForSystemCallback,
}

// ---- from the engine -----------------------------------------------------------------------

impl<'a> Execution<'a> {
    pub fn of(ex: &'a engine::Execution) -> Self {
        Self {
            info: Info::of(&ex.info),
            status: ex.status.into(),
            input: ex.input.as_ref().map(Cow::Borrowed),
            output: ex.output.as_ref().map(Cow::Borrowed),
            error: ex.error.as_ref().map(Error::of),
            started_at: ex.started_at,
            stopped_at: ex.stopped_at,
            next_event: ex.next_event,
            next_op: ex.next_op,
            next_thread: ex.next_thread,
            threads: ex
                .threads
                .iter()
                .map(|(id, thread)| Thread::of(*id, thread))
                .collect(),
            ops: ex.ops.iter().map(|(id, op)| Op::of(*id, op)).collect(),
            retry_point: ex.retry_point.as_ref().map(|point| RetryPoint {
                state: point.state.0,
                scope_input: Cow::Borrowed(&point.scope_input),
                data: Cow::Borrowed(&point.data),
                finished: Cow::Borrowed(&point.finished),
            }),
            dag_runs: ex
                .dag_runs
                .iter()
                .map(|(state, nodes)| DagRecord {
                    state: state.0,
                    nodes: node_statuses(nodes),
                })
                .collect(),
            globals: Some(Cow::Borrowed(&ex.globals)),
            root: ex.root.0,
            map_runs: ex.map_runs.iter().map(MapRunRecord::of).collect(),
            parent: ex.parent.as_ref().map(|p| Parent {
                execution: Cow::Borrowed(&p.execution),
                op: p.op.0,
            }),
            redrives: (ex.redrives.count > 0).then_some(Redrives {
                count: ex.redrives.count,
                last_at: ex.redrives.last_at,
            }),
        }
    }
}

impl<'a> Info<'a> {
    fn of(info: &'a ExecutionInfo) -> Self {
        Self {
            name: Cow::Borrowed(&info.name),
            flow_name: Cow::Borrowed(&info.flow_name),
            role_arn: info.role_arn.as_deref().map(Cow::Borrowed),
            token_prefix: Cow::Borrowed(&info.token_prefix),
            seed: info.seed,
            limits: Limits {
                max_history_events: info.limits.max_history_events,
                max_payload_bytes: info.limits.max_payload_bytes as u64,
                execution_timeout_ms: info.limits.execution_timeout_ms,
            },
            context_ids: info.context_ids.as_ref().map(|ids| ContextIds {
                execution_prefix: Cow::Borrowed(&ids.execution_prefix),
                flow: Cow::Borrowed(&ids.flow),
            }),
        }
    }
}

impl From<engine::Status> for Status {
    fn from(status: engine::Status) -> Self {
        match status {
            engine::Status::Starting => Status::Starting,
            engine::Status::Running => Status::Running,
            engine::Status::Succeeded => Status::Succeeded,
            engine::Status::Failed => Status::Failed,
            engine::Status::TimedOut => Status::TimedOut,
            engine::Status::Stopped => Status::Stopped,
        }
    }
}

impl<'a> Error<'a> {
    fn of(error: &'a TaskError) -> Self {
        Self {
            code: Cow::Borrowed(error.code.as_str()),
            detail: Cow::Borrowed(&error.detail),
        }
    }
}

fn node_statuses(nodes: &[EngineNodeStatus]) -> Vec<NodeStatus> {
    nodes
        .iter()
        .map(|status| match status {
            EngineNodeStatus::Waiting => NodeStatus::Waiting,
            EngineNodeStatus::Running => NodeStatus::Running,
            EngineNodeStatus::Succeeded => NodeStatus::Succeeded,
            EngineNodeStatus::Failed => NodeStatus::Failed,
            EngineNodeStatus::Skipped => NodeStatus::Skipped,
            EngineNodeStatus::Cancelled => NodeStatus::Cancelled,
        })
        .collect()
}

impl<'a> Thread<'a> {
    fn of(id: ThreadId, thread: &'a engine::Thread) -> Self {
        Self {
            id: id.0,
            parent: thread.parent.map(|slot| Slot {
                thread: slot.thread.0,
                index: slot.index,
            }),
            scope: thread.scope.0,
            scope_input: Cow::Borrowed(&thread.scope_input),
            data: Cow::Borrowed(&thread.data),
            variables: Cow::Borrowed(&thread.variables),
            at: thread.at.as_ref().map(|active| Active {
                state: active.state.0,
                input: Cow::Borrowed(&active.input),
                entered: active.entered.0,
                retries: Cow::Borrowed(&active.retries),
                retry_count: active.retry_count,
                block: Block::of(&active.block),
            }),
        }
    }
}

impl<'a> Block<'a> {
    fn of(block: &'a engine::Block) -> Self {
        match block {
            engine::Block::None => Block::None,
            engine::Block::Task(op) => Block::Task { op: op.0 },
            engine::Block::Wait(op) => Block::Wait { op: op.0 },
            engine::Block::Backoff(op) => Block::Backoff { op: op.0 },
            engine::Block::Fanout(fan) => Block::Fanout(Fanout {
                pending: Cow::Borrowed(&fan.pending),
                next_index: fan.next_index,
                results: results_of(&fan.results),
                running: children_of(&fan.running),
                max_concurrency: fan.max_concurrency,
            }),
            engine::Block::Dag(run) => Block::Dag(DagRun {
                nodes: node_statuses(&run.nodes),
                running: children_of(&run.running),
                results: results_of(&run.results),
                draining: run.draining.as_ref().map(Error::of),
            }),
            engine::Block::MapRun(run) => Block::MapRun(MapRun {
                run: run.run.0,
                started_at: run.started_at,
                pending: Cow::Borrowed(&run.pending),
                next_index: run.next_index,
                results: results_of(&run.results),
                running: run
                    .running
                    .iter()
                    .map(|(index, op)| ChildOp {
                        index: *index,
                        op: op.0,
                    })
                    .collect(),
                max_concurrency: run.max_concurrency,
                tolerated_count: run.tolerated.count,
                tolerated_percentage: run.tolerated.percentage,
                succeeded: run.succeeded,
                failed: run.failed,
                failed_at: run.failed_at.iter().copied().collect(),
            }),
        }
    }
}

fn results_of(results: &[Option<Value>]) -> Vec<Option<Output<'_>>> {
    results
        .iter()
        .map(|result| {
            result.as_ref().map(|output| Output {
                output: Cow::Borrowed(output),
            })
        })
        .collect()
}

fn children_of(running: &std::collections::BTreeMap<u32, ThreadId>) -> Vec<Child> {
    running
        .iter()
        .map(|(index, thread)| Child {
            index: *index,
            thread: thread.0,
        })
        .collect()
}

impl<'a> Op<'a> {
    fn of(id: OpId, op: &'a engine::Op) -> Self {
        match op {
            engine::Op::Task {
                thread,
                scheduled,
                call,
                submitted,
                timeout,
                heartbeat,
            } => Op::Task {
                id: id.0,
                thread: thread.0,
                scheduled: scheduled.0,
                call: Box::new(TaskCall::of(call)),
                submitted: *submitted,
                timeout: timeout.map(|t| t.0),
                heartbeat: heartbeat.map(|t| t.0),
            },
            engine::Op::Timer { fire_at, purpose } => Op::Timer {
                id: id.0,
                fire_at: *fire_at,
                purpose: match purpose {
                    engine::TimerPurpose::Wait(thread) => TimerPurpose::Wait { thread: thread.0 },
                    engine::TimerPurpose::Backoff(thread) => {
                        TimerPurpose::Backoff { thread: thread.0 }
                    }
                    engine::TimerPurpose::TaskTimeout(task) => {
                        TimerPurpose::TaskTimeout { task: task.0 }
                    }
                    engine::TimerPurpose::Heartbeat(task) => {
                        TimerPurpose::Heartbeat { task: task.0 }
                    }
                    engine::TimerPurpose::ExecutionDeadline => TimerPurpose::ExecutionDeadline,
                },
            },
            engine::Op::Child { thread, start } => Op::Child {
                id: id.0,
                thread: thread.0,
                start: ChildStart {
                    state: Cow::Borrowed(start.state.as_str()),
                    map_run: Cow::Borrowed(&start.map_run),
                    index: start.index,
                    scope: start.scope.0,
                    mode: match start.mode {
                        sluice_ir::ChildMode::Standard => ChildMode::Standard,
                        sluice_ir::ChildMode::Express => ChildMode::Express,
                    },
                    input: Cow::Borrowed(&start.input),
                },
            },
        }
    }
}

impl<'a> TaskCall<'a> {
    pub fn of(call: &'a crate::TaskCall) -> Self {
        Self {
            op: call.op.0,
            state: Cow::Borrowed(call.state.as_str()),
            target: match &call.target {
                TaskTarget::Function(f) => Target::Function {
                    service: Cow::Borrowed(&f.service),
                    qualifier: f.qualifier.as_deref().map(Cow::Borrowed),
                    function: Cow::Borrowed(&f.function),
                    invocation: match f.invocation {
                        sluice_ir::Invocation::Sync => Invocation::Sync,
                        sluice_ir::Invocation::Async => Invocation::Async,
                    },
                },
                TaskTarget::Action(name) => Target::Action {
                    name: Cow::Borrowed(name),
                },
                TaskTarget::Activity(name) => Target::Activity {
                    name: Cow::Borrowed(name),
                },
            },
            mode: match call.mode {
                TaskMode::RequestComplete => Mode::RequestComplete,
                TaskMode::WaitForCustomCallback => Mode::WaitForCustomCallback,
                TaskMode::WaitForSystemCallback => Mode::WaitForSystemCallback,
            },
            body: Cow::Borrowed(&call.body),
            token: call.token.as_deref().map(Cow::Borrowed),
            attempt: call.attempt,
            timeout_secs: call.timeout_secs,
            heartbeat_secs: call.heartbeat_secs,
        }
    }
}

// ---- into the engine -----------------------------------------------------------------------

impl From<Execution<'_>> for engine::Execution {
    fn from(s: Execution<'_>) -> Self {
        Self {
            info: s.info.into(),
            status: s.status.into(),
            input: s.input.map(Cow::into_owned),
            output: s.output.map(Cow::into_owned),
            error: s.error.map(Into::into),
            started_at: s.started_at,
            stopped_at: s.stopped_at,
            next_event: s.next_event,
            next_op: s.next_op,
            next_thread: s.next_thread,
            threads: s
                .threads
                .into_iter()
                .map(|thread| (ThreadId(thread.id), Box::new(thread.into())))
                .collect(),
            ops: s
                .ops
                .into_iter()
                .map(|op| (OpId(op.id()), op.into()))
                .collect(),
            retry_point: s.retry_point.map(|point| engine::RetryPoint {
                state: StateId(point.state),
                scope_input: point.scope_input.into_owned(),
                data: point.data.into_owned(),
                finished: point.finished.into_owned(),
            }),
            dag_runs: s
                .dag_runs
                .into_iter()
                .map(|record| (StateId(record.state), engine_statuses(record.nodes)))
                .collect(),
            globals: s
                .globals
                .map_or_else(|| Value::Object(serde_json::Map::new()), Cow::into_owned),
            root: ScopeId(s.root),
            map_runs: s.map_runs.into_iter().map(Into::into).collect(),
            parent: s.parent.map(|p| engine::ParentLink {
                execution: p.execution.into_owned(),
                op: OpId(p.op),
            }),
            redrives: s
                .redrives
                .map_or_else(crate::Redrives::default, |r| crate::Redrives {
                    count: r.count,
                    last_at: r.last_at,
                }),
        }
    }
}

impl From<Info<'_>> for ExecutionInfo {
    fn from(info: Info<'_>) -> Self {
        Self {
            name: info.name.into_owned(),
            flow_name: info.flow_name.into_owned(),
            role_arn: info.role_arn.map(Cow::into_owned),
            token_prefix: info.token_prefix.into_owned(),
            seed: info.seed,
            limits: crate::Limits {
                max_history_events: info.limits.max_history_events,
                max_payload_bytes: usize::try_from(info.limits.max_payload_bytes)
                    .unwrap_or(usize::MAX),
                execution_timeout_ms: info.limits.execution_timeout_ms,
            },
            context_ids: info.context_ids.map(|ids| crate::ContextIds {
                execution_prefix: ids.execution_prefix.into_owned(),
                flow: ids.flow.into_owned(),
            }),
        }
    }
}

impl From<Status> for engine::Status {
    fn from(status: Status) -> Self {
        match status {
            Status::Starting => engine::Status::Starting,
            Status::Running => engine::Status::Running,
            Status::Succeeded => engine::Status::Succeeded,
            Status::Failed => engine::Status::Failed,
            Status::TimedOut => engine::Status::TimedOut,
            Status::Stopped => engine::Status::Stopped,
        }
    }
}

impl From<Error<'_>> for TaskError {
    fn from(error: Error<'_>) -> Self {
        TaskError::new(error.code, error.detail)
    }
}

fn engine_statuses(nodes: Vec<NodeStatus>) -> Vec<EngineNodeStatus> {
    nodes
        .into_iter()
        .map(|status| match status {
            NodeStatus::Waiting => EngineNodeStatus::Waiting,
            NodeStatus::Running => EngineNodeStatus::Running,
            NodeStatus::Succeeded => EngineNodeStatus::Succeeded,
            NodeStatus::Failed => EngineNodeStatus::Failed,
            NodeStatus::Skipped => EngineNodeStatus::Skipped,
            NodeStatus::Cancelled => EngineNodeStatus::Cancelled,
        })
        .collect()
}

impl From<Thread<'_>> for engine::Thread {
    fn from(thread: Thread<'_>) -> Self {
        Self {
            parent: thread.parent.map(|slot| engine::Slot {
                thread: ThreadId(slot.thread),
                index: slot.index,
            }),
            scope: ScopeId(thread.scope),
            scope_input: thread.scope_input.into_owned(),
            data: thread.data.into_owned(),
            variables: thread.variables.into_owned(),
            at: thread.at.map(|active| engine::Active {
                state: StateId(active.state),
                input: active.input.into_owned(),
                entered: EventId(active.entered),
                retries: active.retries.into_owned(),
                retry_count: active.retry_count,
                block: active.block.into(),
            }),
        }
    }
}

impl From<Block<'_>> for engine::Block {
    fn from(block: Block<'_>) -> Self {
        match block {
            Block::None => engine::Block::None,
            Block::Task { op } => engine::Block::Task(OpId(op)),
            Block::Wait { op } => engine::Block::Wait(OpId(op)),
            Block::Backoff { op } => engine::Block::Backoff(OpId(op)),
            Block::Fanout(fan) => engine::Block::Fanout(engine::Fanout {
                pending: fan.pending.into_owned(),
                next_index: fan.next_index,
                results: engine_results(fan.results),
                running: engine_children(fan.running),
                max_concurrency: fan.max_concurrency,
            }),
            Block::Dag(run) => engine::Block::Dag(engine::DagRun {
                nodes: engine_statuses(run.nodes),
                running: engine_children(run.running),
                results: engine_results(run.results),
                draining: run.draining.map(Into::into),
            }),
            Block::MapRun(run) => engine::Block::MapRun(engine::MapRun {
                run: OpId(run.run),
                started_at: run.started_at,
                pending: run.pending.into_owned(),
                next_index: run.next_index,
                results: engine_results(run.results),
                running: run
                    .running
                    .into_iter()
                    .map(|child| (child.index, OpId(child.op)))
                    .collect(),
                max_concurrency: run.max_concurrency,
                tolerated: sluice_ir::ToleratedFailures {
                    count: run.tolerated_count,
                    percentage: run.tolerated_percentage,
                },
                succeeded: run.succeeded,
                failed: run.failed,
                failed_at: run.failed_at.into_iter().collect(),
            }),
        }
    }
}

fn engine_results(results: Vec<Option<Output<'_>>>) -> Vec<Option<Value>> {
    results
        .into_iter()
        .map(|result| result.map(|r| r.output.into_owned()))
        .collect()
}

fn engine_children(running: Vec<Child>) -> std::collections::BTreeMap<u32, ThreadId> {
    running
        .into_iter()
        .map(|child| (child.index, ThreadId(child.thread)))
        .collect()
}

impl Op<'_> {
    fn id(&self) -> u64 {
        match self {
            Op::Task { id, .. } | Op::Timer { id, .. } | Op::Child { id, .. } => *id,
        }
    }
}

impl From<Op<'_>> for engine::Op {
    fn from(op: Op<'_>) -> Self {
        match op {
            Op::Task {
                thread,
                scheduled,
                call,
                submitted,
                timeout,
                heartbeat,
                ..
            } => engine::Op::Task {
                thread: ThreadId(thread),
                scheduled: EventId(scheduled),
                call: Box::new((*call).into()),
                submitted,
                timeout: timeout.map(OpId),
                heartbeat: heartbeat.map(OpId),
            },
            Op::Timer {
                fire_at, purpose, ..
            } => engine::Op::Timer {
                fire_at,
                purpose: match purpose {
                    TimerPurpose::Wait { thread } => engine::TimerPurpose::Wait(ThreadId(thread)),
                    TimerPurpose::Backoff { thread } => {
                        engine::TimerPurpose::Backoff(ThreadId(thread))
                    }
                    TimerPurpose::TaskTimeout { task } => {
                        engine::TimerPurpose::TaskTimeout(OpId(task))
                    }
                    TimerPurpose::Heartbeat { task } => engine::TimerPurpose::Heartbeat(OpId(task)),
                    TimerPurpose::ExecutionDeadline => engine::TimerPurpose::ExecutionDeadline,
                },
            },
            Op::Child { id, thread, start } => engine::Op::Child {
                thread: ThreadId(thread),
                start: Box::new(crate::ChildStart {
                    op: OpId(id),
                    state: StateName::new(start.state),
                    map_run: start.map_run.into_owned(),
                    index: start.index,
                    scope: ScopeId(start.scope),
                    mode: match start.mode {
                        ChildMode::Standard => sluice_ir::ChildMode::Standard,
                        ChildMode::Express => sluice_ir::ChildMode::Express,
                    },
                    input: start.input.into_owned(),
                }),
            },
        }
    }
}

impl From<TaskCall<'_>> for crate::TaskCall {
    fn from(call: TaskCall<'_>) -> Self {
        Self {
            op: OpId(call.op),
            state: StateName::new(call.state),
            target: match call.target {
                Target::Function {
                    service,
                    qualifier,
                    function,
                    invocation,
                } => TaskTarget::Function(FunctionRef {
                    service: service.into_owned(),
                    qualifier: qualifier.map(Cow::into_owned),
                    function: function.into_owned(),
                    invocation: match invocation {
                        Invocation::Sync => sluice_ir::Invocation::Sync,
                        Invocation::Async => sluice_ir::Invocation::Async,
                    },
                }),
                Target::Action { name } => TaskTarget::Action(name.into_owned()),
                Target::Activity { name } => TaskTarget::Activity(name.into_owned()),
            },
            mode: match call.mode {
                Mode::RequestComplete => TaskMode::RequestComplete,
                Mode::WaitForCustomCallback => TaskMode::WaitForCustomCallback,
                Mode::WaitForSystemCallback => TaskMode::WaitForSystemCallback,
            },
            body: call.body.into_owned(),
            token: call.token.map(Cow::into_owned),
            attempt: call.attempt,
            timeout_secs: call.timeout_secs,
            heartbeat_secs: call.heartbeat_secs,
        }
    }
}
