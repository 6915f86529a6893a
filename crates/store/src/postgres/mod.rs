//! The PostgreSQL store, for several sluice nodes sharing one database.
//!
//! Same tables and semantics as the SQLite store: each trait call is one transaction on a
//! pooled connection; compare-and-set on an execution's version and a flow's revision; a
//! closed flow refuses new executions inside the creating transaction (it locks the flow row
//! `FOR SHARE`, so it waits for a concurrent closing update and then sees it).
//!
//! The SQL of each kind of record lives in its own module ([`flows`], [`executions`],
//! [`catalog`], [`jobs`], [`nodes`]) as functions of a connection; this module only routes
//! each trait method to them with a pooled connection.

mod catalog;
mod codec;
mod executions;
mod flows;
mod group;
mod jobs;
mod nodes;
mod nonces;
mod schema;
mod steps;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use sluice_engine::{EventId, HistoryEvent, Millis, OpId};
use tokio::sync::broadcast;
use tokio_postgres::NoTls;

use crate::contract::*;
use crate::query::{ALIASES, Backend, SCHEDULES};
use crate::rules;
use codec::{Client, backend, execute, pooled};

/// Connections per node: enough for the runtime's concurrent steps and the API's reads.
const POOL_SIZE: usize = 16;

/// Signals a slow subscriber may fall behind by before it loses some.
const SIGNAL_BACKLOG: usize = 4096;
/// Other nodes' steps a slow subscriber may fall behind by before it loses some.
const STEP_BACKLOG: usize = 4096;

pub struct PostgresStore {
    pool: Pool,
    /// This node, the owner of the timer rows, task rows and jobs it writes (see [`nodes`]).
    node: String,
    signals: broadcast::Sender<Signal>,
    steps: broadcast::Sender<Arc<Progress>>,
    publisher: nodes::Publisher,
    _listener: nodes::Listener,
    _folding: executions::Folding,
    writer: group::Writer,
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
        let hearing = nodes::Hearing {
            signals: broadcast::channel(SIGNAL_BACKLOG).0,
            steps: broadcast::channel(STEP_BACKLOG).0,
        };
        let listener = nodes::listen(config_for_listening, node.clone(), hearing.clone()).await?;
        executions::fold_past(&client).await?;
        Ok(Self {
            _folding: executions::folding(pool.clone()),
            writer: group::Writer::start(pool.clone(), node.clone()),
            publisher: nodes::Publisher::start(pool.clone(), node.clone()),
            pool,
            node,
            signals: hearing.signals,
            steps: hearing.steps,
            _listener: listener,
            pruning: crate::nonces::Pruning::default(),
        })
    }

    /// This node's id, as other nodes see it.
    pub fn node_id(&self) -> &str {
        &self.node
    }

    async fn client(&self) -> Result<Client> {
        pooled(&self.pool).await
    }
}

#[async_trait]
impl FlowStore for PostgresStore {
    async fn create_flow(&self, flow: NewFlow) -> Result<FlowRecord> {
        flows::create(&mut self.client().await?, &flow).await
    }

    async fn get_flow(&self, tenant: &TenantId, name: &FlowName) -> Result<Option<FlowRecord>> {
        flows::live(&self.client().await?, tenant, name, false).await
    }

    async fn flow_definition(&self, flow: FlowId, revision: i64) -> Result<Option<FlowDefinition>> {
        flows::definition(&self.client().await?, flow, revision).await
    }

    async fn update_flow(&self, current: &FlowRecord, update: FlowUpdate) -> Result<FlowRecord> {
        flows::update(&mut self.client().await?, current, update).await
    }

    async fn delete_flow(&self, tenant: &TenantId, name: &FlowName) -> Result<FlowRecord> {
        flows::delete(&mut self.client().await?, tenant, name).await
    }

    async fn list_flows(&self, query: &FlowQuery, page: Page<FlowName>) -> Result<Vec<FlowRecord>> {
        flows::list(&self.client().await?, query, &page).await
    }

    async fn count_flows(&self, query: &FlowQuery) -> Result<u64> {
        flows::count(&self.client().await?, query).await
    }
}

#[async_trait]
impl ExecutionStore for PostgresStore {
    async fn create_execution(
        &self,
        new: NewExecution,
        step: StepWrite,
    ) -> Result<ExecutionRecord> {
        let mut client = self.client().await?;
        let id = executions::create(&mut client, &self.node, &new, &step).await?;
        Ok(rules::created_execution(id, new, step.state))
    }

