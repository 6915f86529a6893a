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
