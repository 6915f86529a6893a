//! The PostgreSQL store, for several sluice nodes sharing one database.
//!
//! Same tables and semantics as the SQLite store: each trait call is one transaction on a
//! pooled connection; compare-and-set on an execution's version and a flow's revision; a
//! closed flow refuses new executions inside the creating transaction (it locks the flow row
//! `FOR SHARE`, so it waits for a concurrent closing update and then sees it).

mod aliases;
mod flow_jobs;
mod nodes;
mod nonces;
mod schema;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::GenericClient;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use futures_util::future::try_join_all;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sluice_engine::{CallSnapshot, EventId, HistoryEvent, Millis, OpId, Snapshot};
use sluice_ir::{Dialect, StateName};
use tokio::sync::broadcast;
use tokio_postgres::error::SqlState;
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row, Statement};

use crate::encode::{EncodedStep, prefix_successor, sql_limit, to_json};
use crate::{
    AliasRecord, AliasUpdate, ExecutionFilter, ExecutionId, ExecutionMode, ExecutionName,
    ExecutionRecord, FlowDefinition, FlowId, FlowName, FlowRecord, FlowUpdate, JobId, JobKind,
    JobRecord, JobStatus, NewExecution, NewFlow, Nonce, Result, ScheduleRecord, Signal, StepWrite,
    Store, StoreError, TakenOver, TaskRow, TenantId, TimerRow, VersionRecord,
};

/// Connections per node: enough for the runtime's concurrent steps and the API's reads.
const POOL_SIZE: usize = 16;

/// Signals a slow subscriber may fall behind by before it loses some.
const SIGNAL_BACKLOG: usize = 4096;

const FLOW_COLUMNS: &str = "f.id, f.tenant, f.name, f.description, f.dialect, f.role_arn, \
     f.mode, f.attributes, f.revision, f.open, f.created_at, f.modified_at, r.definition";
const FLOW_FROM: &str =
    "flows f JOIN flow_revisions r ON r.flow_id = f.id AND r.revision = f.revision";
const EXECUTION_COLUMNS: &str =
    "id, tenant, flow_id, flow_name, flow_revision, name, state, version, created_at";
const VERSION_COLUMNS: &str = "flow_id, version, revision, description, created_at";
const ALIAS_COLUMNS: &str = "flow_id, name, description, routing, created_at, modified_at";
const SCHEDULE_COLUMNS: &str = "id, tenant, flow_id, flow_name, name, cron, payload, \
     description, enabled, next_fire_at, created_at, modified_at";
const JOB_COLUMNS: &str = "id, tenant, kind, flow_id, flow_name, filter, status, total, done, \
     failure, created_at, finished_at";

pub struct PostgresStore {
    pool: Pool,
    /// This node, the owner of the timer rows, task rows and jobs it writes (see [`nodes`]).
    node: String,
    signals: broadcast::Sender<Signal>,
    _listener: nodes::Listener,
    pruning: crate::nonces::Pruning,
}

impl PostgresStore {
    /// Connects to `url` (`postgres://user@host:port/db`) and migrates the schema.
    pub async fn connect(url: &str) -> Result<Self> {
        let config = tokio_postgres::Config::from_str(url)
            .map_err(|e| backend(format!("the database URL is invalid: {e}")))?;
        let config_for_listening = config.clone();
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .build()
            .map_err(|e| backend(format!("building the connection pool: {e}")))?;
        let mut client = pooled(&pool).await?;
        schema::migrate(&mut client).await?;
        let node = nodes::new_node_id();
        nodes::renew(&client, &node).await?;
        let signals = broadcast::channel(SIGNAL_BACKLOG).0;
        let listener = nodes::listen(config_for_listening, node.clone(), signals.clone()).await?;
        Ok(Self {
            pool,
            node,
            signals,
            _listener: listener,
            pruning: crate::nonces::Pruning::default(),
        })
    }

    /// This node's id, as other nodes see it.
    pub fn node_id(&self) -> &str {
        &self.node
    }

    async fn client(&self) -> Result<deadpool_postgres::Object> {
        pooled(&self.pool).await
    }

