//! Published versions, aliases and schedules of flows.

use deadpool_postgres::GenericClient;
use sluice_engine::Millis;

use super::codec::{Client, all, execute, failed, inserting, one, sql_limit, to_json, transaction};
use super::flows;
use crate::decode::{self, ALIAS_COLUMNS, SCHEDULE_COLUMNS, VERSION_COLUMNS};
use crate::query::{Backend, FlowRows};
use crate::rules::{self, found};
use crate::{
    AliasRecord, AliasUpdate, FlowId, NewVersion, Page, Result, Route, ScheduleRecord,
    ScheduleTick, StoreError, VersionRecord,
};

// ---- versions ------------------------------------------------------------------------------

/// Takes the flow's next version number and snapshots its current revision, in one
/// transaction.
pub(super) async fn publish_version(client: &mut Client, new: NewVersion) -> Result<VersionRecord> {
    let flow = new.flow_id;
    let tx = transaction(client).await?;
    let (revision, version) = flows::take_version_number(&tx, flow).await?;
    rules::publishable(&new, revision)?;
    if new.reuse {
        // The flow's row is locked by the numbering: no update or publish runs meanwhile.
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM versions WHERE flow_id = $1 AND revision = $2 \
             ORDER BY version DESC LIMIT 1"
        );
        if let Some(existing) = one(&tx, &sql, &[&flow.0, &revision], decode::version).await? {
            // Dropping the transaction gives the number back.
            return Ok(existing);
        }
    }
    tx.execute(
        &format!("INSERT INTO versions ({VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"),
        &[&flow.0, &version, &revision, &new.description, &new.now],
    )
    .await
    .map_err(inserting(&format!("version {version} of flow {}", flow.0)))?;
    tx.commit().await.map_err(failed("committing a version"))?;
    Ok(rules::published(new, version, revision))
}

pub(super) async fn get_version(
    client: &Client,
    flow: FlowId,
    version: i64,
) -> Result<Option<VersionRecord>> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM versions WHERE flow_id = $1 AND version = $2");
    one(client, &sql, &[&flow.0, &version], decode::version).await
}

/// Versions newest first, below `before`.
pub(super) async fn list_versions(
    client: &Client,
    flow: FlowId,
    page: &Page<i64>,
) -> Result<Vec<VersionRecord>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM versions WHERE flow_id = $1 AND version < $2 \
         ORDER BY version DESC LIMIT $3 OFFSET $4"
    );
    let before = page.after.unwrap_or(i64::MAX);
    let (limit, skip) = (sql_limit(page.limit), sql_limit(page.skip));
    all(
        client,
        &sql,
        &[&flow.0, &before, &limit, &skip],
        decode::version,
    )
    .await
}

/// Deletes first (which waits for the alias writes that share-lock the row), then reads the
/// aliases with a fresh snapshot: one routing to the version undoes the delete. Whichever of
/// an alias write and a version's delete comes second sees the first's committed change.
pub(super) async fn delete_version(client: &mut Client, flow: FlowId, version: i64) -> Result<()> {
    let tx = transaction(client).await?;
    let changed = execute(
        &tx,
        "DELETE FROM versions WHERE flow_id = $1 AND version = $2",
        &[&flow.0, &version],
    )
    .await?;
    found(changed, || format!("version {version} of flow {}", flow.0))?;
    let sql = format!("SELECT {ALIAS_COLUMNS} FROM aliases WHERE flow_id = $1");
    rules::unrouted(all(&tx, &sql, &[&flow.0], decode::alias).await?, version)?;
    tx.commit().await.map_err(failed("committing a delete"))
}

// ---- aliases -------------------------------------------------------------------------------

/// Share-locks the routes' versions until the transaction ends (a concurrent delete waits);
/// `NoSuchVersion` if one is missing (or was deleted meanwhile).
async fn lock_routes<C: GenericClient>(client: &C, flow: FlowId, routes: &[Route]) -> Result<()> {
    let versions: Vec<i64> = routes.iter().map(|route| route.version).collect();
    let present = all(
        client,
        "SELECT version FROM versions WHERE flow_id = $1 AND version = ANY($2) FOR SHARE",
        &[&flow.0, &versions],
        |row| decode::int(row, 0),
    )
    .await?;
    rules::routes_present(routes, &present)
}

pub(super) async fn create_alias(client: &mut Client, alias: AliasRecord) -> Result<AliasRecord> {
    let routing = to_json(&alias.routing, "alias routing")?;
    let tx = transaction(client).await?;
    lock_routes(&tx, alias.flow_id, &alias.routing).await?;
    tx.execute(
        &format!("INSERT INTO aliases ({ALIAS_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"),
        &[
            &alias.flow_id.0,
            &alias.name,
            &alias.description,
            &routing,
            &alias.created_at,
            &alias.modified_at,
        ],
    )
    .await
    .map_err(inserting(&format!("alias {}", alias.name)))?;
    tx.commit().await.map_err(failed("committing an alias"))?;
    Ok(alias)
}

