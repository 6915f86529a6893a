//! Step Functions answers: state machines and executions as AWS describes them, statuses,
//! times (epoch seconds, as the JSON protocol sends timestamps), and the configuration a
//! state machine keeps among its flow's attributes.

use serde_json::{Map, Value, json};
use sluice_service::views::{
    ExecutionMode, ExecutionSummary, ExecutionView, FlowView, Millis, Status,
};

use super::arn::Arns;
use super::request::{MachineType, StatusFilter, Tag};

/// The attributes a state machine keeps: its logging and tracing configuration and tags, as
/// given (AWS returns them as set; this server logs and traces nothing through them).
const LOGGING: &str = "loggingConfiguration";
const TRACING: &str = "tracingConfiguration";
pub(super) const TAGS: &str = "tags";

/// The attributes of a new state machine.
pub fn attributes(logging: Option<Value>, tracing: Option<Value>, tags: Option<Vec<Tag>>) -> Value {
    let mut map = Map::new();
    map.insert(LOGGING.into(), logging.unwrap_or_else(default_logging));
    map.insert(TRACING.into(), tracing.unwrap_or_else(default_tracing));
    map.insert(TAGS.into(), json!(tags.unwrap_or_default()));
    Value::Object(map)
}

/// The attributes after an update: what is given replaces what was.
pub fn updated_attributes(
    current: &Value,
    logging: Option<Value>,
    tracing: Option<Value>,
) -> Value {
    let kept =
        |key: &str, default: fn() -> Value| current.get(key).cloned().unwrap_or_else(default);
    let mut map = Map::new();
    map.insert(
        LOGGING.into(),
        logging.unwrap_or_else(|| kept(LOGGING, default_logging)),
    );
    map.insert(
        TRACING.into(),
        tracing.unwrap_or_else(|| kept(TRACING, default_tracing)),
    );
    map.insert(TAGS.into(), kept(TAGS, || json!([])));
    Value::Object(map)
}

pub fn tags(flow: &FlowView) -> Value {
    flow.attributes
        .get(TAGS)
        .cloned()
        .unwrap_or_else(|| json!([]))
}

fn default_logging() -> Value {
    json!({"level": "OFF", "includeExecutionData": false})
}

fn default_tracing() -> Value {
    json!({"enabled": false})
}

pub fn mode(machine_type: Option<MachineType>) -> ExecutionMode {
    match machine_type {
        None | Some(MachineType::Standard) => ExecutionMode::Standard,
        Some(MachineType::Express) => ExecutionMode::Express,
    }
}

fn machine_type(mode: ExecutionMode) -> &'static str {
    match mode {
        ExecutionMode::Standard => "STANDARD",
        ExecutionMode::Express => "EXPRESS",
    }
}

/// `DescribeStateMachine`.
pub fn machine(flow: &FlowView, arns: &Arns) -> Value {
    let mut body = json!({
        "stateMachineArn": arns.machine(flow.name.as_str()),
        "name": flow.name.as_str(),
        "status": "ACTIVE",
        "definition": flow.definition,
        "roleArn": flow.role_arn.as_deref().unwrap_or(""),
        "type": machine_type(flow.mode),
        "creationDate": seconds(flow.created_at),
        "revisionId": flow.revision.to_string(),
    });
    configuration(&mut body, flow);
    body
}

/// `DescribeStateMachineForExecution`: the definition the execution runs.
pub fn machine_for_execution(flow: &FlowView, definition: String, arns: &Arns) -> Value {
    let mut body = json!({
        "stateMachineArn": arns.machine(flow.name.as_str()),
        "name": flow.name.as_str(),
        "definition": definition,
        "roleArn": flow.role_arn.as_deref().unwrap_or(""),
        "updateDate": seconds(flow.modified_at),
        "revisionId": flow.revision.to_string(),
    });
    configuration(&mut body, flow);
    body
}

