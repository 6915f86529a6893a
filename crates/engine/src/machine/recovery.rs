//! A state's error: `Retry` (a backoff timer, then the state runs again), then `Catch`,
//! then the scope fails; a failed top-level state is where a `Retry` input resumes.

use serde_json::Value;
use sluice_ir::{Catcher, DataModel, Next, State, StateKind, TaskError};

use super::{Here, Machine, Vars, error_detail};
use crate::data;
use crate::execution::{Block, ThreadId, TimerPurpose};
use crate::history::EventType;
use crate::inspection::RetryDetails;

impl Machine<'_> {
    /// Retry, then Catch, then fail the scope.
    pub(super) fn recover(&mut self, thread: ThreadId, state: &State, error: TaskError) {
        let error = match state.asl {
            Some(_) => {
                let name = match &state.kind {
                    StateKind::Task(task) => sluice_ir::asl::resource_type(&task.resource),
                    _ => state.name.as_str(),
                };
                sluice_ir::asl_state_error(error, name)
            }
            None => error,
        };
        // FULL jitter draws uniformly in [0, delay] from the execution's seed, so a replay
        // waits the same.
        let jitter_draw = sluice_ir::expr::Entropy::new(
            self.ex.info.seed ^ self.ex.next_event.wrapping_mul(0xA24B_AED4_963E_E407),
        )
        .next_u64();
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
                let mut delay = retrier.delay_ms(*used);
                if retrier.full_jitter {
                    delay = jitter_draw % delay.saturating_add(1);
                }
                active.retry_count += 1;
                if let Some(inspection) = self.inspecting(thread) {
                    inspection.retry = Some(RetryDetails {
                        index,
                        backoff_ms: delay,
                    });
                    inspection.error = Some(error.clone());
                    self.step_failed(thread, state, &error);
                    self.fail_scope(thread, error);
                    return;
                }
                let fire_at = self
                    .now
                    .saturating_add(i64::try_from(delay).unwrap_or(i64::MAX));
                let op = self.start_timer(fire_at, TimerPurpose::Backoff(thread));
                self.block(thread, Block::Backoff(op));
                return;
            }
            if let Some((index, catcher)) = recovery
                .catch
                .iter()
                .enumerate()
                .find(|(_, c)| c.errors.iter().any(|p| error.code.matches(p)))
            {
                if let Some(inspection) = self.inspecting(thread) {
                    inspection.catch_index = Some(index);
                    inspection.error = Some(error.clone());
                }
                let value = match &catcher.asl {
                    Some(data) => self.asl_catch_value(thread, state, data, &error),
                    None => self
                        .catch_value(thread, state, catcher, &error)
                        .map(|v| (v, None)),
                };
                self.step_failed(thread, state, &error);
                match value {
                    Ok((value, assigned)) => {
                        self.assign_variables(thread, assigned);
                        let next = self.inspect_exit(thread, &value, Next::State(catcher.next));
                        self.advance(thread, value, next);
                    }
                    Err(error) => self.fail_scope(thread, error),
                }
                return;
            }
        }
        self.step_failed(thread, state, &error);
        self.remember_retry_point(thread, state);
        self.fail_scope(thread, error);
    }

    /// Records that the thread's `state` failed with `error` (retries spent).
    fn step_failed(&mut self, thread: ThreadId, state: &State, error: &TaskError) {
        let entered = self.active(thread).map(|a| a.entered);
        self.emit(
            EventType::StepFailed,
            entered,
            Some(state.name.clone()),
            error_detail(error),
        );
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
}
