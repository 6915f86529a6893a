//! `Redrive` runs a failed, stopped or timed-out execution on from where it ended (AWS's
//! `RedriveExecution`): the unsuccessful top-level state again, of a Map or Parallel only
//! the iterations or branches that did not succeed; within 14 days of the end.

use serde_json::{Value, json};
use sluice_engine::{
    Effect, EventType, Execution, ExecutionInfo, Input, Limits, NotRedrivable, REDRIVE_WINDOW_MS,
    Rejection, Snapshot, Status, TaskCall,
};
use sluice_ir::{Dialect, Flow, TaskError};

const LAMBDA: &str = "arn:aws:lambda:us-east-1:123456789012:function:work";

fn machine(states: Value, start: &str) -> Flow {
    let definition = json!({"StartAt": start, "States": states});
    sluice_lang::compile(Dialect::Asl, &definition.to_string()).expect("the definition compiles")
}

/// A Map over `items` calling the function per item, then a Pass.
fn map_flow() -> Flow {
    machine(
        json!({
            "Each": {"Type": "Map", "ItemsPath": "$.items", "Next": "Done",
                     "ItemProcessor": {"StartAt": "Work", "States": {
                         "Work": {"Type": "Task", "Resource": LAMBDA, "End": true}}}},
            "Done": {"Type": "Pass", "End": true}
        }),
        "Each",
    )
}

fn task_flow() -> Flow {
    machine(
        json!({"Work": {"Type": "Task", "Resource": LAMBDA, "End": true}}),
        "Work",
    )
}

fn execution() -> Execution {
    Execution::new(ExecutionInfo {
        name: "e".into(),
        flow_name: "m".into(),
        role_arn: None,
        token_prefix: "t.".into(),
        seed: 1,
        limits: Limits::default(),
        context_ids: None,
    })
}

fn calls(effects: &[Effect]) -> Vec<TaskCall> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Dispatch(call) => Some(call.clone()),
            _ => None,
        })
        .collect()
}

fn answer(
    ex: &mut Execution,
    flow: &Flow,
    call: &TaskCall,
    result: Result<Value, TaskError>,
    now: i64,
) -> Vec<Effect> {
    let input = Input::TaskCompleted {
        op: call.op,
        result,
    };
    ex.apply(flow, input, now).expect("the answer").effects
}

fn start(ex: &mut Execution, flow: &Flow, input: Value) -> Vec<TaskCall> {
    calls(
        &ex.apply(flow, Input::Start { input }, 1)
            .expect("start")
            .effects,
    )
}

#[test]
fn a_redriven_map_runs_only_its_failed_iteration() {
    let flow = map_flow();
    let mut ex = execution();
    let first = start(&mut ex, &flow, json!({"items": [1, 2, 3]}));
    assert_eq!(first.len(), 3);
    answer(&mut ex, &flow, &first[0], Ok(json!("one")), 2);
    answer(&mut ex, &flow, &first[2], Ok(json!("three")), 3);
    answer(
        &mut ex,
        &flow,
        &first[1],
        Err(TaskError::new("Boom", "item 2")),
        4,
    );
    assert_eq!(ex.status(), Status::Failed);
    assert_eq!(ex.redrivable(5), Ok(()));

    // Stored and loaded between the failure and the redrive, as the server does.
    let mut ex: Execution = roundtrip(&ex);
    let step = ex.apply(&flow, Input::Redrive, 10).expect("redrive");
    assert_eq!(ex.status(), Status::Running);
    assert_eq!(step.events[0].kind, EventType::ExecutionRedriven);
    assert_eq!(ex.redrives().count, 1);
    assert_eq!(ex.redrives().last_at, Some(10));
    let again = calls(&step.effects);
    assert_eq!(again.len(), 1, "only the failed iteration runs again");
    assert_eq!(again[0].body, json!(2));
    let iterations = step
        .events
        .iter()
        .filter(|e| e.kind == EventType::IterationEntered)
        .count();
    assert_eq!(iterations, 1);

    answer(&mut ex, &flow, &again[0], Ok(json!("two")), 11);
    assert_eq!(ex.status(), Status::Succeeded);
    assert_eq!(ex.output(), Some(&json!(["one", "two", "three"])));
    assert_eq!(ex.redrivable(12), Err(NotRedrivable::Succeeded));
}

