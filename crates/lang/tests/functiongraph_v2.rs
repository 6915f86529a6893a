//! FunctionGraph v2 workflow definitions: the spec's example and our own compile to the
//! expected IR; broken ones report located problems.

mod support;

use serde_json::json;
use sluice_ir::{
    Aggregate, Body, ErrorCode, Flow, Language, Next, ScopeId, StateKind, TaskTarget, Template,
    Wait,
};
use sluice_lang::functiongraph::parse_v2;

fn example(name: &str) -> Flow {
    let path = format!(
        "{}/tests/data/functiongraph/v2/{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    parse_v2(&std::fs::read_to_string(&path).unwrap()).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn state<'f>(flow: &'f Flow, name: &str) -> &'f sluice_ir::State {
    flow.state(flow.find_state(ScopeId::ROOT, name).unwrap())
}

#[test]
fn the_spec_example_compiles_with_retry_catch_constants_and_sleep() {
    let flow = example("spec-example");
    assert_eq!(flow.language, Language::FunctionGraphV2);
    assert_eq!(flow.name.as_deref(), Some("workflow_test"));
    assert_eq!(flow.state(flow.root().start).name.as_str(), "test");
    let StateKind::Task(task) = &state(&flow, "test").kind else {
        panic!("test is not a task");
    };
    let TaskTarget::Function(function) = &task.target else {
        panic!("not a function call");
    };
    assert_eq!(
        (function.service.as_str(), function.function.as_str()),
        ("default", "test")
    );
    assert_eq!(function.qualifier, None);
    let Body::Template(Template::Object(arguments)) = &task.body else {
        panic!("arguments are not an object template");
    };
    assert!(matches!(&arguments[0], (k, Template::Expr(_)) if k == "execution_name"));
    assert_eq!(
        arguments[1],
        ("g".to_string(), Template::Literal(json!("hello")))
    );
    let retry = &task.recovery.retry[0];
    assert_eq!((retry.max_attempts, retry.interval_secs), (3, 2));
    assert_eq!(retry.errors, [ErrorCode::ALL]);
    assert_eq!(
        task.recovery.catch[0].next,
        flow.find_state(ScopeId::ROOT, "end").unwrap()
    );
    assert!(matches!(
        state(&flow, "wait").kind,
        StateKind::Wait(Wait::Seconds(10))
    ));
    assert!(matches!(state(&flow, "end").kind, StateKind::Succeed));
    assert_eq!(state(&flow, "end").next, Next::End);
}

#[test]
fn sequential_actions_chain_and_parallel_actions_branch() {
    let flow = example("sequential-and-parallel");
    let first = state(&flow, "prepare");
    let second_id = flow.find_state(ScopeId::ROOT, "prepare#2").unwrap();
    assert_eq!(first.next, Next::State(second_id));
    assert!(
        first.output.is_none(),
        "the output filter applies to the last action"
    );
    let second = flow.state(second_id);
    assert!(second.output.is_some());
    let StateKind::Task(task) = &second.kind else {
        panic!()
    };
    let Body::Template(Template::Object(arguments)) = &task.body else {
        panic!()
    };
    assert_eq!(
        arguments[1],
        ("label".to_string(), Template::Literal(json!("second")))
    );
    let StateKind::Parallel(parallel) = &state(&flow, "both").kind else {
        panic!("both is not parallel");
    };
    assert_eq!(parallel.branches.len(), 2);
    assert_eq!(parallel.result, Aggregate::Array);
    let branch = flow.scope(parallel.branches[0]);
    assert_eq!(flow.state(branch.start).name.as_str(), "both#1");
}

#[test]
fn broken_workflows_report_located_problems() {
    let checked = support::check_invalid_dir("functiongraph/v2/invalid", "json", parse_v2);
    assert!(checked >= 7, "only {checked} invalid examples found");
}

#[test]
fn garbage_never_panics() {
    support::refuses_garbage(parse_v2);
}

#[test]
fn history_names_a_function_by_its_urn() {
    let flow = example("spec-example");
    let StateKind::Task(task) = &state(&flow, "test").kind else {
        panic!("test is not a task");
    };
    assert_eq!(
        task.resource,
        "urn:fss:cn-north-4:c53626012ba84727b938ca8bf03108ef:function:default:test:latest"
    );
}
