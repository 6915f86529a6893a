//! The callback actions: `SendTaskSuccess`, `SendTaskFailure` and `SendTaskHeartbeat` with
//! the token a `.waitForTaskToken` task handed out (`$$.Task.Token`) or an activity's worker
//! took (`GetActivityTask`, `activities.rs`). They are the service's
//! task reports (CloudFlow's `ReportTaskSucceeded`/`Failed` are the same commands): a token of
//! no shape this server gives is `InvalidToken`, one naming no execution of the caller's
//! `TaskDoesNotExist`, one whose task has ended (answered, timed out, its execution stopped)
//! `TaskTimedOut`; an output that is not JSON `InvalidOutput`.

use serde::Deserialize;
use serde_json::{Value, json};
use sluice_service::{CallbackResult, is_task_token};

use super::actions::{Actions, Reply};
use super::error::{Code, SfnError};
use super::request::{Validate, check_error_and_cause, required};

/// AWS's longest task token.
const MAX_TOKEN_CHARS: usize = 2048;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendTaskSuccess {
    pub task_token: Option<String>,
    pub output: Option<String>,
}

impl Validate for SendTaskSuccess {
    fn validate(&self) -> Result<(), SfnError> {
        check_token(&self.task_token)?;
        required(&self.output, "output")?;
        let output = self.output.as_deref().unwrap_or_default();
        if serde_json::from_str::<serde::de::IgnoredAny>(output).is_err() {
            return Err(SfnError::new(
                Code::InvalidOutput,
                "Invalid Output: 'the output is not JSON'",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendTaskFailure {
    pub task_token: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl Validate for SendTaskFailure {
    fn validate(&self) -> Result<(), SfnError> {
        check_token(&self.task_token)?;
        check_error_and_cause(&self.error, &self.cause)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendTaskHeartbeat {
    pub task_token: Option<String>,
}

impl Validate for SendTaskHeartbeat {
    fn validate(&self) -> Result<(), SfnError> {
        check_token(&self.task_token)
    }
}

fn check_token(token: &Option<String>) -> Result<(), SfnError> {
    required(token, "taskToken")?;
    let token = token.as_deref().unwrap_or_default();
    let chars = token.chars().count();
    if chars == 0 || chars > MAX_TOKEN_CHARS || !is_task_token(token) {
        return Err(SfnError::new(
            Code::InvalidToken,
            "Invalid Token: 'Invalid token'",
        ));
    }
    Ok(())
}

impl Actions<'_> {
    pub(super) async fn send_success(&self, r: SendTaskSuccess) -> Reply {
        let result = CallbackResult::Succeeded {
            output: r.output.unwrap_or_default(),
        };
        self.report(r.task_token.as_deref(), result).await
    }

    pub(super) async fn send_failure(&self, r: SendTaskFailure) -> Reply {
        let result = CallbackResult::Failed {
            error: r.error.unwrap_or_default(),
            cause: r.cause.unwrap_or_default(),
        };
        self.report(r.task_token.as_deref(), result).await
    }

    pub(super) async fn send_heartbeat(&self, r: &SendTaskHeartbeat) -> Reply {
        let token = r.task_token.as_deref().unwrap_or_default();
        self.service.heartbeat_task(self.caller, token).await?;
        Ok(json!({}))
    }

    async fn report(&self, token: Option<&str>, result: CallbackResult) -> Reply {
        let token = token.unwrap_or_default();
        self.service.report_task(self.caller, token, result).await?;
        Ok(Value::Object(Default::default()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_of_no_shape_this_server_gives_is_an_invalid_token() {
        for token in ["", "garbage", &"x.".repeat(1025)] {
            let e = check_token(&Some(token.to_string())).unwrap_err();
            assert_eq!(e.code, Code::InvalidToken, "{token}");
        }
        let missing = check_token(&None).unwrap_err();
        assert_eq!(missing.code, Code::ValidationException);
        assert!(check_token(&Some("42.run-1.secret.7".to_string())).is_ok());
    }
}
