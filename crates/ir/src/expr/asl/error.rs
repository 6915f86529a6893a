//! Run-time failures of ASL expressions, each with the error name AWS raises and the cause
//! text AWS writes after its "An error occurred while executing the state …" prefix.
//!
//! The texts follow the causes recorded from real executions (`../shared/conformance/sfn`):
//! a missing Payload Template path and a missing InputPath/OutputPath match, the JSONata
//! "returned nothing" and "threw an error" causes. Where no recording shows AWS's words
//! (intrinsic argument errors), the message names the function, the argument and the value.

use std::fmt;

use serde_json::Value;

use crate::error::TaskError;

/// `States.Runtime`: a path found nothing, or was applied to no input.
pub const STATES_RUNTIME: &str = "States.Runtime";
/// `States.ResultPathMatchFailure`: a `ResultPath` cannot be applied to the state's input.
pub const STATES_RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
/// `States.IntrinsicFailure`: an intrinsic function failed.
pub const STATES_INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
/// `States.QueryEvaluationError`: a JSONata expression failed or returned what its field cannot
/// take.
pub const STATES_QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AslError {
    /// A Payload Template path (`"x.$": "$.a"`), an intrinsic's path argument, or a Fail
    /// state's `ErrorPath`/`CausePath` selected nothing.
    #[error(
        "The JSONPath '{path}' specified for the field '{field}' could not be found in the input '{input}'"
    )]
    PathNotFound {
        path: String,
        field: String,
        /// The input the path was applied to, as compact JSON.
        input: String,
    },
    /// `InputPath` or `OutputPath` selected nothing; `normalized` is the path in bracket
    /// notation (`$['a'][0]`).
    #[error("Invalid path '{path}' : No results for path: {normalized}")]
    InvalidPath { path: String, normalized: String },
    /// `InputPath` or `OutputPath` walked into a field missing before its last step;
    /// `missing` is the path up to that field, in bracket notation.
    #[error("Invalid path '{path}' : Missing property in path {missing}")]
    MissingProperty { path: String, missing: String },
    /// A Choice Rule's `Variable` (or `…Path` operand) selected nothing.
    #[error(
        "Invalid path '{path}': The choice state's condition path references an invalid value."
    )]
    ChoicePath { path: String },
    /// A Payload Template with paths was applied to a `null` input.
    #[error("Unable to apply Path transformation to null or empty input.")]
    NullInput,
    /// `ResultPath` names a place the input does not have room for (a field of a non-object,
    /// an index outside an array).
    #[error("Unable to apply ReferencePath {path} to input {input}")]
    ResultPathMatchFailure { path: String, input: String },
    /// An intrinsic function rejected its arguments.
    #[error("{0}")]
    Intrinsic(String),
    /// A JSONata expression failed, or returned what its field cannot take.
    #[error("{0}")]
    Query(Box<QueryFailure>),
    /// A Wait state's `TimestampPath` selected no RFC 3339 timestamp.
    #[error(
        "The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: {path} == {value}"
    )]
    WaitTimestamp { path: String, value: String },
    /// A distributed Map's tolerated failures read below zero.
    #[error("{field} cannot be negative.")]
    ToleratedNegative { field: String },
    /// A distributed Map's `ToleratedFailureCountPath` (or `…PercentagePath`) read what is
    /// no number of its kind.
    #[error(
        "The {field}Path field refers to value \"{value}\" which is not a valid integer: {path}"
    )]
    ToleratedNotNumber {
        field: String,
        value: String,
        path: String,
    },
    /// A JSONata Map without `Items` was given an input that is no array.
    #[error("Map state input must be an array but was: {0}")]
    MapInputNotArray(Value),
}

/// A failed JSONata expression: which, in which field, and what went wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("The JSONata expression '{expression}' specified for the field '{field}' {problem}")]
pub struct QueryFailure {
    /// The text between `{%` and `%}`.
    pub expression: String,
    /// `Output`, `Arguments/FunctionName`, `Assign/result`, …
    pub field: String,
    pub problem: QueryProblem,
}

/// What went wrong with a JSONata expression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QueryProblem {
    /// It evaluated to `undefined`, which JSON cannot represent.
    Undefined,
    /// JSONata raised an error: its code and message (`T1006: Attempted to invoke a
    /// non-function`).
    Threw(String),
    /// It evaluated to a function.
    Unsupported,
    /// The field needs another JSON type (`Items` needs an array).
    UnexpectedType {
        expected: &'static str,
        value: Value,
    },
}

