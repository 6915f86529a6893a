//! The embedded store: one SQLite file in WAL mode.
//!
//! Writes go through one dedicated writer thread that owns the write connection. It takes every
//! write queued at the moment, runs them in one transaction (a savepoint each, so a failing write
//! is rolled back alone), commits once — one fsync for the whole group — and only then answers
//! each caller. Reads use separate connections on the blocking pool; WAL lets them run beside
//! the writer.

use std::path::Path;
use std::sync::{Arc, Mutex, mpsc};

use async_trait::async_trait;
use rusqlite::{Connection, OptionalExtension, Row, params};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sluice_engine::{EventId, HistoryEvent, Millis, OpId, TaskCall};
use tokio::sync::oneshot;

use crate::{
    AliasRecord, ExecutionFilter, ExecutionId, ExecutionMode, ExecutionName, ExecutionRecord,
    FlowDefinition, FlowId, FlowName, FlowRecord, FlowUpdate, NewExecution, NewFlow, Result,
    ScheduleRecord, StepWrite, Store, StoreError, TaskRow, TenantId, TimerRow, VersionRecord,
};

/// The schema version this code writes; a newer database is refused.
const SCHEMA_VERSION: i64 = 1;
/// The most writes one transaction groups.
const MAX_GROUP: usize = 512;
/// Idle read connections kept open.
const MAX_IDLE_READERS: usize = 8;

const SCHEMA: &str = r#"
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

const FLOW_COLUMNS: &str = "f.id, f.tenant, f.name, f.description, f.dialect, f.role_arn, f.mode, f.attributes, f.revision, f.open, \
     f.created_at, f.modified_at, r.definition";
const FLOW_FROM: &str =
    "flows f JOIN flow_revisions r ON r.flow_id = f.id AND r.revision = f.revision";
const EXECUTION_COLUMNS: &str =
    "id, tenant, flow_id, flow_name, flow_revision, name, state, version, created_at";
const SCHEDULE_COLUMNS: &str = "id, tenant, flow_id, flow_name, name, cron, payload, description, enabled, \
     next_fire_at, created_at, modified_at";

/// A write: `run` executes inside the group transaction and says whether it succeeded; `reply`
/// is called once the group's commit is known (or without `run`, if the group never began).
struct Job {
    run: Box<dyn FnOnce(&Connection) -> bool + Send>,
    reply: Box<dyn FnOnce(std::result::Result<(), String>) + Send>,
}

pub struct SqliteStore {
    writer: mpsc::Sender<Job>,
    readers: Arc<Readers>,
}

struct Readers {
    path: std::path::PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and brings its schema up to date.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| backend(format!("creating {}: {e}", dir.display())))?;
        }
        let conn = Connection::open(path).map_err(sql)?;
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
        )
        .map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        migrate(&conn)?;
        let (writer, jobs) = mpsc::channel();
        std::thread::Builder::new()
            .name("sluice-sqlite-writer".into())
            .spawn(move || write_loop(conn, jobs))
            .map_err(|e| backend(format!("starting the writer thread: {e}")))?;
        let readers = Arc::new(Readers {
            path: path.to_path_buf(),
            idle: Mutex::default(),
        });
        Ok(Self { writer, readers })
    }

    async fn write<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let (tx, rx) = oneshot::channel();
        let slot = Arc::new(Mutex::new(None));
        let result = slot.clone();
        let job = Job {
            run: Box::new(move |conn| {
                let outcome = work(conn);
                let ok = outcome.is_ok();
                *lock(&result) = Some(outcome);
                ok
            }),
            reply: Box::new(move |commit| {
                let outcome = match (commit, lock(&slot).take()) {
                    (Ok(()), Some(outcome)) => outcome,
                    (Ok(()), None) => Err(backend("the write did not run")),
                    (Err(e), _) => Err(backend(format!("the transaction failed: {e}"))),
                };
                let _ = tx.send(outcome);
            }),
        };
        self.writer
            .send(job)
            .map_err(|_| backend("the writer thread has stopped"))?;
        rx.await
            .map_err(|_| backend("the writer thread dropped a write"))?
    }

    async fn read<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let readers = self.readers.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.take()?;
            let result = work(&conn);
            readers.give_back(conn);
            result
        })
        .await
        .map_err(|e| backend(format!("a read task failed: {e}")))?
    }
}

impl Readers {
    fn take(&self) -> Result<Connection> {
        if let Some(conn) = lock(&self.idle).pop() {
            return Ok(conn);
        }
        let conn = Connection::open(&self.path).map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sql)?;
        Ok(conn)
    }

    fn give_back(&self, conn: Connection) {
        let mut idle = lock(&self.idle);
        if idle.len() < MAX_IDLE_READERS {
            idle.push(conn);
        }
    }
}

fn migrate(conn: &Connection) -> Result<()> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        .map_err(sql)?;
    let found: Option<i64> = conn
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .map_err(sql)?;
    match found {
        Some(v) if v > SCHEMA_VERSION => Err(StoreError::SchemaTooNew {
            found: v,
            known: SCHEMA_VERSION,
        }),
        Some(_) => Ok(()),
        None => conn
            .execute_batch(&format!(
                "BEGIN; {SCHEMA} INSERT INTO schema_version VALUES ({SCHEMA_VERSION}); COMMIT;"
            ))
            .map_err(sql),
    }
}

