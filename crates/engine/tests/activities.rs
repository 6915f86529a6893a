//! ASL activity tasks and heartbeats: a task of an activity waits for a worker to take it
//! (`Input::ActivityTaken`), exactly once; `HeartbeatSeconds` runs from the pickup and every
//! heartbeat starts it over; a quiet worker fails the task with `States.HeartbeatTimeout`.

use serde_json::json;
use sluice_engine::{
    Effect, EventType, Execution, ExecutionInfo, Input, Limits, PendingOp, Rejection, Status,
};
use sluice_ir::Flow;

const T0: i64 = 1_700_000_000_000;

fn flow(task: &str) -> Flow {
    let text = format!(
        r#"{{"StartAt": "Work", "States": {{"Work": {{"Type": "Task",
            "Resource": "arn:aws:states:us-east-1:1:activity:printer", {task} "End": true}}}}}}"#
    );
    sluice_lang::compile(sluice_lang::Dialect::Asl, &text).unwrap_or_else(|e| panic!("{e}"))
}

fn started(flow: &Flow) -> Execution {
    let info = ExecutionInfo {
        name: "run".into(),
        flow_name: "printing".into(),
        role_arn: None,
        token_prefix: "t.".into(),
        seed: 1,
        // No deadline: the only timers are the task's.
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
                input: json!({"doc": 1}),
            },
            T0,
        )
        .expect("started");
    let kinds: Vec<EventType> = step.events.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventType::TaskScheduled), "{kinds:?}");
    assert!(
        !kinds.contains(&EventType::TaskStarted),
        "an activity's task starts when a worker takes it: {kinds:?}"
    );
    execution
}

fn waiting_op(execution: &Execution) -> sluice_engine::OpId {
    let [call] = execution.waiting_activities().collect::<Vec<_>>()[..] else {
        panic!("one task waits for a worker");
    };
    assert_eq!(call.activity(), Some("printer"));
    assert_eq!(call.body, json!({"doc": 1}));
    call.op
}

fn heartbeat_timers(execution: &Execution) -> Vec<i64> {
    execution
        .pending_ops()
        .filter_map(|op| match op {
            PendingOp::Timer { fire_at, .. } => Some(fire_at),
            _ => None,
        })
        .collect()
}

#[test]
fn a_task_is_taken_once_and_its_token_reports_its_result() {
    let flow = flow("");
    let mut execution = started(&flow);
    let op = waiting_op(&execution);
    let taken = Input::ActivityTaken {
        op,
        worker: Some("w1".into()),
    };
    let step = execution
        .apply(&flow, taken.clone(), T0 + 5)
        .expect("taken");
    let start = step
        .events
        .iter()
        .find(|e| e.kind == EventType::TaskStarted);
    assert_eq!(
        start.map(|e| &*e.detail),
        Some(&json!({"workerName": "w1"}))
    );
    assert_eq!(execution.waiting_activities().count(), 0);
    assert_eq!(
        execution.apply(&flow, taken, T0 + 6).unwrap_err(),
        Rejection::Stale,
        "a second worker gets nothing"
    );
    let (_, token) = execution.awaiting_callbacks().next().expect("its token");
    let token = token.to_string();
    assert!(
        !execution.awaits_heartbeat(&token),
        "no HeartbeatSeconds, no timer"
    );
    execution
        .apply(
            &flow,
            Input::Heartbeat {
                token: token.clone(),
            },
            T0 + 7,
        )
        .expect("a heartbeat of a task without a period changes nothing");
    let report = Input::CallbackReported {
        token,
        result: Ok(json!({"printed": true})),
    };
    execution.apply(&flow, report, T0 + 8).expect("reported");
    assert_eq!(execution.status(), Status::Succeeded);
    assert_eq!(execution.output(), Some(&json!({"printed": true})));
}

#[test]
fn heartbeats_restart_the_period_and_silence_fails_the_task() {
    let flow = flow(r#""HeartbeatSeconds": 10,"#);
    let mut execution = started(&flow);
    assert!(
        heartbeat_timers(&execution).is_empty(),
        "no period before the pickup"
    );
    let op = waiting_op(&execution);
    execution
        .apply(&flow, Input::ActivityTaken { op, worker: None }, T0 + 1_000)
        .expect("taken");
    assert_eq!(heartbeat_timers(&execution), vec![T0 + 11_000]);
    let (_, token) = execution.awaiting_callbacks().next().expect("its token");
    let token = token.to_string();
    assert!(execution.awaits_heartbeat(&token));

    let step = execution
        .apply(&flow, Input::Heartbeat { token }, T0 + 5_000)
        .expect("a heartbeat");
    assert!(
        step.effects
            .iter()
            .any(|e| matches!(e, Effect::CancelTimer(_))),
        "the old period is cancelled: {:?}",
        step.effects
    );
    assert_eq!(heartbeat_timers(&execution), vec![T0 + 15_000]);

    let timer = execution
        .pending_ops()
        .find_map(|op| match op {
            PendingOp::Timer { op, .. } => Some(op),
            _ => None,
        })
        .expect("the heartbeat timer");
    let step = execution
        .apply(&flow, Input::TimerFired { op: timer }, T0 + 15_000)
        .expect("fired");
    let timed_out = step
        .events
        .iter()
        .find(|e| e.kind == EventType::TaskTimedOut)
        .expect("the task timed out");
    assert_eq!(timed_out.detail["error"], "States.HeartbeatTimeout");
    assert_eq!(execution.status(), Status::Failed);
    assert_eq!(
        execution.error().map(|e| e.code.as_str()),
        Some("States.HeartbeatTimeout")
    );
}

#[test]
fn states_timeout_catches_a_heartbeat_timeout() {
    let text = r#"{"StartAt": "Work", "States": {
        "Work": {"Type": "Task", "Resource": "arn:aws:states:us-east-1:1:activity:printer",
                 "HeartbeatSeconds": 1,
                 "Catch": [{"ErrorEquals": ["States.Timeout"], "Next": "Late"}], "End": true},
        "Late": {"Type": "Pass", "End": true}}}"#;
    let flow = sluice_lang::compile(sluice_lang::Dialect::Asl, text).expect("compiles");
    let mut execution = started(&flow);
    let op = waiting_op(&execution);
    execution
        .apply(&flow, Input::ActivityTaken { op, worker: None }, T0)
        .expect("taken");
    let timer = execution
        .pending_ops()
        .find_map(|op| match op {
            PendingOp::Timer { op, .. } => Some(op),
            _ => None,
        })
        .expect("the heartbeat timer");
    execution
        .apply(&flow, Input::TimerFired { op: timer }, T0 + 1_000)
        .expect("fired");
    assert_eq!(execution.status(), Status::Succeeded, "caught");
}
