//! ASL states as AWS runs them: an INLINE Map's tolerated failures (read, checked, not
//! applied); `States.Runtime`, which no Retry or Catch handles; a state whose output fails
//! after its `ResultPath` keeps its raw input for a retry or a redrive.

use serde_json::{Value, json};
use sluice_engine::{Effect, Execution, ExecutionInfo, Input, Limits, Status, Step};
use sluice_ir::{Flow, TaskError};

fn compiled(definition: Value) -> (Flow, Execution) {
    let flow = sluice_lang::asl::parse(&definition.to_string()).expect("the machine compiles");
    let info = ExecutionInfo {
        name: "e".into(),
        flow_name: "m".into(),
        role_arn: None,
        token_prefix: "t.".into(),
        seed: 1,
        limits: Limits::default(),
        context_ids: None,
    };
    (flow, Execution::new(info))
}

/// Answers every call the step dispatched with `result`, until no call is left.
/// Starts `ex` with `input` at 1 s.
fn start(flow: &Flow, ex: &mut Execution, input: Value) -> Step {
    ex.apply(flow, Input::Start { input }, 1_000)
        .expect("started")
}

fn answer_all(flow: &Flow, ex: &mut Execution, mut step: Step, result: &Result<Value, TaskError>) {
    let mut now = 2_000;
    loop {
        let ops: Vec<_> = step
            .effects
            .iter()
            .filter_map(|e| match e {
                Effect::Dispatch(call) => Some(call.op),
                _ => None,
            })
            .collect();
        let Some(op) = ops.first() else { return };
        now += 1_000;
        step = ex
            .apply(
                flow,
                Input::TaskCompleted {
                    op: *op,
                    result: result.clone(),
                },
                now,
            )
            .expect("answered");
    }
}

fn inline_map(tolerated: Value) -> Value {
    let mut map = json!({
        "Type": "Map", "ItemsPath": "$.items", "End": true,
        "ItemProcessor": {"StartAt": "Call", "States": {"Call": {
            "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "End": true}}},
    });
    for (key, value) in tolerated.as_object().expect("fields") {
        map[key] = value.clone();
    }
    json!({"StartAt": "M", "States": {"M": map}})
}

/// AWS accepts `ToleratedFailureCount/Percentage` on an INLINE Map (recorded: conformance
/// `evaluate_jsonata.base_map@TOLERATED_FAILURE_COUNT`) and fails it with its first failed
/// iteration (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html).
#[test]
fn an_inline_map_accepts_tolerated_failures_and_fails_with_its_first_failed_iteration() {
    for tolerated in [
        json!({"ToleratedFailureCount": 5}),
        json!({"ToleratedFailurePercentage": 100}),
        json!({"ToleratedFailureCountPath": "$.n"}),
    ] {
        let (flow, mut ex) = compiled(inline_map(tolerated.clone()));
        let step = start(&flow, &mut ex, json!({"items": [1, 2], "n": 3}));
        answer_all(
            &flow,
            &mut ex,
            step,
            &Err(TaskError::new("Boom", "one failed")),
        );
        assert_eq!(ex.status(), Status::Failed, "{tolerated}");
        assert_eq!(
            ex.error().map(|e| e.code.as_str()),
            Some("Boom"),
            "{tolerated}"
        );
    }
}

/// An INLINE Map's tolerated failures read from its input are checked as a distributed Map's
/// are: a negative count fails the state with AWS's `States.Runtime` (recorded for the
/// distributed Map: conformance `map_state_tolerated_failure_count_path@-1`).
#[test]
fn an_inline_map_refuses_a_negative_tolerated_failure_count_read_from_its_input() {
    let (flow, mut ex) = compiled(inline_map(json!({"ToleratedFailureCountPath": "$.n"})));
    let step = start(&flow, &mut ex, json!({"items": [1], "n": -1}));
    assert!(
        !step
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Dispatch(_)))
    );
    assert_eq!(ex.status(), Status::Failed);
    let error = ex.error().expect("failed");
    assert_eq!(error.code.as_str(), "States.Runtime");
    assert!(
        error
            .detail
            .ends_with("ToleratedFailureCount cannot be negative."),
        "{}",
        error.detail
    );
}

/// `States.Runtime` is caught by no Catch, not even one naming it: an `OutputPath` that selects
/// nothing after the task succeeded fails the execution (recorded: conformance
/// `scenarios.base_scenarios.catch_states_runtime`; Developer Guide, "Handling errors":
/// "A States.Runtime error … will always cause the execution to fail").
#[test]
fn states_runtime_is_caught_by_no_catcher() {
    let (flow, mut ex) = compiled(json!({"StartAt": "Raise", "States": {
        "Raise": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
            "OutputPath": "$.no.such.result.path", "Next": "Final",
            "Retry": [{"ErrorEquals": ["States.Runtime"], "MaxAttempts": 2}],
            "Catch": [{"ErrorEquals": ["States.Runtime"], "Next": "Caught"}]},
        "Caught": {"Type": "Pass", "End": true},
        "Final": {"Type": "Pass", "End": true}}}));
    let step = start(&flow, &mut ex, json!({}));
    answer_all(&flow, &mut ex, step, &Ok(json!({})));
    assert_eq!(ex.status(), Status::Failed);
    let error = ex.error().expect("failed");
    assert_eq!(error.code.as_str(), "States.Runtime");
    assert_eq!(
        error.detail,
        "An error occurred while executing the state 'Raise' (entered at the event id #2). \
         Invalid path '$.no.such.result.path' : Missing property in path $['no']"
    );
}

