//! Error names as workflows see them (what `Retry.Errors` and `Catch.Errors` match).

use std::fmt;

use serde::{Deserialize, Serialize};

/// An error name such as `FnF.Timeout` or a function's own error code.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ErrorCode(String);

impl ErrorCode {
    /// Matches every error in `Retry.Errors` / `Catch.Errors`.
    pub const ALL: &'static str = "FnF.ALL";
    /// A task (or callback wait) exceeded its `Timeout`.
    pub const TIMEOUT: &'static str = "FnF.Timeout";
    /// A task with a heartbeat period (ASL `HeartbeatSeconds`) heard none within it.
    pub const HEARTBEAT_TIMEOUT: &'static str = "FnF.HeartbeatTimeout";
    /// An expression failed at run time (wrong type, missing key, bad function argument).
    pub const EXPRESSION: &'static str = "FnF.ExpressionError";
    /// A Fail state without `Code`.
    pub const FAILED: &'static str = "FnF.Failed";
    /// A Map's `ItemsPath` did not yield an array, or a Wait's duration was invalid.
    pub const INVALID_INPUT: &'static str = "FnF.InvalidInput";
    /// The execution reached the history length limit.
    pub const EVENT_LIMIT: &'static str = "FnF.EventLimitExceeded";
    /// A state's input or output exceeded the payload limit.
    pub const PAYLOAD_TOO_LARGE: &'static str = "FnF.PayloadTooLarge";
    /// More children of a distributed Map failed than its `ToleratedFailure…` fields allow.
    pub const TOLERATED_FAILURES_EXCEEDED: &'static str = "FnF.ToleratedFailuresExceeded";
    /// The task's action cannot be run by this server.
    pub const ACTION_NOT_SUPPORTED: &'static str = "FnF.ActionNotSupported";

    pub fn new(code: impl Into<String>) -> Self {
        Self(code.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether a `Retry`/`Catch` entry listing `pattern` applies to this error.
    /// ASL's `States.Runtime` is handled by no Retry or Catch of ASL's, not even one naming it:
    /// it "will always cause the execution to fail" (Developer Guide, "Handling errors";
    /// recorded: conformance `catch_states_runtime`). ASL's `States.ALL` matches every other
    /// error but the terminal `States.DataLimitExceeded`; `States.Timeout` also matches
    /// `States.HeartbeatTimeout` (a task "failed to send a heartbeat for longer than
    /// HeartbeatSeconds" is one of the two timeouts AWS names `States.Timeout` for).
    pub fn matches(&self, pattern: &str) -> bool {
        if pattern == Self::ALL {
            return true;
        }
        if self.0 == Self::STATES_RUNTIME {
            return false;
        }
        pattern == self.0
            || (pattern == Self::STATES_ALL && self.0 != Self::STATES_DATA_LIMIT_EXCEEDED)
            || (pattern == Self::STATES_TIMEOUT && self.0 == Self::STATES_HEARTBEAT_TIMEOUT)
    }

    /// ASL's names of the two task timeouts.
    pub const STATES_TIMEOUT: &'static str = "States.Timeout";
    pub const STATES_HEARTBEAT_TIMEOUT: &'static str = "States.HeartbeatTimeout";

    /// ASL's wildcard error name.
    pub const STATES_ALL: &'static str = "States.ALL";
    /// ASL's error that no Retry or Catch handles.
    const STATES_RUNTIME: &'static str = "States.Runtime";
    /// ASL's error that `States.ALL` does not match: only a Retry or Catch naming it.
    const STATES_DATA_LIMIT_EXCEEDED: &'static str = "States.DataLimitExceeded";
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// An error as it travels through a workflow: `$Context.Current.Error` is `{Code, Detail}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskError {
    pub code: ErrorCode,
    pub detail: String,
    /// A function's error answer as it sent it (`{"errorType", "errorMessage", …}`): the
    /// Amazon States Language reports it as the cause, where other languages take the message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
}

impl TaskError {
    pub fn new(code: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            code: ErrorCode::new(code),
            detail: detail.into(),
            answer: None,
        }
    }

    /// The error with the function's answer it came from.
    pub fn with_answer(mut self, answer: impl Into<String>) -> Self {
        self.answer = Some(answer.into());
        self
    }

    /// The `{"Code": …, "Detail": …}` object seen as `$Context.Current.Error`.
    pub fn to_value(&self) -> serde_json::Value {
        serde_json::json!({ "Code": self.code.as_str(), "Detail": self.detail })
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}
