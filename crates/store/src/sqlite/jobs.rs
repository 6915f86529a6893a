//! Background jobs.

use rusqlite::{Connection, OptionalExtension, params};

use super::codec::{all, failed, inserting, one, sql_limit, to_json};
use crate::decode::{self, JOB_COLUMNS as COLUMNS};
use crate::query::{self, Backend};
use crate::rules::{self, found};
use crate::{JobCursor, JobId, JobRecord, Page, Result, TenantId};

pub(super) fn create(conn: &Connection, job: &JobRecord) -> Result<()> {
    let filter = to_json(&job.filter, "a job filter")?;
    conn.prepare_cached(&format!(
        "INSERT INTO jobs ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
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
            job.finished_at
        ])
    })
    .map_err(inserting(&format!("job {}", job.id)))?;
    Ok(())
}

/// See [`crate::JobStore::create_flow_job`]: the writer thread runs one write at a time, so
/// the checks and the insert are one atomic step.
pub(super) fn create_moving_flow(
    conn: &Connection,
    job: &JobRecord,
    open: Option<bool>,
) -> Result<()> {
    let flow_open: Option<bool> = conn
        .prepare_cached("SELECT open FROM flows WHERE id = ?1 AND deleted = 0")
        .and_then(|mut s| s.query_row([job.flow_id.0], |r| r.get(0)).optional())
        .map_err(failed("reading whether a flow is open"))?;
    let busy = conn
        .prepare_cached(&query::busy_flow(Backend::Sqlite))
        .and_then(|mut s| s.exists([job.flow_id.0]))
        .map_err(failed("looking for a job moving a flow"))?;
    rules::flow_job_allowed(job, flow_open, open, busy)?;
    create(conn, job)
}

pub(super) fn update(conn: &Connection, job: &JobRecord) -> Result<()> {
    let changed = conn
        .prepare_cached(
            "UPDATE jobs SET status = ?2, total = ?3, done = ?4, failure = ?5, finished_at = ?6 \
             WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                job.id.0,
                job.status.as_str(),
                job.total,
                job.done,
                job.failure,
                job.finished_at
            ])
        })
        .map_err(failed("updating a job"))?;
    found(changed as u64, || format!("job {}", job.id))
}

pub(super) fn get(conn: &Connection, tenant: &TenantId, id: &JobId) -> Result<Option<JobRecord>> {
    one(
        conn,
        &format!("SELECT {COLUMNS} FROM jobs WHERE id = ?1 AND tenant = ?2"),
        params![id.0, tenant.0],
        decode::job,
        "reading a job",
    )
}

pub(super) fn list(
    conn: &Connection,
    tenant: &TenantId,
    page: &Page<JobCursor>,
) -> Result<Vec<JobRecord>> {
    let query = format!(
        "SELECT {COLUMNS} FROM jobs WHERE tenant = ?1 AND (created_at, id) < (?2, ?3) \
         ORDER BY created_at DESC, id DESC LIMIT ?4 OFFSET ?5"
    );
    let (created_at, id) = decode::job_after(page);
    let args = params![
        tenant.0,
        created_at,
        id,
        sql_limit(page.limit),
        sql_limit(page.skip)
    ];
    all(conn, &query, args, decode::job, "listing jobs")
}

pub(super) fn unfinished(conn: &Connection) -> Result<Vec<JobRecord>> {
    all(
        conn,
        &format!(
            "SELECT {COLUMNS} FROM jobs WHERE status IN ('Pending', 'Running') ORDER BY created_at"
        ),
        [],
        decode::job,
        "listing unfinished jobs",
    )
}
