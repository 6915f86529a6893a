//! `StartSyncExecution`: an Express state machine run to its end within the request (the
//! service's Express executions, in memory, at most the Express timeout, no stored history),
//! answered in AWS's shape: `status` `SUCCEEDED`, `FAILED` or `TIMED_OUT`, the output or the
//! error and cause, and `billingDetails`. The SDKs send it to the host `sync-` + the
//! endpoint's; this listener serves it whatever the `Host` (the signature covers the one sent).

use serde_json::{Value, json};
use sluice_service::{StartRequest, SyncOutcome};

use super::actions::{Actions, Reply};
use super::arn::{Arns, ExecutionKind};
use super::render;
use super::request::StartExecution;

/// What AWS bills an Express execution's memory in: 64 MB at least.
const BILLED_MEMORY_MB: u64 = 64;
/// AWS bills Express durations in steps of 100 ms.
const BILLED_DURATION_STEP_MS: i64 = 100;

impl Actions<'_> {
    pub(super) async fn start_sync(&self, r: StartExecution) -> Reply {
        let (arn, test_case) =
            sluice_service::with_test_case(r.state_machine_arn.as_deref().unwrap_or(""));
        let flow = self.arns.machine_name(arn)?;
        let context_ids = Some(self.arns.context_ids(&flow, ExecutionKind::Express));
        let start = StartRequest {
            flow,
            name: r.name,
            input: r.input,
            qualifier: None,
            context_ids,
            test_case,
        };
        let outcome = self
            .service
            .start_sync_execution(self.caller, start)
            .await?;
        let mut body = sync_execution(&outcome, self.arns);
        if let Some(header) = r.trace_header {
            body["traceHeader"] = json!(header);
        }
        Ok(body)
    }
}

/// The execution's name and its run's id: the service names a run `{name}:{uuid}`, or just
/// `{uuid}` when no name was given (AWS then names it by that id too).
fn name_and_id(run: &str) -> (&str, &str) {
    run.rsplit_once(':').unwrap_or((run, run))
}

fn sync_execution(outcome: &SyncOutcome, arns: &Arns) -> Value {
    let machine = outcome.flow.name.as_str();
    let (name, id) = name_and_id(&outcome.name);
    let duration = outcome.stopped_at.saturating_sub(outcome.started_at).max(1);
    let billed = (duration + BILLED_DURATION_STEP_MS - 1) / BILLED_DURATION_STEP_MS
        * BILLED_DURATION_STEP_MS;
    let mut body = json!({
        "executionArn": arns.express_execution(machine, name, id),
        "stateMachineArn": arns.machine(machine),
        "name": name,
        "startDate": render::seconds(outcome.started_at),
        "stopDate": render::seconds(outcome.stopped_at),
        "status": render::status(outcome.status),
        "input": outcome.input.to_string(),
        "inputDetails": {"included": true},
        "billingDetails": {
            "billedMemoryUsedInMB": BILLED_MEMORY_MB,
            "billedDurationInMilliseconds": billed,
        },
    });
    if let Some(output) = &outcome.output {
        body["output"] = json!(output.to_string());
        body["outputDetails"] = json!({"included": true});
    }
    if let Some(error) = &outcome.error {
        body["error"] = json!(error.code.as_str());
        body["cause"] = json!(error.detail);
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_is_named_by_its_name_or_else_by_its_id() {
        assert_eq!(name_and_id("order-1:0a1b"), ("order-1", "0a1b"));
        assert_eq!(name_and_id("0a1b"), ("0a1b", "0a1b"));
    }
}
