//! Evaluating expressions and templates with `$Context` describing the current state.

use serde_json::Value;
use sluice_ir::{ErrorCode, StateName, TaskError, Template};

use super::{Here, Machine, Vars};
use crate::data::{self, Current};

impl Machine<'_> {
    pub(super) fn eval_expr(
        &self,
        expr: &sluice_ir::Expr,
        vars: Vars<'_>,
        name: &StateName,
    ) -> Result<Value, TaskError> {
        self.evaluate(vars, Here::state(name), |env| expr.eval(env))
    }

    pub(super) fn eval(
        &self,
        template: &Template,
        vars: Vars<'_>,
        here: Here<'_>,
    ) -> Result<Value, TaskError> {
        self.evaluate(vars, here, |env| template.eval(env))
    }

    /// Runs `eval` in an environment whose `$Context` describes the current state.
    fn evaluate(
        &self,
        vars: Vars<'_>,
        here: Here<'_>,
        eval: impl FnOnce(&sluice_ir::Env<'_>) -> Result<Value, sluice_ir::EvalError>,
    ) -> Result<Value, TaskError> {
        let name = here.name;
        let context = || {
            let current = Current {
                name: name.as_str(),
                input: vars.input,
                output: here.output,
                error: here.error,
                retry_count: here.retry_count,
                token: here.token,
            };
            data::context_value(
                &self.ex.info.name,
                self.ex.input.as_ref(),
                self.ex.info.role_arn.as_deref(),
                &current,
            )
        };
        let seed = self.ex.info.seed ^ self.ex.next_event.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let mut env = sluice_ir::Env::new(vars.input, &context, seed);
        env.output = vars.output;
        env.local = vars.local;
        env.item = vars.item;
        env.global = Some(&self.ex.globals);
        eval(&env).map_err(|e| TaskError::new(ErrorCode::EXPRESSION, format!("state {name}: {e}")))
    }
}
