//! Task states: the call dispatched, its answer (or callback, or timeout) resolved.

use serde_json::{Map, Value, json};
use sluice_ir::{
    Body, State, StateKind, StateName, Task, TaskError, TaskMode, TaskTarget, actions,
};

use super::{Here, Machine, Outcome, Vars, Work, detail, error_detail};
use crate::execution::{Block, Op, OpId, ThreadId, TimerPurpose};
use crate::history::{EventId, EventType};
use crate::step::Effect;
use crate::task_call::TaskCall;

/// One call of a Task state: what it calls, within which time, with which input (the
/// state's own, or what an ASL state read from its input when it ran).
pub(super) struct CallPlan {
    pub target: TaskTarget,
    pub timeout_secs: Option<u64>,
    pub input: Value,
}

impl CallPlan {
    /// The call the task's definition names, with `input`.
    pub fn of(task: &Task, input: Value) -> Self {
        CallPlan {
            target: task.target.clone(),
            timeout_secs: task.timeout_secs,
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
        };
        let mut detail = Map::with_capacity(2);
        detail.insert("resource".into(), task.resource.as_str().into());
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
        let timeout = timeout_secs.map(|secs| {
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
    pub(super) fn resolve_task(&mut self, op: OpId, result: Result<Value, TaskError>) {
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
        // A `lambda:invoke` answer is wrapped as AWS's Invoke answers; a callback's report is
        // the worker's output as sent.
        let lambda = self
            .active(task.thread)
            .and_then(|a| lambda_task(self.flow.state(a.state)));
        let lambda_invoke = lambda == Some(LambdaTask::Invoke);
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
                    detail("output", output.clone()),
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
            ..
        }) = self.ex.ops.remove(&op)
        else {
            return None;
        };
        // When the timeout itself fired, its timer is already gone: cancelling it would name
        // an op the runtime no longer has.
        if let Some(timer) = timeout
            && self.ex.ops.remove(&timer).is_some()
        {
            self.step.effects.push(Effect::CancelTimer(timer));
        }
        let call = *call;
        Some(RemovedTask {
            thread,
            scheduled,
            state: call.state,
            target: call.target,
        })
    }
}

/// A task taken out of the execution: where its result goes and what its events name.
pub(super) struct RemovedTask {
    /// The thread waiting in the task's state.
    pub thread: ThreadId,
    /// Its `TaskScheduled` event.
    pub scheduled: EventId,
    pub state: StateName,
    pub target: TaskTarget,
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
