//! Durable storage for sluice.
//!
//! One [`Store`] trait, two implementations: [`sqlite::SqliteStore`] (the embedded default:
//! one file, zero setup) and [`postgres::PostgresStore`] (a PostgreSQL database, the system of
//! record when one machine is not enough). What both write alike is in `encode.rs`, what both
//! read alike in `decode.rs`, the queries both build alike in `query.rs`, and the decisions both
//! make alike in `rules.rs`.
//!
//! Invariants every implementation keeps:
//! - [`Store::commit_step`] is atomic: the execution's new state, its history events and its
//!   timer and task index rows are written together or not at all, and only if the execution
//!   is still at the expected version (compare-and-set);
//! - a write is durable (fsynced) before the call returns;
//! - history event ids of an execution are dense and increasing (the engine assigns them; the
//!   store refuses duplicates through its primary key).

mod decode;
mod encode;
mod model;
pub mod postgres;
mod query;
mod rules;
pub mod sqlite;

use std::time::Duration;

use async_trait::async_trait;
use sluice_engine::{EventId, HistoryEvent, Millis};
use tokio::sync::broadcast;

pub use model::*;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    AlreadyExists(String),
    #[error("{0} does not exist")]
    NotFound(String),
    /// Someone else changed the record first (compare-and-set failed).
    #[error("concurrent update of {0}")]
    Conflict(String),
    /// The flow (named) is closed to new executions (a GES graph stop closed it).
    #[error("flow {0} is closed to new executions")]
    Closed(String),
    #[error("the database is newer (schema {found}) than this sluice knows (schema {known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("storage failure: {0}")]
    Backend(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    // ---- flows -------------------------------------------------------------------------

    /// Creates a flow at revision 1. `AlreadyExists` if the tenant has a flow of that name.
    async fn create_flow(&self, flow: NewFlow) -> Result<FlowRecord>;

    async fn get_flow(&self, tenant: &TenantId, name: &FlowName) -> Result<Option<FlowRecord>>;

    /// The definition of a flow at a revision (executions run the revision they started with,
    /// even after the flow was updated or deleted).
    async fn flow_definition(&self, flow: FlowId, revision: i64) -> Result<Option<FlowDefinition>>;

    /// Applies `update` if the flow is still at `expected_revision`; a definition change makes
    /// a new revision. `Conflict` otherwise, `NotFound` if the flow is gone.
    async fn update_flow(
        &self,
        tenant: &TenantId,
        name: &FlowName,
        expected_revision: i64,
        update: FlowUpdate,
        now: Millis,
    ) -> Result<FlowRecord>;

    /// Deletes a flow; its executions become invisible to listings by name. Returns the
    /// deleted record.
    async fn delete_flow(&self, tenant: &TenantId, name: &FlowName) -> Result<FlowRecord>;

    /// Flows of a tenant ordered by name, starting after `after`.
    async fn list_flows(
        &self,
        tenant: &TenantId,
        after: Option<&FlowName>,
        limit: usize,
    ) -> Result<Vec<FlowRecord>>;

    // ---- executions --------------------------------------------------------------------

    /// Creates an execution and commits its first step (the `Start`) in one transaction.
    /// `AlreadyExists` if the flow has an execution of that name; `Closed` if the flow is
    /// closed, checked in the same transaction, so once a closing `update_flow` returned no
    /// execution can be created behind it. The store assigns the id:
    /// the `execution` fields inside `first` (and its timer rows) are ignored, and
    /// `first.expected_version` too (a new execution starts at version 1).
    async fn create_execution(
        &self,
        execution: NewExecution,
        first: StepWrite,
    ) -> Result<ExecutionRecord>;

    async fn get_execution(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>>;

    async fn find_execution(
        &self,
        flow: FlowId,
        name: &ExecutionName,
    ) -> Result<Option<ExecutionRecord>>;

    /// Executions of a flow ordered by name, starting after `after`.
    async fn list_executions(
        &self,
        flow: FlowId,
        filter: &ExecutionFilter,
        after: Option<&ExecutionName>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>>;

    /// Ids of the executions of a flow that are not terminal.
    async fn active_executions(&self, flow: FlowId) -> Result<Vec<ExecutionId>>;

    /// Makes one engine step durable (see the crate invariants). `Conflict` if the execution
    /// moved past `expected_version`.
    async fn commit_step(&self, step: StepWrite) -> Result<()>;

    /// History events after `after`, in order, at most `limit`.
    async fn history(
        &self,
        execution: ExecutionId,
        after: EventId,
        limit: usize,
    ) -> Result<Vec<HistoryEvent>>;

    // ---- what the runtime resumes ------------------------------------------------------

    /// This node's timers firing at or before `until`, earliest first.
    async fn due_timers(&self, until: Millis, limit: usize) -> Result<Vec<TimerRow>>;

    // ---- nodes sharing the database ----------------------------------------------------
    //
    // Every timer row, task row and unfinished job belongs to the node that wrote it. A node
    // renews its lease while it lives; the work of a node whose lease ran out is taken over,
    // once, by one of the others. A single-node store (SQLite) has one owner, the process that
    // opened it: its first `take_over` hands over everything the previous process left.

    /// Says this node is alive. `false` if its lease had run out and its work may have been
    /// taken over (it renews anyway; the work it still does is at-least-once, see
    /// `docs/several-nodes.md`).
    async fn renew_lease(&self) -> Result<bool>;

    /// Ends this node's lease at once (a graceful shutdown): the other nodes take over its
    /// work at their next round instead of after the lease timeout.
    async fn release_lease(&self) -> Result<()>;

    /// Makes the work of nodes silent for longer than `lease` this node's, and returns it.
    async fn take_over(&self, lease: Duration) -> Result<TakenOver>;

    /// Tells the other nodes sharing the database (nothing to do on a single-node store).
    async fn signal(&self, signal: Signal) -> Result<()>;

    /// What the other nodes signal.
    fn signals(&self) -> broadcast::Receiver<Signal>;

    // ---- versions and aliases ----------------------------------------------------------

    /// Snapshots the flow's current revision as the next version number.
    async fn publish_version(
        &self,
        flow: FlowId,
        description: &str,
        now: Millis,
    ) -> Result<VersionRecord>;

    async fn get_version(&self, flow: FlowId, version: i64) -> Result<Option<VersionRecord>>;

    /// Versions newest first, starting below `before` (exclusive).
    async fn list_versions(
        &self,
        flow: FlowId,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<VersionRecord>>;

    async fn delete_version(&self, flow: FlowId, version: i64) -> Result<()>;

    async fn create_alias(&self, alias: AliasRecord) -> Result<AliasRecord>;

    async fn get_alias(&self, flow: FlowId, name: &str) -> Result<Option<AliasRecord>>;

    async fn update_alias(&self, alias: AliasRecord) -> Result<AliasRecord>;

    async fn delete_alias(&self, flow: FlowId, name: &str) -> Result<()>;

    async fn list_aliases(
        &self,
        flow: FlowId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AliasRecord>>;

    // ---- schedules ---------------------------------------------------------------------

    /// `AlreadyExists` if the flow has a schedule of that name. `id` is assigned.
    async fn create_schedule(&self, schedule: ScheduleRecord) -> Result<ScheduleRecord>;

    async fn get_schedule(&self, flow: FlowId, name: &str) -> Result<Option<ScheduleRecord>>;

    async fn update_schedule(&self, schedule: ScheduleRecord) -> Result<ScheduleRecord>;

    async fn delete_schedule(&self, flow: FlowId, name: &str) -> Result<()>;

    async fn list_schedules(
        &self,
        flow: FlowId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<ScheduleRecord>>;

    /// Enabled schedules whose next fire time is at or before `until`.
    async fn due_schedules(&self, until: Millis) -> Result<Vec<ScheduleRecord>>;

    /// Moves a schedule's next fire time from `fired` to `next`, only if it is still `fired`:
    /// the caller that gets `true` owns that tick (exactly one firing however many nodes run).
    async fn claim_schedule_tick(
        &self,
        id: i64,
        fired: Millis,
        next: Option<Millis>,
    ) -> Result<bool>;

    // ---- background jobs ---------------------------------------------------------------

    /// `AlreadyExists` if the id is taken.
    async fn create_job(&self, job: JobRecord) -> Result<()>;

    /// Replaces the job's status, counts, failure and finish time.
    async fn update_job(&self, job: JobRecord) -> Result<()>;

    async fn get_job(&self, tenant: &TenantId, id: &JobId) -> Result<Option<JobRecord>>;

    /// A tenant's jobs, newest first, skipping `offset`.
    async fn list_jobs(
        &self,
        tenant: &TenantId,
        offset: usize,
        limit: usize,
    ) -> Result<Vec<JobRecord>>;

    /// Jobs not yet finished, oldest first, whichever node runs them.
    async fn unfinished_jobs(&self) -> Result<Vec<JobRecord>>;
}
