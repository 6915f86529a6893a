//! `Retry` runs a failed execution again from the top-level state that failed, with the data
//! it was entered with (FunctionGraph's retry of a failed execution).

use serde_json::json;
use sluice_engine::{
    Effect, EventType, Execution, ExecutionInfo, Input, Limits, Rejection, Status, TaskCall,
};
use sluice_ir::{Flow, TaskError};

const FLOW: &str = r#"Type: StateMachine
Name: retried
SpecVersion: v1
StartAt: Prepare
States:
  - Type: Pass
    Name: Prepare
    InputConstructor:
      n.$: $Input.n
      prepared: true
    Next: Charge
  - Type: Task
    Name: Charge
    Action: FC:InvokeFunction
    Parameters:
      resourceArn: acs:fc:::services/s/functions/charge
      body:
        amount.$: $Input.n
    Next: Done
  - Type: Pass
    Name: Done
    End: true
"#;

fn setup() -> (Flow, Execution) {
    let flow = sluice_lang::cloudflow::parse(FLOW).expect("the flow parses");
    let info = ExecutionInfo {
        name: "e".into(),
        flow_name: "retried".into(),
        role_arn: None,
        token_prefix: "t.".into(),
        seed: 1,
        limits: Limits::default(),
        context_ids: None,
    };
    (flow, Execution::new(info))
}

fn dispatched(effects: &[Effect]) -> Vec<TaskCall> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Dispatch(call) => Some(call.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_failed_execution_resumes_at_its_failed_state_with_the_same_input() {
    let (flow, mut ex) = setup();
    let step = ex
        .apply(
            &flow,
            Input::Start {
                input: json!({"n": 7}),
            },
            1,
        )
        .expect("start");
    let [first] = dispatched(&step.effects).try_into().expect("one call");
    assert_eq!(first.body, json!({"amount": 7}));
    let failure = Err(TaskError::new("Card.Declined", "no funds"));
    ex.apply(
        &flow,
        Input::TaskCompleted {
            op: first.op,
            result: failure,
        },
        2,
    )
    .expect("the failure");
    assert_eq!(ex.status(), Status::Failed);

    let step = ex.apply(&flow, Input::Retry, 3).expect("retry");
    assert_eq!(ex.status(), Status::Running);
    assert_eq!(ex.stopped_at(), None);
    assert_eq!(step.events[0].kind, EventType::ExecutionRetried);
    assert_eq!(
        step.events[0].step.as_ref().map(|s| s.as_str()),
        Some("Charge")
    );
    let [again] = dispatched(&step.effects)
        .try_into()
        .expect("the call again");
    assert_eq!(
        (again.state.as_str(), &again.body),
        ("Charge", &json!({"amount": 7}))
    );
    let step = ex
        .apply(
            &flow,
            Input::TaskCompleted {
                op: again.op,
                result: Ok(json!({"ok": true})),
            },
            4,
        )
        .expect("success");
    assert_eq!(ex.status(), Status::Succeeded);
    assert_eq!(ex.output().cloned(), Some(json!({"ok": true})));
    assert_eq!(
        step.events.last().map(|e| e.kind),
        Some(EventType::ExecutionSucceeded)
    );
    assert_eq!(
        ex.apply(&flow, Input::Retry, 5).unwrap_err(),
        Rejection::NotRetryable
    );
}

#[test]
fn only_a_failed_execution_can_be_retried() {
    let (flow, mut ex) = setup();
    assert_eq!(
        ex.apply(&flow, Input::Retry, 0).unwrap_err(),
        Rejection::NotRetryable
    );
    ex.apply(
        &flow,
        Input::Start {
            input: json!({"n": 1}),
        },
        1,
    )
    .expect("start");
    assert_eq!(
        ex.apply(&flow, Input::Retry, 2).unwrap_err(),
        Rejection::NotRetryable
    );
    ex.apply(
        &flow,
        Input::Stop {
            error: None,
            cause: None,
        },
        3,
    )
    .expect("stop");
    let before = ex.clone();
    assert_eq!(
        ex.apply(&flow, Input::Retry, 4).unwrap_err(),
        Rejection::NotRetryable
    );
    assert_eq!(ex, before, "a refused retry changes nothing");
}
