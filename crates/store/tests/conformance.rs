//! The store contract, tested on both backends: every test here runs once on SQLite and once
//! on PostgreSQL (see `common::contract!`). What only one backend has is tested beside it
//! (`src/sqlite/tests.rs`) or in `postgres.rs`.

mod common;

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use sluice_engine::{EventId, EventType, Execution, Input, OpId, Status};
use sluice_ir::TaskError;
use sluice_store::{
    ActivityRecord, AliasRecord, AliasUpdate, CountsQuery, ExecutionCursor, ExecutionFilter,
    ExecutionId, ExecutionMode, ExecutionName, ExecutionOrder, ExecutionQuery, ExecutionSummary,
    FlowId, FlowName, FlowQuery, FlowRecord, FlowSelection, FlowUpdate, JobFilter, JobId, JobKind,
    JobRecord, JobStatus, LinkedWrite, MinuteCounts, NameMatch, NewFlow, NewVersion, Page, Purge,
    Route, ScheduleRecord, ScheduleTick, StepWrite, Store, StoreError, TenantId, TimerRow,
    VersionRecord,
};

use common::*;

contract!(
    flows_are_created_read_and_listed_by_name,
    flow_updates_compare_and_set_and_only_definitions_make_revisions,
    a_deleted_flow_keeps_its_revisions_and_a_recreated_one_gets_a_new_id,
    flows_are_listed_and_counted_by_name_mode_and_tag,
    an_engine_driven_execution_keeps_its_rows_in_step,
    steps_commit_with_compare_and_set_and_history_reads_back,
    an_executions_input_and_output_read_back_whole_on_every_page_of_its_history,
    a_new_execution_uses_its_new_id_for_every_row_and_refuses_a_duplicate_name,
    a_failed_compare_and_set_changes_nothing,
    concurrent_steps_of_one_execution_commit_once,
    executions_list_by_prefix_status_time_and_cursor,
    summaries_list_a_tenants_executions_newest_first_by_tag_and_flow_name,
    counts_agree_with_the_rows_through_every_change,
    counts_per_minute_follow_starts_failures_and_durations,
    a_rerun_replaces_its_run_in_the_latest_runs_in_the_same_place,
    everything_acknowledged_is_there_after_reopening,
    versions_snapshot_revisions_and_are_never_renumbered,
    aliases_are_created_updated_listed_and_deleted,
    schedules_fire_when_due_and_each_tick_is_claimed_once,
    fifty_claims_of_a_tick_make_one_owner,
    version_and_alias_changes_are_atomic,
    a_publish_checks_its_revision_and_may_answer_the_existing_version,
    an_update_of_some_attributes_keeps_the_others,
    executions_keep_what_their_start_named_and_list_by_redrives,
    a_closed_flow_refuses_new_executions_until_reopened,
    a_deleted_flow_gets_no_execution,
    of_concurrent_moves_of_a_flow_exactly_one_gets_a_job,
    jobs_are_kept_listed_newest_first_and_resumable_until_finished,
    a_reopened_database_hands_over_calls_and_jobs_once,
    expired_executions_are_purged_in_batches_children_before_their_root,
    a_purge_under_load_deletes_no_unfinished_execution,
    activities_are_kept_per_tenant_and_queue_their_waiting_tasks,
);

// ---- flows ---------------------------------------------------------------------------------