    async fn get_execution(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>> {
        executions::get(&self.client().await?, id).await
    }

    async fn find_execution(
        &self,
        flow: FlowId,
        name: &ExecutionName,
    ) -> Result<Option<ExecutionRecord>> {
        executions::find(&self.client().await?, flow, name).await
    }

    async fn list_executions(
        &self,
        query: &ExecutionQuery,
        page: Page<ExecutionCursor>,
    ) -> Result<Vec<ExecutionRecord>> {
        executions::list(&self.client().await?, query, &page).await
    }

    async fn list_summaries(
        &self,
        query: &ExecutionQuery,
        page: Page<ExecutionCursor>,
    ) -> Result<Vec<ExecutionSummary>> {
        executions::summaries(&self.client().await?, query, &page).await
    }

    async fn count_executions(&self, query: &ExecutionQuery) -> Result<u64> {
        executions::count(&mut self.client().await?, query).await
    }

    async fn execution_counts(&self, query: &CountsQuery) -> Result<Vec<MinuteCounts>> {
        executions::minute_counts(&self.client().await?, query).await
    }

    async fn active_executions(&self, flow: FlowId) -> Result<Vec<ExecutionId>> {
        executions::active(&self.client().await?, flow).await
    }

    async fn commit_step(&self, step: StepWrite) -> Result<()> {
        if step.linked.is_empty() {
            return self.writer.commit(&step).await;
        }
        executions::commit(&mut self.client().await?, &self.node, &step).await
    }

    async fn history(
        &self,
        execution: ExecutionId,
        page: Page<EventId>,
    ) -> Result<Vec<HistoryEvent>> {
        executions::history(&self.client().await?, execution, &page).await
    }

    async fn due_timers(&self, until: Millis, limit: usize) -> Result<Vec<TimerRow>> {
        executions::due_timers(&self.client().await?, &self.node, until, limit).await
    }

    async fn purge_finished(&self, purge: &Purge) -> Result<usize> {
        executions::purge(&mut self.client().await?, purge).await
    }
}

#[async_trait]
impl NodeStore for PostgresStore {
    async fn renew_lease(&self) -> Result<bool> {
        nodes::renew(&self.client().await?, &self.node).await
    }

    async fn release_lease(&self) -> Result<()> {
        let client = self.client().await?;
        let sql = "UPDATE nodes SET renewed_at = '-infinity' WHERE id = $1";
        execute(&client, sql, &[&self.node]).await.map(drop)
    }

    async fn take_over(&self, lease: Duration) -> Result<TakenOver> {
        nodes::take_over(&mut self.client().await?, &self.node, lease).await
    }

    async fn signal(&self, signal: Signal) -> Result<()> {
        let Some(payload) = nodes::encode(&self.node, signal) else {
            return Ok(());
        };
        let client = self.client().await?;
        let sql = "SELECT pg_notify($1, $2)";
        execute(&client, sql, &[&nodes::CHANNEL, &payload])
            .await
            .map(drop)
    }

    fn signals(&self) -> broadcast::Receiver<Signal> {
        self.signals.subscribe()
    }

    fn has_peers(&self) -> bool {
        true
    }

    fn publish(&self, step: Arc<Progress>) {
        self.publisher.publish(step)
    }

    fn published(&self) -> broadcast::Receiver<Arc<Progress>> {
        self.steps.subscribe()
    }

    async fn open_calls(&self, calls: &[(ExecutionId, OpId)]) -> Result<Vec<(ExecutionId, OpId)>> {
        nodes::open_calls(&self.client().await?, calls).await
    }
}

#[async_trait]
impl VersionStore for PostgresStore {
    async fn publish_version(&self, version: NewVersion) -> Result<VersionRecord> {
        catalog::publish_version(&mut self.client().await?, version).await
    }

    async fn get_version(&self, flow: FlowId, version: i64) -> Result<Option<VersionRecord>> {
        catalog::get_version(&self.client().await?, flow, version).await
    }

    async fn list_versions(&self, flow: FlowId, page: Page<i64>) -> Result<Vec<VersionRecord>> {
        catalog::list_versions(&self.client().await?, flow, &page).await
    }

    async fn delete_version(&self, flow: FlowId, version: i64) -> Result<()> {
        catalog::delete_version(&mut self.client().await?, flow, version).await
    }

    async fn create_alias(&self, alias: AliasRecord) -> Result<AliasRecord> {
        catalog::create_alias(&mut self.client().await?, alias).await
    }

    async fn get_alias(&self, flow: FlowId, name: &str) -> Result<Option<AliasRecord>> {
        let client = self.client().await?;
        catalog::get_named(&client, ALIASES.of(flow), name).await
    }

    async fn update_alias(&self, flow: FlowId, name: &str, to: AliasUpdate) -> Result<AliasRecord> {
        catalog::update_alias(&mut self.client().await?, flow, name, to).await
    }

    async fn delete_alias(&self, flow: FlowId, name: &str) -> Result<()> {
        catalog::delete_named(&self.client().await?, ALIASES.of(flow), name).await
    }

