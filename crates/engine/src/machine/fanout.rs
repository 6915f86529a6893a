//! Parallel and Map states: a child thread per branch or iteration, started as the
//! concurrency allows, their results aggregated once all have finished.

use serde_json::{Map, Value};
use sluice_ir::{Aggregate, ErrorCode, ItemInput, Items, StateKind, StateName, TaskError};

use super::{Here, Machine, Outcome, Vars, Work};
use crate::execution::{Block, Fanout, Slot, Status, ThreadId};
use crate::history::{Detail, EventType};

impl Machine<'_> {
    pub(super) fn map_inputs(
        &self,
        map: &sluice_ir::Map,
        input: &Value,
        name: &StateName,
    ) -> Result<Vec<Value>, TaskError> {
        let items = match &map.items {
            Items::Expr(expr) => self.eval_expr(expr, Vars::input(input), name)?,
            // ASL Maps take their items in `asl_map_inputs`.
            Items::Asl(_) => Value::Null,
        };
        self.map_inputs_of(map, items, input, name)
    }

    /// The input of each iteration or child of `map` entered with `input`, over `items`.
    pub(super) fn map_inputs_of(
        &self,
        map: &sluice_ir::Map,
        items: Value,
        input: &Value,
        name: &StateName,
    ) -> Result<Vec<Value>, TaskError> {
        let items = match items {
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
                // ASL selectors are applied in `asl_map_inputs`.
                ItemInput::Selector(_) => Ok(item),
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

    pub(super) fn fan_out(&mut self, thread: ThreadId, inputs: Vec<Value>, max_concurrency: u32) {
        let Some(state) = self.active(thread).map(|a| a.state) else {
            return;
        };
        let results = self.refilled(thread, state, inputs.len());
        if results.iter().all(Option::is_some) {
            let results = results.into_iter().map(Option::unwrap_or_default).collect();
            let result = self.aggregate(thread, results);
            self.work.push_back(Work::Finish {
                thread,
                outcome: Outcome::Done { result, goto: None },
            });
            return;
        }
        let fanout = Fanout {
            results,
            pending: inputs,
            next_index: 0,
            running: Default::default(),
            max_concurrency,
        };
        self.block(thread, Block::Fanout(fanout));
        self.work.push_back(Work::StartChild { parent: thread });
    }

    /// Starts the next branch or iteration of `parent`, if its concurrency allows.
    pub(super) fn start_child(&mut self, parent: ThreadId) {
        let Some(active) = self.active_mut(parent) else {
            return;
        };
        let state_id = active.state;
        let fan = match &mut active.block {
            Block::Fanout(fan) => fan,
            Block::Dag(_) => return self.start_dag_node(parent),
            _ => return,
        };
        fan.skip_finished();
        let index = fan.next_index;
        let at_capacity =
            fan.max_concurrency > 0 && fan.running.len() >= fan.max_concurrency as usize;
        if at_capacity || index as usize >= fan.pending.len() {
            return;
        }
        let input = std::mem::take(&mut fan.pending[index as usize]);
        fan.next_index += 1;
        fan.skip_finished();
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
            Detail::of("index", &index.into()),
        );
        self.work.push_back(Work::Enter {
            thread: child,
            state: self.flow.scope(scope).start,
        });
        if more {
            self.work.push_back(Work::StartChild { parent });
        }
    }

    pub(super) fn scope_done(&mut self, thread: ThreadId, result: Result<Value, TaskError>) {
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
            Detail::of("index", &slot.index.into()),
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

    /// The state's result from its branches' or iterations' (or children's) results.
    pub(super) fn aggregate(&self, thread: ThreadId, results: Vec<Value>) -> Value {
        let kind = self.active(thread).map(|a| &self.flow.state(a.state).kind);
        let how = match kind {
            Some(StateKind::Parallel(p)) => p.result,
            Some(StateKind::Map(m)) => m.result,
            _ => Aggregate::Array,
        };
        match how {
            Aggregate::Array => Value::Array(results),
            Aggregate::ItemsField => Value::Object(Map::from_iter([(
                "Items".to_owned(),
                Value::Array(results),
            )])),
            Aggregate::BranchKeys => Value::Object(
                results
                    .into_iter()
                    .enumerate()
                    .map(|(i, v)| (format!("Branch{i}"), v))
                    .collect(),
            ),
        }
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