async fn flows_are_created_read_and_listed_by_name(backend: &Backend) {
    let store = &*backend.open().await;
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
        names(
            store
                .list_flows(&FlowQuery::all(&tenant()), Page::first(10))
                .await
                .expect("list")
        ),
        ["a", "b", "c"]
    );
    assert_eq!(
        names(
            store
                .list_flows(&FlowQuery::all(&tenant()), Page::first(2))
                .await
                .expect("list")
        ),
        ["a", "b"]
    );
    let after = FlowName::new("b");
    assert_eq!(
        names(
            store
                .list_flows(&FlowQuery::all(&tenant()), Page::after(Some(after), 10))
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

async fn flow_updates_compare_and_set_and_only_definitions_make_revisions(backend: &Backend) {
    let store = &*backend.open().await;
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let describe = FlowUpdate {
        description: Some("new words".into()),
        open: Some(false),
        ..Default::default()
    };
    let described = store
        .update_flow(&flow, FlowUpdate { now: 3, ..describe })
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
        .update_flow(
            &flow,
            FlowUpdate {
                now: 4,
                ..redefine.clone()
            },
        )
        .await
        .expect("update");
    assert_eq!(
        (redefined.revision, redefined.definition.as_str()),
        (2, "def-2")
    );
    assert_eq!(
        redefined.attributes,
        json!({"Environment": {"k": "v"}, "x": 1}),
        "the attributes given are merged into the others"
    );
    assert!(matches!(
        store
            .update_flow(
                &flow,
                FlowUpdate {
                    now: 5,
                    ..redefine.clone()
                }
            )
            .await,
        Err(StoreError::Conflict(_))
    ));
    let nope = FlowRecord {
        name: FlowName::new("nope"),
        ..flow.clone()
    };
    assert!(matches!(
        store
            .update_flow(&nope, FlowUpdate { now: 5, ..redefine })
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

async fn a_deleted_flow_keeps_its_revisions_and_a_recreated_one_gets_a_new_id(backend: &Backend) {
    let store = &*backend.open().await;
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let running = execution(store, &flow, "running").await;
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
            .list_flows(&FlowQuery::all(&tenant()), Page::first(10))
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
            .update_flow(
                &flow,
                FlowUpdate {
                    now: 3,
                    ..Default::default()
                }
            )
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.publish_version(version(flow.id, "v", 3)).await,
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
    execution(store, &again, "running").await;
}

// ---- executions ----------------------------------------------------------------------------

async fn an_engine_driven_execution_keeps_its_rows_in_step(backend: &Backend) {
    let store = &*backend.open().await;
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
        fetch(store, created.id).await,
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
    let tasks = backend.task_rows().await;
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
        store,
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
    assert!(backend.task_rows().await.is_empty());
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
        store,
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
        .history(created.id, Page::first(1000))
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
        .history(created.id, Page::after(Some(EventId(2)), 2))
        .await
        .expect("history");
    assert_eq!(tail.iter().map(|e| e.id.0).collect::<Vec<_>>(), [3, 4]);
}

async fn a_new_execution_uses_its_new_id_for_every_row_and_refuses_a_duplicate_name(
    backend: &Backend,
) {
    let store = &*backend.open().await;
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
    assert_eq!(history_ids(store, created.id).await, [1, 2]);
}

async fn a_failed_compare_and_set_changes_nothing(backend: &Backend) {
    let store = &*backend.open().await;
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let exec = execution(store, &flow, "e").await;
    let mut write = step(exec.id, 1, &[2, 3]);
    write.timers_added.push(TimerRow {
        execution: exec.id,
        op: OpId(1),
        fire_at: 100,
    });
    store.commit_step(write).await.expect("commit");
    let before = fetch(store, exec.id).await;

    let mut stale = step(exec.id, 1, &[4]);
    stale.state = state_at(Status::Failed, None, None, None);
    stale.timers_removed.push(OpId(1));
    assert!(matches!(
        store.commit_step(stale).await,
        Err(StoreError::Conflict(_))
    ));
    // A duplicate event id fails the whole step, state included.
    let mut duplicate = step(exec.id, 2, &[4, 3]);
    duplicate.state = state_at(Status::Failed, None, None, None);
    assert!(matches!(
        store.commit_step(duplicate).await,
        Err(StoreError::AlreadyExists(_))
    ));
    assert!(matches!(
        store.commit_step(step(ExecutionId(12345), 1, &[1])).await,
        Err(StoreError::NotFound(_))
    ));

    assert_eq!(fetch(store, exec.id).await, before);
    assert_eq!(history_ids(store, exec.id).await, [1, 2, 3]);
    assert_eq!(store.due_timers(100, 10).await.expect("timers").len(), 1);
    // Removing rows that do not exist is fine (the runtime lists an op in both lists).
    let mut removal = step(exec.id, 2, &[4]);
    removal.timers_removed = vec![OpId(1), OpId(9)];
    removal.tasks_removed = vec![OpId(1), OpId(9)];
    store.commit_step(removal).await.expect("commit");
    assert!(store.due_timers(100, 10).await.expect("timers").is_empty());
}

async fn executions_list_by_prefix_status_time_and_cursor(backend: &Backend) {
    let store = &*backend.open().await;
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    for (name, started) in [
        ("a_1", 10),
        ("a_2", 20),
        ("a%3", 30),
        ("ab", 40),
        ("b_1", 50),
    ] {
        let exec = execution(store, &flow, name).await;
        let mut write = step(exec.id, 1, &[2]);
        write.state = state_at(Status::Running, Some(started), None, None);
        store.commit_step(write).await.expect("commit");
    }
    let done = execution(store, &flow, "a_9").await;
    let mut finish = step(done.id, 1, &[2]);
    finish.state = state_at(Status::Succeeded, None, None, None);
    store.commit_step(finish).await.expect("commit");

    let list = |filter: ExecutionFilter, after: Option<&str>, limit: usize| {
        let store = &store;
        let after = after.map(ExecutionName::new);
        async move {
            let found = store
                .list_executions(
                    &ExecutionQuery::of_flow(&tenant(), flow.id, &filter),
                    Page::after(after.map(ExecutionCursor::after_name), limit),
                )
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

async fn everything_acknowledged_is_there_after_reopening(backend: &Backend) {
    let (flow, exec) = {
        let store = &*backend.open().await;
        let flow = store.create_flow(new_flow("kept")).await.expect("create");
        let exec = execution(store, &flow, "e").await;
        let mut write = step(exec.id, 1, &[2]);
        write.timers_added.push(TimerRow {
            execution: exec.id,
            op: OpId(3),
            fire_at: 9,
        });
        store.commit_step(write).await.expect("commit");
        store
            .publish_version(version(flow.id, "v1", 5))
            .await
            .expect("version");
        (flow, fetch(store, exec.id).await)
    };
    let store = &*backend.open().await;
    assert_eq!(
        store.get_flow(&tenant(), &flow.name).await.expect("get"),
        Some(flow.clone())
    );
    assert_eq!(fetch(store, exec.id).await, exec);
    assert_eq!(history_ids(store, exec.id).await, [1, 2]);
    // On a database several nodes share, the timers of the node gone are this one's now.
    store.take_over(Duration::ZERO).await.expect("take over");
    assert_eq!(store.due_timers(9, 10).await.expect("timers").len(), 1);
    assert!(
        store
            .get_version(flow.id, 1)
            .await
            .expect("version")
            .is_some()
    );
}

// ---- versions, aliases, schedules ----------------------------------------------------------

async fn versions_snapshot_revisions_and_are_never_renumbered(backend: &Backend) {
    let store = &*backend.open().await;
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let v1 = store
        .publish_version(version(flow.id, "one", 1))
        .await
        .expect("v1");
    assert_eq!((v1.version, v1.revision), (1, 1));
    let redefine = FlowUpdate {
        definition: Some("def-2".into()),
        ..Default::default()
    };
    store
        .update_flow(&flow, FlowUpdate { now: 2, ..redefine })
        .await
        .expect("update");
    let v2 = store
        .publish_version(version(flow.id, "two", 2))
        .await
        .expect("v2");
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
        .publish_version(version(flow.id, "three", 3))
        .await
        .expect("v3");
    assert_eq!(v3.version, 3, "the deleted number is not reused");
    store
        .publish_version(version(flow.id, "four", 4))
        .await
        .expect("v4");
    let numbers = |v: Vec<VersionRecord>| v.into_iter().map(|v| v.version).collect::<Vec<_>>();
    assert_eq!(
        numbers(
            store
                .list_versions(flow.id, Page::first(10))
                .await
                .expect("list")
        ),
        [4, 3, 1]
    );
    assert_eq!(
        numbers(
            store
                .list_versions(flow.id, Page::after(Some(4), 1))
                .await
                .expect("list")
        ),
        [3]
    );
    assert_eq!(
        numbers(
            store
                .list_versions(flow.id, Page::after(Some(3), 10))
                .await
                .expect("list")
        ),
        [1]
    );
}

async fn a_publish_checks_its_revision_and_may_answer_the_existing_version(backend: &Backend) {
    let store = &*backend.open().await;
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let once = |expected, now| NewVersion {
        expected_revision: expected,
        reuse: true,
        ..version(flow.id, "v", now)
    };
    let v1 = store.publish_version(once(Some(1), 1)).await.expect("v1");
    assert_eq!((v1.version, v1.revision), (1, 1));
    let again = store.publish_version(once(None, 2)).await.expect("again");
    assert_eq!(again, v1, "the current revision's version is answered");
    let redefine = FlowUpdate {
        definition: Some("def-2".into()),
        now: 3,
        ..Default::default()
    };
    store.update_flow(&flow, redefine).await.expect("update");
    assert!(matches!(
        store.publish_version(once(Some(1), 4)).await,
        Err(StoreError::Conflict(_))
    ));
    let v2 = store.publish_version(once(Some(2), 5)).await.expect("v2");
    assert_eq!(
        (v2.version, v2.revision),
        (2, 2),
        "a refused publish took no number"
    );
    let plain = store
        .publish_version(version(flow.id, "dup", 6))
        .await
        .expect("without reuse");
    assert_eq!((plain.version, plain.revision), (3, 2));
}

async fn an_update_of_some_attributes_keeps_the_others(backend: &Backend) {
    let store = &*backend.open().await;
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let set = |attributes| FlowUpdate {
        attributes: Some(attributes),
        now: 2,
        ..Default::default()
    };
    // Both made against the flow as first read: neither loses the other's member.
    store
        .update_flow(&flow, set(json!({"logging": 1})))
        .await
        .expect("logging");
    let updated = store
        .update_flow(&flow, set(json!({"tracing": 2})))
        .await
        .expect("tracing");
    assert_eq!(
        updated.attributes,
        json!({"Environment": {"k": "v"}, "logging": 1, "tracing": 2})
    );
    let replaced = store
        .update_flow(&flow, set(json!({"logging": 3})))
        .await
        .expect("again");
    assert_eq!(replaced.attributes["logging"], json!(3));
}

async fn executions_keep_what_their_start_named_and_list_by_redrives(backend: &Backend) {
    let store = &*backend.open().await;
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let started_as = sluice_store::StartedAs {
        version: Some(3),
        alias: Some("prod".into()),
        test_case: Some("HappyPath".into()),
    };
    let new = sluice_store::NewExecution {
        started_as: started_as.clone(),
        ..new_execution(&flow, "on-alias")
    };
    let created = store
        .create_execution(new, step(ExecutionId(0), 0, &[1]))
        .await
        .expect("create");
    assert_eq!(fetch(store, created.id).await.started_as, started_as);
    let plain = execution(store, &flow, "plain").await;
    assert_eq!(fetch(store, plain.id).await.started_as, Default::default());

    // A redriven state: its count and date are columns listings filter on.
    let mut fields =
        serde_json::to_value(sluice_engine::Snapshot::of(&created.state)).expect("a snapshot");
    fields["redrives"] = json!({"count": 2, "last_at": 9});
    let redriven: Execution = serde_json::from_value::<sluice_engine::Snapshot>(fields)
        .expect("a snapshot")
        .into();
    let mut write = step(created.id, 1, &[2]);
    write.state = redriven;
    store.commit_step(write).await.expect("commit");

    let names = |filter: ExecutionFilter| async move {
        let query = ExecutionQuery::of_flow(&tenant(), flow.id, &filter);
        let listed = store
            .list_summaries(&query, Page::first(10))
            .await
            .expect("list");
        listed
            .iter()
            .map(|s| {
                (
                    s.name.to_string(),
                    s.redrives.count,
                    s.started_as.alias.clone(),
                )
            })
            .collect::<Vec<_>>()
    };
    let redriven = ExecutionFilter {
        redriven: Some(true),
        ..Default::default()
    };
    assert_eq!(
        names(redriven).await,
        [("on-alias".to_string(), 2, Some("prod".to_string()))]
    );
    let never = ExecutionFilter {
        redriven: Some(false),
        ..Default::default()
    };
    assert_eq!(names(never).await, [("plain".to_string(), 0, None)]);
    let on_version = ExecutionFilter {
        started_as: sluice_store::StartedAs {
            version: Some(3),
            ..Default::default()
        },
        ..Default::default()
    };
    assert_eq!(names(on_version).await.len(), 1);
    let summary = store
        .list_summaries(
            &ExecutionQuery::of_flow(&tenant(), flow.id, &ExecutionFilter::default()),
            Page::first(10),
        )
        .await
        .expect("list");
    assert!(summary.iter().any(|s| s.redrives.last_at == Some(9)));
    // The test case a start named is read back in listings too.
    assert!(
        summary
            .iter()
            .any(|s| s.started_as.test_case.as_deref() == Some("HappyPath"))
    );
}

fn version(flow: FlowId, description: &str, now: i64) -> NewVersion {
    NewVersion {
        flow_id: flow,
        description: description.into(),
        expected_revision: None,
        reuse: false,
        now,
    }
}

fn on(version: i64) -> Vec<Route> {
    vec![Route {
        version,
        weight: 100,
    }]
}

fn alias(flow: FlowId, name: &str) -> AliasRecord {
    AliasRecord {
        flow_id: flow,
        name: name.into(),
        description: "d".into(),
        routing: on(1),
        created_at: 1,
        modified_at: 1,
    }
}

async fn aliases_are_created_updated_listed_and_deleted(backend: &Backend) {
    let store = &*backend.open().await;
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    for now in 1..=2 {
        store
            .publish_version(version(flow.id, "", now))
            .await
            .expect("publish");
    }
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
    let onto = |version: i64, description: Option<&str>| AliasUpdate {
        description: description.map(str::to_string),
        routing: Some(on(version)),
        modified_at: 7,
    };
    let updated = store
        .update_alias(flow.id, "live", onto(2, None))
        .await
        .expect("update");
    assert_eq!((updated.created_at, updated.modified_at), (1, 7));
    assert_eq!(updated.description, "d", "a field not given stays");
    assert_eq!(updated.routing, on(2));
    assert_eq!(
        store.get_alias(flow.id, "live").await.expect("get"),
        Some(updated)
    );
    assert!(matches!(
        store
            .update_alias(flow.id, "nope", onto(2, Some("x")))
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        store.update_alias(flow.id, "live", onto(3, None)).await,
        Err(StoreError::NoSuchVersion(3))
    ));
    assert!(matches!(
        store.delete_version(flow.id, 2).await,
        Err(StoreError::RoutedTo(by)) if by == ["live"]
    ));
    let names = |a: Vec<AliasRecord>| a.into_iter().map(|a| a.name).collect::<Vec<_>>();
    assert_eq!(
        names(
            store
                .list_aliases(flow.id, Page::first(10))
                .await
                .expect("list")
        ),
        ["beta", "canary", "live"]
    );
    assert_eq!(
        names(
            store
                .list_aliases(flow.id, Page::after(Some("beta".into()), 1))
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

async fn schedules_fire_when_due_and_each_tick_is_claimed_once(backend: &Backend) {
    let store = &*backend.open().await;
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
    let claims = futures_like_join(store, s.id).await;
    assert_eq!(
        claims.iter().filter(|c| **c).count(),
        1,
        "one claim wins: {claims:?}"
    );
    assert!(store.due_schedules(69).await.expect("due").is_empty());
    assert_eq!(store.due_schedules(70).await.expect("due").len(), 1);

    let names = |s: Vec<ScheduleRecord>| s.into_iter().map(|s| s.name).collect::<Vec<_>>();
    assert_eq!(
        names(
            store
                .list_schedules(flow.id, Page::first(10))
                .await
                .expect("list")
        ),
        ["never", "off", "s"]
    );
    assert_eq!(
        names(
            store
                .list_schedules(flow.id, Page::after(Some("never".into()), 1))
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

/// The tick at 10 of schedule `id`, moving to 70.
fn tick(id: i64) -> ScheduleTick {
    ScheduleTick {
        schedule: id,
        fired: 10,
        next: Some(70),
    }
}

/// Three nodes claiming the same tick at once.
async fn futures_like_join(store: &dyn Store, id: i64) -> [bool; 3] {
    let (a, b, c) = tokio::join!(
        store.claim_schedule_tick(tick(id)),
        store.claim_schedule_tick(tick(id)),
        store.claim_schedule_tick(tick(id)),
    );
    [a.expect("claim"), b.expect("claim"), c.expect("claim")]
}

/// Fifty nodes claiming one schedule's tick at once: exactly one owns it (and fires it); the
/// next tick is claimed once too.
async fn fifty_claims_of_a_tick_make_one_owner(backend: &Backend) {
    let store: Arc<dyn Store> = Arc::from(backend.open().await);
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let id = store
        .create_schedule(schedule(&flow, "s", Some(10)))
        .await
        .expect("schedule")
        .id;
    for (fired, next) in [(10, 70), (70, 130)] {
        let claims = (0..50).map(|_| {
            let store = store.clone();
            let tick = ScheduleTick {
                schedule: id,
                fired,
                next: Some(next),
            };
            tokio::spawn(async move { store.claim_schedule_tick(tick).await })
        });
        let mut owners = 0;
        for claim in claims.collect::<Vec<_>>() {
            owners += usize::from(claim.await.expect("joined").expect("claim"));
        }
        assert_eq!(owners, 1, "the tick at {fired} has one owner of 50 claims");
    }
}

/// Fifty changes at once of one flow's versions and aliases: publishes get distinct numbers;
/// of an alias moved onto a version while that version is deleted, exactly one wins and no
/// alias routes to a missing version; updates of different fields of one alias all hold.
async fn version_and_alias_changes_are_atomic(backend: &Backend) {
    let store: Arc<dyn Store> = Arc::from(backend.open().await);
    let flow = store.create_flow(new_flow("f")).await.expect("create flow");
    let publishes = (0..50).map(|_| {
        let store = store.clone();
        tokio::spawn(async move { store.publish_version(version(flow.id, "", 1)).await })
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
        let name = format!("a{i}");
        store
            .create_alias(alias(flow.id, &name))
            .await
            .expect("alias");
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
    let aliases = store
        .list_aliases(flow.id, Page::first(100))
        .await
        .expect("list");
    for alias in aliases {
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
    assert!(
        alias.description.starts_with('d') && alias.description.len() > 1,
        "{alias:?}"
    );
    assert!(alias.routing[0].version >= 27, "{alias:?}");
}

// ---- closed flows and background jobs --------------------------------------------------------

async fn a_closed_flow_refuses_new_executions_until_reopened(backend: &Backend) {
    let store = &*backend.open().await;
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let close = FlowUpdate {
        open: Some(false),
        ..Default::default()
    };
    let closed = store
        .update_flow(&flow, FlowUpdate { now: 3, ..close })
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
        .update_flow(&closed, FlowUpdate { now: 4, ..reopen })
        .await
        .expect("reopen");
    execution(store, &flow, "e").await;
}

/// A start that read its flow before the flow was deleted cannot create an execution behind
/// the delete (the delete's job has listed the executions to stop by then).
async fn a_deleted_flow_gets_no_execution(backend: &Backend) {
    let store = &*backend.open().await;
    let flow = store.create_flow(new_flow("f")).await.expect("create flow");
    store
        .delete_flow(&flow.tenant, &flow.name)
        .await
        .expect("delete");
    let FirstStep { new, write, .. } = first_step(&flow, WAIT, "late", json!({}));
    assert!(matches!(
        store.create_execution(new, write).await,
        Err(StoreError::NotFound(_))
    ));
}

/// Fifty requests at once to move one flow (a GES graph stop each): one gets its job, the
/// others are refused. Then the flow, once its closing job has ended, can be moved again, once.
async fn of_concurrent_moves_of_a_flow_exactly_one_gets_a_job(backend: &Backend) {
    let store: Arc<dyn Store> = Arc::from(backend.open().await);
    let flow = store.create_flow(new_flow("f")).await.expect("create flow");
    let moves = |kind: JobKind, open: Option<bool>| {
        let (store, flow) = (store.clone(), flow.clone());
        async move {
            let attempts = (0..50).map(|i| {
                let (store, mut job) = (
                    store.clone(),
                    job(&format!("{}-{i}", kind.as_str()), 1, &flow),
                );
                job.kind = kind;
                tokio::spawn(async move { (store.create_flow_job(job.clone(), open).await, job) })
            });
            let mut made = Vec::new();
            for attempt in attempts.collect::<Vec<_>>() {
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
    let close = FlowUpdate {
        open: Some(false),
        now: 2,
        ..Default::default()
    };
    store.update_flow(&flow, close).await.expect("close");
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
            .list_jobs(&flow.tenant, Page::first(500))
            .await
            .expect("jobs")
            .len(),
        2
    );
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
        already_completed: 0,
        failed: 0,
        failure: None,
        created_at,
        finished_at: None,
    }
}

async fn jobs_are_kept_listed_newest_first_and_resumable_until_finished(backend: &Backend) {
    let store = &*backend.open().await;
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
    finished.already_completed = 2;
    finished.failed = 1;
    finished.failure = Some("one could not be stopped".into());
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
        ids(store
            .list_jobs(&flow.tenant, Page::offset(0, 10))
            .await
            .expect("list")),
        ["c3", "b2", "a1"]
    );
    assert_eq!(
        ids(store
            .list_jobs(&flow.tenant, Page::offset(1, 1))
            .await
            .expect("list")),
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

async fn a_reopened_database_hands_over_calls_and_jobs_once(backend: &Backend) {
    let ir = sluice_lang::cloudflow::parse(TASK_THEN_WAIT).expect("valid definition");
    let exec = {
        let store = &*backend.open().await;
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
    let store = &*backend.open().await;
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

async fn flows_are_listed_and_counted_by_name_mode_and_tag(backend: &Backend) {
    let store = &*backend.open().await;
    for (name, mode, tag) in [
        ("job-a", ExecutionMode::Standard, Some("ws1")),
        ("job-b", ExecutionMode::Standard, Some("ws2")),
        ("job_c", ExecutionMode::Express, Some("ws1")),
        ("plain", ExecutionMode::Express, None),
    ] {
        let flow = NewFlow {
            mode,
            tag: tag.map(str::to_string),
            ..new_flow(name)
        };
        store.create_flow(flow).await.expect("create");
    }
    store
        .create_flow(NewFlow {
            tenant: TenantId::new("other"),
            tag: Some("ws1".into()),
            ..new_flow("job-z")
        })
        .await
        .expect("create");
    store
        .delete_flow(&tenant(), &FlowName::new("job-b"))
        .await
        .expect("delete");
    let query = |name: Option<NameMatch>, mode, tag: Option<&str>| FlowQuery {
        tenant: tenant(),
        name,
        mode,
        tag: tag.map(str::to_string),
    };
    let listed = |query: FlowQuery, page: Page<FlowName>| async move {
        let flows = store.list_flows(&query, page).await.expect("list");
        let count = store.count_flows(&query).await.expect("count");
        (
            flows.into_iter().map(|f| f.name.0).collect::<Vec<_>>(),
            count,
        )
    };
    assert_eq!(
        listed(query(None, None, None), Page::first(10)).await,
        (vec!["job-a".into(), "job_c".into(), "plain".into()], 3),
        "the deleted flow and the other tenant's are not listed"
    );
    let contains = |part: &str| Some(NameMatch::Contains(part.into()));
    assert_eq!(
        listed(query(contains("job"), None, None), Page::offset(1, 5)).await,
        (vec!["job_c".into()], 2)
    );
    assert_eq!(
        listed(query(contains("_"), None, None), Page::first(5)).await,
        (vec!["job_c".into()], 1),
        "_ is no wildcard"
    );
    assert_eq!(
        listed(query(None, None, Some("ws1")), Page::first(5)).await,
        (vec!["job-a".into(), "job_c".into()], 2)
    );
    let express = Some(ExecutionMode::Express);
    assert_eq!(
        listed(
            query(None, express, None),
            Page::after(Some(FlowName::new("job_c")), 5)
        )
        .await,
        (vec!["plain".into()], 2)
    );
    let exact = Some(NameMatch::Exact("job-a".into()));
    let (found, count) = listed(query(exact, None, Some("ws1")), Page::first(5)).await;
    assert_eq!((found, count), (vec!["job-a".to_string()], 1));
    let shown = store
        .get_flow(&tenant(), &FlowName::new("job-a"))
        .await
        .expect("get")
        .expect("exists");
    assert_eq!(shown.tag.as_deref(), Some("ws1"));
}

async fn steps_commit_with_compare_and_set_and_history_reads_back(backend: &Backend) {
    let store = &*backend.open().await;
    let flow = store.create_flow(new_flow("f")).await.expect("create flow");
    assert!(matches!(
        store.create_flow(new_flow("f")).await,
        Err(StoreError::AlreadyExists(_))
    ));
    let FirstStep {
        ir,
        new,
        write: first,
        step,
    } = first_step(&flow, WAIT, "e", json!({"a": 1}));
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
        .history(created.id, Page::first(100))
        .await
        .expect("history");
    let ids: Vec<u64> = history.iter().map(|e| e.id.0).collect();
    assert_eq!(ids, (1..=ids.len() as u64).collect::<Vec<_>>());
    assert_eq!(history.len(), step.events.len() + stop.events.len());
}

/// The store keeps a finished execution's input and output once (in its row); its history's
/// `ExecutionStarted` and `ExecutionSucceeded` still read with them, on any page.
async fn an_executions_input_and_output_read_back_whole_on_every_page_of_its_history(
    backend: &Backend,
) {
    let store = &*backend.open().await;
    let flow = store.create_flow(new_flow("f")).await.expect("create flow");
    let input = json!({"order": {"id": 7, "lines": ["a", "b"]}});
    let FirstStep {
        new, write, step, ..
    } = first_step(&flow, PASS, "e", input.clone());
    let created = store.create_execution(new, write).await.expect("create");
    let stored = fetch(store, created.id).await;
    assert_eq!(stored.status(), Status::Succeeded);
    let output = stored.state.output().cloned().expect("an output");
    assert_eq!(
        output,
        json!({"order": {"id": 7, "lines": ["a", "b"]}, "done": true})
    );

    let whole = store
        .history(created.id, Page::first(100))
        .await
        .expect("history");
    assert_eq!(
        whole, step.events,
        "the history reads back as the engine wrote it"
    );
    assert_eq!(whole[0].detail, json!({ "input": input }));
    let last = whole.last().expect("events");
    let after_all_but_last = Page {
        after: Some(EventId(last.id.0 - 1)),
        ..Page::first(100)
    };
    let tail = store
        .history(created.id, after_all_but_last)
        .await
        .expect("the last page");
    assert_eq!(tail.len(), 1);
    assert_eq!(tail[0].kind, EventType::ExecutionSucceeded);
    assert_eq!(tail[0].detail, json!({ "output": output }));
}

async fn concurrent_steps_of_one_execution_commit_once(backend: &Backend) {
    let store: Arc<dyn Store> = Arc::from(backend.open().await);
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(execution(&*store, &flow, &format!("e{i}")).await.id);
    }
    let mut handles = Vec::new();
    for (i, id) in ids.iter().copied().enumerate() {
        for _ in 0..2 {
            let store = store.clone();
            handles.push(tokio::spawn(async move {
                let mut write = step(id, 1, &[2]);
                write.state = state_at(Status::Succeeded, Some(60_000), Some(61_000), None);
                (i, store.commit_step(write).await)
            }));
        }
    }
    let wins = wins(ids.len(), handles).await;
    assert!(wins.iter().all(|w| *w == 1), "one of each pair: {wins:?}");
    for id in &ids {
        assert_eq!(history_ids(&*store, *id).await, [1, 2]);
    }
    let counts = minute_counts(&*store, FlowSelection::Flow(flow.id), 0, 120_000).await;
    assert_eq!(
        counts,
        [MinuteCounts {
            minute: 60_000,
            started: 8,
            failed: 0,
            running: 0,
            finished: 8,
            duration_ms: 8_000
        }],
        "each execution counted once"
    );
}

// ---- listings and counts -------------------------------------------------------------------

/// Where a step puts an execution: its status and times.
#[derive(Clone, Copy)]
struct Moment {
    status: Status,
    started: Option<i64>,
    stopped: Option<i64>,
}

const fn moment(status: Status, started: Option<i64>, stopped: Option<i64>) -> Moment {
    Moment {
        status,
        started,
        stopped,
    }
}

/// An execution of `flow` created at `created`, then moved by one step to `to`.
async fn placed(
    store: &dyn Store,
    flow: &FlowRecord,
    name: &str,
    created: i64,
    to: Moment,
) -> ExecutionId {
    let new = sluice_store::NewExecution {
        now: created,
        ..new_execution(flow, name)
    };
    let exec = store
        .create_execution(new, step(ExecutionId(0), 0, &[1]))
        .await
        .expect("create");
    move_to(store, exec.id, 1, to).await;
    exec.id
}

/// Commits a step from `version` that leaves the execution at `to`.
async fn move_to(store: &dyn Store, id: ExecutionId, version: i64, to: Moment) {
    let mut write = step(
        id,
        version,
        &[u64::try_from(version).expect("positive") + 1],
    );
    write.state = state_at(to.status, to.started, to.stopped, None);
    store.commit_step(write).await.expect("commit");
}

fn query(flows: FlowSelection, order: ExecutionOrder) -> ExecutionQuery {
    ExecutionQuery {
        tenant: tenant(),
        flows,
        statuses: vec![],
        name_prefix: None,
        started_from: None,
        started_to: None,
        latest_runs: false,
        map_run: None,
        redriven: None,
        started_as: Default::default(),
        order,
    }
}

fn tagged(tag: &str) -> FlowSelection {
    FlowSelection::Live {
        name: None,
        tag: Some(tag.into()),
    }
}

async fn summaries(
    store: &dyn Store,
    query: &ExecutionQuery,
    page: Page<ExecutionCursor>,
) -> Vec<ExecutionSummary> {
    store.list_summaries(query, page).await.expect("list")
}

async fn names(
    store: &dyn Store,
    query: &ExecutionQuery,
    page: Page<ExecutionCursor>,
) -> Vec<String> {
    let listed = summaries(store, query, page).await;
    listed.into_iter().map(|s| s.name.0).collect()
}

async fn minute_counts(
    store: &dyn Store,
    flows: FlowSelection,
    from: i64,
    to: i64,
) -> Vec<MinuteCounts> {
    let query = CountsQuery {
        tenant: tenant(),
        flows,
        from,
        to,
    };
    store.execution_counts(&query).await.expect("counts")
}

async fn flow_tagged(store: &dyn Store, name: &str, tag: Option<&str>) -> FlowRecord {
    let flow = NewFlow {
        tag: tag.map(str::to_string),
        ..new_flow(name)
    };
    store.create_flow(flow).await.expect("create")
}

const RUNNING: Moment = moment(Status::Running, Some(1_000), None);

async fn summaries_list_a_tenants_executions_newest_first_by_tag_and_flow_name(backend: &Backend) {
    let store = &*backend.open().await;
    let a = flow_tagged(store, "job-a", Some("ws1")).await;
    let b = flow_tagged(store, "job-b", Some("ws1")).await;
    let elsewhere = flow_tagged(store, "job-c", Some("ws2")).await;
    let foreign = store
        .create_flow(NewFlow {
            tenant: TenantId::new("other"),
            tag: Some("ws1".into()),
            ..new_flow("job-a")
        })
        .await
        .expect("create");
    placed(store, &a, "a1", 10, RUNNING).await;
    placed(store, &b, "b1", 20, RUNNING).await;
    placed(store, &elsewhere, "c1", 30, RUNNING).await;
    placed(store, &foreign, "z1", 40, RUNNING).await;
    let failed = placed(
        store,
        &a,
        "a2",
        50,
        moment(Status::Failed, Some(50), Some(55)),
    )
    .await;
    let mut error = step(failed, 2, &[3]);
    let broke = TaskError::new("Boom", "it broke");
    error.state = state_at(Status::Failed, Some(50), Some(58), Some(broke));
    store.commit_step(error).await.expect("commit");
    placed(store, &b, "b2", 50, RUNNING).await;

    let newest = query(tagged("ws1"), ExecutionOrder::Newest);
    assert_eq!(
        names(store, &newest, Page::first(10)).await,
        ["b2", "a2", "b1", "a1"],
        "newest first, ties by id; other tags and tenants left out"
    );
    let first = summaries(store, &newest, Page::first(2)).await;
    let after = first.last().map(ExecutionSummary::cursor);
    assert_eq!(
        names(store, &newest, Page::after(after, 10)).await,
        ["b1", "a1"],
        "the page after the first"
    );
    assert_eq!(names(store, &newest, Page::offset(3, 10)).await, ["a1"]);
    let shown = &first[1];
    assert_eq!(
        (shown.name.as_str(), shown.flow_id, shown.flow_name.as_str()),
        ("a2", a.id, "job-a")
    );
    assert_eq!(
        (
            shown.status,
            shown.started_at,
            shown.stopped_at,
            shown.created_at
        ),
        (Status::Failed, Some(50), Some(58), 50)
    );
    assert_eq!(shown.error, Some(TaskError::new("Boom", "it broke")));
    assert_eq!(first[0].error, None);

    let of_a = ExecutionQuery {
        flows: FlowSelection::Live {
            name: Some(NameMatch::Contains("-a".into())),
            tag: Some("ws1".into()),
        },
        ..newest.clone()
    };
    assert_eq!(names(store, &of_a, Page::first(10)).await, ["a2", "a1"]);
    let exactly_b = ExecutionQuery {
        flows: FlowSelection::Live {
            name: Some(NameMatch::Exact("job-b".into())),
            tag: None,
        },
        statuses: vec![Status::Running],
        ..newest.clone()
    };
    assert_eq!(
        names(store, &exactly_b, Page::first(10)).await,
        ["b2", "b1"]
    );
    let failures = ExecutionQuery {
        statuses: vec![Status::Failed, Status::TimedOut],
        ..newest.clone()
    };
    assert_eq!(names(store, &failures, Page::first(10)).await, ["a2"]);
    let by_name = query(FlowSelection::ALL, ExecutionOrder::Name);
    assert_eq!(
        names(store, &by_name, Page::first(10)).await,
        ["a1", "a2", "b1", "b2", "c1"]
    );
    let after_a2 = Some(ExecutionCursor::after_name(ExecutionName::new("a2")));
    assert_eq!(
        names(store, &by_name, Page::after(after_a2, 2)).await,
        ["b1", "b2"]
    );

    store.delete_flow(&tenant(), &b.name).await.expect("delete");
    assert_eq!(
        names(store, &newest, Page::first(10)).await,
        ["a2", "a1"],
        "a deleted flow's executions are no live flow's"
    );
    let of_b = query(FlowSelection::Flow(b.id), ExecutionOrder::Newest);
    assert_eq!(
        names(store, &of_b, Page::first(10)).await,
        ["b2", "b1"],
        "they stay the deleted flow's"
    );
    let full = store
        .list_executions(&of_b, Page::first(1))
        .await
        .expect("list");
    assert_eq!(full.len(), 1);
    assert_eq!(full[0], fetch(store, full[0].id).await, "with their state");
}

/// Every count `count_executions` gives equals the rows the same query lists.
async fn counts_agree_with_the_rows_through_every_change(backend: &Backend) {
    let store = &*backend.open().await;
    let a = flow_tagged(store, "a", Some("ws")).await;
    let b = flow_tagged(store, "b", None).await;
    let minute = 60_000;
    let mut moved = Vec::new();
    for (i, (flow, started)) in [
        (&a, 5 * minute),
        (&a, 5 * minute + 1),
        (&a, 6 * minute - 1),
        (&a, 6 * minute),
        (&b, 6 * minute + 30_000),
        (&b, 7 * minute),
        (&a, 9 * minute + 59_999),
    ]
    .into_iter()
    .enumerate()
    {
        let to = moment(Status::Running, Some(started), None);
        let id = placed(store, flow, &format!("e{i}"), started, to).await;
        moved.push(id);
    }
    let never_started = execution(store, &a, "unstarted").await;
    let check = |query: ExecutionQuery| async move {
        let rows = summaries(store, &query, Page::first(1000)).await.len() as u64;
        let counted = store.count_executions(&query).await.expect("count");
        assert_eq!(counted, rows, "{query:?}");
        counted
    };
    let ranges = [
        (None, None),
        (Some(5 * minute), None),
        (Some(5 * minute + 1), Some(6 * minute)),
        (Some(6 * minute - 1), Some(6 * minute - 1)),
        (None, Some(7 * minute - 1)),
        (Some(5 * minute + 30_000), Some(9 * minute + 59_999)),
        (Some(20 * minute), Some(10 * minute)),
    ];
    let everything = || query(FlowSelection::ALL, ExecutionOrder::Newest);
    for round in 0..3 {
        for (from, to) in ranges {
            let ranged = ExecutionQuery {
                started_from: from,
                started_to: to,
                ..everything()
            };
            check(ranged.clone()).await;
            check(ExecutionQuery {
                flows: tagged("ws"),
                ..ranged.clone()
            })
            .await;
            check(ExecutionQuery {
                flows: FlowSelection::Flow(b.id),
                statuses: vec![Status::Running],
                ..ranged.clone()
            })
            .await;
            check(ExecutionQuery {
                statuses: vec![Status::Succeeded, Status::Failed],
                ..ranged.clone()
            })
            .await;
            check(ExecutionQuery {
                name_prefix: Some("e".into()),
                ..ranged
            })
            .await;
        }
        // Each round moves executions on: ended, failed, retried, stopped.
        let version = round + 2;
        let at = |i: usize| store.get_execution(moved[i]);
        let started = at(0)
            .await
            .expect("get")
            .expect("exists")
            .state
            .started_at();
        let to = match round {
            0 => moment(Status::Succeeded, started, started.map(|s| s + 500)),
            1 => moment(Status::Running, started, None),
            _ => moment(Status::Stopped, started, started.map(|s| s + 900)),
        };
        move_to(store, moved[0], version, to).await;
        let started = at(4)
            .await
            .expect("get")
            .expect("exists")
            .state
            .started_at();
        move_to(
            store,
            moved[4],
            version,
            moment(Status::Failed, started, started),
        )
        .await;
    }
    assert_eq!(check(everything()).await, 8, "the unstarted one too");
    let started_any_time = ExecutionQuery {
        started_from: Some(i64::MIN),
        ..everything()
    };
    assert_eq!(check(started_any_time).await, 7, "no start, in no range");
    let unstarted = fetch(store, never_started.id).await;
    assert_eq!(unstarted.state.started_at(), None);
}

async fn counts_per_minute_follow_starts_failures_and_durations(backend: &Backend) {
    let store = &*backend.open().await;
    let a = flow_tagged(store, "a", None).await;
    let b = flow_tagged(store, "b", None).await;
    let minute = 60_000;
    let ok = placed(
        store,
        &a,
        "ok",
        0,
        moment(Status::Succeeded, Some(minute), Some(minute + 400)),
    )
    .await;
    placed(
        store,
        &a,
        "bad",
        0,
        moment(Status::Failed, Some(minute + 10), Some(minute + 110)),
    )
    .await;
    placed(
        store,
        &a,
        "late",
        0,
        moment(Status::TimedOut, Some(3 * minute), Some(4 * minute)),
    )
    .await;
    placed(
        store,
        &a,
        "busy",
        0,
        moment(Status::Running, Some(3 * minute + 5), None),
    )
    .await;
    placed(
        store,
        &b,
        "other",
        0,
        moment(Status::Running, Some(minute + 1), None),
    )
    .await;
    let of_a = minute_counts(store, FlowSelection::Flow(a.id), 0, 10 * minute).await;
    assert_eq!(
        of_a,
        [
            MinuteCounts {
                minute,
                started: 2,
                failed: 1,
                running: 0,
                finished: 2,
                duration_ms: 500
            },
            MinuteCounts {
                minute: 3 * minute,
                started: 2,
                failed: 1,
                running: 1,
                finished: 1,
                duration_ms: minute
            },
        ]
    );
    let all = minute_counts(store, FlowSelection::ALL, minute, minute + 59_999).await;
    assert_eq!(
        all.iter()
            .map(|m| (m.minute, m.started, m.running))
            .collect::<Vec<_>>(),
        [(minute, 3, 1)],
        "every flow's, in the minutes asked"
    );
    // A retried execution runs again: it counts as running, no longer as failed or ended.
    move_to(store, ok, 2, moment(Status::Running, Some(minute), None)).await;
    let again = minute_counts(store, FlowSelection::Flow(a.id), minute, minute).await;
    assert_eq!(
        (again[0].running, again[0].finished, again[0].duration_ms),
        (1, 1, 100)
    );
    store.delete_flow(&tenant(), &b.name).await.expect("delete");
    let all = minute_counts(store, FlowSelection::ALL, 0, 10 * minute).await;
    assert_eq!(
        all.iter().map(|m| m.started).sum::<u64>(),
        4,
        "a deleted flow's executions count no more"
    );
}

async fn a_rerun_replaces_its_run_in_the_latest_runs_in_the_same_place(backend: &Backend) {
    let store = &*backend.open().await;
    let flow = flow_tagged(store, "job", Some("ws")).await;
    let other = flow_tagged(store, "other", Some("ws")).await;
    let done = moment(Status::Failed, Some(60_000), Some(61_000));
    let first = placed(store, &flow, "i1", 10, done).await;
    placed(store, &flow, "i2", 20, RUNNING).await;
    let foreign = placed(store, &other, "o1", 5, RUNNING).await;
    let rerun = |name: &str, reruns: ExecutionId, now: i64| sluice_store::NewExecution {
        reruns: Some(reruns),
        now,
        ..new_execution(&flow, name)
    };
    let refused = store
        .create_execution(rerun("x-r1", foreign, 30), step(ExecutionId(0), 0, &[1]))
        .await;
    assert!(
        matches!(refused, Err(StoreError::NotFound(_))),
        "{refused:?}"
    );
    assert!(
        store
            .find_execution(flow.id, &ExecutionName::new("x-r1"))
            .await
            .expect("find")
            .is_none()
    );
    let again = store
        .create_execution(rerun("i1-r1", first, 30), step(ExecutionId(0), 0, &[1]))
        .await
        .expect("rerun");
    move_to(
        store,
        again.id,
        1,
        moment(Status::Succeeded, Some(90_000), Some(91_000)),
    )
    .await;

    let latest = ExecutionQuery {
        latest_runs: true,
        ..query(tagged("ws"), ExecutionOrder::Newest)
    };
    assert_eq!(
        names(store, &latest, Page::first(10)).await,
        ["i2", "i1-r1", "o1"],
        "the rerun in its run's place"
    );
    let every = query(tagged("ws"), ExecutionOrder::Newest);
    assert_eq!(
        names(store, &every, Page::first(10)).await,
        ["i2", "i1-r1", "i1", "o1"]
    );
    assert_eq!(store.count_executions(&latest).await.expect("count"), 3);
    assert_eq!(store.count_executions(&every).await.expect("count"), 4);
    let failed_latest = ExecutionQuery {
        statuses: vec![Status::Failed],
        ..latest.clone()
    };
    assert_eq!(
        store.count_executions(&failed_latest).await.expect("count"),
        0
    );
    let counts = minute_counts(store, FlowSelection::Flow(flow.id), 0, 120_000).await;
    assert_eq!(
        counts
            .iter()
            .map(|m| (m.minute, m.started, m.failed))
            .collect::<Vec<_>>(),
        [(0, 1, 0), (60_000, 2, 1)],
        "metrics count every run"
    );
}

// ---- retention -----------------------------------------------------------------------------

/// A purge of the CloudFlow flows' executions that ended before `cutoff`, `limit` at a time.
fn purge_before(cutoff: i64, limit: usize) -> Purge {
    Purge {
        cutoffs: vec![(sluice_ir::Dialect::CloudFlow, cutoff)],
        limit,
    }
}

/// Starts a map run's child of `parent` (at `version`) that ends at `stopped`.
async fn child_of(
    store: &dyn Store,
    flow: &FlowRecord,
    parent: ExecutionId,
    version: i64,
    name: &str,
) {
    let mut first = step(ExecutionId(0), 0, &[1]);
    first.state = state_at(Status::Succeeded, Some(1_000), Some(1_100), None);
    let mut write = step(parent, version, &[]);
    write.state = state_at(Status::Running, Some(1_000), None, None);
    write.linked = vec![LinkedWrite::Create {
        new: sluice_store::NewExecution {
            map_run: Some("run".into()),
            ..new_execution(flow, name)
        },
        first,
    }];
    store.commit_step(write).await.expect("a child");
}

async fn expired_executions_are_purged_in_batches_children_before_their_root(backend: &Backend) {
    let store = &*backend.open().await;
    let a = store.create_flow(new_flow("a")).await.expect("a");
    let aws = NewFlow {
        dialect: sluice_ir::Dialect::Asl,
        ..new_flow("aws")
    };
    let aws = store.create_flow(aws).await.expect("aws");
    let ended = |stopped| moment(Status::Succeeded, Some(500), Some(stopped));
    let old1 = placed(store, &a, "old1", 1, ended(1_000)).await;
    let old2 = placed(store, &a, "old2", 1, ended(1_001)).await;
    let running = placed(
        store,
        &a,
        "running",
        1,
        moment(Status::Running, Some(500), None),
    )
    .await;
    let recent = placed(store, &a, "recent", 1, ended(9_000)).await;
    let other_dialect = placed(store, &aws, "old", 1, ended(1_000)).await;
    let parent = placed(
        store,
        &a,
        "parent",
        1,
        moment(Status::Running, Some(500), None),
    )
    .await;
    for (version, name) in [(2, "c1"), (3, "c2"), (4, "c3")] {
        child_of(store, &a, parent, version, name).await;
    }
    move_to(store, parent, 5, ended(1_500)).await;
    let newest = placed(store, &a, "newest", 1, ended(4_000)).await;
    let count = |flow: &FlowRecord| {
        let query = ExecutionQuery::of_flow(&tenant(), flow.id, &ExecutionFilter::default());
        async move { store.count_executions(&query).await.expect("count") }
    };
    assert_eq!(count(&a).await, 9, "the counts count children too");

    let batches = [
        store
            .purge_finished(&purge_before(5_000, 2))
            .await
            .expect("purge"),
        store
            .purge_finished(&purge_before(5_000, 2))
            .await
            .expect("purge"),
    ];
    assert_eq!(batches, [2, 2], "old1 and old2, then two children only");
    assert!(store.get_execution(old1).await.expect("get").is_none());
    assert!(
        history_ids(store, old2).await.is_empty(),
        "history goes too"
    );
    assert!(
        store.get_execution(parent).await.expect("get").is_some(),
        "a root stays while it has children"
    );
    assert_eq!(
        store
            .purge_finished(&purge_before(5_000, 2))
            .await
            .expect("purge"),
        3,
        "the last child, its root, and newest"
    );
    assert_eq!(
        store
            .purge_finished(&purge_before(5_000, 2))
            .await
            .expect("purge"),
        0
    );
    assert!(store.get_execution(parent).await.expect("get").is_none());
    let c3 = store.find_execution(a.id, &ExecutionName::new("c3")).await;
    assert!(c3.expect("find").is_none());
    for kept in [running, recent, other_dialect] {
        assert!(store.get_execution(kept).await.expect("get").is_some());
    }
    assert_eq!(
        count(&a).await,
        2,
        "the counts follow: running and recent are left"
    );
    let next = execution(store, &a, "next").await;
    assert!(
        next.id.0 > newest.0,
        "the newest one's id is not given again"
    );
    let counted = minute_counts(store, FlowSelection::Flow(a.id), 0, 60_000).await;
    let finished: u64 = counted.iter().map(|m| m.finished).sum();
    assert_eq!(finished, 1, "only recent has ended among what is left");
}

async fn a_purge_under_load_deletes_no_unfinished_execution(backend: &Backend) {
    let store: Arc<dyn Store> = backend.open().await.into();
    let flow = store.create_flow(new_flow("busy")).await.expect("flow");
    let writers = (0..4).map(|w| {
        let (store, flow) = (store.clone(), flow.clone());
        tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..25 {
                let stopped = moment(Status::Succeeded, Some(500), Some(600));
                let running = moment(Status::Running, Some(500), None);
                let to = if i % 2 == 0 { stopped } else { running };
                ids.push((
                    placed(&*store, &flow, &format!("w{w}-{i}"), 1, to).await,
                    i % 2,
                ));
            }
            ids
        })
    });
    let purger = {
        let store = store.clone();
        tokio::spawn(async move {
            let mut purged = 0;
            for _ in 0..200 {
                purged += store
                    .purge_finished(&purge_before(i64::MAX, 3))
                    .await
                    .expect("purge");
                tokio::task::yield_now().await;
            }
            purged
        })
    };
    let mut written = Vec::new();
    for writer in writers {
        written.extend(writer.await.expect("writer"));
    }
    purger.await.expect("purger");
    while store
        .purge_finished(&purge_before(i64::MAX, 50))
        .await
        .expect("purge")
        > 0
    {}
    for (id, unfinished) in written {
        let kept = store.get_execution(id).await.expect("get").is_some();
        assert_eq!(kept, unfinished == 1, "execution {id}");
    }
}

// ---- activities ----------------------------------------------------------------------------

const ACTIVITY_TASK: &str = r#"{"StartAt": "Work", "States": {"Work": {"Type": "Task",
    "Resource": "arn:aws:states:us-east-1:1:activity:printer", "End": true}}}"#;

fn activity(tenant: &TenantId, name: &str, now: i64) -> ActivityRecord {
    ActivityRecord {
        tenant: tenant.clone(),
        name: name.into(),
        created_at: now,
        tags: vec![("team".into(), "ops".into())],
    }
}

async fn activities_are_kept_per_tenant_and_queue_their_waiting_tasks(backend: &Backend) {
    let store = &*backend.open().await;
    let other = TenantId::new("other");
    let created = store
        .create_activity(activity(&tenant(), "printer", 10))
        .await
        .expect("create");
    assert_eq!(created, activity(&tenant(), "printer", 10));
    let again = ActivityRecord {
        tags: Vec::new(),
        ..activity(&tenant(), "printer", 20)
    };
    assert_eq!(
        store.create_activity(again).await.expect("create again"),
        created,
        "a second create answers the first, its tags unchanged"
    );
    store
        .create_activity(activity(&other, "printer", 30))
        .await
        .expect("another tenant's of the same name");
    store
        .create_activity(activity(&tenant(), "a-scanner", 40))
        .await
        .expect("a second one");
    let names = |page: Vec<ActivityRecord>| page.into_iter().map(|a| a.name).collect::<Vec<_>>();
    let first = store
        .list_activities(&tenant(), Page::first(1))
        .await
        .expect("list");
    assert_eq!(names(first), ["a-scanner"]);
    let rest = store
        .list_activities(&tenant(), Page::after(Some("a-scanner".into()), 10))
        .await
        .expect("list on");
    assert_eq!(names(rest), ["printer"]);

    // A task of the activity waits in its queue until a worker takes it.
    let flow = store.create_flow(new_flow("printing")).await.expect("flow");
    let ir = sluice_lang::compile(sluice_lang::Dialect::Asl, ACTIVITY_TASK).expect("compiles");
    let mut state = Execution::new(info("job1"));
    let before = state.clone();
    let start = state
        .apply(
            &ir,
            Input::Start {
                input: json!({"doc": 1}),
            },
            5,
        )
        .expect("start");
    let write = StepWrite::new(ExecutionId(0), 0, &before, state, &start);
    let record = store
        .create_execution(new_execution(&flow, "job1"), write)
        .await
        .expect("create execution");
    let waiting = store
        .waiting_activity_tasks(&tenant(), "printer", 10)
        .await
        .expect("waiting");
    assert_eq!(waiting.len(), 1);
    assert_eq!(
        (waiting[0].execution, &waiting[0].call.body),
        (record.id, &json!({"doc": 1}))
    );
    for (tenant, name) in [(other.clone(), "printer"), (tenant(), "a-scanner")] {
        let none = store
            .waiting_activity_tasks(&tenant, name, 10)
            .await
            .expect("waiting");
        assert!(none.is_empty(), "{tenant:?} {name}: {none:?}");
    }
    let taken = Input::ActivityTaken {
        op: waiting[0].call.op,
        worker: Some("w".into()),
    };
    apply(store, &ir, record.id, taken, 6, &mut Vec::new()).await;
    let after = store
        .waiting_activity_tasks(&tenant(), "printer", 10)
        .await
        .expect("waiting");
    assert!(
        after.is_empty(),
        "the pickup's step deleted its row: {after:?}"
    );

    let tags = vec![("env".to_string(), "prod".to_string())];
    let changed = store
        .retag_activity(&tenant(), "printer", tags.clone())
        .await;
    assert!(changed.expect("retag"));
    let retagged = store.get_activity(&tenant(), "printer").await.expect("get");
    assert_eq!(retagged.map(|a| a.tags), Some(tags));
    let none = store.retag_activity(&tenant(), "nobody", Vec::new()).await;
    assert!(!none.expect("retag none"));
    assert!(
        store
            .delete_activity(&tenant(), "printer")
            .await
            .expect("delete")
    );
    assert!(
        !store
            .delete_activity(&tenant(), "printer")
            .await
            .expect("delete again")
    );
    assert_eq!(
        store.get_activity(&tenant(), "printer").await.expect("get"),
        None
    );
    assert!(
        store
            .get_activity(&other, "printer")
            .await
            .expect("get")
            .is_some()
    );
}
