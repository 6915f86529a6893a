//! ASL states: their data processing (`sluice_ir::AslData`), Choice Rules, the `…Path` and
//! JSONata fields, variables, and the context object (`$$`, `$states.context`).
//!
//! A state with `asl` keeps its raw input as the active input; its effective input is
//! computed when it runs. States without a result (Choice, Wait, Succeed) replace the raw
//! input by the effective one, which is then also their result.

use serde_json::{Map, Value, json};
use sluice_ir::asl::invoked_function;
use sluice_ir::expr::Entropy;
use sluice_ir::expr::asl::{AslError, STATES_RUNTIME, Variables, is_timestamp, json_type};
use sluice_ir::nested::NestedStart;
use sluice_ir::{
    AslData, AslEnv, AslValue, Body, Choice, Condition, Distributed, Fail, ItemInput, Items, Next,
    QueryLanguage, State, StateKind, Task, TaskError, TaskTarget, ToleratedFailures, Wait,
};

use super::inspect::Seen;
use super::tasks::CallPlan;
use super::{Machine, Measured, Outcome, Work};
use crate::Millis;
use crate::execution::{Block, OpId, ThreadId, TimerPurpose};
use crate::history::Detail;

/// Why a state's output could not be made: an ASL stage failed, or the output is too large.
enum Shaping {
    Asl(AslError),
    Size(TaskError),
}

impl From<AslError> for Shaping {
    fn from(error: AslError) -> Self {
        Shaping::Asl(error)
    }
}

/// An ASL state's output, its `StepExited` detail and the variables its `Assign` sets.
pub(super) struct Shaped {
    output: Value,
    written: Detail,
    assigned: Option<Map<String, Value>>,
}

/// `States.NoChoiceMatched`: no Choice Rule matched and the state has no `Default`.
pub(crate) const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";

/// A thread's variables, then those of the threads it runs inside.
struct ThreadVariables<'a> {
    machine: &'a Machine<'a>,
    thread: ThreadId,
}

impl Variables for ThreadVariables<'_> {
    fn get(&self, name: &str) -> Option<&Value> {
        let mut at = Some(self.thread);
        while let Some(id) = at {
            let thread = self.machine.ex.threads.get(&id)?;
            if let Some(value) = thread.variables.get(name) {
                return Some(value);
            }
            at = thread.parent.map(|slot| slot.thread);
        }
        None
    }
}

/// What the context object says about the state besides the execution.
#[derive(Clone, Copy, Default)]
pub(super) struct AslHere<'v> {
    pub token: Option<&'v str>,
    pub map_item: Option<(usize, &'v Value)>,
}

