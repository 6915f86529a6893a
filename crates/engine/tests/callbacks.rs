//! Callback tasks reported before their submitting call has answered: a FunctionGraph v1
//! EVENT state whose event (`event_test`) arrives right after the start, before the built-in
//! event action has submitted the task (the race behind a flaky end-to-end test).

use serde_json::json;
use sluice_engine::{Effect, Execution, ExecutionInfo, Input, Limits, PendingOp, Status};

const T0: i64 = 1_700_000_000_000;

/// An EVENT state waiting for an `order` event, then the end.
const FLOW: &str = r#"{
  "event-defs": {"order": {"source": "urn:fgs:local:p:trigger:orders"}},
  "states": {
    "wait_order": {"type": "EVENT", "start": true, "events": [
      {"event-expression": "order", "next-state": "end"}]},
    "end": {"type": "END"}
  }
}"#;

#[test]
fn an_event_reported_before_its_task_is_submitted_completes_it() {
    let flow = sluice_lang::functiongraph::parse_v1(FLOW).unwrap_or_else(|e| panic!("{e}"));
    let info = ExecutionInfo {
        name: "order1".into(),
        flow_name: "orders".into(),
        role_arn: None,
        token_prefix: "t.".into(),
        seed: 1,
        limits: Limits::default(),
        context_ids: None,
    };
    let mut execution = Execution::new(info);
    execution
        .apply(&flow, Input::Start { input: json!({}) }, T0)
        .expect("started");
    let dispatched = execution
        .pending_ops()
        .find_map(|op| match op {
            PendingOp::Task { call, submitted } => Some((call.op, submitted)),
            PendingOp::Timer { .. } | PendingOp::Child(_) => None,
        })
        .expect("the EVENT state's task call");
    assert!(
        !dispatched.1,
        "not submitted yet: the event action has not answered"
    );

    let (state, token) = execution
        .awaiting_callbacks()
        .next()
        .map(|(state, token)| (state.to_string(), token.to_string()))
        .expect("the EVENT state waits for its event already");
    assert_eq!(state, "wait_order");
    let reported = Input::CallbackReported {
        token,
        result: Ok(json!({"id": 1})),
    };
    let step = execution
        .apply(&flow, reported, T0 + 1)
        .expect("the event is accepted");
    assert!(
        step.effects.contains(&Effect::CancelTask(dispatched.0)),
        "the submitting call is moot: {:?}",
        step.effects
    );
    assert_eq!(execution.status(), Status::Succeeded);
    assert_eq!(execution.output(), Some(&json!({"id": 1})));

    let late = Input::TaskCompleted {
        op: dispatched.0,
        result: Ok(json!({})),
    };
    assert!(
        execution.apply(&flow, late, T0 + 2).is_err(),
        "the event action's late answer changes nothing"
    );
}

/// An ASL `lambda:invoke.waitForTaskToken` task: the function's answer only submits it, and
/// the worker's report is the task's result as sent, not wrapped as a Lambda Invoke answer.
const ASL_CALLBACK: &str = r#"{
  "StartAt": "Work",
  "States": {"Work": {
    "Type": "Task",
    "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
    "Parameters": {"FunctionName": "worker", "Payload": {"token.$": "$$.Task.Token"}},
    "End": true}}
}"#;

#[test]
fn a_wait_for_task_token_result_is_the_workers_output_unwrapped() {
    let flow = sluice_lang::compile(sluice_lang::Dialect::Asl, ASL_CALLBACK)
        .unwrap_or_else(|e| panic!("{e}"));
    let info = ExecutionInfo {
        name: "run".into(),
        flow_name: "machine".into(),
        role_arn: None,
        token_prefix: "t.".into(),
        seed: 1,
        limits: Limits::default(),
        context_ids: None,
    };
    let mut execution = Execution::new(info);
    let started = execution
        .apply(&flow, Input::Start { input: json!({}) }, T0)
        .expect("started");
    let call = started
        .effects
        .iter()
        .find_map(|effect| match effect {
            Effect::Dispatch(call) => Some(call.clone()),
            _ => None,
        })
        .expect("the function is called");
    let token = call.token.clone().expect("a callback task has a token");
    assert_eq!(
        call.body,
        json!({"token": token}),
        "the token is $$.Task.Token"
    );

    let submitted = Input::TaskCompleted {
        op: call.op,
        result: Ok(json!({"StatusCode": 200})),
    };
    execution
        .apply(&flow, submitted, T0 + 1)
        .expect("the call submits the task");
    assert_eq!(execution.status(), Status::Running);
    let reported = Input::CallbackReported {
        token,
        result: Ok(json!({"shipped": 7})),
    };
    execution
        .apply(&flow, reported, T0 + 2)
        .expect("the report completes the task");
    assert_eq!(execution.status(), Status::Succeeded);
    assert_eq!(execution.output(), Some(&json!({"shipped": 7})));
}
