//! What only the Amazon States Language gives a state: how its data moves (JSONPath's
//! `InputPath` … `OutputPath`, JSONata's `Arguments` and `Output`), its variables (`Assign`),
//! and fields given by a path or an expression instead of a literal. The parts are those of
//! [`crate::expr::asl`]; this module says how one state strings them together (specification,
//! "Input and Output Processing"; Developer Guide, "Processing input and output").

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ErrorCode, TaskError};
use crate::expr::Entropy;
use crate::expr::asl::{
    AslError, JsonataTemplate, Path, PayloadTemplate, Placed, ResultPath, Scope, SelectPath,
    Variables,
};
use crate::flow::{FunctionRef, Invocation};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryLanguage {
    #[default]
    JsonPath,
    Jsonata,
}

const STATES_TIMEOUT: &str = ErrorCode::STATES_TIMEOUT;
const STATES_HEARTBEAT_TIMEOUT: &str = ErrorCode::STATES_HEARTBEAT_TIMEOUT;

/// The ASL name of an error the engine or the runtime raised under sluice's own name, as
/// AWS names the same failure (Developer Guide, "Error names"): a timeout is `States.Timeout`,
/// a payload over the limit `States.DataLimitExceeded`, a call that failed without naming
/// its error `States.TaskFailed`, a bad value at run time `States.Runtime`.
pub fn asl_error_name(code: &str) -> Option<&'static str> {
    match code {
        ErrorCode::TIMEOUT => Some(STATES_TIMEOUT),
        ErrorCode::HEARTBEAT_TIMEOUT => Some(STATES_HEARTBEAT_TIMEOUT),
        ErrorCode::PAYLOAD_TOO_LARGE => Some("States.DataLimitExceeded"),
        ErrorCode::INVALID_INPUT | ErrorCode::EXPRESSION | ErrorCode::EVENT_LIMIT => {
            Some("States.Runtime")
        }
        ErrorCode::ACTION_NOT_SUPPORTED => Some("States.TaskFailed"),
        // The function protocol's own failures (no endpoint, no answer, a non-JSON answer).
        other if other.starts_with("FC.") => Some("States.TaskFailed"),
        _ => None,
    }
}

/// A field's value: written literally, read by its `…Path` twin, or computed by JSONata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AslValue {
    Literal(Value),
    Path(Path),
    Jsonata(JsonataTemplate),
}

impl AslValue {
    /// The value; `field` names it in a path's failure (`SecondsPath`, `ErrorPath`).
    pub fn evaluate(&self, scope: &Scope<'_>, field: &str) -> Result<Value, AslError> {
        match self {
            AslValue::Literal(value) => Ok(value.clone()),
            AslValue::Path(path) => path.evaluate(scope, field),
            AslValue::Jsonata(template) => template.evaluate(scope),
        }
    }
}

/// A field that builds a value: a JSONPath Payload Template (`.$` keys) or a JSONata one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum AslTemplate {
    Payload(PayloadTemplate),
    Jsonata(JsonataTemplate),
}

impl AslTemplate {
    pub fn evaluate(&self, scope: &Scope<'_>) -> Result<Value, AslError> {
        match self {
            AslTemplate::Payload(template) => template.apply(scope),
            AslTemplate::Jsonata(template) => template.evaluate(scope),
        }
    }
}

/// A stage of a state's data between its raw input and its output, as AWS's `TestState`
/// shows them (`inspectionData`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// After `InputPath` (JSONata: the raw input).
    AfterInputPath,
    /// After `Parameters` (JSONata: `Arguments`): the effective input.
    AfterArguments,
    /// After `ResultSelector` (JSONPath).
    AfterResultSelector,
    /// After `ResultPath` (JSONPath), before `OutputPath`.
    AfterResultPath,
}

/// How an ASL state's data moves, from its raw input to its output.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AslData {
    pub query: QueryLanguage,
    /// JSONPath `InputPath`.
    pub input_path: SelectPath,
    /// JSONPath `Parameters` (`ItemSelector` is the Map's), JSONata `Arguments`.
    pub arguments: Option<AslTemplate>,
    /// A Pass state's `Result`.
    pub result: Option<Value>,
    pub result_selector: Option<PayloadTemplate>,
    pub result_path: ResultPath,
    pub output_path: SelectPath,
    /// JSONata `Output`.
    pub output: Option<JsonataTemplate>,
    pub assign: Option<AslTemplate>,
    /// A Task's `TimeoutSecondsPath` (against the raw input) or JSONata `TimeoutSeconds`
    /// (replaces `Task::timeout_secs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<AslValue>,
    /// A Task's `HeartbeatSecondsPath` or JSONata `HeartbeatSeconds` (replaces
    /// `Task::heartbeat_secs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub heartbeat: Option<AslValue>,
}

/// What every expression of one state sees besides the value `$` stands for: the context
/// object (built on first read), the variables, the entropy and the clock.
pub struct AslEnv<'a> {
    pub context: &'a dyn Fn() -> Value,
    pub variables: &'a dyn Variables,
    pub entropy: &'a Entropy,
    pub now: jiff::Timestamp,
}

