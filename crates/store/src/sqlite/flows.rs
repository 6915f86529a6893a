//! Flows and their revisions.

use rusqlite::{Connection, OptionalExtension, params};

use super::codec::{all_of, backend, failed, inserting, one, to_json};
use crate::decode::{self, Columns, FLOW_COLUMNS, FLOW_FROM};
use crate::query::{self, Backend};
use crate::rules::{self, no_flow};
use crate::{
    FlowDefinition, FlowId, FlowName, FlowQuery, FlowRecord, FlowUpdate, NewFlow, Page, Result,
    TenantId,
};

pub(super) fn create(conn: &Connection, flow: &NewFlow) -> Result<FlowRecord> {
    let what = format!("flow {}", flow.name);
    let attributes = to_json(&flow.attributes, "flow attributes")?;
    conn.prepare_cached(
        "INSERT INTO flows (tenant, name, description, dialect, role_arn, mode, attributes, \
         tag, revision, open, created_at, modified_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 1, 1, ?9, ?9)",
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
            flow.tag,
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
        "SELECT {FLOW_COLUMNS} FROM {FLOW_FROM} WHERE f.tenant = ?1 AND f.name = ?2 AND f.deleted = 0"
    );
    one(
        conn,
        &query,
        [&tenant.0, &name.0],
        decode::flow,
        "reading a flow",
    )
}

fn by_id(conn: &Connection, id: FlowId) -> Result<Option<FlowRecord>> {
    let query = format!("SELECT {FLOW_COLUMNS} FROM {FLOW_FROM} WHERE f.id = ?1");
    one(conn, &query, [id.0], decode::flow, "reading a flow")
}

/// Deleted flows included: their executions still run the revision they started with.
pub(super) fn definition(
    conn: &Connection,
    id: FlowId,
    revision: i64,
) -> Result<Option<FlowDefinition>> {
    let query = "SELECT f.dialect, r.definition FROM flow_revisions r JOIN flows f \
         ON f.id = r.flow_id WHERE r.flow_id = ?1 AND r.revision = ?2";
    let args = params![id.0, revision];
    let decode = |row: &dyn Columns| decode::definition(row, id);
    one(conn, query, args, decode, "reading a flow definition")
}

/// See [`rules::flow_change`]. The writer runs one command at a time, so the flow read is the
/// flow changed.
pub(super) fn update(
    conn: &Connection,
    expected: &FlowRecord,
    update: FlowUpdate,
) -> Result<FlowRecord> {
    let name = &expected.name;
    let current = live(conn, &expected.tenant, name)?.ok_or_else(|| no_flow(name))?;
    let now = update.now;
    let change = rules::flow_change(current, expected.revision, update)?;
    if let Some((revision, definition)) = &change.new_revision {
        insert_revision(conn, change.id, *revision, definition)?;
    }
    conn.prepare_cached(
        "UPDATE flows SET description = ?2, role_arn = ?3, attributes = ?4, open = ?5, \
         revision = ?6, modified_at = ?7 WHERE id = ?1",
    )
    .and_then(|mut s| {
        s.execute(params![
            change.id.0,
            change.description,
            change.role_arn,
            change.attributes,
            change.open,
            change.revision,
            now
        ])
    })
    .map_err(failed("updating a flow"))?;
    by_id(conn, change.id)?.ok_or_else(|| backend(format!("flow {name} vanished in its update")))
}

/// Marks the flow deleted (its row and revisions stay for the executions still running it)
/// and drops its schedules: a schedule names its flow, so it would otherwise start executions
/// of a flow re-created under the same name.
pub(super) fn delete(conn: &Connection, tenant: &TenantId, name: &FlowName) -> Result<FlowRecord> {
    let flow = live(conn, tenant, name)?.ok_or_else(|| no_flow(name))?;
    conn.execute("UPDATE flows SET deleted = 1 WHERE id = ?1", [flow.id.0])
        .map_err(failed("deleting a flow"))?;
    conn.execute("DELETE FROM schedules WHERE flow_id = ?1", [flow.id.0])
        .map_err(failed("deleting the schedules of a flow"))?;
    Ok(flow)
}

pub(super) fn list(
    conn: &Connection,
    query: &FlowQuery,
    page: &Page<FlowName>,
) -> Result<Vec<FlowRecord>> {
    let sql = query::flows(query, page, Backend::Sqlite);
    all_of(conn, &sql, decode::flow, "listing flows")
}

pub(super) fn count(conn: &Connection, query: &FlowQuery) -> Result<u64> {
    let sql = query::count_flows(query, Backend::Sqlite);
    let counted = all_of(conn, &sql, decode::number, "counting flows")?;
    Ok(counted
        .into_iter()
        .map(|n| u64::try_from(n).unwrap_or_default())
        .sum())
}

/// Takes the next version number of a live flow (a counter on the flow, so a deleted
/// version's number is never handed out again); returns it with the flow's current revision.
pub(super) fn take_version_number(conn: &Connection, id: FlowId) -> Result<(i64, i64)> {
    conn.query_row(
        "UPDATE flows SET next_version = next_version + 1 WHERE id = ?1 AND deleted = 0 \
         RETURNING revision, next_version - 1",
        [id.0],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .optional()
    .map_err(failed("numbering a version"))?
    .ok_or_else(|| crate::StoreError::NotFound(format!("flow {}", id.0)))
}

fn insert_revision(conn: &Connection, id: FlowId, revision: i64, definition: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO flow_revisions (flow_id, revision, definition) VALUES (?1, ?2, ?3)",
    )
    .and_then(|mut s| s.execute(params![id.0, revision, definition]))
    .map(drop)
    .map_err(inserting(&format!("revision {revision} of flow {}", id.0)))
}