    async fn query(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<Vec<Row>> {
        let client = self.client().await?;
        let statement = prepared(&client, sql).await?;
        client.query(&statement, args).await.map_err(failed(sql))
    }

    async fn query_opt(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<Option<Row>> {
        let client = self.client().await?;
        let statement = prepared(&client, sql).await?;
        client
            .query_opt(&statement, args)
            .await
            .map_err(failed(sql))
    }

    /// Runs `sql` and says how many rows it changed.
    async fn execute(&self, sql: &str, args: &[&(dyn ToSql + Sync)]) -> Result<u64> {
        let client = self.client().await?;
        let statement = prepared(&client, sql).await?;
        client.execute(&statement, args).await.map_err(failed(sql))
    }
}

async fn pooled(pool: &Pool) -> Result<deadpool_postgres::Object> {
    pool.get()
        .await
        .map_err(|e| backend(format!("connecting to PostgreSQL: {e}")))
}

fn backend(message: impl Into<String>) -> StoreError {
    StoreError::Backend(message.into())
}

pub(super) fn failed(doing: &str) -> impl FnOnce(tokio_postgres::Error) -> StoreError + '_ {
    move |e| backend(format!("{doing}: {e}"))
}

/// Like [`failed`], for a `COMMIT`: a broken connection leaves its outcome unknown. (A
/// refusal by the server, e.g. a serialization failure, is certain.)
fn uncertain(doing: &str) -> impl FnOnce(tokio_postgres::Error) -> StoreError + '_ {
    move |e| {
        if e.as_db_error().is_some() {
            backend(format!("{doing}: {e}"))
        } else {
            StoreError::Uncertain(format!("{doing}: {e}"))
        }
    }
}

/// Like [`failed`], but a unique-key violation means `what` already exists.
fn inserting(what: &str) -> impl FnOnce(tokio_postgres::Error) -> StoreError + '_ {
    move |e| {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            StoreError::AlreadyExists(what.to_string())
        } else {
            backend(format!("inserting {what}: {e}"))
        }
    }
}

fn found(changed: u64, what: impl FnOnce() -> String) -> Result<()> {
    if changed == 0 {
        return Err(StoreError::NotFound(what()));
    }
    Ok(())
}

fn json<T: DeserializeOwned>(row: &Row, index: usize, what: impl FnOnce() -> String) -> Result<T> {
    let text: String = row.get(index);
    serde_json::from_str(&text).map_err(|e| backend(format!("{} is corrupt: {e}", what())))
}

fn unsigned(value: i64, what: &str) -> Result<u64> {
    u64::try_from(value).map_err(|_| backend(format!("negative {what} {value}")))
}

fn limit(limit: usize) -> i64 {
    sql_limit(limit)
}

// ---- row decoding -----------------------------------------------------------------------

fn flow_row(row: &Row) -> Result<FlowRecord> {
    let id: i64 = row.get(0);
    let dialect: String = row.get(4);
    let mode: String = row.get(6);
    Ok(FlowRecord {
        id: FlowId(id),
        tenant: TenantId(row.get(1)),
        name: FlowName(row.get(2)),
        description: row.get(3),
        dialect: Dialect::parse(&dialect)
            .ok_or_else(|| backend(format!("flow {id} has an unknown dialect {dialect:?}")))?,
        role_arn: row.get(5),
        mode: ExecutionMode::parse(&mode)
            .ok_or_else(|| backend(format!("flow {id} has an unknown mode {mode:?}")))?,
        attributes: json(row, 7, || format!("flow {id}: attributes"))?,
        revision: row.get(8),
        open: row.get(9),
        created_at: row.get(10),
        modified_at: row.get(11),
        definition: row.get(12),
    })
}

fn execution_row(row: &Row) -> Result<ExecutionRecord> {
    let id = ExecutionId(row.get(0));
    Ok(ExecutionRecord {
        id,
        tenant: TenantId(row.get(1)),
        flow_id: FlowId(row.get(2)),
        flow_name: FlowName(row.get(3)),
        flow_revision: row.get(4),
        name: ExecutionName(row.get(5)),
        state: json::<Snapshot>(row, 6, || format!("execution {id}: state"))?.into(),
        version: row.get(7),
        created_at: row.get(8),
    })
}

fn task_row(row: &Row) -> Result<TaskRow> {
    let execution = ExecutionId(row.get(0));
    let op: i64 = row.get(1);
    Ok(TaskRow {
        execution,
        call: json::<CallSnapshot>(row, 2, || format!("task {op} of execution {execution}"))?
            .into(),
    })
}

fn history_row(row: &Row, execution: ExecutionId) -> Result<HistoryEvent> {
    let id = EventId(unsigned(row.get(0), "event id")?);
    let what = || format!("event {} of execution {execution}", id.0);
    let kind: String = row.get(4);
    Ok(HistoryEvent {
        schedule_id: row
            .get::<_, Option<i64>>(1)
            .map(|s| unsigned(s, "schedule id").map(EventId))
            .transpose()?,
        step: row.get::<_, Option<String>>(2).map(StateName::new),
        time: row.get(3),
        kind: serde_json::from_value(Value::String(kind.clone()))
            .map_err(|_| backend(format!("{}: unknown type {kind:?}", what())))?,
        detail: json(row, 5, || format!("{}: detail", what()))?,
        id,
    })
}

