//! The PostgreSQL schema and its migrations.
//!
//! Names compare byte-wise (`COLLATE "C"`), as in SQLite, so name cursors and prefix ranges
//! mean the same on both backends.

use tokio_postgres::Client;

use super::codec::failed;
use crate::counts::{counts_schema, failure_columns};
use crate::{Result, StoreError};

/// Migrations in order: `MIGRATIONS[i]` brings a database from schema `i` to `i + 1`. Never
/// edit a released entry; append a new one.
const MIGRATIONS: &[&str] = &[V1, V2, V3, V4, V5, V6, V7, V8, V9, V10, V11];

const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// A key every node takes before migrating, so nodes starting together migrate once.
const MIGRATION_LOCK: i64 = 0x736c_7569_6365; // "sluice"

const V1: &str = r#"
CREATE TABLE flows (
    id BIGSERIAL PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    description TEXT NOT NULL,
    dialect TEXT NOT NULL,
    role_arn TEXT,
    mode TEXT NOT NULL,
    attributes TEXT NOT NULL,
    revision BIGINT NOT NULL,
    open BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    deleted BOOLEAN NOT NULL DEFAULT FALSE,
    next_version BIGINT NOT NULL DEFAULT 1
);
CREATE UNIQUE INDEX flows_by_name ON flows (tenant, name) WHERE NOT deleted;
CREATE TABLE flow_revisions (
    flow_id BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    definition TEXT NOT NULL,
    PRIMARY KEY (flow_id, revision)
);
CREATE TABLE executions (
    id BIGSERIAL PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL,
    flow_id BIGINT NOT NULL,
    flow_name TEXT COLLATE "C" NOT NULL,
    flow_revision BIGINT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    status TEXT NOT NULL,
    started_at BIGINT,
    stopped_at BIGINT,
    state TEXT NOT NULL,
    version BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (flow_id, name)
);
CREATE INDEX executions_by_status ON executions (flow_id, status, name);
CREATE TABLE history (
    execution_id BIGINT NOT NULL,
    event_id BIGINT NOT NULL,
    schedule_id BIGINT,
    step TEXT,
    time BIGINT NOT NULL,
    type TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (execution_id, event_id)
);
CREATE TABLE timers (
    execution_id BIGINT NOT NULL,
    op BIGINT NOT NULL,
    fire_at BIGINT NOT NULL,
    PRIMARY KEY (execution_id, op)
);
CREATE INDEX timers_by_time ON timers (fire_at);
CREATE TABLE tasks (
    execution_id BIGINT NOT NULL,
    op BIGINT NOT NULL,
    call TEXT NOT NULL,
    PRIMARY KEY (execution_id, op)
);
CREATE TABLE versions (
    flow_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    revision BIGINT NOT NULL,
    description TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (flow_id, version)
);
CREATE TABLE aliases (
    flow_id BIGINT NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    description TEXT NOT NULL,
    routing TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    PRIMARY KEY (flow_id, name)
);
CREATE TABLE schedules (
    id BIGSERIAL PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL,
    flow_id BIGINT NOT NULL,
    flow_name TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    cron TEXT NOT NULL,
    payload TEXT NOT NULL,
    description TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    next_fire_at BIGINT,
    created_at BIGINT NOT NULL,
    modified_at BIGINT NOT NULL,
    UNIQUE (flow_id, name)
);
CREATE INDEX schedules_due ON schedules (next_fire_at) WHERE enabled;
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    tenant TEXT COLLATE "C" NOT NULL,
    kind TEXT NOT NULL,
    flow_id BIGINT NOT NULL,
    flow_name TEXT COLLATE "C" NOT NULL,
    filter TEXT NOT NULL,
    status TEXT NOT NULL,
    total BIGINT NOT NULL,
    done BIGINT NOT NULL,
    failure TEXT,
    created_at BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX jobs_by_tenant ON jobs (tenant, created_at);
"#;

/// Nodes and what they own (see `nodes.rs`). Rows written before there were owners belong to
/// a node whose lease ran out long ago, so the first node to start takes them over.
const V2: &str = r#"
CREATE TABLE nodes (
    id TEXT PRIMARY KEY,
    renewed_at TIMESTAMPTZ NOT NULL
);
INSERT INTO nodes (id, renewed_at) VALUES ('before-leases', '-infinity');
ALTER TABLE timers ADD COLUMN owner TEXT NOT NULL DEFAULT 'before-leases';
ALTER TABLE tasks ADD COLUMN owner TEXT NOT NULL DEFAULT 'before-leases';
ALTER TABLE jobs ADD COLUMN owner TEXT NOT NULL DEFAULT 'before-leases';
ALTER TABLE timers ALTER COLUMN owner DROP DEFAULT;
ALTER TABLE tasks ALTER COLUMN owner DROP DEFAULT;
ALTER TABLE jobs ALTER COLUMN owner DROP DEFAULT;
DROP INDEX timers_by_time;
CREATE INDEX timers_by_owner ON timers (owner, fire_at);
CREATE INDEX tasks_by_owner ON tasks (owner);
CREATE INDEX unfinished_jobs_by_owner ON jobs (owner) WHERE status IN ('Pending', 'Running');
"#;

