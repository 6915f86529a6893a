//! Distributed Map states: each item (or batch of items) runs as a child execution of the
//! Map's processor, started by an [`Effect::StartChild`] and reported back by
//! `Input::ChildFinished`. The engine keeps only the bookkeeping: what is still to start,
//! what runs (as `Op::Child`, so that a stop or a failure stops every child in the same
//! step), the results and the failures counted against the tolerated ones. Nothing here is
//! CloudFlow's: the Amazon States Language's distributed Map runs on the same mechanism.

use serde_json::{Map, Value, json};
use sluice_ir::ToleratedFailures;
use sluice_ir::objects::ChildResult;
use sluice_ir::{Distributed, ErrorCode, ItemBatcher, StateId, StateKind, TaskError};

use super::{Machine, Outcome, Work};
use crate::data;
use crate::execution::{Block, MapRun, MapRunStatus, Op, OpId, ThreadId, map_run_name};
use crate::history::EventType;
use crate::input::Rejection;
use crate::step::{ChildStart, Effect};

impl Machine<'_> {
    /// Starts the children of a distributed Map entered by `thread` with `items`.
    pub(super) fn start_map_run(
        &mut self,
        thread: ThreadId,
        items: Vec<Value>,
        max_concurrency: u32,
        distributed: &Distributed,
    ) {
        let pending = match &distributed.batcher {
            Some(batcher) => batches(items, batcher),
            None => items,
        };
        let run = self.next_op();
        let name = map_run_name(&self.ex.info.name, run);
        let entered = self.active(thread).map(|a| a.entered);
        self.emit(
            EventType::MapRunStarted,
            entered,
            None,
            json!({ "output": { "MapRunName": name } }),
        );
        let run = MapRun {
            run,
            started_at: self.now,
            results: vec![None; pending.len()],
            pending,
            next_index: 0,
            running: Default::default(),
            max_concurrency,
            tolerated: distributed.tolerated,
            succeeded: 0,
            failed: 0,
            failed_at: Default::default(),
        };
        self.block(thread, Block::MapRun(run));
        self.advance_map_run(thread);
    }

    /// Starts children while the concurrency allows, or finishes the state once all ended.
    fn advance_map_run(&mut self, thread: ThreadId) {
        let Some(active) = self.active(thread) else {
            return;
        };
        let state = self.flow.state(active.state);
        let (StateKind::Map(map), Block::MapRun(run)) = (&state.kind, &active.block) else {
            return;
        };
        let (name, scope) = (state.name.clone(), map.processor);
        let (execution, now) = (self.ex.info.name.clone(), self.now);
        let map_run = map_run_name(&execution, run.run);
        let mode = map
            .distributed
            .as_ref()
            .map_or(sluice_ir::ChildMode::Standard, |d| d.execution_mode);
        let room = match run.max_concurrency {
            0 => usize::MAX,
            max => (max as usize).saturating_sub(run.running.len()),
        };
        let starts = room.min(run.pending.len() - run.next_index as usize);
        for _ in 0..starts {
            let op = self.next_op();
            let Some(Block::MapRun(run)) = self.active_mut(thread).map(|a| &mut a.block) else {
                return;
            };
            let index = run.next_index;
            let input = std::mem::take(&mut run.pending[index as usize]);
            run.next_index += 1;
            run.running.insert(index, op);
            let start = ChildStart {
                op,
                state: name.clone(),
                map_run: map_run.clone(),
                index,
                scope,
                mode,
                input,
            };
            self.ex.ops.insert(
                op,
                Op::Child {
                    thread,
                    start: Box::new(start.clone()),
                },
            );
            self.step.effects.push(Effect::StartChild(start));
        }
        let Some(Block::MapRun(run)) = self.active_mut(thread).map(|a| &mut a.block) else {
            return;
        };
        if run.running.is_empty() && run.next_index as usize == run.pending.len() {
            let summary = run.summary(&execution, &name, MapRunStatus::Succeeded, Some(now));
            self.ex.map_runs.push(summary);
            let Some(Block::MapRun(run)) = self.active_mut(thread).map(|a| &mut a.block) else {
                return;
            };
            let results = std::mem::take(&mut run.results);
            let failed = std::mem::take(&mut run.failed_at);
            let writer = map.distributed.as_ref().and_then(|d| d.writer.as_deref());
            if let Some(writer) = writer {
                let results = (0..)
                    .zip(results)
                    .map(|(index, value)| {
                        let value = value.unwrap_or_default();
                        let succeeded = !failed.contains(&index);
                        // A failed child's result is kept as `TaskError::to_value` made it.
                        let value = match succeeded {
                            true => value,
                            false => json!({"Error": value["Code"], "Cause": value["Detail"]}),
                        };
                        ChildResult {
                            index,
                            succeeded,
                            value,
                        }
                    })
                    .collect();
                if let Err(error) = self.write_results(thread, state, writer, map_run, results) {
                    let outcome = Outcome::Error(error);
                    self.work.push_back(Work::Finish { thread, outcome });
                }
                return;
            }
            let results = results.into_iter().map(Option::unwrap_or_default).collect();
            let result = self.aggregate(thread, results);
            let outcome = match self.check_size(&result, "the aggregated output") {
                Ok(()) => Outcome::Done { result, goto: None },
                Err(error) => Outcome::Error(error),
            };
            self.work.push_back(Work::Finish { thread, outcome });
        }
    }

    pub(super) fn child_finished(
        &mut self,
        op: OpId,
        result: Result<Value, TaskError>,
    ) -> Result<(), Rejection> {
        let Some(Op::Child { thread, start }) = self.ex.ops.remove(&op) else {
            return Err(Rejection::Stale);
        };
        let Some(Block::MapRun(run)) = self.active_mut(thread).map(|a| &mut a.block) else {
            return Err(Rejection::Stale);
        };
        run.running.remove(&start.index);
        let value = match result {
            Ok(output) => {
                run.succeeded += 1;
                output
            }
            Err(error) => {
                run.failed += 1;
                run.failed_at.insert(start.index);
                error.to_value()
            }
        };
        if let Some(slot) = run.results.get_mut(start.index as usize) {
            *slot = Some(value);
        }
        self.settle_map_run(thread);
        Ok(())
    }

    /// `UpdateMapRun`: the running map run named `map_run` takes a new concurrency
    /// and/or tolerance; more children start at once if the new bound allows, and the Map
    /// fails at once if the failures so far exceed the new tolerance.
    pub(super) fn update_map_run(
        &mut self,
        map_run: &str,
        max_concurrency: Option<u32>,
        tolerated: Option<ToleratedFailures>,
    ) -> Result<(), Rejection> {
        let thread = self
            .ex
            .threads
            .iter()
            .find_map(|(id, t)| {
                let Block::MapRun(run) = &t.at.as_ref()?.block else {
                    return None;
                };
                (map_run_name(&self.ex.info.name, run.run) == map_run).then_some(*id)
            })
            .ok_or(Rejection::Stale)?;
        if let Some(Block::MapRun(run)) = self.active_mut(thread).map(|a| &mut a.block) {
            if let Some(max) = max_concurrency {
                run.max_concurrency = max;
            }
            if let Some(tolerated) = tolerated {
                run.tolerated = tolerated;
            }
        }
        self.settle_map_run(thread);
        Ok(())
    }

    /// After a change: fail the Map if too many children failed (stopping the others), else
    /// go on.
    fn settle_map_run(&mut self, thread: ThreadId) {
        let Some(Block::MapRun(run)) = self.active_mut(thread).map(|a| &mut a.block) else {
            return;
        };
        let total = u32::try_from(run.pending.len()).unwrap_or(u32::MAX);
        if !run.tolerated.exceeded(run.failed, total) {
            return self.advance_map_run(thread);
        }
        let (failed, total) = (run.failed, total);
        let run = std::mem::replace(run, empty_run());
        let Some(state) = self.active(thread).map(|a| a.state) else {
            return;
        };
        let name = self.flow.state(state).name.to_string();
        self.stop_children(state, run, MapRunStatus::Failed);
        let error = TaskError::new(
            ErrorCode::TOLERATED_FAILURES_EXCEEDED,
            format!(
                "state {name}: {failed} of {total} child executions failed, more than tolerated"
            ),
        );
        self.work.push_back(Work::Finish {
            thread,
            outcome: Outcome::Error(error),
        });
    }

    /// Ends `run` of the Map state `state` with `status`: every running child is stopped in
    /// this step, and those not started never will be.
    pub(super) fn stop_children(&mut self, state: StateId, run: MapRun, status: MapRunStatus) {
        let name = &self.flow.state(state).name;
        let summary = run.summary(&self.ex.info.name, name, status, Some(self.now));
        self.ex.map_runs.push(summary);
        for op in run.running.into_values() {
            self.ex.ops.remove(&op);
            self.step.effects.push(Effect::StopChild(op));
        }
    }
}

