//! Executions, their history, and the timer and task rows the runtime resumes from.

use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};
use serde_json::Value;
use sluice_engine::{CallSnapshot, EventId, HistoryEvent, Millis, OpId, Snapshot};
use sluice_ir::StateName;

use super::codec::{
    corrupt, event_id_at, failed, inserting, json_at, op_at, prefix_successor, sql_limit,
};
pub(super) use crate::encode::EncodedStep;
use crate::{
    ExecutionFilter, ExecutionId, ExecutionName, ExecutionRecord, FlowId, FlowName, NewExecution,
    Result, StoreError, TaskRow, TenantId, TimerRow,
};

const COLUMNS: &str =
    "id, tenant, flow_id, flow_name, flow_revision, name, state, version, created_at";

/// Inserts the execution at version 1 and writes its first step's rows under the new id.
pub(super) fn create(
    conn: &Connection,
    new: &NewExecution,
    first: &EncodedStep,
) -> Result<ExecutionId> {
    ensure_open(conn, new)?;
    conn.prepare_cached(
        "INSERT INTO executions (tenant, flow_id, flow_name, flow_revision, name, status, \
         started_at, stopped_at, state, version, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 1, ?10)",
    )
    .and_then(|mut s| {
        s.execute(params![
            new.tenant.0,
            new.flow_id.0,
            new.flow_name.0,
            new.flow_revision,
            new.name.0,
            first.status,
            first.started_at,
            first.stopped_at,
            first.state,
            new.now
        ])
    })
    .map_err(inserting(&format!(
        "execution {} of flow {}",
        new.name, new.flow_name
    )))?;
    let id = ExecutionId(conn.last_insert_rowid());
    write_step_rows(conn, id, first)?;
    Ok(id)
}

/// Refuses a start of a closed or deleted flow inside the creating transaction: the writer
/// runs one command at a time, so a start can never slip in behind the update that closed the
/// flow or the delete.
fn ensure_open(conn: &Connection, new: &NewExecution) -> Result<()> {
    let open: Option<bool> = conn
        .prepare_cached("SELECT open FROM flows WHERE id = ?1 AND deleted = 0")
        .and_then(|mut s| s.query_row(params![new.flow_id.0], |r| r.get(0)).optional())
        .map_err(failed("reading whether a flow is open"))?;
    match open {
        Some(true) => Ok(()),
        Some(false) => Err(StoreError::Closed(new.flow_name.to_string())),
        None => Err(StoreError::NotFound(format!("flow {}", new.flow_name))),
    }
}

/// Compare-and-set on the version, then the step's rows. Any failure fails the whole command
/// (its savepoint is rolled back), so a conflict writes nothing.
pub(super) fn commit(
    conn: &Connection,
    id: ExecutionId,
    expected_version: i64,
    step: &EncodedStep,
) -> Result<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE executions SET state = ?1, status = ?2, started_at = ?3, stopped_at = ?4, \
             version = version + 1 WHERE id = ?5 AND version = ?6",
        )
        .and_then(|mut s| {
            s.execute(params![
                step.state,
                step.status,
                step.started_at,
                step.stopped_at,
                id.0,
                expected_version
            ])
        })
        .map_err(failed("updating an execution"))?;
    if changed == 0 {
        return Err(why_unchanged(conn, id, expected_version)?);
    }
    write_step_rows(conn, id, step)
}

fn why_unchanged(conn: &Connection, id: ExecutionId, expected_version: i64) -> Result<StoreError> {
    let version: Option<i64> = conn
        .query_row(
            "SELECT version FROM executions WHERE id = ?1",
            [id.0],
            |r| r.get(0),
        )
        .optional()
        .map_err(failed("reading an execution"))?;
    Ok(match version {
        Some(found) => StoreError::Conflict(format!(
            "execution {id} (version {expected_version} expected, {found} found)"
        )),
        None => StoreError::NotFound(format!("execution {id}")),
    })
}

