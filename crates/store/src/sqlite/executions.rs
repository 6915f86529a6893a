//! Executions, their history, and the timer and task rows the runtime resumes from.

use rusqlite::{Connection, OptionalExtension, params};
use sluice_engine::{EventId, HistoryEvent, Millis};

use super::codec::{all, all_of, failed, inserting, one, sql_limit};
use crate::decode::{self, EVENT_COLUMNS, EXECUTION_COLUMNS, TASK_COLUMNS, TIMER_COLUMNS};
pub(super) use crate::encode::EncodedStep;
use crate::query::{self, Placeholders};
use crate::rules;
use crate::{
    ExecutionFilter, ExecutionId, ExecutionName, ExecutionRecord, FlowId, NewExecution, Result,
    StoreError, TaskRow, TimerRow,
};

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

/// Refuses a start of a closed flow inside the creating transaction: the writer runs one
/// command at a time, so a start can never slip in behind the update that closed the flow.
fn ensure_open(conn: &Connection, new: &NewExecution) -> Result<()> {
    let open: Option<bool> = conn
        .prepare_cached("SELECT open FROM flows WHERE id = ?1")
        .and_then(|mut s| s.query_row(params![new.flow_id.0], |r| r.get(0)).optional())
        .map_err(failed("reading whether a flow is open"))?;
    rules::open_to_new(open, new)
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
    Ok(rules::step_refused(id, expected_version, version))
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
    let query = format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = ?1");
    one(
        conn,
        &query,
        [id.0],
        decode::execution,
        "reading an execution",
    )
}

pub(super) fn find(
    conn: &Connection,
    flow: FlowId,
    name: &ExecutionName,
) -> Result<Option<ExecutionRecord>> {
    let query =
        format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE flow_id = ?1 AND name = ?2");
    one(
        conn,
        &query,
        params![flow.0, name.0],
        decode::execution,
        "reading an execution",
    )
}

pub(super) fn list(
    conn: &Connection,
    flow: FlowId,
    filter: &ExecutionFilter,
    after: Option<&ExecutionName>,
    limit: usize,
) -> Result<Vec<ExecutionRecord>> {
    let sql = query::executions_by_name(
        EXECUTION_COLUMNS,
        flow,
        filter,
        after,
        limit,
        Placeholders::Anonymous,
    );
    all_of(conn, &sql, decode::execution, "listing executions")
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
    let query = format!(
        "SELECT {EVENT_COLUMNS} FROM history WHERE execution_id = ?1 AND event_id > ?2 \
         ORDER BY event_id LIMIT ?3"
    );
    all(
        conn,
        &query,
        params![id.0, after, sql_limit(limit)],
        |row| decode::event(row, id),
        "reading history",
    )
}

pub(super) fn due_timers(conn: &Connection, until: Millis, limit: usize) -> Result<Vec<TimerRow>> {
    let query =
        format!("SELECT {TIMER_COLUMNS} FROM timers WHERE fire_at <= ?1 ORDER BY fire_at LIMIT ?2");
    all(
        conn,
        &query,
        params![until, sql_limit(limit)],
        decode::timer,
        "reading due timers",
    )
}

pub(super) fn pending_tasks(conn: &Connection) -> Result<Vec<TaskRow>> {
    let query = format!("SELECT {TASK_COLUMNS} FROM tasks ORDER BY execution_id, op");
    all(conn, &query, [], decode::task, "reading pending tasks")
}
