//! Published versions, aliases and schedules of flows.

use rusqlite::{Connection, params};
use sluice_engine::Millis;

use super::codec::{all, failed, inserting, one, sql_limit, to_json};
use super::flows;
use crate::decode::{self, ALIAS_COLUMNS, SCHEDULE_COLUMNS, VERSION_COLUMNS};
use crate::query::{ALIASES, Backend, FlowRows};
use crate::rules::{self, found};
use crate::{
    AliasRecord, AliasUpdate, FlowId, NewVersion, Page, Result, Route, ScheduleRecord,
    ScheduleTick, StoreError, VersionRecord,
};

// ---- versions ------------------------------------------------------------------------------

/// Takes the flow's next version number (a counter on the flow, so a deleted version's number
/// is never handed out again) and snapshots its current revision.
pub(super) fn publish_version(conn: &Connection, new: NewVersion) -> Result<VersionRecord> {
    let flow = new.flow_id;
    if new.reuse {
        let query = format!(
            "SELECT {VERSION_COLUMNS} FROM versions WHERE flow_id = ?1 \
             AND revision = (SELECT revision FROM flows WHERE id = ?1) \
             ORDER BY version DESC LIMIT 1"
        );
        let existing = one(
            conn,
            &query,
            params![flow.0],
            decode::version,
            "reading a version",
        )?;
        if let Some(existing) = existing {
            rules::publishable(&new, existing.revision)?;
            return Ok(existing);
        }
    }
    let (revision, version) = flows::take_version_number(conn, flow)?;
    rules::publishable(&new, revision)?;
    conn.prepare_cached(&format!(
        "INSERT INTO versions ({VERSION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5)"
    ))
    .and_then(|mut s| s.execute(params![flow.0, version, revision, new.description, new.now]))
    .map_err(inserting(&format!("version {version} of flow {}", flow.0)))?;
    Ok(rules::published(new, version, revision))
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
    page: &Page<i64>,
) -> Result<Vec<VersionRecord>> {
    let query = format!(
        "SELECT {VERSION_COLUMNS} FROM versions WHERE flow_id = ?1 AND version < ?2 \
         ORDER BY version DESC LIMIT ?3 OFFSET ?4"
    );
    let before = page.after.unwrap_or(i64::MAX);
    let args = params![flow.0, before, sql_limit(page.limit), sql_limit(page.skip)];
    all(conn, &query, args, decode::version, "listing versions")
}

/// Refused while an alias routes to the version: the writer runs this check and the delete
/// as one command, so no alias can start routing to the version in between.
pub(super) fn delete_version(conn: &Connection, flow: FlowId, version: i64) -> Result<()> {
    let aliases = list_named(conn, ALIASES.of(flow), &Page::first(usize::MAX))?;
    rules::unrouted(aliases, version)?;
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

/// Every route's version exists, read by the command that then writes the alias.
fn check_routes(conn: &Connection, flow: FlowId, routes: &[Route]) -> Result<()> {
    let mut present = Vec::with_capacity(routes.len());
    for route in routes {
        if get_version(conn, flow, route.version)?.is_some() {
            present.push(route.version);
        }
    }
    rules::routes_present(routes, &present)
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
    found(changed as u64, || format!("alias {name}"))?;
    get_named(conn, ALIASES.of(flow), name)?
        .ok_or_else(|| StoreError::NotFound(format!("alias {name}")))
}

// ---- aliases and schedules alike ----------------------------------------------------------

/// The flow's row of that name.
pub(super) fn get_named<T>(conn: &Connection, rows: FlowRows<T>, name: &str) -> Result<Option<T>> {
    let table = rows.table;
    let doing = format!("reading a {}", table.what);
    let args = params![rows.flow.0, name];
    one(
        conn,
        &table.get(Backend::Sqlite),
        args,
        table.decode,
        &doing,
    )
}

pub(super) fn delete_named<T>(conn: &Connection, rows: FlowRows<T>, name: &str) -> Result<()> {
    let table = rows.table;
    let deleted = conn
        .execute(&table.delete(Backend::Sqlite), params![rows.flow.0, name])
        .map_err(failed(&format!("deleting a {}", table.what)))?;
    found(deleted as u64, || format!("{} {name}", table.what))
}

/// The flow's rows by name.
pub(super) fn list_named<T>(
    conn: &Connection,
    rows: FlowRows<T>,
    page: &Page<String>,
) -> Result<Vec<T>> {
    let (table, after) = (rows.table, page.after.clone().unwrap_or_default());
    let args = params![
        rows.flow.0,
        after,
        sql_limit(page.limit),
        sql_limit(page.skip)
    ];
    let doing = format!("listing {}", table.table);
    all(
        conn,
        &table.list(Backend::Sqlite),
        args,
        table.decode,
        &doing,
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
pub(super) fn claim_schedule_tick(conn: &Connection, tick: ScheduleTick) -> Result<bool> {
    conn.prepare_cached(
        "UPDATE schedules SET next_fire_at = ?3 WHERE id = ?1 AND next_fire_at = ?2",
    )
    .and_then(|mut s| s.execute(params![tick.schedule, tick.fired, tick.next]))
    .map(|changed| changed == 1)
    .map_err(failed("claiming a schedule tick"))
}
