//! What only the Amazon States Language gives a state: how its data moves (JSONPath's
//! `InputPath` … `OutputPath`, JSONata's `Arguments` and `Output`), its variables (`Assign`),
//! and fields given by a path or an expression instead of a literal. The parts are those of
//! [`crate::expr::asl`]; this module says how one state strings them together (specification,
//! "Input and Output Processing"; Developer Guide, "Processing input and output").

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{ErrorCode, TaskError};
use crate::expr::Entropy;
use crate::expr::asl::{
    AslError, JsonataTemplate, Path, PayloadTemplate, ResultPath, Scope, SelectPath, Variables,
};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum QueryLanguage {
    #[default]
    JsonPath,
    Jsonata,
}

/// The ASL name of an error the engine or the runtime raised under sluice's own name, as
/// AWS names the same failure (Developer Guide, "Error names"): a timeout is `States.Timeout`,
/// a payload over the limit `States.DataLimitExceeded`, a call that failed without naming
/// its error `States.TaskFailed`, a bad value at run time `States.Runtime`.
pub fn asl_error_name(code: &str) -> Option<&'static str> {
    match code {
        ErrorCode::TIMEOUT => Some("States.Timeout"),
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
pub fn asl_error(error: TaskError) -> TaskError {
    match asl_error_name(error.code.as_str()) {
        Some(name) => TaskError::new(name, error.detail),
        None => error,
    }
}

impl AslData {
    /// The effective input: JSONPath `InputPath`, then `Parameters`; JSONata `Arguments`,
    /// evaluated with `$states.input` the raw input.
    pub fn effective_input(&self, env: &AslEnv<'_>, raw: &Value) -> Result<Value, AslError> {
        let scope = env.scope(raw);
        let selected = self.input_path.apply(&scope)?;
        match &self.arguments {
            None => Ok(selected.into_owned()),
            Some(arguments) => arguments.evaluate(&env.scope(&selected)),
        }
    }

    /// A Pass state's result: its `Result`, else its effective input.
    pub fn result_of(&self, effective: Value) -> Value {
        self.result.clone().unwrap_or(effective)
    }

    /// The state's output from its raw input and its result: `ResultSelector`, `ResultPath`
    /// and `OutputPath` (JSONPath), or `Output` (JSONata; by default the result).
    pub fn output(&self, env: &AslEnv<'_>, raw: &Value, result: Value) -> Result<Value, AslError> {
        match self.query {
            QueryLanguage::JsonPath => {
                let result = match &self.result_selector {
                    Some(selector) => selector.apply(&env.scope(&result))?,
                    None => result,
                };
                let combined = self.result_path.combine(raw, result)?;
                match &self.output_path {
                    SelectPath::Whole => Ok(combined),
                    path => Ok(path.apply(&env.scope(&combined))?.into_owned()),
                }
            }
            QueryLanguage::Jsonata => match &self.output {
                None => Ok(result),
                Some(output) => output.evaluate(&env.scope(raw).with_result(&result)),
            },
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
