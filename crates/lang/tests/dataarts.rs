//! DataArts jobs: a diamond DAG compiles to dependency layers with the node settings carried
//! over; broken jobs report located problems.

mod support;

use serde_json::json;
use sluice_ir::{Body, ErrorCode, Flow, Language, Next, StateKind, TaskTarget, Template, actions};
use sluice_lang::dataarts::parse;

fn diamond() -> Flow {
    let path = format!(
        "{}/tests/data/dataarts/diamond.json",
        env!("CARGO_MANIFEST_DIR")
    );
    parse(&std::fs::read_to_string(path).unwrap()).unwrap_or_else(|e| panic!("{e}"))
}

/// Node names per layer, in order.
fn layers(flow: &Flow) -> Vec<Vec<String>> {
    let mut layers = Vec::new();
    let mut next = Next::State(flow.root().start);
    while let Next::State(id) = next {
        let state = flow.state(id);
        let StateKind::Parallel(parallel) = &state.kind else {
            panic!("{} is not a layer", state.name);
        };
        layers.push(
            parallel
                .branches
                .iter()
                .map(|b| flow.state(flow.scope(*b).start).name.to_string())
                .collect(),
        );
        next = state.next;
    }
    layers
}

fn node<'f>(flow: &'f Flow, name: &str) -> &'f StateKind {
    &flow
        .states
        .iter()
        .find(|s| s.name.as_str() == name)
        .unwrap()
        .kind
}

#[test]
fn a_diamond_runs_in_three_layers() {
    let flow = diamond();
    assert_eq!(flow.language, Language::DataArts);
    assert_eq!(flow.name.as_deref(), Some("diamond"));
    assert_eq!(
        layers(&flow),
        [vec!["extract"], vec!["left", "right"], vec!["load"]]
    );
    assert!(matches!(node(&flow, "left"), StateKind::Pass));
}

#[test]
fn node_settings_become_the_task_s_request_retry_timeout_and_catch() {
    let flow = diamond();
    let StateKind::Task(extract) = node(&flow, "extract") else {
        panic!()
    };
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
    assert_eq!((retry.max_attempts, retry.interval_secs), (2, 5));
    assert!(
        extract.recovery.catch.is_empty(),
        "FAIL is the default policy"
    );

    let StateKind::Task(right) = node(&flow, "right") else {
        panic!()
    };
    assert_eq!(right.target, TaskTarget::Action("DLF:HiveSQL".into()));
    let catch = &right.recovery.catch[0];
    assert_eq!(catch.errors, [ErrorCode::ALL]);
    assert_eq!(flow.state(catch.next).name.as_str(), "right#ignored");
    assert!(matches!(flow.state(catch.next).kind, StateKind::Succeed));
}

#[test]
fn broken_jobs_report_located_problems() {
    let checked = support::check_invalid_dir("dataarts/invalid", "json", parse);
    assert!(checked >= 7, "only {checked} invalid examples found");
}

#[test]
fn garbage_never_panics() {
    support::refuses_garbage(parse);
}
