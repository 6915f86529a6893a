//! One ASL state run alone (AWS's `TestState`): the state becomes a machine of its own
//! (`sluice_lang::asl::single_state`), run in memory by the local runner with its first state
//! inspected (the engine's `Inspection`), nothing stored. What the state did is told by the
//! inspection: its output and next state, the error a retrier would retry or a catcher
//! caught, each stage of its data.

use serde_json::{Map, Value};
use sluice_engine::{Inspection, Limits};
use sluice_ir::{Dialect, StateKind, TaskMode, TaskTarget, actions};
use sluice_lang::asl::single_state;
use sluice_runtime::http_task::HttpTaskRequest;
use sluice_runtime::{LocalRunner, RunOutcome};
use tokio_util::sync::CancellationToken;

use crate::executions::parse_json;
use crate::views::{Status, TaskError};
use crate::{Caller, ContextIds, Result, Service, ServiceError};

/// How long a test may run: AWS's five minutes, after which it fails with `States.Timeout`
/// (API reference, `TestState`).
const TEST_TIMEOUT_SECS: u64 = 300;

/// What to test.
#[derive(Debug, Clone, Default)]
pub struct StateTest {
    /// The state's definition, or a whole machine's when `state_name` names one of its states.
    pub definition: String,
    pub state_name: Option<String>,
    /// The state's input (JSON text; none: `{}`).
    pub input: Option<String>,
    /// The variables the state starts with (a JSON object's text).
    pub variables: Option<String>,
    pub role_arn: Option<String>,
    pub context_ids: Option<ContextIds>,
}

/// How the tested state ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateTestStatus {
    Succeeded,
    Failed,
    /// A retrier matched its error: it would run again.
    Retriable,
    /// A catcher handled its error.
    CaughtError,
}

/// What kind of state was tested, as far as what its data goes through depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestedKind {
    /// A Pass state, and whether it has a `Result`.
    Pass {
        result: bool,
    },
    Task,
    /// Choice, Wait, Succeed, Fail: no arguments, no result.
    Other,
}

#[derive(Debug, Clone)]
pub struct StateTestOutcome {
    pub kind: TestedKind,
    pub status: StateTestStatus,
    pub output: Option<Value>,
    pub error: Option<TaskError>,
    pub next_state: Option<String>,
    /// Each stage of the state's data, and how its error was handled.
    pub inspection: Inspection,
    /// An HTTP Task's request and answer (shown at `TRACE`).
    pub http: Option<HttpExchange>,
}

/// The request an HTTP Task made, read off its effective input, and the answer it got: its
/// result, or for a non-2xx answer the failure's cause (the same shape).
#[derive(Debug, Clone)]
pub struct HttpExchange {
    pub request: HttpTaskRequest,
    pub response: Option<Value>,
}

fn http_exchange(state: &sluice_ir::State, outcome: &StateTestOutcome) -> Option<HttpExchange> {
    let StateKind::Task(task) = &state.kind else {
        return None;
    };
    if task.target != TaskTarget::Action(actions::HTTP_TASK.into()) {
        return None;
    }
    let inspection = &outcome.inspection;
    let input = (inspection.after_arguments.as_ref())
        .or(inspection.after_input_path.as_ref())
        .or(inspection.input.as_ref())?;
    let request = HttpTaskRequest::from_input(input).ok()?;
    let failure = (inspection.error.as_ref()).or(outcome.error.as_ref());
    let response = inspection.result.clone().or_else(|| {
        failure
            .filter(|e| e.code.as_str().starts_with("States.Http.StatusCode."))
            .and_then(|e| serde_json::from_str(&e.detail).ok())
    });
    Some(HttpExchange { request, response })
}

impl Service {
    pub async fn test_state(&self, caller: &Caller, test: StateTest) -> Result<StateTestOutcome> {
        let single = single_state(&test.definition, test.state_name.as_deref())
            .map_err(ServiceError::InvalidDefinition)?;
        let tested = single.flow.state(single.flow.root().start);
        refuse_untestable(tested)?;
        let input = self.parse_input(sluice_ir::Dialect::Asl, test.input.as_deref())?;
        let variables = self.variables(test.variables.as_deref())?;
        let limits = Limits {
            max_history_events: self.limits.history_events(Dialect::Asl),
            max_payload_bytes: self.limits.payload_bytes(Dialect::Asl),
            execution_timeout_ms: Some(TEST_TIMEOUT_SECS * 1000),
        };
        let runner = LocalRunner::new(self.runtime.invoker().as_ref().clone())
            .name(uuid::Uuid::new_v4().to_string())
            .tenant(caller.tenant.clone())
            .limits(limits)
            .context_ids(test.context_ids)
            .role_arn(test.role_arn)
            .inspect(variables);
        let run = runner
            .run(&single.flow, input, CancellationToken::new())
            .await
            .map_err(|e| ServiceError::NotSupported(e.to_string()))?;
        let mut outcome = outcome(kind_of(tested), run);
        outcome.http = http_exchange(tested, &outcome);
        Ok(outcome)
    }

