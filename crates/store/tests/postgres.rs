//! What only the PostgreSQL store has, against a real server: `SLUICE_TEST_POSTGRES` names a
//! throwaway one (`./scripts/test` starts it); each test makes its own database. The store
//! contract both backends keep is tested in `conformance.rs`, the end-to-end suite also runs
//! whole against this store.

mod common;

use std::str::FromStr;
use std::time::Duration;

use serde_json::json;
use sluice_engine::{Input, Status};
use sluice_store::postgres::PostgresStore;
use sluice_store::{
    CountsQuery, ExecutionId, ExecutionStore, FlowRecord, FlowSelection, FlowStore, FlowUpdate,
    JobFilter, JobId, JobKind, JobRecord, JobStatus, JobStore, NodeStore, Signal, StepWrite,
    StoreError,
};

use common::*;

#[tokio::test]
async fn a_closed_flow_refuses_executions_and_a_newer_schema_is_refused() {
    let Some(url) = postgres_database().await else {
        return;
    };
    let store = PostgresStore::connect(&url).await.expect("connect");
    let flow = store.create_flow(new_flow("f")).await.expect("create flow");
    let close = FlowUpdate {
        open: Some(false),
        now: 2,
        ..Default::default()
    };
    store.update_flow(&flow, close).await.expect("close");
    let stale = FlowUpdate {
        now: 3,
        ..Default::default()
    };
    let ahead = FlowRecord {
        revision: flow.revision + 5,
        ..flow.clone()
    };
    assert!(matches!(
        store.update_flow(&ahead, stale).await,
        Err(StoreError::Conflict(_))
    ));
    let FirstStep {
        new, write: first, ..
    } = first_step(&flow, WAIT, "late", json!({}));
    assert!(matches!(
        store.create_execution(new, first).await,
        Err(StoreError::Closed(_))
    ));
    drop(store);

    let client = raw_postgres(&url).await;
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
    let Some(url) = postgres_database().await else {
        return;
    };
    let connect = || PostgresStore::connect(&url);
    let (a, b, c) = (
        connect().await.expect("a"),
        connect().await.expect("b"),
        connect().await.expect("c"),
    );
    assert_ne!(a.node_id(), b.node_id());

    let flow = a.create_flow(new_flow("f")).await.expect("create flow");
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
        already_completed: 0,
        failed: 0,
        failure: None,
        created_at: 1,
        finished_at: None,
    }
}

/// Steps spread a flow's counts over shards; a node folds those of past minutes into one row
/// each, and the counts read the same before and after, and after the steps that follow.
#[tokio::test]
async fn counts_are_folded_into_one_row_per_minute_and_read_the_same() {
    let Some(url) = postgres_database().await else {
        return;
    };
    let store = PostgresStore::connect(&url).await.expect("connect");
    let flow = store.create_flow(new_flow("f")).await.expect("create flow");
    let mut ids = Vec::new();
    for i in 0..20 {
        let exec = execution(&store, &flow, &format!("e{i}")).await;
        let mut write = step(exec.id, 1, &[2]);
        write.state = state_at(Status::Running, Some(60_000 + i), None, None);
        store.commit_step(write).await.expect("commit");
        ids.push(exec.id);
    }
    let day = CountsQuery {
        tenant: tenant(),
        flows: FlowSelection::Flow(flow.id),
        from: 0,
        to: 120_000,
    };
    let before = store.execution_counts(&day).await.expect("counts");
    let rows = |sql: &'static str| {
        let url = url.clone();
        async move {
            let client = raw_postgres(&url).await;
            let row = client.query_one(sql, &[]).await.expect("query");
            row.get::<_, i64>(0)
        }
    };
    let shards = "SELECT COUNT(*) FROM execution_counts WHERE minute = 1";
    assert!(rows(shards).await > 1, "the steps wrote several shards");
    drop(store);
    let store = PostgresStore::connect(&url)
        .await
        .expect("a node folds as it starts");
    assert_eq!(rows(shards).await, 1, "one row for the minute");
    assert_eq!(store.execution_counts(&day).await.expect("counts"), before);
    let mut done = step(ids[0], 2, &[3]);
    done.state = state_at(Status::Succeeded, Some(60_000), Some(60_500), None);
    store.commit_step(done).await.expect("commit");
    let after = store.execution_counts(&day).await.expect("counts");
    assert_eq!(
        (after[0].started, after[0].running, after[0].finished),
        (20, 19, 1)
    );
}