impl<'m> Machine<'m> {
    /// Runs `f` with the expression environment of `state` in `thread`.
    pub(super) fn with_asl<R>(
        &self,
        thread: ThreadId,
        state: &State,
        here: AslHere<'_>,
        f: impl FnOnce(&AslEnv<'_>) -> R,
    ) -> R {
        let active = self.active(thread);
        let context = || {
            let info = &self.ex.info;
            let ids = info.context_ids.as_ref();
            let mut context = json!({
                "Execution": {
                    "Id": ids.map_or_else(
                        || info.name.clone(),
                        |ids| format!("{}{}", ids.execution_prefix, info.name),
                    ),
                    "Input": self.ex.input.clone().unwrap_or(Value::Null),
                    "Name": self.ex.info.name,
                    "RoleArn": self.ex.info.role_arn.as_deref().unwrap_or(""),
                    "StartTime": rfc3339(self.ex.started_at.unwrap_or(self.now)),
                    "RedriveCount": self.ex.redrives.count,
                },
                "State": {
                    "EnteredTime": rfc3339(self.now),
                    "Name": state.name.as_str(),
                },
                "StateMachine": {
                    "Id": ids.map_or(info.flow_name.as_str(), |ids| ids.flow.as_str()),
                    "Name": self.ex.info.flow_name,
                },
            });
            // AWS writes the retry count only of a state that can be retried.
            if state.kind.recovery().is_some_and(|r| !r.retry.is_empty()) {
                context["State"]["RetryCount"] = json!(active.map_or(0, |a| a.retry_count));
            }
            if let Some(token) = here.token {
                context["Task"] = json!({ "Token": token });
            }
            if let Some((index, value)) = here.map_item {
                context["Map"] = json!({ "Item": { "Index": index, "Value": value } });
            }
            context
        };
        let variables = ThreadVariables {
            machine: self,
            thread,
        };
        let entropy = Entropy::new(
            self.ex.info.seed ^ self.ex.next_event.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        );
        let env = AslEnv {
            context: &context,
            variables: &variables,
            entropy: &entropy,
            now: jiff::Timestamp::from_millisecond(self.now).unwrap_or(jiff::Timestamp::UNIX_EPOCH),
        };
        f(&env)
    }

    /// The error of an ASL expression, as the execution reports it.
    pub(super) fn asl_error(&self, thread: ThreadId, state: &State, error: &AslError) -> TaskError {
        let entered = self.active(thread).map_or(0, |a| a.entered.0);
        error.to_task_error(state.name.as_str(), entered)
    }

    /// The effective input of the thread's active ASL state (an inspection sees its stages).
    pub(super) fn asl_effective_input(
        &mut self,
        thread: ThreadId,
        state: &State,
        data: &AslData,
    ) -> Result<Value, TaskError> {
        let effective = self.asl_effective_input_or_raw(thread, state, data)?;
        Ok(effective.unwrap_or_else(|| self.raw_input(thread).clone()))
    }

    /// [`Self::asl_effective_input`], `None` when it is the raw input itself (not copied).
    fn asl_effective_input_or_raw(
        &mut self,
        thread: ThreadId,
        state: &State,
        data: &AslData,
    ) -> Result<Option<Value>, TaskError> {
        let mut seen = Seen::new();
        let effective = self.asl_effective_input_seen(thread, state, data, &mut seen);
        self.inspect_stages(thread, seen);
        effective
    }

    /// The raw input of the thread's active state.
    fn raw_input(&self, thread: ThreadId) -> &Value {
        self.active(thread).map_or(&Value::Null, |a| &a.input)
    }

    fn asl_effective_input_seen(
        &self,
        thread: ThreadId,
        state: &State,
        data: &AslData,
        seen: &mut Seen,
    ) -> Result<Option<Value>, TaskError> {
        let watch = self.watches(thread);
        let raw = self.raw_input(thread);
        // A callback Task's Parameters may pass `$$.Task.Token`: the token of the call that
        // `dispatch` makes next, with the next op id.
        let token = match &state.kind {
            StateKind::Task(task) => self.task_token(task, OpId(self.ex.next_op)),
            _ => None,
        };
        let here = AslHere {
            token: token.as_deref(),
            ..AslHere::default()
        };
        self.with_asl(thread, state, here, |env| {
            data.effective_input_seen(env, raw, |stage, value| {
                if watch {
                    seen.push((stage, value.clone()));
                }
            })
        })
        .map_err(|e| self.asl_error(thread, state, &e))
    }

    /// Replaces the active input by `value` (states whose result is their effective input).
    pub(super) fn set_active_input(&mut self, thread: ThreadId, value: Value) {
        if let Some(active) = self.active_mut(thread) {
            active.input = value;
        }
    }

    /// The target of the first matching Choice Rule, else `Default`, else
    /// `States.NoChoiceMatched`.
    pub(super) fn asl_choose(
        &self,
        thread: ThreadId,
        state: &State,
        choice: &Choice,
        input: &Value,
    ) -> Result<Outcome, TaskError> {
        let chosen = self.with_asl(thread, state, AslHere::default(), |env| {
            let scope = env.scope(input);
            for (rule, branch) in choice.branches.iter().enumerate() {
                let matched = match &branch.condition {
                    Condition::Rule(rule) => rule.matches(&scope)?,
                    Condition::Expr(_) => false,
                };
                if matched {
                    return Ok(Some(Outcome::Chose {
                        next: branch.next,
                        rule,
                    }));
                }
            }
            Ok(None)
        });
        match chosen.map_err(|e| self.asl_error(thread, state, &e))? {
            Some(outcome) => Ok(outcome),
            None => choice
                .default
                .map(|next| Outcome::PassInput { goto: Some(next) })
                .ok_or_else(|| {
                    TaskError::new(
                        NO_CHOICE_MATCHED,
                        format!(
                            "No Matches! (state {}: no Choice Rule matched and it has no Default)",
                            state.name
                        ),
                    )
                }),
        }
    }

    /// An ASL value (`SecondsPath`, `ErrorPath`, JSONata `Items`, …) against `input`.
    pub(super) fn asl_value(
        &self,
        thread: ThreadId,
        state: &State,
        value: &AslValue,
        input: &Value,
        field: &str,
    ) -> Result<Value, TaskError> {
        self.with_asl(thread, state, AslHere::default(), |env| {
            value.evaluate(&env.scope(input), field)
        })
        .map_err(|e| self.asl_error(thread, state, &e))
    }

    /// A Fail state's error: `Error`/`ErrorPath`, `Cause`/`CausePath` (against the raw input).
    pub(super) fn asl_fail(&self, thread: ThreadId, state: &State, fail: &Fail) -> TaskError {
        let input = self
            .active(thread)
            .map(|a| a.input.clone())
            .unwrap_or_default();
        let text = |literal: &Option<String>, from: &Option<AslValue>, field: &str| match from {
            None => Ok(literal.clone().unwrap_or_default()),
            Some(value) => match self.asl_value(thread, state, value, &input, field)? {
                Value::String(s) => Ok(s),
                other => Err(TaskError::new(
                    "States.Runtime",
                    format!(
                        "the {field} of state {} gave {other}, not a string",
                        state.name
                    ),
                )),
            },
        };
        let code = match text(&fail.code, &fail.code_from, "ErrorPath") {
            Ok(code) => code,
            Err(error) => return error,
        };
        match text(&fail.detail, &fail.detail_from, "CausePath") {
            Ok(detail) => TaskError::new(code, detail),
            Err(error) => error,
        }
    }

    /// The output of the thread's active ASL state, made out of its raw input, its
    /// `StepExited` detail (written to measure it), and the variables its `Assign` sets (which
    /// take effect once the state is done); `result` `None` is the raw input. On failure
    /// `raw` is as it was.
    pub(super) fn asl_output(
        &self,
        thread: ThreadId,
        state: &State,
        data: &AslData,
        raw: &mut Value,
        result: Option<Value>,
        seen: &mut Seen,
    ) -> Result<Shaped, TaskError> {
        let watch = self.watches(thread);
        self.with_asl(thread, state, AslHere::default(), |env| {
            let assigned = data
                .assignments(env, raw, result.as_ref().unwrap_or(raw))
                .map_err(Shaping::Asl)?;
            let shown = |stage, value: &Value| {
                if watch {
                    seen.push((stage, value.clone()));
                }
            };
            let mut written = None;
            let accept = |output: &Value| {
                let (detail, size) = Detail::of_sized("output", output);
                written = Some(detail);
                self.check_measured_size(size, "the state output")
                    .map_err(Shaping::Size)
            };
            let output = data.output_from(env, raw, result, shown, accept)?;
            let written = written.unwrap_or_else(|| Detail::of("output", &output));
            Ok(Shaped {
                output,
                written,
                assigned,
            })
        })
        .map_err(|error| match error {
            Shaping::Asl(error) => self.asl_error(thread, state, &error),
            Shaping::Size(error) => error,
        })
    }

    /// The input of a Catcher's `Next`: the error output `{"Error", "Cause"}` placed by the
    /// Catcher's `ResultPath` (or shaped by its `Output`), and its `Assign`.
    pub(super) fn asl_catch_value(
        &self,
        thread: ThreadId,
        state: &State,
        data: &AslData,
        error: &TaskError,
    ) -> Result<(Value, Option<Map<String, Value>>), TaskError> {
        let raw = self
            .active(thread)
            .map(|a| &a.input)
            .unwrap_or(&Value::Null);
        let error_output = json!({ "Error": error.code.as_str(), "Cause": error.detail });
        self.with_asl(thread, state, AslHere::default(), |env| {
            let assigned = match &data.assign {
                None => None,
                Some(assign) => {
                    let scope = env.scope(raw).with_error_output(&error_output);
                    let scope_for_jsonpath = env.scope(&error_output);
                    let value = match data.query {
                        sluice_ir::QueryLanguage::JsonPath => {
                            assign.evaluate(&scope_for_jsonpath)?
                        }
                        sluice_ir::QueryLanguage::Jsonata => assign.evaluate(&scope)?,
                    };
                    value.as_object().cloned()
                }
            };
            let output = match (&data.query, &data.output) {
                (sluice_ir::QueryLanguage::Jsonata, Some(output)) => {
                    output.evaluate(&env.scope(raw).with_error_output(&error_output))?
                }
                (sluice_ir::QueryLanguage::Jsonata, None) => error_output.clone(),
                (sluice_ir::QueryLanguage::JsonPath, _) => {
                    data.result_path.combine(raw, error_output.clone())?
                }
            };
            Ok((output, assigned))
        })
        .map_err(|e| self.asl_error(thread, state, &e))
    }

    /// Sets variables in the thread's scope.
    pub(super) fn assign_variables(
        &mut self,
        thread: ThreadId,
        assigned: Option<Map<String, Value>>,
    ) {
        if let (Some(assigned), Some(t)) = (assigned, self.ex.threads.get_mut(&thread)) {
            t.variables.extend(assigned);
        }
    }

    /// The call of an ASL Task state: with its effective input, or for `lambda:invoke` the
    /// function its `FunctionName` names and its `Payload`; within `TimeoutSecondsPath`'s
    /// seconds when it has one.
    fn asl_call_plan(
        &self,
        thread: ThreadId,
        state: &State,
        task: &Task,
        data: &AslData,
        effective: Value,
    ) -> Result<CallPlan, TaskError> {
        let mut plan = CallPlan::of(task, effective);
        let seconds = |value: &AslValue, field: &str| -> Result<Option<u64>, TaskError> {
            let raw = self
                .active(thread)
                .map(|a| a.input.clone())
                .unwrap_or_default();
            match self.asl_value(thread, state, value, &raw, &format!("{field}Path"))? {
                Value::Number(n) if n.as_u64().is_some_and(|s| s >= 1) => Ok(n.as_u64()),
                other => Err(TaskError::new(
                    STATES_RUNTIME,
                    format!(
                        "state {}: the {field} {other} are not a positive integer",
                        state.name
                    ),
                )),
            }
        };
        if let Some(timeout) = &data.timeout {
            plan.timeout_secs = seconds(timeout, "TimeoutSeconds")?;
        }
        if let Some(heartbeat) = &data.heartbeat {
            plan.heartbeat_secs = seconds(heartbeat, "HeartbeatSeconds")?;
        }
        if let TaskTarget::Execution(_) = task.target {
            // Refused before anything starts: the runtime reads the same start from the body.
            NestedStart::of(&plan.input).map_err(|reason| {
                TaskError::new(
                    STATES_RUNTIME,
                    format!("state {}: states:startExecution: {reason}", state.name),
                )
            })?;
        }
        if task.body != Body::LambdaPayload {
            return Ok(plan);
        }
        let mut parameters = match plan.input {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        let name = parameters.get("FunctionName").and_then(Value::as_str);
        let Some(function) = name.and_then(invoked_function) else {
            return Err(TaskError::new(
                STATES_RUNTIME,
                format!(
                    "state {}: lambda:invoke's FunctionName {} is no function name, NAME:QUALIFIER or function ARN",
                    state.name,
                    parameters
                        .get("FunctionName")
                        .cloned()
                        .unwrap_or(Value::Null)
                ),
            ));
        };
        plan.target = TaskTarget::Function(function);
        plan.input = lambda_payload(parameters.remove("Payload"));
        Ok(plan)
    }
}

/// The event `lambda:invoke` sends for its `Payload`: a string is the payload's JSON text
/// itself (`"true"` sends `true`; recorded: `lambda_task_service.invoke_json_values`), no
/// payload or `null` an empty one, which Lambda hands its function as `{}`.
fn lambda_payload(payload: Option<Value>) -> Value {
    match payload {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::String(text)) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        Some(payload) => payload,
    }
}

/// Lambda's answer to `lambda:invoke`, wrapped as the integration returns it.
pub(super) fn lambda_wrapper(payload: Value) -> Value {
    json!({
        "ExecutedVersion": "$LATEST",
        "Payload": payload,
        "SdkHttpMetadata": {
            "HttpHeaders": {"Content-Type": "application/json"},
            "HttpStatusCode": 200,
        },
        "SdkResponseMetadata": {"RequestId": ""},
        "StatusCode": 200,
    })
}

fn rfc3339(millis: i64) -> String {
    jiff::Timestamp::from_millisecond(millis)
        .unwrap_or(jiff::Timestamp::UNIX_EPOCH)
        .to_string()
}

impl Machine<'_> {
    /// Runs the thread's active ASL state with its effective input.
    pub(super) fn run_asl_state(&mut self, thread: ThreadId, state: &State, data: &AslData) {
        // `None`: the effective input is the raw input, which the state already holds.
        let effective = if matches!(state.kind, StateKind::Fail(_)) {
            None
        } else {
            match self.asl_effective_input_or_raw(thread, state, data) {
                Ok(effective) => effective,
                Err(error) => {
                    let outcome = Outcome::Error(error);
                    self.work.push_back(Work::Finish { thread, outcome });
                    return;
                }
            }
        };
        let outcome = match &state.kind {
            StateKind::Pass => match data.result_of(effective) {
                Some(result) => Outcome::Done { result, goto: None },
                None => Outcome::PassInput { goto: None },
            },
            StateKind::Succeed => {
                self.keep_effective_input(thread, effective);
                Outcome::PassInput {
                    goto: Some(Next::End),
                }
            }
            StateKind::Fail(fail) => Outcome::Error(self.asl_fail(thread, state, fail)),
            StateKind::Choice(choice) => {
                let input = effective.as_ref().unwrap_or_else(|| self.raw_input(thread));
                match self.asl_choose(thread, state, choice, input) {
                    Ok(outcome) => {
                        self.keep_effective_input(thread, effective);
                        outcome
                    }
                    Err(error) => Outcome::Error(error),
                }
            }
            StateKind::Wait(wait) => {
                let input = effective.as_ref().unwrap_or_else(|| self.raw_input(thread));
                match self.asl_wait_until(thread, state, wait, input) {
                    Ok(fire_at) => {
                        self.keep_effective_input(thread, effective);
                        let op = self.start_timer(fire_at, TimerPurpose::Wait(thread));
                        self.block(thread, Block::Wait(op));
                        return;
                    }
                    Err(error) => Outcome::Error(error),
                }
            }
            StateKind::Task(task) => {
                let effective = effective.unwrap_or_else(|| self.raw_input(thread).clone());
                let dispatched = self
                    .asl_call_plan(thread, state, task, data, effective)
                    .and_then(|plan| self.dispatch(thread, state, task, plan));
                match dispatched {
                    Ok(()) => return,
                    Err(error) => Outcome::Error(error),
                }
            }
            StateKind::Parallel(parallel) => {
                let effective = effective.unwrap_or_else(|| self.raw_input(thread).clone());
                let inputs = vec![effective; parallel.branches.len()];
                self.fan_out(thread, inputs, 0);
                return;
            }
            StateKind::Map(map) => {
                let effective = effective.unwrap_or_else(|| self.raw_input(thread).clone());
                let started = match &map.distributed {
                    None => self.asl_start_inline_map(thread, state, map, &effective),
                    Some(distributed) => match distributed.reader.as_deref() {
                        Some(reader) => self.read_items(thread, state, reader, &effective),
                        None => self.asl_start_map_run(
                            thread,
                            state,
                            map,
                            distributed,
                            &effective,
                            None,
                        ),
                    },
                };
                match started {
                    Ok(()) => return,
                    Err(error) => Outcome::Error(error),
                }
            }
            StateKind::Dag(_) => Outcome::Error(TaskError::new(
                STATES_RUNTIME,
                "a Dag state has no ASL form",
            )),
        };
        self.work.push_back(Work::Finish { thread, outcome });
    }

