use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use sluice_engine::{
    EventId, EventType, Execution, ExecutionInfo, HistoryEvent, Input, Limits, OpId, PendingOp,
    Status,
};
use sluice_ir::{Flow, TaskError};

use super::*;
use crate::{ExecutionMode, JobFilter, JobKind, JobStatus, StoreError};

// ---- fixtures ------------------------------------------------------------------------------

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("nested").join("sluice.db")).expect("open");
    (dir, store)
}

fn tenant() -> TenantId {
    TenantId::new("t")
}

fn new_flow(name: &str) -> NewFlow {
    NewFlow {
        tenant: tenant(),
        name: FlowName::new(name),
        description: "d".into(),
        definition: "def-1".into(),
        dialect: sluice_ir::Dialect::CloudFlow,
        role_arn: Some("role".into()),
        mode: ExecutionMode::Standard,
        attributes: json!({"Environment": {"k": "v"}}),
        now: 1,
    }
}

fn info(name: &str) -> ExecutionInfo {
    ExecutionInfo {
        name: name.into(),
        flow_name: "f".into(),
        role_arn: None,
        token_prefix: "p.".into(),
        seed: 1,
        // No execution deadline: its timer row would sit beside the ones a test looks at.
        limits: Limits {
            execution_timeout_ms: None,
            ..Default::default()
        },
    }
}

fn event(id: u64) -> HistoryEvent {
    HistoryEvent {
        id: EventId(id),
        schedule_id: None,
        step: None,
        time: 5,
        kind: EventType::StepEntered,
        detail: json!({"input": "x"}),
    }
}

/// A hand-made step: a fresh state and the given event ids.
fn step(execution: ExecutionId, version: i64, events: &[u64]) -> StepWrite {
    StepWrite {
        execution,
        expected_version: version,
        state: Execution::new(info("e")),
        events: events.iter().map(|id| event(*id)).collect(),
        timers_added: vec![],
        timers_removed: vec![],
        tasks_added: vec![],
        tasks_removed: vec![],
    }
}

fn new_execution(flow: &FlowRecord, name: &str) -> NewExecution {
    NewExecution {
        tenant: flow.tenant.clone(),
        flow_id: flow.id,
        flow_name: flow.name.clone(),
        flow_revision: flow.revision,
        name: ExecutionName::new(name),
        now: 2,
    }
}

async fn execution(store: &SqliteStore, flow: &FlowRecord, name: &str) -> ExecutionRecord {
    store
        .create_execution(new_execution(flow, name), step(ExecutionId(0), 0, &[1]))
        .await
        .expect("create execution")
}

async fn history_ids(store: &SqliteStore, id: ExecutionId) -> Vec<u64> {
    let events = store.history(id, EventId(0), 1000).await.expect("history");
    events.iter().map(|e| e.id.0).collect()
}

async fn fetch(store: &SqliteStore, id: ExecutionId) -> ExecutionRecord {
    store.get_execution(id).await.expect("get").expect("exists")
}

/// A task, then a 10 s wait: a start dispatches a call, its answer arms a timer, the timer
/// ends the execution. Every kind of index row comes and goes.
const TASK_THEN_WAIT: &str = r#"
Type: StateMachine
Name: task-then-wait
SpecVersion: v1
StartAt: Call
States:
  - Type: Task
    Name: Call
    Action: FC:InvokeFunction
    Parameters:
      resourceArn: acs:fc:::services/svc.LATEST/functions/f
    Next: Sleep
  - Type: Wait
    Name: Sleep
    Seconds: 10
    End: true
"#;

/// A fresh state the engine took to `status` (Running, Succeeded or Failed) from a start of
/// TASK_THEN_WAIT at `now`: the call in flight, or answered and the wait over, or failed.
fn state_in(status: Status, now: i64) -> Execution {
    let flow = sluice_lang::cloudflow::parse(TASK_THEN_WAIT).expect("valid definition");
    let mut state = Execution::new(info("e"));
    let apply = |state: &mut Execution, input| {
        state.apply(&flow, input, now).expect("accepted");
    };
    apply(&mut state, Input::Start { input: json!({}) });
    let pending = |state: &Execution| {
        state
            .pending_ops()
            .map(|op| match op {
                PendingOp::Task { call, .. } => call.op,
                PendingOp::Timer { op, .. } => op,
                PendingOp::Child(start) => start.op,
            })
            .next()
            .expect("an op")
    };
    let call = pending(&state);
    match status {
        Status::Running => {}
        Status::Failed => {
            let result = Err(TaskError::new("Boom", "failed on purpose"));
            apply(&mut state, Input::TaskCompleted { op: call, result });
        }
        _ => {
            let result = Ok(json!({}));
            apply(&mut state, Input::TaskCompleted { op: call, result });
            let op = pending(&state);
            apply(&mut state, Input::TimerFired { op });
        }
    }
    assert_eq!(state.status(), status);
    state
}

/// Applies `input` to the stored execution, commits the step, and returns the execution as
/// stored afterwards; the step's events are appended to `emitted`.
async fn apply(
    store: &SqliteStore,
    flow: &Flow,
    id: ExecutionId,
    input: Input,
    now: i64,
    emitted: &mut Vec<HistoryEvent>,
) -> ExecutionRecord {
    let record = fetch(store, id).await;
    let mut state = record.state.clone();
    let step = state.apply(flow, input, now).expect("accepted");
    emitted.extend(step.events.iter().cloned());
    let write = StepWrite::new(id, record.version, &record.state, state, &step);
    store.commit_step(write).await.expect("commit");
    fetch(store, id).await
}

