//! What every backend reads the same way: the columns each record is selected with, and the
//! one decoder per record. A backend only says how to read a column of its rows ([`Columns`]);
//! a value the code cannot interpret is an error naming the row, never a panic.

use serde::de::DeserializeOwned;
use serde_json::Value;
use sluice_engine::{CallSnapshot, EventId, HistoryEvent, OpId, Redrives, Snapshot, Status};
use sluice_ir::{Dialect, StateName, TaskError};

use crate::counts::{Counted, MINUTE_MS};
use crate::encode::backend;
use crate::{
    ActivityRecord, AliasRecord, ExecutionId, ExecutionMode, ExecutionName, ExecutionRecord,
    ExecutionSummary, FlowDefinition, FlowId, FlowName, FlowRecord, JobCursor, JobId, JobKind,
    JobRecord, JobStatus, MinuteCounts, Page, Result, ScheduleRecord, StartedAs, TaskRow, TenantId,
    TimerRow, VersionRecord,
};

/// Of `flows f` ([`FLOW_FROM`]), with the definition of its current revision.
///
/// The definition is a subquery, not a join: SQLite recompiles a cached statement joining
/// `flow_revisions` to the partial index of live names each time it runs (the lookup of a
/// flow by name, on every request, cost 18% of the server's CPU in re-preparing it).
pub(crate) const FLOW_COLUMNS: &str = "f.id, f.tenant, f.name, f.description, f.dialect, \
     f.role_arn, f.mode, f.attributes, f.revision, f.open, f.created_at, f.modified_at, \
     (SELECT r.definition FROM flow_revisions r WHERE r.flow_id = f.id AND r.revision = f.revision), \
     f.tag";
/// Where [`FLOW_COLUMNS`] are read from.
pub(crate) const FLOW_FROM: &str = "flows f";
/// Of `executions e`.
pub(crate) const EXECUTION_COLUMNS: &str = "e.id, e.tenant, e.flow_id, e.flow_name, \
     e.flow_revision, e.name, e.state, e.version, e.created_at, e.run_version, e.run_alias, \
     e.run_test_case";
/// Of `executions e`: what listings show, no engine state.
pub(crate) const SUMMARY_COLUMNS: &str = "e.id, e.flow_id, e.flow_name, e.flow_revision, \
     e.name, e.status, e.started_at, e.stopped_at, e.error, e.cause, e.created_at, e.listed_at, \
     e.run_version, e.run_alias, e.redrive_count, e.redriven_at, e.run_test_case";
/// Of `executions e`: what the counts follow, and where it is counted and listed.
pub(crate) const COUNTED_COLUMNS: &str =
    "e.status, e.started_at, e.stopped_at, e.superseded, e.flow_id, e.listed_at";
pub(crate) const EVENT_COLUMNS: &str = "event_id, schedule_id, step, time, type, detail";
pub(crate) const TIMER_COLUMNS: &str = "execution_id, op, fire_at";
pub(crate) const TASK_COLUMNS: &str = "execution_id, op, call";
pub(crate) const VERSION_COLUMNS: &str = "flow_id, version, revision, description, created_at";
pub(crate) const ALIAS_COLUMNS: &str =
    "flow_id, name, description, routing, created_at, modified_at";
pub(crate) const SCHEDULE_COLUMNS: &str = "id, tenant, flow_id, flow_name, name, cron, payload, \
     description, enabled, next_fire_at, created_at, modified_at";
pub(crate) const JOB_COLUMNS: &str = "id, tenant, kind, flow_id, flow_name, filter, status, \
     total, done, failure, created_at, finished_at, already_completed, failed";

/// A value as a backend reads it (a boolean is an integer, 0 or 1).
#[derive(Debug)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    Text(String),
}

/// One row of a result, as a backend reads its columns by position.
pub(crate) trait Columns {
    fn cell(&self, index: usize) -> Result<Cell>;
}

fn int_opt(row: &dyn Columns, index: usize) -> Result<Option<i64>> {
    match row.cell(index)? {
        Cell::Null => Ok(None),
        Cell::Int(value) => Ok(Some(value)),
        Cell::Text(_) => Err(backend(format!("column {index} holds text, not a number"))),
    }
}

pub(crate) fn int(row: &dyn Columns, index: usize) -> Result<i64> {
    int_opt(row, index)?.ok_or_else(|| backend(format!("column {index} is null")))
}

