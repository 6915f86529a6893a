//! Background jobs; each belongs to the node that created it (see `nodes.rs`).

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;

use super::codec::{Client, all, execute, failed, inserting, one, sql_limit, to_json, transaction};
use crate::decode::{self, JOB_COLUMNS};
use crate::query::{self, Backend};
use crate::rules::{self, found};
use crate::{JobCursor, JobId, JobRecord, Page, Result, TenantId};

pub(super) async fn create<C: GenericClient>(
    client: &C,
    owner: &str,
    job: &JobRecord,
) -> Result<()> {
    let filter = to_json(&job.filter, "a job filter")?;
    client
        .execute(
            &format!(
                "INSERT INTO jobs ({JOB_COLUMNS}, owner) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            &[
                &job.id.0,
                &job.tenant.0,
                &job.kind.as_str(),
                &job.flow_id.0,
                &job.flow_name.0,
                &filter,
                &job.status.as_str(),
                &job.total,
                &job.done,
                &job.failure,
                &job.created_at,
                &job.finished_at,
                &owner,
            ],
        )
        .await
        .map_err(inserting(&format!("job {}", job.id)))?;
    Ok(())
}

/// See [`crate::JobStore::create_flow_job`]. Locks the flow row `FOR UPDATE` first:
/// concurrent requests to move one flow queue on it, and each, once it holds the lock, sees
/// the jobs the ones before it inserted.
pub(super) async fn create_moving_flow(
    client: &mut Client,
    owner: &str,
    job: &JobRecord,
    open: Option<bool>,
) -> Result<()> {
    let tx = transaction(client).await?;
    let flow_open: Option<bool> = tx
        .query_opt(
            "SELECT open FROM flows WHERE id = $1 AND NOT deleted FOR UPDATE",
            &[&job.flow_id.0],
        )
        .await
        .map_err(failed("locking a flow"))?
        .map(|row| row.get(0));
    let busy = tx
        .query_opt(&query::busy_flow(Backend::Postgres), &[&job.flow_id.0])
        .await
        .map_err(failed("looking for a job moving a flow"))?
        .is_some();
    rules::flow_job_allowed(job, flow_open, open, busy)?;
    create(&tx, owner, job).await?;
    tx.commit().await.map_err(failed("committing a job"))
}

/// Replaces the job's status, counts, failure and finish time.
pub(super) async fn update(client: &Client, job: &JobRecord) -> Result<()> {
    let changed = execute(
        client,
        "UPDATE jobs SET status = $2, total = $3, done = $4, failure = $5, \
         finished_at = $6 WHERE id = $1",
        &[
            &job.id.0,
            &job.status.as_str(),
            &job.total,
            &job.done,
            &job.failure,
            &job.finished_at,
        ],
    )
    .await?;
    found(changed, || format!("job {}", job.id))
}

pub(super) async fn get(
    client: &Client,
    tenant: &TenantId,
    id: &JobId,
) -> Result<Option<JobRecord>> {
    let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant = $2");
    one(client, &sql, &[&id.0, &tenant.0], decode::job).await
}

/// A tenant's jobs, newest first, skipping `offset`.
pub(super) async fn list(
    client: &Client,
    tenant: &TenantId,
    page: &Page<JobCursor>,
) -> Result<Vec<JobRecord>> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant = $1 AND (created_at, id) < ($2, $3) \
         ORDER BY created_at DESC, id DESC LIMIT $4 OFFSET $5"
    );
    let (created_at, id) = decode::job_after(page);
    let (limit, skip) = (sql_limit(page.limit), sql_limit(page.skip));
    let args: [&(dyn ToSql + Sync); 5] = [&tenant.0, &created_at, &id, &limit, &skip];
    all(client, &sql, &args, decode::job).await
}

/// Jobs not yet finished, oldest first, whichever node runs them.
pub(super) async fn unfinished(client: &Client) -> Result<Vec<JobRecord>> {
    let sql = format!(
        "SELECT {JOB_COLUMNS} FROM jobs WHERE status IN ('Pending', 'Running') \
         ORDER BY created_at"
    );
    all(client, &sql, &[], decode::job).await
}
