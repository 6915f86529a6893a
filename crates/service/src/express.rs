//! Express executions: synchronous, in memory, at most the Express timeout, no stored history
//! (CloudFlow `StartSyncExecution`).

use serde_json::Value;
use sluice_engine::{Limits, Millis};
use sluice_runtime::LocalRunner;
use sluice_runtime::durable::wall_clock_ms;
use sluice_store::ExecutionMode;

use crate::views::{FlowView, Status, TaskError};
use tokio_util::sync::CancellationToken;

use crate::executions::StartRequest;
use crate::flows::check_name_in;
use crate::{Caller, Result, Service, ServiceError};

/// A finished Express execution.
#[derive(Debug, Clone)]
pub struct SyncOutcome {
    pub flow: FlowView,
    /// `{ExecutionName}:{UUID}`, or a UUID when no name was given (names need not be unique).
    pub name: String,
    pub input: Value,
    pub started_at: Millis,
    pub stopped_at: Millis,
    pub status: Status,
    pub output: Option<Value>,
    pub error: Option<TaskError>,
}

impl Service {
    pub async fn start_sync_execution(
        &self,
        caller: &Caller,
        request: StartRequest,
    ) -> Result<SyncOutcome> {
        let flow = self.flow(caller, &request.flow).await?;
        if flow.mode != ExecutionMode::Express {
            return Err(ServiceError::WrongMode(
                "Standard execution is not supported by StartSyncExecution".into(),
            ));
        }
        if !flow.open {
            return Err(ServiceError::FlowClosed(flow.name.to_string()));
        }
        let input = self.parse_input(flow.dialect, request.input.as_deref())?;
        self.check_test_case(&flow, request.test_case.as_deref())?;
        let id = uuid::Uuid::new_v4();
        let name = match request.name.filter(|n| !n.is_empty()) {
            Some(name) => {
                check_name_in(flow.dialect, &name, "execution name")?;
                format!("{name}:{id}")
            }
            None => id.to_string(),
        };
        let (revision, _) = self
            .revision_to_run(&flow, request.qualifier.as_deref())
            .await?;
        let compiled = self.runtime.flow(flow.id, revision).await?;
        let limits = Limits {
            max_history_events: self.limits.history_events(flow.dialect),
            max_payload_bytes: self.limits.payload_bytes(flow.dialect),
            execution_timeout_ms: Some(self.limits.express_timeout_secs.saturating_mul(1000)),
        };
        let runner = LocalRunner::new(self.runtime.invoker().as_ref().clone())
            .name(name.clone())
            .flow_name(flow.name.to_string())
            .tenant(caller.tenant.clone())
            .limits(limits)
            .context_ids(request.context_ids)
            .test_case(request.test_case);
        let started_at = wall_clock_ms();
        let outcome = runner
            .run(&compiled, input.clone(), CancellationToken::new())
            .await
            .map_err(|e| ServiceError::WrongMode(e.to_string()))?;
        Ok(SyncOutcome {
            flow: flow.into(),
            name,
            input,
            started_at,
            stopped_at: wall_clock_ms(),
            status: outcome.status,
            output: outcome.output,
            error: outcome.error,
        })
    }
}