    async fn list_aliases(&self, flow: FlowId, page: Page<String>) -> Result<Vec<AliasRecord>> {
        let client = self.client().await?;
        catalog::list_named(&client, ALIASES.of(flow), &page).await
    }
}

#[async_trait]
impl ScheduleStore for PostgresStore {
    async fn create_schedule(&self, schedule: ScheduleRecord) -> Result<ScheduleRecord> {
        catalog::create_schedule(&self.client().await?, schedule).await
    }

    async fn get_schedule(&self, flow: FlowId, name: &str) -> Result<Option<ScheduleRecord>> {
        let client = self.client().await?;
        catalog::get_named(&client, SCHEDULES.of(flow), name).await
    }

    async fn update_schedule(&self, schedule: ScheduleRecord) -> Result<ScheduleRecord> {
        catalog::update_schedule(&self.client().await?, schedule).await
    }

    async fn delete_schedule(&self, flow: FlowId, name: &str) -> Result<()> {
        catalog::delete_named(&self.client().await?, SCHEDULES.of(flow), name).await
    }

    async fn list_schedules(
        &self,
        flow: FlowId,
        page: Page<String>,
    ) -> Result<Vec<ScheduleRecord>> {
        let client = self.client().await?;
        catalog::list_named(&client, SCHEDULES.of(flow), &page).await
    }

    async fn due_schedules(&self, until: Millis) -> Result<Vec<ScheduleRecord>> {
        catalog::due_schedules(&self.client().await?, until).await
    }

    async fn claim_schedule_tick(&self, tick: ScheduleTick) -> Result<bool> {
        catalog::claim_schedule_tick(&self.client().await?, tick).await
    }
}

#[async_trait]
impl JobStore for PostgresStore {
    async fn create_job(&self, job: JobRecord) -> Result<()> {
        jobs::create(&self.client().await?, &self.node, &job).await
    }

    async fn create_flow_job(&self, job: JobRecord, open: Option<bool>) -> Result<()> {
        jobs::create_moving_flow(&mut self.client().await?, &self.node, &job, open).await
    }

    async fn update_job(&self, job: JobRecord) -> Result<()> {
        jobs::update(&self.client().await?, &job).await
    }

    async fn get_job(&self, tenant: &TenantId, id: &JobId) -> Result<Option<JobRecord>> {
        jobs::get(&self.client().await?, tenant, id).await
    }

    async fn list_jobs(&self, tenant: &TenantId, page: Page<JobCursor>) -> Result<Vec<JobRecord>> {
        jobs::list(&self.client().await?, tenant, &page).await
    }

    async fn unfinished_jobs(&self) -> Result<Vec<JobRecord>> {
        jobs::unfinished(&self.client().await?).await
    }
}

#[async_trait]
impl NonceStore for PostgresStore {
    async fn remember_nonce(&self, nonce: Nonce, now: Millis) -> Result<bool> {
        self.remember(&nonce, now).await
    }
}

#[async_trait]
impl ActivityStore for PostgresStore {
    async fn create_activity(&self, activity: ActivityRecord) -> Result<ActivityRecord> {
        let sql = crate::activities::create(&activity, Backend::Postgres)?;
        let rows = codec::all_of(&self.client().await?, &sql, crate::decode::activity).await?;
        rows.into_iter()
            .next()
            .ok_or_else(|| backend("creating an activity returned no row"))
    }

    async fn get_activity(&self, tenant: &TenantId, name: &str) -> Result<Option<ActivityRecord>> {
        let sql = crate::activities::get(tenant, name, Backend::Postgres);
        let rows = codec::all_of(&self.client().await?, &sql, crate::decode::activity).await?;
        Ok(rows.into_iter().next())
    }

    async fn retag_activity(
        &self,
        tenant: &TenantId,
        name: &str,
        tags: Vec<(String, String)>,
    ) -> Result<bool> {
        let sql = crate::activities::retag(tenant, name, &tags, Backend::Postgres)?;
        codec::execute_of(&self.client().await?, &sql)
            .await
            .map(|changed| changed > 0)
            .map_err(codec::failed("tagging an activity"))
    }

    async fn delete_activity(&self, tenant: &TenantId, name: &str) -> Result<bool> {
        let sql = crate::activities::delete(tenant, name, Backend::Postgres);
        codec::execute_of(&self.client().await?, &sql)
            .await
            .map(|deleted| deleted > 0)
            .map_err(codec::failed("deleting an activity"))
    }

    async fn list_activities(
        &self,
        tenant: &TenantId,
        page: Page<String>,
    ) -> Result<Vec<ActivityRecord>> {
        let sql = crate::activities::list(tenant, &page, Backend::Postgres);
        codec::all_of(&self.client().await?, &sql, crate::decode::activity).await
    }

    async fn waiting_activity_tasks(
        &self,
        tenant: &TenantId,
        name: &str,
        limit: usize,
    ) -> Result<Vec<TaskRow>> {
        let sql = crate::activities::waiting(tenant, name, limit, Backend::Postgres);
        codec::all_of(&self.client().await?, &sql, crate::decode::task).await
    }
}
