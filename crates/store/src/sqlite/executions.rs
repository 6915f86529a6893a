//! Executions, their history, their counts, and the timer and task rows the runtime resumes
//! from.

use std::sync::LazyLock;

use rusqlite::{Connection, OptionalExtension, params};
use sluice_engine::{EventId, HistoryEvent, Millis, OpId};

use super::codec::{all, all_of, failed, inserting, one, sql_limit};
use crate::counts::{self, CountChange, Counted};
use crate::decode::{
    self, COUNTED_COLUMNS, CountedRow, EVENT_COLUMNS, EXECUTION_COLUMNS, TASK_COLUMNS,
    TIMER_COLUMNS,
};
pub(super) use crate::encode::{EncodedLinked, EncodedStep};
use crate::query::{self, Backend};
use crate::{
    CountsQuery, ExecutionCursor, ExecutionId, ExecutionName, ExecutionQuery, ExecutionRecord,
    ExecutionSummary, FlowId, MinuteCounts, NewExecution, Page, Purge, Result, StoreError, TaskRow,
    TimerRow,
};
use crate::{payloads, retention, rules};

/// One writer: no two transactions ever contend for a row of the counts.
const COUNT_SHARDS: i64 = 1;

/// Inserts the execution at version 1 (in the place of the run it reruns, which it replaces)
/// and writes its first step's rows and counts under the new id. A child execution (started
/// by the step of `parent`) keeps its root, the top-level execution it is purged with.
pub(super) fn create(
    conn: &Connection,
    new: &NewExecution,
    first: &EncodedStep,
    parent: Option<ExecutionId>,
) -> Result<ExecutionId> {
    ensure_open(conn, new)?;
    let listed_at = match new.reruns {
        Some(old) => replace(conn, new.flow_id, old)?,
        None => new.now,
    };
    conn.prepare_cached(
        "INSERT INTO executions (id, tenant, flow_id, flow_name, flow_revision, name, status, \
         started_at, stopped_at, error, cause, state, version, created_at, tag, listed_at, \
         map_run, run_version, run_alias, redrive_count, redriven_at, root_id, run_test_case) \
         SELECT MAX((SELECT COALESCE(MAX(id), 0) FROM executions), \
                    (SELECT last FROM executions_purged)) + 1, ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, 1, ?12, tag, ?13, ?14, \
         ?15, ?16, ?17, ?18, (SELECT COALESCE(p.root_id, p.id) FROM executions p WHERE p.id = ?19), \
         ?20 FROM flows WHERE id = ?2",
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
            first.error,
            first.cause,
            first.state,
            new.now,
            listed_at,
            new.map_run,
            new.started_as.version,
            new.started_as.alias,
            first.redrive_count,
            first.redriven_at,
            parent.map(|p| p.0),
            new.started_as.test_case
        ])
    })
    .map_err(inserting(&format!(
        "execution {} of flow {}",
        new.name, new.flow_name
    )))?;
    let id = ExecutionId(conn.last_insert_rowid());
    write_step_rows(conn, id, first)?;
    let changes = counts::changes(None, Some(first.counted));
    add_counts(conn, new.flow_id, id, &changes)
}

/// Refuses a start of a closed or deleted flow inside the creating transaction: the writer
/// runs one command at a time, so a start can never slip in behind the update that closed the
/// flow or the delete.
fn ensure_open(conn: &Connection, new: &NewExecution) -> Result<()> {
    let open: Option<bool> = conn
        .prepare_cached("SELECT open FROM flows WHERE id = ?1 AND deleted = 0")
        .and_then(|mut s| s.query_row(params![new.flow_id.0], |r| r.get(0)).optional())
        .map_err(failed("reading whether a flow is open"))?;
    rules::open_to_new(open, new)
}

/// Marks `old` replaced by a rerun and moves it out of the latest runs' counts; returns its
/// place in listings.
fn replace(conn: &Connection, flow: FlowId, old: ExecutionId) -> Result<i64> {
    let row = counted_row(conn, old)?
        .filter(|row| row.flow_id == flow)
        .ok_or_else(|| StoreError::NotFound(format!("execution {old} of flow {}", flow.0)))?;
    conn.prepare_cached("UPDATE executions SET superseded = 1 WHERE id = ?1")
        .and_then(|mut s| s.execute([old.0]))
        .map_err(failed("replacing a run"))?;
    let replaced = Counted {
        latest: false,
        ..row.counted
    };
    add_counts(
        conn,
        flow,
        old,
        &counts::changes(Some(row.counted), Some(replaced)),
    )
    .map(|_| row.listed_at)
}

fn counted_row(conn: &Connection, id: ExecutionId) -> Result<Option<CountedRow>> {
    let query = format!("SELECT {COUNTED_COLUMNS} FROM executions e WHERE e.id = ?1");
    one(
        conn,
        &query,
        [id.0],
        decode::counted,
        "reading an execution",
    )
}

