//! Background jobs: closing a flow and stopping its running executions (a GES graph stop),
//! reopening it, or stopping a filtered set of executions.
//!
//! A job is a store record written before it runs and after every batch, so its progress is
//! visible while it runs and a node that takes over a dead one's work resumes it
//! (`leases.rs`). Every step is idempotent: closing a closed flow, stopping a stopped execution.
//!
//! Why closing is enough to catch every execution: the store refuses to create an execution
//! of a closed flow inside the creating transaction, so once the closing update returned, the
//! running executions the job lists are all there will ever be.

use std::sync::Arc;

use futures_util::StreamExt;
use sluice_engine::{Input, Status};
use sluice_runtime::durable::{Applied, Backoff, RuntimeError, is_transient, wall_clock_ms};
use sluice_store::{
    ExecutionFilter, ExecutionId, ExecutionQuery, ExecutionSummary, FlowName, FlowRecord,
    FlowUpdate, JobFilter, JobId, JobKind, JobRecord, JobStatus, Page, StoreError,
};

use crate::views::{FlowView, JobView, views};
use crate::{Caller, Result, Service, ServiceError};

/// Stops in flight at once within one job.
const STOP_CONCURRENCY: usize = 32;
/// Executions stopped between two progress writes.
const BATCH: usize = 50;
/// Executions read per page when selecting by filter.
const SELECT_PAGE: usize = 500;

/// Where a flow stands with respect to new executions, as jobs move it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlowState {
    Open,
    /// A closing job is running: new starts are refused, running executions are being stopped.
    Closing,
    Closed,
    /// A reopening job is running.
    Opening,
}

impl Service {
    /// Closes the flow and stops its running executions, in the background. Refused if the
    /// flow is already closed or closing.
    pub async fn close_flow(self: &Arc<Self>, caller: &Caller, name: &str) -> Result<JobView> {
        self.move_flow(caller, name, JobKind::CloseFlow, Some(true), |flow| {
            ServiceError::FlowNotOpen(flow.to_string())
        })
        .await
    }

    /// Reopens a closed flow. Refused unless it is closed.
    pub async fn open_flow(self: &Arc<Self>, caller: &Caller, name: &str) -> Result<JobView> {
        self.move_flow(caller, name, JobKind::OpenFlow, Some(false), |flow| {
            ServiceError::FlowNotClosed(flow.to_string())
        })
        .await
    }

    /// Closes the flow, stops its executions, and reopens it, whatever state it was in
    /// (other than being moved by another job).
    pub async fn restart_flow(self: &Arc<Self>, caller: &Caller, name: &str) -> Result<JobView> {
        self.move_flow(caller, name, JobKind::RestartFlow, None, |flow| {
            ServiceError::FlowNotOpen(flow.to_string())
        })
        .await
    }

