//! The PostgreSQL store against a real server: `SLUICE_TEST_POSTGRES` names a throwaway one
//! (`./scripts/test` starts it); each test makes its own database. The end-to-end suite also
//! runs whole against this store. Checks that concern both stores alike run on SQLite too.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sluice_engine::{EventId, Execution, ExecutionInfo, Input, Limits, Status};
use sluice_store::postgres::PostgresStore;
use sluice_store::sqlite::SqliteStore;
use sluice_store::{
    AliasRecord, AliasUpdate, ExecutionId, ExecutionMode, ExecutionName, FlowName, FlowRecord,
    FlowUpdate, JobFilter, JobId, JobKind, JobRecord, JobStatus, NewExecution, NewFlow, Route,
    ScheduleRecord, Signal, StepWrite, Store, StoreError, TenantId,
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

/// Fifty requests at once to move one flow (a GES graph stop each): one gets its job, the
/// others are refused, on both stores. Then the flow, once its closing job has ended, can be
/// moved again, once.
async fn exactly_one_of_concurrent_moves_gets_a_job(store: Arc<dyn Store>) {
    let flow = store.create_flow(new_flow()).await.expect("create flow");
    let moves = |kind: JobKind, open: Option<bool>| {
        let (store, flow) = (store.clone(), flow.clone());
        async move {
            let attempts = (0..50).map(|i| {
                let (store, mut job) = (store.clone(), job(&flow));
                job.id = JobId::new(format!("{}-{i}", kind.as_str()));
                job.kind = kind;
                job.status = JobStatus::Pending;
                tokio::spawn(async move { (store.create_flow_job(job.clone(), open).await, job) })
            });
            let mut made = Vec::new();
            for attempt in attempts {
                match attempt.await.expect("joined") {
                    (Ok(()), job) => made.push(job),
                    (Err(StoreError::Conflict(_)), _) => {}
                    (Err(e), _) => panic!("{e}"),
                }
            }
            made
        }
    };
    let closing = moves(JobKind::CloseFlow, Some(true)).await;
    assert_eq!(closing.len(), 1, "one closing job of 50 requests");
    assert_eq!(
        moves(JobKind::RestartFlow, None).await.len(),
        0,
        "no restart while a job moves the flow"
    );

    let mut done = closing[0].clone();
    store
        .update_flow(
            &flow.tenant,
            &flow.name,
            flow.revision,
            FlowUpdate {
                open: Some(false),
                ..Default::default()
            },
            2,
        )
        .await
        .expect("close");
    done.status = JobStatus::Succeeded;
    store.update_job(done).await.expect("finish the job");
    assert_eq!(
        moves(JobKind::CloseFlow, Some(true)).await.len(),
        0,
        "a closed flow is not closed again"
    );
    assert_eq!(
        moves(JobKind::OpenFlow, Some(false)).await.len(),
        1,
        "one reopening job"
    );
    assert_eq!(
        store
            .list_jobs(&flow.tenant, 0, 500)
            .await
            .expect("jobs")
            .len(),
        2
    );
}

/// A start that read its flow before the flow was deleted cannot create an execution behind
/// the delete (the delete's job has listed the executions to stop by then).
async fn a_deleted_flow_gets_no_execution(store: Arc<dyn Store>) {
    let flow = store.create_flow(new_flow()).await.expect("create flow");
    store
        .delete_flow(&flow.tenant, &flow.name)
        .await
        .expect("delete");
    let FirstStep { new, write, .. } = first_step(&flow, FLOW, "late", json!({}));
    assert!(matches!(
        store.create_execution(new, write).await,
        Err(StoreError::NotFound(_))
    ));
}

#[tokio::test]
async fn of_concurrent_moves_of_a_flow_exactly_one_gets_a_job_on_both_stores() {
    let dir = tempfile::tempdir().expect("a directory");
    let sqlite = SqliteStore::open(&dir.path().join("sluice.db")).expect("open");
    exactly_one_of_concurrent_moves_gets_a_job(Arc::new(sqlite)).await;
    let Some(url) = database().await else { return };
    let postgres = PostgresStore::connect(&url).await.expect("connect");
    exactly_one_of_concurrent_moves_gets_a_job(Arc::new(postgres)).await;
}

#[tokio::test]
async fn a_start_racing_a_delete_creates_nothing_on_both_stores() {
    let dir = tempfile::tempdir().expect("a directory");
    let sqlite = SqliteStore::open(&dir.path().join("sluice.db")).expect("open");
    a_deleted_flow_gets_no_execution(Arc::new(sqlite)).await;
    let Some(url) = database().await else { return };
    let postgres = PostgresStore::connect(&url).await.expect("connect");
    a_deleted_flow_gets_no_execution(Arc::new(postgres)).await;
}

fn on(version: i64) -> Vec<Route> {
    vec![Route {
        version,
        weight: 100,
    }]
}

/// Fifty changes at once of one flow's versions and aliases: publishes get distinct numbers;
/// of an alias moved onto a version while that version is deleted, exactly one wins and no
/// alias routes to a missing version; updates of different fields of one alias all hold.
async fn version_and_alias_changes_are_atomic(store: Arc<dyn Store>) {
    let flow = store.create_flow(new_flow()).await.expect("create flow");
    let publishes = (0..50).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.publish_version(flow.id, "", 1).await })
    });
    let mut numbers = Vec::new();
    for publish in publishes.collect::<Vec<_>>() {
        numbers.push(publish.await.expect("joined").expect("publish").version);
    }
    numbers.sort_unstable();
    assert_eq!(
        numbers,
        (1..=50).collect::<Vec<_>>(),
        "50 distinct versions"
    );

    for i in 0..25 {
        let alias = AliasRecord {
            flow_id: flow.id,
            name: format!("a{i}"),
            description: String::new(),
            routing: on(1),
            created_at: 1,
            modified_at: 1,
        };
        store.create_alias(alias).await.expect("alias");
    }
    let races = (0..25).map(|i| {
        let store = store.clone();
        let version = i + 2;
        tokio::spawn(async move {
            let update = AliasUpdate {
                description: None,
                routing: Some(on(version)),
                modified_at: 2,
            };
            let name = format!("a{i}");
            let routed = store.update_alias(flow.id, &name, update);
            let deleted = store.delete_version(flow.id, version);
            let (routed, deleted) = tokio::join!(routed, deleted);
            (version, name, routed.map(drop), deleted)
        })
    });
    for race in races.collect::<Vec<_>>() {
        let (version, name, routed, deleted) = race.await.expect("joined");
        match (routed, deleted) {
            (Ok(()), Err(StoreError::RoutedTo(by))) => assert_eq!(by, [name]),
            (Err(StoreError::NoSuchVersion(v)), Ok(())) => assert_eq!(v, version),
            other => panic!("version {version}: exactly one may win, got {other:?}"),
        }
    }
    for alias in store.list_aliases(flow.id, None, 100).await.expect("list") {
        for route in &alias.routing {
            let version = store
                .get_version(flow.id, route.version)
                .await
                .expect("get");
            assert!(
                version.is_some(),
                "{} routes to a deleted version",
                alias.name
            );
        }
    }

    let updates = (0..50).map(|i| {
        let store = store.clone();
        tokio::spawn(async move {
            let update = AliasUpdate {
                description: (i % 2 == 0).then(|| format!("d{i}")),
                routing: (i % 2 == 1).then(|| on(27 + i % 24)),
                modified_at: 3,
            };
            store.update_alias(flow.id, "a0", update).await
        })
    });
    for update in updates.collect::<Vec<_>>() {
        update.await.expect("joined").expect("an update");
    }
    let alias = store
        .get_alias(flow.id, "a0")
        .await
        .expect("get")
        .expect("a0");
    assert!(alias.description.starts_with('d'), "{alias:?}");
    assert!(alias.routing[0].version >= 27, "{alias:?}");
}

