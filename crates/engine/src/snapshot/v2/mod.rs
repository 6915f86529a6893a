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
use sluice_ir::{
    FunctionRef, NestedWait, ScopeId, StateId, StateName, TaskError, TaskMode, TaskTarget,
};

use crate::Millis;
use crate::dag_status::NodeStatus as EngineNodeStatus;
use crate::execution::{self as engine, ThreadId};
use crate::history::EventId;
use crate::{ExecutionInfo, OpId};

mod read;
mod write;

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
    /// A nested execution's parent's flow (absent for a distributed Map's child, and in
    /// snapshots written before nested executions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flow: Option<i64>,
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
    /// Added with nested executions (older snapshots have none).
    Execution {
        wait: Wait,
    },
}

/// How a task starting an execution waits for it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(super) enum Wait {
    Started,
    OutputText,
    OutputJson,
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