#[test]
fn a_redriven_parallel_runs_only_its_failed_branch() {
    let branch = |name: &str| json!({"StartAt": name, "States": {name: {"Type": "Task", "Resource": LAMBDA, "End": true}}});
    let flow = machine(
        json!({"Both": {"Type": "Parallel", "End": true, "Branches": [branch("A"), branch("B")]}}),
        "Both",
    );
    let mut ex = execution();
    let first = start(&mut ex, &flow, json!({}));
    answer(&mut ex, &flow, &first[0], Ok(json!("a")), 2);
    answer(
        &mut ex,
        &flow,
        &first[1],
        Err(TaskError::new("Boom", "b")),
        3,
    );
    assert_eq!(ex.status(), Status::Failed);
    let step = ex.apply(&flow, Input::Redrive, 4).expect("redrive");
    let [b] = calls(&step.effects).try_into().expect("branch B alone");
    assert_eq!(b.state.as_str(), "B");
    answer(&mut ex, &flow, &b, Ok(json!("b")), 5);
    assert_eq!(ex.output(), Some(&json!(["a", "b"])));
}

#[test]
fn a_stopped_execution_is_redriven_at_the_state_it_was_in() {
    let flow = task_flow();
    let mut ex = execution();
    let [call] = start(&mut ex, &flow, json!({"n": 1}))
        .try_into()
        .expect("one call");
    let stop = Input::Stop {
        error: Some("Halt".into()),
        cause: None,
    };
    ex.apply(&flow, stop, 2).expect("stop");
    assert_eq!(ex.status(), Status::Stopped);
    let step = ex.apply(&flow, Input::Redrive, 3).expect("redrive");
    assert_eq!(ex.error(), None);
    assert_eq!(ex.stopped_at(), None);
    let [again] = calls(&step.effects).try_into().expect("the call again");
    assert_eq!((again.state.as_str(), &again.body), ("Work", &call.body));
    answer(&mut ex, &flow, &again, Ok(json!("done")), 4);
    assert_eq!(ex.status(), Status::Succeeded);
}

#[test]
fn what_cannot_be_redriven_is_refused_and_changes_nothing() {
    let flow = task_flow();
    let mut ex = execution();
    let refused = |ex: &mut Execution, now: i64| {
        let before = ex.clone();
        let e = ex.apply(&flow, Input::Redrive, now).unwrap_err();
        assert_eq!(*ex, before, "a refused redrive changes nothing");
        e
    };
    assert_eq!(
        refused(&mut ex, 0),
        Rejection::NotRedrivable(NotRedrivable::Running)
    );
    let [call] = start(&mut ex, &flow, json!({}))
        .try_into()
        .expect("one call");
    assert_eq!(
        refused(&mut ex, 2),
        Rejection::NotRedrivable(NotRedrivable::Running)
    );
    answer(&mut ex, &flow, &call, Err(TaskError::new("Boom", "")), 3);
    let late = 3 + REDRIVE_WINDOW_MS + 1;
    assert_eq!(
        refused(&mut ex, late),
        Rejection::NotRedrivable(NotRedrivable::Expired)
    );
    assert!(
        ex.apply(&flow, Input::Redrive, late - 1).is_ok(),
        "the last moment of the window"
    );

    let mut never_started = execution();
    never_started
        .apply(
            &flow,
            Input::Stop {
                error: None,
                cause: None,
            },
            1,
        )
        .expect("a stop before the start");
    assert_eq!(
        refused(&mut never_started, 2),
        Rejection::NotRedrivable(NotRedrivable::NoState)
    );
}

fn roundtrip(ex: &Execution) -> Execution {
    let text = serde_json::to_string(&Snapshot::of(ex)).expect("encodes");
    let snapshot: Snapshot = serde_json::from_str(&text).expect("decodes");
    snapshot.into()
}
