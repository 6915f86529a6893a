//! The native API's wire shapes, made from the service's views.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sluice_service::views::{
    ExecutionSummary, ExecutionView, FlowView, HistoryEvent, JobKind, JobStatus, JobView, Status,
};
use sluice_service::{Dialect, StepRun, StepStatus};
use utoipa::ToSchema;

/// RFC 3339, UTC, millisecond precision.
pub use crate::wire_time::millis_z as time;

/// An execution's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExecutionStatus {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Stopped,
}

impl ExecutionStatus {
    pub fn of(status: Status) -> Self {
        match status {
            Status::Starting | Status::Running => ExecutionStatus::Running,
            Status::Succeeded => ExecutionStatus::Succeeded,
            Status::Failed => ExecutionStatus::Failed,
            Status::TimedOut => ExecutionStatus::TimedOut,
            Status::Stopped => ExecutionStatus::Stopped,
        }
    }

    /// The stored status it selects in a filter.
    pub fn stored(self) -> Status {
        match self {
            ExecutionStatus::Running => Status::Running,
            ExecutionStatus::Succeeded => Status::Succeeded,
            ExecutionStatus::Failed => Status::Failed,
            ExecutionStatus::TimedOut => Status::TimedOut,
            ExecutionStatus::Stopped => Status::Stopped,
        }
    }
}

/// A flow in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct Flow {
    pub name: String,
    /// `cloudflow`, `functiongraph-v2`, `functiongraph-v1`, `dataarts` or `asl`.
    pub dialect: String,
    /// A closed flow (a stopped GES graph) accepts no new executions.
    pub open: bool,
    pub created_at: String,
    pub modified_at: String,
    /// Increases with every update of the definition.
    pub revision: i64,
}

impl Flow {
    pub fn of(flow: &FlowView) -> Self {
        Flow {
            name: flow.name.to_string(),
            dialect: flow.dialect.as_str().to_string(),
            open: flow.open,
            created_at: time(flow.created_at),
            modified_at: time(flow.modified_at),
            revision: flow.revision,
        }
    }
}

/// A flow with its definition.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowDetail {
    #[serde(flatten)]
    pub flow: Flow,
    pub description: String,
    /// The definition text as it was sent.
    pub definition: String,
}

/// A page of flows.
#[derive(Debug, Serialize, ToSchema)]
pub struct FlowPage {
    pub flows: Vec<Flow>,
    pub next_page_token: Option<String>,
}

/// An execution in a listing.
#[derive(Debug, Serialize, ToSchema)]
pub struct Execution {
    pub flow: String,
    pub name: String,
    pub dialect: String,
    pub status: ExecutionStatus,
    pub started_at: Option<String>,
    pub stopped_at: Option<String>,
}

impl Execution {
    pub fn of(execution: &ExecutionSummary, dialect: Dialect) -> Self {
        Execution {
            flow: execution.flow_name.to_string(),
            name: execution.name.to_string(),
            dialect: dialect.as_str().to_string(),
            status: ExecutionStatus::of(execution.status),
            started_at: execution.started_at.map(time),
            stopped_at: execution.stopped_at.map(time),
        }
    }
}

/// A page of executions, newest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionPage {
    pub executions: Vec<Execution>,
    pub next_page_token: Option<String>,
}

/// An execution with its data and the runs of its states.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionDetail {
    #[serde(flatten)]
    pub execution: Execution,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
    /// How often it was redriven.
    pub redrive_count: u32,
    /// Whether a redrive would be accepted now (it failed, was stopped or timed out in a
    /// state, within the last 14 days).
    pub redrivable: bool,
    /// Each state or node that ran, in the order it first ran.
    pub states: Vec<StateRuns>,
}

impl ExecutionDetail {
    pub fn of(execution: &ExecutionView, dialect: Dialect, runs: Vec<StepRun>) -> Self {
        let error = execution.error.as_ref();
        ExecutionDetail {
            execution: Execution::of(&execution.summary(), dialect),
            input: execution.input.clone(),
            output: execution.output.clone(),
            error: error.map(|e| e.code.to_string()),
            cause: error.map(|e| e.detail.clone()),
            redrive_count: execution.redrives.count,
            redrivable: execution.not_redrivable.is_none(),
            states: StateRuns::group(runs),
        }
    }
}