/// The given fields in one statement (`COALESCE` keeps the others as stored).
pub(super) async fn update_alias(
    client: &mut Client,
    flow: FlowId,
    name: &str,
    update: AliasUpdate,
) -> Result<AliasRecord> {
    let routing = update
        .routing
        .as_ref()
        .map(|routes| to_json(routes, "alias routing"))
        .transpose()?;
    let tx = transaction(client).await?;
    if let Some(routes) = &update.routing {
        lock_routes(&tx, flow, routes).await?;
    }
    let sql = format!(
        "UPDATE aliases SET description = COALESCE($3, description), \
         routing = COALESCE($4, routing), modified_at = $5 \
         WHERE flow_id = $1 AND name = $2 RETURNING {ALIAS_COLUMNS}"
    );
    let args: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [
        &flow.0,
        &name,
        &update.description,
        &routing,
        &update.modified_at,
    ];
    let alias = one(&tx, &sql, &args, decode::alias)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("alias {name}")))?;
    tx.commit().await.map_err(failed("committing an alias"))?;
    Ok(alias)
}

// ---- aliases and schedules alike ----------------------------------------------------------

/// The flow's row of that name.
pub(super) async fn get_named<T>(
    client: &Client,
    rows: FlowRows<T>,
    name: &str,
) -> Result<Option<T>> {
    let sql = rows.table.get(Backend::Postgres);
    one(client, &sql, &[&rows.flow.0, &name], rows.table.decode).await
}

pub(super) async fn delete_named<T>(client: &Client, rows: FlowRows<T>, name: &str) -> Result<()> {
    let sql = rows.table.delete(Backend::Postgres);
    let changed = execute(client, &sql, &[&rows.flow.0, &name]).await?;
    found(changed, || format!("{} {name}", rows.table.what))
}

/// The flow's rows by name.
pub(super) async fn list_named<T>(
    client: &Client,
    rows: FlowRows<T>,
    page: &Page<String>,
) -> Result<Vec<T>> {
    let after = page.after.as_deref().unwrap_or_default();
    let (limit, skip) = (sql_limit(page.limit), sql_limit(page.skip));
    let sql = rows.table.list(Backend::Postgres);
    let args: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
        [&rows.flow.0, &after, &limit, &skip];
    all(client, &sql, &args, rows.table.decode).await
}

// ---- schedules -----------------------------------------------------------------------------

pub(super) async fn create_schedule(
    client: &Client,
    schedule: ScheduleRecord,
) -> Result<ScheduleRecord> {
    let row = client
        .query_one(
            "INSERT INTO schedules (tenant, flow_id, flow_name, name, cron, payload, \
             description, enabled, next_fire_at, created_at, modified_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            &[
                &schedule.tenant.0,
                &schedule.flow_id.0,
                &schedule.flow_name.0,
                &schedule.name,
                &schedule.cron,
                &schedule.payload,
                &schedule.description,
                &schedule.enabled,
                &schedule.next_fire_at,
                &schedule.created_at,
                &schedule.modified_at,
            ],
        )
        .await
        .map_err(inserting(&format!("schedule {}", schedule.name)))?;
    Ok(ScheduleRecord {
        id: row.get(0),
        ..schedule
    })
}

/// Replaces the mutable fields of the schedule with that id.
pub(super) async fn update_schedule(
    client: &Client,
    schedule: ScheduleRecord,
) -> Result<ScheduleRecord> {
    let changed = execute(
        client,
        "UPDATE schedules SET cron = $2, payload = $3, description = $4, enabled = $5, \
         next_fire_at = $6, modified_at = $7 WHERE id = $1",
        &[
            &schedule.id,
            &schedule.cron,
            &schedule.payload,
            &schedule.description,
            &schedule.enabled,
            &schedule.next_fire_at,
            &schedule.modified_at,
        ],
    )
    .await?;
    found(changed, || format!("schedule {}", schedule.name))?;
    Ok(schedule)
}

pub(super) async fn due_schedules(client: &Client, until: Millis) -> Result<Vec<ScheduleRecord>> {
    let sql = format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE enabled AND next_fire_at IS NOT NULL \
         AND next_fire_at <= $1 ORDER BY next_fire_at, id"
    );
    all(client, &sql, &[&until], decode::schedule).await
}

/// Compare-and-set on the fire time: of all nodes that saw the same due tick, exactly one
/// moves it on.
pub(super) async fn claim_schedule_tick(client: &Client, tick: ScheduleTick) -> Result<bool> {
    let changed = execute(
        client,
        "UPDATE schedules SET next_fire_at = $3 WHERE id = $1 AND next_fire_at = $2",
        &[&tick.schedule, &tick.fired, &tick.next],
    )
    .await?;
    Ok(changed == 1)
}
