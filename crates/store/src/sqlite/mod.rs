//! The embedded store: one SQLite file in WAL mode.
//!
//! Writes go through one dedicated writer thread owning the write connection, with group
//! commit (see [`writer`]): many concurrent steps share one transaction and one fsync, each in
//! its own savepoint so that one failing write is rolled back alone. Reads use a small pool of
//! connections (see [`readers`]: lookups by key on the caller's thread, scans on the blocking
//! thread pool); WAL lets them proceed while the writer commits.
//!
//! The SQL of each kind of record lives in its own module ([`flows`], [`executions`],
//! [`catalog`]) as plain functions of a connection; this module only routes each trait method
//! to the writer or the readers.

mod catalog;
mod codec;
mod executions;
mod flows;
mod jobs;
mod nonces;
mod readers;
mod schema;
mod writer;

#[cfg(test)]
mod tests;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use rusqlite::Connection;
use sluice_engine::{EventId, HistoryEvent, Millis, OpId};
use tokio::sync::broadcast;

use crate::contract::*;
use crate::query::{ALIASES, Backend, SCHEDULES};
use crate::rules;
use codec::backend;
use executions::{EncodedLinked, EncodedStep};
use readers::Readers;

pub struct SqliteStore {
    writer: writer::Queue,
    readers: Arc<Readers>,
    /// Whether this process took over what the previous one left (see [`Store::take_over`]).
    taken_over: AtomicBool,
    /// One node, nobody to hear from: a sender that never sends.
    signals: broadcast::Sender<Signal>,
    nonces: nonces::Nonces,
}

impl SqliteStore {
    /// Opens the database at `path`, creating it and its directory if needed, and brings its
    /// schema up to date (`SchemaTooNew` if a newer sluice wrote it).
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| backend(format!("creating {}: {e}", dir.display())))?;
        }
        let conn = schema::open_writer(path)?;
        Ok(Self {
            writer: writer::spawn(conn)?,
            readers: Arc::new(Readers::new(path.to_path_buf())),
            taken_over: AtomicBool::new(false),
            signals: broadcast::channel(1).0,
            nonces: nonces::Nonces::open(path)?,
        })
    }

    /// Queues `work` for the writer thread; the answer comes once its group is committed.
    async fn write<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        writer::write(&self.writer, work).await
    }

    /// A lookup of one record by its key (see [`readers`]).
    fn lookup<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        self.readers.lookup(work)
    }

    async fn read<T, F>(&self, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        self.readers.read(work).await
    }
}

#[async_trait]
impl FlowStore for SqliteStore {
    async fn create_flow(&self, flow: NewFlow) -> Result<FlowRecord> {
        self.write(move |c| flows::create(c, &flow)).await
    }

    async fn get_flow(&self, tenant: &TenantId, name: &FlowName) -> Result<Option<FlowRecord>> {
        self.lookup(|c| flows::live(c, tenant, name))
    }

    async fn flow_definition(&self, flow: FlowId, revision: i64) -> Result<Option<FlowDefinition>> {
        self.lookup(|c| flows::definition(c, flow, revision))
    }

    async fn update_flow(&self, current: &FlowRecord, update: FlowUpdate) -> Result<FlowRecord> {
        let current = current.clone();
        self.write(move |c| flows::update(c, &current, update))
            .await
    }

    async fn delete_flow(&self, tenant: &TenantId, name: &FlowName) -> Result<FlowRecord> {
        let (tenant, name) = (tenant.clone(), name.clone());
        self.write(move |c| flows::delete(c, &tenant, &name)).await
    }

    async fn list_flows(&self, query: &FlowQuery, page: Page<FlowName>) -> Result<Vec<FlowRecord>> {
        let query = query.clone();
        self.read(move |c| flows::list(c, &query, &page)).await
    }

    async fn count_flows(&self, query: &FlowQuery) -> Result<u64> {
        let query = query.clone();
        self.read(move |c| flows::count(c, &query)).await
    }
}

#[async_trait]
impl ExecutionStore for SqliteStore {
    async fn create_execution(
        &self,
        new: NewExecution,
        step: StepWrite,
    ) -> Result<ExecutionRecord> {
        let encoded = EncodedStep::new(&step)?;
        let linked = EncodedLinked::all(&step)?;
        let written = new.clone();
        let id = self
            .write(move |c| {
                let id = executions::create(c, &written, &encoded, None)?;
                executions::commit_linked(c, id, &linked).map(|()| id)
            })
            .await?;
        Ok(rules::created_execution(id, new, step.state))
    }

