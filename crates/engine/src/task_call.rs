//! A task call: what the runtime performs for a Task state, and what a task row stores.

use serde_json::Value;
use sluice_ir::{StateName, TaskMode, TaskTarget};

use crate::execution::OpId;

/// One call of a task, as the runtime performs it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskCall {
    pub op: OpId,
    pub state: StateName,
    pub target: TaskTarget,
    pub mode: TaskMode,
    pub body: Value,
    /// The task token (callback mode), also visible as `$Context.Current.TaskToken`.
    pub token: Option<String>,
    /// 0 for the first attempt, then the retry count.
    pub attempt: u32,
    pub timeout_secs: Option<u64>,
    /// The heartbeat period (ASL `HeartbeatSeconds`): the task fails when no heartbeat comes
    /// within it (from its start for a callback, from its pickup for an activity).
    pub heartbeat_secs: Option<u64>,
}

impl TaskCall {
    /// The activity a worker takes this call from, if it is an activity's task.
    pub fn activity(&self) -> Option<&str> {
        match &self.target {
            TaskTarget::Activity(name) => Some(name),
            _ => None,
        }
    }
}
