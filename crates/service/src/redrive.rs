//! Redrive (AWS Step Functions' `RedriveExecution`, offered by every dialect that wants it and
//! by the native API): an execution that failed, was stopped or timed out runs on from where
//! it ended, as one step of the engine (`Input::Redrive`), which decides what is redrivable.

use sluice_engine::{Input, Rejection};
use sluice_runtime::durable::Applied;

use crate::views::{ExecutionView, FlowView};
use crate::{Caller, Result, Service, ServiceError};

impl Service {
    /// Redrives the execution: its unsuccessful state runs again (of a Parallel or Map, only
    /// the branches or iterations that did not succeed), in the same execution, which counts
    /// the redrive. `NotRedrivable` says why not when it cannot be.
    pub async fn redrive_execution(
        &self,
        caller: &Caller,
        flow: &str,
        name: &str,
    ) -> Result<(FlowView, ExecutionView)> {
        let flow = self.flow(caller, flow).await?;
        let record = self.execution(&flow, name).await?;
        match self.runtime.submit(record.id, Input::Redrive).await? {
            Applied::Committed(record, _) => Ok((flow.into(), (*record).into())),
            Applied::Rejected(Rejection::NotRedrivable(why), _) => {
                Err(ServiceError::NotRedrivable {
                    flow: flow.name.to_string(),
                    execution: name.to_string(),
                    why,
                })
            }
            Applied::Rejected(other, _) => Err(ServiceError::Internal(format!(
                "a redrive of execution {name} was refused: {other}"
            ))),
        }
    }
}
