//! ASL `states:startExecution[.sync[:2]]` tasks: the engine dispatches a call of target
//! `TaskTarget::Execution` with the effective input (`StateMachineArn`, `Input`, `Name`),
//! turns the runtime's report of the execution (`NestedEnd`) into AWS's shapes, fails the task
//! with `States.TaskFailed` when the execution did not succeed, and cancels the call (which the
//! runtime makes a stop of the child, in the same step) when the parent stops or times out.

use serde_json::{Value, json};
use sluice_engine::{
    Effect, EventType, Execution, ExecutionInfo, Input, Limits, OpId, Status, TaskCall,
};
use sluice_ir::nested::{NestedEnd, NestedStatus};
use sluice_ir::{Flow, NestedWait, TaskTarget};

const T0: i64 = 1_700_000_000_000;
const CHILD: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:Child";

fn flow(suffix: &str, extra: &str) -> Flow {
    let text = format!(
        r#"{{"StartAt": "Run", "States": {{"Run": {{"Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution{suffix}", {extra}
            "Parameters": {{"StateMachineArn": "{CHILD}", "Name": "kid", "Input": {{"n.$": "$.n"}}}},
            "End": true}}}}}}"#
    );
    sluice_lang::compile(sluice_lang::Dialect::Asl, &text).unwrap_or_else(|e| panic!("{e}"))
}

fn started(flow: &Flow) -> (Execution, TaskCall) {
    let info = ExecutionInfo {
        name: "parent".into(),
        flow_name: "Parent".into(),
        role_arn: None,
        token_prefix: "t.".into(),
        seed: 1,
        limits: Limits {
            execution_timeout_ms: None,
            ..Limits::default()
        },
        context_ids: None,
    };
    let mut execution = Execution::new(info);
    let step = execution
        .apply(
            flow,
            Input::Start {
                input: json!({"n": 3}),
            },
            T0,
        )
        .expect("started");
    let calls: Vec<TaskCall> = step
        .effects
        .into_iter()
        .filter_map(|effect| match effect {
            Effect::Dispatch(call) => Some(call),
            _ => None,
        })
        .collect();
    let [call] = &calls[..] else {
        panic!("one call: {calls:?}");
    };
    (execution, call.clone())
}

fn report(status: NestedStatus) -> Value {
    let end = NestedEnd {
        name: "kid".into(),
        status,
        started_at: T0,
        stopped_at: (status != NestedStatus::Running).then_some(T0 + 5),
        output: (status == NestedStatus::Succeeded).then(|| json!({"m": 6})),
        error: (status == NestedStatus::Failed).then(|| "Kid.Failed".into()),
        cause: (status == NestedStatus::Failed).then(|| "no".into()),
    };
    serde_json::to_value(end).expect("JSON")
}

fn complete(flow: &Flow, execution: &mut Execution, op: OpId, status: NestedStatus) {
    let input = Input::TaskCompleted {
        op,
        result: Ok(report(status)),
    };
    execution.apply(flow, input, T0 + 10).expect("reported");
}

#[test]
fn the_call_names_the_child_and_its_input() {
    let (_, call) = started(&flow(".sync", ""));
    assert_eq!(call.target, TaskTarget::Execution(NestedWait::OutputText));
    assert_eq!(
        call.body,
        json!({"StateMachineArn": CHILD, "Name": "kid", "Input": {"n": 3}})
    );
    let (_, call) = started(&flow("", ""));
    assert_eq!(call.target, TaskTarget::Execution(NestedWait::Started));
}

#[test]
fn sync_hands_on_the_output_as_text_and_sync_2_as_json() {
    for (suffix, output) in [(".sync", json!("{\"m\":6}")), (".sync:2", json!({"m": 6}))] {
        let flow = flow(suffix, "");
        let (mut execution, call) = started(&flow);
        complete(&flow, &mut execution, call.op, NestedStatus::Succeeded);
        assert_eq!(execution.status(), Status::Succeeded);
        let result = execution.output().cloned().unwrap_or_default();
        assert_eq!(result["Output"], output, "{suffix}");
        assert_eq!(
            result["ExecutionArn"],
            json!("arn:aws:states:us-east-1:123456789012:execution:Child:kid")
        );
        assert_eq!(
            (result["StartDate"].clone(), result["StopDate"].clone()),
            (json!(T0), json!(T0 + 5))
        );
    }
}

#[test]
fn the_start_of_a_waited_for_child_submits_the_task_and_its_end_resolves_it() {
    let flow = flow(".sync:2", "");
    let (mut execution, call) = started(&flow);
    let submit = Input::TaskCompleted {
        op: call.op,
        result: Ok(report(NestedStatus::Running)),
    };
    let step = execution
        .apply(&flow, submit.clone(), T0 + 1)
        .expect("submitted");
    let [event] = &step.events[..] else {
        panic!("one event: {:?}", step.events);
    };
    assert_eq!(event.kind, EventType::TaskSubmitted);
    assert_eq!(
        event.detail["output"]["ExecutionArn"],
        json!("arn:aws:states:us-east-1:123456789012:execution:Child:kid")
    );
    assert_eq!(execution.status(), Status::Running);
    assert_eq!(
        execution.apply(&flow, submit, T0 + 2),
        Err(sluice_engine::Rejection::Stale)
    );
    complete(&flow, &mut execution, call.op, NestedStatus::Succeeded);
    assert_eq!(execution.status(), Status::Succeeded);
}

