//! Published versions, aliases and schedules of flows.

use rusqlite::{Connection, OptionalExtension, Row, params};
use sluice_engine::Millis;

use super::codec::{failed, inserting, json_at, sql_limit, to_json};
use super::flows;
use crate::{
    AliasRecord, AliasUpdate, FlowId, FlowName, Result, Route, ScheduleRecord, StoreError,
    TenantId, VersionRecord,
};

const VERSION_COLUMNS: &str = "flow_id, version, revision, description, created_at";
const ALIAS_COLUMNS: &str = "flow_id, name, description, routing, created_at, modified_at";
const SCHEDULE_COLUMNS: &str = "id, tenant, flow_id, flow_name, name, cron, payload, \
     description, enabled, next_fire_at, created_at, modified_at";

// ---- versions ------------------------------------------------------------------------------

/// Takes the flow's next version number (a counter on the flow, so a deleted version's number
/// is never handed out again) and snapshots its current revision.
pub(super) fn publish_version(
    conn: &Connection,
    flow: FlowId,
    description: String,
    now: Millis,
) -> Result<VersionRecord> {
    let (revision, version) = flows::version_source(conn, flow)?;
    flows::take_version_number(conn, flow)?;
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
    conn.prepare_cached(&query)
        .and_then(|mut s| {
            s.query_row(params![flow.0, version], version_row)
                .optional()
        })
        .map_err(failed("reading a version"))
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
    conn.prepare_cached(&query)
        .and_then(|mut s| {
            s.query_map(params![flow.0, before, sql_limit(limit)], version_row)?
                .collect()
        })
        .map_err(failed("listing versions"))
}

/// Refused while an alias routes to the version: the writer runs this check and the delete
/// as one command, so no alias can start routing to the version in between.
pub(super) fn delete_version(conn: &Connection, flow: FlowId, version: i64) -> Result<()> {
    let routed_to: Vec<String> = list_aliases(conn, flow, None, usize::MAX)?
        .into_iter()
        .filter(|alias| alias.routes_to(version))
        .map(|alias| alias.name)
        .collect();
    if !routed_to.is_empty() {
        return Err(StoreError::RoutedTo(routed_to));
    }
    let deleted = conn
        .execute(
            "DELETE FROM versions WHERE flow_id = ?1 AND version = ?2",
            params![flow.0, version],
        )
        .map_err(failed("deleting a version"))?;
    found(deleted, || format!("version {version} of flow {}", flow.0))
}

fn version_row(row: &Row<'_>) -> rusqlite::Result<VersionRecord> {
    Ok(VersionRecord {
        flow_id: FlowId(row.get(0)?),
        version: row.get(1)?,
        revision: row.get(2)?,
        description: row.get(3)?,
        created_at: row.get(4)?,
    })
}

// ---- aliases -------------------------------------------------------------------------------

/// Every route's version exists, read by the command that then writes the alias.
fn check_routes(conn: &Connection, flow: FlowId, routes: &[Route]) -> Result<()> {
    for route in routes {
        if get_version(conn, flow, route.version)?.is_none() {
            return Err(StoreError::NoSuchVersion(route.version));
        }
    }
    Ok(())
}

pub(super) fn create_alias(conn: &Connection, alias: AliasRecord) -> Result<AliasRecord> {
    check_routes(conn, alias.flow_id, &alias.routing)?;
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
    conn.prepare_cached(&query)
        .and_then(|mut s| s.query_row(params![flow.0, name], alias_row).optional())
        .map_err(failed("reading an alias"))
}

