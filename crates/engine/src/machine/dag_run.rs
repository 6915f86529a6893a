//! Dag states: each node's scope runs in a child thread once the nodes it comes after have
//! finished; the node's failure policy decides what its failure does to the graph.
//!
//! Nodes start one per work item (like Parallel branches) so the history limit is checked
//! between them. Readiness only grows while the graph runs, so a node finishing either finds
//! a node ready to start or, with nothing running, knows the graph is done.

use serde_json::{Map, Value, json};
use sluice_ir::{Dag, NodeFailure, StateId, StateKind, TaskError};

use super::{Machine, Outcome, Work};
use crate::dag_status::NodeStatus;
use crate::execution::{Block, DagRun, Slot, ThreadId};
use crate::history::EventType;

impl Machine<'_> {
    /// Runs the Dag state of `thread`: every node without predecessors starts.
    pub(super) fn start_dag(&mut self, thread: ThreadId, dag: &Dag) {
        if dag.nodes.is_empty() {
            let result = Value::Object(Map::new());
            self.work.push_back(Work::Finish {
                thread,
                outcome: Outcome::Done { result, goto: None },
            });
            return;
        }
        self.block(thread, Block::Dag(DagRun::new(dag.nodes.len())));
        self.work.push_back(Work::StartChild { parent: thread });
    }

    /// Starts the first ready node of the Dag `parent` runs, and asks for another start if
    /// more are ready.
    pub(super) fn start_dag_node(&mut self, parent: ThreadId) {
        let flow = self.flow;
        let Some(active) = self.active_mut(parent) else {
            return;
        };
        let state = flow.state(active.state);
        let (StateKind::Dag(dag), Block::Dag(run)) = (&state.kind, &mut active.block) else {
            return;
        };
        let (first, second) = {
            let mut ready = ready_nodes(dag, run);
            (ready.next(), ready.next())
        };
        let Some(index) = first else {
            return;
        };
        run.nodes[index] = NodeStatus::Running;
        let input = active.input.clone();
        let node = &dag.nodes[index];
        let slot = Slot {
            thread: parent,
            index: index_u32(index),
        };
        let child = self.spawn(Some(slot), node.scope, input);
        if let Some(Block::Dag(run)) = self.active_mut(parent).map(|a| &mut a.block) {
            run.running.insert(slot.index, child);
        }
        self.emit(
            EventType::BranchEntered,
            None,
            Some(state.name.clone()),
            node_detail(slot.index, &node.name),
        );
        self.work.push_back(Work::Enter {
            thread: child,
            state: flow.scope(node.scope).start,
        });
        if second.is_some() {
            self.work.push_back(Work::StartChild { parent });
        }
    }

    /// A node's scope ended with `result`: record it and apply the node's failure policy.
    pub(super) fn dag_node_done(&mut self, slot: Slot, result: Result<Value, TaskError>) {
        let flow = self.flow;
        let Some(active) = self.active_mut(slot.thread) else {
            return;
        };
        let state = flow.state(active.state);
        let (StateKind::Dag(dag), Block::Dag(run)) = (&state.kind, &mut active.block) else {
            return;
        };
        let index = slot.index as usize;
        let Some(node) = dag.nodes.get(index) else {
            return;
        };
        run.running.remove(&slot.index);
        let fail_now = match result {
            Ok(output) => {
                run.nodes[index] = NodeStatus::Succeeded;
                run.results[index] = Some(output);
                None
            }
            Err(error) => {
                run.nodes[index] = NodeStatus::Failed;
                match node.on_failure {
                    NodeFailure::Fail => Some(error),
                    NodeFailure::Continue => {
                        run.results[index] = Some(error.to_value());
                        None
                    }
                    NodeFailure::Drain => {
                        run.draining.get_or_insert(error);
                        None
                    }
                }
            }
        };
        self.emit(
            EventType::BranchExited,
            None,
            Some(state.name.clone()),
            node_detail(slot.index, &node.name),
        );
        match fail_now {
            Some(error) => self.end_dag(slot.thread, Err(error)),
            None => self.dag_progress(slot.thread),
        }
    }

    /// After a node finished: start what became ready, or end the graph when nothing runs.
    fn dag_progress(&mut self, thread: ThreadId) {
        let flow = self.flow;
        let Some(active) = self.active(thread) else {
            return;
        };
        let (StateKind::Dag(dag), Block::Dag(run)) =
            (&flow.state(active.state).kind, &active.block)
        else {
            return;
        };
        if let Some(error) = &run.draining {
            if run.running.is_empty() {
                let error = error.clone();
                self.end_dag(thread, Err(error));
            }
        } else if ready_nodes(dag, run).next().is_some() {
            self.work.push_back(Work::StartChild { parent: thread });
        } else if run.running.is_empty() {
            self.end_dag(thread, Ok(()));
        }
    }

    /// Ends the Dag state of `thread`: running nodes are cancelled, the statuses recorded,
    /// and the state finishes with the nodes' outputs by name, or with `result`'s error.
    fn end_dag(&mut self, thread: ThreadId, result: Result<(), TaskError>) {
        let flow = self.flow;
        let Some(active) = self.active_mut(thread) else {
            return;
        };
        let state_id = active.state;
        let Block::Dag(run) = std::mem::replace(&mut active.block, Block::None) else {
            return;
        };
        let results = self.close_dag(state_id, run);
        let outcome = match result {
            Err(error) => Outcome::Error(error),
            Ok(()) => {
                let StateKind::Dag(dag) = &flow.state(state_id).kind else {
                    return;
                };
                let result: Map<String, Value> = dag
                    .nodes
                    .iter()
                    .zip(results)
                    .filter_map(|(node, output)| Some((node.name.clone(), output?)))
                    .collect();
                let result = Value::Object(result);
                match self.check_size(&result, "the aggregated output") {
                    Ok(()) => Outcome::Done { result, goto: None },
                    Err(error) => Outcome::Error(error),
                }
            }
        };
        self.work.push_back(Work::Finish { thread, outcome });
    }

    /// Aborts the run's running nodes and records its final statuses; returns the outputs.
    pub(super) fn close_dag(&mut self, state: StateId, run: DagRun) -> Vec<Option<Value>> {
        self.ex.dag_runs.insert(state, run.ended());
        for child in run.running.into_values() {
            self.abort_thread(child);
        }
        run.results
    }
}

/// The nodes that may start: waiting, with every predecessor finished in a way that lets its
/// successors run. None while the graph drains.
fn ready_nodes<'r>(dag: &'r Dag, run: &'r DagRun) -> impl Iterator<Item = usize> + 'r {
    let open = run.draining.is_none();
    (0..dag.nodes.len()).filter(move |i| {
        open && run.nodes[*i] == NodeStatus::Waiting
            && dag.nodes[*i].after.iter().all(|p| {
                let p = *p as usize;
                match run.nodes.get(p) {
                    Some(NodeStatus::Succeeded) => true,
                    Some(NodeStatus::Failed) => dag.nodes[p].on_failure == NodeFailure::Continue,
                    _ => false,
                }
            })
    })
}

/// `{"index", "node"}` of a node's BranchEntered / BranchExited.
fn node_detail(index: u32, name: &str) -> Value {
    json!({ "index": index, "node": name })
}

fn index_u32(index: usize) -> u32 {
    // The IR's node count is bounded far below u32::MAX.
    u32::try_from(index).unwrap_or(u32::MAX)
}