// ---- flows ---------------------------------------------------------------------------------

#[tokio::test]
async fn flows_are_created_read_and_listed_by_name() {
    let (_dir, store) = store();
    let created = store.create_flow(new_flow("b")).await.expect("create");
    assert_eq!(created.revision, 1);
    assert_eq!(created.definition, "def-1");
    assert_eq!(created.attributes, json!({"Environment": {"k": "v"}}));
    assert!(created.open);
    let got = store
        .get_flow(&tenant(), &FlowName::new("b"))
        .await
        .expect("get");
    assert_eq!(got, Some(created.clone()));
    assert!(matches!(
        store.create_flow(new_flow("b")).await,
        Err(StoreError::AlreadyExists(what)) if what.contains("flow b")
    ));
    store.create_flow(new_flow("a")).await.expect("a");
    store.create_flow(new_flow("c")).await.expect("c");
    let other = NewFlow {
        tenant: TenantId::new("other"),
        ..new_flow("b")
    };
    store
        .create_flow(other)
        .await
        .expect("same name, other tenant");
    let names = |flows: Vec<FlowRecord>| flows.into_iter().map(|f| f.name.0).collect::<Vec<_>>();
    assert_eq!(
        names(store.list_flows(&tenant(), None, 10).await.expect("list")),
        ["a", "b", "c"]
    );
    assert_eq!(
        names(store.list_flows(&tenant(), None, 2).await.expect("list")),
        ["a", "b"]
    );
    let after = FlowName::new("b");
    assert_eq!(
        names(
            store
                .list_flows(&tenant(), Some(&after), 10)
                .await
                .expect("list")
        ),
        ["c"]
    );
    assert!(
        store
            .get_flow(&tenant(), &FlowName::new("zz"))
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        store
            .flow_definition(created.id, 2)
            .await
            .expect("definition")
            .is_none()
    );
}

