//! Step Functions activities, the same SQL on both backends: the activity rows, and the
//! tasks waiting in an activity's queue, which are task rows (`tasks.activity`, written by a
//! step that dispatches an activity's task and deleted by the step of its pickup, see
//! [`crate::StepWrite::new`]).

use crate::decode::{ACTIVITY_COLUMNS, TASK_COLUMNS};
use crate::encode::{sql_limit, to_json};
use crate::query::{Backend, Sql};
use crate::{ActivityRecord, Page, Result, TenantId};

/// Creates the activity, or (AWS's idempotent `CreateActivity`) leaves the one of that name
/// as it is: either way the row comes back, in one statement.
pub(crate) fn create(activity: &ActivityRecord, backend: Backend) -> Result<Sql> {
    let mut sql = Sql::new(
        "INSERT INTO activities (tenant, name, created_at, tags) VALUES (",
        backend,
    );
    sql.text("", &activity.tenant.0)
        .text(", ", &activity.name)
        .int(", ", activity.created_at)
        .text(", ", &to_json(&activity.tags, "activity tags")?)
        // A no-op update, so that the existing row is returned too.
        .push(") ON CONFLICT (tenant, name) DO UPDATE SET name = EXCLUDED.name RETURNING ")
        .push(ACTIVITY_COLUMNS);
    Ok(sql)
}

pub(crate) fn get(tenant: &TenantId, name: &str, backend: Backend) -> Sql {
    let mut sql = Sql::new(
        format!("SELECT {ACTIVITY_COLUMNS} FROM activities WHERE"),
        backend,
    );
    sql.text(" tenant = ", &tenant.0).text(" AND name = ", name);
    sql
}

/// Replaces the activity's tags.
pub(crate) fn retag(
    tenant: &TenantId,
    name: &str,
    tags: &[(String, String)],
    backend: Backend,
) -> Result<Sql> {
    let mut sql = Sql::new("UPDATE activities SET", backend);
    sql.text(" tags = ", &to_json(&tags, "activity tags")?)
        .text(" WHERE tenant = ", &tenant.0)
        .text(" AND name = ", name);
    Ok(sql)
}

pub(crate) fn delete(tenant: &TenantId, name: &str, backend: Backend) -> Sql {
    let mut sql = Sql::new("DELETE FROM activities WHERE", backend);
    sql.text(" tenant = ", &tenant.0).text(" AND name = ", name);
    sql
}

/// The tenant's activities by name.
pub(crate) fn list(tenant: &TenantId, page: &Page<String>, backend: Backend) -> Sql {
    let mut sql = Sql::new(
        format!("SELECT {ACTIVITY_COLUMNS} FROM activities WHERE"),
        backend,
    );
    sql.text(" tenant = ", &tenant.0)
        .text(" AND name > ", page.after.as_deref().unwrap_or_default())
        .push(" ORDER BY name")
        .int(" LIMIT ", sql_limit(page.limit))
        .int(" OFFSET ", sql_limit(page.skip));
    sql
}

/// The tasks of the tenant's activity that no worker has taken, oldest first.
pub(crate) fn waiting(tenant: &TenantId, name: &str, limit: usize, backend: Backend) -> Sql {
    let columns = TASK_COLUMNS
        .split(", ")
        .map(|c| format!("t.{c}"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut sql = Sql::new(
        format!("SELECT {columns} FROM tasks t JOIN executions e ON e.id = t.execution_id WHERE"),
        backend,
    );
    sql.text(" t.activity = ", name)
        .text(" AND e.tenant = ", &tenant.0)
        .push(" ORDER BY t.execution_id, t.op")
        .int(" LIMIT ", sql_limit(limit));
    sql
}