    /// A state whose result is its effective input replaces its raw input by it (`None`: they
    /// are the same already).
    fn keep_effective_input(&mut self, thread: ThreadId, effective: Option<Value>) {
        if let Some(effective) = effective {
            self.set_active_input(thread, effective);
        }
    }

    /// Finishes the thread's active ASL state: its output, its variables, its transition.
    pub(super) fn finish_asl(
        &mut self,
        thread: ThreadId,
        state: &State,
        data: &AslData,
        result: Option<Value>,
        goto: Option<Next>,
    ) {
        if let Some(result) = &result {
            self.inspect_result(thread, result);
        }
        let Some(active) = self.active_mut(thread) else {
            return;
        };
        let entered = active.entered;
        // The output is made out of the raw input, which the state gets back if that fails.
        let mut raw = std::mem::take(&mut active.input);
        let mut seen = Seen::new();
        let shaped = self.asl_output(thread, state, data, &mut raw, result, &mut seen);
        self.inspect_stages(thread, seen);
        match shaped {
            Ok(shaped) => {
                self.assign_variables(thread, shaped.assigned);
                let exited =
                    self.exit_state(thread, state, entered, shaped.output, shaped.written, goto);
                // `asl_output` checked the output's size.
                self.measured = Some(Measured { thread, exited });
            }
            Err(error) => {
                self.set_active_input(thread, raw);
                self.recover(thread, state, error);
            }
        }
    }