fn version_row(row: &Row) -> VersionRecord {
    VersionRecord {
        flow_id: FlowId(row.get(0)),
        version: row.get(1),
        revision: row.get(2),
        description: row.get(3),
        created_at: row.get(4),
    }
}

fn alias_row(row: &Row) -> Result<AliasRecord> {
    let flow_id = FlowId(row.get(0));
    let name: String = row.get(1);
    Ok(AliasRecord {
        routing: json(row, 3, || {
            format!("alias {name} of flow {}: routing", flow_id.0)
        })?,
        flow_id,
        name,
        description: row.get(2),
        created_at: row.get(4),
        modified_at: row.get(5),
    })
}

fn schedule_row(row: &Row) -> ScheduleRecord {
    ScheduleRecord {
        id: row.get(0),
        tenant: TenantId(row.get(1)),
        flow_id: FlowId(row.get(2)),
        flow_name: FlowName(row.get(3)),
        name: row.get(4),
        cron: row.get(5),
        payload: row.get(6),
        description: row.get(7),
        enabled: row.get(8),
        next_fire_at: row.get(9),
        created_at: row.get(10),
        modified_at: row.get(11),
    }
}

fn job_row(row: &Row) -> Result<JobRecord> {
    let id = JobId(row.get(0));
    let kind: String = row.get(2);
    let status: String = row.get(6);
    Ok(JobRecord {
        kind: JobKind::parse(&kind)
            .ok_or_else(|| backend(format!("job {id} has an unknown kind {kind:?}")))?,
        status: JobStatus::parse(&status)
            .ok_or_else(|| backend(format!("job {id} has an unknown status {status:?}")))?,
        tenant: TenantId(row.get(1)),
        flow_id: FlowId(row.get(3)),
        flow_name: FlowName(row.get(4)),
        filter: json(row, 5, || format!("the filter of job {id}"))?,
        total: row.get(7),
        done: row.get(8),
        failure: row.get(9),
        created_at: row.get(10),
        finished_at: row.get(11),
        id,
    })
}

// ---- writes shared by create_execution and commit_step ----------------------------------

const INSERT_EVENT: &str = "INSERT INTO history (execution_id, event_id, schedule_id, step, time, type, detail) \
     VALUES ($1, $2, $3, $4, $5, $6, $7)";
const DELETE_TIMER: &str = "DELETE FROM timers WHERE execution_id = $1 AND op = $2";
const DELETE_TASK: &str = "DELETE FROM tasks WHERE execution_id = $1 AND op = $2";
const UPSERT_TIMER: &str = "INSERT INTO timers (execution_id, op, fire_at, owner) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (execution_id, op) DO UPDATE \
     SET fire_at = EXCLUDED.fire_at, owner = EXCLUDED.owner";
const UPSERT_TASK: &str = "INSERT INTO tasks (execution_id, op, call, owner) \
     VALUES ($1, $2, $3, $4) ON CONFLICT (execution_id, op) DO UPDATE \
     SET call = EXCLUDED.call, owner = EXCLUDED.owner";

/// Removals first, then additions, so a reused op id keeps its new row. The statements of
/// each phase are pipelined: sent together, run in order, answered together.
async fn write_step_rows<C: GenericClient>(
    tx: &C,
    owner: &str,
    id: ExecutionId,
    step: &EncodedStep,
) -> Result<()> {
    let (delete_timer, delete_task, insert_event, upsert_timer, upsert_task) = tokio::try_join!(
        prepared(tx, DELETE_TIMER),
        prepared(tx, DELETE_TASK),
        prepared(tx, INSERT_EVENT),
        prepared(tx, UPSERT_TIMER),
        prepared(tx, UPSERT_TASK)
    )?;
    let timers_removed = try_join_all(step.timers_removed.iter().map(|op| async {
        tx.execute(&delete_timer, &[&id.0, op])
            .await
            .map_err(failed("deleting a timer"))
    }));
    let tasks_removed = try_join_all(step.tasks_removed.iter().map(|op| async {
        tx.execute(&delete_task, &[&id.0, op])
            .await
            .map_err(failed("deleting a task"))
    }));
    tokio::try_join!(timers_removed, tasks_removed)?;

    let events = try_join_all(step.events.iter().map(|event| async {
        let args: [&(dyn ToSql + Sync); 7] = [
            &id.0,
            &event.id,
            &event.schedule_id,
            &event.step,
            &event.time,
            &event.kind,
            &event.detail,
        ];
        tx.execute(&insert_event, &args)
            .await
            .map_err(inserting(&format!("event {} of execution {id}", event.id)))
    }));
    let timers_added = try_join_all(step.timers_added.iter().map(|(op, fire_at)| async {
        tx.execute(&upsert_timer, &[&id.0, op, fire_at, &owner])
            .await
            .map_err(failed("inserting a timer"))
    }));
    let tasks_added = try_join_all(step.tasks_added.iter().map(|(op, call)| async {
        tx.execute(&upsert_task, &[&id.0, op, call, &owner])
            .await
            .map_err(failed("inserting a task"))
    }));
    tokio::try_join!(events, timers_added, tasks_added)?;
    Ok(())
}

