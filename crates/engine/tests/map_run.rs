//! Distributed Maps: a child execution per item or batch, started as the concurrency allows,
//! failures counted against the tolerated ones, changed while it runs, and stopped with
//! their parent.

use serde_json::{Value, json};
use sluice_engine::{
    ChildStart, Effect, EventType, Execution, ExecutionInfo, Input, Limits, MapRunStatus, OpId,
    ParentLink, Snapshot, Status, Step,
};
use sluice_ir::objects::{ItemFormat, ItemsRequest, ResultsRequest};
use sluice_ir::{Flow, TaskError, TaskTarget, ToleratedFailures, actions};

fn flow(extra: &str) -> Flow {
    let text = format!(
        r"
Type: StateMachine
Name: fan
SpecVersion: v1
StartAt: Each
States:
  - Type: Map
    Name: Each
    ProcessorConfig:
      Mode: Distributed
      ExecutionMode: Express
    ItemsPath: $Input.items
{extra}
    Processor:
      StartAt: Work
      States:
        - Type: Pass
          Name: Work
          End: true
    End: true
"
    );
    sluice_lang::cloudflow::parse(&text).expect("the flow parses")
}

fn info(name: &str) -> ExecutionInfo {
    ExecutionInfo {
        name: name.into(),
        flow_name: "fan".into(),
        role_arn: None,
        token_prefix: format!("{name}."),
        seed: 1,
        limits: Limits::default(),
        context_ids: None,
    }
}

fn started(step: &Step) -> Vec<ChildStart> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::StartChild(start) => Some(start.clone()),
            _ => None,
        })
        .collect()
}

fn stopped(step: &Step) -> Vec<OpId> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::StopChild(op) => Some(*op),
            _ => None,
        })
        .collect()
}

fn start(flow: &Flow, items: usize) -> (Execution, Step) {
    let mut ex = Execution::new(info("parent"));
    let items: Vec<Value> = (0..items).map(|i| json!(i)).collect();
    let step = ex
        .apply(
            flow,
            Input::Start {
                input: json!({"items": items}),
            },
            1,
        )
        .expect("the start");
    (ex, step)
}

/// Runs a child as the runtime would: an `Execution::child` of the same flow.
fn run_child(flow: &Flow, start: &ChildStart) -> Result<Value, TaskError> {
    let parent = ParentLink {
        execution: "parent".into(),
        op: start.op,
        flow: None,
    };
    let mut child = Execution::child(info("child"), start.scope, parent);
    child
        .apply(
            flow,
            Input::Start {
                input: start.input.clone(),
            },
            2,
        )
        .expect("the child starts");
    assert_eq!(child.status(), Status::Succeeded);
    Ok(child.output().cloned().unwrap_or_default())
}

fn finish(ex: &mut Execution, flow: &Flow, op: OpId, result: Result<Value, TaskError>) -> Step {
    ex.apply(flow, Input::ChildFinished { op, result }, 3)
        .expect("the child's end")
}

#[test]
fn batches_run_as_children_at_most_max_concurrency_at_once() {
    let flow = flow("    MaxConcurrency: 2\n    ItemBatcher:\n      MaxItemsPerBatch: 2");
    let (mut ex, step) = start(&flow, 5);
    let mut waiting = started(&step);
    assert_eq!(waiting.len(), 2, "two children at once");
    assert_eq!(waiting[0].input, json!({"Items": [0, 1]}));
    let mut seen = 0;
    while let Some(child) = waiting.pop() {
        seen += 1;
        let result = run_child(&flow, &child);
        let step = finish(&mut ex, &flow, child.op, result);
        waiting.extend(started(&step));
        assert!(waiting.len() <= 2);
    }
    assert_eq!(seen, 3);
    assert_eq!(ex.status(), Status::Succeeded);
    assert_eq!(
        ex.output(),
        Some(&json!({"Items": [{"Items": [0, 1]}, {"Items": [2, 3]}, {"Items": [4]}]}))
    );
}

#[test]
fn failures_beyond_the_tolerated_count_fail_the_map_and_stop_the_other_children() {
    let flow = flow("    ToleratedFailureCount: 1");
    let (mut ex, step) = start(&flow, 4);
    let children = started(&step);
    assert_eq!(children.len(), 4);
    let failure = || Err(TaskError::new("Boom", "failed on purpose"));
    let tolerated = finish(&mut ex, &flow, children[0].op, failure());
    assert!(stopped(&tolerated).is_empty());
    assert_eq!(ex.status(), Status::Running);
    let over = finish(&mut ex, &flow, children[1].op, failure());
    let mut stopped = stopped(&over);
    stopped.sort();
    assert_eq!(stopped, [children[2].op, children[3].op]);
    assert_eq!(ex.status(), Status::Failed);
    assert_eq!(
        ex.error().map(|e| e.code.as_str()),
        Some("FnF.ToleratedFailuresExceeded")
    );
    // A child that ends after the Map failed changes nothing.
    assert!(
        ex.apply(
            &flow,
            Input::ChildFinished {
                op: children[2].op,
                result: Ok(json!(2))
            },
            4
        )
        .is_err()
    );
}