fn flag(row: &dyn Columns, index: usize) -> Result<bool> {
    int(row, index).map(|value| value != 0)
}

fn text_opt(row: &dyn Columns, index: usize) -> Result<Option<String>> {
    match row.cell(index)? {
        Cell::Null => Ok(None),
        Cell::Text(value) => Ok(Some(value)),
        Cell::Int(_) => Err(backend(format!("column {index} holds a number, not text"))),
    }
}

fn text(row: &dyn Columns, index: usize) -> Result<String> {
    text_opt(row, index)?.ok_or_else(|| backend(format!("column {index} is null")))
}

/// The JSON column `index`; `record` names the row in the error.
fn json<T: DeserializeOwned>(
    row: &dyn Columns,
    index: usize,
    record: impl FnOnce() -> String,
) -> Result<T> {
    let text = text(row, index)?;
    serde_json::from_str(&text).map_err(|e| backend(format!("{} is corrupt: {e}", record())))
}

fn unsigned(row: &dyn Columns, index: usize, what: &str) -> Result<u64> {
    let value = int(row, index)?;
    u64::try_from(value).map_err(|_| backend(format!("negative {what} {value}")))
}

/// Columns [`FLOW_COLUMNS`].
pub(crate) fn flow(row: &dyn Columns) -> Result<FlowRecord> {
    let id = int(row, 0)?;
    let mode = text(row, 6)?;
    Ok(FlowRecord {
        id: FlowId(id),
        tenant: TenantId(text(row, 1)?),
        name: FlowName(text(row, 2)?),
        description: text(row, 3)?,
        dialect: dialect(&text(row, 4)?, FlowId(id))?,
        role_arn: text_opt(row, 5)?,
        mode: ExecutionMode::parse(&mode)
            .ok_or_else(|| backend(format!("flow {id} has an unknown mode {mode:?}")))?,
        attributes: json(row, 7, || format!("flow {id}: attributes"))?,
        revision: int(row, 8)?,
        open: flag(row, 9)?,
        created_at: int(row, 10)?,
        modified_at: int(row, 11)?,
        definition: text(row, 12)?,
        tag: text_opt(row, 13)?,
    })
}

/// A flow's dialect as `Dialect::as_str` writes it.
fn dialect(name: &str, flow: FlowId) -> Result<Dialect> {
    Dialect::parse(name)
        .ok_or_else(|| backend(format!("flow {} has an unknown dialect {name:?}", flow.0)))
}

/// Columns `f.dialect, r.definition` of a flow's revision.
pub(crate) fn definition(row: &dyn Columns, flow: FlowId) -> Result<FlowDefinition> {
    Ok(FlowDefinition {
        dialect: dialect(&text(row, 0)?, flow)?,
        text: text(row, 1)?,
    })
}

/// Columns [`EXECUTION_COLUMNS`].
pub(crate) fn execution(row: &dyn Columns) -> Result<ExecutionRecord> {
    let id = ExecutionId(int(row, 0)?);
    Ok(ExecutionRecord {
        id,
        tenant: TenantId(text(row, 1)?),
        flow_id: FlowId(int(row, 2)?),
        flow_name: FlowName(text(row, 3)?),
        flow_revision: int(row, 4)?,
        name: ExecutionName(text(row, 5)?),
        state: json::<Snapshot>(row, 6, || format!("execution {id}: state"))?.into(),
        version: int(row, 7)?,
        created_at: int(row, 8)?,
        started_as: started_as(row, 9, 11)?,
    })
}

/// Columns [`SUMMARY_COLUMNS`].
pub(crate) fn summary(row: &dyn Columns) -> Result<ExecutionSummary> {
    let id = ExecutionId(int(row, 0)?);
    let error = match (text_opt(row, 8)?, text_opt(row, 9)?) {
        (Some(code), cause) => Some(TaskError::new(code, cause.unwrap_or_default())),
        (None, _) => None,
    };
    Ok(ExecutionSummary {
        id,
        flow_id: FlowId(int(row, 1)?),
        flow_name: FlowName(text(row, 2)?),
        flow_revision: int(row, 3)?,
        name: ExecutionName(text(row, 4)?),
        status: status(&text(row, 5)?, || format!("execution {id}"))?,
        started_at: int_opt(row, 6)?,
        stopped_at: int_opt(row, 7)?,
        error,
        created_at: int(row, 10)?,
        listed_at: int(row, 11)?,
        started_as: started_as(row, 12, 16)?,
        redrives: Redrives {
            count: u32::try_from(int(row, 14)?)
                .map_err(|_| backend(format!("execution {id}: redrive count out of range")))?,
            last_at: int_opt(row, 15)?,
        },
    })
}