/// Compare-and-set on the version, then the step's rows and counts. Any failure fails the
/// whole command (its savepoint is rolled back), so a conflict writes nothing.
pub(super) fn commit(
    conn: &Connection,
    id: ExecutionId,
    expected_version: i64,
    step: &EncodedStep,
) -> Result<()> {
    let before = counted_row(conn, id)?;
    let changed = conn
        .prepare_cached(
            "UPDATE executions SET state = ?1, status = ?2, started_at = ?3, stopped_at = ?4, \
             error = ?5, cause = ?6, redrive_count = ?9, redriven_at = ?10, \
             version = version + 1 WHERE id = ?7 AND version = ?8",
        )
        .and_then(|mut s| {
            s.execute(params![
                step.state,
                step.status,
                step.started_at,
                step.stopped_at,
                step.error,
                step.cause,
                id.0,
                expected_version,
                step.redrive_count,
                step.redriven_at
            ])
        })
        .map_err(failed("updating an execution"))?;
    let Some(before) = before.filter(|_| changed > 0) else {
        return Err(why_unchanged(conn, id, expected_version)?);
    };
    write_step_rows(conn, id, step)?;
    let after = Counted {
        latest: before.counted.latest,
        ..step.counted
    };
    let changes = counts::changes(Some(before.counted), Some(after));
    add_counts(conn, before.flow_id, id, &changes).map(drop)
}

