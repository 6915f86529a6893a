//! Aliases and the versions they route to, kept consistent under concurrent changes: an alias
//! write locks the versions it routes to (`FOR SHARE`), a version's delete locks its row (the
//! delete itself) and only then reads the aliases. Whichever comes second sees the first's
//! committed change: an alias never routes to a deleted version.

use deadpool_postgres::GenericClient;

use super::{ALIAS_COLUMNS, alias_row, failed, found, inserting};
use crate::encode::to_json;
use crate::{AliasRecord, AliasUpdate, FlowId, Result, Route, StoreError};

pub(super) async fn create(
    client: &mut deadpool_postgres::Object,
    alias: &AliasRecord,
) -> Result<()> {
    let routing = to_json(&alias.routing, "alias routing")?;
    let tx = client
        .transaction()
        .await
        .map_err(failed("starting a transaction"))?;
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
    tx.commit().await.map_err(failed("committing an alias"))
}

/// The given fields in one statement (`COALESCE` keeps the others as stored).
pub(super) async fn update(
    client: &mut deadpool_postgres::Object,
    flow: FlowId,
    name: &str,
    update: &AliasUpdate,
) -> Result<AliasRecord> {
    let routing = update
        .routing
        .as_ref()
        .map(|routes| to_json(routes, "alias routing"))
        .transpose()?;
    let tx = client
        .transaction()
        .await
        .map_err(failed("starting a transaction"))?;
    if let Some(routes) = &update.routing {
        lock_routes(&tx, flow, routes).await?;
    }
    let row = tx
        .query_opt(
            &format!(
                "UPDATE aliases SET description = COALESCE($3, description), \
                 routing = COALESCE($4, routing), modified_at = $5 \
                 WHERE flow_id = $1 AND name = $2 RETURNING {ALIAS_COLUMNS}"
            ),
            &[
                &flow.0,
                &name,
                &update.description,
                &routing,
                &update.modified_at,
            ],
        )
        .await
        .map_err(failed("updating an alias"))?
        .ok_or_else(|| StoreError::NotFound(format!("alias {name}")))?;
    let alias = alias_row(&row)?;
    tx.commit().await.map_err(failed("committing an alias"))?;
    Ok(alias)
}

/// Deletes first (which waits for the alias writes holding the row), then reads the aliases
/// with a fresh snapshot: one routing to the version undoes the delete.
pub(super) async fn delete_version(
    client: &mut deadpool_postgres::Object,
    flow: FlowId,
    version: i64,
) -> Result<()> {
    let tx = client
        .transaction()
        .await
        .map_err(failed("starting a transaction"))?;
    let deleted = tx
        .execute(
            "DELETE FROM versions WHERE flow_id = $1 AND version = $2",
            &[&flow.0, &version],
        )
        .await
        .map_err(failed("deleting a version"))?;
    found(deleted, || format!("version {version} of flow {}", flow.0))?;
    let mut routed_to = Vec::new();
    let aliases = tx
        .query(
            &format!("SELECT {ALIAS_COLUMNS} FROM aliases WHERE flow_id = $1 ORDER BY name"),
            &[&flow.0],
        )
        .await
        .map_err(failed("reading aliases"))?;
    for row in &aliases {
        let alias = alias_row(row)?;
        if alias.routes_to(version) {
            routed_to.push(alias.name);
        }
    }
    if !routed_to.is_empty() {
        return Err(StoreError::RoutedTo(routed_to));
    }
    tx.commit().await.map_err(failed("committing a delete"))
}

/// Share-locks the routes' versions until the transaction ends (a concurrent delete waits);
/// `NoSuchVersion` if one is missing (or was deleted meanwhile).
async fn lock_routes<C: GenericClient>(client: &C, flow: FlowId, routes: &[Route]) -> Result<()> {
    let versions: Vec<i64> = routes.iter().map(|route| route.version).collect();
    let rows = client
        .query(
            "SELECT version FROM versions WHERE flow_id = $1 AND version = ANY($2) FOR SHARE",
            &[&flow.0, &versions],
        )
        .await
        .map_err(failed("reading versions"))?;
    let present: Vec<i64> = rows.iter().map(|row| row.get(0)).collect();
    match versions.into_iter().find(|v| !present.contains(v)) {
        Some(missing) => Err(StoreError::NoSuchVersion(missing)),
        None => Ok(()),
    }
}
