//! Task states: the call dispatched, its answer (or callback, or timeout) resolved.

use serde_json::{Map, Value, json};
use sluice_ir::expr::asl::STATES_RUNTIME;
use sluice_ir::nested::{NestedEnd, NestedStart};
use sluice_ir::{
    Body, NestedWait, State, StateKind, StateName, Task, TaskError, TaskMode, TaskTarget, actions,
};

use super::{Here, Machine, Outcome, Vars, Work, error_detail};
use crate::execution::{Block, Op, OpId, ThreadId, TimerPurpose};
use crate::history::{Detail, EventId, EventType};
use crate::input::Rejection;
use crate::step::Effect;
use crate::task_call::TaskCall;

/// One call of a Task state: what it calls, within which time, with which input (the
/// state's own, or what an ASL state read from its input when it ran).
pub(super) struct CallPlan {
    pub target: TaskTarget,
    pub timeout_secs: Option<u64>,
    pub heartbeat_secs: Option<u64>,
    pub input: Value,
}

impl CallPlan {
    /// The call the task's definition names, with `input`.
    pub fn of(task: &Task, input: Value) -> Self {
        CallPlan {
            target: task.target.clone(),
            timeout_secs: task.timeout_secs,
            heartbeat_secs: task.heartbeat_secs,
            input,
        }
    }
}