/// Columns `run_version, run_alias` from `index` on, and `run_test_case` at `test_case`.
fn started_as(row: &dyn Columns, index: usize, test_case: usize) -> Result<StartedAs> {
    Ok(StartedAs {
        version: int_opt(row, index)?,
        alias: text_opt(row, index + 1)?,
        test_case: text_opt(row, test_case)?,
    })
}

/// An execution as the counts see it (columns [`COUNTED_COLUMNS`]).
pub(crate) struct CountedRow {
    pub counted: Counted,
    pub flow_id: FlowId,
    pub listed_at: i64,
}

pub(crate) fn counted(row: &dyn Columns) -> Result<CountedRow> {
    let flow_id = FlowId(int(row, 4)?);
    Ok(CountedRow {
        counted: Counted {
            status: status(&text(row, 0)?, || {
                format!("an execution of flow {}", flow_id.0)
            })?,
            started_at: int_opt(row, 1)?,
            stopped_at: int_opt(row, 2)?,
            latest: !flag(row, 3)?,
        },
        flow_id,
        listed_at: int(row, 5)?,
    })
}

/// A lone number (a count).
pub(crate) fn number(row: &dyn Columns) -> Result<i64> {
    int(row, 0)
}

/// A row of [`crate::query::minute_counts`].
pub(crate) struct MinuteStatus {
    minute: i64,
    status: Status,
    executions: i64,
    finished: i64,
    duration_ms: i64,
}

pub(crate) fn minute_status(row: &dyn Columns) -> Result<MinuteStatus> {
    let minute = int(row, 0)?;
    Ok(MinuteStatus {
        minute,
        status: status(&text(row, 1)?, || format!("the counts of minute {minute}"))?,
        executions: int(row, 2)?,
        finished: int(row, 3)?,
        duration_ms: int(row, 4)?,
    })
}

/// The counts of each minute from its rows per status (in minute order).
pub(crate) fn minutes(rows: Vec<MinuteStatus>) -> Vec<MinuteCounts> {
    let mut minutes: Vec<MinuteCounts> = Vec::new();
    for row in rows {
        let start = row.minute.saturating_mul(MINUTE_MS);
        if minutes.last().is_none_or(|m| m.minute != start) {
            minutes.push(MinuteCounts {
                minute: start,
                ..Default::default()
            });
        }
        let Some(minute) = minutes.last_mut() else {
            continue;
        };
        let executions = u64::try_from(row.executions).unwrap_or_default();
        minute.started += executions;
        match row.status {
            Status::Failed | Status::TimedOut => minute.failed += executions,
            status if !status.is_terminal() => minute.running += executions,
            _ => {}
        }
        minute.finished += u64::try_from(row.finished).unwrap_or_default();
        minute.duration_ms += row.duration_ms;
    }
    minutes
}

/// A history page's `after` as an event id column value (past i64::MAX nothing is stored,
/// so after such an id there is nothing).
pub(crate) fn event_after(page: &Page<EventId>) -> i64 {
    page.after
        .map_or(0, |id| i64::try_from(id.0).unwrap_or(i64::MAX))
}

/// A job page's `after` as the key columns `(created_at, id)`; without one, past them all
/// (no job is created at the end of time).
pub(crate) fn job_after(page: &Page<JobCursor>) -> (i64, String) {
    match &page.after {
        Some(after) => (after.created_at, after.id.0.clone()),
        None => (i64::MAX, String::new()),
    }
}

/// A status as `Status::as_str` writes it.
pub(crate) fn status(text: &str, record: impl FnOnce() -> String) -> Result<Status> {
    serde_json::from_value(Value::String(text.to_string()))
        .map_err(|_| backend(format!("{} has an unknown status {text:?}", record())))
}

/// Columns [`EVENT_COLUMNS`] of a history row of `execution`.
pub(crate) fn event(row: &dyn Columns, execution: ExecutionId) -> Result<HistoryEvent> {
    let id = EventId(unsigned(row, 0, "event id")?);
    let what = || format!("event {} of execution {execution}", id.0);
    let kind = text(row, 4)?;
    Ok(HistoryEvent {
        schedule_id: match int_opt(row, 1)? {
            Some(_) => Some(EventId(unsigned(row, 1, "schedule id")?)),
            None => None,
        },
        step: text_opt(row, 2)?.map(StateName::new),
        time: int(row, 3)?,
        // The engine's serde names of event types are the strings `as_str` writes.
        kind: serde_json::from_value(Value::String(kind.clone()))
            .map_err(|_| backend(format!("{}: unknown type {kind:?}", what())))?,
        detail: json(row, 5, || format!("{}: detail", what()))?,
        id,
    })
}