    async fn get_execution(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>> {
        self.lookup(|c| executions::get(c, id))
    }

    async fn find_execution(
        &self,
        flow: FlowId,
        name: &ExecutionName,
    ) -> Result<Option<ExecutionRecord>> {
        self.lookup(|c| executions::find(c, flow, name))
    }

    async fn list_executions(
        &self,
        query: &ExecutionQuery,
        page: Page<ExecutionCursor>,
    ) -> Result<Vec<ExecutionRecord>> {
        let query = query.clone();
        self.read(move |c| executions::list(c, &query, &page)).await
    }

    async fn list_summaries(
        &self,
        query: &ExecutionQuery,
        page: Page<ExecutionCursor>,
    ) -> Result<Vec<ExecutionSummary>> {
        let query = query.clone();
        self.read(move |c| executions::summaries(c, &query, &page))
            .await
    }

    async fn count_executions(&self, query: &ExecutionQuery) -> Result<u64> {
        let query = query.clone();
        self.read(move |c| executions::count(c, &query)).await
    }

    async fn execution_counts(&self, query: &CountsQuery) -> Result<Vec<MinuteCounts>> {
        let query = query.clone();
        self.read(move |c| executions::minute_counts(c, &query))
            .await
    }

    async fn active_executions(&self, flow: FlowId) -> Result<Vec<ExecutionId>> {
        self.read(move |c| executions::active(c, flow)).await
    }

    async fn commit_step(&self, step: StepWrite) -> Result<()> {
        let encoded = EncodedStep::new(&step)?;
        let linked = EncodedLinked::all(&step)?;
        let (id, expected) = (step.execution, step.expected_version);
        self.write(move |c| {
            executions::commit(c, id, expected, &encoded)?;
            executions::commit_linked(c, id, &linked)
        })
        .await
    }

    async fn history(
        &self,
        execution: ExecutionId,
        page: Page<EventId>,
    ) -> Result<Vec<HistoryEvent>> {
        self.read(move |c| executions::history(c, execution, &page))
            .await
    }

    async fn due_timers(&self, until: Millis, limit: usize) -> Result<Vec<TimerRow>> {
        self.read(move |c| executions::due_timers(c, until, limit))
            .await
    }

    async fn purge_finished(&self, purge: &Purge) -> Result<usize> {
        let purge = purge.clone();
        self.write(move |c| executions::purge(c, &purge)).await
    }
}

/// A SQLite database has one node: the process that opened it owns everything, and its
/// first `take_over` hands over all that the previous process left.
#[async_trait]
impl NodeStore for SqliteStore {
    async fn renew_lease(&self) -> Result<bool> {
        Ok(true)
    }

    async fn release_lease(&self) -> Result<()> {
        Ok(())
    }

    async fn take_over(&self, _lease: Duration) -> Result<TakenOver> {
        if self.taken_over.load(Ordering::Acquire) {
            return Ok(TakenOver::default());
        }
        let taken = TakenOver {
            tasks: self.read(executions::pending_tasks).await?,
            jobs: self.unfinished_jobs().await?,
            timers: self.read(executions::timer_count).await?,
        };
        self.taken_over.store(true, Ordering::Release);
        Ok(taken)
    }

    async fn signal(&self, _signal: Signal) -> Result<()> {
        Ok(())
    }

    fn signals(&self) -> broadcast::Receiver<Signal> {
        self.signals.subscribe()
    }

    async fn open_calls(&self, calls: &[(ExecutionId, OpId)]) -> Result<Vec<(ExecutionId, OpId)>> {
        let calls = calls.to_vec();
        self.read(move |c| executions::open_calls(c, &calls)).await
    }
}

#[async_trait]
impl VersionStore for SqliteStore {
    async fn publish_version(&self, version: NewVersion) -> Result<VersionRecord> {
        self.write(move |c| catalog::publish_version(c, version))
            .await
    }

    async fn get_version(&self, flow: FlowId, version: i64) -> Result<Option<VersionRecord>> {
        self.lookup(|c| catalog::get_version(c, flow, version))
    }

    async fn list_versions(&self, flow: FlowId, page: Page<i64>) -> Result<Vec<VersionRecord>> {
        self.read(move |c| catalog::list_versions(c, flow, &page))
            .await
    }

    async fn delete_version(&self, flow: FlowId, version: i64) -> Result<()> {
        self.write(move |c| catalog::delete_version(c, flow, version))
            .await
    }

    async fn create_alias(&self, alias: AliasRecord) -> Result<AliasRecord> {
        self.write(move |c| catalog::create_alias(c, alias)).await
    }

    async fn get_alias(&self, flow: FlowId, name: &str) -> Result<Option<AliasRecord>> {
        self.lookup(|c| catalog::get_named(c, ALIASES.of(flow), name))
    }

    async fn update_alias(&self, flow: FlowId, name: &str, to: AliasUpdate) -> Result<AliasRecord> {
        let name = name.to_string();
        self.write(move |c| catalog::update_alias(c, flow, &name, to))
            .await
    }

    async fn delete_alias(&self, flow: FlowId, name: &str) -> Result<()> {
        let name = name.to_string();
        self.write(move |c| catalog::delete_named(c, ALIASES.of(flow), &name))
            .await
    }

    async fn list_aliases(&self, flow: FlowId, page: Page<String>) -> Result<Vec<AliasRecord>> {
        self.read(move |c| catalog::list_named(c, ALIASES.of(flow), &page))
            .await
    }
}

#[async_trait]
impl ScheduleStore for SqliteStore {
    async fn create_schedule(&self, schedule: ScheduleRecord) -> Result<ScheduleRecord> {
        self.write(move |c| catalog::create_schedule(c, schedule))
            .await
    }