    /// The variables a test starts with: a JSON object, or none.
    fn variables(&self, text: Option<&str>) -> Result<Map<String, Value>> {
        let Some(text) = text else {
            return Ok(Map::new());
        };
        match parse_json(
            "the variables",
            text,
            self.limits.payload_bytes(Dialect::Asl),
        )? {
            Value::Object(variables) => Ok(variables),
            _ => Err(ServiceError::InvalidArgument(
                "the variables must be a JSON object".into(),
            )),
        }
    }
}

fn kind_of(state: &sluice_ir::State) -> TestedKind {
    match &state.kind {
        StateKind::Pass => TestedKind::Pass {
            result: state.asl.as_ref().is_some_and(|d| d.result.is_some()),
        },
        StateKind::Task(_) => TestedKind::Task,
        _ => TestedKind::Other,
    }
}

/// How the state ended, read off the inspection: a retrier that matched makes it retriable
/// (the execution failed with the error), a catcher that handled the error caught (the
/// execution succeeded with the catcher's output).
fn outcome(kind: TestedKind, run: RunOutcome) -> StateTestOutcome {
    let inspection = run.inspection.unwrap_or_default();
    let status = match (&inspection.retry, inspection.catch_index, run.status) {
        (Some(_), _, _) => StateTestStatus::Retriable,
        (None, Some(_), Status::Succeeded) => StateTestStatus::CaughtError,
        (None, _, Status::Succeeded) => StateTestStatus::Succeeded,
        _ => StateTestStatus::Failed,
    };
    let error = match status {
        StateTestStatus::Succeeded => None,
        StateTestStatus::CaughtError => inspection.error.clone(),
        StateTestStatus::Retriable | StateTestStatus::Failed => run.error,
    };
    let (output, next_state) = match status {
        StateTestStatus::Succeeded | StateTestStatus::CaughtError => {
            (run.output, inspection.next.clone())
        }
        StateTestStatus::Retriable | StateTestStatus::Failed => (None, None),
    };
    StateTestOutcome {
        kind,
        status,
        output,
        error,
        next_state,
        inspection,
        http: None,
    }
}

/// What AWS's `TestState` does not run without a mock (and this server has no mocks): Map
/// and Parallel states, activities, callbacks and `.sync` integrations (API reference,
/// `TestState`).
fn refuse_untestable(state: &sluice_ir::State) -> Result<()> {
    let refused = match &state.kind {
        StateKind::Map(_) => Some("a Map state"),
        StateKind::Parallel(_) => Some("a Parallel state"),
        StateKind::Task(task) if matches!(task.target, TaskTarget::Activity(_)) => {
            Some("an activity task")
        }
        StateKind::Task(task) if task.mode != TaskMode::RequestComplete => {
            Some("a .sync or .waitForTaskToken task")
        }
        _ => None,
    };
    match refused {
        Some(what) => Err(ServiceError::NotSupported(format!(
            "testing {what} (AWS tests it only with a mock; mocks are not supported)"
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_engine::RetryDetails;

    use super::*;

    fn run(status: Status, inspection: Inspection) -> RunOutcome {
        RunOutcome {
            status,
            output: (status == Status::Succeeded).then(|| json!({"out": 1})),
            error: (status == Status::Failed).then(|| TaskError::new("E", "cause")),
            history: Vec::new(),
            inspection: Some(inspection),
        }
    }

    #[test]
    fn a_state_that_went_on_succeeded_with_its_output_and_next_state() {
        let inspection = Inspection {
            next: Some("B".into()),
            ..Inspection::default()
        };
        let done = outcome(TestedKind::Other, run(Status::Succeeded, inspection));
        assert_eq!(done.status, StateTestStatus::Succeeded);
        assert_eq!(
            (done.output, done.next_state.as_deref()),
            (Some(json!({"out": 1})), Some("B"))
        );
        assert!(done.error.is_none());
    }

    #[test]
    fn a_caught_error_keeps_the_catchers_output_and_the_error() {
        let inspection = Inspection {
            catch_index: Some(0),
            error: Some(TaskError::new("Caught", "why")),
            next: Some("Handler".into()),
            ..Inspection::default()
        };
        let caught = outcome(TestedKind::Task, run(Status::Succeeded, inspection));
        assert_eq!(caught.status, StateTestStatus::CaughtError);
        assert_eq!(
            caught.error.map(|e| e.code.as_str().to_string()),
            Some("Caught".into())
        );
        assert_eq!(caught.next_state.as_deref(), Some("Handler"));
    }

    #[test]
    fn a_matching_retrier_is_retriable_and_any_other_failure_failed() {
        let retried = Inspection {
            retry: Some(RetryDetails {
                index: 0,
                backoff_ms: 1000,
            }),
            ..Inspection::default()
        };
        let retriable = outcome(TestedKind::Task, run(Status::Failed, retried));
        assert_eq!(retriable.status, StateTestStatus::Retriable);
        assert_eq!(retriable.error.map(|e| e.detail), Some("cause".into()));
        let failed = outcome(
            TestedKind::Other,
            run(Status::Failed, Inspection::default()),
        );
        assert_eq!(failed.status, StateTestStatus::Failed);
        assert!(failed.output.is_none() && failed.next_state.is_none());
    }
}
