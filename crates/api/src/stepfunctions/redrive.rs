//! `RedriveExecution`: the engine's redrive of every dialect (`crates/service/src/redrive.rs`),
//! in AWS's shapes: the execution ARN in, `redriveDate` out, `ExecutionNotRedrivable` when
//! it cannot be redriven (AWS's reasons in its message).

use serde::Deserialize;
use serde_json::json;

use super::actions::{Actions, Reply, of_execution};
use super::error::SfnError;
use super::render;
use super::request::{Validate, required};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RedriveExecution {
    pub execution_arn: Option<String>,
    /// Idempotency token: a redrive already made is refused (the execution runs), not
    /// repeated.
    pub client_token: Option<String>,
}

impl Validate for RedriveExecution {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.execution_arn, "executionArn")?;
        match &self.client_token {
            Some(t) if t.is_empty() || t.len() > 64 => Err(SfnError::validation(
                "1 validation error detected: the clientToken must be 1 to 64 characters",
            )),
            _ => Ok(()),
        }
    }
}

impl Actions<'_> {
    pub(super) async fn redrive(&self, r: RedriveExecution) -> Reply {
        let (machine, name) = self
            .arns
            .execution_names(r.execution_arn.as_deref().unwrap_or(""))?;
        let (_, execution) = self
            .service
            .redrive_execution(self.caller, &machine, &name)
            .await
            .map_err(|e| of_execution(e, &machine, &name))?;
        let redriven = execution.redrives.last_at.unwrap_or(execution.created_at);
        Ok(json!({"redriveDate": render::seconds(redriven)}))
    }
}