/// The writes linked to a step of execution `of`, in the same command (so in the same
/// transaction).
pub(super) fn commit_linked(
    conn: &Connection,
    of: ExecutionId,
    linked: &[EncodedLinked],
) -> Result<()> {
    for write in linked {
        match write {
            EncodedLinked::Create(new, first) => drop(create(conn, new, first, Some(of))?),
            EncodedLinked::Step(id, expected, step) => commit(conn, *id, *expected, step)?,
        }
    }
    Ok(())
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

/// `counts::UPSERT` with SQLite's placeholders.
static UPSERT_COUNT: LazyLock<String> = LazyLock::new(|| counts::UPSERT.replace('$', "?"));

/// Applies count changes of execution `id`; returns `id`.
fn add_counts(
    conn: &Connection,
    flow: FlowId,
    id: ExecutionId,
    changes: &[CountChange],
) -> Result<ExecutionId> {
    if changes.is_empty() {
        return Ok(id);
    }
    let mut upsert = conn
        .prepare_cached(&UPSERT_COUNT)
        .map_err(failed("preparing a count"))?;
    for change in changes {
        upsert
            .execute(params![
                flow.0,
                change.minute,
                change.status,
                change.latest,
                id.0.rem_euclid(COUNT_SHARDS),
                change.executions,
                change.finished,
                change.duration_ms
            ])
            .map_err(failed("counting an execution"))?;
    }
    Ok(id)
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
        .prepare_cached(
            "INSERT OR REPLACE INTO tasks (execution_id, op, call, activity) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(failed("preparing a task insert"))?;
    for (op, call, activity) in &step.tasks_added {
        insert_task
            .execute(params![id.0, op, call, activity])
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
    let query = format!("SELECT {EXECUTION_COLUMNS} FROM executions e WHERE e.id = ?1");
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
    let query = format!(
        "SELECT {EXECUTION_COLUMNS} FROM executions e WHERE e.flow_id = ?1 AND e.name = ?2"
    );
    let args = params![flow.0, name.0];
    one(
        conn,
        &query,
        args,
        decode::execution,
        "reading an execution",
    )
}

pub(super) fn list(
    conn: &Connection,
    query: &ExecutionQuery,
    page: &Page<ExecutionCursor>,
) -> Result<Vec<ExecutionRecord>> {
    let sql = query::executions(query, page, Backend::Sqlite);
    all_of(conn, &sql, decode::execution, "listing executions")
}

pub(super) fn summaries(
    conn: &Connection,
    query: &ExecutionQuery,
    page: &Page<ExecutionCursor>,
) -> Result<Vec<ExecutionSummary>> {
    let sql = query::summaries(query, page, Backend::Sqlite);
    all_of(conn, &sql, decode::summary, "listing executions")
}

/// Adds up the counts' parts (see [`query::count_executions`]) in one read transaction, so
/// they are of one moment.
pub(super) fn count(conn: &Connection, query: &ExecutionQuery) -> Result<u64> {
    let tx = conn
        .unchecked_transaction()
        .map_err(failed("starting a read"))?;
    let mut total = 0_i64;
    for part in query::count_executions(query, Backend::Sqlite) {
        let counted = all_of(&tx, &part, decode::number, "counting executions")?;
        total += counted.into_iter().sum::<i64>();
    }
    tx.commit().map_err(failed("ending a read"))?;
    Ok(u64::try_from(total).unwrap_or_default())
}

pub(super) fn minute_counts(conn: &Connection, query: &CountsQuery) -> Result<Vec<MinuteCounts>> {
    let sql = query::minute_counts(query, Backend::Sqlite);
    let rows = all_of(
        conn,
        &sql,
        decode::minute_status,
        "reading execution counts",
    )?;
    Ok(decode::minutes(rows))
}

pub(super) fn active(conn: &Connection, flow: FlowId) -> Result<Vec<ExecutionId>> {
    conn.prepare_cached(
        "SELECT id FROM executions WHERE flow_id = ?1 AND status IN ('Starting', 'Running') \
         AND map_run IS NULL \
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
    page: &Page<EventId>,
) -> Result<Vec<HistoryEvent>> {
    let query = format!(
        "SELECT {EVENT_COLUMNS} FROM history WHERE execution_id = ?1 AND event_id > ?2 \
         ORDER BY event_id LIMIT ?3 OFFSET ?4"
    );
    let after = decode::event_after(page);
    let args = params![id.0, after, sql_limit(page.limit), sql_limit(page.skip)];
    let mut events = all(
        conn,
        &query,
        args,
        |row| decode::event(row, id),
        "reading history",
    )?;
    if payloads::left_out(&events)
        && let Some(execution) = get(conn, id)?
    {
        payloads::restore(&mut events, &execution.state);
    }
    Ok(events)
}

/// Pages freed by a purge that go back to the file system at once (the rest at the next
/// purge): bounds the time a batch holds the writer.
const VACUUM_PAGES: i64 = 2_000;

/// One batch of a purge (see `retention.rs`), then the pages it freed handed back.
pub(super) fn purge(conn: &Connection, purge: &Purge) -> Result<usize> {
    let statements = &*retention::SQLITE;
    let id = |row: &dyn crate::decode::Columns| decode::int(row, 0);
    let mut roots = Vec::new();
    for (dialect, cutoff) in &purge.cutoffs {
        let room = sql_limit(purge.limit.saturating_sub(roots.len()));
        let args = params![cutoff, dialect.as_str(), room];
        roots.extend(all(
            conn,
            &statements.roots,
            args,
            id,
            "finding expired executions",
        )?);
    }
    if roots.is_empty() {
        return Ok(0);
    }
    let listed = retention::id_list(&roots);
    let args = params![listed, sql_limit(purge.limit)];
    let children = all(conn, &statements.children, args, id, "finding children")?;
    let [children, roots] = retention::batch(roots, children, purge.limit);
    let mut deleted = Vec::new();
    for (delete, ids) in [
        (&statements.delete_executions, children),
        (&statements.delete_roots, roots),
    ] {
        let ids = retention::id_list(&ids);
        let args = [&ids];
        deleted.extend(all(
            conn,
            delete,
            args,
            retention::deleted,
            "purging executions",
        )?);
    }
    let gone: Vec<i64> = deleted.iter().map(|d| d.id.0).collect();
    let listed = retention::id_list(&gone);
    for rows in &statements.delete_rows {
        conn.prepare_cached(rows)
            .and_then(|mut s| s.execute([&listed]))
            .map_err(failed("purging history"))?;
    }
    conn.prepare_cached("UPDATE executions_purged SET last = MAX(last, ?1)")
        .and_then(|mut s| s.execute([gone.iter().max().copied().unwrap_or(0)]))
        .map_err(failed("keeping the largest id purged"))?;
    for (flow, change) in retention::uncounted(&deleted) {
        add_counts(conn, flow, ExecutionId(0), std::slice::from_ref(&change))?;
        conn.prepare_cached(&statements.drop_empty_count)
            .and_then(|mut s| {
                s.execute(params![flow.0, change.minute, change.status, change.latest])
            })
            .map_err(failed("dropping empty counts"))?;
    }
    conn.execute_batch(&format!("PRAGMA incremental_vacuum({VACUUM_PAGES})"))
        .map_err(failed("handing back free pages"))?;
    Ok(deleted.len())
}

pub(super) fn due_timers(conn: &Connection, until: Millis, limit: usize) -> Result<Vec<TimerRow>> {
    let query =
        format!("SELECT {TIMER_COLUMNS} FROM timers WHERE fire_at <= ?1 ORDER BY fire_at LIMIT ?2");
    let args = params![until, sql_limit(limit)];
    all(conn, &query, args, decode::timer, "reading due timers")
}

pub(super) fn pending_tasks(conn: &Connection) -> Result<Vec<TaskRow>> {
    let query = format!("SELECT {TASK_COLUMNS} FROM tasks ORDER BY execution_id, op");
    all(conn, &query, [], decode::task, "reading pending tasks")
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
