//! Executions: start, describe (with long-poll), stop, list, history, and task callbacks.

use std::time::Duration;

use rand::RngCore;
use serde_json::Value;
use sluice_engine::{
    ContextIds, EventId, EventType, ExecutionInfo, HistoryEvent, Input, Limits, Rejection,
};
use sluice_ir::TaskError;
use sluice_runtime::durable::{Applied, wall_clock_ms};
use sluice_store::{
    ExecutionCursor, ExecutionFilter, ExecutionId, ExecutionMode, ExecutionName, ExecutionQuery,
    ExecutionRecord, FlowId, FlowRecord, NewExecution, Page, StoreError,
};

use crate::flows::check_name_in;
use crate::views::{ExecutionView, FlowView, views};
use crate::{Caller, Result, Service, ServiceError};

/// A request to start an execution.
#[derive(Debug, Clone, Default)]
pub struct StartRequest {
    pub flow: String,
    /// Generated (a UUID) when absent.
    pub name: Option<String>,
    /// JSON object text; empty or absent means `{}`.
    pub input: Option<String>,
    /// A published version (its number) or an alias (its name) to run instead of the flow's
    /// current definition.
    pub qualifier: Option<String>,
    /// How the API names the execution and its flow to the definition (`$$.Execution.Id`).
    pub context_ids: Option<ContextIds>,
    /// The test case of the server's mock configuration to run under (see
    /// `sluice_runtime::mocks`): the tasks it mocks are answered from the file, not called.
    pub test_case: Option<String>,
}

impl StartRequest {
    /// The same start, run under `test_case` of the mock configuration.
    pub fn under(self, test_case: Option<String>) -> Self {
        Self { test_case, ..self }
    }
}

/// A flow named with a test case of the mock configuration, `NAME#TestCase` (Step Functions
/// Local's `stateMachineArn#TestCase`, which every API's start takes, no flow name holding a
/// `#`): the name, and the test case.
pub fn with_test_case(flow: &str) -> (&str, Option<String>) {
    match flow.split_once('#') {
        Some((flow, case)) => (flow, Some(case.to_string())),
        None => (flow, None),
    }
}

/// What a worker reports for a callback task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallbackResult {
    Succeeded { output: String },
    Failed { error: String, cause: String },
}

impl Service {
    /// Starts an execution of a Standard flow. Starting a name that is running with the same
    /// input returns the running execution (idempotent); any other reuse of a name is
    /// `ExecutionExists`.
    pub async fn start_execution(
        &self,
        caller: &Caller,
        request: StartRequest,
    ) -> Result<(FlowView, ExecutionView)> {
        let (flow, execution) = self.start(caller, request, None).await?;
        Ok((flow.into(), execution.into()))
    }

    /// Runs execution `of` again as a new execution `name` with the input it had; from now on
    /// the new one stands in its place in the listings of latest runs (a DataArts instance
    /// rerun).
    pub async fn rerun_execution(
        &self,
        caller: &Caller,
        flow: &str,
        of: &str,
        name: String,
    ) -> Result<(FlowView, ExecutionView)> {
        let record = self.flow(caller, flow).await?;
        let old = self.execution(&record, of).await?;
        let request = StartRequest {
            flow: flow.to_string(),
            name: Some(name),
            input: old.state.input().map(Value::to_string),
            qualifier: None,
            context_ids: None,
            test_case: old.started_as.test_case.clone(),
        };
        let (flow, execution) = self.start(caller, request, Some(old.id)).await?;
        Ok((flow.into(), execution.into()))
    }

