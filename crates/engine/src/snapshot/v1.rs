//! Format 1: the engine's in-memory structs as serde derived them, written until snapshots
//! were versioned (it has no `format` field). Read only, and upgraded to format 2 at once;
//! this file never changes again.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use super::v2;

#[derive(Deserialize)]
pub(super) struct Execution {
    info: Info,
    status: Status,
    input: Option<Value>,
    output: Option<Value>,
    error: Option<Error>,
    started_at: Option<i64>,
    stopped_at: Option<i64>,
    next_event: u64,
    next_op: u64,
    next_thread: u32,
    threads: BTreeMap<u32, Thread>,
    ops: BTreeMap<u64, Op>,
    #[serde(default)]
    retry_point: Option<RetryPoint>,
    #[serde(default)]
    dag_runs: BTreeMap<u32, Vec<NodeStatus>>,
}

#[derive(Deserialize)]
struct Info {
    name: String,
    flow_name: String,
    role_arn: Option<String>,
    token_prefix: String,
    seed: u64,
    limits: Limits,
}

#[derive(Deserialize)]
struct Limits {
    max_history_events: u64,
    max_payload_bytes: u64,
    execution_timeout_ms: Option<u64>,
}

#[derive(Deserialize)]
enum Status {
    Starting,
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Stopped,
}

#[derive(Deserialize)]
struct Error {
    code: String,
    detail: String,
}

#[derive(Deserialize)]
struct RetryPoint {
    state: u32,
    scope_input: Value,
    data: Value,
}

#[derive(Deserialize)]
struct Thread {
    parent: Option<Slot>,
    scope: u32,
    scope_input: Value,
    data: Value,
    at: Option<Active>,
}

#[derive(Deserialize)]
struct Slot {
    thread: u32,
    index: u32,
}

#[derive(Deserialize)]
struct Active {
    state: u32,
    input: Value,
    entered: u64,
    retries: Vec<u32>,
    retry_count: u32,
    block: Block,
}

#[derive(Deserialize)]
enum Block {
    None,
    Task(u64),
    Wait(u64),
    Backoff(u64),
    Fanout(Fanout),
    Dag(DagRun),
}

#[derive(Deserialize)]
struct Fanout {
    pending: Vec<Value>,
    next_index: u32,
    results: Vec<Option<Value>>,
    running: BTreeMap<u32, u32>,
    max_concurrency: u32,
}

#[derive(Deserialize)]
struct DagRun {
    nodes: Vec<NodeStatus>,
    running: BTreeMap<u32, u32>,
    results: Vec<Option<Value>>,
    draining: Option<Error>,
}

#[derive(Deserialize)]
enum NodeStatus {
    Waiting,
    Running,
    Succeeded,
    Failed,
    Skipped,
    Cancelled,
}

#[derive(Deserialize)]
enum Op {
    Task {
        thread: u32,
        scheduled: u64,
        call: Box<TaskCall>,
        submitted: bool,
        timeout: Option<u64>,
    },
    Timer {
        fire_at: i64,
        purpose: TimerPurpose,
    },
}

#[derive(Deserialize)]
enum TimerPurpose {
    Wait(u32),
    Backoff(u32),
    TaskTimeout(u64),
    ExecutionDeadline,
}

#[derive(Deserialize)]
pub(super) struct TaskCall {
    op: u64,
    state: String,
    target: Target,
    mode: Mode,
    body: Value,
    token: Option<String>,
    attempt: u32,
    timeout_secs: Option<u64>,
}

#[derive(Deserialize)]
enum Target {
    Function(Function),
    Action(String),
}

#[derive(Deserialize)]
struct Function {
    service: String,
    qualifier: Option<String>,
    function: String,
}

#[derive(Deserialize)]
enum Mode {
    RequestComplete,
    WaitForCustomCallback,
    WaitForSystemCallback,
}

// ---- the upgrade to format 2 ---------------------------------------------------------------

impl From<Execution> for v2::Execution<'static> {
    fn from(old: Execution) -> Self {
        Self {
            info: old.info.into(),
            status: old.status.into(),
            input: old.input.map(Cow::Owned),
            output: old.output.map(Cow::Owned),
            error: old.error.map(Into::into),
            started_at: old.started_at,
            stopped_at: old.stopped_at,
            next_event: old.next_event,
            next_op: old.next_op,
            next_thread: old.next_thread,
            threads: old
                .threads
                .into_iter()
                .map(|(id, thread)| thread.upgrade(id))
                .collect(),
            ops: old.ops.into_iter().map(|(id, op)| op.upgrade(id)).collect(),
            retry_point: old.retry_point.map(|point| v2::RetryPoint {
                state: point.state,
                scope_input: Cow::Owned(point.scope_input),
                data: Cow::Owned(point.data),
                finished: Cow::Owned(Vec::new()),
            }),
            dag_runs: old
                .dag_runs
                .into_iter()
                .map(|(state, nodes)| v2::DagRecord {
                    state,
                    nodes: nodes.into_iter().map(Into::into).collect(),
                })
                .collect(),
            // Format 1 predates global variables and child executions.
            globals: None,
            root: 0,
            map_runs: Vec::new(),
            parent: None,
            redrives: None,
        }
    }
}

