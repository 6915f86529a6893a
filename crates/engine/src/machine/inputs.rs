//! The inputs an execution accepts: start, task answers, callbacks, timers, stop, retry.

use serde_json::{Value, json};
use sluice_ir::{ErrorCode, StateName, TaskError, TaskMode};

use super::tasks::Answer;
use super::{Here, Machine, Outcome, Vars, Work};
use crate::execution::{Op, OpId, Status, TimerPurpose};
use crate::history::{Detail, EventType};
use crate::input::{Input, Rejection};
use crate::step::Effect;

impl Machine<'_> {
    /// The execution's deadline: the server's limit, or the definition's own (ASL
    /// `TimeoutSeconds`) when that is shorter.
    pub(super) fn execution_timeout_ms(&self) -> Option<u64> {
        let own = self.flow.timeout_secs.map(|s| s.saturating_mul(1000));
        match (self.ex.info.limits.execution_timeout_ms, own) {
            (Some(limit), Some(own)) => Some(limit.min(own)),
            (limit, own) => limit.or(own),
        }
    }

    pub(super) fn accept(&mut self, input: Input) -> Result<(), Rejection> {
        match input {
            Input::Start { input } => {
                self.start(input);
                Ok(())
            }
            Input::TaskCompleted { op, result } => self.task_completed(op, result),
            Input::TaskMocked { op, result } => {
                match self.ex.ops.get(&op) {
                    Some(Op::Task {
                        submitted: false, ..
                    }) => self.resolve_task_as(op, result, Answer::Given),
                    _ => return Err(Rejection::Stale),
                }
                Ok(())
            }
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
            Input::ActivityTaken { op, worker } => self.activity_taken(op, worker),
            Input::Heartbeat { token } => self.heartbeat(&token),
            Input::TimerFired { op } => self.timer_fired(op),
            Input::Stop { error, cause } => {
                let error = TaskError::new(error.unwrap_or_default(), cause.unwrap_or_default());
                self.terminate(Status::Stopped, EventType::ExecutionStopped, Err(error));
                Ok(())
            }
            Input::Retry => {
                self.resume(EventType::ExecutionRetried);
                Ok(())
            }
            Input::Redrive => {
                self.resume(EventType::ExecutionRedriven);
                Ok(())
            }
            Input::ChildFinished { op, result } => self.child_finished(op, result),
            Input::UpdateMapRun {
                map_run,
                max_concurrency,
                tolerated,
            } => self.update_map_run(&map_run, max_concurrency, tolerated),
        }
    }

    fn start(&mut self, input: Value) {
        self.ex.status = Status::Running;
        self.ex.started_at = Some(self.now);
        self.emit(
            EventType::ExecutionStarted,
            None,
            None,
            Detail::of("input", &input),
        );
        self.ex.input = Some(input.clone());
        if let Some(timeout) = self.execution_timeout_ms() {
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
        let scope = self.ex.root;
        let root = self.spawn(None, scope, input);
        self.work.push_back(Work::Enter {
            thread: root,
            state: self.flow.scope(scope).start,
        });
    }

    /// The top-level scope's input: the execution input, through the flow's input mappings
    /// (legacy `inputMappings`) if it has them.
    fn root_input(&self, input: Value) -> Result<Value, TaskError> {
        let Some(template) = &self.flow.scope(self.ex.root).input else {
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
            // A waited-for execution's start submits the task; its end resolves it.
            if let Some(started) = super::tasks::nested_submission(call, &result) {
                if *submitted {
                    return Err(Rejection::Stale);
                }
                *submitted = true;
                let (state, scheduled) = (call.state.clone(), *scheduled);
                self.emit(
                    EventType::TaskSubmitted,
                    Some(scheduled),
                    Some(state),
                    Detail::of("output", &started),
                );
                return Ok(());
            }
            self.resolve_task(op, result);
            return Ok(());
        }
        if *submitted {
            return Err(Rejection::Stale);
        }
        match result {
            Ok(_) => {
                *submitted = true;
                let (state, scheduled) = (call.state.clone(), *scheduled);
                self.emit(
                    EventType::TaskSubmitted,
                    Some(scheduled),
                    Some(state),
                    json!({}),
                );
            }
            Err(error) => {
                if let Some(task) = self.remove_task(op) {
                    self.task_failed(task, EventType::TaskSubmitFailed, error);
                }
            }
        }
        Ok(())
    }

    /// Task `op` ran out of time (`error` says which limit): it fails, its call is aborted.
    /// An ASL history names the error as AWS does (`States.Timeout`, `States.HeartbeatTimeout`).
    fn task_timed_out(&mut self, op: OpId, error: TaskError) {
        let error = match self.flow.language {
            sluice_ir::Language::Asl => sluice_ir::asl_error(error),
            _ => error,
        };
        if let Some(task) = self.remove_task(op) {
            self.step.effects.push(Effect::CancelTask(op));
            self.task_failed(task, EventType::TaskTimedOut, error);
        }
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
            TimerPurpose::TaskTimeout(op) => self.task_timed_out(
                op,
                TaskError::new(
                    ErrorCode::TIMEOUT,
                    "the task did not complete within its timeout",
                ),
            ),
            TimerPurpose::Heartbeat(op) => self.task_timed_out(
                op,
                TaskError::new(
                    ErrorCode::HEARTBEAT_TIMEOUT,
                    "the task sent no heartbeat within its heartbeat period",
                ),
            ),
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
}
