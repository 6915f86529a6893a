//! Step Functions answers: state machines and executions as AWS describes them, statuses,
//! times (epoch seconds, as the JSON protocol sends timestamps), and the configuration a
//! state machine keeps among its flow's attributes.

use serde_json::{Map, Value, json};
use sluice_service::views::{
    ExecutionMode, ExecutionSummary, ExecutionView, FlowView, Millis, NotRedrivable, Status,
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

/// The attributes an update changes: those given, which replace theirs in the store's
/// update (the others are kept there); none if none is given.
pub fn changed_attributes(logging: Option<Value>, tracing: Option<Value>) -> Option<Value> {
    let mut map = Map::new();
    if let Some(logging) = logging {
        map.insert(LOGGING.into(), logging);
    }
    if let Some(tracing) = tracing {
        map.insert(TRACING.into(), tracing);
    }
    (!map.is_empty()).then_some(Value::Object(map))
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
    match e.not_redrivable {
        None => body["redriveStatus"] = json!("REDRIVABLE"),
        Some(why) => {
            body["redriveStatus"] = json!("NOT_REDRIVABLE");
            body["redriveStatusReason"] = json!(redrive_reason(why, e.status));
        }
    }
    body
}

/// Why an execution cannot be redriven, as AWS words it.
fn redrive_reason(why: NotRedrivable, status: Status) -> String {
    match why {
        NotRedrivable::Running | NotRedrivable::Succeeded => {
            format!(
                "Execution is {} and cannot be redriven",
                self::status(status)
            )
        }
        NotRedrivable::Expired => "Execution end date is more than 14 days ago".into(),
        NotRedrivable::TooMany => "Execution has been redriven the maximum number of times".into(),
        NotRedrivable::NoState => "Execution ended before it entered a state".into(),
    }
}

/// The reason of an `ExecutionNotRedrivable` error.
pub fn not_redrivable_message(why: NotRedrivable) -> String {
    match why {
        NotRedrivable::Running => "Execution is RUNNING and cannot be redriven".into(),
        NotRedrivable::Succeeded => "Execution is SUCCEEDED and cannot be redriven".into(),
        other => redrive_reason(other, Status::Failed),
    }
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
    if let Some(version) = e.started_as.version {
        body["stateMachineVersionArn"] = json!(arns.version(e.flow_name.as_str(), version));
    }
    if let Some(alias) = &e.started_as.alias {
        body["stateMachineAliasArn"] = json!(arns.alias(e.flow_name.as_str(), alias));
    }
    body["redriveCount"] = json!(e.redrives.count);
    if let Some(redriven) = e.redrives.last_at {
        body["redriveDate"] = json!(seconds(redriven));
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

/// The status a filter selects; none for `PENDING_REDRIVE` (a redrive here is one step: an
/// execution is never pending one).
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
    fn an_update_changes_only_what_it_names() {
        let logging = json!({"level": "ALL", "includeExecutionData": true});
        assert_eq!(
            changed_attributes(Some(logging.clone()), None),
            Some(json!({"loggingConfiguration": logging}))
        );
        assert_eq!(changed_attributes(None, None), None);
    }

    #[test]
    fn timestamps_are_epoch_seconds() {
        assert_eq!(seconds(1_700_000_000_123), 1_700_000_000.123);
    }
}
