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

// The backends' own tests share the fixtures of `tests/`, written against this crate's name.
#[cfg(test)]
extern crate self as sluice_store;
#[cfg(test)]
#[path = "../tests/common/fixtures.rs"]
mod fixtures;

mod activities;
mod counts;
mod decode;
mod encode;
mod group;
mod model;
mod nonces;
mod payloads;
pub mod postgres;
mod query;
mod retention;
mod rules;
mod schema;
pub mod sqlite;

use std::time::Duration;

use async_trait::async_trait;
use sluice_engine::{EventId, HistoryEvent, Millis, OpId};
use tokio::sync::broadcast;

pub use model::*;

/// What the backends implement the contract in: its traits and the records they take and
/// return, which both backends import at once (`use crate::contract::*`).
mod contract {
    pub(crate) use crate::{
        ActivityRecord, ActivityStore, AliasRecord, AliasUpdate, CountsQuery, ExecutionCursor,
        ExecutionId, ExecutionName, ExecutionQuery, ExecutionRecord, ExecutionStore,
        ExecutionSummary, FlowDefinition, FlowId, FlowName, FlowQuery, FlowRecord, FlowStore,
        FlowUpdate, JobCursor, JobId, JobRecord, JobStore, MinuteCounts, NewExecution, NewFlow,
        NewVersion, NodeStore, Nonce, NonceStore, Page, Progress, Purge, Result, ScheduleRecord,
        ScheduleStore, ScheduleTick, Signal, StepWrite, TakenOver, TaskRow, TenantId, TimerRow,
        VersionRecord, VersionStore,
    };
}
pub use nonces::Nonce;

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
    /// An alias would route to a version the flow does not have (any more).
    #[error("version {0} does not exist")]
    NoSuchVersion(i64),
    /// A version cannot be deleted while these aliases (named) route to it.
    #[error("aliases {} route to the version", .0.join(", "))]
    RoutedTo(Vec<String>),
    #[error("the database is newer (schema {found}) than this sluice knows (schema {known})")]
    SchemaTooNew { found: i64, known: i64 },
    #[error("storage failure: {0}")]
    Backend(String),
    /// The connection broke while the transaction was committing: it may or may not have
    /// committed. Only [`ExecutionStore::create_execution`] and [`ExecutionStore::commit_step`] say so; the
    /// runtime then reads back whether its step is there.
    #[error("storage failure, the write may have been made: {0}")]
    Uncertain(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The whole store: one trait per concern, each implemented by both backends.
pub trait Store:
    FlowStore
    + ExecutionStore
    + NodeStore
    + VersionStore
    + ScheduleStore
    + JobStore
    + NonceStore
    + ActivityStore
{
}

impl<T> Store for T where
    T: FlowStore
        + ActivityStore
        + ExecutionStore
        + NodeStore
        + VersionStore
        + ScheduleStore
        + JobStore
        + NonceStore
{
}

/// Flows and their revisions.
#[async_trait]
pub trait FlowStore: Send + Sync + 'static {
    /// Creates a flow at revision 1. `AlreadyExists` if the tenant has a flow of that name.
    async fn create_flow(&self, flow: NewFlow) -> Result<FlowRecord>;

    async fn get_flow(&self, tenant: &TenantId, name: &FlowName) -> Result<Option<FlowRecord>>;

    /// The definition of a flow at a revision (executions run the revision they started with,
    /// even after the flow was updated or deleted).
    async fn flow_definition(&self, flow: FlowId, revision: i64) -> Result<Option<FlowDefinition>>;

    /// Applies `update` to the live flow of `current`'s tenant and name if it is still at
    /// `current`'s revision; a definition change makes a new revision. `Conflict` otherwise,
    /// `NotFound` if the flow is gone.
    async fn update_flow(&self, current: &FlowRecord, update: FlowUpdate) -> Result<FlowRecord>;

    /// Deletes a flow; its executions become invisible to listings by name. Returns the
    /// deleted record.
    async fn delete_flow(&self, tenant: &TenantId, name: &FlowName) -> Result<FlowRecord>;

    /// The flows `query` selects, ordered by name.
    async fn list_flows(&self, query: &FlowQuery, page: Page<FlowName>) -> Result<Vec<FlowRecord>>;

    /// How many flows `query` selects.
    async fn count_flows(&self, query: &FlowQuery) -> Result<u64>;
}

