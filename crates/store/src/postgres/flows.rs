//! Flows and their revisions.

use deadpool_postgres::GenericClient;

use super::codec::{Client, all_of, backend, failed, inserting, one, to_json, transaction};
use crate::decode::{self, Columns, FLOW_COLUMNS, FLOW_FROM};
use crate::query::{self, Backend};
use crate::rules::{self, no_flow};
use crate::{
    FlowDefinition, FlowId, FlowName, FlowQuery, FlowRecord, FlowUpdate, NewFlow, Page, Result,
    TenantId,
};

pub(super) async fn create(client: &mut Client, flow: &NewFlow) -> Result<FlowRecord> {
    let what = format!("flow {}", flow.name);
    let attributes = to_json(&flow.attributes, "flow attributes")?;
    let tx = transaction(client).await?;
    let row = tx
        .query_one(
            "INSERT INTO flows (tenant, name, description, dialect, role_arn, mode, \
             attributes, tag, revision, open, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 1, TRUE, $9, $9) RETURNING id",
            &[
                &flow.tenant.0,
                &flow.name.0,
                &flow.description,
                &flow.dialect.as_str(),
                &flow.role_arn,
                &flow.mode.as_str(),
                &attributes,
                &flow.tag,
                &flow.now,
            ],
        )
        .await
        .map_err(inserting(&what))?;
    insert_revision(&tx, FlowId(row.get(0)), 1, &flow.definition).await?;
    let created = live(&tx, &flow.tenant, &flow.name, false).await?;
    tx.commit().await.map_err(failed("committing a flow"))?;
    created.ok_or_else(|| backend(format!("{what} vanished after its insert")))
}

/// The live flow of that name; with `lock`, its row is locked first (`FOR UPDATE`, so a start
/// of the flow waits, see the module comment of `postgres`). The lock is taken on the flows
/// row alone: a locked read joined with the revisions would lose the row when the revision it
/// joined on changes under it.
pub(super) async fn live<C: GenericClient>(
    client: &C,
    tenant: &TenantId,
    name: &FlowName,
    lock: bool,
) -> Result<Option<FlowRecord>> {
    if lock {
        client
            .execute(
                "SELECT id FROM flows WHERE tenant = $1 AND name = $2 AND NOT deleted FOR UPDATE",
                &[&tenant.0, &name.0],
            )
            .await
            .map_err(failed("locking a flow"))?;
    }
    let sql = format!(
        "SELECT {FLOW_COLUMNS} FROM {FLOW_FROM} WHERE f.tenant = $1 AND f.name = $2 \
         AND NOT f.deleted"
    );
    one(client, &sql, &[&tenant.0, &name.0], decode::flow).await
}

/// Deleted flows included: their executions still run the revision they started with.
pub(super) async fn definition(
    client: &Client,
    flow: FlowId,
    revision: i64,
) -> Result<Option<FlowDefinition>> {
    let sql = "SELECT f.dialect, r.definition FROM flow_revisions r JOIN flows f \
         ON f.id = r.flow_id WHERE r.flow_id = $1 AND r.revision = $2";
    let decode = |row: &dyn Columns| decode::definition(row, flow);
    one(client, sql, &[&flow.0, &revision], decode).await
}

/// See [`rules::flow_change`]; the flow row is locked from the read to the commit.
pub(super) async fn update(
    client: &mut Client,
    expected: &FlowRecord,
    update: FlowUpdate,
) -> Result<FlowRecord> {
    let (tenant, name) = (&expected.tenant, &expected.name);
    let tx = transaction(client).await?;
    let current = live(&tx, tenant, name, true)
        .await?
        .ok_or_else(|| no_flow(name))?;
    let now = update.now;
    let change = rules::flow_change(current, expected.revision, update)?;
    if let Some((revision, definition)) = &change.new_revision {
        insert_revision(&tx, change.id, *revision, definition).await?;
    }
    tx.execute(
        "UPDATE flows SET description = $2, role_arn = $3, attributes = $4, open = $5, \
         revision = $6, modified_at = $7 WHERE id = $1",
        &[
            &change.id.0,
            &change.description,
            &change.role_arn,
            &change.attributes,
            &change.open,
            &change.revision,
            &now,
        ],
    )
    .await
    .map_err(failed("updating a flow"))?;
    let updated = live(&tx, tenant, name, false).await?;
    tx.commit()
        .await
        .map_err(failed("committing a flow update"))?;
    updated.ok_or_else(|| backend(format!("flow {name} vanished in its update")))
}

/// Marks the flow deleted and drops its schedules (see the SQLite store's `flows::delete`).
pub(super) async fn delete(
    client: &mut Client,
    tenant: &TenantId,
    name: &FlowName,
) -> Result<FlowRecord> {
    let tx = transaction(client).await?;
    let flow = live(&tx, tenant, name, true)
        .await?
        .ok_or_else(|| no_flow(name))?;
    tx.execute(
        "UPDATE flows SET deleted = TRUE WHERE id = $1",
        &[&flow.id.0],
    )
    .await
    .map_err(failed("deleting a flow"))?;
    tx.execute("DELETE FROM schedules WHERE flow_id = $1", &[&flow.id.0])
        .await
        .map_err(failed("deleting the schedules of a flow"))?;
    tx.commit()
        .await
        .map_err(failed("committing a flow delete"))?;
    Ok(flow)
}

pub(super) async fn list(
    client: &Client,
    query: &FlowQuery,
    page: &Page<FlowName>,
) -> Result<Vec<FlowRecord>> {
    let sql = query::flows(query, page, Backend::Postgres);
    all_of(client, &sql, decode::flow).await
}

pub(super) async fn count(client: &Client, query: &FlowQuery) -> Result<u64> {
    let sql = query::count_flows(query, Backend::Postgres);
    let counted = all_of(client, &sql, decode::number).await?;
    Ok(counted
        .into_iter()
        .map(|n| u64::try_from(n).unwrap_or_default())
        .sum())
}

/// Takes the next version number of a live flow; returns it with the flow's revision.
pub(super) async fn take_version_number<C: GenericClient>(
    client: &C,
    flow: FlowId,
) -> Result<(i64, i64)> {
    client
        .query_opt(
            "UPDATE flows SET next_version = next_version + 1 WHERE id = $1 AND NOT deleted \
             RETURNING revision, next_version - 1",
            &[&flow.0],
        )
        .await
        .map_err(failed("numbering a version"))?
        .map(|row| (row.get(0), row.get(1)))
        .ok_or_else(|| crate::StoreError::NotFound(format!("flow {}", flow.0)))
}

async fn insert_revision<C: GenericClient>(
    client: &C,
    flow: FlowId,
    revision: i64,
    definition: &str,
) -> Result<()> {
    client
        .execute(
            "INSERT INTO flow_revisions (flow_id, revision, definition) VALUES ($1, $2, $3)",
            &[&flow.0, &revision, &definition],
        )
        .await
        .map(drop)
        .map_err(inserting(&format!(
            "revision {revision} of flow {}",
            flow.0
        )))
}
