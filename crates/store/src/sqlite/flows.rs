//! Flows and their revisions.

use rusqlite::{Connection, OptionalExtension, Row, params};
use sluice_engine::Millis;
use sluice_ir::Dialect;

use super::codec::{backend, corrupt, failed, inserting, json_at, sql_limit, to_json};
use crate::{
    ExecutionMode, FlowDefinition, FlowId, FlowName, FlowRecord, FlowUpdate, NewFlow, Result,
    StoreError, TenantId,
};

const COLUMNS: &str = "f.id, f.tenant, f.name, f.description, f.dialect, f.role_arn, f.mode, \
     f.attributes, f.revision, f.open, f.created_at, f.modified_at, r.definition";
/// A flow with the definition of its current revision.
const FROM: &str = "flows f JOIN flow_revisions r ON r.flow_id = f.id AND r.revision = f.revision";

pub(super) fn create(conn: &Connection, flow: &NewFlow) -> Result<FlowRecord> {
    let what = format!("flow {}", flow.name);
    let attributes = to_json(&flow.attributes, "flow attributes")?;
    conn.prepare_cached(
        "INSERT INTO flows (tenant, name, description, dialect, role_arn, mode, attributes, \
         revision, open, created_at, modified_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, 1, ?8, ?8)",
    )
    .and_then(|mut insert| {
        insert.execute(params![
            flow.tenant.0,
            flow.name.0,
            flow.description,
            flow.dialect.as_str(),
            flow.role_arn,
            flow.mode.as_str(),
            attributes,
            flow.now
        ])
    })
    .map_err(inserting(&what))?;
    let id = FlowId(conn.last_insert_rowid());
    insert_revision(conn, id, 1, &flow.definition)?;
    by_id(conn, id)?.ok_or_else(|| backend(format!("{what} vanished after its insert")))
}

/// The live (not deleted) flow of that name.
pub(super) fn live(
    conn: &Connection,
    tenant: &TenantId,
    name: &FlowName,
) -> Result<Option<FlowRecord>> {
    let query = format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE f.tenant = ?1 AND f.name = ?2 AND f.deleted = 0"
    );
    conn.prepare_cached(&query)
        .and_then(|mut s| s.query_row([&tenant.0, &name.0], flow_row).optional())
        .map_err(failed("reading a flow"))
}

fn by_id(conn: &Connection, id: FlowId) -> Result<Option<FlowRecord>> {
    let query = format!("SELECT {COLUMNS} FROM {FROM} WHERE f.id = ?1");
    conn.prepare_cached(&query)
        .and_then(|mut s| s.query_row([id.0], flow_row).optional())
        .map_err(failed("reading a flow"))
}

/// Deleted flows included: their executions still run the revision they started with.
pub(super) fn definition(
    conn: &Connection,
    id: FlowId,
    revision: i64,
) -> Result<Option<FlowDefinition>> {
    conn.prepare_cached(
        "SELECT f.dialect, r.definition FROM flow_revisions r JOIN flows f ON f.id = r.flow_id \
         WHERE r.flow_id = ?1 AND r.revision = ?2",
    )
    .and_then(|mut s| {
        s.query_row(params![id.0, revision], |row| {
            let dialect: String = row.get(0)?;
            Ok(FlowDefinition {
                dialect: Dialect::parse(&dialect).ok_or_else(|| {
                    corrupt(
                        0,
                        format!("flow {} has an unknown dialect {dialect:?}", id.0),
                    )
                })?,
                text: row.get(1)?,
            })
        })
        .optional()
    })
    .map_err(failed("reading a flow definition"))
}

/// Compare-and-set on the revision. Only a definition change makes a new revision; other
/// changes are made in place (the revision still detects a concurrent definition change).
pub(super) fn update(
    conn: &Connection,
    tenant: &TenantId,
    name: &FlowName,
    expected_revision: i64,
    update: FlowUpdate,
    now: Millis,
) -> Result<FlowRecord> {
    let current =
        live(conn, tenant, name)?.ok_or_else(|| StoreError::NotFound(format!("flow {name}")))?;
    if current.revision != expected_revision {
        return Err(StoreError::Conflict(format!(
            "flow {name} (revision {} expected, {} found)",
            expected_revision, current.revision
        )));
    }
    let revision = match &update.definition {
        Some(definition) => {
            let next = current.revision + 1;
            insert_revision(conn, current.id, next, definition)?;
            next
        }
        None => current.revision,
    };
    let attributes = to_json(
        update.attributes.as_ref().unwrap_or(&current.attributes),
        "flow attributes",
    )?;
    conn.prepare_cached(
        "UPDATE flows SET description = ?2, role_arn = ?3, attributes = ?4, open = ?5, \
         revision = ?6, modified_at = ?7 WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            current.id.0,
            update.description.unwrap_or(current.description),
            update.role_arn.or(current.role_arn),
            attributes,
            update.open.unwrap_or(current.open),
            revision,
            now
        ])
    })
    .map_err(failed("updating a flow"))?;
    by_id(conn, current.id)?.ok_or_else(|| backend(format!("flow {name} vanished in its update")))
}