fn configuration(body: &mut Value, flow: &FlowView) {
    body[LOGGING] = flow
        .attributes
        .get(LOGGING)
        .cloned()
        .unwrap_or_else(default_logging);
    body[TRACING] = flow
        .attributes
        .get(TRACING)
        .cloned()
        .unwrap_or_else(default_tracing);
}

/// An item of `ListStateMachines`.
pub fn machine_item(flow: &FlowView, arns: &Arns) -> Value {
    json!({
        "stateMachineArn": arns.machine(flow.name.as_str()),
        "name": flow.name.as_str(),
        "type": machine_type(flow.mode),
        "creationDate": seconds(flow.created_at),
    })
}

/// `DescribeExecution`.
pub fn execution(e: &ExecutionView, arns: &Arns) -> Value {
    let mut body = execution_item(&e.summary(), arns);
    let input = e
        .input
        .as_ref()
        .map_or_else(|| "{}".to_string(), Value::to_string);
    body["input"] = json!(input);
    body["inputDetails"] = json!({"included": true});
    if let Some(output) = e.output.as_ref().filter(|_| e.status == Status::Succeeded) {
        body["output"] = json!(output.to_string());
        body["outputDetails"] = json!({"included": true});
    }
    if let Some(error) = &e.error {
        body["error"] = json!(error.code.as_str());
        body["cause"] = json!(error.detail);
    }
    body["redriveCount"] = json!(0);
    body["redriveStatus"] = json!("NOT_REDRIVABLE");
    body
}

/// An item of `ListExecutions` (off the summary columns: no input or output).
pub fn execution_item(e: &ExecutionSummary, arns: &Arns) -> Value {
    let mut body = json!({
        "executionArn": arns.execution(e.flow_name.as_str(), e.name.as_str()),
        "stateMachineArn": arns.machine(e.flow_name.as_str()),
        "name": e.name.as_str(),
        "status": status(e.status),
        "startDate": seconds(e.started_at.unwrap_or(e.created_at)),
    });
    if let Some(stopped) = e.stopped_at {
        body["stopDate"] = json!(seconds(stopped));
    }
    body
}

pub fn status(status: Status) -> &'static str {
    match status {
        Status::Starting | Status::Running => "RUNNING",
        Status::Succeeded => "SUCCEEDED",
        Status::Failed => "FAILED",
        Status::TimedOut => "TIMED_OUT",
        Status::Stopped => "ABORTED",
    }
}

/// The status a filter selects; none for `PENDING_REDRIVE` (nothing is redriven here).
pub fn filtered_status(filter: StatusFilter) -> Option<Status> {
    match filter {
        StatusFilter::Running => Some(Status::Running),
        StatusFilter::Succeeded => Some(Status::Succeeded),
        StatusFilter::Failed => Some(Status::Failed),
        StatusFilter::TimedOut => Some(Status::TimedOut),
        StatusFilter::Aborted => Some(Status::Stopped),
        StatusFilter::PendingRedrive => None,
    }
}

/// Epoch seconds with milliseconds, as the AWS JSON protocol sends timestamps.
pub fn seconds(ms: Millis) -> f64 {
    ms as f64 / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_update_keeps_what_it_does_not_name() {
        let tags = vec![Tag {
            key: "team".into(),
            value: "a".into(),
        }];
        let created = attributes(None, Some(json!({"enabled": true})), Some(tags));
        let logging = json!({"level": "ALL", "includeExecutionData": true});
        let updated = updated_attributes(&created, Some(logging.clone()), None);
        assert_eq!(
            updated,
            json!({
                "loggingConfiguration": logging,
                "tracingConfiguration": {"enabled": true},
                "tags": [{"key": "team", "value": "a"}],
            })
        );
    }

    #[test]
    fn timestamps_are_epoch_seconds() {
        assert_eq!(seconds(1_700_000_000_123), 1_700_000_000.123);
    }
}