#[tokio::test]
async fn flow_updates_compare_and_set_and_only_definitions_make_revisions() {
    let (_dir, store) = store();
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let describe = FlowUpdate {
        description: Some("new words".into()),
        open: Some(false),
        ..Default::default()
    };
    let described = store
        .update_flow(&tenant(), &flow.name, 1, describe, 3)
        .await
        .expect("update");
    assert_eq!(
        (described.revision, described.description.as_str()),
        (1, "new words")
    );
    assert!(!described.open);
    assert_eq!(
        described.role_arn.as_deref(),
        Some("role"),
        "None keeps the value"
    );
    assert_eq!(described.modified_at, 3);

    let redefine = FlowUpdate {
        definition: Some("def-2".into()),
        attributes: Some(json!({"x": 1})),
        ..Default::default()
    };
    let redefined = store
        .update_flow(&tenant(), &flow.name, 1, redefine.clone(), 4)
        .await
        .expect("update");
    assert_eq!(
        (redefined.revision, redefined.definition.as_str()),
        (2, "def-2")
    );
    assert_eq!(redefined.attributes, json!({"x": 1}));
    assert!(matches!(
        store
            .update_flow(&tenant(), &flow.name, 1, redefine.clone(), 5)
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(matches!(
        store
            .update_flow(&tenant(), &FlowName::new("nope"), 1, redefine, 5)
            .await,
        Err(StoreError::NotFound(_))
    ));
    let first = store
        .flow_definition(flow.id, 1)
        .await
        .expect("definition")
        .expect("kept");
    assert_eq!(
        (first.dialect.as_str(), first.text.as_str()),
        ("cloudflow", "def-1")
    );
}

#[tokio::test]
async fn a_deleted_flow_keeps_its_revisions_and_a_recreated_one_gets_a_new_id() {
    let (_dir, store) = store();
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let running = execution(&store, &flow, "running").await;
    let deleted = store
        .delete_flow(&tenant(), &flow.name)
        .await
        .expect("delete");
    assert_eq!(deleted.id, flow.id);
    assert!(
        store
            .get_flow(&tenant(), &flow.name)
            .await
            .expect("get")
            .is_none()
    );
    assert!(
        store
            .list_flows(&tenant(), None, 10)
            .await
            .expect("list")
            .is_empty()
    );
    assert!(matches!(
        store.delete_flow(&tenant(), &flow.name).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store
            .update_flow(&tenant(), &flow.name, 1, FlowUpdate::default(), 3)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.publish_version(flow.id, "v", 3).await,
        Err(StoreError::NotFound(_))
    ));

    let again = store.create_flow(new_flow("f")).await.expect("re-create");
    assert_ne!(again.id, flow.id);
    let old = store.flow_definition(flow.id, 1).await.expect("definition");
    assert_eq!(old.map(|d| d.text).as_deref(), Some("def-1"));
    // The old execution still runs and belongs to the old id only.
    assert_eq!(
        store.active_executions(flow.id).await.expect("active"),
        [running.id]
    );
    assert!(
        store
            .find_execution(again.id, &running.name)
            .await
            .expect("find")
            .is_none()
    );
    execution(&store, &again, "running").await;
}

// ---- executions ----------------------------------------------------------------------------

#[tokio::test]
async fn an_engine_driven_execution_keeps_its_rows_in_step() {
    let (_dir, store) = store();
    let ir = sluice_lang::cloudflow::parse(TASK_THEN_WAIT).expect("valid definition");
    let flow = store.create_flow(new_flow("f")).await.expect("create");

    let mut state = Execution::new(info("e1"));
    let start = state
        .apply(
            &ir,
            Input::Start {
                input: json!({"n": 1}),
            },
            1_000,
        )
        .expect("start");
    let mut emitted = start.events.clone();
    let mut first = StepWrite::new(
        ExecutionId(0),
        0,
        &Execution::new(info("e1")),
        state,
        &start,
    );
    first.expected_version = 99; // ignored: a new execution starts at version 1
    let created = store
        .create_execution(new_execution(&flow, "e1"), first)
        .await
        .expect("create");
    assert_eq!(created.version, 1);
    assert_eq!(created.status(), Status::Running);
    assert_eq!(
        fetch(&store, created.id).await,
        created,
        "what create returns is what is stored"
    );
    assert_eq!(
        store
            .find_execution(flow.id, &created.name)
            .await
            .expect("find"),
        Some(created.clone())
    );
    let tasks = store.read(executions::pending_tasks).await.expect("tasks");
    assert_eq!(tasks.len(), 1);
    assert_eq!(tasks[0].execution, created.id);
    assert!(
        store
            .due_timers(i64::MAX, 10)
            .await
            .expect("timers")
            .is_empty()
    );

    let op = tasks[0].call.op;
    let answered = apply(
        &store,
        &ir,
        created.id,
        Input::TaskCompleted {
            op,
            result: Ok(json!({})),
        },
        2_000,
        &mut emitted,
    )
    .await;
    assert_eq!(answered.version, 2);
    assert!(
        store
            .read(executions::pending_tasks)
            .await
            .expect("tasks")
            .is_empty()
    );
    let timers = store.due_timers(i64::MAX, 10).await.expect("timers");
    assert_eq!(timers.len(), 1);
    assert_eq!(
        (timers[0].execution, timers[0].fire_at),
        (created.id, 12_000)
    );
    assert!(
        store
            .due_timers(11_999, 10)
            .await
            .expect("timers")
            .is_empty()
    );

    let done = apply(
        &store,
        &ir,
        created.id,
        Input::TimerFired { op: timers[0].op },
        12_000,
        &mut emitted,
    )
    .await;
    assert_eq!(done.status(), Status::Succeeded);
    assert_eq!(done.version, 3);
    assert!(
        store
            .due_timers(i64::MAX, 10)
            .await
            .expect("timers")
            .is_empty()
    );
    assert!(
        store
            .active_executions(flow.id)
            .await
            .expect("active")
            .is_empty()
    );
    let history = store
        .history(created.id, EventId(0), 1000)
        .await
        .expect("history");
    assert_eq!(history, emitted, "every event as the engine made it");
    assert_eq!(history.len() as u64, done.state.history_len());
    assert!(
        history.windows(2).all(|w| w[0].id.0 + 1 == w[1].id.0),
        "dense ids"
    );
    assert_eq!(
        history.last().map(|e| e.kind),
        Some(EventType::ExecutionSucceeded)
    );
    let tail = store
        .history(created.id, EventId(2), 2)
        .await
        .expect("history");
    assert_eq!(tail.iter().map(|e| e.id.0).collect::<Vec<_>>(), [3, 4]);
}

#[tokio::test]
async fn a_new_execution_uses_its_new_id_for_every_row_and_refuses_a_duplicate_name() {
    let (_dir, store) = store();
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let mut first = step(ExecutionId(777), 0, &[1, 2]);
    first.timers_added.push(TimerRow {
        execution: ExecutionId(777),
        op: OpId(1),
        fire_at: 50,
    });
    let created = store
        .create_execution(new_execution(&flow, "e"), first.clone())
        .await
        .expect("create");
    let timers = store.due_timers(50, 10).await.expect("timers");
    assert_eq!(
        timers,
        [TimerRow {
            execution: created.id,
            op: OpId(1),
            fire_at: 50
        }]
    );
    assert!(matches!(
        store
            .create_execution(new_execution(&flow, "e"), first)
            .await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert_eq!(
        store.due_timers(50, 10).await.expect("timers").len(),
        1,
        "the duplicate wrote nothing"
    );
    assert_eq!(history_ids(&store, created.id).await, [1, 2]);
}

#[tokio::test]
async fn a_failed_compare_and_set_changes_nothing() {
    let (_dir, store) = store();
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let exec = execution(&store, &flow, "e").await;
    let mut write = step(exec.id, 1, &[2, 3]);
    write.timers_added.push(TimerRow {
        execution: exec.id,
        op: OpId(1),
        fire_at: 100,
    });
    store.commit_step(write).await.expect("commit");
    let before = fetch(&store, exec.id).await;

    let mut stale = step(exec.id, 1, &[4]);
    stale.state = state_in(Status::Failed, 5);
    stale.timers_removed.push(OpId(1));
    assert!(matches!(
        store.commit_step(stale).await,
        Err(StoreError::Conflict(_))
    ));
    // A duplicate event id fails the whole step, state included.
    let mut duplicate = step(exec.id, 2, &[4, 3]);
    duplicate.state = state_in(Status::Failed, 5);
    assert!(matches!(
        store.commit_step(duplicate).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        store.commit_step(step(ExecutionId(12345), 1, &[1])).await,
        Err(StoreError::NotFound(_))
    ));

    assert_eq!(fetch(&store, exec.id).await, before);
    assert_eq!(history_ids(&store, exec.id).await, [1, 2, 3]);
    assert_eq!(store.due_timers(100, 10).await.expect("timers").len(), 1);
    // Removing rows that do not exist is fine (the runtime lists an op in both lists).
    let mut removal = step(exec.id, 2, &[4]);
    removal.timers_removed = vec![OpId(1), OpId(9)];
    removal.tasks_removed = vec![OpId(1), OpId(9)];
    store.commit_step(removal).await.expect("commit");
    assert!(store.due_timers(100, 10).await.expect("timers").is_empty());
}

#[tokio::test]
async fn concurrent_steps_commit_independently_in_shared_transactions() {
    let (_dir, store) = store();
    let store = Arc::new(store);
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(execution(&store, &flow, &format!("e{i:02}")).await.id);
    }
    // Hold the writer busy so the 50 commits below queue up and run as one group: two per
    // execution at the same version, so exactly one of each pair wins, in the same transaction
    // as the losers.
    let stall = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .write(|_| {
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    Ok(())
                })
                .await
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let mut handles = Vec::new();
    for (i, id) in ids.iter().copied().enumerate() {
        for _ in 0..2 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                (i, store.commit_step(step(id, 1, &[2])).await)
            }));
        }
    }
    let mut wins = vec![0; ids.len()];
    for handle in handles {
        match handle.await.expect("join") {
            (i, Ok(())) => wins[i] += 1,
            (_, Err(StoreError::Conflict(_))) => {}
            (_, Err(e)) => panic!("unexpected failure: {e}"),
        }
    }
    assert!(
        wins.iter().all(|w| *w == 1),
        "exactly one of each pair commits: {wins:?}"
    );
    stall
        .await
        .expect("join")
        .expect("the stalling write commits");
    for id in ids {
        assert_eq!(fetch(&store, id).await.version, 2);
        assert_eq!(history_ids(&store, id).await, [1, 2]);
    }
}

