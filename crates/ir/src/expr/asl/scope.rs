//! What an ASL expression can see: the value `$` stands for, the context object (`$$`), the
//! state machine's variables (`$name`), and, for JSONata, the rest of `$states`.

use std::cell::OnceCell;

use serde_json::{Map, Value};

use crate::expr::Entropy;

/// The variables visible to a state (its scope and, read-only, the enclosing ones).
pub trait Variables {
    fn get(&self, name: &str) -> Option<&Value>;
}

/// No variables at all.
impl Variables for () {
    fn get(&self, _: &str) -> Option<&Value> {
        None
    }
}

impl Variables for Map<String, Value> {
    fn get(&self, name: &str) -> Option<&Value> {
        Map::get(self, name)
    }
}

/// Everything one evaluation reads. Built with [`Scope::new`] and the `with_*` setters; every
/// part but the input is optional.
pub struct Scope<'a> {
    input: &'a Value,
    context: ContextObject<'a>,
    variables: &'a dyn Variables,
    result: Option<&'a Value>,
    error_output: Option<&'a Value>,
    entropy: Option<&'a Entropy>,
    /// Drawn from when the caller gave no entropy, so evaluation never fails for want of it.
    fallback_entropy: Entropy,
    now: jiff::Timestamp,
}

/// The context object, given or built on first use: most templates never read `$$`, and
/// building it copies the execution's input.
enum ContextObject<'a> {
    Absent,
    Given(&'a Value),
    Lazy {
        build: &'a dyn Fn() -> Value,
        built: OnceCell<Value>,
    },
}

static NULL: Value = Value::Null;

impl<'a> Scope<'a> {
    /// A scope in which `$` (JSONPath) and `$states.input` (JSONata) are `input`.
    pub fn new(input: &'a Value) -> Self {
        Self {
            input,
            context: ContextObject::Absent,
            variables: &(),
            result: None,
            error_output: None,
            entropy: None,
            fallback_entropy: Entropy::new(0),
            now: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    pub fn with_context(mut self, context: &'a Value) -> Self {
        self.context = ContextObject::Given(context);
        self
    }

    /// The context object, built by `build` the first time something reads it.
    pub fn with_lazy_context(mut self, build: &'a dyn Fn() -> Value) -> Self {
        self.context = ContextObject::Lazy {
            build,
            built: OnceCell::new(),
        };
        self
    }

    pub fn with_variables(mut self, variables: &'a dyn Variables) -> Self {
        self.variables = variables;
        self
    }

    /// `$states.result` (JSONata): a Task, Map or Parallel state's result.
    pub fn with_result(mut self, result: &'a Value) -> Self {
        self.result = Some(result);
        self
    }

    /// `$states.errorOutput` (JSONata): the error output inside a Catcher.
    pub fn with_error_output(mut self, error_output: &'a Value) -> Self {
        self.error_output = Some(error_output);
        self
    }

    /// The source of `States.MathRandom`, `States.UUID`, `$random()`, `$uuid()` and
    /// `$shuffle()`.
    pub fn with_entropy(mut self, entropy: &'a Entropy) -> Self {
        self.entropy = Some(entropy);
        self
    }

    /// What JSONata's `$now()` and `$millis()` return (the engine's clock, not the machine's).
    pub fn with_now(mut self, now: jiff::Timestamp) -> Self {
        self.now = now;
        self
    }

    pub fn input(&self) -> &'a Value {
        self.input
    }

    /// The context object; `null` when the scope has none.
    pub fn context(&self) -> &Value {
        match &self.context {
            ContextObject::Absent => &NULL,
            ContextObject::Given(value) => value,
            ContextObject::Lazy { build, built } => built.get_or_init(build),
        }
    }

    pub fn variable(&self, name: &str) -> Option<&'a Value> {
        self.variables.get(name)
    }

    pub fn result(&self) -> Option<&'a Value> {
        self.result
    }

    pub fn error_output(&self) -> Option<&'a Value> {
        self.error_output
    }

    pub fn entropy(&self) -> &Entropy {
        self.entropy.unwrap_or(&self.fallback_entropy)
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.now
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;

    use serde_json::json;

    use super::*;

    #[test]
    fn the_lazy_context_is_built_once_and_only_when_read() {
        let calls = Cell::new(0);
        let build = || {
            calls.set(calls.get() + 1);
            json!({"Execution": {"Id": "x"}})
        };
        let input = json!({});
        let scope = Scope::new(&input).with_lazy_context(&build);
        assert_eq!(calls.get(), 0);
        assert_eq!(scope.context()["Execution"]["Id"], "x");
        assert_eq!(scope.context()["Execution"]["Id"], "x");
        assert_eq!(calls.get(), 1);
    }

    #[test]
    fn absent_parts_read_as_nothing() {
        let input = json!(1);
        let scope = Scope::new(&input);
        assert_eq!(scope.context(), &Value::Null);
        assert_eq!(scope.variable("x"), None);
        assert_eq!(scope.result(), None);
        let a = scope.entropy().next_u64();
        assert_ne!(a, scope.entropy().next_u64());
    }

    #[test]
    fn variables_come_from_a_map() {
        let vars = json!({"x": 5});
        let vars = vars.as_object().cloned().unwrap_or_default();
        let input = json!(null);
        let scope = Scope::new(&input).with_variables(&vars);
        assert_eq!(scope.variable("x"), Some(&json!(5)));
        assert_eq!(scope.variable("y"), None);
    }
}
