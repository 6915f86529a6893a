use sluice_ir::Dialect;

use super::*;

fn graph(dialect: Dialect, text: &str) -> FlowGraph {
    flow_graph(&sluice_lang::compile(dialect, text).expect("the definition compiles"))
}

fn node<'a>(graph: &'a FlowGraph, id: &str) -> &'a GraphNode {
    graph
        .nodes
        .iter()
        .find(|n| n.id == id)
        .unwrap_or_else(|| panic!("no node {id} in {:?}", graph.nodes))
}

fn edges(graph: &FlowGraph) -> Vec<(&str, &str, &str)> {
    graph
        .edges
        .iter()
        .map(|e| (e.from.as_str(), e.to.as_str(), e.label.as_str()))
        .collect()
}

#[test]
fn cloudflow_nests_branches_and_processors_and_labels_choices_and_catches() {
    let g = graph(
        Dialect::CloudFlow,
        include_str!("../../tests/data/graph/cloudflow.yaml"),
    );
    let nested = |id: &str| {
        let n = node(&g, id);
        (n.name.as_str(), n.kind.as_str(), n.parent.as_deref())
    };
    assert_eq!(nested("Route"), ("Route", "Choice", None));
    assert_eq!(nested("Both"), ("Both", "Parallel", None));
    assert_eq!(nested("Both/0"), ("Branch 1", "Branch", Some("Both")));
    assert_eq!(nested("Both/0/Fan"), ("Fan", "Map", Some("Both/0")));
    assert_eq!(
        nested("Both/0/Fan/processor"),
        ("Processor", "Processor", Some("Both/0/Fan"))
    );
    assert_eq!(
        nested("Both/0/Fan/processor/Item"),
        ("Item", "Task", Some("Both/0/Fan/processor"))
    );
    assert_eq!(nested("Both/1/Nap"), ("Nap", "Wait", Some("Both/1")));
    assert_eq!(g.nodes.len(), 10);
    assert_eq!(
        edges(&g),
        [
            ("Route", "Done", "case 1"),
            ("Route", "Both", "default"),
            ("Both", "Done", ""),
            ("Both", "Failed", "catch"),
        ]
    );
}

#[test]
fn dataarts_nodes_are_children_of_the_dag_with_an_edge_per_predecessor() {
    let g = graph(
        Dialect::DataArts,
        include_str!("../../tests/data/graph/dataarts.json"),
    );
    let dag = g
        .nodes
        .iter()
        .find(|n| n.parent.is_none())
        .expect("the Dag state");
    assert_eq!(dag.kind, "Dag");
    for name in ["extract", "left", "right", "load"] {
        let n = node(&g, &format!("{}/{name}", dag.id));
        assert_eq!(
            (n.name.as_str(), n.parent.as_deref()),
            (name, Some(dag.id.as_str()))
        );
    }
    let id = |name: &str| format!("{}/{name}", dag.id);
    let expected: Vec<(String, String)> = [
        ("extract", "left"),
        ("extract", "right"),
        ("left", "load"),
        ("right", "load"),
    ]
    .iter()
    .map(|(a, b)| (id(a), id(b)))
    .collect();
    let got: Vec<(String, String)> = g
        .edges
        .iter()
        .map(|e| (e.from.clone(), e.to.clone()))
        .collect();
    assert_eq!(got, expected);
}

#[test]
fn functiongraph_states_follow_their_transitions() {
    for (dialect, text) in [
        (
            Dialect::FunctionGraphV2,
            include_str!("../../tests/data/graph/functiongraph_v2.json"),
        ),
        (
            Dialect::FunctionGraphV1,
            include_str!("../../tests/data/graph/functiongraph_v1.json"),
        ),
    ] {
        let g = graph(dialect, text);
        let names: Vec<&str> = g.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["pause", "end"], "{dialect:?}");
        assert!(g.nodes.iter().all(|n| n.parent.is_none()));
        assert_eq!(edges(&g), [("pause", "end", "")], "{dialect:?}");
    }
}
