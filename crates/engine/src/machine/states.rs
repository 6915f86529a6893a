//! A state's life: entered with its input, run, finished with its output, then the next
//! state or the end of its scope.

use serde_json::Value;
use sluice_ir::{
    Condition, DataModel, ErrorCode, Next, State, StateId, StateKind, StateName, TaskError,
    Template, Wait,
};

use super::{Here, Machine, Outcome, Vars, Work};
use crate::data;
use crate::execution::{Active, Block, ThreadId, TimerPurpose};
use crate::history::{Detail, EventType};
use crate::{EventId, Millis};

/// The largest value of one global variable (the Global variables page's limits: 256 KiB).
const MAX_GLOBAL_VALUE_BYTES: usize = 256 * 1024;

impl Machine<'_> {
    pub(super) fn enter(&mut self, thread: ThreadId, state_id: StateId) {
        let state = self.flow.state(state_id);
        let (input, written, next) = match self.state_input(thread, state) {
            Ok((input, written)) => (input, written, Work::Run { thread }),
            Err(error) => {
                let outcome = Outcome::Error(error);
                (Value::Null, None, Work::Finish { thread, outcome })
            }
        };
        let entered = self.emit(
            EventType::StepEntered,
            None,
            Some(state.name.clone()),
            written.unwrap_or_else(|| Detail::of("input", &input)),
        );
        self.inspect_entered(thread, state, &input);
        let retries = state.kind.recovery().map_or(0, |r| r.retry.len());
        let Some(t) = self.ex.threads.get_mut(&thread) else {
            return;
        };
        t.at = Some(Active {
            state: state_id,
            input,
            entered,
            retries: vec![0; retries],
            retry_count: 0,
            block: Block::None,
        });
        self.work.push_back(next);
    }

    /// Computes the input of `state` from the thread's data (InputConstructor / mappings),
    /// and its `StepEntered` detail when that is written already.
    fn state_input(
        &mut self,
        thread: ThreadId,
        state: &State,
    ) -> Result<(Value, Option<Detail>), TaskError> {
        let Some(t) = self.ex.threads.get(&thread) else {
            return Ok((Value::Null, None));
        };
        let input = match (self.flow.scope(t.scope).data, &state.input) {
            // Pipe data is the next state's input and nothing else: nothing reads it again
            // before the state advances and replaces it, so it moves instead of being copied.
            (DataModel::Pipe, None) => {
                let input = self.take_data(thread);
                if let Some(measured) = self.measured.take().filter(|m| m.thread == thread) {
                    let written = self.step.events.get(measured.exited);
                    let detail = written.and_then(|e| e.detail.renamed("output", "input"));
                    return Ok((input, detail));
                }
                input
            }
            (DataModel::Pipe, Some(template)) => {
                self.eval(template, Vars::input(&t.data), Here::state(&state.name))?
            }
            (DataModel::Merge, Some(template)) => {
                let vars = Vars {
                    local: Some(&t.data),
                    ..Vars::input(&t.scope_input)
                };
                self.eval(template, vars, Here::state(&state.name))?
            }
            (DataModel::Merge, None) => data::merged(&t.scope_input, &t.data),
        };
        self.check_size(&input, "the state input")?;
        Ok((input, None))
    }

    fn take_data(&mut self, thread: ThreadId) -> Value {
        self.ex
            .threads
            .get_mut(&thread)
            .map(|t| std::mem::take(&mut t.data))
            .unwrap_or_default()
    }

    /// Performs the action of the thread's active state (again, after a retry backoff).
    pub(super) fn run_state(&mut self, thread: ThreadId) {
        let Some(active) = self.active(thread) else {
            return;
        };
        let state = self.flow.state(active.state);
        if let Some(data) = &state.asl {
            self.run_asl_state(thread, state, data);
            return;
        }
        let input = &active.input;
        let outcome = match &state.kind {
            StateKind::Pass => Outcome::PassInput { goto: None },
            StateKind::Succeed => Outcome::PassInput {
                goto: Some(Next::End),
            },
            StateKind::Fail(fail) => Outcome::Error(TaskError::new(
                fail.code
                    .clone()
                    .unwrap_or_else(|| ErrorCode::FAILED.to_string()),
                fail.detail.clone().unwrap_or_default(),
            )),
            StateKind::Choice(choice) => match self.choose(choice, input, &state.name) {
                Ok(next) => Outcome::PassInput { goto: Some(next) },
                Err(error) => Outcome::Error(error),
            },
            StateKind::Wait(wait) => match self.wait_until(wait, input, &state.name) {
                Ok(fire_at) => {
                    let op = self.start_timer(fire_at, TimerPurpose::Wait(thread));
                    self.block(thread, Block::Wait(op));
                    return;
                }
                Err(error) => Outcome::Error(error),
            },
            StateKind::Task(task) => match self.dispatch(
                thread,
                state,
                task,
                super::tasks::CallPlan::of(task, input.clone()),
            ) {
                Ok(()) => return,
                Err(error) => Outcome::Error(error),
            },
            StateKind::Parallel(parallel) => {
                let inputs = vec![input.clone(); parallel.branches.len()];
                self.fan_out(thread, inputs, 0);
                return;
            }
            StateKind::Map(map) => {
                let reader = map.distributed.as_ref().and_then(|d| d.reader.as_deref());
                let started = match reader {
                    Some(reader) => {
                        let input = input.clone();
                        self.read_items(thread, state, reader, &input)
                    }
                    None => self.map_inputs(map, input, &state.name).map(|inputs| {
                        match &map.distributed {
                            Some(distributed) => {
                                self.start_map_run(thread, inputs, map.max_concurrency, distributed)
                            }
                            None => self.fan_out(thread, inputs, map.max_concurrency),
                        }
                    }),
                };
                match started {
                    Ok(()) => return,
                    Err(error) => Outcome::Error(error),
                }
            }
            StateKind::Dag(dag) => {
                self.start_dag(thread, dag);
                return;
            }
        };
        self.work.push_back(Work::Finish { thread, outcome });
    }

    fn choose(
        &self,
        choice: &sluice_ir::Choice,
        input: &Value,
        name: &StateName,
    ) -> Result<Next, TaskError> {
        for branch in &choice.branches {
            let Condition::Expr(condition) = &branch.condition else {
                continue;
            };
            let value = self.eval_expr(condition, Vars::input(input), name)?;
            match value {
                Value::Bool(true) => return Ok(branch.next),
                Value::Bool(false) => {}
                other => {
                    return Err(TaskError::new(
                        ErrorCode::EXPRESSION,
                        format!("state {name}: a Choice condition gave {other}, not true or false"),
                    ));
                }
            }
        }
        choice.default.ok_or_else(|| {
            TaskError::new(
                ErrorCode::INVALID_INPUT,
                format!("state {name}: no branch matched"),
            )
        })
    }

    pub(super) fn wait_until(
        &self,
        wait: &Wait,
        input: &Value,
        name: &StateName,
    ) -> Result<Millis, TaskError> {
        let invalid = |what: String| {
            TaskError::new(ErrorCode::INVALID_INPUT, format!("state {name}: {what}"))
        };
        let seconds = |s: u64| {
            self.now
                .saturating_add(i64::try_from(s.saturating_mul(1000)).unwrap_or(i64::MAX))
        };
        match wait {
            Wait::Seconds(s) => Ok(seconds(*s)),
            Wait::Until(at) => Ok(*at),
            Wait::SecondsExpr(expr) => match self.eval_expr(expr, Vars::input(input), name)? {
                Value::Number(n) => n
                    .as_u64()
                    .or_else(|| n.as_f64().filter(|f| *f >= 0.0).map(|f| f as u64))
                    .map(seconds)
                    .ok_or_else(|| {
                        invalid(format!(
                            "the wait duration {n} is not a non-negative number of seconds"
                        ))
                    }),
                other => Err(invalid(format!(
                    "the wait duration {other} is not a number"
                ))),
            },
            Wait::UntilExpr(expr) => match self.eval_expr(expr, Vars::input(input), name)? {
                Value::String(s) => s
                    .parse::<jiff::Timestamp>()
                    .map(|t| t.as_millisecond())
                    .map_err(|e| invalid(format!("the wait timestamp {s:?} is not RFC 3339: {e}"))),
                other => Err(invalid(format!(
                    "the wait timestamp {other} is not a string"
                ))),
            },
            // ASL Waits are computed by `asl_wait_until`.
            Wait::SecondsAsl(_) | Wait::UntilAsl(_) => Err(invalid("an ASL wait".into())),
        }
    }

    /// Finishes the thread's active state: output processing and transition, or recovery.
    pub(super) fn finish(&mut self, thread: ThreadId, outcome: Outcome) {
        let Some(active) = self.active(thread) else {
            return;
        };
        let state = self.flow.state(active.state);
        let entered = active.entered;
        let (result, goto, rule) = match outcome {
            Outcome::Done { result, goto } => (Some(result), goto, None),
            Outcome::PassInput { goto } => (None, goto, None),
            Outcome::Chose { next, rule } => (None, Some(next), Some(rule)),
            Outcome::Error(error) => {
                self.recover(thread, state, error);
                return;
            }
        };
        if let Some(data) = &state.asl {
            let rule_data = match (&state.kind, rule) {
                (StateKind::Choice(choice), Some(rule)) => {
                    choice.branches.get(rule).and_then(|b| b.asl.as_deref())
                }
                _ => None,
            };
            match rule_data {
                Some(rule_data) => {
                    let data = rule_data.over(data);
                    self.finish_asl(thread, state, &data, result, goto);
                }
                None => self.finish_asl(thread, state, data, result, goto),
            }
            return;
        }
        // Both constructors see `$Global` as it was: the globals are written after the output.
        let globals = match &state.global {
            Some(template) => self.shape_globals(thread, state, template, result.as_ref()),
            None => Ok(None),
        };
        let output = globals.and_then(|globals| {
            let output = match &state.output {
                Some(template) => self.shape_output(thread, state, template, result.as_ref()),
                // The state is done with its input: it can move on as the output.
                None => Ok(result.unwrap_or_else(|| self.take_input(thread))),
            }?;
            Ok((output, globals))
        });
        match output {
            Ok((output, globals)) => {
                if let Some(globals) = globals {
                    data::merge_into(&mut self.ex.globals, globals);
                }
                let written = Detail::of("output", &output);
                self.exit_state(thread, state, entered, output, written, goto);
            }
            Err(error) => self.recover(thread, state, error),
        }
    }

    /// The state is done with `output`: its exit is recorded (`written`: its detail
    /// `{"output": …}`) and the thread moves on (to `goto` when the state chose, else to its
    /// `Next`). Returns the index of the `StepExited` event in the step's events.
    pub(super) fn exit_state(
        &mut self,
        thread: ThreadId,
        state: &State,
        entered: EventId,
        output: Value,
        written: Detail,
        goto: Option<Next>,
    ) -> usize {
        let exited = self.step.events.len();
        self.emit(
            EventType::StepExited,
            Some(entered),
            Some(state.name.clone()),
            written,
        );
        let next = goto.unwrap_or(state.next);
        let next = self.inspect_exit(thread, &output, next);
        self.advance(thread, output, next);
        exited
    }

    /// Applies the state's OutputConstructor to `result` (`None`: the state's own input).
    fn shape_output(
        &self,
        thread: ThreadId,
        state: &State,
        template: &Template,
        result: Option<&Value>,
    ) -> Result<Value, TaskError> {
        let Some(active) = self.active(thread) else {
            return Ok(Value::Null);
        };
        let result = result.unwrap_or(&active.input);
        let vars = Vars {
            output: Some(result),
            local: Some(result),
            ..Vars::input(&active.input)
        };
        let here = Here {
            output: Some(result),
            retry_count: active.retry_count,
            ..Here::state(&state.name)
        };
        self.eval(template, vars, here)
            .and_then(|v| self.check_size(&v, "the state output").map(|()| v))
    }

    /// Evaluates the state's GlobalConstructor: `$Output` is the state's raw result (`None`:
    /// its input). Each variable is at most [`MAX_GLOBAL_VALUE_BYTES`].
    fn shape_globals(
        &self,
        thread: ThreadId,
        state: &State,
        template: &Template,
        result: Option<&Value>,
    ) -> Result<Option<Value>, TaskError> {
        let Some(active) = self.active(thread) else {
            return Ok(None);
        };
        let result = result.unwrap_or(&active.input);
        let vars = Vars {
            output: Some(result),
            ..Vars::input(&active.input)
        };
        let here = Here {
            output: Some(result),
            retry_count: active.retry_count,
            ..Here::state(&state.name)
        };
        let globals = self.eval(template, vars, here)?;
        if let Value::Object(variables) = &globals {
            for (name, value) in variables {
                let size = data::json_size(value);
                if size > MAX_GLOBAL_VALUE_BYTES {
                    return Err(TaskError::new(
                        ErrorCode::PAYLOAD_TOO_LARGE,
                        format!(
                            "state {}: the global variable {name:?} is {size} bytes, more than \
                             the limit of {MAX_GLOBAL_VALUE_BYTES} bytes",
                            state.name
                        ),
                    ));
                }
            }
        }
        Ok(Some(globals))
    }

    fn take_input(&mut self, thread: ThreadId) -> Value {
        self.active_mut(thread)
            .map(|a| std::mem::take(&mut a.input))
            .unwrap_or_default()
    }

    /// Moves the thread past its state: its data takes `output`, then `next` runs.
    pub(super) fn advance(&mut self, thread: ThreadId, output: Value, next: Next) {
        self.measured = None;
        let Some(t) = self.ex.threads.get_mut(&thread) else {
            return;
        };
        t.at = None;
        match self.flow.scope(t.scope).data {
            DataModel::Pipe => t.data = output,
            DataModel::Merge => data::merge_into(&mut t.data, output),
        }
        self.work.push_back(match next {
            Next::State(state) => Work::Enter { thread, state },
            Next::End => {
                let result = self.scope_output(thread);
                Work::ScopeDone { thread, result }
            }
        });
    }

    pub(super) fn fail_scope(&mut self, thread: ThreadId, error: TaskError) {
        if let Some(t) = self.ex.threads.get_mut(&thread) {
            t.at = None;
        }
        self.work.push_back(Work::ScopeDone {
            thread,
            result: Err(error),
        });
    }

    fn scope_output(&self, thread: ThreadId) -> Result<Value, TaskError> {
        let Some(t) = self.ex.threads.get(&thread) else {
            return Ok(Value::Null);
        };
        let scope = self.flow.scope(t.scope);
        match &scope.output {
            None => Ok(t.data.clone()),
            Some(template) => {
                let vars = Vars {
                    local: Some(&t.data),
                    output: Some(&t.data),
                    ..Vars::input(&t.scope_input)
                };
                let name = StateName::new(self.ex.info.flow_name.as_str());
                self.eval(
                    template,
                    vars,
                    Here {
                        output: Some(&t.data),
                        ..Here::state(&name)
                    },
                )
            }
        }
    }
}