/// The writer thread: group commit until every sender is gone.
fn write_loop(conn: Connection, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        run_group(&conn, group);
    }
}

fn run_group(conn: &Connection, group: Vec<Job>) {
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let message = e.to_string();
        for job in group {
            (job.reply)(Err(message.clone()));
        }
        return;
    }
    let mut replies = Vec::with_capacity(group.len());
    for Job { run, reply } in group {
        let savepoint = conn.execute_batch("SAVEPOINT job");
        let ok = run(conn);
        let undo = if ok {
            "RELEASE job"
        } else {
            "ROLLBACK TO job; RELEASE job"
        };
        let end = savepoint.and_then(|()| conn.execute_batch(undo));
        if let Err(e) = end {
            tracing::error!(error = %e, "a savepoint failed");
        }
        replies.push(reply);
    }
    let commit = conn.execute_batch("COMMIT").map_err(|e| e.to_string());
    if commit.is_err() {
        let _ = conn.execute_batch("ROLLBACK");
    }
    for reply in replies {
        reply(commit.clone());
    }
}

// ---- conversions ---------------------------------------------------------------------------

fn sql(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && f.code == rusqlite::ErrorCode::ConstraintViolation
    {
        return StoreError::AlreadyExists(e.to_string());
    }
    backend(e.to_string())
}

fn backend(message: impl Into<String>) -> StoreError {
    StoreError::Backend(message.into())
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // The guarded values stay consistent across a panic (single pushes and pops).
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

/// A JSON column, decoded inside a row mapper (a corrupt value is a conversion error).
fn json_column<T: DeserializeOwned>(row: &Row<'_>, index: usize) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(index, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| backend(format!("encoding: {e}")))
}

fn from_json<T: DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| backend(format!("{what} is corrupt: {e}")))
}

fn flow_row(row: &Row<'_>) -> rusqlite::Result<FlowRecord> {
    let mode: String = row.get(6)?;
    Ok(FlowRecord {
        id: FlowId(row.get(0)?),
        tenant: TenantId(row.get(1)?),
        name: FlowName(row.get(2)?),
        description: row.get(3)?,
        dialect: row.get(4)?,
        role_arn: row.get(5)?,
        mode: ExecutionMode::parse(&mode).unwrap_or(ExecutionMode::Standard),
        attributes: json_column(row, 7)?,
        revision: row.get(8)?,
        open: row.get(9)?,
        created_at: row.get(10)?,
        modified_at: row.get(11)?,
        definition: row.get(12)?,
    })
}

fn execution_row(row: &Row<'_>) -> rusqlite::Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        id: ExecutionId(row.get(0)?),
        tenant: TenantId(row.get(1)?),
        flow_id: FlowId(row.get(2)?),
        flow_name: FlowName(row.get(3)?),
        flow_revision: row.get(4)?,
        name: ExecutionName(row.get(5)?),
        state: json_column(row, 6)?,
        version: row.get(7)?,
        created_at: row.get(8)?,
    })
}

fn schedule_row(row: &Row<'_>) -> rusqlite::Result<ScheduleRecord> {
    Ok(ScheduleRecord {
        id: row.get(0)?,
        tenant: TenantId(row.get(1)?),
        flow_id: FlowId(row.get(2)?),
        flow_name: FlowName(row.get(3)?),
        name: row.get(4)?,
        cron: row.get(5)?,
        payload: row.get(6)?,
        description: row.get(7)?,
        enabled: row.get(8)?,
        next_fire_at: row.get(9)?,
        created_at: row.get(10)?,
        modified_at: row.get(11)?,
    })
}

fn version_row(row: &Row<'_>) -> rusqlite::Result<VersionRecord> {
    Ok(VersionRecord {
        flow_id: FlowId(row.get(0)?),
        version: row.get(1)?,
        revision: row.get(2)?,
        description: row.get(3)?,
        created_at: row.get(4)?,
    })
}

fn alias_row(row: &Row<'_>) -> rusqlite::Result<AliasRecord> {
    Ok(AliasRecord {
        flow_id: FlowId(row.get(0)?),
        name: row.get(1)?,
        description: row.get(2)?,
        routing: json_column(row, 3)?,
        created_at: row.get(4)?,
        modified_at: row.get(5)?,
    })
}

fn get_flow_by_id(conn: &Connection, id: FlowId) -> Result<Option<FlowRecord>> {
    let query = format!("SELECT {FLOW_COLUMNS} FROM {FLOW_FROM} WHERE f.id = ?1");
    conn.query_row(&query, [id.0], flow_row)
        .optional()
        .map_err(sql)
}

fn get_execution_by_id(conn: &Connection, id: ExecutionId) -> Result<Option<ExecutionRecord>> {
    let query = format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = ?1");
    conn.query_row(&query, [id.0], execution_row)
        .optional()
        .map_err(sql)
}