impl fmt::Display for QueryProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QueryProblem::Undefined => f.write_str("returned nothing (undefined)."),
            QueryProblem::Threw(message) => {
                write!(f, "threw an error during evaluation. {message}")
            }
            QueryProblem::Unsupported => f.write_str("returned an unsupported result type."),
            QueryProblem::UnexpectedType { expected, value } => write!(
                f,
                "returned an unexpected result type. Expected '{expected}', but was '{}' for value: {value}",
                json_type(value)
            ),
        }
    }
}

impl AslError {
    /// The error name a `Retry`/`Catch` matches.
    pub fn name(&self) -> &'static str {
        match self {
            AslError::PathNotFound { .. }
            | AslError::InvalidPath { .. }
            | AslError::MissingProperty { .. }
            | AslError::ChoicePath { .. }
            | AslError::NullInput
            | AslError::WaitTimestamp { .. }
            | AslError::ToleratedNegative { .. }
            | AslError::ToleratedNotNumber { .. } => STATES_RUNTIME,
            AslError::ResultPathMatchFailure { .. } => STATES_RESULT_PATH_MATCH_FAILURE,
            AslError::Intrinsic(_) => STATES_INTRINSIC_FAILURE,
            AslError::Query(_) | AslError::MapInputNotArray(_) => STATES_QUERY_EVALUATION_ERROR,
        }
    }

    /// The error as the execution reports it: AWS's name, and the cause prefixed with the
    /// state and the id of the event that entered it.
    pub fn to_task_error(&self, state: &str, entered_event_id: u64) -> TaskError {
        TaskError::new(
            self.name(),
            format!(
                "An error occurred while executing the state '{state}' (entered at the event id #{entered_event_id}). {self}"
            ),
        )
    }

    /// A JSONata result of the wrong type for its field.
    pub fn unexpected_type(
        expression: &str,
        field: &str,
        expected: &'static str,
        value: Value,
    ) -> Self {
        AslError::query(
            expression,
            field,
            QueryProblem::UnexpectedType { expected, value },
        )
    }

    pub fn query(expression: &str, field: &str, problem: QueryProblem) -> Self {
        AslError::Query(Box::new(QueryFailure {
            expression: expression.to_owned(),
            field: field.to_owned(),
            problem,
        }))
    }
}

/// The JSON type name AWS uses in messages.
pub fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // Cause texts recorded from AWS (conformance cases `invalid_jsonpath@…`,
    // `undefined_reference@…`, `math_random_seeded`, `map_state_items_eval_jsonata_fail@…`).
    #[test]
    fn causes_read_as_aws_writes_them() {
        let e = AslError::PathNotFound {
            path: "$.no_such_jsonpath".into(),
            field: "value.$".into(),
            input: r#"{"int-literal":0}"#.into(),
        };
        let task = e.to_task_error("pass", 2);
        assert_eq!(task.code.as_str(), "States.Runtime");
        assert_eq!(
            task.detail,
            "An error occurred while executing the state 'pass' (entered at the event id #2). \
             The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be \
             found in the input '{\"int-literal\":0}'"
        );
        let e = AslError::InvalidPath {
            path: "$.NoSuchInputPath".into(),
            normalized: "$['NoSuchInputPath']".into(),
        };
        assert_eq!(
            e.to_string(),
            "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
        );
        let q = |problem| AslError::query("$doesNotExist", "Output/result", problem);
        assert_eq!(
            q(QueryProblem::Undefined).to_string(),
            "The JSONata expression '$doesNotExist' specified for the field 'Output/result' \
             returned nothing (undefined)."
        );
        assert_eq!(
            q(QueryProblem::Threw(
                "T1006: Attempted to invoke a non-function".into()
            ))
            .to_string(),
            "The JSONata expression '$doesNotExist' specified for the field 'Output/result' \
             threw an error during evaluation. T1006: Attempted to invoke a non-function"
        );
        let e =
            AslError::unexpected_type("{'foo': 'bar'}", "Items", "array", json!({"foo": "bar"}));
        assert_eq!(
            e.to_string(),
            "The JSONata expression '{'foo': 'bar'}' specified for the field 'Items' returned an \
             unexpected result type. Expected 'array', but was 'object' for value: {\"foo\":\"bar\"}"
        );
        assert_eq!(e.name(), "States.QueryEvaluationError");
    }

    #[test]
    fn names_per_kind() {
        assert_eq!(AslError::NullInput.name(), "States.Runtime");
        assert_eq!(
            AslError::Intrinsic("x".into()).name(),
            "States.IntrinsicFailure"
        );
        let e = AslError::ResultPathMatchFailure {
            path: "$.x".into(),
            input: "\"foo\"".into(),
        };
        assert_eq!(e.name(), "States.ResultPathMatchFailure");
        assert_eq!(
            e.to_string(),
            "Unable to apply ReferencePath $.x to input \"foo\""
        );
    }
}