impl AslEnv<'_> {
    /// A scope in which `$` (JSONPath) and `$states.input` (JSONata) are `input`.
    pub fn scope<'v>(&'v self, input: &'v Value) -> Scope<'v> {
        Scope::new(input)
            .with_lazy_context(self.context)
            .with_variables(self.variables)
            .with_entropy(self.entropy)
            .with_now(self.now)
    }
}

/// `error` under its ASL name.
/// AWS writes no cause for a timeout (recorded: `invoke_timeout`,
/// `fixed_timeout_service_lambda_with_path`).
pub fn asl_error(error: TaskError) -> TaskError {
    match asl_error_name(error.code.as_str()) {
        Some(name @ (STATES_TIMEOUT | STATES_HEARTBEAT_TIMEOUT)) => TaskError::new(name, ""),
        Some(name) => TaskError {
            code: ErrorCode::new(name),
            ..error
        },
        None => error,
    }
}

/// The service a Task's `Resource` calls, as AWS names it in `resourceType` and in its
/// causes: `lambda` for `arn:aws:states:::lambda:invoke` and for a Lambda function's ARN.
pub fn resource_type(resource: &str) -> &str {
    match resource.split_once(":states:::") {
        Some((_, rest)) => rest.split(':').next().unwrap_or(rest),
        None => resource.split(':').nth(2).unwrap_or(resource),
    }
}

/// [`asl_error`] of a failure in `state` (a Task: the service it calls), with AWS's cause
/// where AWS words it with that name: a payload over the limit (recorded by AWS: "The
/// state/task 'lambda' returned a result with a size exceeding the maximum number of bytes
/// service limit.").
pub fn asl_state_error(error: TaskError, state: &str) -> TaskError {
    let error = asl_error(error);
    if error.code.as_str() != "States.DataLimitExceeded" {
        return error;
    }
    TaskError {
        detail: format!(
            "The state/task '{state}' returned a result with a size exceeding the maximum number of bytes service limit."
        ),
        ..error
    }
}

/// The function a `lambda:invoke` `FunctionName` names: `NAME`, `NAME:QUALIFIER`, or a
/// function ARN `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`; `None` for
/// anything else.
pub fn invoked_function(name: &str) -> Option<FunctionRef> {
    if let Some(function) = lambda_function_arn(name) {
        return Some(function);
    }
    let (function, qualifier) = match name.split_once(':') {
        Some((function, qualifier)) => (function, Some(qualifier)),
        None => (name, None),
    };
    if function.is_empty() || qualifier.is_some_and(|q| q.is_empty() || q.contains(':')) {
        return None;
    }
    Some(FunctionRef::lambda(function, qualifier))
}

/// The function of `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`; `None`
/// when `arn` names no Lambda function.
pub fn lambda_function_arn(arn: &str) -> Option<FunctionRef> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        [
            "arn",
            _partition,
            "lambda",
            _region,
            _account,
            "function",
            name,
            rest @ ..,
        ] if rest.len() <= 1 && !name.is_empty() => {
            Some(FunctionRef::lambda(name, rest.first().copied()))
        }
        _ => None,
    }
}

impl FunctionRef {
    /// A Lambda function, called synchronously.
    pub fn lambda(name: &str, qualifier: Option<&str>) -> Self {
        FunctionRef {
            service: String::new(),
            qualifier: qualifier.map(str::to_owned),
            function: name.to_owned(),
            invocation: Invocation::Sync,
        }
    }
}

/// The cause an ASL Lambda task reports for a function's error answer: the answer as the
/// function sent it (a Lambda ARN resource), or re-serialised as compact JSON
/// (`lambda:invoke`, which decodes it), as the recorded executions show.
pub fn lambda_error_cause(answer: &str, compact: bool) -> String {
    if !compact {
        return answer.to_owned();
    }
    serde_json::from_str::<Value>(answer)
        .map(|v| v.to_string())
        .unwrap_or_else(|_| answer.to_owned())
}

impl AslData {
    /// The effective input: JSONPath `InputPath`, then `Parameters`; JSONata `Arguments`,
    /// evaluated with `$states.input` the raw input. `None` when it is the raw input itself
    /// (neither field is given), which the caller has: it is not copied. `seen` is shown each
    /// stage the input passes.
    pub fn effective_input_seen(
        &self,
        env: &AslEnv<'_>,
        raw: &Value,
        mut seen: impl FnMut(Stage, &Value),
    ) -> Result<Option<Value>, AslError> {
        if matches!(self.input_path, SelectPath::Whole) && self.arguments.is_none() {
            seen(Stage::AfterInputPath, raw);
            seen(Stage::AfterArguments, raw);
            return Ok(None);
        }
        let scope = env.scope(raw);
        let selected = self.input_path.apply(&scope)?;
        seen(Stage::AfterInputPath, &selected);
        let effective = match &self.arguments {
            None => selected.into_owned(),
            Some(arguments) => arguments.evaluate(&env.scope(&selected))?,
        };
        seen(Stage::AfterArguments, &effective);
        Ok(Some(effective))
    }

