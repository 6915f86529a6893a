//! Connection settings and schema migrations.

use std::path::Path;
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use super::codec::{backend, failed};
use crate::counts::{counts_schema, failure_columns};
use crate::{Result, StoreError};

/// Migrations in order: `MIGRATIONS[i]` brings a database from schema `i` to `i + 1`. Never
/// edit a released entry; append a new one.
pub(super) const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11, V12];

/// The schema this code writes; a newer database is refused rather than misread.
pub(super) const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Prepared statements kept per connection: more than the store has distinct statements
/// (rusqlite keeps 16 by default), so the hot path never re-parses its SQL.
const STATEMENT_CACHE: usize = 128;

/// How long a connection waits for a lock held by another connection or process.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// A deleted flow keeps its row and revisions (running executions still load their
/// definition); the unique name index only covers live flows, so a re-created flow gets a new
/// id. `next_version` makes version numbers never reused after a delete.
const V1: &str = r#"
CREATE TABLE flows (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    dialect TEXT NOT NULL,
    role_arn TEXT,
    mode TEXT NOT NULL,
    attributes TEXT NOT NULL,
    revision INTEGER NOT NULL,
    open INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0,
    next_version INTEGER NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX flows_by_name ON flows (tenant, name) WHERE deleted = 0;
CREATE TABLE flow_revisions (
    flow_id INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (flow_id, revision)
);
CREATE TABLE executions (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    flow_id INTEGER NOT NULL,
    flow_name TEXT NOT NULL,
    flow_revision INTEGER NOT NULL,
    name TEXT NOT NULL,
    status TEXT NOT NULL,
    started_at INTEGER,
    stopped_at INTEGER,
    state TEXT NOT NULL,
    version INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    UNIQUE (flow_id, name)
);
CREATE INDEX executions_by_status ON executions (flow_id, status);
CREATE TABLE history (
    execution_id INTEGER NOT NULL,
    event_id INTEGER NOT NULL,
    event TEXT NOT NULL,
    PRIMARY KEY (execution_id, event_id)
);
CREATE TABLE timers (
    execution_id INTEGER NOT NULL,
    op INTEGER NOT NULL,
    fire_at INTEGER NOT NULL,
    PRIMARY KEY (execution_id, op)
);
CREATE INDEX timers_by_time ON timers (fire_at);
CREATE TABLE tasks (
    execution_id INTEGER NOT NULL,
    op INTEGER NOT NULL,
    call TEXT NOT NULL,
    PRIMARY KEY (execution_id, op)
);
CREATE TABLE versions (
    flow_id INTEGER NOT NULL,
    version INTEGER NOT NULL,
    revision INTEGER NOT NULL,
    description TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (flow_id, version)
);
CREATE TABLE aliases (
    flow_id INTEGER NOT NULL,
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    routing TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    PRIMARY KEY (flow_id, name)
);
CREATE TABLE schedules (
    id INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    flow_id INTEGER NOT NULL,
    flow_name TEXT NOT NULL,
    name TEXT NOT NULL,
    cron TEXT NOT NULL,
    payload TEXT NOT NULL,
    description TEXT NOT NULL,
    enabled INTEGER NOT NULL,
    next_fire_at INTEGER,
    created_at INTEGER NOT NULL,
    modified_at INTEGER NOT NULL,
    UNIQUE (flow_id, name)
);
CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE enabled = 1;
"#;

/// History events in plain columns (readable with the sqlite3 shell, filterable by type or
/// step) instead of one JSON document per row; only `detail` stays JSON. Schema 1 rows are
/// converted in place (`->` keeps a detail's JSON form, `->>` extracts scalars). Listing by
/// status walks `(flow_id, status, name)`, already in name order.
const V2: &str = r#"
CREATE TABLE history_v2 (
    execution_id INTEGER NOT NULL,
    event_id INTEGER NOT NULL,
    schedule_id INTEGER,
    step TEXT,
    time INTEGER NOT NULL,
    type TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (execution_id, event_id)
);
INSERT INTO history_v2 (execution_id, event_id, schedule_id, step, time, type, detail)
SELECT execution_id, event_id, event ->> '$.schedule_id', event ->> '$.step',
       event ->> '$.time', event ->> '$.kind', event -> '$.detail'
FROM history;
DROP TABLE history;
ALTER TABLE history_v2 RENAME TO history;
DROP INDEX executions_by_status;
CREATE INDEX executions_by_status ON executions (flow_id, status, name);
"#;

/// Background jobs (GES graph stop/start, bulk stops), resumed by a restarted node.
const V3: &str = r#"
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    tenant TEXT NOT NULL,
    kind TEXT NOT NULL,
    flow_id INTEGER NOT NULL,
    flow_name TEXT NOT NULL,
    filter TEXT NOT NULL,
    status TEXT NOT NULL,
    total INTEGER NOT NULL,
    done INTEGER NOT NULL,
    failure TEXT,
    created_at INTEGER NOT NULL,
    finished_at INTEGER
);
CREATE INDEX jobs_by_tenant ON jobs (tenant, created_at);
CREATE INDEX jobs_unfinished ON jobs (created_at) WHERE status IN ('Pending', 'Running');
"#;