impl From<Info> for v2::Info<'static> {
    fn from(old: Info) -> Self {
        Self {
            name: old.name.into(),
            flow_name: old.flow_name.into(),
            role_arn: old.role_arn.map(Into::into),
            token_prefix: old.token_prefix.into(),
            seed: old.seed,
            limits: v2::Limits {
                max_history_events: old.limits.max_history_events,
                max_payload_bytes: old.limits.max_payload_bytes,
                execution_timeout_ms: old.limits.execution_timeout_ms,
            },
            context_ids: None,
        }
    }
}

impl From<Status> for v2::Status {
    fn from(old: Status) -> Self {
        match old {
            Status::Starting => v2::Status::Starting,
            Status::Running => v2::Status::Running,
            Status::Succeeded => v2::Status::Succeeded,
            Status::Failed => v2::Status::Failed,
            Status::TimedOut => v2::Status::TimedOut,
            Status::Stopped => v2::Status::Stopped,
        }
    }
}

impl From<Error> for v2::Error<'static> {
    fn from(old: Error) -> Self {
        Self {
            code: old.code.into(),
            detail: old.detail.into(),
        }
    }
}

impl From<NodeStatus> for v2::NodeStatus {
    fn from(old: NodeStatus) -> Self {
        match old {
            NodeStatus::Waiting => v2::NodeStatus::Waiting,
            NodeStatus::Running => v2::NodeStatus::Running,
            NodeStatus::Succeeded => v2::NodeStatus::Succeeded,
            NodeStatus::Failed => v2::NodeStatus::Failed,
            NodeStatus::Skipped => v2::NodeStatus::Skipped,
            NodeStatus::Cancelled => v2::NodeStatus::Cancelled,
        }
    }
}

impl Thread {
    fn upgrade(self, id: u32) -> v2::Thread<'static> {
        v2::Thread {
            id,
            parent: self.parent.map(|slot| v2::Slot {
                thread: slot.thread,
                index: slot.index,
            }),
            scope: self.scope,
            scope_input: Cow::Owned(self.scope_input),
            data: Cow::Owned(self.data),
            variables: Cow::Owned(serde_json::Map::new()),
            at: self.at.map(|active| v2::Active {
                state: active.state,
                input: Cow::Owned(active.input),
                entered: active.entered,
                retries: active.retries.into(),
                retry_count: active.retry_count,
                block: active.block.into(),
            }),
        }
    }
}

impl From<Block> for v2::Block<'static> {
    fn from(old: Block) -> Self {
        match old {
            Block::None => v2::Block::None,
            Block::Task(op) => v2::Block::Task { op },
            Block::Wait(op) => v2::Block::Wait { op },
            Block::Backoff(op) => v2::Block::Backoff { op },
            Block::Fanout(fan) => v2::Block::Fanout(v2::Fanout {
                pending: fan.pending.into(),
                next_index: fan.next_index,
                results: results(fan.results),
                running: children(fan.running),
                max_concurrency: fan.max_concurrency,
            }),
            Block::Dag(run) => v2::Block::Dag(v2::DagRun {
                nodes: run.nodes.into_iter().map(Into::into).collect(),
                running: children(run.running),
                results: results(run.results),
                draining: run.draining.map(Into::into),
            }),
        }
    }
}

/// Format 1 wrote a result of `null` as it wrote "no result yet"; both read as no result, as
/// format 1 itself read them.
fn results(old: Vec<Option<Value>>) -> Vec<Option<v2::Output<'static>>> {
    old.into_iter()
        .map(|r| {
            r.map(|output| v2::Output {
                output: Cow::Owned(output),
            })
        })
        .collect()
}

fn children(old: BTreeMap<u32, u32>) -> Vec<v2::Child> {
    old.into_iter()
        .map(|(index, thread)| v2::Child { index, thread })
        .collect()
}

impl Op {
    fn upgrade(self, id: u64) -> v2::Op<'static> {
        match self {
            Op::Task {
                thread,
                scheduled,
                call,
                submitted,
                timeout,
            } => v2::Op::Task {
                id,
                thread,
                scheduled,
                call: Box::new((*call).into()),
                submitted,
                timeout,
                heartbeat: None,
            },
            Op::Timer { fire_at, purpose } => v2::Op::Timer {
                id,
                fire_at,
                purpose: match purpose {
                    TimerPurpose::Wait(thread) => v2::TimerPurpose::Wait { thread },
                    TimerPurpose::Backoff(thread) => v2::TimerPurpose::Backoff { thread },
                    TimerPurpose::TaskTimeout(task) => v2::TimerPurpose::TaskTimeout { task },
                    TimerPurpose::ExecutionDeadline => v2::TimerPurpose::ExecutionDeadline,
                },
            },
        }
    }
}

impl From<TaskCall> for v2::TaskCall<'static> {
    fn from(old: TaskCall) -> Self {
        Self {
            op: old.op,
            state: old.state.into(),
            target: match old.target {
                Target::Function(f) => v2::Target::Function {
                    service: f.service.into(),
                    qualifier: f.qualifier.map(Into::into),
                    function: f.function.into(),
                    invocation: v2::Invocation::Sync,
                },
                Target::Action(name) => v2::Target::Action { name: name.into() },
            },
            mode: match old.mode {
                Mode::RequestComplete => v2::Mode::RequestComplete,
                Mode::WaitForCustomCallback => v2::Mode::WaitForCustomCallback,
                Mode::WaitForSystemCallback => v2::Mode::WaitForSystemCallback,
            },
            body: Cow::Owned(old.body),
            token: old.token.map(Into::into),
            attempt: old.attempt,
            timeout_secs: old.timeout_secs,
            heartbeat_secs: None,
        }
    }
}