    /// Launches a job moving the flow if no other job moves it and its `open` flag is `open`
    /// (either, if `None`): the store checks both in the transaction that records the job, so
    /// of concurrent requests exactly one gets a job, the others `refused`.
    async fn move_flow(
        self: &Arc<Self>,
        caller: &Caller,
        name: &str,
        kind: JobKind,
        open: Option<bool>,
        refused: impl Fn(&FlowName) -> ServiceError,
    ) -> Result<JobView> {
        let flow = self.flow(caller, name).await?;
        let job = new_job(caller, &flow, kind, JobFilter::default());
        match self.store.create_flow_job(job.clone(), open).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(refused(&flow.name)),
            Err(StoreError::NotFound(_)) => {
                return Err(ServiceError::FlowNotFound(name.to_string()));
            }
            Err(e) => return Err(e.into()),
        }
        self.spawn_job(job.clone());
        Ok(job.into())
    }

    /// Stops, in the background, the running executions of a flow that `filter` selects.
    pub async fn stop_executions(
        self: &Arc<Self>,
        caller: &Caller,
        name: &str,
        filter: JobFilter,
    ) -> Result<JobView> {
        let flow = self.flow(caller, name).await?;
        let job = self
            .launch(caller, &flow, JobKind::StopExecutions, filter)
            .await?;
        Ok(job.into())
    }

    pub async fn job(&self, caller: &Caller, id: &str) -> Result<JobView> {
        self.store
            .get_job(&caller.tenant, &JobId::new(id))
            .await?
            .map(JobView::from)
            .ok_or_else(|| ServiceError::NotFound {
                kind: "job",
                name: id.to_string(),
            })
    }

    /// The caller's jobs, newest first.
    pub async fn jobs(&self, caller: &Caller, offset: usize, limit: usize) -> Result<Vec<JobView>> {
        let page = Page::offset(offset, limit);
        Ok(views(self.store.list_jobs(&caller.tenant, page).await?))
    }

    /// The flow and where it stands.
    pub async fn flow_state(&self, caller: &Caller, name: &str) -> Result<(FlowView, FlowState)> {
        let flow = self.flow(caller, name).await?;
        let moving = self.running_flow_job(&flow).await?;
        let state = match (moving, flow.open) {
            (Some(JobKind::OpenFlow), _) => FlowState::Opening,
            (Some(JobKind::CloseFlow | JobKind::RestartFlow), _) => FlowState::Closing,
            (_, true) => FlowState::Open,
            (_, false) => FlowState::Closed,
        };
        Ok((flow.into(), state))
    }

    async fn running_flow_job(&self, flow: &FlowRecord) -> Result<Option<JobKind>> {
        let unfinished = self.store.unfinished_jobs().await?;
        Ok(unfinished
            .into_iter()
            .filter(|j| j.flow_id == flow.id && j.kind.moves_flow())
            .map(|j| j.kind)
            .next_back())
    }

    async fn launch(
        self: &Arc<Self>,
        caller: &Caller,
        flow: &FlowRecord,
        kind: JobKind,
        filter: JobFilter,
    ) -> Result<JobRecord> {
        let job = self.record_job(caller, flow, kind, filter).await?;
        self.spawn_job(job.clone());
        Ok(job)
    }

    /// Stores a new pending job, to be run by [`Service::run_job`].
    pub(crate) async fn record_job(
        &self,
        caller: &Caller,
        flow: &FlowRecord,
        kind: JobKind,
        filter: JobFilter,
    ) -> Result<JobRecord> {
        let job = new_job(caller, flow, kind, filter);
        self.store.create_job(job.clone()).await?;
        Ok(job)
    }

    /// Runs the job in the background; while the store fails it is run again (every step is
    /// idempotent), so a job this node owns always gets to its end.
    pub(crate) fn spawn_job(self: &Arc<Self>, job: JobRecord) {
        let service = Arc::clone(self);
        tokio::spawn(async move {
            let mut backoff = Backoff::default();
            loop {
                match service.run_job(job.clone()).await {
                    Ok(()) => return,
                    Err(Halt::Retry(reason)) => {
                        if backoff.attempts() == 0 {
                            tracing::warn!(job = %job.id, error = %reason, "a background job was interrupted by the store; running it again until it answers");
                        }
                        backoff.pause().await;
                    }
                    Err(Halt::Fail(e)) => {
                        return tracing::error!(job = %job.id, error = %e, "a background job failed");
                    }
                }
            }
        });
    }

    /// Runs a job to its end, or to the first failure of the store.
    pub(crate) async fn run_job(&self, mut job: JobRecord) -> Result<(), Halt> {
        tracing::info!(tenant = %job.tenant, job = %job.id, kind = job.kind.as_str(), flow = %job.flow_name, "job started");
        job.status = JobStatus::Running;
        self.store.update_job(job.clone()).await?;
        match self.carry_out(&mut job).await {
            Ok(()) => job.status = JobStatus::Succeeded,
            Err(Halt::Retry(reason)) => return Err(Halt::Retry(reason)),
            Err(Halt::Fail(e)) => {
                job.status = JobStatus::Failed;
                job.failure = Some(e.to_string());
            }
        }
        job.finished_at = Some(wall_clock_ms());
        self.store.update_job(job.clone()).await?;
        tracing::info!(
            tenant = %job.tenant,
            job = %job.id,
            kind = job.kind.as_str(),
            flow = %job.flow_name,
            status = job.status.as_str(),
            stopped = job.done,
            duration_ms = job.finished_at.unwrap_or_default().saturating_sub(job.created_at),
            failure = job.failure.as_deref(),
            "job finished"
        );
        Ok(())
    }

    async fn carry_out(&self, job: &mut JobRecord) -> Result<(), Halt> {
        if matches!(job.kind, JobKind::CloseFlow | JobKind::RestartFlow) {
            self.set_open(job, false).await?;
        }
        if job.kind.stops() {
            self.stop_selected(job).await?;
        }
        if matches!(job.kind, JobKind::OpenFlow | JobKind::RestartFlow) {
            self.set_open(job, true).await?;
        }
        Ok(())
    }

    /// Sets the flow's `open` flag, retrying on concurrent updates of the flow.
    async fn set_open(&self, job: &JobRecord, open: bool) -> Result<(), Halt> {
        loop {
            let Some(flow) = self.store.get_flow(&job.tenant, &job.flow_name).await? else {
                return Ok(()); // deleted: its executions were stopped by the delete
            };
            if flow.id != job.flow_id || flow.open == open {
                return Ok(());
            }
            let update = FlowUpdate {
                open: Some(open),
                now: wall_clock_ms(),
                ..Default::default()
            };
            match self.store.update_flow(&flow, update).await {
                Err(StoreError::Conflict(_)) => continue,
                Err(StoreError::NotFound(_)) => return Ok(()),
                other => {
                    other?;
                    return Ok(());
                }
            }
        }
    }

    /// Selects the executions to stop once (for a closed flow that is all there will be),
    /// then stops them batch by batch, writing progress after each batch.
    async fn stop_selected(&self, job: &mut JobRecord) -> Result<(), Halt> {
        let selected = self.select(job).await?;
        job.total = selected.len() as i64;
        job.done = 0;
        job.already_completed = 0;
        job.failed = 0;
        self.store.update_job(job.clone()).await?;
        let (error, cause) = match job.kind {
            JobKind::DeleteFlow => (
                "FlowDeleted".into(),
                format!("flow {} was deleted", job.flow_name),
            ),
            _ => (
                job.filter
                    .stop_error
                    .clone()
                    .unwrap_or_else(|| "JobStopped".into()),
                job.filter
                    .stop_cause
                    .clone()
                    .unwrap_or_else(|| format!("stopped by job {}", job.id)),
            ),
        };
        for batch in selected.chunks(BATCH) {
            let stopped = futures_util::stream::iter(batch.iter().copied())
                .map(|id| self.stop_for_job(id, &error, &cause))
                .buffer_unordered(STOP_CONCURRENCY)
                .collect::<Vec<Result<Stop, Halt>>>()
                .await;
            for result in stopped {
                match result? {
                    Stop::Stopped => {}
                    Stop::AlreadyCompleted => job.already_completed += 1,
                    Stop::Failed => job.failed += 1,
                }
                job.done += 1;
            }
            self.store.update_job(job.clone()).await?;
        }
        Ok(())
    }

    /// Ids of the running executions the job selects.
    async fn select(&self, job: &JobRecord) -> Result<Vec<ExecutionId>, Halt> {
        if job.filter.selects_all() {
            return Ok(self.store.active_executions(job.flow_id).await?);
        }
        let filter = ExecutionFilter {
            status: Some(Status::Running),
            map_run: None,
            name_prefix: job.filter.name_prefix.clone(),
            started_from: job.filter.started_from,
            started_to: job.filter.started_to,
            ..ExecutionFilter::default()
        };
        let query = ExecutionQuery::of_flow(&job.tenant, job.flow_id, &filter);
        let mut ids = Vec::new();
        let mut after = None;
        loop {
            let page = Page::after(after, SELECT_PAGE);
            let page = self.store.list_summaries(&query, page).await?;
            after = page.last().map(ExecutionSummary::cursor);
            let last = page.len() < SELECT_PAGE;
            ids.extend(page.into_iter().map(|e| e.id));
            if last {
                return Ok(ids);
            }
        }
    }

    /// One stop with the stop contract of a single StopExecution. An execution that finished
    /// meanwhile is already completed; one that cannot be stopped for good (its definition no
    /// longer compiles, it is gone) is counted as failed and the job goes on.
    async fn stop_for_job(&self, id: ExecutionId, error: &str, cause: &str) -> Result<Stop, Halt> {
        let stop = Input::Stop {
            error: Some(error.into()),
            cause: Some(cause.to_string()),
        };
        match self.runtime.submit(id, stop).await {
            Ok(Applied::Committed(..)) => Ok(Stop::Stopped),
            Ok(Applied::Rejected(..)) => Ok(Stop::AlreadyCompleted),
            Err(RuntimeError::Store(e)) if is_transient(&e) => Err(e.into()),
            Err(e) => {
                tracing::warn!(execution = %id, error = %e, "a job could not stop an execution");
                Ok(Stop::Failed)
            }
        }
    }
}