/// `sql` as a statement prepared once per connection.
async fn prepared<C: GenericClient>(client: &C, sql: &str) -> Result<Statement> {
    client.prepare_cached(sql).await.map_err(failed(sql))
}

/// The live flow of that name; with `lock`, its row is locked first (`FOR UPDATE`, so a start
/// of the flow waits, see the module comment). The lock is taken on the flows row alone: a
/// locked read joined with the revisions would lose the row when the revision it joined on
/// changes under it.
async fn live_flow<C: GenericClient>(
    client: &C,
    tenant: &TenantId,
    name: &FlowName,
    lock: bool,
) -> Result<Option<FlowRecord>> {
    if lock {
        client
            .execute(
                "SELECT id FROM flows WHERE tenant = $1 AND name = $2 AND NOT deleted FOR UPDATE",
                &[&tenant.0, &name.0],
            )
            .await
            .map_err(failed("locking a flow"))?;
    }
    let sql = format!(
        "SELECT {FLOW_COLUMNS} FROM {FLOW_FROM} WHERE f.tenant = $1 AND f.name = $2 \
         AND NOT f.deleted"
    );
    client
        .query_opt(&sql, &[&tenant.0, &name.0])
        .await
        .map_err(failed("reading a flow"))?
        .as_ref()
        .map(flow_row)
        .transpose()
}

#[async_trait]
impl Store for PostgresStore {
    async fn create_flow(&self, flow: NewFlow) -> Result<FlowRecord> {
        let what = format!("flow {}", flow.name);
        let attributes = to_json(&flow.attributes, "flow attributes")?;
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(failed("starting a transaction"))?;
        let row = tx
            .query_one(
                "INSERT INTO flows (tenant, name, description, dialect, role_arn, mode, \
                 attributes, revision, open, created_at, modified_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 1, TRUE, $8, $8) RETURNING id",
                &[
                    &flow.tenant.0,
                    &flow.name.0,
                    &flow.description,
                    &flow.dialect.as_str(),
                    &flow.role_arn,
                    &flow.mode.as_str(),
                    &attributes,
                    &flow.now,
                ],
            )
            .await
            .map_err(inserting(&what))?;
        let id: i64 = row.get(0);
        tx.execute(
            "INSERT INTO flow_revisions (flow_id, revision, definition) VALUES ($1, 1, $2)",
            &[&id, &flow.definition],
        )
        .await
        .map_err(inserting(&what))?;
        let created = live_flow(&tx, &flow.tenant, &flow.name, false).await?;
        tx.commit().await.map_err(failed("committing a flow"))?;
        created.ok_or_else(|| backend(format!("{what} vanished after its insert")))
    }

    async fn get_flow(&self, tenant: &TenantId, name: &FlowName) -> Result<Option<FlowRecord>> {
        let client = self.client().await?;
        live_flow(&client, tenant, name, false).await
    }

    async fn flow_definition(&self, flow: FlowId, revision: i64) -> Result<Option<FlowDefinition>> {
        Ok(self
            .query_opt(
                "SELECT f.dialect, r.definition FROM flow_revisions r JOIN flows f \
                 ON f.id = r.flow_id WHERE r.flow_id = $1 AND r.revision = $2",
                &[&flow.0, &revision],
            )
            .await?
            .map(|row| {
                let dialect: String = row.get(0);
                Ok(FlowDefinition {
                    dialect: Dialect::parse(&dialect).ok_or_else(|| {
                        backend(format!(
                            "flow {} has an unknown dialect {dialect:?}",
                            flow.0
                        ))
                    })?,
                    text: row.get(1),
                })
            })
            .transpose()?)
    }