/// Executions: their state, history, the timer and task rows the runtime resumes from, and
/// what listings and counts read of them.
#[async_trait]
pub trait ExecutionStore: Send + Sync + 'static {
    /// Creates an execution and commits its first step (the `Start`) in one transaction.
    /// `AlreadyExists` if the flow has an execution of that name; `Closed` if the flow is
    /// closed and `NotFound` if it is deleted, checked in the same transaction, so once a
    /// closing `update_flow` or a `delete_flow` returned no execution can be created behind
    /// it; `NotFound` too if the run it reruns is not the flow's. The store assigns the id:
    /// the `execution` fields inside `step` (and its timer rows) are ignored, and
    /// `step.expected_version` too (a new execution starts at version 1).
    async fn create_execution(&self, new: NewExecution, step: StepWrite)
    -> Result<ExecutionRecord>;

    async fn get_execution(&self, id: ExecutionId) -> Result<Option<ExecutionRecord>>;

    async fn find_execution(
        &self,
        flow: FlowId,
        name: &ExecutionName,
    ) -> Result<Option<ExecutionRecord>>;

    /// The executions `query` selects, in its order, with their engine state.
    async fn list_executions(
        &self,
        query: &ExecutionQuery,
        page: Page<ExecutionCursor>,
    ) -> Result<Vec<ExecutionRecord>>;

    /// The same as [`ExecutionStore::list_executions`], without decoding any engine state.
    async fn list_summaries(
        &self,
        query: &ExecutionQuery,
        page: Page<ExecutionCursor>,
    ) -> Result<Vec<ExecutionSummary>>;

    /// How many executions `query` selects, from the counts the store keeps (without a name
    /// prefix, counting reads no execution row but the ones started in the partial minutes at
    /// the ends of the time range).
    async fn count_executions(&self, query: &ExecutionQuery) -> Result<u64>;

    /// The counts of the executions started in each minute of the range that has any, in
    /// order. Each step that changes an execution's status updates them in its transaction.
    async fn execution_counts(&self, query: &CountsQuery) -> Result<Vec<MinuteCounts>>;

    /// Ids of the executions of a flow that are not terminal.
    async fn active_executions(&self, flow: FlowId) -> Result<Vec<ExecutionId>>;

    /// Makes one engine step durable (see the crate invariants). `Conflict` if the execution
    /// moved past `expected_version`.
    async fn commit_step(&self, step: StepWrite) -> Result<()>;

    /// History events in order.
    async fn history(
        &self,
        execution: ExecutionId,
        page: Page<EventId>,
    ) -> Result<Vec<HistoryEvent>>;

    /// This node's timers firing at or before `until`, earliest first.
    async fn due_timers(&self, until: Millis, limit: usize) -> Result<Vec<TimerRow>>;

    /// Deletes one batch of the finished executions `purge` selects, with their history,
    /// timer and task rows and their counts, in one transaction; returns how many went (0: none
    /// is due). Never deletes an unfinished execution.
    async fn purge_finished(&self, purge: &Purge) -> Result<usize>;
}

/// Nodes sharing the database.
///
/// Every timer row, task row and unfinished job belongs to the node that wrote it. A node
/// renews its lease while it lives; the work of a node whose lease ran out is taken over,
/// once, by one of the others. A single-node store (SQLite) has one owner, the process that
/// opened it: its first `take_over` hands over everything the previous process left.
#[async_trait]
pub trait NodeStore: Send + Sync + 'static {
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

    /// Whether other nodes may share the database, and so hear of the steps committed here.
    fn has_peers(&self) -> bool {
        false
    }

    /// Tells the other nodes of a step committed here, for their live watchers and their long
    /// polls. Best effort, after the commit: queued, and sent with the others queued with it
    /// (a step told to nobody is still committed; a long poll looks at the store anyway).
    fn publish(&self, _step: std::sync::Arc<Progress>) {}

    /// The steps other nodes committed, as they tell them ([`NodeStore::publish`]).
    fn published(&self) -> broadcast::Receiver<std::sync::Arc<Progress>> {
        broadcast::channel(1).1
    }

    /// Those of `calls` whose task rows still exist, i.e. still awaited. A call in flight whose
    /// row is gone was settled by a step committed elsewhere (a stop, a callback): after a
    /// [`Signal::Resync`] that is how a node learns of aborts it did not hear.
    async fn open_calls(&self, calls: &[(ExecutionId, OpId)]) -> Result<Vec<(ExecutionId, OpId)>>;
}

/// Published versions of flows and the aliases routing over them.
#[async_trait]
pub trait VersionStore: Send + Sync + 'static {
    /// Snapshots the flow's current revision as the next version number.
    async fn publish_version(&self, version: NewVersion) -> Result<VersionRecord>;

    async fn get_version(&self, flow: FlowId, version: i64) -> Result<Option<VersionRecord>>;

    /// Versions newest first (`page.after` is a version number: the ones below it).
    async fn list_versions(&self, flow: FlowId, page: Page<i64>) -> Result<Vec<VersionRecord>>;

    /// `RoutedTo` if an alias routes to the version, checked in the transaction that deletes.
    async fn delete_version(&self, flow: FlowId, version: i64) -> Result<()>;

    /// `NoSuchVersion` if a route names a version the flow does not have, checked in the
    /// transaction that writes (a version deleted meanwhile cannot be routed to).
    async fn create_alias(&self, alias: AliasRecord) -> Result<AliasRecord>;

    async fn get_alias(&self, flow: FlowId, name: &str) -> Result<Option<AliasRecord>>;

    /// Changes the given fields only; `NoSuchVersion` as for [`Store::create_alias`],
    /// `NotFound` if the alias is gone.
    async fn update_alias(
        &self,
        flow: FlowId,
        name: &str,
        update: AliasUpdate,
    ) -> Result<AliasRecord>;

    async fn delete_alias(&self, flow: FlowId, name: &str) -> Result<()>;

    /// Aliases by name.
    async fn list_aliases(&self, flow: FlowId, page: Page<String>) -> Result<Vec<AliasRecord>>;
}

