//! Published versions, aliases and schedules of flows.

use rusqlite::{Connection, params};
use sluice_engine::Millis;

use super::codec::{all, failed, inserting, one, sql_limit, to_json};
use super::flows;
use crate::decode::{self, ALIAS_COLUMNS, SCHEDULE_COLUMNS, VERSION_COLUMNS};
use crate::rules::found;
use crate::{AliasRecord, FlowId, Result, ScheduleRecord, StoreError, VersionRecord};

// ---- versions ------------------------------------------------------------------------------

/// Takes the flow's next version number (a counter on the flow, so a deleted version's number
/// is never handed out again) and snapshots its current revision.
pub(super) fn publish_version(
    conn: &Connection,
    flow: FlowId,
    description: String,
    now: Millis,
) -> Result<VersionRecord> {
    let (revision, version) = flows::take_version_number(conn, flow)?;
    conn.prepare_cached(&format!(
        "INSERT INTO versions ({VERSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
    ))
    .and_then(|mut s| s.execute(params![flow.0, version, revision, description, now]))
    .map_err(inserting(&format!("version {version} of flow {}", flow.0)))?;
    Ok(VersionRecord {
        flow_id: flow,
        version,
        revision,
        description,
        created_at: now,
    })
}

pub(super) fn get_version(
    conn: &Connection,
    flow: FlowId,
    version: i64,
) -> Result<Option<VersionRecord>> {
    let query =
        format!("SELECT {VERSION_COLUMNS} FROM versions WHERE flow_id = ?1 AND version = ?2");
    one(
        conn,
        &query,
        params![flow.0, version],
        decode::version,
        "reading a version",
    )
}

pub(super) fn list_versions(
    conn: &Connection,
    flow: FlowId,
    before: Option<i64>,
    limit: usize,
) -> Result<Vec<VersionRecord>> {
    let query = format!(
        "SELECT {VERSION_COLUMNS} FROM versions WHERE flow_id = ?1 AND version < ?2 \
         ORDER BY version DESC LIMIT ?3"
    );
    let before = before.unwrap_or(i64::MAX);
    all(
        conn,
        &query,
        params![flow.0, before, sql_limit(limit)],
        decode::version,
        "listing versions",
    )
}

pub(super) fn delete_version(conn: &Connection, flow: FlowId, version: i64) -> Result<()> {
    let deleted = conn
        .execute(
            "DELETE FROM versions WHERE flow_id = ?1 AND version = ?2",
            params![flow.0, version],
        )
        .map_err(failed("deleting a version"))?;
    found(deleted as u64, || {
        format!("version {version} of flow {}", flow.0)
    })
}

// ---- aliases -------------------------------------------------------------------------------