/// Writes the rows of a step (history, timers, tasks) for `execution`.
fn write_step_rows(conn: &Connection, execution: ExecutionId, step: &StepWrite) -> Result<()> {
    let mut history = conn
        .prepare_cached("INSERT INTO history (execution_id, event_id, event) VALUES (?1, ?2, ?3)")
        .map_err(sql)?;
    for event in &step.events {
        let id = i64::try_from(event.id.0).map_err(|_| backend("event id out of range"))?;
        history
            .execute(params![execution.0, id, to_json(event)?])
            .map_err(sql)?;
    }
    let mut drop_timer = conn
        .prepare_cached("DELETE FROM timers WHERE execution_id = ?1 AND op = ?2")
        .map_err(sql)?;
    for op in &step.timers_removed {
        drop_timer
            .execute(params![execution.0, op_id(*op)?])
            .map_err(sql)?;
    }
    let mut drop_task = conn
        .prepare_cached("DELETE FROM tasks WHERE execution_id = ?1 AND op = ?2")
        .map_err(sql)?;
    for op in &step.tasks_removed {
        drop_task
            .execute(params![execution.0, op_id(*op)?])
            .map_err(sql)?;
    }
    let mut add_timer = conn
        .prepare_cached(
            "INSERT OR REPLACE INTO timers (execution_id, op, fire_at) VALUES (?1, ?2, ?3)",
        )
        .map_err(sql)?;
    for timer in &step.timers_added {
        add_timer
            .execute(params![execution.0, op_id(timer.op)?, timer.fire_at])
            .map_err(sql)?;
    }
    let mut add_task = conn
        .prepare_cached("INSERT OR REPLACE INTO tasks (execution_id, op, call) VALUES (?1, ?2, ?3)")
        .map_err(sql)?;
    for call in &step.tasks_added {
        add_task
            .execute(params![execution.0, op_id(call.op)?, to_json(call)?])
            .map_err(sql)?;
    }
    Ok(())
}

fn op_id(op: OpId) -> Result<i64> {
    i64::try_from(op.0).map_err(|_| backend("op id out of range"))
}

fn to_op(value: i64) -> OpId {
    OpId(u64::try_from(value).unwrap_or_default())
}

/// The end of the range of names starting with `prefix` (exclusive), for prefix filters
/// without LIKE and its wildcards.
fn prefix_end(prefix: &str) -> String {
    format!("{prefix}\u{10FFFF}")
}

