//! Step Functions errors: AWS's codes (`__type`), their HTTP statuses, and the one mapping
//! from service errors (which names ARNs, so it takes the request's [`Arns`]).

use serde_json::{Value, json};
use sluice_service::{ACTIVITY, Problem, ProblemKind, ServiceError};

use super::arn::Arns;
use crate::signature::aws::SignatureError;

/// AWS's error codes this server answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, strum::IntoStaticStr)]
pub enum Code {
    MissingAuthenticationTokenException,
    IncompleteSignatureException,
    UnrecognizedClientException,
    InvalidSignatureException,
    AccessDeniedException,
    ThrottlingException,
    UnknownOperationException,
    SerializationException,
    ValidationException,
    StateMachineDoesNotExist,
    StateMachineAlreadyExists,
    StateMachineDeleting,
    StateMachineTypeNotSupported,
    InvalidDefinition,
    InvalidName,
    InvalidArn,
    InvalidToken,
    TaskTimedOut,
    TaskDoesNotExist,
    ActivityDoesNotExist,
    TooManyTags,
    ExecutionDoesNotExist,
    ExecutionAlreadyExists,
    InvalidExecutionInput,
    InvalidOutput,
    ConflictException,
    ExecutionNotRedrivable,
    ResourceNotFound,
    InternalFailure,
}

impl Code {
    /// AWS answers the client errors of this API with 400 (a conflict with 409), a failure of
    /// its own with 500.
    pub fn status(self) -> u16 {
        match self {
            Code::InternalFailure => 500,
            // AWS's API reference gives this one 409.
            Code::ConflictException => 409,
            _ => 400,
        }
    }
}

/// An error answer: AWS's code and a message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code:?}: {message}")]
pub struct SfnError {
    pub code: Code,
    pub message: String,
}

impl SfnError {
    pub fn new(code: Code, message: impl Into<String>) -> Self {
        SfnError {
            code,
            message: message.into(),
        }
    }

    pub fn validation(message: impl Into<String>) -> Self {
        SfnError::new(Code::ValidationException, message)
    }

    /// A required member the request left out, worded as AWS words it.
    pub fn missing(member: &str) -> Self {
        SfnError::validation(format!(
            "1 validation error detected: Value null at '{member}' failed to satisfy constraint: Member must not be null"
        ))
    }

    pub fn internal(detail: &str) -> Self {
        SfnError::new(Code::InternalFailure, format!("Internal failure: {detail}"))
    }

    pub fn status(&self) -> u16 {
        self.code.status()
    }

    /// `{"__type", "message"}`; the message bounded (it may quote what the client sent).
    pub fn body(&self) -> Value {
        let code: &'static str = self.code.into();
        json!({"__type": code, "message": crate::echo::bounded(self.message.clone())})
    }

    /// The one place service errors become Step Functions codes.
    pub fn of_service(e: ServiceError, arns: &Arns) -> Self {
        let message = e.to_string();
        let code = match e {
            ServiceError::InvalidArgument(_)
            | ServiceError::PayloadTooLarge { .. }
            | ServiceError::NotSupported(_)
            | ServiceError::ExecutionCompleted { .. }
            | ServiceError::NotWaiting(_) => Code::ValidationException,
            ServiceError::InvalidName(why) => {
                return SfnError::new(Code::InvalidName, format!("Invalid Name: '{why}'"));
            }
            ServiceError::InvalidInput(why) => {
                return SfnError::new(
                    Code::InvalidExecutionInput,
                    format!("Invalid State Machine Execution Input: '{why}'"),
                );
            }
            ServiceError::InvalidDefinition(definition) => {
                let problems: Vec<String> = definition.problems.iter().map(aws_problem).collect();
                return SfnError::new(
                    Code::InvalidDefinition,
                    format!(
                        "Invalid State Machine Definition: '{}'",
                        problems.join(", ")
                    ),
                );
            }
            ServiceError::FlowNotFound(name) => {
                return SfnError::new(
                    Code::StateMachineDoesNotExist,
                    format!("State Machine Does Not Exist: '{}'", arns.machine(&name)),
                );
            }
            ServiceError::FlowExists(name) => {
                return SfnError::new(
                    Code::StateMachineAlreadyExists,
                    format!("State Machine Already Exists: '{}'", arns.machine(&name)),
                );
            }
            ServiceError::FlowClosed(_) => Code::StateMachineDeleting,
            ServiceError::ExecutionNotFound { flow, execution } => {
                return SfnError::new(
                    Code::ExecutionDoesNotExist,
                    format!(
                        "Execution Does Not Exist: '{}'",
                        arns.execution(&flow, &execution)
                    ),
                );
            }
            ServiceError::ExecutionExists { flow, execution } => {
                return SfnError::new(
                    Code::ExecutionAlreadyExists,
                    format!(
                        "Execution Already Exists: '{}'",
                        arns.execution(&flow, &execution)
                    ),
                );
            }
            ServiceError::WrongMode(_) => Code::StateMachineTypeNotSupported,
            ServiceError::TaskCompleted(_) => Code::TaskTimedOut,
            ServiceError::TaskNotFound(_) => Code::TaskDoesNotExist,
            ServiceError::NotRedrivable { why, .. } => {
                return SfnError::new(
                    Code::ExecutionNotRedrivable,
                    super::render::not_redrivable_message(why),
                );
            }
            ServiceError::ConcurrentUpdate
            | ServiceError::VersionInUse { .. }
            | ServiceError::FlowNotOpen(_)
            | ServiceError::FlowNotClosed(_)
            | ServiceError::Exists { .. } => Code::ConflictException,
            ServiceError::NotFound {
                kind: ACTIVITY,
                name,
            } => {
                return SfnError::new(
                    Code::ActivityDoesNotExist,
                    format!("Activity Does Not Exist: '{}'", arns.activity(&name)),
                );
            }
            ServiceError::NotFound { .. } => Code::ResourceNotFound,
            ServiceError::AccessDenied { action } => {
                return SfnError::new(
                    Code::AccessDeniedException,
                    format!(
                        "User: {} is not authorized to perform: {action}",
                        arns.caller()
                    ),
                );
            }
            ServiceError::Throttled => {
                return SfnError::new(Code::ThrottlingException, "Rate exceeded");
            }
            ServiceError::Internal(detail) => return SfnError::internal(&detail),
        };
        SfnError::new(code, message)
    }
}