/// The dispatched calls' bodies.
fn bodies(step: &Step) -> Vec<Value> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Dispatch(call) => Some(call.body.clone()),
            _ => None,
        })
        .collect()
}

/// The output is made out of the raw input, with the result placed in it: when `OutputPath`
/// then finds nothing, or the output is over the payload limit, the state runs again (a
/// redrive, a retry) with its raw input as it came, not with the result placed in it.
#[test]
fn a_failed_output_leaves_the_raw_input_as_it_was() {
    let task = json!({
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
        "ResultPath": "$.result.deeper", "OutputPath": "$.missing", "End": true,
    });
    let (flow, mut ex) = compiled(json!({"StartAt": "T", "States": {"T": task}}));
    let input = json!({"a": 1});
    let step = start(&flow, &mut ex, input.clone());
    assert_eq!(bodies(&step), std::slice::from_ref(&input));
    answer_all(&flow, &mut ex, step, &Ok(json!({"r": 2})));
    assert_eq!(ex.status(), Status::Failed);
    let step = ex.apply(&flow, Input::Redrive, 9_000).expect("redriven");
    assert_eq!(bodies(&step), std::slice::from_ref(&input));

    let task = json!({
        "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
        "ResultPath": "$.result", "End": true,
        "Retry": [{"ErrorEquals": ["States.DataLimitExceeded"], "MaxAttempts": 1}],
    });
    let (flow, mut ex) = compiled(json!({"StartAt": "T", "States": {"T": task}}));
    // Each under the 64 KiB limit, the two together over it.
    let input = json!({"a": 1, "b": "x".repeat(40 * 1024)});
    let step = start(&flow, &mut ex, input.clone());
    let Some(op) = step.effects.iter().find_map(|e| match e {
        Effect::Dispatch(call) => Some(call.op),
        _ => None,
    }) else {
        panic!("the task is called: {step:?}");
    };
    let result = json!("y".repeat(40 * 1024));
    let step = ex
        .apply(
            &flow,
            Input::TaskCompleted {
                op,
                result: Ok(result),
            },
            2_000,
        )
        .expect("answered");
    let Some((op, fire_at)) = step.effects.iter().find_map(|e| match e {
        Effect::StartTimer { op, fire_at } => Some((*op, *fire_at)),
        _ => None,
    }) else {
        panic!("the retry waits: {step:?}");
    };
    let step = ex
        .apply(&flow, Input::TimerFired { op }, fire_at)
        .expect("retried");
    assert_eq!(bodies(&step), [input]);
}
