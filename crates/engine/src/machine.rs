//! The interpreter: applies one [`Input`] to an [`Execution`].
//!
//! Work inside one `apply` is a queue of small [`Work`] items (enter a state, run it, finish
//! it, start a child, finish a scope) processed until every thread is blocked on something
//! outside the engine (a task, a timer, a callback) or the execution is terminal. The queue
//! keeps long Pass chains and Choice loops iterative, and gives one place to enforce the
//! history limit between items.

mod dag;

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use sluice_ir::{
    Aggregate, Body, Catcher, DataModel, ErrorCode, Flow, ItemInput, Next, ScopeId, State, StateId,
    StateKind, StateName, Task, TaskError, TaskMode, TaskTarget, Template, Wait,
};

use crate::Millis;
use crate::data::{self, Current};
use crate::execution::{
    Active, Block, Execution, Fanout, Op, OpId, Slot, Status, Thread, ThreadId, TimerPurpose,
};
use crate::history::{EventId, EventType, HistoryEvent};
use crate::input::{Input, Rejection};

/// What one `apply` produced: append `events` to the history and perform `effects`, in the
/// same transaction.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Step {
    pub events: Vec<HistoryEvent>,
    pub effects: Vec<Effect>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[expect(
    clippy::large_enum_variant,
    reason = "a step's effects are few and consumed at once: boxing each call would buy nothing"
)]
pub enum Effect {
    /// Call the task; report its answer as [`Input::TaskCompleted`] with `call.op`.
    Dispatch(TaskCall),
    /// Abort the call in flight (close its connection) and invalidate its token.
    CancelTask(OpId),
    /// Report [`Input::TimerFired`] with `op` at `fire_at`.
    StartTimer {
        op: OpId,
        fire_at: Millis,
    },
    CancelTimer(OpId),
    /// The execution reached a terminal status (see [`Execution::status`]).
    Finish(Status),
}

/// One call of a task, as the runtime performs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskCall {
    pub op: OpId,
    pub state: StateName,
    pub target: TaskTarget,
    pub mode: TaskMode,
    pub body: Value,
    /// The task token (callback mode), also visible as `$Context.Current.TaskToken`.
    pub token: Option<String>,
    /// 0 for the first attempt, then the retry count.
    pub attempt: u32,
    pub timeout_secs: Option<u64>,
}

/// Events one work item may append besides the terminal event; the history limit keeps
/// this much room so the terminal event always fits.
const HISTORY_RESERVE: u64 = 8;

impl Execution {
    /// Applies `input` at time `now`. On `Err`, nothing changed.
    pub fn apply(&mut self, flow: &Flow, input: Input, now: Millis) -> Result<Step, Rejection> {
        self.check_accepts(&input)?;
        let mut machine = Machine {
            flow,
            ex: self,
            now,
            step: Step::default(),
            work: VecDeque::new(),
        };
        machine.accept(input)?;
        machine.run();
        Ok(machine.step)
    }

    fn check_accepts(&self, input: &Input) -> Result<(), Rejection> {
        match (self.status, input) {
            (Status::Failed, Input::Retry) if self.retry_point.is_some() => Ok(()),
            (_, Input::Retry) => Err(Rejection::NotRetryable),
            (status, _) if status.is_terminal() => Err(Rejection::AlreadyCompleted),
            (Status::Starting, Input::Start { .. } | Input::Stop { .. }) => Ok(()),
            (Status::Starting, _) => Err(Rejection::NotStarted),
            (_, Input::Start { .. }) => Err(Rejection::AlreadyStarted),
            _ => Ok(()),
        }
    }
}

enum Work {
    Enter {
        thread: ThreadId,
        state: StateId,
    },
    Run {
        thread: ThreadId,
    },
    Finish {
        thread: ThreadId,
        outcome: Outcome,
    },
    StartChild {
        parent: ThreadId,
    },
    ScopeDone {
        thread: ThreadId,
        result: Result<Value, TaskError>,
    },
}

enum Outcome {
    /// The state produced `result`; `goto` overrides its `next` (Choice, Succeed).
    Done {
        result: Value,
        goto: Option<Next>,
    },
    /// Like `Done` with the state's own input as the result (Pass, Succeed, Choice, Wait):
    /// `finish` moves it out of the active state instead of copying it.
    PassInput {
        goto: Option<Next>,
    },
    Error(TaskError),
}

struct Machine<'a> {
    flow: &'a Flow,
    ex: &'a mut Execution,
    now: Millis,
    step: Step,
    work: VecDeque<Work>,
}

/// The variables of one evaluation besides `$Context`.
#[derive(Clone, Copy)]
struct Vars<'v> {
    input: &'v Value,
    output: Option<&'v Value>,
    local: Option<&'v Value>,
    item: Option<&'v Value>,
}