#[test]
fn a_stop_of_the_parent_stops_every_running_child_in_the_same_step() {
    let flow = flow("    MaxConcurrency: 3");
    let (mut ex, step) = start(&flow, 10);
    let running: Vec<OpId> = started(&step).iter().map(|c| c.op).collect();
    assert_eq!(running.len(), 3);
    let stop = ex
        .apply(
            &flow,
            Input::Stop {
                error: None,
                cause: None,
            },
            5,
        )
        .expect("the stop");
    let mut stopped = stopped(&stop);
    stopped.sort();
    assert_eq!(stopped, running);
    assert!(started(&stop).is_empty(), "nothing new starts");
    assert_eq!(ex.status(), Status::Stopped);
}

#[test]
fn update_map_run_raises_the_concurrency_and_the_tolerance_while_it_runs() {
    let flow = flow("    MaxConcurrency: 1");
    let (mut ex, step) = start(&flow, 4);
    let first = started(&step);
    assert_eq!(first.len(), 1);
    let runs = ex.map_runs(&flow);
    assert_eq!(runs.len(), 1);
    assert_eq!((runs[0].total, runs[0].running, runs[0].pending), (4, 1, 3));
    assert_eq!(runs[0].status, MapRunStatus::Running);
    let update = ex
        .apply(
            &flow,
            Input::UpdateMapRun {
                map_run: runs[0].name.clone(),
                max_concurrency: Some(3),
                tolerated: Some(ToleratedFailures {
                    count: Some(5),
                    percentage: None,
                }),
            },
            6,
        )
        .expect("the update");
    let more = started(&update);
    assert_eq!(more.len(), 2, "two more start at once");
    // A failure is tolerated now.
    finish(&mut ex, &flow, first[0].op, Err(TaskError::new("Boom", "")));
    assert_eq!(ex.status(), Status::Running);
    let unknown = ex.apply(
        &flow,
        Input::UpdateMapRun {
            map_run: "nope".into(),
            max_concurrency: Some(1),
            tolerated: None,
        },
        7,
    );
    assert!(unknown.is_err());
}

#[test]
fn a_running_map_run_survives_the_store() {
    let flow = flow("    MaxConcurrency: 2\n    ToleratedFailurePercentage: 50");
    let (ex, step) = start(&flow, 3);
    let children = started(&step);
    let stored = serde_json::to_string(&Snapshot::of(&ex)).unwrap();
    let mut loaded: Execution = serde_json::from_str::<Snapshot>(&stored).unwrap().into();
    assert_eq!(loaded, ex);
    let step = finish(&mut loaded, &flow, children[0].op, Ok(json!("a")));
    assert_eq!(
        started(&step).len(),
        1,
        "the freed slot starts the third child"
    );

    let parent = ParentLink {
        execution: "parent".into(),
        op: children[1].op,
        flow: None,
    };
    let child = Execution::child(info("child"), children[1].scope, parent.clone());
    let stored = serde_json::to_string(&Snapshot::of(&child)).unwrap();
    let loaded: Execution = serde_json::from_str::<Snapshot>(&stored).unwrap().into();
    assert_eq!(loaded.root(), children[1].scope);
    assert_eq!(loaded.parent(), Some(&parent));
}

/// The calls of `step` to the runtime's object action `action`: (op, body).
fn object_calls(step: &Step, action: &str) -> Vec<(OpId, Value)> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Dispatch(call) if call.target == TaskTarget::Action(action.into()) => {
                Some((call.op, call.body.clone()))
            }
            _ => None,
        })
        .collect()
}

const BUCKET: &str = "    ToleratedFailureCount: 1
    ItemReader:
      SourceType: OSS_JSON_LIST
      SourceParameters:
        Bucket: b
        ObjectName.$: $Input.key
    ResultWriter:
      Parameters:
        Bucket: b
        Prefix: out";

