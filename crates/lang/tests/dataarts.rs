//! DataArts jobs: a job compiles to one Dag state whose nodes keep the job's edges, failure
//! policies and settings; broken jobs report located problems.

mod support;

use serde_json::json;
use sluice_ir::{
    Body, Dag, ErrorCode, Flow, Language, Next, NodeFailure, StateKind, TaskTarget, Template,
    actions,
};
use sluice_lang::dataarts::{JOB_STATE, parse};

fn example(name: &str) -> Flow {
    let path = format!(
        "{}/tests/data/dataarts/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    parse(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{e}"))
}

/// The job's Dag: the flow's one top-level state.
fn dag(flow: &Flow) -> &Dag {
    let root = flow.root();
    assert_eq!(root.states.len(), 1);
    let state = flow.state(root.start);
    assert_eq!(state.name.as_str(), JOB_STATE);
    assert_eq!(state.next, Next::End);
    match &state.kind {
        StateKind::Dag(dag) => dag,
        other => panic!("the job state is a {}", other.type_name()),
    }
}

/// Each node with the names of the nodes it comes after.
fn edges(flow: &Flow) -> Vec<(String, Vec<String>)> {
    let dag = dag(flow);
    dag.nodes
        .iter()
        .map(|node| {
            let after = node
                .after
                .iter()
                .map(|p| dag.nodes[*p as usize].name.clone());
            (node.name.clone(), after.collect())
        })
        .collect()
}

/// The kind of the one state of node `name`'s scope, which carries the node's name.
fn node<'f>(flow: &'f Flow, name: &str) -> &'f StateKind {
    let node = dag(flow).nodes.iter().find(|n| n.name == name).unwrap();
    let scope = flow.scope(node.scope);
    assert_eq!(scope.states, [scope.start]);
    let state = flow.state(scope.start);
    assert_eq!(state.name.as_str(), name);
    assert_eq!(state.next, Next::End);
    &state.kind
}

fn task<'f>(flow: &'f Flow, name: &str) -> &'f sluice_ir::Task {
    match node(flow, name) {
        StateKind::Task(task) => task,
        other => panic!("{name} is a {}", other.type_name()),
    }
}

fn strings(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

#[test]
fn a_diamond_is_one_dag_with_its_edges() {
    let flow = example("diamond");
    assert_eq!(flow.language, Language::DataArts);
    assert_eq!(flow.name.as_deref(), Some("diamond"));
    assert_eq!(
        edges(&flow),
        [
            ("extract".into(), vec![]),
            ("left".into(), strings(&["extract"])),
            ("right".into(), strings(&["extract"])),
            ("load".into(), strings(&["left", "right"])),
        ]
    );
    assert!(matches!(node(&flow, "left"), StateKind::Pass));
    assert!(dag(&flow).recovery.retry.is_empty() && dag(&flow).recovery.catch.is_empty());
}

#[test]
fn node_settings_become_the_task_s_request_retry_and_timeout() {
    let flow = example("diamond");
    let extract = task(&flow, "extract");
    assert_eq!(extract.target, TaskTarget::Action(actions::HTTP.into()));
    assert_eq!(
        extract.body,
        Body::Template(Template::Literal(json!({
            "url": "http://127.0.0.1:9000/extract",
            "method": "POST",
            "headers": {"X-Job": "diamond"},
            "body": "{\"day\": \"today\"}",
        })))
    );
    assert_eq!(extract.timeout_secs, Some(600));
    let retry = &extract.recovery.retry[0];
    assert_eq!(retry.errors, [ErrorCode::ALL]);
    assert_eq!((retry.max_attempts, retry.interval_secs), (2, 5));
    assert_eq!(retry.backoff_rate, 1.0);
    assert!(extract.recovery.catch.is_empty(), "failures are the Dag's");

    let right = task(&flow, "right");
    assert_eq!(right.target, TaskTarget::Action("DLF:HiveSQL".into()));
    assert_eq!(
        right.body,
        Body::Template(Template::Literal(json!({
            "type": "HiveSQL",
            "properties": {"scriptName": "q1"},
        })))
    );
    assert!(right.recovery.retry.is_empty() && right.timeout_secs.is_none());
}

#[test]
fn fail_policies_map_to_node_failures() {
    let flow = example("policies");
    let policies: Vec<(&str, NodeFailure)> = dag(&flow)
        .nodes
        .iter()
        .map(|n| (n.name.as_str(), n.on_failure))
        .collect();
    assert_eq!(
        policies,
        [
            ("start", NodeFailure::Fail),
            ("report", NodeFailure::Continue),
            ("clean", NodeFailure::Drain),
            ("query", NodeFailure::Fail),
            ("done", NodeFailure::Fail),
        ]
    );
}

#[test]
fn every_node_type_compiles_to_its_target() {
    let flow = example("policies");
    let report = task(&flow, "report");
    assert_eq!(
        report.body,
        Body::Template(Template::Literal(json!({
            "url": "https://example.com/report",
            "method": "PUT",
            "headers": {"Authorization": "Bearer t"},
            "body": null,
        })))
    );
    let clean = task(&flow, "clean");
    assert_eq!(clean.target, TaskTarget::Action(actions::SHELL.into()));
    assert_eq!(
        clean.body,
        Body::Template(Template::Literal(
            json!({"script": "echo cleaning && echo done"})
        ))
    );
    assert_eq!(clean.timeout_secs, Some(3600));
    // retryInterval defaults to DataArts' 120 s.
    assert_eq!(clean.recovery.retry[0].interval_secs, 120);
    // A predecessor named twice is one edge; the schedule is not part of the flow.
    assert_eq!(edges(&flow)[3], ("query".to_string(), strings(&["start"])));
    assert_eq!(flow.states.len(), 6, "the Dag and its five nodes");
}

#[test]
fn broken_jobs_report_located_problems() {
    let checked = support::check_invalid_dir("dataarts/invalid", "json", parse);
    assert!(checked >= 15, "only {checked} invalid examples found");
}

#[test]
fn garbage_never_panics() {
    support::refuses_garbage(parse);
}
