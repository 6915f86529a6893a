//! Background jobs.

use rusqlite::{Connection, OptionalExtension, Row, params};

use super::codec::{corrupt, failed, inserting, json_at, sql_limit, to_json};
use crate::{FlowId, FlowName, JobId, JobKind, JobRecord, JobStatus, Result, StoreError, TenantId};

const COLUMNS: &str = "id, tenant, kind, flow_id, flow_name, filter, status, total, done, \
     failure, created_at, finished_at, already_completed, failed";

pub(super) fn create(conn: &Connection, job: &JobRecord) -> Result<()> {
    let filter = to_json(&job.filter, "a job filter")?;
    conn.prepare_cached(&format!(
        "INSERT INTO jobs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
    ))
    .and_then(|mut s| {
        s.execute(params![
            job.id.0,
            job.tenant.0,
            job.kind.as_str(),
            job.flow_id.0,
            job.flow_name.0,
            filter,
            job.status.as_str(),
            job.total,
            job.done,
            job.failure,
            job.created_at,
            job.finished_at,
            job.already_completed,
            job.failed
        ])
    })
    .map_err(inserting(&format!("job {}", job.id)))?;
    Ok(())
}

/// See [`crate::Store::create_flow_job`]: the writer thread runs one write at a time, so the
/// checks and the insert are one atomic step.
pub(super) fn create_flow_job(
    conn: &Connection,
    job: &JobRecord,
    open: Option<bool>,
) -> Result<()> {
    let flow_open: bool = conn
        .prepare_cached("SELECT open FROM flows WHERE id = ?1 AND NOT deleted")
        .and_then(|mut s| s.query_row([job.flow_id.0], |r| r.get(0)).optional())
        .map_err(failed("reading whether a flow is open"))?
        .ok_or_else(|| StoreError::NotFound(format!("flow {}", job.flow_name)))?;
    if open.is_some_and(|wanted| wanted != flow_open) {
        return Err(StoreError::Conflict(format!(
            "flow {} is {}",
            job.flow_name,
            if flow_open { "open" } else { "closed" }
        )));
    }
    let moving = JobKind::moving_flow();
    let placeholders = vec!["?"; moving.len()].join(", ");
    let busy = conn
        .prepare_cached(&format!(
            "SELECT 1 FROM jobs WHERE flow_id = ? AND status IN ('Pending', 'Running') \
             AND kind IN ({placeholders})"
        ))
        .and_then(|mut s| {
            let flow = rusqlite::types::Value::Integer(job.flow_id.0);
            let kinds = moving
                .iter()
                .map(|k| rusqlite::types::Value::Text(k.to_string()));
            s.exists(rusqlite::params_from_iter(
                std::iter::once(flow).chain(kinds),
            ))
        })
        .map_err(failed("looking for a job moving a flow"))?;
    if busy {
        return Err(StoreError::Conflict(format!(
            "flow {} is being moved by another job",
            job.flow_name
        )));
    }
    create(conn, job)
}

pub(super) fn update(conn: &Connection, job: &JobRecord) -> Result<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE jobs SET status = ?2, total = ?3, done = ?4, failure = ?5, finished_at = ?6, \
             already_completed = ?7, failed = ?8 WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                job.id.0,
                job.status.as_str(),
                job.total,
                job.done,
                job.failure,
                job.finished_at,
                job.already_completed,
                job.failed
            ])
        })
        .map_err(failed("updating a job"))?;
    if changed == 0 {
        return Err(StoreError::NotFound(format!("job {}", job.id)));
    }
    Ok(())
}

pub(super) fn get(conn: &Connection, tenant: &TenantId, id: &JobId) -> Result<Option<JobRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE id = ?1 AND tenant = ?2"
    ))
    .and_then(|mut s| s.query_row(params![id.0, tenant.0], job_row).optional())
    .map_err(failed("reading a job"))
}

pub(super) fn list(
    conn: &Connection,
    tenant: &TenantId,
    offset: usize,
    limit: usize,
) -> Result<Vec<JobRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE tenant = ?1 \
         ORDER BY created_at DESC, id DESC LIMIT ?2 OFFSET ?3"
    ))
    .and_then(|mut s| {
        s.query_map(
            params![tenant.0, sql_limit(limit), sql_limit(offset)],
            job_row,
        )?
        .collect()
    })
    .map_err(failed("listing jobs"))
}

pub(super) fn unfinished(conn: &Connection) -> Result<Vec<JobRecord>> {
    conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM jobs WHERE status IN ('Pending', 'Running') ORDER BY created_at"
    ))
    .and_then(|mut s| s.query_map([], job_row)?.collect())
    .map_err(failed("listing unfinished jobs"))
}

fn job_row(row: &Row<'_>) -> rusqlite::Result<JobRecord> {
    let id = JobId(row.get(0)?);
    let kind: String = row.get(2)?;
    let status: String = row.get(6)?;
    Ok(JobRecord {
        kind: JobKind::parse(&kind)
            .ok_or_else(|| corrupt(2, format!("job {id} has an unknown kind {kind:?}")))?,
        status: JobStatus::parse(&status)
            .ok_or_else(|| corrupt(6, format!("job {id} has an unknown status {status:?}")))?,
        tenant: TenantId(row.get(1)?),
        flow_id: FlowId(row.get(3)?),
        flow_name: FlowName(row.get(4)?),
        filter: json_at(row, 5, || format!("the filter of job {id}"))?,
        total: row.get(7)?,
        done: row.get(8)?,
        failure: row.get(9)?,
        created_at: row.get(10)?,
        finished_at: row.get(11)?,
        already_completed: row.get(12)?,
        failed: row.get(13)?,
        id,
    })
}