pub(super) fn create_alias(conn: &Connection, alias: AliasRecord) -> Result<AliasRecord> {
    let routing = to_json(&alias.routing, "alias routing")?;
    conn.prepare_cached(&format!(
        "INSERT INTO aliases ({ALIAS_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    ))
    .and_then(|mut s| {
        s.execute(params![
            alias.flow_id.0,
            alias.name,
            alias.description,
            routing,
            alias.created_at,
            alias.modified_at
        ])
    })
    .map_err(inserting(&format!("alias {}", alias.name)))?;
    Ok(alias)
}

pub(super) fn get_alias(
    conn: &Connection,
    flow: FlowId,
    name: &str,
) -> Result<Option<AliasRecord>> {
    let query = format!("SELECT {ALIAS_COLUMNS} FROM aliases WHERE flow_id = ?1 AND name = ?2");
    one(
        conn,
        &query,
        params![flow.0, name],
        decode::alias,
        "reading an alias",
    )
}

/// Replaces the description and routing; `created_at` stays as stored.
pub(super) fn update_alias(conn: &Connection, alias: AliasRecord) -> Result<AliasRecord> {
    let routing = to_json(&alias.routing, "alias routing")?;
    let changed = conn
        .execute(
            "UPDATE aliases SET description = ?3, routing = ?4, modified_at = ?5 \
             WHERE flow_id = ?1 AND name = ?2",
            params![
                alias.flow_id.0,
                alias.name,
                alias.description,
                routing,
                alias.modified_at
            ],
        )
        .map_err(failed("updating an alias"))?;
    found(changed as u64, || format!("alias {}", alias.name))?;
    get_alias(conn, alias.flow_id, &alias.name)?
        .ok_or_else(|| StoreError::NotFound(format!("alias {}", alias.name)))
}

pub(super) fn delete_alias(conn: &Connection, flow: FlowId, name: &str) -> Result<()> {
    let deleted = conn
        .execute(
            "DELETE FROM aliases WHERE flow_id = ?1 AND name = ?2",
            params![flow.0, name],
        )
        .map_err(failed("deleting an alias"))?;
    found(deleted as u64, || format!("alias {name}"))
}

pub(super) fn list_aliases(
    conn: &Connection,
    flow: FlowId,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<AliasRecord>> {
    let query = format!(
        "SELECT {ALIAS_COLUMNS} FROM aliases WHERE flow_id = ?1 AND name > ?2 ORDER BY name LIMIT ?3"
    );
    all(
        conn,
        &query,
        params![flow.0, after.unwrap_or_default(), sql_limit(limit)],
        decode::alias,
        "listing aliases",
    )
}

// ---- schedules -----------------------------------------------------------------------------

pub(super) fn create_schedule(
    conn: &Connection,
    schedule: ScheduleRecord,
) -> Result<ScheduleRecord> {
    conn.prepare_cached(
        "INSERT INTO schedules (tenant, flow_id, flow_name, name, cron, payload, description, \
         enabled, next_fire_at, created_at, modified_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
    )
    .and_then(|mut s| {
        s.execute(params![
            schedule.tenant.0,
            schedule.flow_id.0,
            schedule.flow_name.0,
            schedule.name,
            schedule.cron,
            schedule.payload,
            schedule.description,
            schedule.enabled,
            schedule.next_fire_at,
            schedule.created_at,
            schedule.modified_at
        ])
    })
    .map_err(inserting(&format!("schedule {}", schedule.name)))?;
    Ok(ScheduleRecord {
        id: conn.last_insert_rowid(),
        ..schedule
    })
}

pub(super) fn get_schedule(
    conn: &Connection,
    flow: FlowId,
    name: &str,
) -> Result<Option<ScheduleRecord>> {
    let query =
        format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE flow_id = ?1 AND name = ?2");
    one(
        conn,
        &query,
        params![flow.0, name],
        decode::schedule,
        "reading a schedule",
    )
}

/// Replaces the mutable fields of the schedule with that id; its tenant, flow, name and
/// `created_at` are never changed.
pub(super) fn update_schedule(
    conn: &Connection,
    schedule: ScheduleRecord,
) -> Result<ScheduleRecord> {
    let changed = conn
        .execute(
            "UPDATE schedules SET cron = ?2, payload = ?3, description = ?4, enabled = ?5, \
             next_fire_at = ?6, modified_at = ?7 WHERE id = ?1",
            params![
                schedule.id,
                schedule.cron,
                schedule.payload,
                schedule.description,
                schedule.enabled,
                schedule.next_fire_at,
                schedule.modified_at
            ],
        )
        .map_err(failed("updating a schedule"))?;
    found(changed as u64, || format!("schedule {}", schedule.name))?;
    Ok(schedule)
}

pub(super) fn delete_schedule(conn: &Connection, flow: FlowId, name: &str) -> Result<()> {
    let deleted = conn
        .execute(
            "DELETE FROM schedules WHERE flow_id = ?1 AND name = ?2",
            params![flow.0, name],
        )
        .map_err(failed("deleting a schedule"))?;
    found(deleted as u64, || format!("schedule {name}"))
}

pub(super) fn list_schedules(
    conn: &Connection,
    flow: FlowId,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<ScheduleRecord>> {
    let query = format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE flow_id = ?1 AND name > ?2 \
         ORDER BY name LIMIT ?3"
    );
    all(
        conn,
        &query,
        params![flow.0, after.unwrap_or_default(), sql_limit(limit)],
        decode::schedule,
        "listing schedules",
    )
}

pub(super) fn due_schedules(conn: &Connection, until: Millis) -> Result<Vec<ScheduleRecord>> {
    let query = format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE enabled = 1 AND next_fire_at IS NOT NULL \
         AND next_fire_at <= ?1 ORDER BY next_fire_at, id"
    );
    all(
        conn,
        &query,
        [until],
        decode::schedule,
        "reading due schedules",
    )
}

/// Compare-and-set on the fire time: of all callers that saw the same due tick, exactly one
/// moves it on.
pub(super) fn claim_schedule_tick(
    conn: &Connection,
    id: i64,
    fired: Millis,
    next: Option<Millis>,
) -> Result<bool> {
    conn.prepare_cached(
        "UPDATE schedules SET next_fire_at = ?3 WHERE id = ?1 AND next_fire_at = ?2",
    )
    .and_then(|mut s| s.execute(params![id, fired, next]))
    .map(|changed| changed == 1)
    .map_err(failed("claiming a schedule tick"))
}
