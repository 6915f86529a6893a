//! The executions tasks start of other flows (ASL's `states:startExecution`), resolved here
//! for the runtime (`sluice_runtime::durable::nested`): the flow by name in the starting
//! execution's own tenant, its version or alias routed as `StartExecution` routes them, with
//! the checks of any start. The runtime creates a waited-for one as a child in the transaction
//! of the step that starts it; one not waited for is started here like any.

use std::sync::Arc;

use sluice_engine::{ContextIds, ExecutionInfo};
use sluice_ir::TaskError;
use sluice_ir::nested::{NestedEnd, NestedStatus, TASK_FAILED};
use sluice_runtime::durable::nested::{NestedRequest, NestedStarter, Pending, PreparedChild};
use sluice_runtime::durable::wall_clock_ms;
use sluice_store::NewExecution;

use crate::executions::{StartRequest, startable};
use crate::flows::check_name_in;
use crate::{Caller, Service, ServiceError};

impl Service {
    /// Has the runtime start the executions tasks ask for through this service.
    pub fn serve_nested_executions(self: &Arc<Self>) {
        let starter: std::sync::Weak<dyn NestedStarter> = Arc::downgrade(self) as _;
        self.runtime.serve_nested(starter);
    }

    async fn prepare_child(
        &self,
        request: NestedRequest<'_>,
    ) -> Result<PreparedChild, ServiceError> {
        let caller = Caller::internal(request.tenant.clone());
        let flow = self.flow(&caller, &request.start.flow).await?;
        startable(&flow)?;
        check_name_in(flow.dialect, request.name.as_str(), "execution name")?;
        if self
            .store
            .find_execution(flow.id, &request.name)
            .await?
            .is_some()
        {
            return Err(ServiceError::ExecutionExists {
                flow: flow.name.to_string(),
                execution: request.name.to_string(),
            });
        }
        let (revision, started_as) = self
            .revision_to_run(&flow, request.start.qualifier.as_deref())
            .await?;
        let compiled = self.runtime.flow(flow.id, revision).await?;
        let ids = child_context_ids(request.parent, &flow.name.to_string());
        let info = self.execution_info(&flow, &request.name, ids);
        let new = NewExecution {
            flow_revision: revision,
            started_as,
            ..NewExecution::of(&flow, request.name, wall_clock_ms())
        };
        Ok(PreparedChild {
            new,
            info,
            flow: compiled,
        })
    }

    async fn start_unlinked(&self, request: NestedRequest<'_>) -> Result<NestedEnd, ServiceError> {
        let caller = Caller::internal(request.tenant.clone());
        let start = StartRequest {
            flow: request.start.flow.clone(),
            name: Some(request.name.to_string()),
            input: Some(request.start.input.to_string()),
            qualifier: request.start.qualifier.clone(),
            context_ids: child_context_ids(request.parent, &request.start.flow),
            // A test case names states of its own state machine, not of the ones it starts.
            test_case: None,
        };
        let (_, execution) = self.start_execution(&caller, start).await?;
        Ok(NestedEnd {
            name: execution.name.to_string(),
            status: NestedStatus::Running,
            started_at: execution.started_at.unwrap_or(execution.created_at),
            stopped_at: None,
            output: None,
            error: None,
            cause: None,
        })
    }
}

impl NestedStarter for Service {
    fn prepare<'a>(
        &'a self,
        request: NestedRequest<'a>,
    ) -> Pending<'a, Result<PreparedChild, TaskError>> {
        Box::pin(async move { self.prepare_child(request).await.map_err(refused) })
    }

    fn start_detached<'a>(
        &'a self,
        request: NestedRequest<'a>,
    ) -> Pending<'a, Result<NestedEnd, TaskError>> {
        Box::pin(async move { self.start_unlinked(request).await.map_err(refused) })
    }
}

/// A start refused: the task fails, saying why.
fn refused(error: ServiceError) -> TaskError {
    TaskError::new(TASK_FAILED, error.to_string())
}

/// A child's ids as its parent's API spells them: the parent's, of the child's flow.
fn child_context_ids(parent: &ExecutionInfo, flow: &str) -> Option<ContextIds> {
    let ids = parent.context_ids.as_ref()?;
    let execution = ids
        .execution_prefix
        .strip_suffix(&format!("{}:", parent.flow_name))?;
    let machine = ids.flow.strip_suffix(parent.flow_name.as_str())?;
    Some(ContextIds {
        execution_prefix: format!("{execution}{flow}:"),
        flow: format!("{machine}{flow}"),
    })
}

#[cfg(test)]
mod tests {
    use sluice_engine::Limits;

    use super::*;

    #[test]
    fn a_child_is_named_as_its_parent_is() {
        let parent = ExecutionInfo {
            name: "p".into(),
            flow_name: "Parent".into(),
            role_arn: None,
            token_prefix: String::new(),
            seed: 0,
            limits: Limits::default(),
            context_ids: Some(ContextIds {
                execution_prefix: "arn:aws:states:r:1:execution:Parent:".into(),
                flow: "arn:aws:states:r:1:stateMachine:Parent".into(),
            }),
        };
        assert_eq!(
            child_context_ids(&parent, "Child"),
            Some(ContextIds {
                execution_prefix: "arn:aws:states:r:1:execution:Child:".into(),
                flow: "arn:aws:states:r:1:stateMachine:Child".into(),
            })
        );
    }
}
