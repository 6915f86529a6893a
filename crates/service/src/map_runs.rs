//! The runs of distributed Map states (`DescribeMapRun`, `UpdateMapRun`): read off the parent
//! execution's state, changed by an input to it. Their child executions are listed with the
//! flow's executions, by map run ([`sluice_store::ExecutionFilter::map_run`]).

use sluice_engine::Input;
use sluice_ir::ToleratedFailures;
use sluice_runtime::durable::Applied;
use sluice_store::{ExecutionFilter, ExecutionQuery, Page};

pub use sluice_engine::{MapRunStatus, MapRunSummary};

use crate::views::ExecutionView;
use crate::{Caller, Result, Service, ServiceError};

/// What `UpdateMapRun` changes; `None` keeps what is there.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MapRunChanges {
    /// 0: no bound.
    pub max_concurrency: Option<u32>,
    pub tolerated_count: Option<u32>,
    pub tolerated_percentage: Option<f64>,
}

impl Service {
    /// The map runs of execution `execution`, running and ended, oldest first: those after
    /// the run named `after`, at most `limit` (an execution holds its runs: no listing of
    /// the store).
    pub async fn list_map_runs(
        &self,
        caller: &Caller,
        flow: &str,
        execution: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(ExecutionView, Vec<MapRunSummary>)> {
        let (view, mut runs) = self.map_runs_of(caller, flow, execution).await?;
        if let Some(after) = after {
            let at = runs
                .iter()
                .position(|run| run.name == after)
                .ok_or_else(|| not_found(after))?;
            runs.drain(..=at);
        }
        runs.truncate(limit);
        Ok((view, runs))
    }

    async fn map_runs_of(
        &self,
        caller: &Caller,
        flow: &str,
        execution: &str,
    ) -> Result<(ExecutionView, Vec<MapRunSummary>)> {
        let flow = self.flow(caller, flow).await?;
        let record = self.execution(&flow, execution).await?;
        let ir = self
            .runtime
            .flow(record.flow_id, record.flow_revision)
            .await?;
        let runs = record.state.map_runs(&ir);
        Ok((record.into(), runs))
    }

    /// The map run `map_run` of execution `execution`.
    pub async fn describe_map_run(
        &self,
        caller: &Caller,
        flow: &str,
        execution: &str,
        map_run: &str,
    ) -> Result<(ExecutionView, MapRunSummary)> {
        let (view, runs) = self.map_runs_of(caller, flow, execution).await?;
        let run = runs
            .into_iter()
            .find(|run| run.name == map_run)
            .ok_or_else(|| not_found(map_run))?;
        Ok((view, run))
    }

    /// The name of the execution of flow `flow` that ran map run `map_run`, for APIs that
    /// name a map run without its execution: read off a child's link to its parent (a run
    /// creates its first children in the step that starts it, so a run of any item has one).
    pub async fn map_run_execution(
        &self,
        caller: &Caller,
        flow: &str,
        map_run: &str,
    ) -> Result<String> {
        let flow = self.flow(caller, flow).await?;
        let filter = ExecutionFilter {
            map_run: Some(map_run.to_string()),
            ..ExecutionFilter::default()
        };
        let query = ExecutionQuery::of_flow(&caller.tenant, flow.id, &filter);
        let children = self
            .store
            .list_executions(&query, Page::after(None, 1))
            .await?;
        children
            .first()
            .and_then(|child| child.state.parent())
            .map(|parent| parent.execution.clone())
            .ok_or_else(|| not_found(map_run))
    }

    /// Changes a running map run's concurrency and tolerated failures; more children start
    /// at once if the new bound allows, and the run fails at once if its failures exceed the
    /// new tolerance.
    pub async fn update_map_run(
        &self,
        caller: &Caller,
        flow: &str,
        execution: &str,
        map_run: &str,
        changes: MapRunChanges,
    ) -> Result<MapRunSummary> {
        let (view, run) = self
            .describe_map_run(caller, flow, execution, map_run)
            .await?;
        if run.status != MapRunStatus::Running {
            return Err(ServiceError::InvalidArgument(format!(
                "map run {map_run} has ended ({})",
                run.status.as_str()
            )));
        }
        let tolerated = (changes.tolerated_count.is_some()
            || changes.tolerated_percentage.is_some())
        .then(|| ToleratedFailures {
            count: changes.tolerated_count.or(run.tolerated.count),
            percentage: changes.tolerated_percentage.or(run.tolerated.percentage),
        });
        let input = Input::UpdateMapRun {
            map_run: map_run.to_string(),
            max_concurrency: changes.max_concurrency,
            tolerated,
        };
        match self.runtime.submit(view.id, input).await? {
            Applied::Committed(..) => {
                let (_, run) = self
                    .describe_map_run(caller, flow, execution, map_run)
                    .await?;
                Ok(run)
            }
            Applied::Rejected(..) => Err(ServiceError::InvalidArgument(format!(
                "map run {map_run} has ended"
            ))),
        }
    }
}

fn not_found(map_run: &str) -> ServiceError {
    ServiceError::NotFound {
        kind: "map run",
        name: map_run.to_string(),
    }
}