    fn asl_wait_until(
        &self,
        thread: ThreadId,
        state: &State,
        wait: &Wait,
        input: &Value,
    ) -> Result<Millis, TaskError> {
        let runtime =
            |what: String| TaskError::new(STATES_RUNTIME, format!("state {}: {what}", state.name));
        match wait {
            Wait::SecondsAsl(value) => {
                match self.asl_value(thread, state, value, input, "SecondsPath")? {
                    Value::Number(n) if n.as_u64().is_some() => {
                        let secs = n.as_u64().unwrap_or(0);
                        Ok(self.now.saturating_add(
                            i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX),
                        ))
                    }
                    other => Err(runtime(format!(
                        "the Wait seconds {other} are not a non-negative integer"
                    ))),
                }
            }
            Wait::UntilAsl(value) => {
                let timestamp = self.asl_value(thread, state, value, input, "TimestampPath")?;
                let instant = timestamp
                    .as_str()
                    .filter(|s| is_timestamp(s))
                    .and_then(|s| s.parse::<jiff::Timestamp>().ok());
                match (instant, value) {
                    (Some(instant), _) => Ok(instant.as_millisecond()),
                    (None, AslValue::Path(path)) => {
                        let error = AslError::WaitTimestamp {
                            path: path.text().to_owned(),
                            value: match timestamp {
                                Value::String(s) => s,
                                other => other.to_string(),
                            },
                        };
                        Err(self.asl_error(thread, state, &error))
                    }
                    (None, _) => Err(runtime(format!(
                        "the Wait timestamp {timestamp} is not an RFC 3339 timestamp"
                    ))),
                }
            }
            other => self.wait_until(other, input, &state.name),
        }
    }

    /// The failures a Map tolerates: `literal`, with what its `ToleratedFailureCountPath`,
    /// `ToleratedFailurePercentagePath` or JSONata fields read from `input` in their place.
    fn asl_tolerated(
        &self,
        thread: ThreadId,
        state: &State,
        map: &sluice_ir::Map,
        literal: ToleratedFailures,
        input: &Value,
    ) -> Result<ToleratedFailures, TaskError> {
        let mut tolerated = literal;
        let Some(limits) = map.asl_limits.as_ref() else {
            return Ok(tolerated);
        };
        let fields = [
            ("ToleratedFailureCount", &limits.tolerated_count),
            ("ToleratedFailurePercentage", &limits.tolerated_percentage),
        ];
        for (field, value) in fields {
            let Some(value) = value else { continue };
            let read = self.asl_value(thread, state, value, input, &format!("{field}Path"))?;
            let number = match &read {
                Value::Number(n) => n.as_f64(),
                // AWS reads a number written as a string too (recorded:
                // `MAP_STATE_REFERENCE_IN_TOLERATED_FAILURE_PATH`).
                Value::String(s) => s.trim().parse::<f64>().ok(),
                _ => None,
            };
            let error = match number {
                Some(n) if n < 0.0 => AslError::ToleratedNegative {
                    field: field.to_owned(),
                },
                Some(n) if field == "ToleratedFailurePercentage" && n <= 100.0 => {
                    tolerated.percentage = Some(n);
                    continue;
                }
                Some(n) if field == "ToleratedFailureCount" && n.fract() == 0.0 => {
                    tolerated.count = Some(n.min(f64::from(u32::MAX)) as u32);
                    continue;
                }
                _ => AslError::ToleratedNotNumber {
                    field: field.to_owned(),
                    value: match read {
                        Value::String(s) => s,
                        other => other.to_string(),
                    },
                    path: match value {
                        AslValue::Path(path) => path.text().to_owned(),
                        _ => String::new(),
                    },
                },
            };
            return Err(self.asl_error(thread, state, &error));
        }
        Ok(tolerated)
    }

    /// The inputs of a Map's iterations (its items, through `ItemSelector`) and its
    /// concurrency.
    /// Starts the children of the distributed Map `state` over its items (`read` from a
    /// bucket, else from `input`, its effective input).
    pub(super) fn asl_start_map_run(
        &mut self,
        thread: ThreadId,
        state: &State,
        map: &sluice_ir::Map,
        distributed: &Distributed,
        input: &Value,
        read: Option<Vec<Value>>,
    ) -> Result<(), TaskError> {
        let (inputs, max_concurrency) = self.asl_map_inputs(thread, state, map, input, read)?;
        let tolerated = self.asl_tolerated(thread, state, map, distributed.tolerated, input)?;
        let distributed = Distributed {
            tolerated,
            ..distributed.clone()
        };
        self.start_map_run(thread, inputs, max_concurrency, &distributed);
        Ok(())
    }

    /// Starts the iterations of the INLINE Map `state` over the items of `input`, its
    /// effective input. Its tolerated failures are read, and a value AWS refuses fails the
    /// state as it does a distributed Map's, but they are not applied: an INLINE Map fails
    /// with its first failed iteration
    /// (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html).
    fn asl_start_inline_map(
        &mut self,
        thread: ThreadId,
        state: &State,
        map: &sluice_ir::Map,
        input: &Value,
    ) -> Result<(), TaskError> {
        let (inputs, max_concurrency) = self.asl_map_inputs(thread, state, map, input, None)?;
        self.asl_tolerated(thread, state, map, ToleratedFailures::default(), input)?;
        self.fan_out(thread, inputs, max_concurrency);
        Ok(())
    }

    /// The input of each iteration or child, and the concurrency; the items `read` from a
    /// bucket, else those `ItemsPath` or `Items` selects.
    fn asl_map_inputs(
        &self,
        thread: ThreadId,
        state: &State,
        map: &sluice_ir::Map,
        input: &Value,
        read: Option<Vec<Value>>,
    ) -> Result<(Vec<Value>, u32), TaskError> {
        let items = match (read, &map.items) {
            (Some(items), _) => Value::Array(items),
            (None, Items::Asl(value)) => {
                self.asl_value(thread, state, value, input, "ItemsPath")?
            }
            (None, Items::Expr(_)) => Value::Null,
        };
        let items = match (items, &map.items) {
            (Value::Array(items), _) => items,
            (other, Items::Asl(AslValue::Jsonata(template))) => {
                let expression = template.expression().map_or("", |e| e.source());
                let error = AslError::unexpected_type(expression, "Items", "array", other);
                return Err(self.asl_error(thread, state, &error));
            }
            (other, _)
                if state
                    .asl
                    .as_ref()
                    .is_some_and(|d| d.query == QueryLanguage::Jsonata) =>
            {
                return Err(self.asl_error(thread, state, &AslError::MapInputNotArray(other)));
            }
            (items, _) => {
                return Err(TaskError::new(
                    STATES_RUNTIME,
                    format!(
                        "state {}: the Map items are not an array: {}",
                        state.name,
                        json_type(&items)
                    ),
                ));
            }
        };
        let max_concurrency = match map
            .asl_limits
            .as_ref()
            .and_then(|l| l.max_concurrency.as_ref())
        {
            None => map.max_concurrency,
            Some(value) => {
                match self.asl_value(thread, state, value, input, "MaxConcurrencyPath")? {
                    Value::Number(n) if n.as_u64().is_some() => {
                        u32::try_from(n.as_u64().unwrap_or(0)).unwrap_or(u32::MAX)
                    }
                    // AWS reads a number written as a string too (recorded:
                    // `MAP_STATE_REFERENCE_IN_MAX_CONCURRENCY_PATH`).
                    Value::String(s) if s.parse::<u32>().is_ok() => s.parse().unwrap_or(0),
                    other => {
                        return Err(TaskError::new(
                            STATES_RUNTIME,
                            format!(
                                "state {}: MaxConcurrency {other} is not a non-negative integer",
                                state.name
                            ),
                        ));
                    }
                }
            }
        };
        let ItemInput::Selector(selector) = &map.item_input else {
            return Ok((items, max_concurrency));
        };
        let inputs = items
            .iter()
            .enumerate()
            .map(|(index, item)| {
                let here = AslHere {
                    map_item: Some((index, item)),
                    ..AslHere::default()
                };
                self.with_asl(thread, state, here, |env| {
                    selector.evaluate(&env.scope(input))
                })
                .map_err(|e| self.asl_error(thread, state, &e))
            })
            .collect::<Result<_, _>>()?;
        Ok((inputs, max_concurrency))
    }
}