/// Signature nonces per access key, until they expire (see `crate::nonces`), shared by every
/// node so that a replay to another node is refused too.
const V3: &str = r#"
CREATE TABLE nonces (
    key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    PRIMARY KEY (key_id, nonce)
);
CREATE INDEX nonces_by_expiry ON nonces (expires_at);
"#;

/// What listings and counts read without decoding engine state (as SQLite's schema 4; see
/// `counts.rs`), the counts of the executions already there added up once (into shard 0:
/// steps write shards 1 to 16, folded into 0 later, see `executions::fold`).
const V4: &str = concat!(
    r#"
ALTER TABLE flows ADD COLUMN tag TEXT COLLATE "C";
UPDATE flows SET tag = COALESCE(attributes::jsonb ->> 'workspace', 'default')
    WHERE dialect = 'dataarts';
ALTER TABLE executions ADD COLUMN tag TEXT COLLATE "C";
ALTER TABLE executions ADD COLUMN listed_at BIGINT;
ALTER TABLE executions ADD COLUMN superseded BOOLEAN NOT NULL DEFAULT FALSE;
"#,
    failure_columns!(),
    r#"
UPDATE executions SET
    listed_at = created_at,
    error = state::jsonb -> 'error' ->> 'code',
    cause = state::jsonb -> 'error' ->> 'detail';
UPDATE executions e SET tag = f.tag FROM flows f WHERE f.id = e.flow_id AND f.tag IS NOT NULL;
ALTER TABLE executions ALTER COLUMN listed_at SET NOT NULL;
"#,
    counts_schema!(),
    r#"
INSERT INTO execution_counts
SELECT flow_id,
       COALESCE(floor(started_at::numeric / 60000)::bigint, -9223372036854775807 - 1) AS minute,
       status, TRUE, 0, COUNT(*), COUNT(stopped_at),
       COALESCE(SUM(stopped_at - started_at), 0)
FROM executions GROUP BY flow_id, minute, status;
"#
);

/// A distributed Map's child executions: the map run each belongs to (none for the flow's own
/// executions), listed by it.
const V5: &str = r#"
ALTER TABLE executions ADD COLUMN map_run TEXT COLLATE "C";
CREATE INDEX executions_by_map_run ON executions (flow_id, map_run, name) WHERE map_run IS NOT NULL;
"#;

const V6: &str = crate::schema::JOB_COUNTS_AND_NEWEST;

const V7: &str = crate::schema::ROOTS_AND_FINISHED;

const V8: &str = crate::schema::STARTED_AS_AND_REDRIVES;

const V9: &str = crate::schema::activities_schema!("TEXT COLLATE \"C\"");

const V10: &str = crate::schema::TEST_CASE;

const V11: &str = crate::schema::PAYLOADS_ONCE;

/// Brings the database up to date in one transaction, refusing a schema newer than this code.
pub(super) async fn migrate(client: &mut Client) -> Result<()> {
    let tx = client
        .transaction()
        .await
        .map_err(failed("starting the migration"))?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(failed("locking for the migration"))?;
    tx.batch_execute("CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)")
        .await
        .map_err(failed("creating schema_version"))?;
    let applied: i64 = tx
        .query_opt("SELECT version FROM schema_version", &[])
        .await
        .map_err(failed("reading schema_version"))?
        .map_or(0, |row| row.get(0));
    if applied > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: applied,
            known: SCHEMA_VERSION,
        });
    }
    for migration in MIGRATIONS
        .iter()
        .skip(usize::try_from(applied).unwrap_or(0))
    {
        tx.batch_execute(migration)
            .await
            .map_err(failed("migrating the schema"))?;
    }
    tx.execute("DELETE FROM schema_version", &[])
        .await
        .map_err(failed("recording the schema version"))?;
    tx.execute(
        "INSERT INTO schema_version (version) VALUES ($1)",
        &[&SCHEMA_VERSION],
    )
    .await
    .map_err(failed("recording the schema version"))?;
    tx.commit()
        .await
        .map_err(failed("committing the migration"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::postgres::PostgresStore;

    /// A database left at schema 2 opens with its DataArts job tagged by its workspace, its
    /// executions' summaries read off their state, and their counts added up.
    #[tokio::test]
    async fn a_schema_2_database_is_migrated_with_tags_summaries_and_counts() {
        let Some(url) = postgres_database().await else {
            return;
        };
        let old = raw_postgres(&url).await;
        for migration in &MIGRATIONS[..2] {
            old.batch_execute(migration).await.expect("schemas 1 and 2");
        }
        old.batch_execute(
            "CREATE TABLE schema_version (version BIGINT NOT NULL); \
             INSERT INTO schema_version VALUES (2);",
        )
        .await
        .expect("schema 2");
        old.batch_execute(ROWS_BEFORE_TAGS)
            .await
            .expect("rows of schema 2");
        drop(old);
        let store = PostgresStore::connect(&url).await.expect("migrate");
        assert_migrated_with_tags_summaries_and_counts(&store).await;
    }
}