/// Cron schedules of flows.
#[async_trait]
pub trait ScheduleStore: Send + Sync + 'static {
    /// `AlreadyExists` if the flow has a schedule of that name. `id` is assigned.
    async fn create_schedule(&self, schedule: ScheduleRecord) -> Result<ScheduleRecord>;

    async fn get_schedule(&self, flow: FlowId, name: &str) -> Result<Option<ScheduleRecord>>;

    async fn update_schedule(&self, schedule: ScheduleRecord) -> Result<ScheduleRecord>;

    async fn delete_schedule(&self, flow: FlowId, name: &str) -> Result<()>;

    /// Schedules by name.
    async fn list_schedules(&self, flow: FlowId, page: Page<String>)
    -> Result<Vec<ScheduleRecord>>;

    /// Enabled schedules whose next fire time is at or before `until`.
    async fn due_schedules(&self, until: Millis) -> Result<Vec<ScheduleRecord>>;

    /// Moves a schedule's next fire time on, only if it is still the tick's: the caller that
    /// gets `true` owns that tick (exactly one firing however many nodes run).
    async fn claim_schedule_tick(&self, tick: ScheduleTick) -> Result<bool>;
}

/// Background jobs.
#[async_trait]
pub trait JobStore: Send + Sync + 'static {
    /// `AlreadyExists` if the id is taken.
    async fn create_job(&self, job: JobRecord) -> Result<()>;

    /// Records a job that moves a flow ([`JobKind::moves_flow`]) only if, checked in the same
    /// transaction, no other such job of the flow is unfinished and the flow's `open` flag is
    /// `open` (either, if `None`): `Conflict` otherwise, `NotFound` if the flow is gone. Of
    /// concurrent requests to move one flow, exactly one gets its job.
    async fn create_flow_job(&self, job: JobRecord, open: Option<bool>) -> Result<()>;

    /// Replaces the job's status, counts, failure and finish time.
    async fn update_job(&self, job: JobRecord) -> Result<()>;

    async fn get_job(&self, tenant: &TenantId, id: &JobId) -> Result<Option<JobRecord>>;

    /// A tenant's jobs, newest first.
    async fn list_jobs(&self, tenant: &TenantId, page: Page<JobCursor>) -> Result<Vec<JobRecord>>;

    /// Jobs not yet finished, oldest first, whichever node runs them.
    async fn unfinished_jobs(&self) -> Result<Vec<JobRecord>>;
}

/// Step Functions activities and the tasks waiting in them.
#[async_trait]
pub trait ActivityStore: Send + Sync + 'static {
    /// Creates the tenant's activity, or answers the one of that name as it is (AWS's
    /// idempotent create: its tags unchanged), in one statement.
    async fn create_activity(&self, activity: ActivityRecord) -> Result<ActivityRecord>;

    async fn get_activity(&self, tenant: &TenantId, name: &str) -> Result<Option<ActivityRecord>>;

    /// Replaces the activity's tags; whether there was one to change.
    async fn retag_activity(
        &self,
        tenant: &TenantId,
        name: &str,
        tags: Vec<(String, String)>,
    ) -> Result<bool>;

    /// Whether there was one to delete. Its waiting tasks stay in their executions.
    async fn delete_activity(&self, tenant: &TenantId, name: &str) -> Result<bool>;

    /// The tenant's activities by name.
    async fn list_activities(
        &self,
        tenant: &TenantId,
        page: Page<String>,
    ) -> Result<Vec<ActivityRecord>>;

    /// The tasks of the tenant's activity `name` that no worker has taken yet, oldest first:
    /// the task rows of activity tasks, which the step of a pickup deletes. A pickup is a step
    /// like any (compare-and-set on the execution), so of two workers taking one task, one
    /// wins.
    async fn waiting_activity_tasks(
        &self,
        tenant: &TenantId,
        name: &str,
        limit: usize,
    ) -> Result<Vec<TaskRow>>;
}

/// Signature nonces of access keys, remembered until they expire.
#[async_trait]
pub trait NonceStore: Send + Sync + 'static {
    /// Remembers a signed request's nonce until it expires, in one write: `false` if the key
    /// used it already and it has not expired at `now` (a replay, on any node). Expired
    /// nonces are pruned along the way.
    async fn remember_nonce(&self, nonce: Nonce, now: Millis) -> Result<bool>;
}