    async fn get_schedule(&self, flow: FlowId, name: &str) -> Result<Option<ScheduleRecord>> {
        self.lookup(|c| catalog::get_named(c, SCHEDULES.of(flow), name))
    }

    async fn update_schedule(&self, schedule: ScheduleRecord) -> Result<ScheduleRecord> {
        self.write(move |c| catalog::update_schedule(c, schedule))
            .await
    }

    async fn delete_schedule(&self, flow: FlowId, name: &str) -> Result<()> {
        let name = name.to_string();
        self.write(move |c| catalog::delete_named(c, SCHEDULES.of(flow), &name))
            .await
    }

    async fn list_schedules(
        &self,
        flow: FlowId,
        page: Page<String>,
    ) -> Result<Vec<ScheduleRecord>> {
        self.read(move |c| catalog::list_named(c, SCHEDULES.of(flow), &page))
            .await
    }

    async fn due_schedules(&self, until: Millis) -> Result<Vec<ScheduleRecord>> {
        self.read(move |c| catalog::due_schedules(c, until)).await
    }

    async fn claim_schedule_tick(&self, tick: ScheduleTick) -> Result<bool> {
        self.write(move |c| catalog::claim_schedule_tick(c, tick))
            .await
    }
}

#[async_trait]
impl JobStore for SqliteStore {
    async fn create_job(&self, job: JobRecord) -> Result<()> {
        self.write(move |c| jobs::create(c, &job)).await
    }

    async fn create_flow_job(&self, job: JobRecord, open: Option<bool>) -> Result<()> {
        self.write(move |c| jobs::create_moving_flow(c, &job, open))
            .await
    }

    async fn update_job(&self, job: JobRecord) -> Result<()> {
        self.write(move |c| jobs::update(c, &job)).await
    }

    async fn get_job(&self, tenant: &TenantId, id: &JobId) -> Result<Option<JobRecord>> {
        self.lookup(|c| jobs::get(c, tenant, id))
    }

    async fn list_jobs(&self, tenant: &TenantId, page: Page<JobCursor>) -> Result<Vec<JobRecord>> {
        let tenant = tenant.clone();
        self.read(move |c| jobs::list(c, &tenant, &page)).await
    }

    async fn unfinished_jobs(&self) -> Result<Vec<JobRecord>> {
        self.read(jobs::unfinished).await
    }
}

#[async_trait]
impl NonceStore for SqliteStore {
    async fn remember_nonce(&self, nonce: Nonce, now: Millis) -> Result<bool> {
        self.nonces.remember(nonce, now).await
    }
}

#[async_trait]
impl ActivityStore for SqliteStore {
    async fn create_activity(&self, activity: ActivityRecord) -> Result<ActivityRecord> {
        let sql = crate::activities::create(&activity, Backend::Sqlite)?;
        self.write(move |c| {
            let row = codec::all_of(c, &sql, crate::decode::activity, "creating an activity")?;
            row.into_iter()
                .next()
                .ok_or_else(|| backend("creating an activity returned no row"))
        })
        .await
    }

    async fn get_activity(&self, tenant: &TenantId, name: &str) -> Result<Option<ActivityRecord>> {
        let sql = crate::activities::get(tenant, name, Backend::Sqlite);
        self.lookup(|c| {
            codec::all_of(c, &sql, crate::decode::activity, "reading an activity")
                .map(|rows| rows.into_iter().next())
        })
    }

    async fn retag_activity(
        &self,
        tenant: &TenantId,
        name: &str,
        tags: Vec<(String, String)>,
    ) -> Result<bool> {
        let sql = crate::activities::retag(tenant, name, &tags, Backend::Sqlite)?;
        self.write(move |c| {
            codec::execute_of(c, &sql)
                .map(|changed| changed > 0)
                .map_err(codec::failed("tagging an activity"))
        })
        .await
    }

    async fn delete_activity(&self, tenant: &TenantId, name: &str) -> Result<bool> {
        let sql = crate::activities::delete(tenant, name, Backend::Sqlite);
        self.write(move |c| {
            codec::execute_of(c, &sql)
                .map(|deleted| deleted > 0)
                .map_err(codec::failed("deleting an activity"))
        })
        .await
    }

    async fn list_activities(
        &self,
        tenant: &TenantId,
        page: Page<String>,
    ) -> Result<Vec<ActivityRecord>> {
        let sql = crate::activities::list(tenant, &page, Backend::Sqlite);
        self.read(move |c| codec::all_of(c, &sql, crate::decode::activity, "listing activities"))
            .await
    }

    async fn waiting_activity_tasks(
        &self,
        tenant: &TenantId,
        name: &str,
        limit: usize,
    ) -> Result<Vec<TaskRow>> {
        let sql = crate::activities::waiting(tenant, name, limit, Backend::Sqlite);
        self.read(move |c| {
            codec::all_of(c, &sql, crate::decode::task, "reading an activity's tasks")
        })
        .await
    }
}
