//! Background jobs.

use rusqlite::{Connection, OptionalExtension, params};

use super::codec::{all, execute_of, failed, inserting, one, sql_limit};
use crate::decode::{self, JOB_COLUMNS as COLUMNS};
use crate::query::{self, Backend};
use crate::rules::{self, found};
use crate::{JobCursor, JobId, JobRecord, Page, Result, TenantId};

pub(super) fn create(conn: &Connection, job: &JobRecord) -> Result<()> {
    let sql = query::insert_job(job, None, Backend::Sqlite)?;
    execute_of(conn, &sql).map_err(inserting(&format!("job {}", job.id)))?;
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
    let changed = execute_of(conn, &query::update_job(job, Backend::Sqlite))
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