fn empty_run() -> MapRun {
    MapRun {
        run: OpId(0),
        started_at: 0,
        pending: Vec::new(),
        next_index: 0,
        results: Vec::new(),
        running: Default::default(),
        max_concurrency: 0,
        tolerated: ToleratedFailures::default(),
        succeeded: 0,
        failed: 0,
        failed_at: Default::default(),
    }
}

/// Groups `items` in order into batches of at most `max_items` items and `max_bytes` bytes
/// of items (a single item larger than that is a batch of its own): `{"Items": [...]}`, with
/// `"BatchInput"` when the batcher has one.
fn batches(items: Vec<Value>, batcher: &ItemBatcher) -> Vec<Value> {
    let mut batches = Vec::new();
    let mut current: Vec<Value> = Vec::new();
    let mut bytes = 0u64;
    for item in items {
        let size = data::json_size(&item) as u64;
        let full_by_count = batcher.max_items > 0 && current.len() >= batcher.max_items as usize;
        let full_by_bytes = batcher.max_bytes > 0 && bytes + size > batcher.max_bytes;
        if !current.is_empty() && (full_by_count || full_by_bytes) {
            batches.push(batch(std::mem::take(&mut current), batcher));
            bytes = 0;
        }
        bytes += size;
        current.push(item);
    }
    if !current.is_empty() {
        batches.push(batch(current, batcher));
    }
    batches
}