#[async_trait]
impl Store for SqliteStore {
    async fn create_flow(&self, flow: NewFlow) -> Result<FlowRecord> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO flows (tenant, name, description, dialect, role_arn, mode, attributes, revision, open, \
                 created_at, modified_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, 1, ?8, ?8)",
                params![
                    flow.tenant.0,
                    flow.name.0,
                    flow.description,
                    flow.dialect,
                    flow.role_arn,
                    flow.mode.as_str(),
                    to_json(&flow.attributes)?,
                    flow.now
                ],
            )
            .map_err(sql)?;
            let id = FlowId(conn.last_insert_rowid());
            conn.execute("INSERT INTO flow_revisions VALUES (?1, 1, ?2)", params![id.0, flow.definition]).map_err(sql)?;
            get_flow_by_id(conn, id)?.ok_or_else(|| backend("a created flow vanished"))
        })
        .await
    }

    async fn get_flow(&self, tenant: &TenantId, name: &FlowName) -> Result<Option<FlowRecord>> {
        let (tenant, name) = (tenant.0.clone(), name.0.clone());
        self.read(move |conn| {
            let query = format!("SELECT {FLOW_COLUMNS} FROM {FLOW_FROM} WHERE f.tenant = ?1 AND f.name = ?2 AND f.deleted = 0");
            conn.query_row(&query, [tenant, name], flow_row).optional().map_err(sql)
        })
        .await
    }

    async fn flow_definition(&self, flow: FlowId, revision: i64) -> Result<Option<FlowDefinition>> {
        self.read(move |conn| {
            conn.query_row(
                "SELECT f.dialect, r.definition FROM flow_revisions r JOIN flows f ON f.id = r.flow_id \
                 WHERE r.flow_id = ?1 AND r.revision = ?2",
                params![flow.0, revision],
                |row| Ok(FlowDefinition { dialect: row.get(0)?, text: row.get(1)? }),
            )
            .optional()
            .map_err(sql)
        })
        .await
    }

    async fn update_flow(
        &self,
        tenant: &TenantId,
        name: &FlowName,
        expected_revision: i64,
        update: FlowUpdate,
        now: Millis,
    ) -> Result<FlowRecord> {
        let (tenant, name) = (tenant.clone(), name.clone());
        self.write(move |conn| {
            let current = conn
                .query_row(
                    &format!("SELECT {FLOW_COLUMNS} FROM {FLOW_FROM} WHERE f.tenant = ?1 AND f.name = ?2 AND f.deleted = 0"),
                    [&tenant.0, &name.0],
                    flow_row,
                )
                .optional()
                .map_err(sql)?
                .ok_or_else(|| StoreError::NotFound(format!("flow {name}")))?;
            if current.revision != expected_revision {
                return Err(StoreError::Conflict(format!("flow {name}")));
            }
            let revision = match &update.definition {
                Some(definition) => {
                    let next = current.revision + 1;
                    conn.execute("INSERT INTO flow_revisions VALUES (?1, ?2, ?3)", params![current.id.0, next, definition])
                        .map_err(sql)?;
                    next
                }
                None => current.revision,
            };
            let attributes = to_json(update.attributes.as_ref().unwrap_or(&current.attributes))?;
            conn.execute(
                "UPDATE flows SET description = ?2, role_arn = ?3, attributes = ?4, open = ?5, revision = ?6, \
                 modified_at = ?7 WHERE id = ?1",
                params![
                    current.id.0,
                    update.description.unwrap_or(current.description),
                    update.role_arn.or(current.role_arn),
                    attributes,
                    update.open.unwrap_or(current.open),
                    revision,
                    now
                ],
            )
            .map_err(sql)?;
            get_flow_by_id(conn, current.id)?.ok_or_else(|| backend("an updated flow vanished"))
        })
        .await
    }

    async fn delete_flow(&self, tenant: &TenantId, name: &FlowName) -> Result<FlowRecord> {
        let (tenant, name) = (tenant.clone(), name.clone());
        self.write(move |conn| {
            let flow = conn
                .query_row(
                    &format!("SELECT {FLOW_COLUMNS} FROM {FLOW_FROM} WHERE f.tenant = ?1 AND f.name = ?2 AND f.deleted = 0"),
                    [&tenant.0, &name.0],
                    flow_row,
                )
                .optional()
                .map_err(sql)?
                .ok_or_else(|| StoreError::NotFound(format!("flow {name}")))?;
            conn.execute("UPDATE flows SET deleted = 1 WHERE id = ?1", [flow.id.0]).map_err(sql)?;
            Ok(flow)
        })
        .await
    }

    async fn list_flows(
        &self,
        tenant: &TenantId,
        after: Option<&FlowName>,
        limit: usize,
    ) -> Result<Vec<FlowRecord>> {
        let tenant = tenant.0.clone();
        let after = after.map(|a| a.0.clone()).unwrap_or_default();
        self.read(move |conn| {
            let query = format!(
                "SELECT {FLOW_COLUMNS} FROM {FLOW_FROM} WHERE f.tenant = ?1 AND f.deleted = 0 AND f.name > ?2 \
                 ORDER BY f.name LIMIT ?3"
            );
            let mut stmt = conn.prepare_cached(&query).map_err(sql)?;
            let rows = stmt.query_map(params![tenant, after, limit as i64], flow_row).map_err(sql)?;
            rows.map(|r| r.map_err(sql)).collect()
        })
        .await
    }

    async fn create_execution(
        &self,
        execution: NewExecution,
        first: StepWrite,
    ) -> Result<ExecutionRecord> {
        self.write(move |conn| {
            let state = &first.state;
            conn.execute(
                "INSERT INTO executions (tenant, flow_id, flow_name, flow_revision, name, status, started_at, \
                 stopped_at, state, version, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10)",
                params![
                    execution.tenant.0,
                    execution.flow_id.0,
                    execution.flow_name.0,
                    execution.flow_revision,
                    execution.name.0,
                    state.status.as_str(),
                    state.started_at,
                    state.stopped_at,
                    to_json(state)?,
                    execution.now
                ],
            )
            .map_err(sql)?;
            let id = ExecutionId(conn.last_insert_rowid());
            write_step_rows(conn, id, &first)?;
            get_execution_by_id(conn, id)?.ok_or_else(|| backend("a created execution vanished"))
        })
        .await
    }

    async fn get_execution(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>> {
        self.read(move |conn| get_execution_by_id(conn, id)).await
    }

    async fn find_execution(
        &self,
        flow: FlowId,
        name: &ExecutionName,
    ) -> Result<Option<ExecutionRecord>> {
        let name = name.0.clone();
        self.read(move |conn| {
            let query = format!(
                "SELECT {EXECUTION_COLUMNS} FROM executions WHERE flow_id = ?1 AND name = ?2"
            );
            conn.query_row(&query, params![flow.0, name], execution_row)
                .optional()
                .map_err(sql)
        })
        .await
    }

    async fn list_executions(
        &self,
        flow: FlowId,
        filter: &ExecutionFilter,
        after: Option<&ExecutionName>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>> {
        let filter = filter.clone();
        let after = after.map(|a| a.0.clone()).unwrap_or_default();
        self.read(move |conn| {
            let prefix = filter.name_prefix.clone().unwrap_or_default();
            let query = format!(
                "SELECT {EXECUTION_COLUMNS} FROM executions WHERE flow_id = ?1 AND name > ?2 \
                 AND (?3 IS NULL OR status = ?3) AND name >= ?4 AND name < ?5 \
                 AND (?6 IS NULL OR started_at >= ?6) AND (?7 IS NULL OR started_at <= ?7) \
                 ORDER BY name LIMIT ?8"
            );
            let mut stmt = conn.prepare_cached(&query).map_err(sql)?;
            let rows = stmt
                .query_map(
                    params![
                        flow.0,
                        after,
                        filter.status.map(|s| s.as_str()),
                        prefix,
                        prefix_end(&prefix),
                        filter.started_from,
                        filter.started_to,
                        limit as i64
                    ],
                    execution_row,
                )
                .map_err(sql)?;
            rows.map(|r| r.map_err(sql)).collect()
        })
        .await
    }

    async fn active_executions(&self, flow: FlowId) -> Result<Vec<ExecutionId>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT id FROM executions WHERE flow_id = ?1 AND status IN ('Starting', 'Running') ORDER BY id",
                )
                .map_err(sql)?;
            let rows = stmt.query_map([flow.0], |r| r.get(0).map(ExecutionId)).map_err(sql)?;
            rows.map(|r| r.map_err(sql)).collect()
        })
        .await
    }

    async fn commit_step(&self, step: StepWrite) -> Result<()> {
        self.write(move |conn| {
            let state = &step.state;
            let changed = conn
                .execute(
                    "UPDATE executions SET state = ?1, status = ?2, started_at = ?3, stopped_at = ?4, \
                     version = version + 1 WHERE id = ?5 AND version = ?6",
                    params![
                        to_json(state)?,
                        state.status.as_str(),
                        state.started_at,
                        state.stopped_at,
                        step.execution.0,
                        step.expected_version
                    ],
                )
                .map_err(sql)?;
            if changed == 0 {
                let exists: Option<i64> = conn
                    .query_row("SELECT 1 FROM executions WHERE id = ?1", [step.execution.0], |r| r.get(0))
                    .optional()
                    .map_err(sql)?;
                return Err(match exists {
                    Some(_) => StoreError::Conflict(format!("execution {}", step.execution)),
                    None => StoreError::NotFound(format!("execution {}", step.execution)),
                });
            }
            write_step_rows(conn, step.execution, &step)
        })
        .await
    }

    async fn history(
        &self,
        execution: ExecutionId,
        after: EventId,
        limit: usize,
    ) -> Result<Vec<HistoryEvent>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT event FROM history WHERE execution_id = ?1 AND event_id > ?2 ORDER BY event_id LIMIT ?3",
                )
                .map_err(sql)?;
            let after = i64::try_from(after.0).unwrap_or(i64::MAX);
            let rows = stmt.query_map(params![execution.0, after, limit as i64], |r| r.get::<_, String>(0)).map_err(sql)?;
            rows.map(|r| r.map_err(sql).and_then(|text| from_json(&text, "history event"))).collect()
        })
        .await
    }

    async fn due_timers(&self, until: Millis, limit: usize) -> Result<Vec<TimerRow>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT execution_id, op, fire_at FROM timers WHERE fire_at <= ?1 ORDER BY fire_at LIMIT ?2")
                .map_err(sql)?;
            let rows = stmt
                .query_map(params![until, limit as i64], |r| {
                    Ok(TimerRow { execution: ExecutionId(r.get(0)?), op: to_op(r.get(1)?), fire_at: r.get(2)? })
                })
                .map_err(sql)?;
            rows.map(|r| r.map_err(sql)).collect()
        })
        .await
    }

    async fn pending_tasks(&self) -> Result<Vec<TaskRow>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached("SELECT execution_id, call FROM tasks ORDER BY execution_id, op")
                .map_err(sql)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .map_err(sql)?;
            rows.map(|r| {
                let (execution, call) = r.map_err(sql)?;
                let call: TaskCall = from_json(&call, "task call")?;
                Ok(TaskRow {
                    execution: ExecutionId(execution),
                    call,
                })
            })
            .collect()
        })
        .await
    }

    async fn publish_version(
        &self,
        flow: FlowId,
        description: &str,
        now: Millis,
    ) -> Result<VersionRecord> {
        let description = description.to_string();
        self.write(move |conn| {
            let (version, revision): (i64, i64) = conn
                .query_row(
                    "SELECT next_version, revision FROM flows WHERE id = ?1",
                    [flow.0],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )
                .optional()
                .map_err(sql)?
                .ok_or_else(|| StoreError::NotFound(format!("flow {}", flow.0)))?;
            conn.execute(
                "UPDATE flows SET next_version = next_version + 1 WHERE id = ?1",
                [flow.0],
            )
            .map_err(sql)?;
            conn.execute(
                "INSERT INTO versions VALUES (?1, ?2, ?3, ?4, ?5)",
                params![flow.0, version, revision, description, now],
            )
            .map_err(sql)?;
            Ok(VersionRecord {
                flow_id: flow,
                version,
                revision,
                description,
                created_at: now,
            })
        })
        .await
    }

    async fn get_version(&self, flow: FlowId, version: i64) -> Result<Option<VersionRecord>> {
        self.read(move |conn| {
            conn.query_row(
                "SELECT flow_id, version, revision, description, created_at FROM versions WHERE flow_id = ?1 AND version = ?2",
                params![flow.0, version],
                version_row,
            )
            .optional()
            .map_err(sql)
        })
        .await
    }

    async fn list_versions(
        &self,
        flow: FlowId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<VersionRecord>> {
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT flow_id, version, revision, description, created_at FROM versions \
                     WHERE flow_id = ?1 AND version < ?2 ORDER BY version DESC LIMIT ?3",
                )
                .map_err(sql)?;
            let rows = stmt
                .query_map(
                    params![flow.0, before.unwrap_or(i64::MAX), limit as i64],
                    version_row,
                )
                .map_err(sql)?;
            rows.map(|r| r.map_err(sql)).collect()
        })
        .await
    }

    async fn delete_version(&self, flow: FlowId, version: i64) -> Result<()> {
        self.write(move |conn| {
            conn.execute(
                "DELETE FROM versions WHERE flow_id = ?1 AND version = ?2",
                params![flow.0, version],
            )
            .map_err(sql)
            .map(drop)
        })
        .await
    }

    async fn create_alias(&self, alias: AliasRecord) -> Result<AliasRecord> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO aliases VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    alias.flow_id.0,
                    alias.name,
                    alias.description,
                    to_json(&alias.routing)?,
                    alias.created_at,
                    alias.modified_at
                ],
            )
            .map_err(sql)?;
            Ok(alias)
        })
        .await
    }

    async fn get_alias(&self, flow: FlowId, name: &str) -> Result<Option<AliasRecord>> {
        let name = name.to_string();
        self.read(move |conn| {
            conn.query_row(
                "SELECT flow_id, name, description, routing, created_at, modified_at FROM aliases WHERE flow_id = ?1 AND name = ?2",
                params![flow.0, name],
                alias_row,
            )
            .optional()
            .map_err(sql)
        })
        .await
    }

    async fn update_alias(&self, alias: AliasRecord) -> Result<AliasRecord> {
        self.write(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE aliases SET description = ?3, routing = ?4, modified_at = ?5 WHERE flow_id = ?1 AND name = ?2",
                    params![alias.flow_id.0, alias.name, alias.description, to_json(&alias.routing)?, alias.modified_at],
                )
                .map_err(sql)?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("alias {}", alias.name)));
            }
            Ok(alias)
        })
        .await
    }

    async fn delete_alias(&self, flow: FlowId, name: &str) -> Result<()> {
        let name = name.to_string();
        self.write(move |conn| {
            conn.execute(
                "DELETE FROM aliases WHERE flow_id = ?1 AND name = ?2",
                params![flow.0, name],
            )
            .map_err(sql)
            .map(drop)
        })
        .await
    }

    async fn list_aliases(
        &self,
        flow: FlowId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AliasRecord>> {
        let after = after.unwrap_or_default().to_string();
        self.read(move |conn| {
            let mut stmt = conn
                .prepare_cached(
                    "SELECT flow_id, name, description, routing, created_at, modified_at FROM aliases \
                     WHERE flow_id = ?1 AND name > ?2 ORDER BY name LIMIT ?3",
                )
                .map_err(sql)?;
            let rows = stmt.query_map(params![flow.0, after, limit as i64], alias_row).map_err(sql)?;
            rows.map(|r| r.map_err(sql)).collect()
        })
        .await
    }

    async fn create_schedule(&self, schedule: ScheduleRecord) -> Result<ScheduleRecord> {
        self.write(move |conn| {
            conn.execute(
                "INSERT INTO schedules (tenant, flow_id, flow_name, name, cron, payload, description, enabled, \
                 next_fire_at, created_at, modified_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    schedule.tenant.0,
                    schedule.flow_id.0,
                    schedule.flow_name.0,
                    schedule.name,
                    schedule.cron,
                    schedule.payload,
                    schedule.description,
                    schedule.enabled,
                    schedule.next_fire_at,
                    schedule.created_at,
                    schedule.modified_at
                ],
            )
            .map_err(sql)?;
            Ok(ScheduleRecord { id: conn.last_insert_rowid(), ..schedule })
        })
        .await
    }

    async fn get_schedule(&self, flow: FlowId, name: &str) -> Result<Option<ScheduleRecord>> {
        let name = name.to_string();
        self.read(move |conn| {
            let query = format!(
                "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE flow_id = ?1 AND name = ?2"
            );
            conn.query_row(&query, params![flow.0, name], schedule_row)
                .optional()
                .map_err(sql)
        })
        .await
    }

    async fn update_schedule(&self, schedule: ScheduleRecord) -> Result<ScheduleRecord> {
        self.write(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE schedules SET cron = ?2, payload = ?3, description = ?4, enabled = ?5, next_fire_at = ?6, \
                     modified_at = ?7 WHERE id = ?1",
                    params![
                        schedule.id,
                        schedule.cron,
                        schedule.payload,
                        schedule.description,
                        schedule.enabled,
                        schedule.next_fire_at,
                        schedule.modified_at
                    ],
                )
                .map_err(sql)?;
            if changed == 0 {
                return Err(StoreError::NotFound(format!("schedule {}", schedule.name)));
            }
            Ok(schedule)
        })
        .await
    }

    async fn delete_schedule(&self, flow: FlowId, name: &str) -> Result<()> {
        let name = name.to_string();
        self.write(move |conn| {
            conn.execute(
                "DELETE FROM schedules WHERE flow_id = ?1 AND name = ?2",
                params![flow.0, name],
            )
            .map_err(sql)
            .map(drop)
        })
        .await
    }

    async fn list_schedules(
        &self,
        flow: FlowId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ScheduleRecord>> {
        let after = after.unwrap_or_default().to_string();
        self.read(move |conn| {
            let query =
                format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE flow_id = ?1 AND name > ?2 ORDER BY name LIMIT ?3");
            let mut stmt = conn.prepare_cached(&query).map_err(sql)?;
            let rows = stmt.query_map(params![flow.0, after, limit as i64], schedule_row).map_err(sql)?;
            rows.map(|r| r.map_err(sql)).collect()
        })
        .await
    }

    async fn due_schedules(&self, until: Millis) -> Result<Vec<ScheduleRecord>> {
        self.read(move |conn| {
            let query = format!(
                "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE enabled = 1 AND next_fire_at IS NOT NULL \
                 AND next_fire_at <= ?1 ORDER BY next_fire_at"
            );
            let mut stmt = conn.prepare_cached(&query).map_err(sql)?;
            let rows = stmt.query_map([until], schedule_row).map_err(sql)?;
            rows.map(|r| r.map_err(sql)).collect()
        })
        .await
    }

    async fn claim_schedule_tick(
        &self,
        id: i64,
        fired: Millis,
        next: Option<Millis>,
    ) -> Result<bool> {
        self.write(move |conn| {
            let changed = conn
                .execute(
                    "UPDATE schedules SET next_fire_at = ?3 WHERE id = ?1 AND next_fire_at = ?2",
                    params![id, fired, next],
                )
                .map_err(sql)?;
            Ok(changed == 1)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_engine::{EventType, Execution, ExecutionInfo};

    use super::*;

    fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = SqliteStore::open(&dir.path().join("db").join("sluice.db")).expect("open");
        (dir, store)
    }

    fn new_flow(name: &str) -> NewFlow {
        NewFlow {
            tenant: TenantId::new("t"),
            name: FlowName::new(name),
            description: "d".into(),
            definition: "def-1".into(),
            dialect: "cloudflow".into(),
            role_arn: None,
            mode: ExecutionMode::Standard,
            attributes: json!({}),
            now: 1,
        }
    }

    fn state(name: &str) -> Execution {
        Execution::new(ExecutionInfo {
            name: name.into(),
            flow_name: "f".into(),
            role_arn: None,
            token_prefix: "p.".into(),
            seed: 1,
            limits: Default::default(),
        })
    }

    fn event(id: u64) -> HistoryEvent {
        HistoryEvent {
            id: EventId(id),
            schedule_id: None,
            step: None,
            time: 5,
            kind: EventType::StepEntered,
            detail: json!({}),
        }
    }

    fn step(execution: ExecutionId, version: i64, events: &[u64]) -> StepWrite {
        StepWrite {
            execution,
            expected_version: version,
            state: state("e"),
            events: events.iter().map(|id| event(*id)).collect(),
            timers_added: vec![],
            timers_removed: vec![],
            tasks_added: vec![],
            tasks_removed: vec![],
        }
    }

    async fn execution(store: &SqliteStore, flow: &FlowRecord, name: &str) -> ExecutionRecord {
        let new = NewExecution {
            tenant: flow.tenant.clone(),
            flow_id: flow.id,
            flow_name: flow.name.clone(),
            flow_revision: flow.revision,
            name: ExecutionName::new(name),
            now: 2,
        };
        store
            .create_execution(new, step(ExecutionId(0), 0, &[1]))
            .await
            .expect("create execution")
    }

    #[tokio::test]
    async fn flows_update_with_compare_and_set_and_keep_old_revisions() {
        let (_dir, store) = store();
        let flow = store.create_flow(new_flow("f")).await.expect("create");
        assert_eq!((flow.revision, flow.definition.as_str()), (1, "def-1"));
        assert!(matches!(
            store.create_flow(new_flow("f")).await,
            Err(StoreError::AlreadyExists(_))
        ));
        let update = FlowUpdate {
            definition: Some("def-2".into()),
            ..Default::default()
        };
        let updated = store
            .update_flow(&flow.tenant, &flow.name, 1, update.clone(), 3)
            .await
            .expect("update");
        assert_eq!(
            (updated.revision, updated.definition.as_str()),
            (2, "def-2")
        );
        assert!(matches!(
            store
                .update_flow(&flow.tenant, &flow.name, 1, update, 4)
                .await,
            Err(StoreError::Conflict(_))
        ));
        store
            .delete_flow(&flow.tenant, &flow.name)
            .await
            .expect("delete");
        assert!(
            store
                .get_flow(&flow.tenant, &flow.name)
                .await
                .expect("get")
                .is_none()
        );
        let again = store.create_flow(new_flow("f")).await.expect("re-create");
        assert_ne!(again.id, flow.id);
        let old = store
            .flow_definition(flow.id, 2)
            .await
            .expect("definition")
            .expect("kept");
        assert_eq!(old.text, "def-2");
    }

    #[tokio::test]
    async fn steps_commit_atomically_with_compare_and_set() {
        let (_dir, store) = store();
        let flow = store.create_flow(new_flow("f")).await.expect("create");
        let exec = execution(&store, &flow, "e").await;
        assert_eq!(exec.version, 1);
        let mut write = step(exec.id, 1, &[2, 3]);
        write.timers_added.push(TimerRow {
            execution: exec.id,
            op: OpId(1),
            fire_at: 100,
        });
        store.commit_step(write).await.expect("commit");
        // A stale version changes nothing, not even the history.
        assert!(matches!(
            store.commit_step(step(exec.id, 1, &[4])).await,
            Err(StoreError::Conflict(_))
        ));
        // A duplicate event id fails the whole step.
        assert!(store.commit_step(step(exec.id, 2, &[3])).await.is_err());
        let history = store
            .history(exec.id, EventId(0), 100)
            .await
            .expect("history");
        assert_eq!(
            history.iter().map(|e| e.id.0).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        assert_eq!(
            store
                .get_execution(exec.id)
                .await
                .expect("get")
                .expect("exists")
                .version,
            2
        );
        let timers = store.due_timers(100, 10).await.expect("timers");
        assert_eq!(
            timers,
            vec![TimerRow {
                execution: exec.id,
                op: OpId(1),
                fire_at: 100
            }]
        );
        assert!(store.due_timers(99, 10).await.expect("timers").is_empty());
    }

    #[tokio::test]
    async fn concurrent_writes_in_one_group_fail_alone() {
        let (_dir, store) = store();
        let store = Arc::new(store);
        let flow = store.create_flow(new_flow("f")).await.expect("create");
        let mut ids = Vec::new();
        for i in 0..25 {
            ids.push(execution(&store, &flow, &format!("e{i}")).await.id);
        }
        let mut handles = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            for version in [1, 1] {
                let store = store.clone();
                let id = *id;
                handles.push(tokio::spawn(async move {
                    (i, store.commit_step(step(id, version, &[2])).await)
                }));
            }
        }
        let mut wins = vec![0; ids.len()];
        for handle in handles {
            let (i, result) = handle.await.expect("join");
            if result.is_ok() {
                wins[i] += 1;
            }
        }
        assert!(
            wins.iter().all(|w| *w == 1),
            "exactly one of each pair commits: {wins:?}"
        );
    }

    #[tokio::test]
    async fn acknowledged_writes_survive_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sluice.db");
        let flow_id = {
            let store = SqliteStore::open(&path).expect("open");
            store
                .create_flow(new_flow("kept"))
                .await
                .expect("create")
                .id
        };
        let store = SqliteStore::open(&path).expect("reopen");
        let flow = store
            .get_flow(&TenantId::new("t"), &FlowName::new("kept"))
            .await
            .expect("get")
            .expect("kept");
        assert_eq!(flow.id, flow_id);
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sluice.db");
        drop(SqliteStore::open(&path).expect("open"));
        let conn = Connection::open(&path).expect("raw");
        conn.execute("INSERT INTO schema_version VALUES (99)", [])
            .expect("bump");
        assert!(matches!(
            SqliteStore::open(&path),
            Err(StoreError::SchemaTooNew { found: 99, .. })
        ));
    }

    #[tokio::test]
    async fn executions_list_by_prefix_status_and_cursor() {
        let (_dir, store) = store();
        let flow = store.create_flow(new_flow("f")).await.expect("create");
        for name in ["a_1", "a_2", "a%3", "b_1"] {
            execution(&store, &flow, name).await;
        }
        let filter = ExecutionFilter {
            name_prefix: Some("a_".into()),
            ..Default::default()
        };
        let names = |v: Vec<ExecutionRecord>| v.into_iter().map(|e| e.name.0).collect::<Vec<_>>();
        assert_eq!(
            names(
                store
                    .list_executions(flow.id, &filter, None, 10)
                    .await
                    .expect("list")
            ),
            ["a_1", "a_2"]
        );
        let after = ExecutionName::new("a_1");
        assert_eq!(
            names(
                store
                    .list_executions(flow.id, &filter, Some(&after), 10)
                    .await
                    .expect("list")
            ),
            ["a_2"]
        );
        let starting = ExecutionFilter {
            status: Some(sluice_engine::Status::Starting),
            ..Default::default()
        };
        assert_eq!(
            store
                .list_executions(flow.id, &starting, None, 10)
                .await
                .expect("list")
                .len(),
            4
        );
        assert_eq!(
            store
                .active_executions(flow.id)
                .await
                .expect("active")
                .len(),
            4
        );
    }

    #[tokio::test]
    async fn versions_are_never_reused_and_schedule_ticks_are_claimed_once() {
        let (_dir, store) = store();
        let flow = store.create_flow(new_flow("f")).await.expect("create");
        let v1 = store.publish_version(flow.id, "one", 1).await.expect("v1");
        store
            .delete_version(flow.id, v1.version)
            .await
            .expect("delete");
        let v2 = store.publish_version(flow.id, "two", 2).await.expect("v2");
        assert_eq!((v1.version, v2.version), (1, 2));
        let schedule = ScheduleRecord {
            id: 0,
            tenant: flow.tenant.clone(),
            flow_id: flow.id,
            flow_name: flow.name.clone(),
            name: "s".into(),
            cron: "@every 1m".into(),
            payload: "{}".into(),
            description: String::new(),
            enabled: true,
            next_fire_at: Some(10),
            created_at: 1,
            modified_at: 1,
        };
        let schedule = store.create_schedule(schedule).await.expect("schedule");
        assert_eq!(store.due_schedules(10).await.expect("due").len(), 1);
        assert!(
            store
                .claim_schedule_tick(schedule.id, 10, Some(70))
                .await
                .expect("claim")
        );
        assert!(
            !store
                .claim_schedule_tick(schedule.id, 10, Some(70))
                .await
                .expect("claim again")
        );
        assert!(store.due_schedules(10).await.expect("due").is_empty());
    }
}
