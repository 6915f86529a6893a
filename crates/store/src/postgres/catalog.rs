//! Published versions, aliases and schedules of flows.

use sluice_engine::Millis;

use super::codec::{Client, all, execute, failed, inserting, one, sql_limit, to_json, transaction};
use super::flows;
use crate::decode::{self, ALIAS_COLUMNS, SCHEDULE_COLUMNS, VERSION_COLUMNS};
use crate::rules::found;
use crate::{AliasRecord, FlowId, Result, ScheduleRecord, StoreError, VersionRecord};

// ---- versions ------------------------------------------------------------------------------

/// Takes the flow's next version number and snapshots its current revision, in one
/// transaction.
pub(super) async fn publish_version(
    client: &mut Client,
    flow: FlowId,
    description: &str,
    now: Millis,
) -> Result<VersionRecord> {
    let tx = transaction(client).await?;
    let (revision, version) = flows::take_version_number(&tx, flow).await?;
    tx.execute(
        &format!("INSERT INTO versions ({VERSION_COLUMNS}) VALUES ($1, $2, $3, $4, $5)"),
        &[&flow.0, &version, &revision, &description, &now],
    )
    .await
    .map_err(inserting(&format!("version {version} of flow {}", flow.0)))?;
    tx.commit().await.map_err(failed("committing a version"))?;
    Ok(VersionRecord {
        flow_id: flow,
        version,
        revision,
        description: description.to_string(),
        created_at: now,
    })
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
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<VersionRecord>> {
    let sql = format!(
        "SELECT {VERSION_COLUMNS} FROM versions WHERE flow_id = $1 AND version < $2 \
         ORDER BY version DESC LIMIT $3"
    );
    let before = before.unwrap_or(i64::MAX);
    all(
        client,
        &sql,
        &[&flow.0, &before, &sql_limit(limit)],
        decode::version,
    )
    .await
}

pub(super) async fn delete_version(client: &Client, flow: FlowId, version: i64) -> Result<()> {
    let changed = execute(
        client,
        "DELETE FROM versions WHERE flow_id = $1 AND version = $2",
        &[&flow.0, &version],
    )
    .await?;
    found(changed, || format!("version {version} of flow {}", flow.0))
}

// ---- aliases -------------------------------------------------------------------------------

pub(super) async fn create_alias(client: &Client, alias: AliasRecord) -> Result<AliasRecord> {
    let routing = to_json(&alias.routing, "alias routing")?;
    client
        .execute(
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
    Ok(alias)
}

pub(super) async fn get_alias(
    client: &Client,
    flow: FlowId,
    name: &str,
) -> Result<Option<AliasRecord>> {
    let sql = format!("SELECT {ALIAS_COLUMNS} FROM aliases WHERE flow_id = $1 AND name = $2");
    one(client, &sql, &[&flow.0, &name], decode::alias).await
}

/// Replaces the description and routing; `created_at` stays as stored.
pub(super) async fn update_alias(client: &Client, alias: AliasRecord) -> Result<AliasRecord> {
    let routing = to_json(&alias.routing, "alias routing")?;
    let changed = execute(
        client,
        "UPDATE aliases SET description = $3, routing = $4, modified_at = $5 \
         WHERE flow_id = $1 AND name = $2",
        &[
            &alias.flow_id.0,
            &alias.name,
            &alias.description,
            &routing,
            &alias.modified_at,
        ],
    )
    .await?;
    found(changed, || format!("alias {}", alias.name))?;
    get_alias(client, alias.flow_id, &alias.name)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("alias {}", alias.name)))
}

pub(super) async fn delete_alias(client: &Client, flow: FlowId, name: &str) -> Result<()> {
    let changed = execute(
        client,
        "DELETE FROM aliases WHERE flow_id = $1 AND name = $2",
        &[&flow.0, &name],
    )
    .await?;
    found(changed, || format!("alias {name}"))
}

pub(super) async fn list_aliases(
    client: &Client,
    flow: FlowId,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<AliasRecord>> {
    let sql = format!(
        "SELECT {ALIAS_COLUMNS} FROM aliases WHERE flow_id = $1 AND name > $2 \
         ORDER BY name LIMIT $3"
    );
    let args: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
        [&flow.0, &after.unwrap_or_default(), &sql_limit(limit)];
    all(client, &sql, &args, decode::alias).await
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

pub(super) async fn get_schedule(
    client: &Client,
    flow: FlowId,
    name: &str,
) -> Result<Option<ScheduleRecord>> {
    let sql = format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE flow_id = $1 AND name = $2");
    one(client, &sql, &[&flow.0, &name], decode::schedule).await
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

pub(super) async fn delete_schedule(client: &Client, flow: FlowId, name: &str) -> Result<()> {
    let changed = execute(
        client,
        "DELETE FROM schedules WHERE flow_id = $1 AND name = $2",
        &[&flow.0, &name],
    )
    .await?;
    found(changed, || format!("schedule {name}"))
}

pub(super) async fn list_schedules(
    client: &Client,
    flow: FlowId,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<ScheduleRecord>> {
    let sql = format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE flow_id = $1 AND name > $2 \
         ORDER BY name LIMIT $3"
    );
    let args: [&(dyn tokio_postgres::types::ToSql + Sync); 3] =
        [&flow.0, &after.unwrap_or_default(), &sql_limit(limit)];
    all(client, &sql, &args, decode::schedule).await
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
pub(super) async fn claim_schedule_tick(
    client: &Client,
    id: i64,
    fired: Millis,
    next: Option<Millis>,
) -> Result<bool> {
    let changed = execute(
        client,
        "UPDATE schedules SET next_fire_at = $3 WHERE id = $1 AND next_fire_at = $2",
        &[&id, &fired, &next],
    )
    .await?;
    Ok(changed == 1)
}
