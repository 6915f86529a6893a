//! Running an ended execution on: a retry (FunctionGraph's, of a failed execution: its
//! failed state again, whole) and a redrive (AWS's, of a failed, stopped or timed-out one:
//! its unsuccessful state again, and of a Parallel or Map state only the branches or
//! iterations that did not succeed). Both resume at the execution's retry point, which is
//! recorded when a top-level state fails and when a stop or the deadline ends the execution.

use serde_json::{Value, json};
use sluice_ir::{DataModel, State, StateId};

use super::{Machine, Work};
use crate::execution::{Active, Block, RetryPoint, Status, ThreadId, TimerPurpose};
use crate::history::EventType;

/// A redriven Parallel's or Map's finished branches or iterations, waiting for the fan-out
/// of that state on that thread.
pub(super) struct Refill {
    thread: ThreadId,
    state: StateId,
    finished: Vec<Option<Value>>,
}

impl Machine<'_> {
    /// Re-enters the state of the retry point with the data it was entered with; the
    /// execution runs on as if it had not ended (with a fresh deadline). `kind` says how:
    /// `ExecutionRetried` runs the state whole, `ExecutionRedriven` counts a redrive and
    /// keeps what the state's branches or iterations finished.
    pub(super) fn resume(&mut self, kind: EventType) {
        let Some(point) = self.ex.retry_point.take() else {
            return;
        };
        self.ex.status = Status::Running;
        self.ex.stopped_at = None;
        self.ex.error = None;
        self.ex.output = None;
        let state = self.flow.state(point.state);
        let mut event = json!({ "input": &point.data });
        if kind == EventType::ExecutionRedriven {
            self.ex.redrives.count += 1;
            self.ex.redrives.last_at = Some(self.now);
            event["redriveCount"] = self.ex.redrives.count.into();
        }
        self.emit(kind, None, Some(state.name.clone()), event);
        if let Some(timeout) = self.execution_timeout_ms() {
            let fire_at = self
                .now
                .saturating_add(i64::try_from(timeout).unwrap_or(i64::MAX));
            self.start_timer(fire_at, TimerPurpose::ExecutionDeadline);
        }
        let root = self.spawn(None, self.ex.root, point.scope_input);
        if let Some(t) = self.ex.threads.get_mut(&root) {
            t.data = point.data;
        }
        if kind == EventType::ExecutionRedriven && point.finished.iter().any(Option::is_some) {
            self.refill = Some(Refill {
                thread: root,
                state: point.state,
                finished: point.finished,
            });
        }
        self.work.push_back(Work::Enter {
            thread: root,
            state: point.state,
        });
    }

    /// The outputs a redrive keeps for the fan-out of `state` on `thread` of `count`
    /// branches or iterations (none finished, unless this is the redriven state and its
    /// items are as many as before).
    pub(super) fn refilled(
        &mut self,
        thread: ThreadId,
        state: StateId,
        count: usize,
    ) -> Vec<Option<Value>> {
        match self.refill.take() {
            Some(r) if r.thread == thread && r.state == state && r.finished.len() == count => {
                r.finished
            }
            other => {
                self.refill = other;
                vec![None; count]
            }
        }
    }

    /// A top-level state that failed, or was cut short by a stop or the deadline, is where
    /// the execution resumes: remember it, with the data it was entered with.
    pub(super) fn remember_retry_point(&mut self, thread: ThreadId, state: &State) {
        let Some(t) = self.ex.threads.get(&thread) else {
            return;
        };
        let Some(active) = t.at.as_ref() else {
            return;
        };
        if t.parent.is_some() {
            return;
        }
        let data = match (self.flow.scope(t.scope).data, &state.input) {
            // The pipe data moved into the state's input (see `state_input`).
            (DataModel::Pipe, None) => active.input.clone(),
            _ => t.data.clone(),
        };
        let point = RetryPoint {
            state: active.state,
            scope_input: t.scope_input.clone(),
            data,
            finished: finished(active),
        };
        self.ex.retry_point = Some(point);
    }

    /// The execution ends while its top-level thread is in a state (a stop, the deadline):
    /// that state is where a redrive resumes.
    pub(super) fn remember_interrupted_state(&mut self) {
        let root = self
            .ex
            .threads
            .iter()
            .find(|(_, t)| t.parent.is_none())
            .and_then(|(id, t)| Some((*id, t.at.as_ref()?.state)));
        if let Some((thread, state)) = root {
            self.remember_retry_point(thread, self.flow.state(state));
        }
    }
}

/// What a Parallel's or Map's branches or iterations have finished.
fn finished(active: &Active) -> Vec<Option<Value>> {
    match &active.block {
        Block::Fanout(fan) => fan.results.clone(),
        _ => Vec::new(),
    }
}
