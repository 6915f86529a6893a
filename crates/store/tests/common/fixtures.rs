//! What the store's tests share (the contract suite, and the backends' own tests, whose crate
//! includes this file): records to store, the steps that change them, and throwaway
//! PostgreSQL databases.

#![allow(dead_code)] // each test binary uses its own part

use std::str::FromStr;

use serde_json::json;
use sluice_engine::{
    EventId, EventType, Execution, ExecutionInfo, HistoryEvent, Input, Limits, Millis, Snapshot,
    Status,
};
use sluice_ir::{Flow, TaskError};
use sluice_store::{
    CountsQuery, ExecutionId, ExecutionMode, ExecutionName, ExecutionOrder, ExecutionQuery,
    ExecutionRecord, FlowName, FlowRecord, FlowSelection, NewExecution, NewFlow, Page, StepWrite,
    Store, TenantId,
};

/// A fresh database on the `SLUICE_TEST_POSTGRES` server, or `None` (said why) without one.
pub async fn postgres_database() -> Option<String> {
    let Ok(server) = std::env::var("SLUICE_TEST_POSTGRES") else {
        println!(
            "skipped: SLUICE_TEST_POSTGRES is not set (./scripts/test starts a throwaway PostgreSQL)"
        );
        return None;
    };
    let client = raw_postgres(&server).await;
    let name = format!("t_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a database");
    Some(format!(
        "{}/{name}",
        server.rsplit_once('/').expect("a path").0
    ))
}

/// A plain connection to `url`, past the store.
pub async fn raw_postgres(url: &str) -> tokio_postgres::Client {
    let config = tokio_postgres::Config::from_str(url).expect("a PostgreSQL URL");
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
}

/// A definition that waits 10 s.
/// One Pass state whose output is its input's `order` and `done: true`: an execution that ends in
/// its first step.
pub const PASS: &str = "Type: StateMachine
Name: pass
SpecVersion: v1
StartAt: P
States:
  - Type: Pass
    Name: P
    OutputConstructor:
      order.$: $Input.order
      done: true
    End: true
";

pub const WAIT: &str = "Type: StateMachine
Name: f
SpecVersion: v1
StartAt: Sleep
States:
  - Type: Wait
    Name: Sleep
    Seconds: 10
    End: true
";

/// Joins commits racing in pairs, one pair per execution (`handles` say which one): how many
/// of each pair committed (the others must have lost the compare-and-set).
pub async fn wins(
    executions: usize,
    handles: Vec<tokio::task::JoinHandle<(usize, sluice_store::Result<()>)>>,
) -> Vec<u32> {
    let mut wins = vec![0; executions];
    for handle in handles {
        match handle.await.expect("join") {
            (i, Ok(())) => wins[i] += 1,
            (_, Err(sluice_store::StoreError::Conflict(_))) => {}
            (_, Err(e)) => panic!("unexpected failure: {e}"),
        }
    }
    wins
}

pub fn tenant() -> TenantId {
    TenantId::new("t")
}

pub fn new_flow(name: &str) -> NewFlow {
    NewFlow {
        tenant: tenant(),
        name: FlowName::new(name),
        description: "d".into(),
        definition: "def-1".into(),
        dialect: sluice_ir::Dialect::CloudFlow,
        role_arn: Some("role".into()),
        mode: ExecutionMode::Standard,
        attributes: json!({"Environment": {"k": "v"}}),
        tag: None,
        now: 1,
    }
}

pub fn info(name: &str) -> ExecutionInfo {
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
        context_ids: None,
    }
}

pub fn event(id: u64) -> HistoryEvent {
    HistoryEvent {
        id: EventId(id),
        schedule_id: None,
        step: None,
        time: 5,
        kind: EventType::StepEntered,
        detail: json!({"input": "x"}).into(),
    }
}

/// A hand-made step: a fresh state and the given event ids.
pub fn step(execution: ExecutionId, version: i64, events: &[u64]) -> StepWrite {
    StepWrite {
        execution,
        expected_version: version,
        state: Execution::new(info("e")),
        events: events.iter().map(|id| event(*id)).collect(),
        timers_added: vec![],
        timers_removed: vec![],
        tasks_added: vec![],
        tasks_removed: vec![],
        linked: vec![],
    }
}

/// A fresh execution state with the given summary, as a stored snapshot says it: the summary
/// columns and counts follow these fields alone, whatever the rest of the state is.
pub fn state_at(
    status: Status,
    started: Option<Millis>,
    stopped: Option<Millis>,
    error: Option<TaskError>,
) -> Execution {
    let fresh = Execution::new(info("e"));
    let mut fields = serde_json::to_value(Snapshot::of(&fresh)).expect("a snapshot");
    let status = match status {
        Status::Starting => "starting",
        Status::Running => "running",
        Status::Succeeded => "succeeded",
        Status::Failed => "failed",
        Status::TimedOut => "timed_out",
        Status::Stopped => "stopped",
    };
    fields["status"] = json!(status);
    fields["started_at"] = json!(started);
    fields["stopped_at"] = json!(stopped);
    fields["error"] = json!(error.map(|e| json!({"code": e.code.as_str(), "detail": e.detail})));
    serde_json::from_value::<Snapshot>(fields)
        .expect("a valid snapshot")
        .into()
}