#[test]
fn fire_and_forget_ends_with_the_start() {
    let flow = flow("", "");
    let (mut execution, call) = started(&flow);
    complete(&flow, &mut execution, call.op, NestedStatus::Running);
    assert_eq!(
        execution.output(),
        Some(&json!({
            "ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:Child:kid",
            "StartDate": T0,
        }))
    );
}

#[test]
fn a_child_that_failed_fails_the_task_with_states_task_failed() {
    let flow = flow(".sync:2", "");
    let (mut execution, call) = started(&flow);
    complete(&flow, &mut execution, call.op, NestedStatus::Failed);
    assert_eq!(execution.status(), Status::Failed);
    let error = execution.error().expect("an error");
    assert_eq!(error.code.as_str(), "States.TaskFailed");
    let cause: Value = serde_json::from_str(&error.detail).expect("a JSON cause");
    assert_eq!(
        (cause["Status"].clone(), cause["Error"].clone()),
        (json!("FAILED"), json!("Kid.Failed"))
    );
}

#[test]
fn a_stop_and_a_timeout_cancel_the_call_in_their_step() {
    let flow_ = flow(".sync", "");
    let (mut execution, call) = started(&flow_);
    let stop = Input::Stop {
        error: None,
        cause: None,
    };
    let step = execution.apply(&flow_, stop, T0 + 1).expect("stopped");
    assert!(
        step.effects.contains(&Effect::CancelTask(call.op)),
        "{:?}",
        step.effects
    );
    assert_eq!(execution.status(), Status::Stopped);

    let timed = flow(".sync", r#""TimeoutSeconds": 1,"#);
    let (mut execution, call) = started(&timed);
    let timer = execution
        .pending_ops()
        .find_map(|op| match op {
            sluice_engine::PendingOp::Timer { op, .. } => Some(op),
            _ => None,
        })
        .expect("a timeout timer");
    let step = execution
        .apply(&timed, Input::TimerFired { op: timer }, T0 + 1_000)
        .expect("fired");
    assert!(
        step.effects.contains(&Effect::CancelTask(call.op)),
        "{:?}",
        step.effects
    );
    assert!(
        step.events
            .iter()
            .any(|e| e.kind == EventType::TaskTimedOut)
    );
}

#[test]
fn a_start_without_a_state_machine_arn_fails_before_any_call() {
    let text = r#"{"StartAt": "Run", "States": {"Run": {"Type": "Task",
        "Resource": "arn:aws:states:::states:startExecution.sync",
        "Parameters": {"StateMachineArn.$": "$.missing"}, "End": true}}}"#;
    let flow = sluice_lang::compile(sluice_lang::Dialect::Asl, text).expect("compiles");
    let info = ExecutionInfo {
        name: "parent".into(),
        flow_name: "Parent".into(),
        role_arn: None,
        token_prefix: "t.".into(),
        seed: 1,
        limits: Limits::default(),
        context_ids: None,
    };
    let mut execution = Execution::new(info);
    let step = execution
        .apply(
            &flow,
            Input::Start {
                input: json!({"missing": 1}),
            },
            T0,
        )
        .expect("started");
    assert!(
        !step
            .effects
            .iter()
            .any(|e| matches!(e, Effect::Dispatch(_)))
    );
    assert_eq!(execution.status(), Status::Failed);
}

#[test]
fn a_waiting_parent_and_a_nested_child_survive_their_snapshots() {
    use sluice_engine::{CallSnapshot, ParentLink, Snapshot};
    let flow = flow(".sync:2", "");
    let (execution, call) = started(&flow);
    let text = serde_json::to_string(&Snapshot::of(&execution)).expect("serializes");
    let read: Snapshot = serde_json::from_str(&text).expect("reads");
    assert_eq!(Execution::from(read), execution);
    let text = serde_json::to_string(&CallSnapshot::of(&call)).expect("serializes");
    let read: CallSnapshot = serde_json::from_str(&text).expect("reads");
    assert_eq!(TaskCall::from(read), call);

    let link = ParentLink {
        execution: "parent".into(),
        op: call.op,
        flow: Some(7),
    };
    let child = Execution::child(execution.info().clone(), sluice_ir::ScopeId::ROOT, link);
    let text = serde_json::to_string(&Snapshot::of(&child)).expect("serializes");
    let read: Snapshot = serde_json::from_str(&text).expect("reads");
    assert_eq!(Execution::from(read).parent().and_then(|p| p.flow), Some(7));
}

#[test]
fn jsonata_arguments_name_the_start() {
    let text = format!(
        r#"{{"QueryLanguage": "JSONata", "StartAt": "Run", "States": {{"Run": {{"Type": "Task",
            "Resource": "arn:aws:states:::states:startExecution.sync:2",
            "Arguments": {{"StateMachineArn": "{CHILD}", "Input": "{{% {{'n': $states.input.n * 2}} %}}"}},
            "End": true}}}}}}"#
    );
    let flow =
        sluice_lang::compile(sluice_lang::Dialect::Asl, &text).unwrap_or_else(|e| panic!("{e}"));
    let (_, call) = started(&flow);
    assert_eq!(
        call.body,
        json!({"StateMachineArn": CHILD, "Input": {"n": 6}})
    );
}