/// What listings and counts read without decoding engine state (see `counts.rs`): the
/// summary columns of executions, a flow's tag copied onto its executions, reruns replacing
/// the runs they rerun, and the kept counts. The one tag kept before there were tags, the
/// DataArts workspace in a job's attributes, becomes the job's tag; the counts of the
/// executions already there are added up once.
const V4: &str = concat!(
    r#"
ALTER TABLE flows ADD COLUMN tag TEXT;
UPDATE flows SET tag = COALESCE(attributes ->> '$.workspace', 'default') WHERE dialect = 'dataarts';
ALTER TABLE executions ADD COLUMN tag TEXT;
ALTER TABLE executions ADD COLUMN listed_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE executions ADD COLUMN superseded INTEGER NOT NULL DEFAULT 0;
"#,
    failure_columns!(),
    r#"
UPDATE executions SET
    tag = (SELECT tag FROM flows WHERE flows.id = executions.flow_id),
    listed_at = created_at,
    error = state ->> '$.error.code',
    cause = state ->> '$.error.detail';
"#,
    counts_schema!(),
    r#"
INSERT INTO execution_counts
SELECT flow_id,
       CASE WHEN started_at IS NULL THEN -9223372036854775807 - 1
            WHEN started_at >= 0 THEN started_at / 60000
            ELSE (started_at - 59999) / 60000 END,
       status, 1, 0, COUNT(*), COUNT(stopped_at),
       COALESCE(SUM(stopped_at - started_at), 0)
FROM executions GROUP BY 1, 2, 3;
"#
);

/// Opens the writing connection: incremental vacuum so that what a purge frees goes back to
/// the file system, WAL so readers never block the writer, `synchronous=FULL` so an
/// acknowledged commit survives power loss, then brings the schema up to date.
pub(super) fn open_writer(path: &Path) -> Result<Connection> {
    let mut conn = Connection::open(path).map_err(failed("opening the database"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(failed("setting the busy timeout"))?;
    incremental_vacuum(&conn, path)?;
    let mode: String = conn
        .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
        .map_err(failed("enabling WAL"))?;
    if !mode.eq_ignore_ascii_case("wal") {
        // Without WAL, reads wait for writes; still correct, so run but say why it is slow.
        tracing::warn!(%mode, path = %path.display(), "SQLite could not enable WAL");
    }
    // temp_store: the savepoint of each command in a group journals the pages it changes;
    // a big state would otherwise spill that journal to a temporary file.
    conn.execute_batch(
        "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
    )
    .map_err(failed("setting pragmas"))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    migrate(&mut conn)?;
    Ok(conn)
}

/// `auto_vacuum = INCREMENTAL` takes effect only before the first table is created, or
/// through a `VACUUM`: a new file gets it at once (its `VACUUM` has nothing to copy), a file an
/// older sluice made is rewritten once, at its first open by this one. Until then its freed
/// pages were reused, never handed back.
fn incremental_vacuum(conn: &Connection, path: &Path) -> Result<()> {
    const INCREMENTAL: i64 = 2;
    let mode: i64 = conn
        .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
        .map_err(failed("reading auto_vacuum"))?;
    if mode == INCREMENTAL {
        return Ok(());
    }
    let started = std::time::Instant::now();
    conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL; VACUUM;")
        .map_err(failed("turning on incremental vacuum"))?;
    if started.elapsed() > Duration::from_secs(1) {
        tracing::info!(path = %path.display(), seconds = started.elapsed().as_secs(),
            "rewrote the database once for incremental vacuum");
    }
    Ok(())
}

/// Opens a reading connection; `query_only` turns a write by mistake into an error.
pub(super) fn open_reader(path: &Path) -> Result<Connection> {
    // No CREATE flag: the writer made the file; a reader must not make a fresh empty one.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn =
        Connection::open_with_flags(path, flags).map_err(failed("opening a read connection"))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(failed("setting the busy timeout"))?;
    conn.execute_batch("PRAGMA query_only = ON")
        .map_err(failed("setting pragmas"))?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(conn)
}

/// A distributed Map's child executions: the map run each belongs to (none for the flow's own
/// executions), listed by it.
const V5: &str = r#"
ALTER TABLE executions ADD COLUMN map_run TEXT;
CREATE INDEX executions_by_map_run ON executions (flow_id, map_run, name) WHERE map_run IS NOT NULL;
"#;

const V6: &str = crate::schema::JOB_COUNTS_AND_NEWEST;

const V7: &str = crate::schema::ROOTS_AND_FINISHED;

/// The largest execution id a purge deleted: SQLite gives a new row the id after the largest
/// one left, so without it a purge of the newest execution would give its id again.
const V8: &str = r#"
CREATE TABLE executions_purged (last INTEGER NOT NULL);
INSERT INTO executions_purged VALUES (0);
"#;

const V9: &str = crate::schema::STARTED_AS_AND_REDRIVES;

const V10: &str = crate::schema::activities_schema!("TEXT");

const V11: &str = crate::schema::TEST_CASE;

const V12: &str = crate::schema::PAYLOADS_ONCE;

/// Applies the missing migrations in one immediate transaction, so two processes opening a
/// new file at once cannot both create the tables.
fn migrate(conn: &mut Connection) -> Result<()> {
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(failed("starting the migration"))?;
    tx.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .map_err(failed("creating schema_version"))?;
    let found: i64 = tx
        .query_row(
            "SELECT COALESCE(MAX(version), 0) FROM schema_version",
            [],
            |r| r.get(0),
        )
        .map_err(failed("reading schema_version"))?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found,
            known: SCHEMA_VERSION,
        });
    }
    let applied = usize::try_from(found)
        .map_err(|_| backend(format!("schema_version {found} is negative")))?;
    for (version, migration) in (1..).zip(MIGRATIONS).skip(applied) {
        tx.execute_batch(migration)
            .map_err(failed(&format!("migrating to schema {version}")))?;
        tx.execute("INSERT INTO schema_version VALUES (?1)", [version])
            .map_err(failed("recording the schema version"))?;
    }
    tx.commit().map_err(failed("committing the migration"))
}