impl<'v> Vars<'v> {
    fn input(input: &'v Value) -> Self {
        Self {
            input,
            output: None,
            local: None,
            item: None,
        }
    }
}

impl Machine<'_> {
    // ---- inputs ------------------------------------------------------------------------

    fn accept(&mut self, input: Input) -> Result<(), Rejection> {
        match input {
            Input::Start { input } => {
                self.start(input);
                Ok(())
            }
            Input::TaskCompleted { op, result } => self.task_completed(op, result),
            Input::CallbackReported { token, result } => {
                let op = self.ex.find_token(&token).ok_or(Rejection::Stale)?;
                if let Some(Op::Task {
                    submitted: false, ..
                }) = self.ex.ops.get(&op)
                {
                    // The callback beat the submitting call's answer: that call is moot.
                    self.step.effects.push(Effect::CancelTask(op));
                }
                self.resolve_task(op, result);
                Ok(())
            }
            Input::TimerFired { op } => self.timer_fired(op),
            Input::Stop { error, cause } => {
                let error = TaskError::new(error.unwrap_or_default(), cause.unwrap_or_default());
                self.terminate(Status::Stopped, EventType::ExecutionStopped, Err(error));
                Ok(())
            }
            Input::Retry => {
                self.retry();
                Ok(())
            }
        }
    }

    /// Re-enters the failed top-level state with the data it was entered with; the
    /// execution runs on as if the failure had not ended it (with a fresh deadline).
    fn retry(&mut self) {
        let Some(point) = self.ex.retry_point.take() else {
            return;
        };
        self.ex.status = Status::Running;
        self.ex.stopped_at = None;
        self.ex.error = None;
        self.ex.output = None;
        let state = self.flow.state(point.state);
        self.emit(
            EventType::ExecutionRetried,
            None,
            Some(state.name.clone()),
            detail("input", point.data.clone()),
        );
        if let Some(timeout) = self.ex.info.limits.execution_timeout_ms {
            let fire_at = self
                .now
                .saturating_add(i64::try_from(timeout).unwrap_or(i64::MAX));
            self.start_timer(fire_at, TimerPurpose::ExecutionDeadline);
        }
        let root = self.spawn(None, ScopeId::ROOT, point.scope_input);
        if let Some(t) = self.ex.threads.get_mut(&root) {
            t.data = point.data;
        }
        self.work.push_back(Work::Enter {
            thread: root,
            state: point.state,
        });
    }

    fn start(&mut self, input: Value) {
        self.ex.status = Status::Running;
        self.ex.started_at = Some(self.now);
        self.emit(
            EventType::ExecutionStarted,
            None,
            None,
            detail("input", input.clone()),
        );
        self.ex.input = Some(input.clone());
        if let Some(timeout) = self.ex.info.limits.execution_timeout_ms {
            let fire_at = self
                .now
                .saturating_add(i64::try_from(timeout).unwrap_or(i64::MAX));
            self.start_timer(fire_at, TimerPurpose::ExecutionDeadline);
        }
        let input = self
            .check_size(&input, "the execution input")
            .and_then(|()| self.root_input(input));
        let input = match input {
            Ok(input) => input,
            Err(e) => {
                self.terminate(Status::Failed, EventType::ExecutionFailed, Err(e));
                return;
            }
        };
        let root = self.spawn(None, ScopeId::ROOT, input);
        self.work.push_back(Work::Enter {
            thread: root,
            state: self.flow.root().start,
        });
    }

    /// The top-level scope's input: the execution input, through the flow's input mappings
    /// (legacy `inputMappings`) if it has them.
    fn root_input(&self, input: Value) -> Result<Value, TaskError> {
        let Some(template) = &self.flow.root().input else {
            return Ok(input);
        };
        let name = StateName::new(self.ex.info.flow_name.as_str());
        self.eval(template, Vars::input(&input), Here::state(&name))
    }

    fn task_completed(
        &mut self,
        op: OpId,
        result: Result<Value, TaskError>,
    ) -> Result<(), Rejection> {
        let Some(Op::Task {
            call,
            submitted,
            scheduled,
            ..
        }) = self.ex.ops.get_mut(&op)
        else {
            return Err(Rejection::Stale);
        };
        if call.mode != TaskMode::WaitForCustomCallback {
            self.resolve_task(op, result);
            return Ok(());
        }
        if *submitted {
            return Err(Rejection::Stale);
        }
        let (state, scheduled) = (call.state.clone(), *scheduled);
        match result {
            Ok(_) => {
                *submitted = true;
                self.emit(
                    EventType::TaskSubmitted,
                    Some(scheduled),
                    Some(state),
                    json!({}),
                );
            }
            Err(error) => {
                let thread = self.remove_task(op);
                self.emit(
                    EventType::TaskSubmitFailed,
                    Some(scheduled),
                    Some(state),
                    error_detail(&error),
                );
                self.work.push_back(Work::Finish {
                    thread,
                    outcome: Outcome::Error(error),
                });
            }
        }
        Ok(())
    }

    fn timer_fired(&mut self, op: OpId) -> Result<(), Rejection> {
        let Some(Op::Timer { purpose, .. }) = self.ex.ops.get(&op) else {
            return Err(Rejection::Stale);
        };
        let purpose = *purpose;
        self.ex.ops.remove(&op);
        match purpose {
            TimerPurpose::Wait(thread) => self.work.push_back(Work::Finish {
                thread,
                outcome: Outcome::PassInput { goto: None },
            }),
            TimerPurpose::Backoff(thread) => self.work.push_back(Work::Run { thread }),
            TimerPurpose::TaskTimeout(task) => {
                if let Some(Op::Task {
                    scheduled, call, ..
                }) = self.ex.ops.get(&task)
                {
                    let (scheduled, state) = (*scheduled, call.state.clone());
                    let thread = self.remove_task(task);
                    self.step.effects.push(Effect::CancelTask(task));
                    let error = TaskError::new(
                        ErrorCode::TIMEOUT,
                        "the task did not complete within its timeout",
                    );
                    self.emit(
                        EventType::TaskTimedOut,
                        Some(scheduled),
                        Some(state),
                        error_detail(&error),
                    );
                    self.work.push_back(Work::Finish {
                        thread,
                        outcome: Outcome::Error(error),
                    });
                }
            }
            TimerPurpose::ExecutionDeadline => {
                let error = TaskError::new(
                    ErrorCode::TIMEOUT,
                    "the execution exceeded its maximum duration",
                );
                self.terminate(Status::TimedOut, EventType::ExecutionTimedOut, Err(error));
            }
        }
        Ok(())
    }

    // ---- the work loop -----------------------------------------------------------------

    fn run(&mut self) {
        while let Some(work) = self.work.pop_front() {
            if self.ex.status.is_terminal() {
                break;
            }
            if self.ex.history_len() + HISTORY_RESERVE > self.ex.info.limits.max_history_events {
                let error = TaskError::new(
                    ErrorCode::EVENT_LIMIT,
                    format!(
                        "the execution reached the limit of {} history events",
                        self.ex.info.limits.max_history_events
                    ),
                );
                self.terminate(Status::Failed, EventType::ExecutionFailed, Err(error));
                break;
            }
            match work {
                Work::Enter { thread, state } => self.enter(thread, state),
                Work::Run { thread } => self.run_state(thread),
                Work::Finish { thread, outcome } => self.finish(thread, outcome),
                Work::StartChild { parent } => self.start_child(parent),
                Work::ScopeDone { thread, result } => self.scope_done(thread, result),
            }
        }
        self.work.clear();
    }

    // ---- states ------------------------------------------------------------------------

    fn enter(&mut self, thread: ThreadId, state_id: StateId) {
        let state = self.flow.state(state_id);
        let (input, next) = match self.state_input(thread, state) {
            Ok(input) => (input, Work::Run { thread }),
            Err(error) => {
                let outcome = Outcome::Error(error);
                (Value::Null, Work::Finish { thread, outcome })
            }
        };
        let entered = self.emit(
            EventType::StepEntered,
            None,
            Some(state.name.clone()),
            detail("input", input.clone()),
        );
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

    /// Computes the input of `state` from the thread's data (InputConstructor / mappings).
    fn state_input(&mut self, thread: ThreadId, state: &State) -> Result<Value, TaskError> {
        let Some(t) = self.ex.threads.get(&thread) else {
            return Ok(Value::Null);
        };
        let input = match (self.flow.scope(t.scope).data, &state.input) {
            // Pipe data is the next state's input and nothing else: nothing reads it again
            // before the state advances and replaces it, so it moves instead of being copied.
            (DataModel::Pipe, None) => self.take_data(thread),
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
        Ok(input)
    }

    fn take_data(&mut self, thread: ThreadId) -> Value {
        self.ex
            .threads
            .get_mut(&thread)
            .map(|t| std::mem::take(&mut t.data))
            .unwrap_or_default()
    }

    /// Performs the action of the thread's active state (again, after a retry backoff).
    fn run_state(&mut self, thread: ThreadId) {
        let Some(active) = self.active(thread) else {
            return;
        };
        let state = self.flow.state(active.state);
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
            StateKind::Task(task) => match self.dispatch(thread, state, task, input.clone()) {
                Ok(()) => return,
                Err(error) => Outcome::Error(error),
            },
            StateKind::Parallel(parallel) => {
                let inputs = vec![input.clone(); parallel.branches.len()];
                self.fan_out(thread, inputs, 0);
                return;
            }
            StateKind::Map(map) => match self.map_inputs(map, input, &state.name) {
                Ok(inputs) => {
                    self.fan_out(thread, inputs, map.max_concurrency);
                    return;
                }
                Err(error) => Outcome::Error(error),
            },
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
            let value = self.eval_expr(&branch.condition, Vars::input(input), name)?;
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
        Ok(choice.default)
    }

    fn wait_until(
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
        }
    }

    fn dispatch(
        &mut self,
        thread: ThreadId,
        state: &State,
        task: &Task,
        input: Value,
    ) -> Result<(), TaskError> {
        let op = self.next_op();
        let token = (task.mode == TaskMode::WaitForCustomCallback)
            .then(|| format!("{}{}", self.ex.info.token_prefix, op.0));
        let attempt = self.active(thread).map_or(0, |a| a.retry_count);
        let body = match &task.body {
            Body::StateInput => input,
            Body::Template(template) => {
                let here = Here {
                    retry_count: attempt,
                    token: token.as_deref(),
                    ..Here::state(&state.name)
                };
                self.eval(template, Vars::input(&input), here)?
            }
        };
        self.check_size(&body, "the task input")?;
        let call = TaskCall {
            op,
            state: state.name.clone(),
            target: task.target.clone(),
            mode: task.mode,
            body,
            token,
            attempt,
            timeout_secs: task.timeout_secs,
        };
        let mut detail = Map::with_capacity(2);
        detail.insert("resource".into(), target_name(&task.target).into());
        detail.insert("input".into(), call.body.clone());
        let detail = Value::Object(detail);
        let scheduled = self.emit(
            EventType::TaskScheduled,
            None,
            Some(state.name.clone()),
            detail,
        );
        self.emit(
            EventType::TaskStarted,
            Some(scheduled),
            Some(state.name.clone()),
            json!({}),
        );
        let timeout = task.timeout_secs.map(|secs| {
            let fire_at = self
                .now
                .saturating_add(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX));
            self.start_timer(fire_at, TimerPurpose::TaskTimeout(op))
        });
        self.step.effects.push(Effect::Dispatch(call.clone()));
        self.ex.ops.insert(
            op,
            Op::Task {
                thread,
                scheduled,
                call: Box::new(call),
                submitted: false,
                timeout,
            },
        );
        self.block(thread, Block::Task(op));
        Ok(())
    }

    /// A task answered (or its callback arrived): record it and finish its state.
    fn resolve_task(&mut self, op: OpId, result: Result<Value, TaskError>) {
        let Some(Op::Task {
            scheduled, call, ..
        }) = self.ex.ops.get(&op)
        else {
            return;
        };
        let (scheduled, state) = (*scheduled, call.state.clone());
        let thread = self.remove_task(op);
        let result = result.and_then(|v| self.check_size(&v, "the task output").map(|()| v));
        let outcome = match result {
            Ok(output) => {
                self.emit(
                    EventType::TaskSucceeded,
                    Some(scheduled),
                    Some(state),
                    detail("output", output.clone()),
                );
                Outcome::Done {
                    result: output,
                    goto: None,
                }
            }
            Err(error) => {
                self.emit(
                    EventType::TaskFailed,
                    Some(scheduled),
                    Some(state),
                    error_detail(&error),
                );
                Outcome::Error(error)
            }
        };
        self.work.push_back(Work::Finish { thread, outcome });
    }

    /// Forgets a task op and its timeout timer; returns the waiting thread.
    fn remove_task(&mut self, op: OpId) -> ThreadId {
        match self.ex.ops.remove(&op) {
            Some(Op::Task {
                thread, timeout, ..
            }) => {
                // When the timeout itself fired, its timer is already gone: cancelling it
                // would name an op the runtime no longer has.
                if let Some(timer) = timeout
                    && self.ex.ops.remove(&timer).is_some()
                {
                    self.step.effects.push(Effect::CancelTimer(timer));
                }
                thread
            }
            _ => ThreadId(u32::MAX),
        }
    }

    fn map_inputs(
        &self,
        map: &sluice_ir::Map,
        input: &Value,
        name: &StateName,
    ) -> Result<Vec<Value>, TaskError> {
        let items = match self.eval_expr(&map.items, Vars::input(input), name)? {
            Value::Array(items) => items,
            other => {
                return Err(TaskError::new(
                    ErrorCode::INVALID_INPUT,
                    format!(
                        "state {name}: the Map items are {}, not an array",
                        kind_of(&other)
                    ),
                ));
            }
        };
        items
            .into_iter()
            .enumerate()
            .map(|(index, item)| match &map.item_input {
                ItemInput::Item => Ok(item),
                ItemInput::Constructor(template) => {
                    let vars = Vars {
                        item: Some(&item),
                        ..Vars::input(input)
                    };
                    self.eval(template, vars, Here::state(name))
                }
                ItemInput::Merge {
                    item: key,
                    index: index_key,
                } => {
                    let mut obj = match input {
                        Value::Object(m) => m.clone(),
                        _ => Map::new(),
                    };
                    obj.insert(key.clone(), item);
                    if let Some(k) = index_key {
                        obj.insert(k.clone(), index.into());
                    }
                    Ok(Value::Object(obj))
                }
            })
            .collect()
    }

    /// Finishes the thread's active state: output processing and transition, or recovery.
    fn finish(&mut self, thread: ThreadId, outcome: Outcome) {
        let Some(active) = self.active(thread) else {
            return;
        };
        let state = self.flow.state(active.state);
        let entered = active.entered;
        let (result, goto) = match outcome {
            Outcome::Done { result, goto } => (Some(result), goto),
            Outcome::PassInput { goto } => (None, goto),
            Outcome::Error(error) => {
                self.recover(thread, state, error);
                return;
            }
        };
        let output = match &state.output {
            Some(template) => self.shape_output(thread, state, template, result.as_ref()),
            // The state is done with its input: it can move on as the output.
            None => Ok(result.unwrap_or_else(|| self.take_input(thread))),
        };
        match output {
            Ok(output) => {
                self.emit(
                    EventType::StepExited,
                    Some(entered),
                    Some(state.name.clone()),
                    detail("output", output.clone()),
                );
                self.advance(thread, output, goto.unwrap_or(state.next));
            }
            Err(error) => self.recover(thread, state, error),
        }
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

    fn take_input(&mut self, thread: ThreadId) -> Value {
        self.active_mut(thread)
            .map(|a| std::mem::take(&mut a.input))
            .unwrap_or_default()
    }

    /// Retry, then Catch, then fail the scope.
    fn recover(&mut self, thread: ThreadId, state: &State, error: TaskError) {
        if let Some(recovery) = state.kind.recovery() {
            let retrier = recovery
                .retry
                .iter()
                .enumerate()
                .find(|(_, r)| r.errors.iter().any(|p| error.code.matches(p)));
            if let Some((index, retrier)) = retrier
                && let Some(active) = self.active_mut(thread)
                && let Some(used) = active.retries.get_mut(index)
                && *used < retrier.max_attempts
            {
                *used += 1;
                let delay = retrier.delay_ms(*used);
                active.retry_count += 1;
                let fire_at = self
                    .now
                    .saturating_add(i64::try_from(delay).unwrap_or(i64::MAX));
                let op = self.start_timer(fire_at, TimerPurpose::Backoff(thread));
                self.block(thread, Block::Backoff(op));
                return;
            }
            if let Some(catcher) = recovery
                .catch
                .iter()
                .find(|c| c.errors.iter().any(|p| error.code.matches(p)))
            {
                let value = self.catch_value(thread, state, catcher, &error);
                let entered = self.active(thread).map(|a| a.entered);
                self.emit(
                    EventType::StepFailed,
                    entered,
                    Some(state.name.clone()),
                    error_detail(&error),
                );
                match value {
                    Ok(value) => self.advance(thread, value, Next::State(catcher.next)),
                    Err(error) => self.fail_scope(thread, error),
                }
                return;
            }
        }
        let entered = self.active(thread).map(|a| a.entered);
        self.emit(
            EventType::StepFailed,
            entered,
            Some(state.name.clone()),
            error_detail(&error),
        );
        self.remember_retry_point(thread, state);
        self.fail_scope(thread, error);
    }

    /// A top-level state failing fails the execution: remember where a retry resumes.
    fn remember_retry_point(&mut self, thread: ThreadId, state: &State) {
        let Some(t) = self.ex.threads.get(&thread) else {
            return;
        };
        let Some(state_id) = t.at.as_ref().map(|a| a.state) else {
            return;
        };
        if t.parent.is_some() {
            return;
        }
        let data = match (self.flow.scope(t.scope).data, &state.input, &t.at) {
            // The pipe data moved into the state's input (see `state_input`).
            (DataModel::Pipe, None, Some(active)) => active.input.clone(),
            _ => t.data.clone(),
        };
        let point = crate::execution::RetryPoint {
            state: state_id,
            scope_input: t.scope_input.clone(),
            data,
        };
        self.ex.retry_point = Some(point);
    }

    fn catch_value(
        &self,
        thread: ThreadId,
        state: &State,
        catcher: &Catcher,
        error: &TaskError,
    ) -> Result<Value, TaskError> {
        let legacy = self
            .ex
            .threads
            .get(&thread)
            .map(|t| self.flow.scope(t.scope).data)
            == Some(DataModel::Merge);
        let default = if legacy {
            data::legacy_error_value(error)
        } else {
            error.to_value()
        };
        let Some(template) = &catcher.output else {
            return Ok(default);
        };
        let input = self
            .active(thread)
            .map(|a| a.input.clone())
            .unwrap_or_default();
        let vars = Vars {
            local: Some(&default),
            ..Vars::input(&input)
        };
        self.eval(
            template,
            vars,
            Here {
                error: Some(error),
                ..Here::state(&state.name)
            },
        )
    }

    /// Moves the thread past its state: its data takes `output`, then `next` runs.
    fn advance(&mut self, thread: ThreadId, output: Value, next: Next) {
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

    fn fail_scope(&mut self, thread: ThreadId, error: TaskError) {
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

    // ---- Parallel and Map --------------------------------------------------------------

    fn fan_out(&mut self, thread: ThreadId, inputs: Vec<Value>, max_concurrency: u32) {
        if inputs.is_empty() {
            let result = self.aggregate(thread, Vec::new());
            self.work.push_back(Work::Finish {
                thread,
                outcome: Outcome::Done { result, goto: None },
            });
            return;
        }
        let fanout = Fanout {
            results: vec![None; inputs.len()],
            pending: inputs,
            next_index: 0,
            running: Default::default(),
            max_concurrency,
        };
        self.block(thread, Block::Fanout(fanout));
        self.work.push_back(Work::StartChild { parent: thread });
    }

    /// Starts the next branch or iteration of `parent`, if its concurrency allows.
    fn start_child(&mut self, parent: ThreadId) {
        let Some(active) = self.active_mut(parent) else {
            return;
        };
        let state_id = active.state;
        let fan = match &mut active.block {
            Block::Fanout(fan) => fan,
            Block::Dag(_) => return self.start_dag_node(parent),
            _ => return,
        };
        let index = fan.next_index;
        let at_capacity =
            fan.max_concurrency > 0 && fan.running.len() >= fan.max_concurrency as usize;
        if at_capacity || index as usize >= fan.pending.len() {
            return;
        }
        let input = std::mem::take(&mut fan.pending[index as usize]);
        fan.next_index += 1;
        let more = (fan.next_index as usize) < fan.pending.len();
        let state = self.flow.state(state_id);
        let (scope, entered) = match &state.kind {
            StateKind::Parallel(p) => (p.branches[index as usize], EventType::BranchEntered),
            StateKind::Map(m) => (m.processor, EventType::IterationEntered),
            _ => return,
        };
        let child = self.spawn(
            Some(Slot {
                thread: parent,
                index,
            }),
            scope,
            input,
        );
        if let Some(Block::Fanout(fan)) = self.active_mut(parent).map(|a| &mut a.block) {
            fan.running.insert(index, child);
        }
        self.emit(
            entered,
            None,
            Some(state.name.clone()),
            detail("index", index.into()),
        );
        self.work.push_back(Work::Enter {
            thread: child,
            state: self.flow.scope(scope).start,
        });
        if more {
            self.work.push_back(Work::StartChild { parent });
        }
    }

    fn scope_done(&mut self, thread: ThreadId, result: Result<Value, TaskError>) {
        let Some(t) = self.ex.threads.remove(&thread) else {
            return;
        };
        let Some(slot) = t.parent else {
            match result {
                Ok(output) => {
                    self.terminate(Status::Succeeded, EventType::ExecutionSucceeded, Ok(output))
                }
                Err(error) => {
                    self.terminate(Status::Failed, EventType::ExecutionFailed, Err(error))
                }
            }
            return;
        };
        let Some(active) = self.active(slot.thread) else {
            return;
        };
        let state = self.flow.state(active.state);
        if let StateKind::Dag(_) = state.kind {
            return self.dag_node_done(slot, result);
        }
        let exited = if matches!(state.kind, StateKind::Parallel(_)) {
            EventType::BranchExited
        } else {
            EventType::IterationExited
        };
        self.emit(
            exited,
            None,
            Some(state.name.clone()),
            detail("index", slot.index.into()),
        );
        match result {
            Err(error) => {
                self.abort_children(slot.thread);
                self.work.push_back(Work::Finish {
                    thread: slot.thread,
                    outcome: Outcome::Error(error),
                });
            }
            Ok(output) => {
                let Some(Block::Fanout(fan)) = self.active_mut(slot.thread).map(|a| &mut a.block)
                else {
                    return;
                };
                fan.running.remove(&slot.index);
                if let Some(r) = fan.results.get_mut(slot.index as usize) {
                    *r = Some(output);
                }
                let waiting = (fan.next_index as usize) < fan.pending.len();
                if waiting && fan.max_concurrency > 0 {
                    // A bounded fan-out stops starting children at capacity: the freed slot
                    // restarts it. Unbounded, its `StartChild` chain is still running.
                    self.work.push_back(Work::StartChild {
                        parent: slot.thread,
                    });
                } else if !waiting && fan.running.is_empty() {
                    let results = std::mem::take(&mut fan.results)
                        .into_iter()
                        .map(Option::unwrap_or_default)
                        .collect();
                    let result = self.aggregate(slot.thread, results);
                    let outcome = match self.check_size(&result, "the aggregated output") {
                        Ok(()) => Outcome::Done { result, goto: None },
                        Err(error) => Outcome::Error(error),
                    };
                    self.work.push_back(Work::Finish {
                        thread: slot.thread,
                        outcome,
                    });
                }
            }
        }
    }

    fn aggregate(&self, thread: ThreadId, results: Vec<Value>) -> Value {
        let kind = self.active(thread).map(|a| &self.flow.state(a.state).kind);
        let how = match kind {
            Some(StateKind::Parallel(p)) => p.result,
            Some(StateKind::Map(m)) => m.result,
            _ => Aggregate::Array,
        };
        match how {
            Aggregate::Array => Value::Array(results),
            Aggregate::ItemsField => detail("Items", Value::Array(results)),
            Aggregate::BranchKeys => Value::Object(
                results
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (format!("Branch{i}"), v))
                    .collect(),
            ),
        }
    }

    /// Aborts every running child of `parent` (recursively): their tasks are cancelled and
    /// their timers dropped.
    fn abort_children(&mut self, parent: ThreadId) {
        let Some(Block::Fanout(fan)) = self.active_mut(parent).map(|a| &mut a.block) else {
            return;
        };
        let children: Vec<ThreadId> = std::mem::take(&mut fan.running).into_values().collect();
        fan.pending.clear();
        for child in children {
            self.abort_thread(child);
        }
    }

    fn abort_thread(&mut self, thread: ThreadId) {
        if let Some(active) = self.active_mut(thread) {
            let state = active.state;
            match std::mem::replace(&mut active.block, Block::None) {
                Block::Task(op) => {
                    self.remove_task(op);
                    self.step.effects.push(Effect::CancelTask(op));
                }
                Block::Wait(op) | Block::Backoff(op) => {
                    self.ex.ops.remove(&op);
                    self.step.effects.push(Effect::CancelTimer(op));
                }
                Block::Fanout(fan) => {
                    for child in fan.running.into_values() {
                        self.abort_thread(child);
                    }
                }
                Block::Dag(run) => {
                    self.close_dag(state, run);
                }
                Block::None => {}
            }
        }
        self.ex.threads.remove(&thread);
        self.work.retain(|w| work_thread(w) != Some(thread));
    }

    // ---- the end -----------------------------------------------------------------------

    /// Ends the execution: every outstanding task is cancelled and every timer dropped in this
    /// same step, and the terminal event is the last event.
    fn terminate(&mut self, status: Status, kind: EventType, result: Result<Value, TaskError>) {
        for (op, pending) in std::mem::take(&mut self.ex.ops) {
            self.step.effects.push(match pending {
                Op::Task { .. } => Effect::CancelTask(op),
                Op::Timer { .. } => Effect::CancelTimer(op),
            });
        }
        self.record_running_dags();
        self.ex.threads.clear();
        self.work.clear();
        let detail = match &result {
            Ok(output) => detail("output", output.clone()),
            Err(error) => error_detail(error),
        };
        self.emit(kind, None, None, detail);
        match result {
            Ok(output) => self.ex.output = Some(output),
            Err(error) => self.ex.error = Some(error),
        }
        self.ex.status = status;
        self.ex.stopped_at = Some(self.now);
        self.step.effects.push(Effect::Finish(status));
    }

    /// The execution ends with Dag states still running: keep their node statuses (running
    /// nodes cut short, waiting ones skipped) for reports after the end.
    fn record_running_dags(&mut self) {
        let ended: Vec<_> = self
            .ex
            .threads
            .values()
            .filter_map(|t| match t.at.as_ref() {
                Some(Active {
                    state,
                    block: Block::Dag(run),
                    ..
                }) => Some((*state, run.ended())),
                _ => None,
            })
            .collect();
        self.ex.dag_runs.extend(ended);
    }

    // ---- helpers -----------------------------------------------------------------------

    fn emit(
        &mut self,
        kind: EventType,
        schedule: Option<EventId>,
        step: Option<StateName>,
        detail: Value,
    ) -> EventId {
        let id = EventId(self.ex.next_event);
        self.ex.next_event += 1;
        self.step.events.push(HistoryEvent {
            id,
            schedule_id: schedule,
            step,
            time: self.now,
            kind,
            detail,
        });
        id
    }

    fn next_op(&mut self) -> OpId {
        let op = OpId(self.ex.next_op);
        self.ex.next_op += 1;
        op
    }

    fn start_timer(&mut self, fire_at: Millis, purpose: TimerPurpose) -> OpId {
        let op = self.next_op();
        self.ex.ops.insert(op, Op::Timer { fire_at, purpose });
        self.step.effects.push(Effect::StartTimer { op, fire_at });
        op
    }

    fn spawn(&mut self, parent: Option<Slot>, scope: ScopeId, input: Value) -> ThreadId {
        let id = ThreadId(self.ex.next_thread);
        self.ex.next_thread += 1;
        let data = match self.flow.scope(scope).data {
            DataModel::Pipe => input.clone(),
            DataModel::Merge => Value::Object(Map::new()),
        };
        self.ex.threads.insert(
            id,
            Box::new(Thread {
                parent,
                scope,
                scope_input: input,
                data,
                at: None,
            }),
        );
        id
    }

    fn block(&mut self, thread: ThreadId, block: Block) {
        if let Some(active) = self.active_mut(thread) {
            active.block = block;
        }
    }

    fn active(&self, thread: ThreadId) -> Option<&Active> {
        self.ex.threads.get(&thread)?.at.as_ref()
    }

    fn active_mut(&mut self, thread: ThreadId) -> Option<&mut Active> {
        self.ex.threads.get_mut(&thread)?.at.as_mut()
    }

    fn check_size(&self, value: &Value, what: &str) -> Result<(), TaskError> {
        let limit = self.ex.info.limits.max_payload_bytes;
        let size = data::json_size(value);
        if size > limit {
            return Err(TaskError::new(
                ErrorCode::PAYLOAD_TOO_LARGE,
                format!("{what} is {size} bytes, more than the limit of {limit} bytes"),
            ));
        }
        Ok(())
    }

    fn eval_expr(
        &self,
        expr: &sluice_ir::Expr,
        vars: Vars<'_>,
        name: &StateName,
    ) -> Result<Value, TaskError> {
        self.evaluate(vars, Here::state(name), |env| expr.eval(env))
    }

    fn eval(
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
        let empty = Value::Object(Map::new());
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
        env.global = Some(&empty);
        eval(&env).map_err(|e| TaskError::new(ErrorCode::EXPRESSION, format!("state {name}: {e}")))
    }
}

/// What `$Context.Current` says about the state being evaluated.
#[derive(Clone, Copy)]
struct Here<'v> {
    name: &'v StateName,
    output: Option<&'v Value>,
    error: Option<&'v TaskError>,
    retry_count: u32,
    token: Option<&'v str>,
}

