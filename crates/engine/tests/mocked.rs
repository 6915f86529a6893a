//! `Input::TaskMocked`: a task's result given in place of its call (a mock configuration's
//! answer). It is the state's result as given, even for a `lambda:invoke` (whose called answer
//! is wrapped) or a `.waitForTaskToken` task (whose called answer only submits it).

use serde_json::{Value, json};
use sluice_engine::{Effect, Execution, ExecutionInfo, Input, Limits, Rejection, Status, TaskCall};
use sluice_ir::{Flow, TaskError};

const T0: i64 = 1_700_000_000_000;

fn machine(resource: &str) -> Flow {
    let definition = json!({
        "StartAt": "Work",
        "States": {"Work": {
            "Type": "Task",
            "Resource": resource,
            "Parameters": {"FunctionName": "worker", "Payload": {"n": 1}},
            "Retry": [{"ErrorEquals": ["Mocked.Error"], "IntervalSeconds": 1, "MaxAttempts": 1}],
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "Caught"}],
            "End": true},
          "Caught": {"Type": "Pass", "End": true}}
    });
    sluice_lang::compile(sluice_lang::Dialect::Asl, &definition.to_string())
        .unwrap_or_else(|e| panic!("{e}"))
}

fn started(flow: &Flow) -> (Execution, TaskCall) {
    let mut execution = Execution::new(ExecutionInfo {
        name: "run".into(),
        flow_name: "machine".into(),
        role_arn: None,
        token_prefix: "t.".into(),
        seed: 1,
        limits: Limits::default(),
        context_ids: None,
    });
    let step = execution
        .apply(flow, Input::Start { input: json!({}) }, T0)
        .expect("started");
    (execution, dispatched(&step.effects))
}

fn dispatched(effects: &[Effect]) -> TaskCall {
    effects
        .iter()
        .find_map(|effect| match effect {
            Effect::Dispatch(call) => Some(call.clone()),
            _ => None,
        })
        .expect("a task call")
}

fn mocked(call: &TaskCall, result: Result<Value, TaskError>) -> Input {
    Input::TaskMocked {
        op: call.op,
        result,
    }
}

#[test]
fn a_mocked_lambda_invoke_result_is_not_wrapped_again() {
    let flow = machine("arn:aws:states:::lambda:invoke");
    let answer = json!({"StatusCode": 200, "Payload": {"body": "hi"}});
    let (mut execution, call) = started(&flow);
    assert!(execution.task_scheduled(call.op).is_some());
    execution
        .apply(&flow, mocked(&call, Ok(answer.clone())), T0 + 1)
        .expect("accepted");
    assert_eq!(execution.status(), Status::Succeeded);
    assert_eq!(execution.output(), Some(&answer));
    assert_eq!(execution.task_scheduled(call.op), None);

    // The same answer from a call is the function's payload, wrapped as Lambda's Invoke.
    let (mut called, call) = started(&flow);
    let completed = Input::TaskCompleted {
        op: call.op,
        result: Ok(answer.clone()),
    };
    called.apply(&flow, completed, T0 + 1).expect("accepted");
    assert_eq!(
        called.output().and_then(|o| o.get("Payload")),
        Some(&answer)
    );
}

#[test]
fn a_mocked_callback_task_ends_without_its_callback() {
    let flow = machine("arn:aws:states:::lambda:invoke.waitForTaskToken");
    let (mut execution, call) = started(&flow);
    execution
        .apply(&flow, mocked(&call, Ok(json!({"done": true}))), T0 + 1)
        .expect("accepted");
    assert_eq!(execution.status(), Status::Succeeded);
    assert_eq!(execution.output(), Some(&json!({"done": true})));
}

#[test]
fn a_mocked_error_is_retried_and_caught_and_a_stop_makes_a_late_mock_stale() {
    let flow = machine("arn:aws:states:::lambda:invoke");
    let (mut execution, call) = started(&flow);
    let thrown = || Err(TaskError::new("Mocked.Error", "the mock says no"));
    let step = execution
        .apply(&flow, mocked(&call, thrown()), T0 + 1)
        .expect("accepted");
    let backoff = step
        .effects
        .iter()
        .find_map(|effect| match effect {
            Effect::StartTimer { op, .. } => Some(*op),
            _ => None,
        })
        .expect("a retry backoff");
    let step = execution
        .apply(&flow, Input::TimerFired { op: backoff }, T0 + 1_001)
        .expect("the retry");
    let retry = dispatched(&step.effects);
    assert_eq!(retry.attempt, 1);
    execution
        .apply(&flow, mocked(&retry, thrown()), T0 + 1_002)
        .expect("accepted");
    assert_eq!(execution.status(), Status::Succeeded, "caught");

    let (mut stopped, call) = started(&flow);
    let stop = Input::Stop {
        error: None,
        cause: None,
    };
    stopped.apply(&flow, stop, T0 + 1).expect("stopped");
    assert_eq!(
        stopped.apply(&flow, mocked(&call, Ok(json!({}))), T0 + 2),
        Err(Rejection::AlreadyCompleted)
    );
}