/// The runs of one state (several when it ran in a loop, a Map or after a Catch).
#[derive(Debug, Serialize, ToSchema)]
pub struct StateRuns {
    pub name: String,
    pub runs: Vec<StateRun>,
}

impl StateRuns {
    fn group(runs: Vec<StepRun>) -> Vec<StateRuns> {
        let mut states: Vec<StateRuns> = Vec::new();
        for run in runs {
            let wire = StateRun::of(&run);
            match states.iter_mut().find(|s| s.name == run.step) {
                Some(state) => state.runs.push(wire),
                None => states.push(StateRuns {
                    name: run.step,
                    runs: vec![wire],
                }),
            }
        }
        states
    }
}

/// A state run's status.
#[derive(Debug, Clone, Copy, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Succeeded,
    Failed,
}

/// One run of one state.
#[derive(Debug, Serialize, ToSchema)]
pub struct StateRun {
    pub status: RunStatus,
    pub entered_at: String,
    pub exited_at: Option<String>,
    /// Task calls made (retries included).
    pub attempts: u32,
    pub input: Value,
    pub output: Option<Value>,
    /// `{error, cause}` of a failed run.
    pub error: Option<Value>,
}

impl StateRun {
    fn of(run: &StepRun) -> Self {
        StateRun {
            status: match run.status {
                StepStatus::Running => RunStatus::Running,
                StepStatus::Succeeded => RunStatus::Succeeded,
                StepStatus::Failed => RunStatus::Failed,
            },
            entered_at: time(run.entered_at),
            exited_at: run.left_at.map(time),
            attempts: run.attempts,
            input: run.input.clone(),
            output: run.output.clone(),
            error: run.error.clone(),
        }
    }
}

/// A history event.
#[derive(Debug, Serialize, ToSchema)]
pub struct Event {
    pub id: u64,
    /// The event that scheduled this one (a state's entry, a task's scheduling).
    pub previous_id: Option<u64>,
    /// `ExecutionStarted`, `StepEntered`, `TaskScheduled`, …
    #[serde(rename = "type")]
    pub kind: String,
    pub state: Option<String>,
    pub time: String,
    pub detail: Value,
}

impl Event {
    pub fn of(event: &HistoryEvent) -> Self {
        Event {
            id: event.id.0,
            previous_id: event.schedule_id.map(|e| e.0),
            kind: event.kind.as_str().to_string(),
            state: event.step.as_ref().map(|s| s.to_string()),
            time: time(event.time),
            detail: Value::clone(&event.detail),
        }
    }
}

/// A page of history events, oldest first.
#[derive(Debug, Serialize, ToSchema)]
pub struct HistoryPage {
    pub events: Vec<Event>,
    pub next_page_token: Option<String>,
}

/// A background job: a bulk stop, or a GES graph's stop, start or restart.
#[derive(Debug, Serialize, ToSchema)]
pub struct Job {
    pub id: String,
    /// `stop_executions`, `close_flow`, `open_flow`, `restart_flow` or `delete_flow`.
    pub kind: &'static str,
    pub flow: String,
    /// `pending`, `running`, `succeeded` or `failed`.
    pub status: &'static str,
    /// Executions the job selected to stop.
    pub matched: i64,
    pub stopped: i64,
    /// Selected, but they had finished by the time the job got to them.
    pub already_completed: i64,
    /// Selected, but they could not be stopped.
    pub failed: i64,
    /// Why the job failed, if it did.
    pub failure: Option<String>,
    pub created_at: String,
    pub finished_at: Option<String>,
}

impl Job {
    pub fn of(job: &JobView) -> Self {
        Job {
            id: job.id.to_string(),
            kind: match job.kind {
                JobKind::StopExecutions => "stop_executions",
                JobKind::CloseFlow => "close_flow",
                JobKind::OpenFlow => "open_flow",
                JobKind::RestartFlow => "restart_flow",
                JobKind::DeleteFlow => "delete_flow",
            },
            flow: job.flow_name.to_string(),
            status: match job.status {
                JobStatus::Pending => "pending",
                JobStatus::Running => "running",
                JobStatus::Succeeded => "succeeded",
                JobStatus::Failed => "failed",
            },
            matched: job.total,
            stopped: job.stopped(),
            already_completed: job.already_completed,
            failed: job.failed,
            failure: job.failure.clone(),
            created_at: time(job.created_at),
            finished_at: job.finished_at.map(time),
        }
    }
}