/// Marks the flow deleted (its row and revisions stay for the executions still running it)
/// and drops its schedules: a schedule names its flow, so it would otherwise start executions
/// of a flow re-created under the same name.
pub(super) fn delete(conn: &Connection, tenant: &TenantId, name: &FlowName) -> Result<FlowRecord> {
    let flow =
        live(conn, tenant, name)?.ok_or_else(|| StoreError::NotFound(format!("flow {name}")))?;
    conn.execute("UPDATE flows SET deleted = 1 WHERE id = ?1", [flow.id.0])
        .map_err(failed("deleting a flow"))?;
    conn.execute("DELETE FROM schedules WHERE flow_id = ?1", [flow.id.0])
        .map_err(failed("deleting the schedules of a flow"))?;
    Ok(flow)
}

pub(super) fn list(
    conn: &Connection,
    tenant: &TenantId,
    after: Option<&FlowName>,
    limit: usize,
) -> Result<Vec<FlowRecord>> {
    let query = format!(
        "SELECT {COLUMNS} FROM {FROM} WHERE f.tenant = ?1 AND f.deleted = 0 AND f.name > ?2 \
         ORDER BY f.name LIMIT ?3"
    );
    let after = after.map_or("", FlowName::as_str);
    conn.prepare_cached(&query)
        .and_then(|mut s| {
            s.query_map(params![tenant.0, after, sql_limit(limit)], flow_row)?
                .collect()
        })
        .map_err(failed("listing flows"))
}

/// The current revision and next version number of a live flow, for publishing a version.
pub(super) fn version_source(conn: &Connection, id: FlowId) -> Result<(i64, i64)> {
    conn.query_row(
        "SELECT revision, next_version FROM flows WHERE id = ?1 AND deleted = 0",
        [id.0],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .map_err(failed("reading a flow"))?
    .ok_or_else(|| StoreError::NotFound(format!("flow {}", id.0)))
}

pub(super) fn take_version_number(conn: &Connection, id: FlowId) -> Result<()> {
    conn.execute(
        "UPDATE flows SET next_version = next_version + 1 WHERE id = ?1",
        [id.0],
    )
    .map(drop)
    .map_err(failed("numbering a version"))
}

fn insert_revision(conn: &Connection, id: FlowId, revision: i64, definition: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO flow_revisions (flow_id, revision, definition) VALUES (?1, ?2, ?3)",
    )
    .and_then(|mut s| s.execute(params![id.0, revision, definition]))
    .map(drop)
    .map_err(inserting(&format!("revision {revision} of flow {}", id.0)))
}

fn flow_row(row: &Row<'_>) -> rusqlite::Result<FlowRecord> {
    let id: i64 = row.get(0)?;
    let dialect: String = row.get(4)?;
    let mode: String = row.get(6)?;
    Ok(FlowRecord {
        id: FlowId(id),
        tenant: TenantId(row.get(1)?),
        name: FlowName(row.get(2)?),
        description: row.get(3)?,
        dialect: Dialect::parse(&dialect)
            .ok_or_else(|| corrupt(4, format!("flow {id} has an unknown dialect {dialect:?}")))?,
        role_arn: row.get(5)?,
        mode: ExecutionMode::parse(&mode)
            .ok_or_else(|| corrupt(6, format!("flow {id} has an unknown mode {mode:?}")))?,
        attributes: json_at(row, 7, || format!("flow {id}: attributes"))?,
        revision: row.get(8)?,
        open: row.get(9)?,
        created_at: row.get(10)?,
        modified_at: row.get(11)?,
        definition: row.get(12)?,
    })
}
