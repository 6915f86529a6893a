//! Executions a task starts of another flow ([`TaskTarget::Execution`], ASL's
//! `states:startExecution`). What to start is resolved by a [`NestedStarter`] (the service: the
//! same tenant, its flow by name, a version or alias routed, the checks of any start), at the
//! IO edge; the engine only sees the reports ([`NestedEnd`]).
//!
//! - Waited for (`.sync`, `.sync:2`), the execution is a child: created in the transaction of
//!   the step that dispatches the task, linked to its parent ([`ParentLink::flow`]), stopped
//!   in the transaction of the step that cancels the task (a stop of the parent, a timeout),
//!   and reporting its end to the parent's task in the transaction of its last step, all as
//!   `children.rs` does for a distributed Map's children.
//! - Not waited for, it is started on its own by the service, as a task call whose answer is
//!   the start.
//!
//! Its name is the task's `Name`, or one drawn from the parent's seed and the task's op, so
//! the same task started again after a restart names the same execution.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use sluice_engine::{Execution, ExecutionInfo, PendingOp, Status};
use sluice_ir::nested::{NestedEnd, NestedStart, NestedStatus};
use sluice_ir::{Flow, NestedWait, TaskError, TaskTarget};
use sluice_store::{ExecutionName, ExecutionRecord, FlowName, NewExecution, TenantId};

use sluice_engine::TaskCall;

/// A boxed future, for a trait the runtime holds as an object.
pub type Pending<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A start a task asks for: of `start`, named `name`, in `tenant`, by the execution `parent`.
pub struct NestedRequest<'a> {
    pub tenant: &'a TenantId,
    pub parent: &'a ExecutionInfo,
    pub start: &'a NestedStart,
    pub name: ExecutionName,
}

/// A child execution ready to be created: the row, its identity and the flow revision it runs.
pub struct PreparedChild {
    pub new: NewExecution,
    pub info: ExecutionInfo,
    pub flow: Arc<Flow>,
}

/// Resolves and starts the executions tasks ask for (implemented by the service).
pub trait NestedStarter: Send + Sync {
    /// What a waited-for start creates; refused (no such flow, version or alias, a flow of
    /// Express executions, a bad input or name): why, as the task's error.
    fn prepare<'a>(
        &'a self,
        request: NestedRequest<'a>,
    ) -> Pending<'a, Result<PreparedChild, TaskError>>;

    /// Starts an execution not linked to the task's (an existing one of that name and input
    /// is the start, as `StartExecution` answers it); reports it started.
    fn start_detached<'a>(
        &'a self,
        request: NestedRequest<'a>,
    ) -> Pending<'a, Result<NestedEnd, TaskError>>;
}

/// A call whose execution is a child of the caller (`.sync`, `.sync:2`).
pub(super) fn waits(call: &TaskCall) -> bool {
    matches!(
        call.target,
        TaskTarget::Execution(NestedWait::OutputText | NestedWait::OutputJson)
    )
}

/// The nested start `call` asks for, and the name of its execution.
pub(super) fn start_of(
    parent: &ExecutionInfo,
    call: &TaskCall,
) -> Result<(NestedStart, ExecutionName), TaskError> {
    let start = NestedStart::of(&call.body)
        .map_err(|reason| TaskError::new(sluice_ir::nested::TASK_FAILED, reason))?;
    let name = start
        .name
        .clone()
        .unwrap_or_else(|| drawn_name(parent.seed, call.op.0));
    Ok((start, ExecutionName::new(name)))
}

/// A UUID drawn from `seed` and `op` (splitmix64), the same for the same task.
fn drawn_name(seed: u64, op: u64) -> String {
    let mut state = seed ^ op.wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut next = || {
        state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    };
    let bytes = (u128::from(next()) << 64 | u128::from(next())).to_be_bytes();
    uuid::Builder::from_random_bytes(bytes)
        .into_uuid()
        .to_string()
}

/// A child's state as its parent's task is told it.
pub(super) fn nested_end(name: &ExecutionName, state: &Execution) -> NestedEnd {
    let status = match state.status() {
        Status::Starting | Status::Running => NestedStatus::Running,
        Status::Succeeded => NestedStatus::Succeeded,
        Status::Failed => NestedStatus::Failed,
        Status::Stopped => NestedStatus::Stopped,
        Status::TimedOut => NestedStatus::TimedOut,
    };
    let error = state.error().filter(|e| !e.code.as_str().is_empty());
    NestedEnd {
        name: name.to_string(),
        status,
        started_at: state.started_at().unwrap_or_default(),
        stopped_at: state.stopped_at(),
        output: match status {
            NestedStatus::Succeeded => Some(state.output().cloned().unwrap_or_default()),
            _ => None,
        },
        error: error.map(|e| e.code.as_str().to_owned()),
        cause: error.map(|e| e.detail.clone()),
    }
}

/// A child's start as its parent's task is told it when the child is created (`end`: how it
/// stands after its first step).
pub(super) fn started(end: &NestedEnd) -> NestedEnd {
    NestedEnd {
        status: NestedStatus::Running,
        stopped_at: None,
        output: None,
        error: None,
        cause: None,
        ..end.clone()
    }
}

/// The nested call `op` of `record`, if the execution waits in it for a child.
pub(super) fn waiting_call(record: &ExecutionRecord, op: sluice_engine::OpId) -> Option<&TaskCall> {
    record
        .state
        .pending_ops()
        .find_map(|pending| match pending {
            PendingOp::Task { call, .. } if call.op == op && waits(call) => Some(call),
            _ => None,
        })
}

/// The flow a child named by `start` runs, by name in the parent's tenant.
pub(super) fn flow_name(start: &NestedStart) -> FlowName {
    FlowName::new(start.flow.clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drawn_names_are_uuids_the_same_for_the_same_task() {
        let name = drawn_name(7, 3);
        assert_eq!(name, drawn_name(7, 3));
        assert_ne!(name, drawn_name(7, 4));
        assert!(uuid::Uuid::parse_str(&name).is_ok());
    }
}
