//! What one `apply` produces: history events to append and effects to perform.

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
#[expect(
    clippy::large_enum_variant,
    reason = "a step's effects are few and consumed at once: boxing each call would buy nothing"
)]
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
    /// The execution reached a terminal status (see [`crate::Execution::status`]).
    Finish(Status),
}