#[tokio::test]
async fn a_panicking_write_fails_alone_and_the_writer_survives() {
    let (_dir, store) = store();
    let panicking = store.write(|_| -> Result<()> { panic!("a bug in a write") });
    let flow = store.create_flow(new_flow("f"));
    let (panicked, flow) = tokio::join!(panicking, flow);
    assert!(matches!(panicked, Err(StoreError::Backend(_))));
    flow.expect("the other write commits");
    store
        .create_flow(new_flow("g"))
        .await
        .expect("the writer still runs");
}

#[tokio::test]
async fn when_the_group_transaction_breaks_no_write_of_the_group_is_acknowledged() {
    let (_dir, store) = store();
    let stall = store.write(|_| {
        std::thread::sleep(std::time::Duration::from_millis(100));
        Ok(())
    });
    let queued = async {
        tokio::time::sleep(std::time::Duration::from_millis(30)).await;
        // Queued behind the stall, so these three run as one group; the middle one ends the
        // transaction under the writer's feet, as a disk-full or I/O error would.
        tokio::join!(
            store.create_flow(new_flow("before")),
            store.write(|c| c
                .execute_batch("ROLLBACK")
                .map_err(codec::failed("rolling back"))),
            store.create_flow(new_flow("after")),
        )
    };
    let (stalled, (before, rogue, after)) = tokio::join!(stall, queued);
    stalled.expect("the stall commits");
    assert!(matches!(before, Err(StoreError::Backend(_))), "{before:?}");
    assert!(matches!(rogue, Err(StoreError::Backend(_))), "{rogue:?}");
    assert!(matches!(after, Err(StoreError::Backend(_))), "{after:?}");
    for name in ["before", "after"] {
        let found = store.get_flow(&tenant(), &FlowName::new(name)).await;
        assert!(found.expect("get").is_none(), "{name} was not committed");
    }
    store
        .create_flow(new_flow("later"))
        .await
        .expect("the writer recovers");
}

