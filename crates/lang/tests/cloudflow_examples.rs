//! Every example of spec §7 parses into the expected structure.

use sluice_ir::{
    Aggregate, Body, Flow, ItemInput, Language, Next, StateKind, TaskMode, TaskTarget, Template,
    Wait,
};
use sluice_lang::cloudflow::parse;

fn example(name: &str) -> Flow {
    let path = format!(
        "{}/tests/data/cloudflow/{name}.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    parse(&text).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// (name, type) of the states of the root scope, in document order.
fn root_states(flow: &Flow) -> Vec<(String, &'static str)> {
    flow.root()
        .states
        .iter()
        .map(|id| {
            let s = flow.state(*id);
            (s.name.to_string(), s.kind.type_name())
        })
        .collect()
}

fn named(flow: &Flow, names: &[(&str, &str)]) -> bool {
    root_states(flow)
        == names
            .iter()
            .map(|(n, t)| {
                (
                    n.to_string(),
                    match *t {
                        "Pass" => "Pass",
                        "Task" => "Task",
                        "Choice" => "Choice",
                        "Parallel" => "Parallel",
                        "Map" => "Map",
                        "Wait" => "Wait",
                        "Succeed" => "Succeed",
                        _ => "Fail",
                    },
                )
            })
            .collect::<Vec<_>>()
}

fn id(flow: &Flow, name: &str) -> sluice_ir::StateId {
    flow.find_state(sluice_ir::ScopeId::ROOT, name).unwrap()
}

#[test]
fn a_pass_with_constant_input() {
    let flow = example("A-pass-constant-input");
    assert_eq!(flow.language, Language::CloudFlow);
    assert_eq!(flow.name.as_deref(), Some("my-wkfl"));
    assert!(named(&flow, &[("Pass1", "Pass")]));
    let pass = flow.state(flow.root().start);
    assert_eq!(pass.next, Next::End);
    assert_eq!(
        pass.input,
        Some(Template::Literal(serde_json::json!({"FieldA": 123})))
    );
}

#[test]
fn b_choice() {
    let flow = example("B-choice");
    assert!(named(
        &flow,
        &[("Choice1", "Choice"), ("Pass1", "Pass"), ("Pass2", "Pass")]
    ));
    let StateKind::Choice(choice) = &flow.state(id(&flow, "Choice1")).kind else {
        panic!()
    };
    assert_eq!(choice.branches.len(), 1);
    assert_eq!(choice.branches[0].next, Next::State(id(&flow, "Pass2")));
    assert_eq!(choice.default, Some(Next::State(id(&flow, "Pass1"))));
}

#[test]
fn c_parallel() {
    let flow = example("C-parallel");
    let StateKind::Parallel(p) = &flow.state(flow.root().start).kind else {
        panic!()
    };
    assert_eq!(p.branches.len(), 2);
    assert_eq!(p.result, Aggregate::BranchKeys);
    let first = flow.state(flow.scope(p.branches[0]).start);
    assert_eq!(first.name.as_str(), "Pass1");
    assert_eq!(first.scope, p.branches[0]);
    assert!(first.output.is_some());
    let second = flow.state(flow.scope(p.branches[1]).start);
    assert_eq!(second.name.as_str(), "Pass2");
    assert!(second.input.is_some());
}

#[test]
fn d_map_inline() {
    let flow = example("D-map-inline");
    let map_state = flow.state(flow.root().start);
    let StateKind::Map(map) = &map_state.kind else {
        panic!()
    };
    assert_eq!(map.max_concurrency, 0);
    assert_eq!(map.item_input, ItemInput::Item);
    assert_eq!(map.result, Aggregate::ItemsField);
    assert_eq!(
        flow.state(flow.scope(map.processor).start).name.as_str(),
        "Pass1"
    );
    assert!(map_state.input.is_some());
}

#[test]
fn e_task_function_compute() {
    let flow = example("E-task-function-compute");
    assert!(named(
        &flow,
        &[("InvokeSync", "Task"), ("InvokeAsync", "Task")]
    ));
    let StateKind::Task(sync) = &flow.state(id(&flow, "InvokeSync")).kind else {
        panic!()
    };
    let TaskTarget::Function(f) = &sync.target else {
        panic!()
    };
    assert_eq!(
        (
            f.service.as_str(),
            f.qualifier.as_deref(),
            f.function.as_str()
        ),
        ("myService1", Some("LATEST"), "myFunction1")
    );
    assert_eq!(sync.mode, TaskMode::RequestComplete);
    assert_eq!(
        sync.body,
        Body::Template(Template::Literal(
            serde_json::json!({"testKey": "value passed in the function event"})
        ))
    );
    let StateKind::Task(not_sync) = &flow.state(id(&flow, "InvokeAsync")).kind else {
        panic!()
    };
    assert_eq!(
        not_sync.body,
        Body::Template(Template::Literal(serde_json::json!({})))
    );
}

#[test]
fn f_callback_retry_catch_wait_fail() {
    let flow = example("F-callback-retry-catch-wait-fail");
    assert!(named(
        &flow,
        &[
            ("AskApproval", "Task"),
            ("Cooldown", "Wait"),
            ("Rejected", "Fail")
        ]
    ));
    let StateKind::Task(task) = &flow.state(id(&flow, "AskApproval")).kind else {
        panic!()
    };
    assert_eq!(task.mode, TaskMode::WaitForCustomCallback);
    assert_eq!(task.timeout_secs, Some(3600));
    let retry = &task.recovery.retry[0];
    assert_eq!(retry.errors, ["FnF.ALL"]);
    assert_eq!(
        (
            retry.max_attempts,
            retry.interval_secs,
            retry.backoff_rate,
            retry.max_backoff_secs
        ),
        (3, 2, 2.0, Some(30))
    );
    let catch = &task.recovery.catch[0];
    assert_eq!(catch.next, id(&flow, "Rejected"));
    assert!(matches!(&catch.output, Some(Template::Object(f)) if f.len() == 2));
    let Body::Template(Template::Object(body)) = &task.body else {
        panic!("{:?}", task.body)
    };
    assert_eq!(body[0].0, "taskToken");
    assert!(matches!(body[0].1, Template::Expr(_)));
    assert_eq!(
        flow.state(id(&flow, "Cooldown")).kind,
        StateKind::Wait(Wait::Seconds(10))
    );
    let StateKind::Fail(fail) = &flow.state(id(&flow, "Rejected")).kind else {
        panic!()
    };
    assert_eq!(fail.code.as_deref(), Some("Rejected"));
    assert_eq!(fail.detail.as_deref(), Some("approval failed"));
}

#[test]
fn g_fail_after_choice() {
    let flow = example("G-fail-after-choice");
    assert!(named(
        &flow,
        &[("Choice1", "Choice"), ("Fail1", "Fail"), ("Pass1", "Pass")]
    ));
    let StateKind::Fail(fail) = &flow.state(id(&flow, "Fail1")).kind else {
        panic!()
    };
    assert_eq!(fail.code.as_deref(), Some("customBizCode"));
}

#[test]
fn h_legacy_minimal() {
    let flow = example("H-legacy-minimal");
    assert_eq!(flow.language, Language::CloudFlowLegacy);
    assert!(named(&flow, &[("mypass", "Pass")]));
    assert_eq!(flow.root().data, sluice_ir::DataModel::Merge);
    assert_eq!(flow.state(flow.root().start).next, Next::End);
}

#[test]
fn i_legacy_task_retry_catch() {
    let flow = example("I-legacy-task-retry-catch");
    assert!(named(&flow, &[("hello", "Task"), ("final", "Pass")]));
    let hello = flow.state(id(&flow, "hello"));
    assert_eq!(hello.next, Next::State(id(&flow, "final")));
    let StateKind::Task(task) = &hello.kind else {
        panic!()
    };
    assert!(
        matches!(&task.target, TaskTarget::Function(f) if f.service == "fnf_test" && f.function == "hello")
    );
    assert_eq!(task.body, Body::StateInput);
    let retry = &task.recovery.retry[0];
    assert_eq!(
        (
            retry.max_attempts,
            retry.interval_secs,
            retry.backoff_rate,
            retry.max_backoff_secs
        ),
        (3, 10, 2.0, Some(300))
    );
    let catch = &task.recovery.catch[0];
    assert_eq!(catch.next, id(&flow, "final"));
    assert!(
        matches!(&catch.output, Some(Template::Object(f)) if f[0].0 == "errMsg" && f[1].0 == "errCode")
    );
}

#[test]
fn j_legacy_choice_with_inlined_steps() {
    let flow = example("J-legacy-choice-fail");
    assert!(named(
        &flow,
        &[
            ("mychoice", "Choice"),
            ("pass1", "Pass"),
            ("pass2", "Pass"),
            ("handle_failure", "Fail"),
            ("final", "Pass"),
        ]
    ));
    let StateKind::Choice(choice) = &flow.state(id(&flow, "mychoice")).kind else {
        panic!()
    };
    // ready: pass1, then goto final
    assert_eq!(choice.branches[0].next, Next::State(id(&flow, "pass1")));
    assert_eq!(
        flow.state(id(&flow, "pass1")).next,
        Next::State(id(&flow, "final"))
    );
    // failed: goto handle_failure
    assert_eq!(
        choice.branches[1].next,
        Next::State(id(&flow, "handle_failure"))
    );
    // default: pass2, then the step after the choice
    assert_eq!(choice.default, Some(Next::State(id(&flow, "pass2"))));
    assert_eq!(
        flow.state(id(&flow, "pass2")).next,
        Next::State(id(&flow, "handle_failure"))
    );
    let StateKind::Fail(fail) = &flow.state(id(&flow, "handle_failure")).kind else {
        panic!()
    };
    assert_eq!(fail.code.as_deref(), Some("StatusIsNotReady"));
    assert_eq!(flow.state(id(&flow, "final")).next, Next::End);
}

#[test]
fn k_legacy_foreach() {
    let flow = example("K-legacy-foreach");
    let state = flow.state(flow.root().start);
    let StateKind::Map(map) = &state.kind else {
        panic!()
    };
    assert_eq!(
        map.item_input,
        ItemInput::Merge {
            item: "name".into(),
            index: None
        }
    );
    assert_eq!(map.result, Aggregate::Array);
    assert_eq!(flow.scope(map.processor).data, sluice_ir::DataModel::Merge);
    assert_eq!(
        flow.state(flow.scope(map.processor).start).name.as_str(),
        "toUpperCase"
    );
    assert!(matches!(&state.output, Some(Template::Object(f)) if f[0].0 == "names"));
}

#[test]
fn l_legacy_wait() {
    let flow = example("L-legacy-wait");
    let state = flow.state(flow.root().start);
    assert!(matches!(state.kind, StateKind::Wait(Wait::SecondsExpr(_))));
}

#[test]
fn legacy_parallel_outputs_nothing_by_default() {
    let flow = parse(
        "version: v1\ntype: flow\nsteps:\n  - type: parallel\n    name: p\n    branches:\n      - steps:\n          - type: pass\n            name: a\n      - steps:\n          - type: pass\n            name: a\n",
    )
    .unwrap();
    let state = flow.state(flow.root().start);
    assert!(
        matches!(&state.kind, StateKind::Parallel(p) if p.result == Aggregate::Array && p.branches.len() == 2)
    );
    assert_eq!(state.output, Some(Template::Literal(serde_json::json!({}))));
}

#[test]
fn older_on_errors_form_and_misspelled_concurrency() {
    let flow = parse(
        r#"
Type: StateMachine
Name: f
SpecVersion: v1
StartAt: M
States:
  - Type: Map
    Name: M
    ItemsPath: $Input.items
    MaxConcuccency: 5
    ItemConstructor:
      v.$: $Item
    Processor:
      StartAt: T
      States:
        - Type: Task
          Name: T
          Action: HTTP:Request
          Parameters:
            url: http://example
          OnErrors:
            - Errors: [E1]
              Retry: {MaxAttempts: 2, FixedBackoff: 5, Multiplier: 1.5}
            - Errors: [FnF.ALL]
              Next: Handle
          End: true
        - Type: Succeed
          Name: Handle
    End: true
"#,
    )
    .unwrap();
    let StateKind::Map(map) = &flow.state(flow.root().start).kind else {
        panic!()
    };
    assert_eq!(map.max_concurrency, 5);
    assert!(matches!(map.item_input, ItemInput::Constructor(_)));
    let task = flow.state(flow.scope(map.processor).start);
    let StateKind::Task(task) = &task.kind else {
        panic!()
    };
    assert_eq!(task.target, TaskTarget::Action("HTTP:Request".into()));
    assert_eq!(task.recovery.retry[0].errors, ["E1"]);
    assert_eq!(task.recovery.retry[0].interval_secs, 5);
    assert_eq!(task.recovery.retry[0].backoff_rate, 1.5);
    assert_eq!(task.recovery.catch[0].errors, ["FnF.ALL"]);
}

#[test]
fn json_definitions_parse() {
    let flow = parse(
        r#"{"Type": "StateMachine", "Name": "j", "SpecVersion": "v1", "StartAt": "P",
            "States": [{"Type": "Pass", "Name": "P", "End": true}]}"#,
    )
    .unwrap();
    assert_eq!(flow.states.len(), 1);
}

#[test]
fn legacy_flow_level_mappings_shape_the_top_scope() {
    let flow = parse(
        "version: v1\ntype: flow\ninputMappings:\n  - target: who\n    source: $input.name\noutputMappings:\n  - target: done\n    source: true\nsteps:\n  - type: pass\n    name: p\n",
    )
    .unwrap();
    assert!(matches!(&flow.root().input, Some(Template::Object(fields)) if fields[0].0 == "who"));
    assert!(matches!(&flow.root().output, Some(Template::Object(fields)) if fields[0].0 == "done"));
}
