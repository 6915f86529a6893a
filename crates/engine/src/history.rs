//! History events, with CloudFlow's event types (spec §8.3).

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_ir::StateName;

use crate::Millis;

/// Dense, increasing from 1 within an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventId(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    ExecutionStarted,
    ExecutionStopped,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionTimedOut,
    /// A failed execution runs again from its failed state.
    ExecutionRetried,
    /// A failed, stopped or timed-out execution runs on from where it ended (a redrive).
    ExecutionRedriven,
    StepEntered,
    StepStarted,
    StepSucceeded,
    StepFailed,
    StepExited,
    BranchEntered,
    BranchExited,
    IterationEntered,
    IterationExited,
    /// A distributed Map started its children; the detail names the map run.
    MapRunStarted,
    TaskScheduled,
    TaskStarted,
    TaskSubmitted,
    TaskSubmitFailed,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ExecutionStarted => "ExecutionStarted",
            EventType::ExecutionStopped => "ExecutionStopped",
            EventType::ExecutionSucceeded => "ExecutionSucceeded",
            EventType::ExecutionFailed => "ExecutionFailed",
            EventType::ExecutionTimedOut => "ExecutionTimedOut",
            EventType::ExecutionRetried => "ExecutionRetried",
            EventType::ExecutionRedriven => "ExecutionRedriven",
            EventType::StepEntered => "StepEntered",
            EventType::StepStarted => "StepStarted",
            EventType::StepSucceeded => "StepSucceeded",
            EventType::StepFailed => "StepFailed",
            EventType::StepExited => "StepExited",
            EventType::BranchEntered => "BranchEntered",
            EventType::BranchExited => "BranchExited",
            EventType::IterationEntered => "IterationEntered",
            EventType::IterationExited => "IterationExited",
            EventType::MapRunStarted => "MapRunStarted",
            EventType::TaskScheduled => "TaskScheduled",
            EventType::TaskStarted => "TaskStarted",
            EventType::TaskSubmitted => "TaskSubmitted",
            EventType::TaskSubmitFailed => "TaskSubmitFailed",
            EventType::TaskSucceeded => "TaskSucceeded",
            EventType::TaskFailed => "TaskFailed",
            EventType::TaskTimedOut => "TaskTimedOut",
        }
    }

    /// Whether this event ends the execution.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            EventType::ExecutionStopped
                | EventType::ExecutionSucceeded
                | EventType::ExecutionFailed
                | EventType::ExecutionTimedOut
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: EventId,
    /// The event this one answers (a TaskSucceeded's TaskScheduled, a StepExited's
    /// StepEntered), or `None`.
    pub schedule_id: Option<EventId>,
    pub step: Option<StateName>,
    pub time: Millis,
    pub kind: EventType,
    /// Input, output, error and resource details, rendered as CloudFlow's `EventDetail`.
    pub detail: Value,
}