/// A node whose listening connection breaks misses what is signalled until it listens again:
/// once it does, it is told to resync, and the store says which of its calls are still
/// awaited (those whose rows a stop elsewhere removed are not).
#[tokio::test]
async fn a_node_that_lost_its_listening_connection_resyncs_against_the_task_rows() {
    let Some(url) = postgres_database().await else {
        return;
    };
    let (a, b) = (
        PostgresStore::connect(&url).await.expect("a"),
        PostgresStore::connect(&url).await.expect("b"),
    );
    let flow = a.create_flow(new_flow("f")).await.expect("create flow");
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

#[tokio::test]
async fn of_two_nodes_groups_holding_steps_of_the_same_executions_exactly_one_step_wins() {
    let Some(url) = postgres_database().await else {
        return;
    };
    let (a, b) = (
        PostgresStore::connect(&url).await.expect("a"),
        PostgresStore::connect(&url).await.expect("b"),
    );
    let (a, b) = (std::sync::Arc::new(a), std::sync::Arc::new(b));
    let flow = a.create_flow(new_flow("f")).await.expect("create flow");
    const EXECUTIONS: usize = 64;
    let mut ids = Vec::new();
    for i in 0..EXECUTIONS {
        ids.push(execution(&*a, &flow, &format!("e{i}")).await.id);
    }
    // Every execution gets a step from each node, all at once: each node's writers gather many
    // of them into a group, and the groups of the two nodes hold steps of the same executions.
    let mut handles = Vec::new();
    for (i, &id) in ids.iter().enumerate() {
        for (node, store) in [(0, &a), (1, &b)] {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let mut write = step(id, 1, &[2, 3]);
                write.events[1].detail = json!({ "node": node }).into();
                (i, store.commit_step(write).await)
            }));
        }
    }
    assert_eq!(wins(EXECUTIONS, handles).await, vec![1; EXECUTIONS]);
    for id in ids {
        let record = fetch(&*b, id).await;
        assert_eq!(record.version, 2, "one step on top of the first");
        let events = b
            .history(id, sluice_store::Page::first(10))
            .await
            .expect("history");
        let ids: Vec<u64> = events.iter().map(|e| e.id.0).collect();
        assert_eq!(ids, [1, 2, 3], "the winner's events alone");
        let node = &events[2].detail["node"];
        assert!(node == 0 || node == 1, "{node}");
    }
}

#[tokio::test]
async fn a_node_hears_the_steps_another_node_commits() {
    let Some(url) = postgres_database().await else {
        return;
    };
    let (a, b) = (
        PostgresStore::connect(&url).await.expect("a"),
        PostgresStore::connect(&url).await.expect("b"),
    );
    let mut at_a = a.published();
    let mut at_b = b.published();
    let flow = a.create_flow(new_flow("f")).await.expect("create flow");
    let exec = execution(&a, &flow, "e").await;
    let mut step = sluice_store::Progress {
        tenant: tenant(),
        flow: flow.name.clone(),
        id: exec.id,
        execution: exec.name.clone(),
        status: Status::Stopped,
        events: vec![event(2)],
    };
    a.publish(std::sync::Arc::new(step.clone()));
    let heard = tokio::time::timeout(Duration::from_secs(5), at_b.recv())
        .await
        .expect("heard in time")
        .expect("a step");
    step.events[0].detail = serde_json::Value::Null.into();
    assert_eq!(*heard, step, "the step, its events without their detail");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(at_a.try_recv().is_err(), "a node does not hear itself");
}

/// A group writes the rows of all its steps in one statement per table, so a statement that
/// fails cannot say whose rows it held: the step at fault fails alone and the others of its
/// group commit, their rows (here their timers) all there.
#[tokio::test]
async fn a_step_whose_rows_fail_in_a_group_fails_alone() {
    let Some(url) = postgres_database().await else {
        return;
    };
    let store = std::sync::Arc::new(PostgresStore::connect(&url).await.expect("connect"));
    let flow = store.create_flow(new_flow("f")).await.expect("create flow");
    const EXECUTIONS: usize = 48;
    let mut ids = Vec::new();
    for i in 0..EXECUTIONS {
        ids.push(execution(&*store, &flow, &format!("e{i}")).await.id);
    }
    let bad = [5, 17, 40];
    let handles: Vec<_> = ids
        .iter()
        .enumerate()
        .map(|(i, &id)| {
            let store = store.clone();
            // A repeated event id breaks the history insert of the group holding it.
            let events: &[u64] = if bad.contains(&i) { &[2, 2] } else { &[2, 3] };
            let mut write = step(id, 1, events);
            write.timers_added.push(sluice_store::TimerRow {
                execution: id,
                op: sluice_engine::OpId(7),
                fire_at: 100,
            });
            tokio::spawn(async move { (i, store.commit_step(write).await) })
        })
        .collect();
    for handle in handles {
        let (i, committed) = handle.await.expect("join");
        match committed {
            Err(StoreError::AlreadyExists(_)) if bad.contains(&i) => {}
            Ok(()) if !bad.contains(&i) => {}
            other => panic!("step {i}: {other:?}"),
        }
    }
    for (i, &id) in ids.iter().enumerate() {
        let (version, history) = if bad.contains(&i) {
            (1, vec![1])
        } else {
            (2, vec![1, 2, 3])
        };
        assert_eq!(fetch(&*store, id).await.version, version, "execution {i}");
        assert_eq!(history_ids(&*store, id).await, history, "execution {i}");
    }
    let timers = store.due_timers(100, 1000).await.expect("timers");
    assert_eq!(
        timers.len(),
        EXECUTIONS - bad.len(),
        "the timers of the steps that won"
    );
}
