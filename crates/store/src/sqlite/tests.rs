//! What only the SQLite store has: the writer thread's group commit, its savepoints and
//! recovery, WAL, the survival of `kill -9`, the file's schema migrations, and its corrupt rows.
//! The store contract both backends keep is tested in `tests/conformance.rs`.

use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use sluice_engine::{EventId, EventType, HistoryEvent};

use super::*;
use crate::StoreError;

use crate::fixtures::*;

fn store() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("nested").join("sluice.db")).expect("open");
    (dir, store)
}

#[tokio::test]
async fn concurrent_steps_commit_independently_in_shared_transactions() {
    let (_dir, store) = store();
    let store = Arc::new(store);
    let flow = store.create_flow(new_flow("f")).await.expect("create");
    let mut ids = Vec::new();
    for i in 0..25 {
        ids.push(execution(&*store, &flow, &format!("e{i:02}")).await.id);
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
    let wins = wins(ids.len(), handles).await;
    assert!(
        wins.iter().all(|w| *w == 1),
        "exactly one of each pair commits: {wins:?}"
    );
    stall
        .await
        .expect("join")
        .expect("the stalling write commits");
    for id in ids {
        assert_eq!(fetch(&*store, id).await.version, 2);
        assert_eq!(history_ids(&*store, id).await, [1, 2]);
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
            detail: json!({"input": "{\"a\":1}", "z": 1, "b": [true, null]}).into(),
        },
        HistoryEvent {
            id: EventId(2),
            schedule_id: Some(EventId(1)),
            step: Some(sluice_ir::StateName::new("Call")),
            time: 6,
            kind: EventType::TaskFailed,
            detail: json!("a bare string").into(),
        },
        HistoryEvent {
            id: EventId(3),
            schedule_id: None,
            step: Some(sluice_ir::StateName::new("Done")),
            time: 7,
            kind: EventType::StepExited,
            detail: json!(null).into(),
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
        .history(ExecutionId(1), Page::first(10))
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
        store.history(exec.id, Page::first(10)).await.map(drop),
        "event 1 of execution",
    );
    conn.execute("UPDATE history SET detail = 'null', type = 'Sideways'", [])
        .expect("corrupt");
    named(
        store.history(exec.id, Page::first(10)).await.map(drop),
        "unknown type \"Sideways\"",
    );
    named(
        store.get_flow(&tenant(), &flow.name).await.map(drop),
        "unknown mode",
    );
}

/// A database left at schema 3 opens with its DataArts job tagged by its workspace, its
/// executions' summaries read off their state, and their counts added up.
#[tokio::test]
async fn a_schema_3_database_is_migrated_with_tags_summaries_and_counts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("sluice.db");
    {
        let conn = Connection::open(&path).expect("raw");
        for migration in &schema::MIGRATIONS[..3] {
            conn.execute_batch(migration).expect("schemas 1 to 3");
        }
        conn.execute_batch(
            "CREATE TABLE schema_version (version INTEGER NOT NULL); \
             INSERT INTO schema_version VALUES (3);",
        )
        .expect("schema 3");
        conn.execute_batch(ROWS_BEFORE_TAGS)
            .expect("rows of schema 3");
    }
    let store = SqliteStore::open(&path).expect("migrate");
    assert_migrated_with_tags_summaries_and_counts(&store).await;
}