#[tokio::test]
async fn executions_list_by_prefix_status_time_and_cursor() {
    let (_dir, store) = store();
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    for (name, started) in [
        ("a_1", 10),
        ("a_2", 20),
        ("a%3", 30),
        ("ab", 40),
        ("b_1", 50),
    ] {
        let exec = execution(&store, &flow, name).await;
        let mut write = step(exec.id, 1, &[2]);
        write.state = state_in(Status::Running, started);
        store.commit_step(write).await.expect("commit");
    }
    let done = execution(&store, &flow, "a_9").await;
    let mut finish = step(done.id, 1, &[2]);
    finish.state = state_in(Status::Succeeded, 5);
    store.commit_step(finish).await.expect("commit");

    let list = |filter: ExecutionFilter, after: Option<&str>, limit: usize| {
        let store = &store;
        let after = after.map(ExecutionName::new);
        async move {
            let found = store
                .list_executions(flow.id, &filter, after.as_ref(), limit)
                .await
                .expect("list");
            found.into_iter().map(|e| e.name.0).collect::<Vec<_>>()
        }
    };
    let prefix = |p: &str| ExecutionFilter {
        name_prefix: Some(p.into()),
        ..Default::default()
    };
    assert_eq!(
        list(prefix("a_"), None, 10).await,
        ["a_1", "a_2", "a_9"],
        "_ is no wildcard"
    );
    assert_eq!(
        list(prefix("a%"), None, 10).await,
        ["a%3"],
        "% is no wildcard"
    );
    assert_eq!(list(prefix("a_"), Some("a_1"), 10).await, ["a_2", "a_9"]);
    assert_eq!(list(prefix("a_"), None, 1).await, ["a_1"]);
    assert_eq!(
        list(ExecutionFilter::default(), Some("ab"), 10).await,
        ["b_1"]
    );
    let running = ExecutionFilter {
        status: Some(Status::Running),
        ..prefix("a")
    };
    assert_eq!(list(running, None, 10).await, ["a%3", "a_1", "a_2", "ab"]);
    let window = ExecutionFilter {
        started_from: Some(20),
        started_to: Some(40),
        ..Default::default()
    };
    assert_eq!(list(window, None, 10).await, ["a%3", "a_2", "ab"]);
    let mut active = store.active_executions(flow.id).await.expect("active");
    active.sort();
    assert_eq!(active.len(), 5, "the succeeded one is not active");
    assert!(!active.contains(&done.id));
}

// ---- durability and schema ---------------------------------------------------------------

#[tokio::test]
async fn everything_acknowledged_is_there_after_reopening() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sluice.db");
    let (flow, exec) = {
        let store = SqliteStore::open(&path).expect("open");
        let flow = store.create_flow(new_flow("kept")).await.expect("create");
        let exec = execution(&store, &flow, "e").await;
        let mut write = step(exec.id, 1, &[2]);
        write.timers_added.push(TimerRow {
            execution: exec.id,
            op: OpId(3),
            fire_at: 9,
        });
        store.commit_step(write).await.expect("commit");
        store
            .publish_version(flow.id, "v1", 5)
            .await
            .expect("version");
        (flow, fetch(&store, exec.id).await)
    };
    let store = SqliteStore::open(&path).expect("reopen");
    assert_eq!(
        store.get_flow(&tenant(), &flow.name).await.expect("get"),
        Some(flow.clone())
    );
    assert_eq!(fetch(&store, exec.id).await, exec);
    assert_eq!(history_ids(&store, exec.id).await, [1, 2]);
    assert_eq!(store.due_timers(9, 10).await.expect("timers").len(), 1);
    assert!(
        store
            .get_version(flow.id, 1)
            .await
            .expect("version")
            .is_some()
    );
}

/// Where `crash_child` writes; set only in the child process.
const CRASH_DB: &str = "SLUICE_STORE_CRASH_DB";
const CRASH_AFTER: i64 = 300;

/// The child half of `acknowledged_steps_survive_kill_9`: commits steps until killed,
/// printing each version once its commit is acknowledged. In an ordinary test run (no
/// `SLUICE_STORE_CRASH_DB`) it has nothing to do.
#[tokio::test]
async fn crash_child() {
    let Ok(path) = std::env::var(CRASH_DB) else {
        return;
    };
    let store = SqliteStore::open(Path::new(&path)).expect("open");
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let exec = execution(&store, &flow, "e").await;
    for version in 1_i64.. {
        let event = u64::try_from(version + 1).expect("positive");
        store
            .commit_step(step(exec.id, version, &[event]))
            .await
            .expect("commit");
        // stdout is line-buffered: the parent sees each line as soon as it is printed.
        println!("acknowledged {version}");
    }
}

#[test]
fn acknowledged_steps_survive_kill_9() {
    use std::io::BufRead;
    use std::process::{Command, Stdio};

    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sluice.db");
    let mut child = Command::new(std::env::current_exe().expect("test binary"))
        .args(["--exact", "sqlite::tests::crash_child", "--nocapture"])
        .env(CRASH_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the child");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut acknowledged = 0;
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.expect("child output");
        if let Some(version) = line.strip_prefix("acknowledged ") {
            acknowledged = version.parse().expect("a version");
            if acknowledged >= CRASH_AFTER {
                break;
            }
        }
    }
    child.kill().expect("SIGKILL");
    child.wait().expect("reap");
    assert!(acknowledged >= CRASH_AFTER, "the child stopped early");

    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let store = SqliteStore::open(&path).expect("reopen after the crash");
        let exec = fetch(&store, ExecutionId(1)).await;
        // Commits after the last line read may have landed too; none acknowledged is missing.
        assert!(
            exec.version > acknowledged,
            "{} <= {acknowledged}",
            exec.version
        );
        let history = history_ids(&store, exec.id).await;
        let expected: Vec<u64> = (1..=u64::try_from(exec.version).expect("positive")).collect();
        assert_eq!(history, expected);
    });
}