    async fn start(
        &self,
        caller: &Caller,
        request: StartRequest,
        reruns: Option<ExecutionId>,
    ) -> Result<(FlowRecord, ExecutionRecord)> {
        let flow = self.flow(caller, &request.flow).await?;
        startable(&flow)?;
        let input = self.parse_input(flow.dialect, request.input.as_deref())?;
        let name = match request.name.filter(|n| !n.is_empty()) {
            Some(name) => {
                check_name_in(flow.dialect, &name, "execution name")?;
                name
            }
            None => uuid::Uuid::new_v4().to_string(),
        };
        let name = ExecutionName::new(name);
        self.check_test_case(&flow, request.test_case.as_deref())?;
        let (revision, mut started_as) = self
            .revision_to_run(&flow, request.qualifier.as_deref())
            .await?;
        started_as.test_case = request.test_case;
        let compiled = self.runtime.flow(flow.id, revision).await?;
        let new = NewExecution {
            flow_revision: revision,
            reruns,
            started_as,
            ..NewExecution::of(&flow, name.clone(), wall_clock_ms())
        };
        let info = self.execution_info(&flow, &name, request.context_ids);
        match self
            .runtime
            .start(new, &compiled, info, input.clone())
            .await
        {
            Ok(record) => Ok((flow, record)),
            // Deleted since it was read: the delete's job may have listed its executions.
            Err(sluice_runtime::durable::RuntimeError::Store(StoreError::NotFound(_))) => {
                Err(ServiceError::FlowNotFound(flow.name.to_string()))
            }
            // The name is taken (by an earlier start, or one that raced this one): the store's
            // unique name decides, so a start costs no lookup before it; nothing of this start
            // was stored or run.
            Err(sluice_runtime::durable::RuntimeError::Store(StoreError::AlreadyExists(_))) => {
                let existing = self.execution(&flow, name.as_str()).await?;
                same_running_start(&flow, existing, &input).map(|e| (flow, e))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Refuses a test case the server's mock configuration does not define for `flow`.
    pub(crate) fn check_test_case(&self, flow: &FlowRecord, case: Option<&str>) -> Result<()> {
        let Some(case) = case else {
            return Ok(());
        };
        let mocks = self.runtime.invoker().mock_config();
        if mocks.has_test_case(flow.name.as_str(), case) {
            return Ok(());
        }
        let defined = mocks.test_cases(flow.name.as_str());
        let defined = if defined.is_empty() {
            "it defines none for it (the file is given by --mock-config or SFN_MOCK_CONFIG)".into()
        } else {
            format!("it defines {}", defined.join(", "))
        };
        Err(ServiceError::InvalidArgument(format!(
            "test case {case} of state machine {} is not in the mock configuration: {defined}",
            flow.name
        )))
    }

    /// The execution, after waiting up to `wait` for it to finish (long-poll).
    pub async fn describe_execution(
        &self,
        caller: &Caller,
        flow: &str,
        name: &str,
        wait: Duration,
    ) -> Result<(FlowView, ExecutionView)> {
        let flow = self.flow(caller, flow).await?;
        let record = self.execution(&flow, name).await?;
        if wait.is_zero() || record.status().is_terminal() {
            return Ok((flow.into(), record.into()));
        }
        let waited = self.runtime.wait_terminal(record.id, wait).await?;
        Ok((flow.into(), waited.unwrap_or(record).into()))
    }

    /// Stops an execution: one transaction, then every in-flight call is aborted.
    pub async fn stop_execution(
        &self,
        caller: &Caller,
        flow: &str,
        name: &str,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<(FlowView, ExecutionView)> {
        let flow = self.flow(caller, flow).await?;
        let record = self.execution(&flow, name).await?;
        match self
            .runtime
            .submit(record.id, Input::Stop { error, cause })
            .await?
        {
            Applied::Committed(record, _) => Ok((flow.into(), (*record).into())),
            Applied::Rejected(_, _) => Err(ServiceError::ExecutionCompleted {
                flow: flow.name.to_string(),
                execution: name.to_string(),
            }),
        }
    }

    pub async fn list_executions(
        &self,
        caller: &Caller,
        flow: &str,
        filter: &ExecutionFilter,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(FlowView, Vec<ExecutionView>)> {
        let flow = self.flow(caller, flow).await?;
        let query = ExecutionQuery::of_flow(&caller.tenant, flow.id, filter);
        let after = after.map(|name| ExecutionCursor::after_name(ExecutionName::new(name)));
        let items = self
            .store
            .list_executions(&query, Page::after(after, limit))
            .await?;
        Ok((flow.into(), views(items)))
    }

    pub async fn execution_history(
        &self,
        caller: &Caller,
        flow: &str,
        name: &str,
        after: EventId,
        limit: usize,
    ) -> Result<Vec<HistoryEvent>> {
        let flow = self.flow(caller, flow).await?;
        let record = self.execution(&flow, name).await?;
        let page = Page::after(Some(after), limit);
        Ok(self.store.history(record.id, page).await?)
    }

    /// `ReportTaskSucceeded` / `ReportTaskFailed`: returns the id of the event it created.
    pub async fn report_task(
        &self,
        caller: &Caller,
        token: &str,
        result: CallbackResult,
    ) -> Result<EventId> {
        let completed = || ServiceError::TaskCompleted(token.to_string());
        let record = self.token_execution(caller, token).await?;
        let result = match result {
            CallbackResult::Succeeded { output } => Ok(parse_json(
                "the task output",
                &output,
                record.state.info().limits.max_payload_bytes,
            )?),
            CallbackResult::Failed { error, cause } => Err(TaskError::new(error, cause)),
        };
        let input = Input::CallbackReported {
            token: token.to_string(),
            result,
        };
        match self.runtime.submit(record.id, input).await? {
            Applied::Committed(_, step) => step
                .events
                .iter()
                .find(|e| matches!(e.kind, EventType::TaskSucceeded | EventType::TaskFailed))
                .map(|e| e.id)
                .ok_or_else(|| {
                    ServiceError::Internal("a callback committed without its task event".into())
                }),
            Applied::Rejected(Rejection::Stale | Rejection::AlreadyCompleted, _) => {
                Err(completed())
            }
            Applied::Rejected(other, _) => Err(ServiceError::Internal(other.to_string())),
        }
    }

    /// A worker's heartbeat of the callback task of `token` (Step Functions'
    /// `SendTaskHeartbeat`): `TaskCompleted` unless its execution still waits for it, so a
    /// worker learns of a stop at its next heartbeat.
    /// A task with a heartbeat period (`HeartbeatSeconds`) has its heartbeat timer started
    /// over, in a step of its execution; one without needs no step.
    pub async fn heartbeat_task(&self, caller: &Caller, token: &str) -> Result<()> {
        let completed = || ServiceError::TaskCompleted(token.to_string());
        let record = self.token_execution(caller, token).await?;
        if !record.state.awaits_token(token) {
            return Err(completed());
        }
        if !record.state.awaits_heartbeat(token) {
            return Ok(());
        }
        let input = Input::Heartbeat {
            token: token.to_string(),
        };
        match self.runtime.submit(record.id, input).await? {
            Applied::Committed(..) => Ok(()),
            Applied::Rejected(Rejection::Stale | Rejection::AlreadyCompleted, _) => {
                Err(completed())
            }
            Applied::Rejected(other, _) => Err(ServiceError::Internal(other.to_string())),
        }
    }

    /// The execution a task token names, if it is the caller's: `TaskCompleted` for a token
    /// of no shape this server gives, `TaskNotFound` for one naming no execution of the
    /// caller's (a token of another tenant's execution names nothing of the caller's).
    async fn token_execution(&self, caller: &Caller, token: &str) -> Result<ExecutionRecord> {
        let (flow_id, name) =
            parse_token(token).ok_or_else(|| ServiceError::TaskCompleted(token.to_string()))?;
        let missing = || ServiceError::TaskNotFound(token.to_string());
        let record = self
            .store
            .find_execution(flow_id, &ExecutionName::new(name))
            .await?
            .ok_or_else(missing)?;
        if record.tenant != caller.tenant {
            return Err(missing());
        }
        Ok(record)
    }

    /// Delivers an event to an execution waiting for one (FunctionGraph v1 `event_test`): the
    /// payload completes its oldest waiting event task. Returns the state that got it.
    pub async fn deliver_event(
        &self,
        caller: &Caller,
        flow: &str,
        execution: &str,
        payload: String,
    ) -> Result<String> {
        let flow = self.flow(caller, flow).await?;
        let record = self.execution(&flow, execution).await?;
        let (state, token) = record
            .state
            .awaiting_callbacks()
            .next()
            .map(|(state, token)| (state.to_string(), token.to_string()))
            .ok_or_else(|| ServiceError::NotWaiting(execution.to_string()))?;
        let result = CallbackResult::Succeeded { output: payload };
        match self.report_task(caller, &token, result).await {
            Err(ServiceError::TaskCompleted(_)) => Err(ServiceError::NotWaiting(execution.into())),
            other => other.map(|_| state),
        }
    }

    /// Runs a failed execution again from its failed state (FunctionGraph's `retry`).
    pub async fn retry_execution(&self, caller: &Caller, flow: &str, name: &str) -> Result<()> {
        let flow = self.flow(caller, flow).await?;
        let record = self.execution(&flow, name).await?;
        match self.runtime.submit(record.id, Input::Retry).await? {
            Applied::Committed(..) => Ok(()),
            Applied::Rejected(rejection, _) => Err(ServiceError::InvalidArgument(format!(
                "execution {name} cannot be retried: {rejection}"
            ))),
        }
    }

    /// Completes the task of state `state` from outside (FunctionGraph's workflow callback):
    /// a callback task waiting for its report gets it; an in-flight call gets this result
    /// instead of its own, and its connection is closed.
    pub async fn complete_state(
        &self,
        caller: &Caller,
        flow: &str,
        execution: &str,
        state: &str,
        result: CallbackResult,
    ) -> Result<()> {
        let flow = self.flow(caller, flow).await?;
        let record = self.execution(&flow, execution).await?;
        if let Some((_, token)) = record
            .state
            .awaiting_callbacks()
            .find(|(s, _)| s.as_str() == state)
        {
            let token = token.to_string();
            return self.report_task(caller, &token, result).await.map(|_| ());
        }
        let op = record
            .state
            .task_in_flight(state)
            .ok_or_else(|| ServiceError::NotWaiting(execution.to_string()))?;
        let result = match result {
            CallbackResult::Succeeded { output } => Ok(parse_json(
                "the task output",
                &output,
                record.state.info().limits.max_payload_bytes,
            )?),
            CallbackResult::Failed { error, cause } => Err(TaskError::new(error, cause)),
        };
        match self
            .runtime
            .submit(record.id, Input::TaskCompleted { op, result })
            .await?
        {
            Applied::Committed(..) => {
                self.runtime.abort_call(record.id, op);
                Ok(())
            }
            Applied::Rejected(..) => Err(ServiceError::NotWaiting(execution.to_string())),
        }
    }

    /// The definition an execution runs (its flow may have been updated since it started).
    pub async fn execution_definition(
        &self,
        flow: &FlowView,
        execution: &ExecutionView,
    ) -> Result<String> {
        let current = (flow.revision, flow.definition.as_str());
        self.revision_text(flow.id, current, execution.flow_revision)
            .await
    }

    pub(crate) async fn execution(&self, flow: &FlowRecord, name: &str) -> Result<ExecutionRecord> {
        self.store
            .find_execution(flow.id, &ExecutionName::new(name))
            .await?
            .ok_or_else(|| ServiceError::ExecutionNotFound {
                flow: flow.name.to_string(),
                execution: name.to_string(),
            })
    }

    pub(crate) fn execution_info(
        &self,
        flow: &FlowRecord,
        name: &ExecutionName,
        context_ids: Option<ContextIds>,
    ) -> ExecutionInfo {
        let mut random = [0u8; 16];
        rand::rng().fill_bytes(&mut random);
        let secret: String = random.iter().map(|b| format!("{b:02x}")).collect();
        let timeout_secs = match flow.mode {
            ExecutionMode::Standard => self.limits.standard_timeout_secs,
            ExecutionMode::Express => self.limits.express_timeout_secs,
        };
        ExecutionInfo {
            name: name.to_string(),
            flow_name: flow.name.to_string(),
            role_arn: flow.role_arn.clone(),
            token_prefix: token_prefix(flow.id, name, &secret),
            seed: rand::rng().next_u64(),
            limits: Limits {
                max_history_events: self.limits.history_events(flow.dialect),
                max_payload_bytes: self.limits.payload_bytes(flow.dialect),
                execution_timeout_ms: Some(timeout_secs.saturating_mul(1000)),
            },
            context_ids,
        }
    }

    /// An execution input: JSON text, `{}` when empty; an object, but for the Amazon States
    /// Language, whose executions take any JSON value.
    pub(crate) fn parse_input(
        &self,
        dialect: sluice_ir::Dialect,
        input: Option<&str>,
    ) -> Result<Value> {
        let text = input
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .unwrap_or("{}");
        let limit = self.limits.payload_bytes(dialect);
        let value = match parse_json("the execution input", text, limit) {
            Err(ServiceError::InvalidArgument(why)) => return Err(ServiceError::InvalidInput(why)),
            other => other?,
        };
        if !value.is_object() && !dialect.takes_any_json_input() {
            return Err(ServiceError::InvalidInput(
                "the execution input must be a JSON object".into(),
            ));
        }
        Ok(value)
    }
}

/// Parses a JSON payload no larger than `limit` bytes.
pub(crate) fn parse_json(what: &'static str, text: &str, limit: usize) -> Result<Value> {
    if text.len() > limit {
        return Err(ServiceError::PayloadTooLarge {
            what,
            size: text.len(),
            limit,
        });
    }
    serde_json::from_str(text)
        .map_err(|e| ServiceError::InvalidArgument(format!("{what} is not valid JSON: {e}")))
}

/// A repeated start of a name: fine while it runs with the same input.
/// Whether `flow` takes `StartExecution`s: of Standard executions, and open.
pub(crate) fn startable(flow: &FlowRecord) -> Result<()> {
    if flow.mode != ExecutionMode::Standard {
        return Err(ServiceError::WrongMode(format!(
            "flow {} runs Express executions: use StartSyncExecution",
            flow.name
        )));
    }
    if !flow.open {
        return Err(ServiceError::FlowClosed(flow.name.to_string()));
    }
    Ok(())
}

fn same_running_start(
    flow: &FlowRecord,
    existing: ExecutionRecord,
    input: &Value,
) -> Result<ExecutionRecord> {
    let running = !existing.status().is_terminal();
    if running && existing.state.input() == Some(input) {
        return Ok(existing);
    }
    Err(ServiceError::ExecutionExists {
        flow: flow.name.to_string(),
        execution: existing.name.to_string(),
    })
}

/// Task tokens carry where their execution is (`{flow id}.{execution name}.{secret}.{op}`:
/// the flow id, the secret and the op hold no '.', so a name may), and an unguessable secret
/// the engine checks in full.
fn token_prefix(flow: FlowId, name: &ExecutionName, secret: &str) -> String {
    format!("{}.{}.{}.", flow.0, name, secret)
}

/// Whether `token` has the shape of a task token this server hands out (what it names may
/// still be gone): Step Functions answers a malformed one differently from a spent one.
pub fn is_task_token(token: &str) -> bool {
    parse_token(token).is_some()
}

fn parse_token(token: &str) -> Option<(FlowId, &str)> {
    let (flow, rest) = token.split_once('.')?;
    let flow = flow.parse().ok()?;
    let mut parts = rest.rsplitn(3, '.');
    parts.next()?;
    parts.next()?;
    let name = parts.next().filter(|n| !n.is_empty())?;
    Some((FlowId(flow), name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_name_their_execution() {
        let prefix = token_prefix(FlowId(42), &ExecutionName::new("exec-1"), "abcd");
        let token = format!("{prefix}7");
        assert_eq!(parse_token(&token), Some((FlowId(42), "exec-1")));
        let dotted = token_prefix(FlowId(42), &ExecutionName::new("state.machine.run"), "abcd");
        assert_eq!(
            parse_token(&format!("{dotted}7")),
            Some((FlowId(42), "state.machine.run"))
        );
        assert_eq!(parse_token("garbage"), None);
        assert_eq!(parse_token("x.exec.abcd.1"), None);
    }
}
