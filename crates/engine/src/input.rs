//! What can happen to an execution.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_ir::{TaskError, ToleratedFailures};

use crate::execution::OpId;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Input {
    /// The execution begins with this input.
    Start { input: Value },
    /// A dispatched task call answered (for callback modes: the submission answered).
    TaskCompleted {
        op: OpId,
        result: Result<Value, TaskError>,
    },
    /// A task's result given in place of its call (a mock configuration's answer, see
    /// `sluice_runtime::mocks`): the state's result as given, not wrapped as a function's
    /// answer is, and final whatever the task's mode (no callback is awaited).
    TaskMocked {
        op: OpId,
        result: Result<Value, TaskError>,
    },
    /// `ReportTaskSucceeded` / `ReportTaskFailed` with a task token.
    CallbackReported {
        token: String,
        result: Result<Value, TaskError>,
    },
    /// A worker took the activity task `op` (Step Functions' `GetActivityTask`): the task
    /// is started, its heartbeat period begins. Of two workers, the second is `Stale`.
    ActivityTaken { op: OpId, worker: Option<String> },
    /// A worker's heartbeat of the task of `token` (`SendTaskHeartbeat`): its heartbeat
    /// timer starts over.
    Heartbeat { token: String },
    /// A timer started by a `StartTimer` effect fired.
    TimerFired { op: OpId },
    /// `StopExecution`: stop everything, now.
    Stop {
        error: Option<String>,
        cause: Option<String>,
    },
    /// A child execution started by [`crate::Effect::StartChild`] ended: its output, or why it
    /// failed, timed out or was stopped.
    ChildFinished {
        op: OpId,
        result: Result<Value, TaskError>,
    },
    /// Changes a running distributed Map (CloudFlow `UpdateMapRun`): how many children run at
    /// once, and how many may fail.
    UpdateMapRun {
        /// The map run's name ([`crate::Execution::map_runs`]).
        map_run: String,
        max_concurrency: Option<u32>,
        tolerated: Option<ToleratedFailures>,
    },
    /// Run a failed execution again from the top-level state that failed (FunctionGraph's
    /// `retry`), with the data that state was entered with.
    Retry,
    /// Run a failed, stopped or timed-out execution on from where it ended (AWS's
    /// `RedriveExecution`): its unsuccessful top-level state again, and of a Parallel or Map
    /// state only the branches or iterations that did not succeed.
    Redrive,
}

/// Why an input changed nothing. The execution is left exactly as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The execution already reached a terminal status (CloudFlow `ExecutionAlreadyCompleted`).
    #[error("the execution has already completed")]
    AlreadyCompleted,
    /// The execution has not started yet (only `Start` and `Stop` are accepted).
    #[error("the execution has not started")]
    NotStarted,
    /// `Start` on an execution that has started.
    #[error("the execution has already started")]
    AlreadyStarted,
    /// The task, timer or token is no longer awaited: it completed, timed out, was retried or
    /// was aborted (CloudFlow `TaskAlreadyCompleted`).
    #[error("the task or timer is no longer awaited")]
    Stale,
    /// `Retry` of an execution that did not fail in a state (it is running, succeeded, was
    /// stopped, timed out, or failed before entering its first state).
    #[error("only an execution that failed in a state can be retried")]
    NotRetryable,
    /// `Redrive` of an execution that cannot be redriven now.
    #[error("the execution cannot be redriven: {0}")]
    NotRedrivable(crate::NotRedrivable),
}