fn batch(items: Vec<Value>, batcher: &ItemBatcher) -> Value {
    let mut input = Map::new();
    if let Some(batch_input) = &batcher.batch_input {
        input.insert("BatchInput".into(), batch_input.clone());
    }
    input.insert("Items".into(), Value::Array(items));
    Value::Object(input)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn batches_hold_at_most_the_items_and_bytes_given() {
        let items: Vec<Value> = (1..=5).map(|i| json!(i)).collect();
        let by_count = ItemBatcher {
            max_items: 2,
            max_bytes: 0,
            batch_input: Some(json!({"run": "a"})),
        };
        assert_eq!(
            batches(items.clone(), &by_count),
            [
                json!({"BatchInput": {"run": "a"}, "Items": [1, 2]}),
                json!({"BatchInput": {"run": "a"}, "Items": [3, 4]}),
                json!({"BatchInput": {"run": "a"}, "Items": [5]}),
            ]
        );
        let by_bytes = ItemBatcher {
            max_items: 0,
            max_bytes: 3,
            batch_input: None,
        };
        assert_eq!(
            batches(items, &by_bytes),
            [json!({"Items": [1, 2, 3]}), json!({"Items": [4, 5]})]
        );
    }

    #[test]
    fn tolerated_failures_count_and_percentage() {
        let none = ToleratedFailures::default();
        assert!(!none.exceeded(0, 10) && none.exceeded(1, 10));
        let two = ToleratedFailures {
            count: Some(2),
            percentage: None,
        };
        assert!(!two.exceeded(2, 10) && two.exceeded(3, 10));
        let tenth = ToleratedFailures {
            count: None,
            percentage: Some(10.0),
        };
        assert!(!tenth.exceeded(1, 10) && tenth.exceeded(2, 10));
    }
}