#[test]
fn the_database_is_in_wal_mode_and_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sluice.db");
    drop(SqliteStore::open(&path).expect("open"));
    let conn = Connection::open(&path).expect("raw");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!(mode, "wal");
    let version: i64 = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .expect("version");
    assert_eq!(version, schema::SCHEMA_VERSION);
    drop(SqliteStore::open(&path).expect("opening again migrates nothing"));
    conn.execute("INSERT INTO schema_version VALUES (99)", [])
        .expect("bump");
    assert!(matches!(
        SqliteStore::open(&path),
        Err(StoreError::SchemaTooNew { found: 99, known }) if known == schema::SCHEMA_VERSION
    ));
}

/// A database left at schema 1 (history as one JSON document per row) opens with the same
/// events, now in columns.
#[tokio::test]
async fn a_schema_1_database_is_migrated_with_its_history() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sluice.db");
    let events = [
        HistoryEvent {
            id: EventId(1),
            schedule_id: None,
            step: None,
            time: 5,
            kind: EventType::ExecutionStarted,
            detail: json!({"input": "{\"a\":1}", "z": 1, "b": [true, null]}),
        },
        HistoryEvent {
            id: EventId(2),
            schedule_id: Some(EventId(1)),
            step: Some(sluice_ir::StateName::new("Call")),
            time: 6,
            kind: EventType::TaskFailed,
            detail: json!("a bare string"),
        },
        HistoryEvent {
            id: EventId(3),
            schedule_id: None,
            step: Some(sluice_ir::StateName::new("Done")),
            time: 7,
            kind: EventType::StepExited,
            detail: json!(null),
        },
    ];
    {
        let conn = Connection::open(&path).expect("raw");
        let [v1, ..] = schema::MIGRATIONS else {
            panic!("no schema 1")
        };
        conn.execute_batch(v1).expect("schema 1");
        conn.execute_batch(
            "CREATE TABLE schema_version (version INTEGER NOT NULL); \
             INSERT INTO schema_version VALUES (1); \
             INSERT INTO executions (tenant, flow_id, flow_name, flow_revision, name, status, \
             state, version, created_at) VALUES ('t', 1, 'f', 1, 'e', 'Running', '{}', 1, 1);",
        )
        .expect("an execution");
        for event in &events {
            let json = serde_json::to_string(event).expect("encode");
            conn.execute(
                "INSERT INTO history (execution_id, event_id, event) VALUES (1, ?1, ?2)",
                rusqlite::params![i64::try_from(event.id.0).expect("small"), json],
            )
            .expect("an old history row");
        }
    }
    let store = SqliteStore::open(&path).expect("migrate");
    let migrated = store
        .history(ExecutionId(1), EventId(0), 10)
        .await
        .expect("history");
    assert_eq!(migrated, events);
    let detail_text = serde_json::to_string(&migrated[0].detail).expect("encode");
    assert_eq!(
        detail_text, r#"{"input":"{\"a\":1}","z":1,"b":[true,null]}"#,
        "key order kept"
    );
}

#[tokio::test]
async fn corrupt_rows_are_errors_naming_the_row() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sluice.db");
    let store = SqliteStore::open(&path).expect("open");
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let exec = execution(&store, &flow, "e").await;
    let conn = Connection::open(&path).expect("raw");
    conn.execute(
        "UPDATE executions SET state = '{' WHERE id = ?1",
        [exec.id.0],
    )
    .expect("corrupt");
    conn.execute("UPDATE history SET detail = '{'", [])
        .expect("corrupt");
    conn.execute("UPDATE flows SET mode = 'Sideways'", [])
        .expect("corrupt");
    let named = |r: Result<_>, what: &str| match r {
        Err(StoreError::Backend(message)) => assert!(message.contains(what), "{message}"),
        other => panic!("expected a backend error naming {what}, got {other:?}"),
    };
    named(
        store.get_execution(exec.id).await.map(drop),
        &format!("execution {}", exec.id),
    );
    named(
        store.history(exec.id, EventId(0), 10).await.map(drop),
        "event 1 of execution",
    );
    conn.execute("UPDATE history SET detail = 'null', type = 'Sideways'", [])
        .expect("corrupt");
    named(
        store.history(exec.id, EventId(0), 10).await.map(drop),
        "unknown type \"Sideways\"",
    );
    named(
        store.get_flow(&tenant(), &flow.name).await.map(drop),
        "unknown mode",
    );
}

// ---- versions, aliases, schedules ----------------------------------------------------------

#[tokio::test]
async fn versions_snapshot_revisions_and_are_never_renumbered() {
    let (_dir, store) = store();
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let v1 = store.publish_version(flow.id, "one", 1).await.expect("v1");
    assert_eq!((v1.version, v1.revision), (1, 1));
    let redefine = FlowUpdate {
        definition: Some("def-2".into()),
        ..Default::default()
    };
    store
        .update_flow(&tenant(), &flow.name, 1, redefine, 2)
        .await
        .expect("update");
    let v2 = store.publish_version(flow.id, "two", 2).await.expect("v2");
    assert_eq!((v2.version, v2.revision), (2, 2));
    assert_eq!(
        store.get_version(flow.id, 2).await.expect("get"),
        Some(v2.clone())
    );
    store.delete_version(flow.id, 2).await.expect("delete");
    assert!(matches!(
        store.delete_version(flow.id, 2).await,
        Err(StoreError::NotFound(_))
    ));
    let v3 = store
        .publish_version(flow.id, "three", 3)
        .await
        .expect("v3");
    assert_eq!(v3.version, 3, "the deleted number is not reused");
    store.publish_version(flow.id, "four", 4).await.expect("v4");
    let numbers = |v: Vec<VersionRecord>| v.into_iter().map(|v| v.version).collect::<Vec<_>>();
    assert_eq!(
        numbers(store.list_versions(flow.id, None, 10).await.expect("list")),
        [4, 3, 1]
    );
    assert_eq!(
        numbers(
            store
                .list_versions(flow.id, Some(4), 1)
                .await
                .expect("list")
        ),
        [3]
    );
    assert_eq!(
        numbers(
            store
                .list_versions(flow.id, Some(3), 10)
                .await
                .expect("list")
        ),
        [1]
    );
}

