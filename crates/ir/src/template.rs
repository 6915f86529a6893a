//! Constructors: JSON-shaped values whose leaves may be expressions.
//!
//! CloudFlow's `InputConstructor`, `OutputConstructor`, `Parameters` and `ItemConstructor`
//! (keys ending in `.$` hold expressions) and the legacy `inputMappings` / `outputMappings`
//! (`{target, source}` lists) all compile to a [`Template`].

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::expr::{Env, EvalError, Expr, Root};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Template {
    Literal(Value),
    Expr(Expr),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
}

impl Template {
    pub fn eval(&self, env: &Env<'_>) -> Result<Value, EvalError> {
        match self {
            Template::Literal(v) => Ok(v.clone()),
            Template::Expr(e) => e.eval(env),
            Template::Object(fields) => {
                let mut map = Map::with_capacity(fields.len());
                for (key, value) in fields {
                    let v = value
                        .eval(env)
                        .map_err(|e| EvalError::new(format!("{key}: {e}")))?;
                    map.insert(key.clone(), v);
                }
                Ok(Value::Object(map))
            }
            Template::Array(items) => items
                .iter()
                .map(|t| t.eval(env))
                .collect::<Result<_, _>>()
                .map(Value::Array),
        }
    }

    pub fn uses(&self, root: Root) -> bool {
        match self {
            Template::Literal(_) => false,
            Template::Expr(e) => e.uses(root),
            Template::Object(fields) => fields.iter().any(|(_, t)| t.uses(root)),
            Template::Array(items) => items.iter().any(|t| t.uses(root)),
        }
    }
}
