//! A flow's definition as a graph of nodes and edges, read off the compiled IR, so every
//! language gets the same picture (the native API's `GET /api/v1/flows/{flow}/graph`, which
//! the console lays out).
//!
//! Every state is a node. A Parallel branch and a Map processor are nodes too (types `Branch`
//! and `Processor`), children of their state, holding the states they run; a Dag's states
//! are children of the Dag. An edge goes from a state to each state it can move to: its
//! `Next`, a Choice's branches (`case N`, `default`), a Catch's target (`catch`), and from
//! the last states of a Dag node to the first of each node after it.

use serde::Serialize;
use sluice_ir::{Flow, Next, ScopeId, StateId, StateKind};

use crate::{Caller, Result, Service, ServiceError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FlowGraph {
    pub nodes: Vec<GraphNode>,
    pub edges: Vec<GraphEdge>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphNode {
    /// Unique in the graph: the names of the enclosing nodes and this one, joined by `/`.
    pub id: String,
    /// The state's name (what an execution's state runs name), or `Branch N` / `Processor`.
    pub name: String,
    /// `Task`, `Choice`, `Parallel`, … or `Branch`, `Processor`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The node this one is drawn inside; `None` at the top level.
    pub parent: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GraphEdge {
    pub from: String,
    pub to: String,
    /// Empty for a plain `Next`.
    pub label: String,
}

impl Service {
    /// The graph of a flow the caller owns, from its current definition.
    pub async fn flow_graph(&self, caller: &Caller, name: &str) -> Result<FlowGraph> {
        let flow = self.flow(caller, name).await?;
        let ir = sluice_lang::compile(flow.dialect, &flow.definition)
            .map_err(ServiceError::InvalidDefinition)?;
        Ok(flow_graph(&ir))
    }
}

/// The graph of a compiled definition.
pub fn flow_graph(flow: &Flow) -> FlowGraph {
    let mut builder = Builder {
        flow,
        ids: vec![String::new(); flow.states.len()],
        graph: FlowGraph {
            nodes: Vec::new(),
            edges: Vec::new(),
        },
    };
    builder.scope(ScopeId::ROOT, None);
    builder.graph
}

struct Builder<'a> {
    flow: &'a Flow,
    /// The node id of every state, filled in as its scope is visited.
    ids: Vec<String>,
    graph: FlowGraph,
}

impl Builder<'_> {
    /// Adds the states of `scope` as children of `parent`, then their edges.
    fn scope(&mut self, scope: ScopeId, parent: Option<&str>) {
        let states = &self.flow.scope(scope).states;
        for &state in states {
            let name = self.flow.state(state).name.to_string();
            let id = child_id(parent, &name);
            self.ids[state.0 as usize] = id.clone();
            self.node(&id, name, self.flow.state(state).kind.type_name(), parent);
            self.children(state, &id);
        }
        for &state in states {
            self.transitions(state);
        }
    }

    fn node(&mut self, id: &str, name: String, kind: &str, parent: Option<&str>) {
        self.graph.nodes.push(GraphNode {
            id: id.to_string(),
            name,
            kind: kind.to_string(),
            parent: parent.map(str::to_string),
        });
    }

    /// The scopes a state runs, nested inside it.
    fn children(&mut self, state: StateId, id: &str) {
        match &self.flow.state(state).kind {
            StateKind::Parallel(parallel) => {
                for (i, &branch) in parallel.branches.iter().enumerate() {
                    let branch_id = child_id(Some(id), &i.to_string());
                    self.node(&branch_id, format!("Branch {}", i + 1), "Branch", Some(id));
                    self.scope(branch, Some(&branch_id));
                }
            }
            StateKind::Map(map) => {
                let processor_id = child_id(Some(id), "processor");
                self.node(
                    &processor_id,
                    "Processor".to_string(),
                    "Processor",
                    Some(id),
                );
                self.scope(map.processor, Some(&processor_id));
            }
            StateKind::Dag(dag) => {
                for node in &dag.nodes {
                    self.scope(node.scope, Some(id));
                }
                for node in &dag.nodes {
                    let to = self.flow.scope(node.scope).start;
                    for &before in &node.after {
                        let before = dag.nodes[before as usize].scope;
                        for from in self.last_states(before) {
                            self.edge(from, to, String::new());
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// The edges leaving a state within its scope (a Choice's `next` is its default).
    fn transitions(&mut self, state: StateId) {
        let s = self.flow.state(state);
        if let StateKind::Choice(choice) = &s.kind {
            for (i, branch) in choice.branches.iter().enumerate() {
                if let Next::State(to) = branch.next {
                    self.edge(state, to, format!("case {}", i + 1));
                }
            }
            if let Some(Next::State(to)) = choice.default {
                self.edge(state, to, "default".to_string());
            }
        } else if let Next::State(next) = s.next {
            self.edge(state, next, String::new());
        }
        for catcher in s.kind.recovery().map_or(&[][..], |r| &r.catch) {
            self.edge(state, catcher.next, "catch".to_string());
        }
    }

    /// The states of a scope that can end it (no `Next` within it).
    fn last_states(&self, scope: ScopeId) -> Vec<StateId> {
        self.flow
            .scope(scope)
            .states
            .iter()
            .copied()
            .filter(|&id| {
                let state = self.flow.state(id);
                state.next == Next::End && !matches!(state.kind, StateKind::Choice(_))
            })
            .collect()
    }

    fn edge(&mut self, from: StateId, to: StateId, label: String) {
        self.graph.edges.push(GraphEdge {
            from: self.ids[from.0 as usize].clone(),
            to: self.ids[to.0 as usize].clone(),
            label,
        });
    }
}

fn child_id(parent: Option<&str>, name: &str) -> String {
    match parent {
        Some(parent) => format!("{parent}/{name}"),
        None => name.to_string(),
    }
}

#[cfg(test)]
mod tests;