impl Machine<'_> {
    /// The token of a callback task's call `op`.
    pub(super) fn task_token(&self, task: &Task, op: OpId) -> Option<String> {
        (task.mode == TaskMode::WaitForCustomCallback)
            .then(|| format!("{}{}", self.ex.info.token_prefix, op.0))
    }

    pub(super) fn dispatch(
        &mut self,
        thread: ThreadId,
        state: &State,
        task: &Task,
        plan: CallPlan,
    ) -> Result<(), TaskError> {
        let CallPlan {
            target,
            timeout_secs,
            heartbeat_secs,
            input,
        } = plan;
        let op = self.next_op();
        let token = self.task_token(task, op);
        let attempt = self.active(thread).map_or(0, |a| a.retry_count);
        let body = match &task.body {
            // An ASL state's body was taken from its effective input.
            Body::StateInput | Body::LambdaPayload => input,
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
            target,
            mode: task.mode,
            body,
            token,
            attempt,
            timeout_secs,
            heartbeat_secs,
        };
        // An activity's task starts when a worker takes it (`Input::ActivityTaken`).
        let activity = call.activity().is_some();
        let mut detail = Map::with_capacity(4);
        detail.insert("resource".into(), task.resource.as_str().into());
        detail.insert("input".into(), call.body.clone());
        // What a worker is given to finish in (AWS's `ActivityScheduled` shows both).
        if let (true, Some(secs)) = (activity, timeout_secs) {
            detail.insert("timeoutInSeconds".into(), secs.into());
        }
        if let Some(secs) = heartbeat_secs {
            detail.insert("heartbeatInSeconds".into(), secs.into());
        }
        let detail = Value::Object(detail);
        let scheduled = self.emit(
            EventType::TaskScheduled,
            None,
            Some(state.name.clone()),
            detail,
        );
        if !activity {
            self.emit(
                EventType::TaskStarted,
                Some(scheduled),
                Some(state.name.clone()),
                json!({}),
            );
        }
        let timeout =
            timeout_secs.map(|secs| self.start_timer_in(secs, TimerPurpose::TaskTimeout(op)));
        let heartbeat = heartbeat_secs
            .filter(|_| !activity)
            .map(|secs| self.start_timer_in(secs, TimerPurpose::Heartbeat(op)));
        self.await_call(thread, scheduled, call, timeout, heartbeat);
        Ok(())
    }

    /// Sends `call` and blocks `thread` on it, with its timeout and heartbeat timers.
    pub(super) fn await_call(
        &mut self,
        thread: ThreadId,
        scheduled: EventId,
        call: TaskCall,
        timeout: Option<OpId>,
        heartbeat: Option<OpId>,
    ) {
        let op = call.op;
        self.step.effects.push(Effect::Dispatch(call.clone()));
        self.ex.ops.insert(
            op,
            Op::Task {
                thread,
                scheduled,
                call: Box::new(call),
                submitted: false,
                timeout,
                heartbeat,
            },
        );
        self.block(thread, Block::Task(op));
    }

    /// A timer firing `secs` seconds from now.
    fn start_timer_in(&mut self, secs: u64, purpose: TimerPurpose) -> OpId {
        let fire_at = self
            .now
            .saturating_add(i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX));
        self.start_timer(fire_at, purpose)
    }

    /// A worker took activity task `op`: it is started (`TaskStarted` with the worker's
    /// name), and its heartbeat period begins. `Stale` unless `op` is an activity's task no
    /// worker has taken.
    pub(super) fn activity_taken(
        &mut self,
        op: OpId,
        worker: Option<String>,
    ) -> Result<(), Rejection> {
        let Some(Op::Task {
            call,
            submitted: submitted @ false,
            scheduled,
            ..
        }) = self.ex.ops.get_mut(&op)
        else {
            return Err(Rejection::Stale);
        };
        if call.activity().is_none() {
            return Err(Rejection::Stale);
        }
        *submitted = true;
        let (state, scheduled, heartbeat_secs) =
            (call.state.clone(), *scheduled, call.heartbeat_secs);
        self.emit(
            EventType::TaskStarted,
            Some(scheduled),
            Some(state),
            worker.map_or_else(|| json!({}), |worker| json!({ "workerName": worker })),
        );
        if let Some(secs) = heartbeat_secs {
            let timer = self.start_timer_in(secs, TimerPurpose::Heartbeat(op));
            if let Some(Op::Task { heartbeat, .. }) = self.ex.ops.get_mut(&op) {
                *heartbeat = Some(timer);
            }
        }
        Ok(())
    }

    /// A heartbeat of the task of `token`: its heartbeat timer starts over. `Stale` if no
    /// task waits for that token.
    pub(super) fn heartbeat(&mut self, token: &str) -> Result<(), Rejection> {
        let op = self.ex.find_token(token).ok_or(Rejection::Stale)?;
        let Some(Op::Task {
            call, heartbeat, ..
        }) = self.ex.ops.get(&op)
        else {
            return Err(Rejection::Stale);
        };
        let (Some(old), Some(secs)) = (*heartbeat, call.heartbeat_secs) else {
            return Ok(());
        };
        if self.ex.ops.remove(&old).is_some() {
            self.step.effects.push(Effect::CancelTimer(old));
        }
        let timer = self.start_timer_in(secs, TimerPurpose::Heartbeat(op));
        if let Some(Op::Task { heartbeat, .. }) = self.ex.ops.get_mut(&op) {
            *heartbeat = Some(timer);
        }
        Ok(())
    }

    /// A task answered (or its callback arrived): record it and finish its state.
    pub(super) fn resolve_task(&mut self, op: OpId, result: Result<Value, TaskError>) {
        self.resolve_task_as(op, result, Answer::Called);
    }

    /// Task `op` ended in `result`, which is a call's answer or the state's result as given.
    pub(super) fn resolve_task_as(
        &mut self,
        op: OpId,
        result: Result<Value, TaskError>,
        answer: Answer,
    ) {
        let Some(task) = self.remove_task(op) else {
            return;
        };
        if let TaskTarget::Action(action) = &task.target
            && matches!(
                action.as_str(),
                actions::READ_ITEMS | actions::WRITE_RESULTS
            )
        {
            let action = action.clone();
            return self.object_action_done(task, &action, result);
        }
        // A started execution is reported as `NestedEnd`, the task's result AWS's shape of it.
        let result = match &task.target {
            TaskTarget::Execution(wait) => {
                result.and_then(|v| nested_result(&task.body, &v, *wait))
            }
            _ => result,
        };
        // A `lambda:invoke` answer is wrapped as AWS's Invoke answers; a callback's report is
        // the worker's output as sent.
        let lambda = self
            .active(task.thread)
            .and_then(|a| lambda_task(self.flow.state(a.state)));
        let lambda_invoke = lambda == Some(LambdaTask::Invoke) && answer == Answer::Called;
        let result = result
            .map_err(|error| match lambda {
                Some(kind) => kind.with_cause(error),
                None => error,
            })
            .map(|v| {
                if lambda_invoke {
                    super::asl::lambda_wrapper(v)
                } else {
                    v
                }
            })
            .and_then(|v| self.check_size(&v, "the task output").map(|()| v));
        match result {
            Ok(output) => {
                self.emit(
                    EventType::TaskSucceeded,
                    Some(task.scheduled),
                    Some(task.state),
                    Detail::of("output", &output),
                );
                self.work.push_back(Work::Finish {
                    thread: task.thread,
                    outcome: Outcome::Done {
                        result: output,
                        goto: None,
                    },
                });
            }
            Err(error) => self.task_failed(task, EventType::TaskFailed, error),
        }
    }

    /// Task `task`, removed, ended in `error`: its event `kind` is recorded, and its state
    /// fails (to retry, catch, or fail its scope).
    pub(super) fn task_failed(&mut self, task: RemovedTask, kind: EventType, error: TaskError) {
        self.emit(
            kind,
            Some(task.scheduled),
            Some(task.state),
            error_detail(&error),
        );
        self.work.push_back(Work::Finish {
            thread: task.thread,
            outcome: Outcome::Error(error),
        });
    }

    /// Forgets task `op` and its timeout timer; `None` if `op` is no task of the execution.
    pub(super) fn remove_task(&mut self, op: OpId) -> Option<RemovedTask> {
        if !matches!(self.ex.ops.get(&op), Some(Op::Task { .. })) {
            return None;
        }
        let Some(Op::Task {
            thread,
            scheduled,
            call,
            timeout,
            heartbeat,
            ..
        }) = self.ex.ops.remove(&op)
        else {
            return None;
        };
        // When a timeout itself fired, its timer is already gone: cancelling it would name
        // an op the runtime no longer has.
        for timer in timeout.into_iter().chain(heartbeat) {
            if self.ex.ops.remove(&timer).is_some() {
                self.step.effects.push(Effect::CancelTimer(timer));
            }
        }
        let call = *call;
        Some(RemovedTask {
            thread,
            scheduled,
            state: call.state,
            target: call.target,
            body: call.body,
        })
    }
}

