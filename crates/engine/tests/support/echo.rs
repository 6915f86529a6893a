//! Flows whose output is known in advance: trees of Parallel, Map and Dag over states that
//! echo their input, to check that fan-out results come back in branch, item and node order
//! whatever order the tasks inside complete in.

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Map as JsonMap, Value, json};
use sluice_ir::expr::{Expr, Root};
use sluice_ir::{
    Aggregate, Body, Dag, DagNode, DataModel, Flow, FunctionRef, ItemInput, Items, Language, Map,
    Next, NodeFailure, Parallel, Recovery, Scope, ScopeId, State, StateId, StateKind, StateName,
    Task, TaskMode, TaskTarget, Template,
};

#[derive(Debug, Clone)]
pub enum Echo {
    /// Outputs its input.
    Pass,
    /// A task called with its input; the simulation answers with the body.
    Task { callback: bool },
    /// Branch `i` sees `{"branch": i, "in": input}` (a Pass with an InputConstructor).
    Parallel(Vec<Echo>),
    /// Iterates over the literal array `[0, 1, …, items - 1]`.
    Map {
        items: u32,
        max_concurrency: u32,
        body: Box<Echo>,
    },
    /// Node `i` (named `N{i}`) sees what branch `i` would, and comes after the nodes before it
    /// that its picks name.
    Dag(Vec<(Echo, Vec<u8>)>),
}

pub fn echo_tree() -> impl Strategy<Value = Echo> {
    let leaf = prop_oneof![
        Just(Echo::Pass),
        any::<bool>().prop_map(|callback| Echo::Task { callback }),
    ];
    leaf.prop_recursive(3, 32, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 1..=4).prop_map(Echo::Parallel),
            (0..7u32, 0..=3u32, inner.clone()).prop_map(|(items, max_concurrency, body)| {
                Echo::Map {
                    items,
                    max_concurrency,
                    body: Box::new(body),
                }
            }),
            vec((inner, vec(any::<u8>(), 0..3)), 0..=4).prop_map(Echo::Dag),
        ]
    })
}

/// The output the flow of `node` must produce for `input`.
pub fn expected(node: &Echo, input: &Value) -> Value {
    match node {
        Echo::Pass | Echo::Task { .. } => input.clone(),
        Echo::Parallel(branches) => Value::Object(
            branches
                .iter()
                .enumerate()
                .map(|(i, b)| (format!("Branch{i}"), expected(b, &branch_input(i, input))))
                .collect::<JsonMap<_, _>>(),
        ),
        Echo::Map { items, body, .. } => {
            let outputs: Vec<Value> = (0..*items).map(|i| expected(body, &json!(i))).collect();
            json!({ "Items": outputs })
        }
        Echo::Dag(nodes) => Value::Object(
            nodes
                .iter()
                .enumerate()
                .map(|(i, (n, _))| (format!("N{i}"), expected(n, &branch_input(i, input))))
                .collect::<JsonMap<_, _>>(),
        ),
    }
}

fn branch_input(index: usize, input: &Value) -> Value {
    json!({ "branch": index, "in": input })
}

pub fn build(root: &Echo) -> Flow {
    let mut builder = Builder::default();
    builder.scope(root, None);
    Flow {
        language: Language::CloudFlow,
        name: Some("echo".into()),
        timeout_secs: None,
        states: builder.states,
        scopes: builder.scopes,
    }
}

#[derive(Default)]
struct Builder {
    states: Vec<State>,
    scopes: Vec<Scope>,
}

impl Builder {
    /// A scope running `node`, preceded by a Pass that tags the input with the branch index.
    fn scope(&mut self, node: &Echo, branch: Option<usize>) -> ScopeId {
        let id = ScopeId(self.scopes.len() as u32);
        self.scopes.push(Scope {
            start: StateId(0),
            states: Vec::new(),
            data: DataModel::Pipe,
            input: None,
            output: None,
        });
        let mut ids = Vec::new();
        if let Some(index) = branch {
            let tag = Template::Object(vec![
                ("branch".into(), Template::Literal(json!(index))),
                ("in".into(), Template::Expr(Expr::Var(Root::Input))),
            ]);
            let tagger = self.push(id, StateKind::Pass);
            self.states[tagger.0 as usize].input = Some(tag);
            ids.push(tagger);
        }
        let kind = self.kind(node);
        ids.push(self.push(id, kind));
        for pair in ids.windows(2) {
            self.states[pair[0].0 as usize].next = Next::State(pair[1]);
        }
        let scope = &mut self.scopes[id.0 as usize];
        scope.start = ids[0];
        scope.states = ids;
        id
    }

    fn push(&mut self, scope: ScopeId, kind: StateKind) -> StateId {
        let id = StateId(self.states.len() as u32);
        self.states.push(State {
            name: StateName::new(format!("E{}", id.0)),
            scope,
            kind,
            input: None,
            output: None,
            global: None,
            next: Next::End,
            asl: None,
        });
        id
    }

    fn kind(&mut self, node: &Echo) -> StateKind {
        match node {
            Echo::Pass => StateKind::Pass,
            Echo::Task { callback } => StateKind::Task(Task {
                target: TaskTarget::Function(FunctionRef {
                    service: "svc".into(),
                    qualifier: None,
                    function: "echo".into(),
                    invocation: sluice_ir::Invocation::Sync,
                }),
                resource: "acs:fc:::services/svc/functions/echo".into(),
                mode: if *callback {
                    TaskMode::WaitForCustomCallback
                } else {
                    TaskMode::RequestComplete
                },
                body: Body::StateInput,
                timeout_secs: None,
                heartbeat_secs: None,
                recovery: Recovery::default(),
            }),
            Echo::Parallel(branches) => StateKind::Parallel(Parallel {
                branches: branches
                    .iter()
                    .enumerate()
                    .map(|(i, b)| self.scope(b, Some(i)))
                    .collect(),
                result: Aggregate::BranchKeys,
                recovery: Recovery::default(),
            }),
            Echo::Map {
                items,
                max_concurrency,
                body,
            } => StateKind::Map(Map {
                items: Items::Expr(Expr::Literal(json!((0..*items).collect::<Vec<_>>()))),
                processor: self.scope(body, None),
                max_concurrency: *max_concurrency,
                item_input: ItemInput::Item,
                result: Aggregate::ItemsField,
                recovery: Recovery::default(),
                distributed: None,
                asl_limits: None,
            }),
            Echo::Dag(nodes) => StateKind::Dag(Dag {
                nodes: nodes
                    .iter()
                    .enumerate()
                    .map(|(i, (node, picks))| DagNode {
                        name: format!("N{i}"),
                        scope: self.scope(node, Some(i)),
                        after: earlier(i, picks),
                        on_failure: NodeFailure::Fail,
                    })
                    .collect(),
                recovery: Recovery::default(),
            }),
        }
    }
}

/// The nodes before node `index` that `picks` name (duplicates are harmless edges).
fn earlier(index: usize, picks: &[u8]) -> Vec<u32> {
    match index {
        0 => Vec::new(),
        _ => picks.iter().map(|p| (*p as usize % index) as u32).collect(),
    }
}