/// Items read from a bucket and results written to one are asked of the runtime as task
/// calls: the read's answer starts the children (surviving the store between), the write
/// gets every child's result with its status, and its answer is the Map's output.
#[test]
fn items_are_read_and_results_written_through_the_runtime() {
    let flow = flow(BUCKET);
    let mut ex = Execution::new(info("parent"));
    let step = ex
        .apply(
            &flow,
            Input::Start {
                input: json!({"key": "k.json"}),
            },
            1,
        )
        .unwrap();
    assert!(
        started(&step).is_empty(),
        "no child before the items are read"
    );
    let reads = object_calls(&step, actions::READ_ITEMS);
    assert_eq!(reads.len(), 1);
    let request: ItemsRequest = serde_json::from_value(reads[0].1.clone()).unwrap();
    assert_eq!(
        (request.bucket.as_str(), request.key.as_str()),
        ("b", "k.json")
    );
    assert_eq!(request.format, ItemFormat::JsonArray);

    let stored = serde_json::to_string(&Snapshot::of(&ex)).unwrap();
    let mut ex: Execution = serde_json::from_str::<Snapshot>(&stored).unwrap().into();
    let read = Input::TaskCompleted {
        op: reads[0].0,
        result: Ok(json!([10, 20])),
    };
    let step = ex.apply(&flow, read, 2).unwrap();
    let children = started(&step);
    assert_eq!(
        children.iter().map(|c| &c.input).collect::<Vec<_>>(),
        [&json!(10), &json!(20)]
    );

    finish(&mut ex, &flow, children[0].op, Ok(json!("ten")));
    let stored = serde_json::to_string(&Snapshot::of(&ex)).unwrap();
    let mut ex: Execution = serde_json::from_str::<Snapshot>(&stored).unwrap().into();
    let step = finish(
        &mut ex,
        &flow,
        children[1].op,
        Err(TaskError::new("E", "bad")),
    );
    let writes = object_calls(&step, actions::WRITE_RESULTS);
    assert_eq!(writes.len(), 1);
    let request: ResultsRequest = serde_json::from_value(writes[0].1.clone()).unwrap();
    assert_eq!(
        (request.bucket.as_str(), request.prefix.as_str()),
        ("b", "out")
    );
    assert_eq!(request.run, children[0].map_run);
    assert_eq!(
        request
            .results
            .iter()
            .map(|r| (r.index, r.succeeded, r.value.clone()))
            .collect::<Vec<_>>(),
        [
            (0, true, json!("ten")),
            (1, false, json!({"Error": "E", "Cause": "bad"}))
        ]
    );
    let details = json!({"ResultWriterDetails": {"Bucket": "b", "Key": "out/r/manifest.json"}});
    let written = Input::TaskCompleted {
        op: writes[0].0,
        result: Ok(details.clone()),
    };
    ex.apply(&flow, written, 4).unwrap();
    assert_eq!(ex.status(), Status::Succeeded);
    assert_eq!(ex.output(), Some(&details));
}

/// A failed read fails the Map with the language's reader error, the runtime's detail kept.
#[test]
fn a_failed_read_fails_the_map_with_the_readers_error() {
    let flow = flow(BUCKET);
    let mut ex = Execution::new(info("parent"));
    let step = ex
        .apply(
            &flow,
            Input::Start {
                input: json!({"key": "k.json"}),
            },
            1,
        )
        .unwrap();
    let reads = object_calls(&step, actions::READ_ITEMS);
    let failed = Input::TaskCompleted {
        op: reads[0].0,
        result: Err(TaskError::new(
            "Sluice.ItemReaderFailed",
            "no object \"k.json\"",
        )),
    };
    ex.apply(&flow, failed, 2).unwrap();
    assert_eq!(ex.status(), Status::Failed);
    let error = ex.error().unwrap();
    assert_eq!(
        (error.code.as_str(), error.detail.as_str()),
        ("FnF.ItemReaderFailed", "no object \"k.json\"")
    );
    let step = ex.apply(
        &flow,
        Input::Start {
            input: json!({"key": 1}),
        },
        3,
    );
    assert!(step.is_err(), "a finished execution takes no start");
}

/// Once the items are read, what fails is the Map's own (here its `ItemConstructor`), not
/// the read: the read stays succeeded.
#[test]
fn a_map_failing_after_its_read_fails_with_its_own_error() {
    let flow = flow(&format!(
        "{BUCKET}\n    ItemConstructor:\n      x.$: $Item.a.b"
    ));
    let mut ex = Execution::new(info("parent"));
    let step = ex
        .apply(
            &flow,
            Input::Start {
                input: json!({"key": "k.json"}),
            },
            1,
        )
        .unwrap();
    let reads = object_calls(&step, actions::READ_ITEMS);
    let read = Input::TaskCompleted {
        op: reads[0].0,
        result: Ok(json!([5])),
    };
    let step = ex.apply(&flow, read, 2).unwrap();
    assert_eq!(ex.status(), Status::Failed);
    assert_ne!(ex.error().unwrap().code.as_str(), "FnF.ItemReaderFailed");
    let kinds: Vec<_> = step.events.iter().map(|e| e.kind).collect();
    assert!(kinds.contains(&EventType::TaskSucceeded), "{kinds:?}");
    assert!(!kinds.contains(&EventType::TaskFailed), "{kinds:?}");
}

/// A stop while the items are being read aborts the read in the same step; its late answer
/// is refused and starts no child.
#[test]
fn a_stop_during_the_read_aborts_it() {
    let flow = flow(BUCKET);
    let mut ex = Execution::new(info("parent"));
    let step = ex
        .apply(
            &flow,
            Input::Start {
                input: json!({"key": "k.json"}),
            },
            1,
        )
        .unwrap();
    let read = object_calls(&step, actions::READ_ITEMS)[0].0;
    let stop = Input::Stop {
        error: None,
        cause: None,
    };
    let step = ex.apply(&flow, stop, 2).unwrap();
    assert!(
        step.effects.contains(&Effect::CancelTask(read)),
        "{:?}",
        step.effects
    );
    assert_eq!(ex.status(), Status::Stopped);
    let late = Input::TaskCompleted {
        op: read,
        result: Ok(json!([1, 2])),
    };
    assert!(
        ex.apply(&flow, late, 3).is_err(),
        "the late answer is refused"
    );
}
