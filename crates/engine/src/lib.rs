//! The sluice engine: a pure, deterministic interpreter of [`sluice_ir::Flow`]s.
//!
//! [`Execution::apply`] takes one [`Input`] (started, task result, callback, timer fired,
//! stop, …) and the current time, updates the execution in place and returns a [`Step`]: the
//! history events to append and the [`Effect`]s to perform (dispatch a task, start or cancel a
//! timer, cancel a task, finish). No IO, no clock, no randomness: time, ids and seeds come in
//! as inputs, so the same inputs always give the same outputs.
//!
//! Runs of pure states (Pass, Choice, Succeed, Fail, constructors) are evaluated inside one
//! `apply`, so they cost one durable write in the server.
//!
//! An execution is stored as a [`Snapshot`] (task rows as [`CallSnapshot`]s): a versioned
//! format of its own, so the in-memory structs can change without breaking stored executions.
//!
//! Start reading at [`Execution::apply`], then `machine/mod.rs`.

mod dag_status;
mod data;
mod execution;
mod history;
mod input;
mod inspection;
mod machine;
mod redrive;
pub mod snapshot;
mod step;
mod task_call;

pub use dag_status::{DagNodeStatus, NodeStatus, dag_node_statuses};
pub use execution::{
    ContextIds, Execution, ExecutionInfo, Limits, MapRunStatus, MapRunSummary, OpId, ParentLink,
    PendingOp, Status, map_run_name,
};
pub use history::{Detail, EventId, EventType, HistoryEvent};
pub use input::{Input, Rejection};
pub use inspection::{Inspection, RetryDetails};
pub use redrive::{MAX_REDRIVES, NotRedrivable, REDRIVE_WINDOW_MS, Redrives};
pub use snapshot::{CallSnapshot, Snapshot};
pub use step::{ChildStart, Effect, Step};
pub use task_call::TaskCall;

/// Milliseconds since the Unix epoch: the engine's only notion of time.
pub type Millis = i64;
