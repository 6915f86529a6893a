//! An inspected execution (AWS's `TestState`): its first state runs alone, each stage of its
//! data recorded; a matching retrier ends it instead of retrying, a catcher's handling and the
//! next state are recorded, not run.

use serde_json::{Map, Value, json};
use sluice_engine::{
    Effect, Execution, ExecutionInfo, Input, Inspection, Limits, RetryDetails, Status, Step,
};
use sluice_ir::{Flow, TaskError};
use sluice_lang::asl::single_state;

fn inspected(state: Value, variables: Value) -> (Flow, Execution) {
    let single = single_state(&state.to_string(), None).expect("the state compiles");
    let info = ExecutionInfo {
        name: "test".into(),
        flow_name: "test".into(),
        role_arn: None,
        token_prefix: "t.".into(),
        seed: 1,
        limits: Limits::default(),
        context_ids: None,
    };
    let variables: Map<String, Value> = serde_json::from_value(variables).expect("an object");
    (single.flow, Execution::inspected(info, variables))
}

fn start(flow: &Flow, ex: &mut Execution, input: Value) -> Step {
    ex.apply(flow, Input::Start { input }, 1_000)
        .expect("started")
}

/// Answers the one call the step dispatched.
fn answer(flow: &Flow, ex: &mut Execution, step: &Step, result: Result<Value, TaskError>) -> Step {
    let op = step
        .effects
        .iter()
        .find_map(|e| match e {
            Effect::Dispatch(call) => Some(call.op),
            _ => None,
        })
        .expect("a call was dispatched");
    ex.apply(flow, Input::TaskCompleted { op, result }, 2_000)
        .expect("answered")
}

fn recorded(ex: &Execution) -> &Inspection {
    ex.inspection().expect("inspected")
}

#[test]
fn each_stage_of_a_jsonpath_state_is_recorded_and_its_next_state_is_not_entered() {
    let state = json!({
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
        "InputPath": "$.order", "Parameters": {"id.$": "$.id"},
        "ResultSelector": {"picked.$": "$.id"}, "ResultPath": "$.out", "OutputPath": "$.out",
        "Assign": {"seen.$": "$.picked"}, "Next": "Ship",
    });
    let (flow, mut ex) = inspected(state, json!({"before": true}));
    let step = start(&flow, &mut ex, json!({"order": {"id": 7}}));
    answer(&flow, &mut ex, &step, Ok(json!({"id": 7, "extra": 1})));
    assert_eq!(ex.status(), Status::Succeeded);
    assert_eq!(ex.output(), Some(&json!({"picked": 7})));
    let i = recorded(&ex);
    assert_eq!(i.input, Some(json!({"order": {"id": 7}})));
    assert_eq!(i.after_input_path, Some(json!({"id": 7})));
    assert_eq!(i.after_arguments, Some(json!({"id": 7})));
    assert_eq!(i.result, Some(json!({"id": 7, "extra": 1})));
    assert_eq!(i.after_result_selector, Some(json!({"picked": 7})));
    assert_eq!(
        i.after_result_path,
        Some(json!({"order": {"id": 7}, "out": {"picked": 7}}))
    );
    assert_eq!(i.output, Some(json!({"picked": 7})));
    assert_eq!(i.next.as_deref(), Some("Ship"));
    let variables = json!({"before": true, "seen": 7});
    assert_eq!(Some(&i.variables), variables.as_object());
}

#[test]
fn a_matching_retrier_ends_the_execution_with_its_backoff_recorded() {
    let state = json!({
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true,
        "Retry": [{"ErrorEquals": ["Other"]}, {"ErrorEquals": ["E"], "IntervalSeconds": 2}],
        "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Handled"}],
    });
    let (flow, mut ex) = inspected(state, json!({}));
    let step = start(&flow, &mut ex, json!({}));
    let step = answer(&flow, &mut ex, &step, Err(TaskError::new("E", "boom")));
    assert!(
        !step
            .effects
            .iter()
            .any(|e| matches!(e, Effect::StartTimer { .. })),
        "no retry is waited for: {:?}",
        step.effects
    );
    assert_eq!(ex.status(), Status::Failed);
    let i = recorded(&ex);
    assert_eq!(
        i.retry,
        Some(RetryDetails {
            index: 1,
            backoff_ms: 2_000
        })
    );
    assert_eq!(i.catch_index, None);
    assert_eq!(i.error.as_ref().map(|e| e.code.as_str()), Some("E"));
}

#[test]
fn a_catcher_records_its_index_the_error_and_where_it_goes() {
    let state = json!({
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true,
        "Catch": [{"ErrorEquals": ["Other"], "Next": "A"},
                  {"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Handled"}],
    });
    let (flow, mut ex) = inspected(state, json!({}));
    let step = start(&flow, &mut ex, json!({"k": 1}));
    answer(&flow, &mut ex, &step, Err(TaskError::new("E", "boom")));
    assert_eq!(ex.status(), Status::Succeeded);
    let output = json!({"k": 1, "error": {"Error": "E", "Cause": "boom"}});
    assert_eq!(ex.output(), Some(&output));
    let i = recorded(&ex);
    assert_eq!(
        (i.catch_index, i.next.as_deref()),
        (Some(1), Some("Handled"))
    );
    assert_eq!(i.output, Some(output));
}

#[test]
fn an_execution_not_inspected_records_nothing() {
    let single = single_state(r#"{"Type": "Pass", "End": true}"#, None).unwrap();
    let info = ExecutionInfo {
        name: "e".into(),
        flow_name: "f".into(),
        role_arn: None,
        token_prefix: "t.".into(),
        seed: 1,
        limits: Limits::default(),
        context_ids: None,
    };
    let mut ex = Execution::new(info);
    start(&single.flow, &mut ex, json!({}));
    assert_eq!(ex.status(), Status::Succeeded);
    assert!(ex.inspection().is_none());
}
