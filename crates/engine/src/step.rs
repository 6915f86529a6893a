//! What one `apply` produces: history events to append and effects to perform.

use serde_json::Value;
use sluice_ir::{ChildMode, ScopeId, StateName};

use crate::Millis;
use crate::execution::{OpId, Status};
use crate::history::HistoryEvent;
use crate::task_call::TaskCall;

/// What one `apply` produced: append `events` to the history and perform `effects`, in the
/// same transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    pub events: Vec<HistoryEvent>,
    pub effects: Vec<Effect>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Call the task; report its answer as [`crate::Input::TaskCompleted`] with `call.op`.
    Dispatch(TaskCall),
    /// Abort the call in flight (close its connection) and invalidate its token.
    CancelTask(OpId),
    /// Report [`crate::Input::TimerFired`] with `op` at `fire_at`.
    StartTimer {
        op: OpId,
        fire_at: Millis,
    },
    CancelTimer(OpId),
    /// Start a child execution; report its end as [`crate::Input::ChildFinished`] with
    /// `start.op`.
    StartChild(ChildStart),
    /// Stop the child execution started for `op` (and, through its own stop, its children).
    StopChild(OpId),
    /// The execution reached a terminal status (see [`crate::Execution::status`]).
    Finish(Status),
}

/// A child execution as the runtime starts it: an [`crate::Execution::child`] of the same flow
/// running `scope` with `input`. Its name is the runtime's to choose (unique per `op` of this
/// execution: the same start after a restart is the same child).
#[derive(Debug, Clone, PartialEq)]
pub struct ChildStart {
    pub op: OpId,
    /// The distributed Map state that started it.
    pub state: StateName,
    /// The map run it belongs to ([`crate::execution::map_run_name`]).
    pub map_run: String,
    /// Its place among the state's children, from 0.
    pub index: u32,
    pub scope: ScopeId,
    pub mode: ChildMode,
    pub input: Value,
}