/// Changes the given fields in one statement; `created_at` stays as stored.
pub(super) fn update_alias(
    conn: &Connection,
    flow: FlowId,
    name: &str,
    update: AliasUpdate,
) -> Result<AliasRecord> {
    let routing = match &update.routing {
        Some(routes) => {
            check_routes(conn, flow, routes)?;
            Some(to_json(routes, "alias routing")?)
        }
        None => None,
    };
    let changed = conn
        .execute(
            "UPDATE aliases SET description = COALESCE(?3, description), \
             routing = COALESCE(?4, routing), modified_at = ?5 \
             WHERE flow_id = ?1 AND name = ?2",
            params![
                flow.0,
                name,
                update.description,
                routing,
                update.modified_at
            ],
        )
        .map_err(failed("updating an alias"))?;
    found(changed, || format!("alias {name}"))?;
    get_alias(conn, flow, name)?.ok_or_else(|| StoreError::NotFound(format!("alias {name}")))
}

pub(super) fn delete_alias(conn: &Connection, flow: FlowId, name: &str) -> Result<()> {
    let deleted = conn
        .execute(
            "DELETE FROM aliases WHERE flow_id = ?1 AND name = ?2",
            params![flow.0, name],
        )
        .map_err(failed("deleting an alias"))?;
    found(deleted, || format!("alias {name}"))
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
    conn.prepare_cached(&query)
        .and_then(|mut s| {
            s.query_map(
                params![flow.0, after.unwrap_or_default(), sql_limit(limit)],
                alias_row,
            )?
            .collect()
        })
        .map_err(failed("listing aliases"))
}

fn alias_row(row: &Row<'_>) -> rusqlite::Result<AliasRecord> {
    let flow_id = FlowId(row.get(0)?);
    let name: String = row.get(1)?;
    Ok(AliasRecord {
        routing: json_at(row, 3, || {
            format!("alias {name} of flow {}: routing", flow_id.0)
        })?,
        flow_id,
        name,
        description: row.get(2)?,
        created_at: row.get(4)?,
        modified_at: row.get(5)?,
    })
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
    conn.prepare_cached(&query)
        .and_then(|mut s| s.query_row(params![flow.0, name], schedule_row).optional())
        .map_err(failed("reading a schedule"))
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
    found(changed, || format!("schedule {}", schedule.name))?;
    Ok(schedule)
}

pub(super) fn delete_schedule(conn: &Connection, flow: FlowId, name: &str) -> Result<()> {
    let deleted = conn
        .execute(
            "DELETE FROM schedules WHERE flow_id = ?1 AND name = ?2",
            params![flow.0, name],
        )
        .map_err(failed("deleting a schedule"))?;
    found(deleted, || format!("schedule {name}"))
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
    conn.prepare_cached(&query)
        .and_then(|mut s| {
            s.query_map(
                params![flow.0, after.unwrap_or_default(), sql_limit(limit)],
                schedule_row,
            )?
            .collect()
        })
        .map_err(failed("listing schedules"))
}

pub(super) fn due_schedules(conn: &Connection, until: Millis) -> Result<Vec<ScheduleRecord>> {
    let query = format!(
        "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE enabled = 1 AND next_fire_at IS NOT NULL \
         AND next_fire_at <= ?1 ORDER BY next_fire_at, id"
    );
    conn.prepare_cached(&query)
        .and_then(|mut s| s.query_map([until], schedule_row)?.collect())
        .map_err(failed("reading due schedules"))
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

fn schedule_row(row: &Row<'_>) -> rusqlite::Result<ScheduleRecord> {
    Ok(ScheduleRecord {
        id: row.get(0)?,
        tenant: TenantId(row.get(1)?),
        flow_id: FlowId(row.get(2)?),
        flow_name: FlowName(row.get(3)?),
        name: row.get(4)?,
        cron: row.get(5)?,
        payload: row.get(6)?,
        description: row.get(7)?,
        enabled: row.get(8)?,
        next_fire_at: row.get(9)?,
        created_at: row.get(10)?,
        modified_at: row.get(11)?,
    })
}

/// `NotFound` when a change by key touched no row.
fn found(changed: usize, what: impl FnOnce() -> String) -> Result<()> {
    if changed == 0 {
        return Err(StoreError::NotFound(what()));
    }
    Ok(())
}
