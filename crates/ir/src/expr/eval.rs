use serde_json::Value;

use super::ast::Expr;

/// What an expression can see. Absent roots evaluate to an error naming the variable.
pub struct Env<'a> {
    pub input: &'a Value,
    pub output: Option<&'a Value>,
    pub local: Option<&'a Value>,
    pub item: Option<&'a Value>,
    pub global: Option<&'a Value>,
    pub constants: Option<&'a Value>,
    /// Builds `$Context` on demand: most expressions never read it.
    pub context: &'a dyn Fn() -> Value,
    /// Seed for `randomInt` (deterministic per execution and step).
    pub seed: u64,
}

/// A run-time evaluation failure: never a panic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct EvalError {
    pub message: String,
}

impl EvalError {
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
        }
    }
}

impl Expr {
    pub fn eval(&self, env: &Env<'_>) -> Result<Value, EvalError> {
        let _ = env;
        Err(EvalError::new("not yet implemented"))
    }
}
