//! Ending: a thread aborted with everything it waits for, and the execution terminated.

use serde_json::Value;
use sluice_ir::TaskError;

use super::{Machine, Work, error_detail};
use crate::execution::{Active, Block, Op, Status, ThreadId};
use crate::history::{Detail, EventType};
use crate::step::Effect;

impl Machine<'_> {
    /// Aborts every running child of `parent` (recursively): their tasks are cancelled and
    /// their timers dropped.
    pub(super) fn abort_children(&mut self, parent: ThreadId) {
        let Some(Block::Fanout(fan)) = self.active_mut(parent).map(|a| &mut a.block) else {
            return;
        };
        let children: Vec<ThreadId> = std::mem::take(&mut fan.running).into_values().collect();
        fan.pending.clear();
        for child in children {
            self.abort_thread(child);
        }
    }

    pub(super) fn abort_thread(&mut self, thread: ThreadId) {
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
                Block::MapRun(run) => {
                    self.stop_children(state, run, crate::execution::MapRunStatus::Aborted)
                }
                Block::None => {}
            }
        }
        self.ex.threads.remove(&thread);
        self.work.retain(|w| work_thread(w) != Some(thread));
    }

    /// Ends the execution: every outstanding task is cancelled and every timer dropped in this
    /// same step, and the terminal event is the last event.
    pub(super) fn terminate(
        &mut self,
        status: Status,
        kind: EventType,
        result: Result<Value, TaskError>,
    ) {
        let result = match self.flow.language {
            sluice_ir::Language::Asl => result.map_err(sluice_ir::asl_error),
            _ => result,
        };
        for (op, pending) in std::mem::take(&mut self.ex.ops) {
            self.step.effects.push(match pending {
                Op::Task { .. } => Effect::CancelTask(op),
                Op::Timer { .. } => Effect::CancelTimer(op),
                Op::Child { .. } => Effect::StopChild(op),
            });
        }
        if matches!(status, Status::Stopped | Status::TimedOut) {
            self.remember_interrupted_state();
        }
        self.record_running_dags();
        self.record_running_map_runs();
        self.ex.threads.clear();
        self.work.clear();
        let detail = match &result {
            Ok(output) => Detail::of("output", output),
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

    /// Keeps the record of every distributed Map run the end of the execution aborts (their
    /// children are stopped by the terminal step's `StopChild` effects).
    fn record_running_map_runs(&mut self) {
        let (name, now) = (&self.ex.info.name, self.now);
        let aborted: Vec<_> = self
            .ex
            .threads
            .values()
            .filter_map(|t| match t.at.as_ref() {
                Some(Active {
                    state,
                    block: Block::MapRun(run),
                    ..
                }) => Some(run.summary(
                    name,
                    &self.flow.state(*state).name,
                    crate::execution::MapRunStatus::Aborted,
                    Some(now),
                )),
                _ => None,
            })
            .collect();
        self.ex.map_runs.extend(aborted);
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