#[tokio::test]
async fn version_and_alias_changes_are_atomic_on_both_stores() {
    let dir = tempfile::tempdir().expect("a directory");
    let sqlite = SqliteStore::open(&dir.path().join("sluice.db")).expect("open");
    version_and_alias_changes_are_atomic(Arc::new(sqlite)).await;
    let Some(url) = database().await else { return };
    let postgres = PostgresStore::connect(&url).await.expect("connect");
    version_and_alias_changes_are_atomic(Arc::new(postgres)).await;
}

/// Fifty nodes claiming one schedule's tick at once: exactly one owns it (and fires it), on
/// both stores; the next tick is claimed once too.
async fn a_schedule_tick_is_claimed_once(store: Arc<dyn Store>) {
    let flow = store.create_flow(new_flow()).await.expect("create flow");
    let schedule = ScheduleRecord {
        id: 0,
        tenant: flow.tenant.clone(),
        flow_id: flow.id,
        flow_name: flow.name.clone(),
        name: "s".into(),
        cron: "0 * * * * *".into(),
        payload: "{}".into(),
        description: String::new(),
        enabled: true,
        next_fire_at: Some(60_000),
        created_at: 1,
        modified_at: 1,
    };
    let id = store.create_schedule(schedule).await.expect("schedule").id;
    for (fired, next) in [(60_000, 120_000), (120_000, 180_000)] {
        let claims = (0..50).map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_schedule_tick(id, fired, Some(next)).await })
        });
        let mut owners = 0;
        for claim in claims.collect::<Vec<_>>() {
            owners += usize::from(claim.await.expect("joined").expect("claim"));
        }
        assert_eq!(owners, 1, "the tick at {fired} has one owner of 50 claims");
    }
}