impl<'v> Here<'v> {
    fn state(name: &'v StateName) -> Self {
        Self {
            name,
            output: None,
            error: None,
            retry_count: 0,
            token: None,
        }
    }
}

fn work_thread(work: &Work) -> Option<ThreadId> {
    match work {
        Work::Enter { thread, .. }
        | Work::Run { thread }
        | Work::Finish { thread, .. }
        | Work::ScopeDone { thread, .. } => Some(*thread),
        Work::StartChild { parent } => Some(*parent),
    }
}

/// A one-field object such as an event's `{"output": …}`. Built by hand: `json!` would copy
/// the value through the serializer, which costs more than the clone callers avoid.
fn detail(key: &str, value: Value) -> Value {
    let mut map = Map::with_capacity(1);
    map.insert(key.to_owned(), value);
    Value::Object(map)
}

fn error_detail(error: &TaskError) -> Value {
    json!({ "error": error.code.as_str(), "cause": error.detail })
}

fn target_name(target: &TaskTarget) -> String {
    match target {
        TaskTarget::Function(f) => match &f.qualifier {
            Some(q) => format!(
                "acs:fc:::services/{}.{}/functions/{}",
                f.service, q, f.function
            ),
            None => format!("acs:fc:::services/{}/functions/{}", f.service, f.function),
        },
        TaskTarget::Action(name) => name.clone(),
    }
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
