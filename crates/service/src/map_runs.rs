//! The runs of distributed Map states (`DescribeMapRun`, `UpdateMapRun`): read off the parent
//! execution's state, changed by an input to it. Their child executions are listed with the
//! flow's executions, by map run ([`sluice_store::ExecutionFilter::map_run`]).

use sluice_engine::Input;
use sluice_ir::ToleratedFailures;
use sluice_runtime::durable::Applied;

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
    /// The map run `map_run` of execution `execution`.
    pub async fn describe_map_run(
        &self,
        caller: &Caller,
        flow: &str,
        execution: &str,
        map_run: &str,
    ) -> Result<(ExecutionView, MapRunSummary)> {
        let flow = self.flow(caller, flow).await?;
        let record = self.execution(&flow, execution).await?;
        let ir = self
            .runtime
            .flow(record.flow_id, record.flow_revision)
            .await?;
        let run = record
            .state
            .map_runs(&ir)
            .into_iter()
            .find(|run| run.name == map_run)
            .ok_or_else(|| not_found(map_run))?;
        Ok((record.into(), run))
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