fn alias(flow: FlowId, name: &str) -> AliasRecord {
    AliasRecord {
        flow_id: flow,
        name: name.into(),
        description: "d".into(),
        routing: json!([{"Version": "1", "Weight": 100}]),
        created_at: 1,
        modified_at: 1,
    }
}

#[tokio::test]
async fn aliases_are_created_updated_listed_and_deleted() {
    let (_dir, store) = store();
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    for name in ["live", "beta", "canary"] {
        store
            .create_alias(alias(flow.id, name))
            .await
            .expect("create");
    }
    assert!(matches!(
        store.create_alias(alias(flow.id, "live")).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let changed = AliasRecord {
        routing: json!([{"Version": "2", "Weight": 100}]),
        modified_at: 7,
        created_at: 99,
        ..alias(flow.id, "live")
    };
    let updated = store.update_alias(changed).await.expect("update");
    assert_eq!((updated.created_at, updated.modified_at), (1, 7));
    assert_eq!(
        store.get_alias(flow.id, "live").await.expect("get"),
        Some(updated)
    );
    assert!(matches!(
        store.update_alias(alias(flow.id, "nope")).await,
        Err(StoreError::NotFound(_))
    ));
    let names = |a: Vec<AliasRecord>| a.into_iter().map(|a| a.name).collect::<Vec<_>>();
    assert_eq!(
        names(store.list_aliases(flow.id, None, 10).await.expect("list")),
        ["beta", "canary", "live"]
    );
    assert_eq!(
        names(
            store
                .list_aliases(flow.id, Some("beta"), 1)
                .await
                .expect("list")
        ),
        ["canary"]
    );
    store.delete_alias(flow.id, "beta").await.expect("delete");
    assert!(matches!(
        store.delete_alias(flow.id, "beta").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        store
            .get_alias(flow.id, "beta")
            .await
            .expect("get")
            .is_none()
    );
}

fn schedule(flow: &FlowRecord, name: &str, next_fire_at: Option<i64>) -> ScheduleRecord {
    ScheduleRecord {
        id: 0,
        tenant: flow.tenant.clone(),
        flow_id: flow.id,
        flow_name: flow.name.clone(),
        name: name.into(),
        cron: "0 * * * * *".into(),
        payload: "{}".into(),
        description: String::new(),
        enabled: true,
        next_fire_at,
        created_at: 1,
        modified_at: 1,
    }
}

#[tokio::test]
async fn schedules_fire_when_due_and_each_tick_is_claimed_once() {
    let (_dir, store) = store();
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let s = store
        .create_schedule(schedule(&flow, "s", Some(10)))
        .await
        .expect("create");
    assert!(s.id > 0);
    assert!(matches!(
        store.create_schedule(schedule(&flow, "s", None)).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let off = store
        .create_schedule(schedule(&flow, "off", Some(5)))
        .await
        .expect("create");
    store
        .update_schedule(ScheduleRecord {
            enabled: false,
            modified_at: 2,
            ..off.clone()
        })
        .await
        .expect("disable");
    store
        .create_schedule(schedule(&flow, "never", None))
        .await
        .expect("create");
    assert_eq!(
        store
            .get_schedule(flow.id, "off")
            .await
            .expect("get")
            .map(|s| s.enabled),
        Some(false)
    );

    assert!(store.due_schedules(9).await.expect("due").is_empty());
    let due = store.due_schedules(10).await.expect("due");
    assert_eq!(
        due.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["s"]
    );
    let claims = futures_like_join(&store, s.id).await;
    assert_eq!(
        claims.iter().filter(|c| **c).count(),
        1,
        "one claim wins: {claims:?}"
    );
    assert!(store.due_schedules(69).await.expect("due").is_empty());
    assert_eq!(store.due_schedules(70).await.expect("due").len(), 1);

    let names = |s: Vec<ScheduleRecord>| s.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(
        names(store.list_schedules(flow.id, None, 10).await.expect("list")),
        ["never", "off", "s"]
    );
    assert_eq!(
        names(
            store
                .list_schedules(flow.id, Some("never"), 1)
                .await
                .expect("list")
        ),
        ["off"]
    );
    store
        .delete_schedule(flow.id, "never")
        .await
        .expect("delete");
    assert!(matches!(
        store.delete_schedule(flow.id, "never").await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.update_schedule(schedule(&flow, "ghost", None)).await,
        Err(StoreError::NotFound(_))
    ));
    store
        .delete_flow(&tenant(), &flow.name)
        .await
        .expect("delete flow");
    assert!(
        store.due_schedules(i64::MAX).await.expect("due").is_empty(),
        "a deleted flow's schedules never fire"
    );
}

/// Three nodes claiming the same tick at once.
async fn futures_like_join(store: &SqliteStore, id: i64) -> [bool; 3] {
    let (a, b, c) = tokio::join!(
        store.claim_schedule_tick(id, 10, Some(70)),
        store.claim_schedule_tick(id, 10, Some(70)),
        store.claim_schedule_tick(id, 10, Some(70)),
    );
    [a.expect("claim"), b.expect("claim"), c.expect("claim")]
}

// ---- closed flows and background jobs --------------------------------------------------------

#[tokio::test]
async fn a_closed_flow_refuses_new_executions_until_reopened() {
    let (_dir, store) = store();
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let close = FlowUpdate {
        open: Some(false),
        ..Default::default()
    };
    let closed = store
        .update_flow(&flow.tenant, &flow.name, flow.revision, close, 3)
        .await
        .expect("close");
    assert!(!closed.open);
    let refused = store
        .create_execution(new_execution(&flow, "e"), step(ExecutionId(0), 0, &[1]))
        .await;
    assert!(matches!(refused, Err(StoreError::Closed(_))), "{refused:?}");
    assert!(
        store
            .find_execution(flow.id, &ExecutionName::new("e"))
            .await
            .expect("find")
            .is_none()
    );
    let reopen = FlowUpdate {
        open: Some(true),
        ..Default::default()
    };
    store
        .update_flow(&flow.tenant, &flow.name, closed.revision, reopen, 4)
        .await
        .expect("reopen");
    execution(&store, &flow, "e").await;
}

fn job(id: &str, created_at: i64, flow: &FlowRecord) -> JobRecord {
    JobRecord {
        id: JobId::new(id),
        tenant: flow.tenant.clone(),
        kind: JobKind::CloseFlow,
        flow_id: flow.id,
        flow_name: flow.name.clone(),
        filter: JobFilter {
            name_prefix: Some("batch-".into()),
            ..Default::default()
        },
        status: JobStatus::Pending,
        total: 0,
        done: 0,
        failure: None,
        created_at,
        finished_at: None,
    }
}

#[tokio::test]
async fn jobs_are_kept_listed_newest_first_and_resumable_until_finished() {
    let (_dir, store) = store();
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    for (id, at) in [("a1", 10), ("b2", 20), ("c3", 30)] {
        store
            .create_job(job(id, at, &flow))
            .await
            .expect("create job");
    }
    assert!(matches!(
        store.create_job(job("a1", 40, &flow)).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let mut finished = job("b2", 20, &flow);
    finished.status = JobStatus::Succeeded;
    finished.total = 7;
    finished.done = 7;
    finished.finished_at = Some(25);
    store.update_job(finished.clone()).await.expect("update");
    assert_eq!(
        store
            .get_job(&flow.tenant, &JobId::new("b2"))
            .await
            .expect("get"),
        Some(finished)
    );
    assert_eq!(
        store
            .get_job(&TenantId::new("other"), &JobId::new("b2"))
            .await
            .expect("get"),
        None,
        "a job is its tenant's alone"
    );
    let ids = |jobs: Vec<JobRecord>| jobs.into_iter().map(|j| j.id.0).collect::<Vec<_>>();
    assert_eq!(
        ids(store.list_jobs(&flow.tenant, 0, 10).await.expect("list")),
        ["c3", "b2", "a1"]
    );
    assert_eq!(
        ids(store.list_jobs(&flow.tenant, 1, 1).await.expect("list")),
        ["b2"]
    );
    assert_eq!(
        ids(store.unfinished_jobs().await.expect("unfinished")),
        ["a1", "c3"]
    );
    assert!(matches!(
        store.update_job(job("zz", 1, &flow)).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn a_reopened_database_hands_over_calls_and_jobs_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sluice.db");
    let ir = sluice_lang::cloudflow::parse(TASK_THEN_WAIT).expect("valid definition");
    let exec = {
        let store = SqliteStore::open(&path).expect("open");
        let flow = store.create_flow(new_flow("f")).await.expect("create");
        let mut state = Execution::new(info("e1"));
        let start = state
            .apply(&ir, Input::Start { input: json!({}) }, 1_000)
            .expect("start");
        let first = StepWrite::new(
            ExecutionId(0),
            0,
            &Execution::new(info("e1")),
            state,
            &start,
        );
        let exec = store
            .create_execution(new_execution(&flow, "e1"), first)
            .await
            .expect("create");
        store.create_job(job("j1", 5, &flow)).await.expect("job");
        exec
    };
    let store = SqliteStore::open(&path).expect("reopen");
    assert!(store.renew_lease().await.expect("renew"));
    let taken = store.take_over(Duration::ZERO).await.expect("take over");
    assert_eq!(
        taken.tasks.iter().map(|t| t.execution).collect::<Vec<_>>(),
        [exec.id],
        "the call in flight when the previous process ended is made again"
    );
    assert_eq!(taken.jobs.len(), 1, "its unfinished job is resumed");
    let again = store.take_over(Duration::ZERO).await.expect("take over");
    assert!(
        again.tasks.is_empty() && again.jobs.is_empty(),
        "handed over once"
    );
}
