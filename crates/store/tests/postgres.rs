//! The PostgreSQL store against a real server: `SLUICE_TEST_POSTGRES` names a throwaway one
//! (`./scripts/test` starts it); each test makes its own database. The end-to-end suite also
//! runs whole against this store.

use std::str::FromStr;
use std::time::Duration;

use serde_json::{Value, json};
use sluice_engine::{EventId, Execution, ExecutionInfo, Input, Limits, Status};
use sluice_store::postgres::PostgresStore;
use sluice_store::{
    ExecutionId, ExecutionMode, ExecutionName, FlowName, FlowRecord, FlowUpdate, JobFilter, JobId,
    JobKind, JobRecord, JobStatus, NewExecution, NewFlow, Signal, StepWrite, Store, StoreError,
    TenantId,
};

const FLOW: &str = "Type: StateMachine
Name: f
SpecVersion: v1
StartAt: Sleep
States:
  - Type: Wait
    Name: Sleep
    Seconds: 10
    End: true
";

/// A fresh database on the test server, or `None` (with the reason printed) without one.
async fn database() -> Option<String> {
    let Ok(server) = std::env::var("SLUICE_TEST_POSTGRES") else {
        println!(
            "skipped: SLUICE_TEST_POSTGRES is not set (./scripts/test starts a throwaway PostgreSQL)"
        );
        return None;
    };
    let config = tokio_postgres::Config::from_str(&server).expect("a PostgreSQL URL");
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let name = format!("t_{}", std::process::id() as u64 * 1000 + rand_suffix());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a database");
    Some(format!(
        "{}/{name}",
        server.rsplit_once('/').expect("a path").0
    ))
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()) % 1000)
        .unwrap_or_default()
}

fn new_flow() -> NewFlow {
    NewFlow {
        tenant: TenantId::new("t"),
        name: FlowName::new("f"),
        description: String::new(),
        definition: FLOW.into(),
        dialect: sluice_ir::Dialect::CloudFlow,
        role_arn: None,
        mode: ExecutionMode::Standard,
        attributes: json!({}),
        now: 1,
    }
}

fn info() -> ExecutionInfo {
    ExecutionInfo {
        name: "e".into(),
        flow_name: "f".into(),
        role_arn: None,
        token_prefix: "p.".into(),
        seed: 1,
        limits: Limits::default(),
    }
}

/// What creating an execution of `definition` writes: the execution and its first step (the
/// engine's `Start`), with the IR and the step for the steps that follow.
struct FirstStep {
    ir: sluice_ir::Flow,
    new: NewExecution,
    write: StepWrite,
    step: sluice_engine::Step,
}

fn first_step(flow: &FlowRecord, definition: &str, name: &str, input: Value) -> FirstStep {
    let ir = sluice_lang::cloudflow::parse(definition).expect("parse");
    let mut state = Execution::new(info());
    let before = state.clone();
    let step = state.apply(&ir, Input::Start { input }, 5).expect("start");
    let new = NewExecution {
        tenant: flow.tenant.clone(),
        flow_id: flow.id,
        flow_name: flow.name.clone(),
        flow_revision: flow.revision,
        name: ExecutionName::new(name),
        now: 5,
    };
    let write = StepWrite::new(ExecutionId(0), 0, &before, state, &step);
    FirstStep {
        ir,
        new,
        write,
        step,
    }
}