pub fn new_execution(flow: &FlowRecord, name: &str) -> NewExecution {
    NewExecution::of(flow, ExecutionName::new(name), 2)
}

pub async fn execution(store: &dyn Store, flow: &FlowRecord, name: &str) -> ExecutionRecord {
    store
        .create_execution(new_execution(flow, name), step(ExecutionId(0), 0, &[1]))
        .await
        .expect("create execution")
}

pub async fn history_ids(store: &dyn Store, id: ExecutionId) -> Vec<u64> {
    let events = store.history(id, Page::first(1000)).await.expect("history");
    events.iter().map(|e| e.id.0).collect()
}

pub async fn fetch(store: &dyn Store, id: ExecutionId) -> ExecutionRecord {
    store.get_execution(id).await.expect("get").expect("exists")
}

/// A task, then a 10 s wait: a start dispatches a call, its answer arms a timer, the timer
/// ends the execution. Every kind of index row comes and goes.
pub const TASK_THEN_WAIT: &str = r#"
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

/// Applies `input` to the stored execution, commits the step, and returns the execution as
/// stored afterwards; the step's events are appended to `emitted`.
pub async fn apply(
    store: &dyn Store,
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

/// What creating an execution of `definition` writes: the execution and its first step (the
/// engine's `Start`), with the IR and the step for the steps that follow.
pub struct FirstStep {
    pub ir: Flow,
    pub new: NewExecution,
    pub write: StepWrite,
    pub step: sluice_engine::Step,
}

pub fn first_step(
    flow: &FlowRecord,
    definition: &str,
    name: &str,
    input: serde_json::Value,
) -> FirstStep {
    let ir = sluice_lang::cloudflow::parse(definition).expect("parse");
    let mut state = Execution::new(ExecutionInfo {
        limits: Limits::default(),
        ..info(name)
    });
    let before = state.clone();
    let step = state.apply(&ir, Input::Start { input }, 5).expect("start");
    let new = NewExecution {
        now: 5,
        ..new_execution(flow, name)
    };
    let write = StepWrite::new(ExecutionId(0), 0, &before, state, &step);
    FirstStep {
        ir,
        new,
        write,
        step,
    }
}

/// Rows as a sluice before schema tags (SQLite 4, PostgreSQL 3) wrote them: a DataArts job
/// with its workspace in its attributes, a CloudFlow flow, three executions.
pub const ROWS_BEFORE_TAGS: &str = r#"
INSERT INTO flows (id, tenant, name, description, dialect, mode, attributes, revision, open,
    created_at, modified_at)
VALUES (1, 't', 'job', '', 'dataarts', 'Standard', '{"workspace":"ws"}', 1, TRUE, 1, 1),
       (2, 't', 'flow', '', 'cloudflow', 'Standard', '{}', 1, TRUE, 1, 1);
INSERT INTO flow_revisions VALUES (1, 1, '{}'), (2, 1, 'def');
INSERT INTO executions (tenant, flow_id, flow_name, flow_revision, name, status, started_at,
    stopped_at, state, version, created_at)
VALUES ('t', 1, 'job', 1, 'i1', 'Failed', 60000, 60500,
        '{"error":{"code":"Boom","detail":"it broke"}}', 3, 59000),
       ('t', 1, 'job', 1, 'i2', 'Running', 61000, NULL, '{}', 2, 60000),
       ('t', 2, 'flow', 1, 'e1', 'Succeeded', 120000, 121000, '{}', 4, 119000);
"#;

/// What a store migrated from [`ROWS_BEFORE_TAGS`] reads: the job tagged by its workspace,
/// the executions' summaries read off their state, their counts added up.
pub async fn assert_migrated_with_tags_summaries_and_counts(store: &dyn Store) {
    let tenant = TenantId::new("t");
    let job = store
        .get_flow(&tenant, &FlowName::new("job"))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(job.tag.as_deref(), Some("ws"));
    let query = ExecutionQuery {
        tenant: tenant.clone(),
        flows: FlowSelection::Live {
            name: None,
            tag: Some("ws".into()),
        },
        statuses: vec![],
        name_prefix: None,
        started_from: None,
        started_to: None,
        latest_runs: true,
        map_run: None,
        redriven: None,
        started_as: Default::default(),
        order: ExecutionOrder::Newest,
    };
    let listed = store
        .list_summaries(&query, Page::first(10))
        .await
        .expect("list");
    let shown: Vec<_> = listed
        .iter()
        .map(|s| (s.name.as_str(), s.listed_at, s.error.clone()))
        .collect();
    let boom = sluice_ir::TaskError::new("Boom", "it broke");
    assert_eq!(shown, [("i2", 60_000, None), ("i1", 59_000, Some(boom))]);
    assert_eq!(store.count_executions(&query).await.expect("count"), 2);
    let all = CountsQuery {
        tenant,
        flows: FlowSelection::ALL,
        from: 0,
        to: 180_000,
    };
    let counts = store.execution_counts(&all).await.expect("counts");
    let per_minute: Vec<_> = counts
        .iter()
        .map(|m| {
            (
                m.minute,
                m.started,
                m.failed,
                m.running,
                m.finished,
                m.duration_ms,
            )
        })
        .collect();
    assert_eq!(
        per_minute,
        [(60_000, 2, 1, 1, 1, 500), (120_000, 1, 0, 0, 1, 1_000)]
    );
}