#[tokio::test]
async fn a_schedule_tick_is_claimed_once_on_both_stores() {
    let dir = tempfile::tempdir().expect("a directory");
    let sqlite = SqliteStore::open(&dir.path().join("sluice.db")).expect("open");
    a_schedule_tick_is_claimed_once(Arc::new(sqlite)).await;
    let Some(url) = database().await else { return };
    let postgres = PostgresStore::connect(&url).await.expect("connect");
    a_schedule_tick_is_claimed_once(Arc::new(postgres)).await;
}

/// A node whose listening connection breaks misses what is signalled until it listens again:
/// once it does, it is told to resync, and the store says which of its calls are still
/// awaited (those whose rows a stop elsewhere removed are not).
#[tokio::test]
async fn a_node_that_lost_its_listening_connection_resyncs_against_the_task_rows() {
    let Some(url) = database().await else { return };
    let (a, b) = (
        PostgresStore::connect(&url).await.expect("a"),
        PostgresStore::connect(&url).await.expect("b"),
    );
    let flow = a.create_flow(new_flow()).await.expect("create flow");
    let FirstStep {
        ir,
        new,
        write: first,
        ..
    } = first_step(&flow, CALL_AND_SLEEP, "e", json!({}));
    let state = first.state.clone();
    let execution = a.create_execution(new, first).await.expect("create");
    let other = (ExecutionId(execution.id.0 + 1000), sluice_engine::OpId(1));
    let ops = state
        .pending_ops()
        .filter_map(|op| match op {
            sluice_engine::PendingOp::Task { call, .. } => Some((execution.id, call.op)),
            _ => None,
        })
        .collect::<Vec<_>>();
    assert_eq!(ops.len(), 1, "the call's task row");
    assert_eq!(
        b.open_calls(&[ops[0], other]).await.expect("open calls"),
        [ops[0]],
        "a dispatched call's row is there; an unknown one is not"
    );

    let mut heard = b.signals();
    let config = tokio_postgres::Config::from_str(&url).expect("url");
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let killed = client
        .query(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE datname = current_database() AND query LIKE 'LISTEN %'",
            &[],
        )
        .await
        .expect("end the listening connections");
    assert_eq!(killed.len(), 2, "each node listens on one connection");
    // Stopped elsewhere while b does not listen: the stop removes the call's row.
    let mut stopped = state.clone();
    let step = stopped
        .apply(
            &ir,
            Input::Stop {
                error: None,
                cause: None,
            },
            6,
        )
        .expect("stop");
    let write = StepWrite::new(execution.id, 1, &state, stopped, &step);
    a.commit_step(write).await.expect("commit the stop");
    let got = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match heard.recv().await.expect("a signal") {
                Signal::Resync => return,
                _ => continue,
            }
        }
    })
    .await;
    assert!(got.is_ok(), "b is told to resync once it listens again");
    assert_eq!(
        b.open_calls(&ops).await.expect("open calls"),
        [],
        "the stopped call's row is gone"
    );
}
