//! The status of each node of an execution's Dag states, read off the execution alone (what
//! DataArts shows as an instance's node statuses).

use serde::{Deserialize, Serialize};
use sluice_ir::{Flow, StateId, StateKind, StateName};

use crate::execution::{Block, Execution};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum NodeStatus {
    /// Its predecessors have not all finished yet.
    Waiting,
    /// Its scope runs (a task in flight, a retry backoff, a nested state).
    Running,
    Succeeded,
    /// Its scope failed, retries spent. Under [`sluice_ir::NodeFailure::Continue`] its
    /// successors ran anyway.
    Failed,
    /// Never ran: its Dag ended first (a node failed, or the execution stopped or ended).
    Skipped,
    /// Cut short while running: its Dag failed, or the execution stopped or ended.
    Cancelled,
}

impl NodeStatus {
    pub fn is_final(self) -> bool {
        !matches!(self, NodeStatus::Waiting | NodeStatus::Running)
    }
}

/// One node of one Dag state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DagNodeStatus<'f> {
    /// The Dag state.
    pub dag: &'f StateName,
    pub node: &'f str,
    pub status: NodeStatus,
}

/// Every node of every Dag state of `flow` (in arena order, nodes in definition order) with
/// its status in `execution`: from the Dag's latest running instance if it runs, else from
/// its latest run that ended; a Dag that never ran has its nodes `Waiting`, or `Skipped` once
/// the execution is over.
pub fn dag_node_statuses<'f>(flow: &'f Flow, execution: &Execution) -> Vec<DagNodeStatus<'f>> {
    let mut statuses = Vec::new();
    for (index, state) in flow.states.iter().enumerate() {
        let StateKind::Dag(dag) = &state.kind else {
            continue;
        };
        let id = StateId(u32::try_from(index).unwrap_or(u32::MAX));
        let known = running(execution, id).or_else(|| execution.dag_runs.get(&id).cloned());
        let never_ran = if execution.status.is_terminal() {
            NodeStatus::Skipped
        } else {
            NodeStatus::Waiting
        };
        for (i, node) in dag.nodes.iter().enumerate() {
            let status = known
                .as_ref()
                .and_then(|k| k.get(i).copied())
                .unwrap_or(never_ran);
            statuses.push(DagNodeStatus {
                dag: &state.name,
                node: &node.name,
                status,
            });
        }
    }
    statuses
}

/// The node statuses of the newest running instance of Dag state `id`.
fn running(execution: &Execution, id: StateId) -> Option<Vec<NodeStatus>> {
    execution.threads.values().rev().find_map(|thread| {
        let active = thread.at.as_ref().filter(|a| a.state == id)?;
        match &active.block {
            Block::Dag(run) => Some(run.nodes.clone()),
            _ => None,
        }
    })
}