    /// A Pass state's result: its `Result`, else its effective input (`None`: the raw input).
    pub fn result_of(&self, effective: Option<Value>) -> Option<Value> {
        self.result.clone().or(effective)
    }

    /// The state's output from its raw input and its result (`None`: the raw input itself, as
    /// for a Choice or a Pass without `Result`): `ResultSelector`, `ResultPath` and
    /// `OutputPath` (JSONPath), or `Output` (JSONata; by default the result). `seen` is shown
    /// each stage the result passes (JSONPath only: JSONata's `Output` has none); `accept`
    /// checks the output before it is final.
    ///
    /// The output is made out of `raw` rather than a copy of it, and what is left of `raw` is
    /// of no use once it is; when a stage or `accept` fails, `raw` is as it was, for a retry, a
    /// Catcher or a redrive.
    pub fn output_from<E: From<AslError>>(
        &self,
        env: &AslEnv<'_>,
        raw: &mut Value,
        result: Option<Value>,
        mut seen: impl FnMut(Stage, &Value),
        accept: impl FnOnce(&Value) -> Result<(), E>,
    ) -> Result<Value, E> {
        if self.query == QueryLanguage::Jsonata {
            let output = match (&self.output, result) {
                (None, None) => {
                    accept(raw)?;
                    return Ok(std::mem::take(raw));
                }
                (None, Some(result)) => result,
                (Some(output), result) => {
                    let result = result.as_ref().unwrap_or(raw);
                    output.evaluate(&env.scope(raw).with_result(result))?
                }
            };
            accept(&output)?;
            return Ok(output);
        }
        let result = match (&self.result_selector, result) {
            (Some(selector), result) => {
                Some(selector.apply(&env.scope(result.as_ref().unwrap_or(raw)))?)
            }
            (None, result) => result,
        };
        seen(Stage::AfterResultSelector, result.as_ref().unwrap_or(raw));
        let placed = match (result, &self.result_path) {
            // The raw input is its own result, and `"$"` or `null` leave it as it is.
            (None, ResultPath::Whole | ResultPath::Discard) => Placed::Nothing,
            (result, _) => {
                let result = result.unwrap_or_else(|| raw.clone());
                self.result_path.put(raw, result)?
            }
        };
        // `raw` holds the result now, as `ResultPath` placed it.
        seen(Stage::AfterResultPath, raw);
        let shaped = match &self.output_path {
            SelectPath::Whole => accept(raw).map(|()| None),
            path => match path.apply(&env.scope(raw)).map(Cow::into_owned) {
                Ok(output) => accept(&output).map(|()| Some(output)),
                Err(error) => Err(error.into()),
            },
        };
        match shaped {
            Ok(Some(output)) => Ok(output),
            Ok(None) => Ok(std::mem::take(raw)),
            Err(error) => {
                self.result_path.take_back(raw, placed);
                Err(error)
            }
        }
    }

    /// The variables `Assign` sets, evaluated with `$` the state's result (JSONPath, after
    /// `ResultSelector`) or `$states.input`/`$states.result` (JSONata), all against the
    /// variables as they were when the state was entered.
    pub fn assignments(
        &self,
        env: &AslEnv<'_>,
        raw: &Value,
        result: &Value,
    ) -> Result<Option<Map<String, Value>>, AslError> {
        let Some(assign) = &self.assign else {
            return Ok(None);
        };
        let value = match self.query {
            QueryLanguage::JsonPath => {
                let selected = match &self.result_selector {
                    Some(selector) => selector.apply(&env.scope(result))?,
                    None => result.clone(),
                };
                assign.evaluate(&env.scope(&selected))?
            }
            QueryLanguage::Jsonata => assign.evaluate(&env.scope(raw).with_result(result))?,
        };
        Ok(match value {
            Value::Object(map) => Some(map),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_are_the_called_service() {
        assert_eq!(resource_type("arn:aws:states:::lambda:invoke"), "lambda");
        assert_eq!(
            resource_type("arn:aws:states:::http:invoke.waitForTaskToken"),
            "http"
        );
        assert_eq!(
            resource_type("arn:aws:lambda:us-east-1:1:function:f"),
            "lambda"
        );
    }

    #[test]
    fn an_oversized_result_is_worded_as_aws_words_it() {
        let error = TaskError::new(ErrorCode::PAYLOAD_TOO_LARGE, "the task output is 9 bytes");
        let error = asl_state_error(error, "lambda");
        assert_eq!(error.code.as_str(), "States.DataLimitExceeded");
        assert_eq!(
            error.detail,
            "The state/task 'lambda' returned a result with a size exceeding the maximum number of bytes service limit."
        );
        let other = asl_state_error(TaskError::new("E", "c"), "lambda");
        assert_eq!(other.detail, "c");
    }
}