/// Columns [`TIMER_COLUMNS`].
pub(crate) fn timer(row: &dyn Columns) -> Result<TimerRow> {
    Ok(TimerRow {
        execution: ExecutionId(int(row, 0)?),
        op: OpId(unsigned(row, 1, "op id")?),
        fire_at: int(row, 2)?,
    })
}

/// Columns of an activity, in the order [`activity`] reads them.
pub(crate) const ACTIVITY_COLUMNS: &str = "tenant, name, created_at, tags";

/// Columns [`ACTIVITY_COLUMNS`].
pub(crate) fn activity(row: &dyn Columns) -> Result<ActivityRecord> {
    let name = text(row, 1)?;
    Ok(ActivityRecord {
        tenant: TenantId(text(row, 0)?),
        created_at: int(row, 2)?,
        tags: json(row, 3, || format!("the tags of activity {name}"))?,
        name,
    })
}

/// Columns [`TASK_COLUMNS`].
pub(crate) fn task(row: &dyn Columns) -> Result<TaskRow> {
    let execution = ExecutionId(int(row, 0)?);
    let op = int(row, 1)?;
    Ok(TaskRow {
        execution,
        call: json::<CallSnapshot>(row, 2, || format!("task {op} of execution {execution}"))?
            .into(),
    })
}

/// Columns [`VERSION_COLUMNS`].
pub(crate) fn version(row: &dyn Columns) -> Result<VersionRecord> {
    Ok(VersionRecord {
        flow_id: FlowId(int(row, 0)?),
        version: int(row, 1)?,
        revision: int(row, 2)?,
        description: text(row, 3)?,
        created_at: int(row, 4)?,
    })
}

/// Columns [`ALIAS_COLUMNS`].
pub(crate) fn alias(row: &dyn Columns) -> Result<AliasRecord> {
    let flow_id = FlowId(int(row, 0)?);
    let name = text(row, 1)?;
    Ok(AliasRecord {
        routing: json(row, 3, || {
            format!("alias {name} of flow {}: routing", flow_id.0)
        })?,
        flow_id,
        name,
        description: text(row, 2)?,
        created_at: int(row, 4)?,
        modified_at: int(row, 5)?,
    })
}

/// Columns [`SCHEDULE_COLUMNS`].
pub(crate) fn schedule(row: &dyn Columns) -> Result<ScheduleRecord> {
    Ok(ScheduleRecord {
        id: int(row, 0)?,
        tenant: TenantId(text(row, 1)?),
        flow_id: FlowId(int(row, 2)?),
        flow_name: FlowName(text(row, 3)?),
        name: text(row, 4)?,
        cron: text(row, 5)?,
        payload: text(row, 6)?,
        description: text(row, 7)?,
        enabled: flag(row, 8)?,
        next_fire_at: int_opt(row, 9)?,
        created_at: int(row, 10)?,
        modified_at: int(row, 11)?,
    })
}

/// Columns [`JOB_COLUMNS`].
pub(crate) fn job(row: &dyn Columns) -> Result<JobRecord> {
    let id = JobId(text(row, 0)?);
    let kind = text(row, 2)?;
    let status = text(row, 6)?;
    Ok(JobRecord {
        kind: JobKind::parse(&kind)
            .ok_or_else(|| backend(format!("job {id} has an unknown kind {kind:?}")))?,
        status: JobStatus::parse(&status)
            .ok_or_else(|| backend(format!("job {id} has an unknown status {status:?}")))?,
        tenant: TenantId(text(row, 1)?),
        flow_id: FlowId(int(row, 3)?),
        flow_name: FlowName(text(row, 4)?),
        filter: json(row, 5, || format!("the filter of job {id}"))?,
        total: int(row, 7)?,
        done: int(row, 8)?,
        failure: text_opt(row, 9)?,
        created_at: int(row, 10)?,
        finished_at: int_opt(row, 11)?,
        already_completed: int(row, 12)?,
        failed: int(row, 13)?,
        id,
    })
}