impl From<SignatureError> for SfnError {
    fn from(e: SignatureError) -> Self {
        let code = match e {
            SignatureError::MissingAuthorization => Code::MissingAuthenticationTokenException,
            SignatureError::Incomplete(_) => Code::IncompleteSignatureException,
            SignatureError::UnknownKey(_) => Code::UnrecognizedClientException,
            SignatureError::WrongService { .. }
            | SignatureError::NoRegion
            | SignatureError::ScopeDate { .. }
            | SignatureError::Skewed(_)
            | SignatureError::Unsigned(_)
            | SignatureError::ContentHashMismatch
            | SignatureError::Mismatch => Code::InvalidSignatureException,
        };
        SfnError::new(code, e.to_string())
    }
}

/// AWS's code of a problem (API reference, `ValidateStateMachineDefinitionDiagnostic`).
pub(super) fn diagnostic_code(kind: ProblemKind) -> &'static str {
    match kind {
        ProblemKind::Empty => "MISSING_DESCRIPTION",
        ProblemKind::Syntax => "INVALID_JSON_DESCRIPTION",
        ProblemKind::Resource => "INVALID_RESOURCE",
        ProblemKind::DuplicateStateName => "DUPLICATE_STATE_NAME",
        ProblemKind::InvalidStateName => "INVALID_STATE_NAME",
        ProblemKind::DuplicateLabelName => "DUPLICATE_LABEL_NAME",
        ProblemKind::InvalidLabelName => "INVALID_LABEL_NAME",
        ProblemKind::TooDeeplyNested => "TOO_DEEPLY_NESTED",
        ProblemKind::MissingTransitionTarget => "MISSING_TRANSITION_TARGET",
        ProblemKind::MissingEndState => "MISSING_END_STATE",
        ProblemKind::Schema => "SCHEMA_VALIDATION_FAILED",
        ProblemKind::NoDollar => "NO_DOLLAR",
        ProblemKind::NoPath => "NO_PATH",
        ProblemKind::PassResultIsStatic => "PASS_RESULT_IS_STATIC",
    }
}

/// A problem as AWS words it in an `InvalidDefinition` message, `CODE: message at
/// /States/X/Field` (as AWS answered in localstack/localstack#12487, `MISSING_TRANSITION_TARGET:
/// Missing 'Next' target: pass3 at /States/pass1/Next`), sluice's message with its line and
/// column.
fn aws_problem(problem: &Problem) -> String {
    let mut text = format!("{}: {}", diagnostic_code(problem.kind), problem.message);
    if let (Some(line), Some(column)) = (problem.line, problem.column) {
        text.push_str(&format!(" (line {line}, column {column})"));
    }
    if let Some(pointer) = problem.pointer.as_ref().filter(|p| !p.is_root()) {
        text.push_str(&format!(" at {pointer}"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arns() -> Arns {
        Arns::new("eu-west-1", "123456789012", "key-1")
    }

    #[test]
    fn service_errors_name_the_resource_by_its_arn() {
        let cases = [
            (
                ServiceError::FlowNotFound("m".into()),
                "StateMachineDoesNotExist",
                "State Machine Does Not Exist: 'arn:aws:states:eu-west-1:123456789012:stateMachine:m'",
            ),
            (
                ServiceError::ExecutionExists {
                    flow: "m".into(),
                    execution: "e".into(),
                },
                "ExecutionAlreadyExists",
                "Execution Already Exists: 'arn:aws:states:eu-west-1:123456789012:execution:m:e'",
            ),
            (
                ServiceError::AccessDenied {
                    action: "states:StopExecution".into(),
                },
                "AccessDeniedException",
                "User: arn:aws:iam::123456789012:user/key-1 is not authorized to perform: states:StopExecution",
            ),
        ];
        for (error, code, message) in cases {
            let e = SfnError::of_service(error, &arns());
            assert_eq!(e.body(), json!({"__type": code, "message": message}));
            assert_eq!(e.status(), 400);
        }
        let internal = SfnError::of_service(ServiceError::Internal("x".into()), &arns());
        assert_eq!(internal.status(), 500);
    }

    /// AWS's form (localstack/localstack#12487): `Invalid State Machine Definition: 'CODE:
    /// message at /location, …'`, a problem without a location without its `at`.
    #[test]
    fn an_invalid_definition_names_each_problem_by_its_code_and_location() {
        let definition = r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Gone"}}}"#;
        let Err(problems) = sluice_lang::compile(sluice_service::Dialect::Asl, definition) else {
            panic!("a definition with a dangling Next compiled")
        };
        let e = SfnError::of_service(ServiceError::InvalidDefinition(problems), &arns());
        assert_eq!(e.code, Code::InvalidDefinition);
        assert_eq!(
            e.message,
            "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: unknown Next \"Gone\"; states in this scope: A (line 1, column 60) at /States/A/Next, MISSING_END_STATE: the state machine has no terminal state (End: true, Succeed or Fail)'"
        );
    }
}
