//! Background jobs: the insert every job goes through, and the guarded insert of a job that
//! moves a flow (see [`crate::Store::create_flow_job`]).

use deadpool_postgres::GenericClient;

use super::{JOB_COLUMNS, failed, inserting};
use crate::encode::to_json;
use crate::{JobKind, JobRecord, Result, StoreError};

pub(super) async fn insert<C: GenericClient>(
    client: &C,
    owner: &str,
    job: &JobRecord,
) -> Result<()> {
    let filter = to_json(&job.filter, "a job filter")?;
    client
        .execute(
            &format!(
                "INSERT INTO jobs ({JOB_COLUMNS}, owner) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)"
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
                &job.already_completed,
                &job.failed,
                &owner,
            ],
        )
        .await
        .map_err(inserting(&format!("job {}", job.id)))?;
    Ok(())
}

/// Locks the flow row `FOR UPDATE` first: concurrent requests to move one flow queue on it, and
/// each, once it holds the lock, sees the jobs the ones before it inserted.
pub(super) async fn create(
    client: &mut deadpool_postgres::Object,
    owner: &str,
    job: &JobRecord,
    open: Option<bool>,
) -> Result<()> {
    let tx = client
        .transaction()
        .await
        .map_err(failed("starting a transaction"))?;
    let flow_open: bool = tx
        .query_opt(
            "SELECT open FROM flows WHERE id = $1 AND NOT deleted FOR UPDATE",
            &[&job.flow_id.0],
        )
        .await
        .map_err(failed("locking a flow"))?
        .map(|row| row.get(0))
        .ok_or_else(|| StoreError::NotFound(format!("flow {}", job.flow_name)))?;
    if open.is_some_and(|wanted| wanted != flow_open) {
        return Err(StoreError::Conflict(format!(
            "flow {} is {}",
            job.flow_name,
            if flow_open { "open" } else { "closed" }
        )));
    }
    let busy = tx
        .query_opt(
            "SELECT 1 FROM jobs WHERE flow_id = $1 AND status IN ('Pending', 'Running') \
             AND kind = ANY($2) LIMIT 1",
            &[&job.flow_id.0, &JobKind::moving_flow()],
        )
        .await
        .map_err(failed("looking for a job moving a flow"))?;
    if busy.is_some() {
        return Err(StoreError::Conflict(format!(
            "flow {} is being moved by another job",
            job.flow_name
        )));
    }
    insert(&tx, owner, job).await?;
    tx.commit().await.map_err(failed("committing a job"))
}