/// Removals first: they name ops that ended, additions name ops that began, so the order only
/// matters if a caller reuses an op id, and then the new row must win.
fn write_step_rows(conn: &Connection, id: ExecutionId, step: &EncodedStep) -> Result<()> {
    let mut insert_event = conn
        .prepare_cached(
            "INSERT INTO history (execution_id, event_id, schedule_id, step, time, type, detail) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .map_err(failed("preparing a history insert"))?;
    for event in &step.events {
        insert_event
            .execute(params![
                id.0,
                event.id,
                event.schedule_id,
                event.step,
                event.time,
                event.kind,
                event.detail
            ])
            .map_err(inserting(&format!("event {} of execution {id}", event.id)))?;
    }
    delete_ops(
        conn,
        "DELETE FROM timers WHERE execution_id = ?1 AND op = ?2",
        id,
        &step.timers_removed,
    )?;
    delete_ops(
        conn,
        "DELETE FROM tasks WHERE execution_id = ?1 AND op = ?2",
        id,
        &step.tasks_removed,
    )?;
    let mut insert_timer = conn
        .prepare_cached(
            "INSERT OR REPLACE INTO timers (execution_id, op, fire_at) VALUES (?1, ?2, ?3)",
        )
        .map_err(failed("preparing a timer insert"))?;
    for (op, fire_at) in &step.timers_added {
        insert_timer
            .execute(params![id.0, op, fire_at])
            .map_err(failed("inserting a timer"))?;
    }
    let mut insert_task = conn
        .prepare_cached("INSERT OR REPLACE INTO tasks (execution_id, op, call) VALUES (?1, ?2, ?3)")
        .map_err(failed("preparing a task insert"))?;
    for (op, call) in &step.tasks_added {
        insert_task
            .execute(params![id.0, op, call])
            .map_err(failed("inserting a task"))?;
    }
    Ok(())
}

/// Absent rows are fine: the runtime lists every op that ended in both removal lists.
fn delete_ops(conn: &Connection, delete: &str, id: ExecutionId, ops: &[i64]) -> Result<()> {
    if ops.is_empty() {
        return Ok(());
    }
    let mut statement = conn
        .prepare_cached(delete)
        .map_err(failed("preparing a delete"))?;
    for op in ops {
        statement
            .execute(params![id.0, op])
            .map_err(failed("deleting a timer or task row"))?;
    }
    Ok(())
}

pub(super) fn get(conn: &Connection, id: ExecutionId) -> Result<Option<ExecutionRecord>> {
    let query = format!("SELECT {COLUMNS} FROM executions WHERE id = ?1");
    conn.prepare_cached(&query)
        .and_then(|mut s| s.query_row([id.0], execution_row).optional())
        .map_err(failed("reading an execution"))
}

pub(super) fn find(
    conn: &Connection,
    flow: FlowId,
    name: &ExecutionName,
) -> Result<Option<ExecutionRecord>> {
    let query = format!("SELECT {COLUMNS} FROM executions WHERE flow_id = ?1 AND name = ?2");
    conn.prepare_cached(&query)
        .and_then(|mut s| {
            s.query_row(params![flow.0, name.0], execution_row)
                .optional()
        })
        .map_err(failed("reading an execution"))
}

/// Only the conditions a filter sets go into the query, so SQLite plans each shape on its own
/// (the name range walks the `(flow_id, name)` index in order).
pub(super) fn list(
    conn: &Connection,
    flow: FlowId,
    filter: &ExecutionFilter,
    after: Option<&ExecutionName>,
    limit: usize,
) -> Result<Vec<ExecutionRecord>> {
    let mut query = Query::new("flow_id = ?", SqlValue::Integer(flow.0));
    if let Some(after) = after {
        query.condition(" AND name > ?", SqlValue::Text(after.0.clone()));
    }
    query.filter(filter);
    query.finish(conn, " ORDER BY name LIMIT ?", limit)
}

/// See [`crate::Store::list_recent_executions`].
pub(super) fn recent(
    conn: &Connection,
    tenant: &TenantId,
    flow: Option<FlowId>,
    filter: &ExecutionFilter,
    before: Option<ExecutionId>,
    limit: usize,
) -> Result<Vec<ExecutionRecord>> {
    let mut query = Query::new("tenant = ?", SqlValue::Text(tenant.0.clone()));
    if let Some(flow) = flow {
        query.condition(" AND flow_id = ?", SqlValue::Integer(flow.0));
    }
    if let Some(before) = before {
        query.condition(" AND id < ?", SqlValue::Integer(before.0));
    }
    query.filter(filter);
    query.finish(conn, " ORDER BY id DESC LIMIT ?", limit)
}

/// A listing's SELECT, built condition by condition.
struct Query {
    sql: String,
    args: Vec<SqlValue>,
}

impl Query {
    fn new(first: &str, value: SqlValue) -> Self {
        Query {
            sql: format!("SELECT {COLUMNS} FROM executions WHERE {first}"),
            args: vec![value],
        }
    }

    fn condition(&mut self, sql: &str, value: SqlValue) {
        self.sql.push_str(sql);
        self.args.push(value);
    }

    fn filter(&mut self, filter: &ExecutionFilter) {
        if let Some(status) = filter.status {
            self.condition(" AND status = ?", SqlValue::Text(status.as_str().into()));
        }
        if let Some(prefix) = &filter.name_prefix {
            self.condition(" AND name >= ?", SqlValue::Text(prefix.clone()));
            if let Some(end) = prefix_successor(prefix) {
                self.condition(" AND name < ?", SqlValue::Text(end));
            }
        }
        if let Some(from) = filter.started_from {
            self.condition(" AND started_at >= ?", SqlValue::Integer(from));
        }
        if let Some(to) = filter.started_to {
            self.condition(" AND started_at <= ?", SqlValue::Integer(to));
        }
    }

    fn finish(
        mut self,
        conn: &Connection,
        order: &str,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>> {
        self.condition(order, SqlValue::Integer(sql_limit(limit)));
        conn.prepare_cached(&self.sql)
            .and_then(|mut s| {
                s.query_map(params_from_iter(self.args), execution_row)?
                    .collect()
            })
            .map_err(failed("listing executions"))
    }
}

pub(super) fn active(conn: &Connection, flow: FlowId) -> Result<Vec<ExecutionId>> {
    conn.prepare_cached(
        "SELECT id FROM executions WHERE flow_id = ?1 AND status IN ('Starting', 'Running') \
         ORDER BY id",
    )
    .and_then(|mut s| {
        s.query_map([flow.0], |r| r.get(0).map(ExecutionId))?
            .collect()
    })
    .map_err(failed("listing active executions"))
}

pub(super) fn history(
    conn: &Connection,
    id: ExecutionId,
    after: EventId,
    limit: usize,
) -> Result<Vec<HistoryEvent>> {
    // Event ids past i64::MAX cannot be stored, so "after" such an id there is nothing.
    let after = i64::try_from(after.0).unwrap_or(i64::MAX);
    conn.prepare_cached(
        "SELECT event_id, schedule_id, step, time, type, detail FROM history \
         WHERE execution_id = ?1 AND event_id > ?2 ORDER BY event_id LIMIT ?3",
    )
    .and_then(|mut s| {
        s.query_map(params![id.0, after, sql_limit(limit)], |row| {
            history_row(row, id)
        })?
        .collect()
    })
    .map_err(failed("reading history"))
}

fn history_row(row: &Row<'_>, execution: ExecutionId) -> rusqlite::Result<HistoryEvent> {
    let id = event_id_at(row, 0)?;
    let what = || format!("event {} of execution {execution}", id.0);
    let kind: String = row.get(4)?;
    Ok(HistoryEvent {
        schedule_id: row
            .get::<_, Option<i64>>(1)?
            .map(|_| event_id_at(row, 1))
            .transpose()?,
        step: row.get::<_, Option<String>>(2)?.map(StateName::new),
        time: row.get(3)?,
        // The engine's serde names of event types are the strings `as_str` writes.
        kind: serde_json::from_value(Value::String(kind.clone()))
            .map_err(|_| corrupt(4, format!("{}: unknown type {kind:?}", what())))?,
        detail: json_at(row, 5, || format!("{}: detail", what()))?,
        id,
    })
}

pub(super) fn due_timers(conn: &Connection, until: Millis, limit: usize) -> Result<Vec<TimerRow>> {
    conn.prepare_cached(
        "SELECT execution_id, op, fire_at FROM timers WHERE fire_at <= ?1 ORDER BY fire_at LIMIT ?2",
    )
    .and_then(|mut s| {
        s.query_map(params![until, sql_limit(limit)], |r| {
            Ok(TimerRow {
                execution: ExecutionId(r.get(0)?),
                op: op_at(r, 1)?,
                fire_at: r.get(2)?,
            })
        })?
        .collect()
    })
    .map_err(failed("reading due timers"))
}

pub(super) fn pending_tasks(conn: &Connection) -> Result<Vec<TaskRow>> {
    conn.prepare_cached("SELECT execution_id, op, call FROM tasks ORDER BY execution_id, op")
        .and_then(|mut s| {
            s.query_map([], |r| {
                let execution = ExecutionId(r.get(0)?);
                let op: i64 = r.get(1)?;
                Ok(TaskRow {
                    execution,
                    call: json_at::<CallSnapshot>(r, 2, || {
                        format!("task {op} of execution {execution}")
                    })?
                    .into(),
                })
            })?
            .collect()
        })
        .map_err(failed("reading pending tasks"))
}

/// How many timers are waiting (all of them this process's: one node).
pub(super) fn timer_count(conn: &Connection) -> Result<u64> {
    conn.prepare_cached("SELECT count(*) FROM timers")
        .and_then(|mut s| s.query_row([], |r| r.get::<_, i64>(0)))
        .map(|n| u64::try_from(n).unwrap_or_default())
        .map_err(failed("counting timers"))
}

pub(super) fn open_calls(
    conn: &Connection,
    calls: &[(ExecutionId, OpId)],
) -> Result<Vec<(ExecutionId, OpId)>> {
    let mut statement = conn
        .prepare_cached("SELECT 1 FROM tasks WHERE execution_id = ?1 AND op = ?2")
        .map_err(failed("reading task rows"))?;
    let mut open = Vec::new();
    for &(execution, op) in calls {
        let op_value = i64::try_from(op.0).unwrap_or(i64::MAX);
        if statement
            .exists(params![execution.0, op_value])
            .map_err(failed("reading task rows"))?
        {
            open.push((execution, op));
        }
    }
    Ok(open)
}

fn execution_row(row: &Row<'_>) -> rusqlite::Result<ExecutionRecord> {
    let id = ExecutionId(row.get(0)?);
    Ok(ExecutionRecord {
        id,
        tenant: TenantId(row.get(1)?),
        flow_id: FlowId(row.get(2)?),
        flow_name: FlowName(row.get(3)?),
        flow_revision: row.get(4)?,
        name: ExecutionName(row.get(5)?),
        state: json_at::<Snapshot>(row, 6, || format!("execution {id}: state"))?.into(),
        version: row.get(7)?,
        created_at: row.get(8)?,
    })
}