fn new_job(caller: &Caller, flow: &FlowRecord, kind: JobKind, filter: JobFilter) -> JobRecord {
    JobRecord {
        id: JobId::new(uuid::Uuid::new_v4().simple().to_string()),
        tenant: caller.tenant.clone(),
        kind,
        flow_id: flow.id,
        flow_name: flow.name.clone(),
        filter,
        status: JobStatus::Pending,
        total: 0,
        done: 0,
        already_completed: 0,
        failed: 0,
        failure: None,
        created_at: wall_clock_ms(),
        finished_at: None,
    }
}

/// What one stop of a job came to.
enum Stop {
    Stopped,
    AlreadyCompleted,
    Failed,
}

/// Why a job stopped short of its end.
#[derive(Debug)]
pub(crate) enum Halt {
    /// The store failed: the job is run again once it answers.
    Retry(String),
    /// The job failed for good (recorded as its failure).
    Fail(ServiceError),
}

impl From<StoreError> for Halt {
    fn from(e: StoreError) -> Self {
        if is_transient(&e) {
            Halt::Retry(e.to_string())
        } else {
            Halt::Fail(e.into())
        }
    }
}

impl From<RuntimeError> for Halt {
    fn from(e: RuntimeError) -> Self {
        match e {
            RuntimeError::Store(e) => e.into(),
            other => Halt::Fail(other.into()),
        }
    }
}

impl From<Halt> for ServiceError {
    fn from(halt: Halt) -> Self {
        match halt {
            Halt::Retry(reason) => ServiceError::Internal(reason),
            Halt::Fail(e) => e,
        }
    }
}

/// Progress of a job in percent, for the dialects that report one.
pub fn progress_percent(job: &JobView) -> f64 {
    match (job.status, job.total) {
        (JobStatus::Succeeded, _) => 100.0,
        (_, 0) => 0.0,
        _ => (job.done as f64 * 100.0 / job.total as f64).min(100.0),
    }
}