/// What a task's result is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Answer {
    /// A call's answer, shaped as its state's kind of call is (a `lambda:invoke`'s wrapped).
    Called,
    /// The state's result as given (a mock's).
    Given,
}

/// A task taken out of the execution: where its result goes and what its events name.
pub(super) struct RemovedTask {
    /// The thread waiting in the task's state.
    pub thread: ThreadId,
    /// Its `TaskScheduled` event.
    pub scheduled: EventId,
    pub state: StateName,
    pub target: TaskTarget,
    /// What it was called with.
    pub body: Value,
}

/// For a task that waits for the execution it started, a report that the execution started
/// (not ended): the `TaskSubmitted` event's output, AWS's `StartExecution` answer.
pub(super) fn nested_submission(
    call: &TaskCall,
    result: &Result<Value, TaskError>,
) -> Option<Value> {
    let TaskTarget::Execution(NestedWait::OutputText | NestedWait::OutputJson) = call.target else {
        return None;
    };
    let end: NestedEnd = serde_json::from_value(result.as_ref().ok()?.clone()).ok()?;
    if end.status != sluice_ir::nested::NestedStatus::Running {
        return None;
    }
    nested_result(
        &call.body,
        &serde_json::to_value(&end).ok()?,
        NestedWait::Started,
    )
    .ok()
}

/// The result of a task that started an execution (`body` the start it asked for) which the
/// runtime reported as `reported` ([`NestedEnd`]).
fn nested_result(body: &Value, reported: &Value, wait: NestedWait) -> Result<Value, TaskError> {
    let start = NestedStart::of(body).map_err(|reason| TaskError::new(STATES_RUNTIME, reason))?;
    let end: NestedEnd = serde_json::from_value(reported.clone()).map_err(|e| {
        TaskError::new(STATES_RUNTIME, format!("a started execution's report: {e}"))
    })?;
    sluice_ir::nested::nested_result(&start, &end, wait)
}

/// How an ASL state calls a Lambda function.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LambdaTask {
    /// `Resource` a function ARN: the state's input is the event.
    Function,
    /// `arn:aws:states:::lambda:invoke`: the result comes wrapped.
    Invoke,
}

impl LambdaTask {
    /// A function's error with the cause AWS reports: the function's answer.
    fn with_cause(self, error: TaskError) -> TaskError {
        match &error.answer {
            Some(answer) => TaskError {
                detail: sluice_ir::asl::lambda_error_cause(answer, self == LambdaTask::Invoke),
                ..error
            },
            None => error,
        }
    }
}

fn lambda_task(state: &State) -> Option<LambdaTask> {
    match &state.kind {
        StateKind::Task(task)
            if state.asl.is_some() && task.mode != TaskMode::WaitForCustomCallback =>
        {
            match (&task.target, &task.body) {
                (_, Body::LambdaPayload) => Some(LambdaTask::Invoke),
                (TaskTarget::Function(_), _) => Some(LambdaTask::Function),
                _ => None,
            }
        }
        _ => None,
    }
}