#[tokio::test]
async fn steps_commit_with_compare_and_set_and_history_reads_back() {
    let Some(url) = database().await else { return };
    let store = PostgresStore::connect(&url)
        .await
        .expect("connect and migrate");
    let flow = store.create_flow(new_flow()).await.expect("create flow");
    assert!(matches!(
        store.create_flow(new_flow()).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let FirstStep {
        ir,
        new,
        write: first,
        step,
    } = first_step(&flow, FLOW, "e", json!({"a": 1}));
    let state = first.state.clone();
    let created = store
        .create_execution(new, first)
        .await
        .expect("create execution");
    // The Wait's timer and the execution's deadline.
    let armed = step
        .effects
        .iter()
        .filter(|e| matches!(e, sluice_engine::Effect::StartTimer { .. }))
        .count();
    assert!(armed >= 1);
    assert_eq!(
        store.due_timers(i64::MAX, 10).await.expect("timers").len(),
        armed
    );

    let mut stopped = state.clone();
    let stop = stopped
        .apply(
            &ir,
            Input::Stop {
                error: None,
                cause: None,
            },
            6,
        )
        .expect("stop");
    let write = StepWrite::new(created.id, 1, &state, stopped.clone(), &stop);
    store.commit_step(write.clone()).await.expect("commit");
    assert!(matches!(
        store.commit_step(write).await,
        Err(StoreError::Conflict(_))
    ));
    let stored = store
        .get_execution(created.id)
        .await
        .expect("get")
        .expect("exists");
    assert_eq!((stored.status(), stored.version), (Status::Stopped, 2));
    assert!(
        store
            .due_timers(i64::MAX, 10)
            .await
            .expect("timers")
            .is_empty()
    );
    let history = store
        .history(created.id, EventId(0), 100)
        .await
        .expect("history");
    let ids: Vec<u64> = history.iter().map(|e| e.id.0).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    assert_eq!(history.len(), step.events.len() + stop.events.len());
}

#[tokio::test]
async fn a_closed_flow_refuses_executions_and_a_newer_schema_is_refused() {
    let Some(url) = database().await else { return };
    let store = PostgresStore::connect(&url).await.expect("connect");
    let flow = store.create_flow(new_flow()).await.expect("create flow");
    let close = FlowUpdate {
        open: Some(false),
        ..Default::default()
    };
    store
        .update_flow(&flow.tenant, &flow.name, flow.revision, close, 2)
        .await
        .expect("close");
    let stale = FlowUpdate::default();
    assert!(matches!(
        store
            .update_flow(&flow.tenant, &flow.name, flow.revision + 5, stale, 3)
            .await,
        Err(StoreError::Conflict(_))
    ));
    let FirstStep {
        new, write: first, ..
    } = first_step(&flow, FLOW, "late", json!({}));
    assert!(matches!(
        store.create_execution(new, first).await,
        Err(StoreError::Closed(_))
    ));
    drop(store);

    let config = tokio_postgres::Config::from_str(&url).expect("url");
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    client
        .batch_execute("UPDATE schema_version SET version = 999")
        .await
        .expect("pretend a newer sluice migrated");
    assert!(matches!(
        PostgresStore::connect(&url).await,
        Err(StoreError::SchemaTooNew { found: 999, .. })
    ));
}

/// A call and a timer at once: one execution leaves a task row and a timer row.
const CALL_AND_SLEEP: &str = include_str!("data/call_and_sleep.yaml");

#[tokio::test]
async fn nodes_signal_each_other_and_a_dead_nodes_work_is_taken_over_once() {
    let Some(url) = database().await else { return };
    let connect = || PostgresStore::connect(&url);
    let (a, b, c) = (
        connect().await.expect("a"),
        connect().await.expect("b"),
        connect().await.expect("c"),
    );
    assert_ne!(a.node_id(), b.node_id());

    let flow = a.create_flow(new_flow()).await.expect("create flow");
    let FirstStep {
        new, write: first, ..
    } = first_step(&flow, CALL_AND_SLEEP, "e", json!({}));
    let execution = a.create_execution(new, first).await.expect("create");
    a.create_job(job(&flow)).await.expect("job");
    // The Wait's timer, and any the engine keeps for timeouts.
    let armed = a.due_timers(i64::MAX, 10).await.expect("timers").len();
    assert!(armed >= 1);
    assert!(
        b.due_timers(i64::MAX, 10).await.expect("timers").is_empty(),
        "a timer is loaded by the node that armed it"
    );
    let lease = Duration::from_millis(500);
    assert!(
        b.take_over(lease)
            .await
            .expect("take over")
            .tasks
            .is_empty(),
        "a live node keeps its work"
    );

    let (mut at_a, mut at_b, mut at_c) = (a.signals(), b.signals(), c.signals());
    let abort = Signal::AbortCall {
        execution: execution.id,
        op: sluice_engine::OpId(1),
    };
    a.signal(abort).await.expect("signal");
    for heard in [&mut at_b, &mut at_c] {
        let got = tokio::time::timeout(Duration::from_secs(5), heard.recv()).await;
        assert_eq!(got.expect("heard in time").expect("a signal"), abort);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(at_a.try_recv().is_err(), "a node does not hear itself");

    // a falls silent; b and c stay alive and both try to take over at once.
    tokio::time::sleep(lease + Duration::from_millis(100)).await;
    b.renew_lease().await.expect("renew");
    c.renew_lease().await.expect("renew");
    let (by_b, by_c) = tokio::join!(b.take_over(lease), c.take_over(lease));
    let (by_b, by_c) = (by_b.expect("b takes over"), by_c.expect("c takes over"));
    let (winner, taken, other) = if by_b.tasks.is_empty() {
        (&c, by_c, by_b)
    } else {
        (&b, by_b, by_c)
    };
    assert_eq!(
        taken.tasks.iter().map(|t| t.execution).collect::<Vec<_>>(),
        [execution.id]
    );
    assert_eq!(taken.timers, armed as u64);
    assert_eq!(
        taken
            .jobs
            .iter()
            .map(|j| j.id.0.as_str())
            .collect::<Vec<_>>(),
        ["j1"]
    );
    assert!(
        other.tasks.is_empty() && other.jobs.is_empty() && other.timers == 0,
        "taken over once"
    );
    assert_eq!(
        winner.due_timers(i64::MAX, 10).await.expect("timers").len(),
        armed
    );
    assert!(a.due_timers(i64::MAX, 10).await.expect("timers").is_empty());
    assert!(
        !a.renew_lease().await.expect("renew"),
        "a node learns its lease had run out"
    );

    // A node shutting down gracefully hands over at once, however long the lease.
    let mut leaving = job(&flow);
    leaving.id = JobId::new("j2");
    b.create_job(leaving).await.expect("job");
    b.release_lease().await.expect("release");
    let taken = c
        .take_over(Duration::from_secs(3600))
        .await
        .expect("take over");
    assert!(
        taken.jobs.iter().any(|j| j.id.0 == "j2"),
        "{:?}",
        taken.jobs
    );
}

fn job(flow: &FlowRecord) -> JobRecord {
    JobRecord {
        id: JobId::new("j1"),
        tenant: flow.tenant.clone(),
        kind: JobKind::StopExecutions,
        flow_id: flow.id,
        flow_name: flow.name.clone(),
        filter: JobFilter::default(),
        status: JobStatus::Running,
        total: 0,
        done: 0,
        failure: None,
        created_at: 1,
        finished_at: None,
    }
}