    async fn update_flow(
        &self,
        tenant: &TenantId,
        name: &FlowName,
        expected_revision: i64,
        update: FlowUpdate,
        now: Millis,
    ) -> Result<FlowRecord> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(failed("starting a transaction"))?;
        // FOR UPDATE: a start of this flow waits for the update (see the module comment).
        let current = live_flow(&tx, tenant, name, true)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("flow {name}")))?;
        if current.revision != expected_revision {
            return Err(StoreError::Conflict(format!(
                "flow {name} (revision {expected_revision} expected, {} found)",
                current.revision
            )));
        }
        let revision = match &update.definition {
            Some(definition) => {
                let next = current.revision + 1;
                tx.execute(
                    "INSERT INTO flow_revisions (flow_id, revision, definition) VALUES ($1, $2, $3)",
                    &[&current.id.0, &next, definition],
                )
                .await
                .map_err(inserting(&format!("revision {next} of flow {name}")))?;
                next
            }
            None => current.revision,
        };
        let attributes = to_json(
            update.attributes.as_ref().unwrap_or(&current.attributes),
            "flow attributes",
        )?;
        tx.execute(
            "UPDATE flows SET description = $2, role_arn = $3, attributes = $4, open = $5, \
             revision = $6, modified_at = $7 WHERE id = $1",
            &[
                &current.id.0,
                &update.description.unwrap_or(current.description),
                &update.role_arn.or(current.role_arn),
                &attributes,
                &update.open.unwrap_or(current.open),
                &revision,
                &now,
            ],
        )
        .await
        .map_err(failed("updating a flow"))?;
        let updated = live_flow(&tx, tenant, name, false).await?;
        tx.commit()
            .await
            .map_err(failed("committing a flow update"))?;
        updated.ok_or_else(|| backend(format!("flow {name} vanished in its update")))
    }

    async fn delete_flow(&self, tenant: &TenantId, name: &FlowName) -> Result<FlowRecord> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(failed("starting a transaction"))?;
        let flow = live_flow(&tx, tenant, name, true)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("flow {name}")))?;
        tx.execute(
            "UPDATE flows SET deleted = TRUE WHERE id = $1",
            &[&flow.id.0],
        )
        .await
        .map_err(failed("deleting a flow"))?;
        tx.execute("DELETE FROM schedules WHERE flow_id = $1", &[&flow.id.0])
            .await
            .map_err(failed("deleting the schedules of a flow"))?;
        tx.commit()
            .await
            .map_err(failed("committing a flow delete"))?;
        Ok(flow)
    }

    async fn list_flows(
        &self,
        tenant: &TenantId,
        after: Option<&FlowName>,
        max: usize,
    ) -> Result<Vec<FlowRecord>> {
        let sql = format!(
            "SELECT {FLOW_COLUMNS} FROM {FLOW_FROM} WHERE f.tenant = $1 AND NOT f.deleted \
             AND f.name > $2 ORDER BY f.name LIMIT $3"
        );
        let after = after.map_or("", FlowName::as_str);
        self.query(&sql, &[&tenant.0, &after, &limit(max)])
            .await?
            .iter()
            .map(flow_row)
            .collect()
    }

    async fn create_execution(
        &self,
        execution: NewExecution,
        first: StepWrite,
    ) -> Result<ExecutionRecord> {
        let encoded = EncodedStep::new(&first)?;
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(failed("starting a transaction"))?;
        let lock_flow = prepared(
            &tx,
            "SELECT open FROM flows WHERE id = $1 AND NOT deleted FOR SHARE",
        )
        .await?;
        let open: Option<bool> = tx
            .query_opt(&lock_flow, &[&execution.flow_id.0])
            .await
            .map_err(failed("reading whether a flow is open"))?
            .map(|row| row.get(0));
        match open {
            Some(true) => {}
            Some(false) => return Err(StoreError::Closed(execution.flow_name.to_string())),
            None => {
                return Err(StoreError::NotFound(format!(
                    "flow {}",
                    execution.flow_name
                )));
            }
        }
        let insert = prepared(
            &tx,
            "INSERT INTO executions (tenant, flow_id, flow_name, flow_revision, name, status, \
             started_at, stopped_at, state, version, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 1, $10) RETURNING id",
        )
        .await?;
        let row = tx
            .query_one(
                &insert,
                &[
                    &execution.tenant.0,
                    &execution.flow_id.0,
                    &execution.flow_name.0,
                    &execution.flow_revision,
                    &execution.name.0,
                    &encoded.status,
                    &encoded.started_at,
                    &encoded.stopped_at,
                    &encoded.state,
                    &execution.now,
                ],
            )
            .await
            .map_err(inserting(&format!(
                "execution {} of flow {}",
                execution.name, execution.flow_name
            )))?;
        let id = ExecutionId(row.get(0));
        write_step_rows(&tx, &self.node, id, &encoded).await?;
        tx.commit()
            .await
            .map_err(uncertain("committing an execution"))?;
        Ok(ExecutionRecord {
            id,
            tenant: execution.tenant,
            flow_id: execution.flow_id,
            flow_name: execution.flow_name,
            flow_revision: execution.flow_revision,
            name: execution.name,
            state: first.state,
            version: 1,
            created_at: execution.now,
        })
    }

    async fn get_execution(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>> {
        let sql = format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = $1");
        self.query_opt(&sql, &[&id.0])
            .await?
            .as_ref()
            .map(execution_row)
            .transpose()
    }

    async fn find_execution(
        &self,
        flow: FlowId,
        name: &ExecutionName,
    ) -> Result<Option<ExecutionRecord>> {
        let sql =
            format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE flow_id = $1 AND name = $2");
        self.query_opt(&sql, &[&flow.0, &name.0])
            .await?
            .as_ref()
            .map(execution_row)
            .transpose()
    }

    async fn list_executions(
        &self,
        flow: FlowId,
        filter: &ExecutionFilter,
        after: Option<&ExecutionName>,
        max: usize,
    ) -> Result<Vec<ExecutionRecord>> {
        let mut sql = format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE flow_id = $1");
        let status = filter.status.map(|s| s.as_str().to_string());
        let successor = filter.name_prefix.as_deref().and_then(prefix_successor);
        let mut conditions: Vec<(&str, &(dyn ToSql + Sync))> = Vec::new();
        if let Some(after) = after {
            conditions.push(("name >", &after.0));
        }
        if let Some(status) = &status {
            conditions.push(("status =", status));
        }
        if let Some(prefix) = &filter.name_prefix {
            conditions.push(("name >=", prefix));
        }
        if let Some(successor) = &successor {
            conditions.push(("name <", successor));
        }
        if let Some(from) = &filter.started_from {
            conditions.push(("started_at >=", from));
        }
        if let Some(to) = &filter.started_to {
            conditions.push(("started_at <=", to));
        }
        let mut args: Vec<&(dyn ToSql + Sync)> = vec![&flow.0];
        for (clause, value) in conditions {
            args.push(value);
            sql.push_str(&format!(" AND {clause} ${}", args.len()));
        }
        let max = limit(max);
        args.push(&max);
        sql.push_str(&format!(" ORDER BY name LIMIT ${}", args.len()));
        self.query(&sql, &args)
            .await?
            .iter()
            .map(execution_row)
            .collect()
    }

    async fn active_executions(&self, flow: FlowId) -> Result<Vec<ExecutionId>> {
        Ok(self
            .query(
                "SELECT id FROM executions WHERE flow_id = $1 \
                 AND status IN ('Starting', 'Running') ORDER BY id",
                &[&flow.0],
            )
            .await?
            .iter()
            .map(|row| ExecutionId(row.get(0)))
            .collect())
    }

    async fn commit_step(&self, step: StepWrite) -> Result<()> {
        let encoded = EncodedStep::new(&step)?;
        let id = step.execution;
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(failed("starting a transaction"))?;
        let update = prepared(
            &tx,
            "UPDATE executions SET state = $1, status = $2, started_at = $3, stopped_at = $4, \
             version = version + 1 WHERE id = $5 AND version = $6",
        )
        .await?;
        let changed = tx
            .execute(
                &update,
                &[
                    &encoded.state,
                    &encoded.status,
                    &encoded.started_at,
                    &encoded.stopped_at,
                    &id.0,
                    &step.expected_version,
                ],
            )
            .await
            .map_err(failed("updating an execution"))?;
        if changed == 0 {
            let found: Option<i64> = tx
                .query_opt("SELECT version FROM executions WHERE id = $1", &[&id.0])
                .await
                .map_err(failed("reading an execution"))?
                .map(|row| row.get(0));
            return Err(match found {
                Some(found) => StoreError::Conflict(format!(
                    "execution {id} (version {} expected, {found} found)",
                    step.expected_version
                )),
                None => StoreError::NotFound(format!("execution {id}")),
            });
        }
        write_step_rows(&tx, &self.node, id, &encoded).await?;
        tx.commit().await.map_err(uncertain("committing a step"))
    }

    async fn history(
        &self,
        execution: ExecutionId,
        after: EventId,
        max: usize,
    ) -> Result<Vec<HistoryEvent>> {
        let after = i64::try_from(after.0).unwrap_or(i64::MAX);
        self.query(
            "SELECT event_id, schedule_id, step, time, type, detail FROM history \
             WHERE execution_id = $1 AND event_id > $2 ORDER BY event_id LIMIT $3",
            &[&execution.0, &after, &limit(max)],
        )
        .await?
        .iter()
        .map(|row| history_row(row, execution))
        .collect()
    }

    async fn due_timers(&self, until: Millis, max: usize) -> Result<Vec<TimerRow>> {
        self.query(
            "SELECT execution_id, op, fire_at FROM timers WHERE owner = $3 AND fire_at <= $1 \
             ORDER BY fire_at LIMIT $2",
            &[&until, &limit(max), &self.node],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(TimerRow {
                execution: ExecutionId(row.get(0)),
                op: OpId(unsigned(row.get(1), "op id")?),
                fire_at: row.get(2),
            })
        })
        .collect()
    }

    async fn renew_lease(&self) -> Result<bool> {
        let client = self.client().await?;
        nodes::renew(&client, &self.node).await
    }

    async fn release_lease(&self) -> Result<()> {
        self.execute(
            "UPDATE nodes SET renewed_at = '-infinity' WHERE id = $1",
            &[&self.node],
        )
        .await
        .map(drop)
    }

    async fn take_over(&self, lease: Duration) -> Result<TakenOver> {
        let mut client = self.client().await?;
        nodes::take_over(&mut client, &self.node, lease).await
    }

    async fn signal(&self, signal: Signal) -> Result<()> {
        let Some(payload) = nodes::encode(&self.node, signal) else {
            return Ok(());
        };
        self.execute("SELECT pg_notify($1, $2)", &[&nodes::CHANNEL, &payload])
            .await
            .map(drop)
    }

    fn signals(&self) -> broadcast::Receiver<Signal> {
        self.signals.subscribe()
    }

    async fn open_calls(&self, calls: &[(ExecutionId, OpId)]) -> Result<Vec<(ExecutionId, OpId)>> {
        let client = self.client().await?;
        nodes::open_calls(&client, calls).await
    }

    async fn publish_version(
        &self,
        flow: FlowId,
        description: &str,
        now: Millis,
    ) -> Result<VersionRecord> {
        let mut client = self.client().await?;
        let tx = client
            .transaction()
            .await
            .map_err(failed("starting a transaction"))?;
        let (revision, version): (i64, i64) = tx
            .query_opt(
                "UPDATE flows SET next_version = next_version + 1 WHERE id = $1 AND NOT deleted \
                 RETURNING revision, next_version - 1",
                &[&flow.0],
            )
            .await
            .map_err(failed("numbering a version"))?
            .map(|row| (row.get(0), row.get(1)))
            .ok_or_else(|| StoreError::NotFound(format!("flow {}", flow.0)))?;
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

    async fn get_version(&self, flow: FlowId, version: i64) -> Result<Option<VersionRecord>> {
        let sql =
            format!("SELECT {VERSION_COLUMNS} FROM versions WHERE flow_id = $1 AND version = $2");
        Ok(self
            .query_opt(&sql, &[&flow.0, &version])
            .await?
            .as_ref()
            .map(version_row))
    }

    async fn list_versions(
        &self,
        flow: FlowId,
        before: Option<i64>,
        max: usize,
    ) -> Result<Vec<VersionRecord>> {
        let sql = format!(
            "SELECT {VERSION_COLUMNS} FROM versions WHERE flow_id = $1 AND version < $2 \
             ORDER BY version DESC LIMIT $3"
        );
        let before = before.unwrap_or(i64::MAX);
        Ok(self
            .query(&sql, &[&flow.0, &before, &limit(max)])
            .await?
            .iter()
            .map(version_row)
            .collect())
    }

    async fn delete_version(&self, flow: FlowId, version: i64) -> Result<()> {
        let mut client = self.client().await?;
        aliases::delete_version(&mut client, flow, version).await
    }

    async fn create_alias(&self, alias: AliasRecord) -> Result<AliasRecord> {
        let mut client = self.client().await?;
        aliases::create(&mut client, &alias).await?;
        Ok(alias)
    }

    async fn get_alias(&self, flow: FlowId, name: &str) -> Result<Option<AliasRecord>> {
        let sql = format!("SELECT {ALIAS_COLUMNS} FROM aliases WHERE flow_id = $1 AND name = $2");
        self.query_opt(&sql, &[&flow.0, &name])
            .await?
            .as_ref()
            .map(alias_row)
            .transpose()
    }

    async fn update_alias(
        &self,
        flow: FlowId,
        name: &str,
        update: AliasUpdate,
    ) -> Result<AliasRecord> {
        let mut client = self.client().await?;
        aliases::update(&mut client, flow, name, &update).await
    }

    async fn delete_alias(&self, flow: FlowId, name: &str) -> Result<()> {
        let changed = self
            .execute(
                "DELETE FROM aliases WHERE flow_id = $1 AND name = $2",
                &[&flow.0, &name],
            )
            .await?;
        found(changed, || format!("alias {name}"))
    }

    async fn list_aliases(
        &self,
        flow: FlowId,
        after: Option<&str>,
        max: usize,
    ) -> Result<Vec<AliasRecord>> {
        let sql = format!(
            "SELECT {ALIAS_COLUMNS} FROM aliases WHERE flow_id = $1 AND name > $2 \
             ORDER BY name LIMIT $3"
        );
        self.query(&sql, &[&flow.0, &after.unwrap_or_default(), &limit(max)])
            .await?
            .iter()
            .map(alias_row)
            .collect()
    }

    async fn create_schedule(&self, schedule: ScheduleRecord) -> Result<ScheduleRecord> {
        let client = self.client().await?;
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

    async fn get_schedule(&self, flow: FlowId, name: &str) -> Result<Option<ScheduleRecord>> {
        let sql =
            format!("SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE flow_id = $1 AND name = $2");
        Ok(self
            .query_opt(&sql, &[&flow.0, &name])
            .await?
            .as_ref()
            .map(schedule_row))
    }

    async fn update_schedule(&self, schedule: ScheduleRecord) -> Result<ScheduleRecord> {
        let changed = self
            .execute(
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

    async fn delete_schedule(&self, flow: FlowId, name: &str) -> Result<()> {
        let changed = self
            .execute(
                "DELETE FROM schedules WHERE flow_id = $1 AND name = $2",
                &[&flow.0, &name],
            )
            .await?;
        found(changed, || format!("schedule {name}"))
    }

    async fn list_schedules(
        &self,
        flow: FlowId,
        after: Option<&str>,
        max: usize,
    ) -> Result<Vec<ScheduleRecord>> {
        let sql = format!(
            "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE flow_id = $1 AND name > $2 \
             ORDER BY name LIMIT $3"
        );
        Ok(self
            .query(&sql, &[&flow.0, &after.unwrap_or_default(), &limit(max)])
            .await?
            .iter()
            .map(schedule_row)
            .collect())
    }

    async fn due_schedules(&self, until: Millis) -> Result<Vec<ScheduleRecord>> {
        let sql = format!(
            "SELECT {SCHEDULE_COLUMNS} FROM schedules WHERE enabled AND next_fire_at IS NOT NULL \
             AND next_fire_at <= $1 ORDER BY next_fire_at, id"
        );
        Ok(self
            .query(&sql, &[&until])
            .await?
            .iter()
            .map(schedule_row)
            .collect())
    }

    async fn claim_schedule_tick(
        &self,
        id: i64,
        fired: Millis,
        next: Option<Millis>,
    ) -> Result<bool> {
        let changed = self
            .execute(
                "UPDATE schedules SET next_fire_at = $3 WHERE id = $1 AND next_fire_at = $2",
                &[&id, &fired, &next],
            )
            .await?;
        Ok(changed == 1)
    }

    async fn create_job(&self, job: JobRecord) -> Result<()> {
        let client = self.client().await?;
        flow_jobs::insert(&client, &self.node, &job).await
    }

    async fn create_flow_job(&self, job: JobRecord, open: Option<bool>) -> Result<()> {
        let mut client = self.client().await?;
        flow_jobs::create(&mut client, &self.node, &job, open).await
    }

    async fn update_job(&self, job: JobRecord) -> Result<()> {
        let changed = self
            .execute(
                "UPDATE jobs SET status = $2, total = $3, done = $4, failure = $5, \
                 finished_at = $6 WHERE id = $1",
                &[
                    &job.id.0,
                    &job.status.as_str(),
                    &job.total,
                    &job.done,
                    &job.failure,
                    &job.finished_at,
                ],
            )
            .await?;
        found(changed, || format!("job {}", job.id))
    }

    async fn get_job(&self, tenant: &TenantId, id: &JobId) -> Result<Option<JobRecord>> {
        let sql = format!("SELECT {JOB_COLUMNS} FROM jobs WHERE id = $1 AND tenant = $2");
        self.query_opt(&sql, &[&id.0, &tenant.0])
            .await?
            .as_ref()
            .map(job_row)
            .transpose()
    }

    async fn list_jobs(
        &self,
        tenant: &TenantId,
        offset: usize,
        max: usize,
    ) -> Result<Vec<JobRecord>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE tenant = $1 \
             ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3"
        );
        self.query(&sql, &[&tenant.0, &limit(max), &limit(offset)])
            .await?
            .iter()
            .map(job_row)
            .collect()
    }

    async fn unfinished_jobs(&self) -> Result<Vec<JobRecord>> {
        let sql = format!(
            "SELECT {JOB_COLUMNS} FROM jobs WHERE status IN ('Pending', 'Running') \
             ORDER BY created_at"
        );
        self.query(&sql, &[]).await?.iter().map(job_row).collect()
    }

    async fn remember_nonce(&self, nonce: Nonce, now: Millis) -> Result<bool> {
        self.remember(&nonce, now).await
    }
}
