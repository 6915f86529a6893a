//! Success bodies, shaped as CloudFlow renders them (spec §3): PascalCase keys, absent
//! optional fields omitted, JSON payloads as strings, timestamps in UTC with milliseconds.

/// `2019-01-01T01:01:01.001Z`.
pub use crate::wire_time::millis_z as time;
use serde_json::{Map, Value, json};
use sluice_service::views::{AliasView, ExecutionView, FlowView, ScheduleView, VersionView};
use sluice_service::views::{HistoryEvent, Status};
use sluice_service::{MapRunSummary, SyncOutcome};

/// A body under construction: `RequestId` first, then the fields.
pub struct Body(Map<String, Value>);

impl Body {
    pub fn new(request_id: &str) -> Self {
        let mut map = Map::new();
        map.insert("RequestId".into(), request_id.into());
        Body(map)
    }

    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.into(), value.into());
        self
    }

    /// Adds the fields of an object (as produced by the functions below).
    pub fn merge(mut self, fields: Value) -> Self {
        if let Value::Object(fields) = fields {
            self.0.extend(fields);
        }
        self
    }

    pub fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

fn insert_some(map: &mut Map<String, Value>, key: &str, value: Option<impl Into<Value>>) {
    if let Some(v) = value {
        map.insert(key.into(), v.into());
    }
}

pub fn flow(flow: &FlowView) -> Value {
    let mut map = Map::new();
    map.insert("Name".into(), flow.name.as_str().into());
    map.insert("Id".into(), flow.public_id().into());
    map.insert("Description".into(), flow.description.clone().into());
    map.insert("Definition".into(), flow.definition.clone().into());
    map.insert("Type".into(), "FDL".into());
    map.insert("ExecutionMode".into(), flow.mode.as_str().into());
    insert_some(&mut map, "RoleArn", flow.role_arn.clone());
    if let Some(environment) = flow.attributes.get("Environment") {
        map.insert("Environment".into(), environment.clone());
    }
    map.insert("CreatedTime".into(), time(flow.created_at).into());
    map.insert("LastModifiedTime".into(), time(flow.modified_at).into());
    Value::Object(map)
}

/// The execution fields shared by StartExecution, DescribeExecution, StopExecution and
/// ListExecutions.
pub fn execution(flow: &FlowView, definition: &str, execution: &ExecutionView) -> Value {
    let mut map = Map::new();
    map.insert("Name".into(), execution.name.as_str().into());
    map.insert("FlowName".into(), flow.name.as_str().into());
    map.insert("FlowDefinition".into(), definition.into());
    map.insert(
        "Input".into(),
        json_text(execution.input.as_ref().unwrap_or(&json!({}))).into(),
    );
    insert_some(&mut map, "Output", execution.output.as_ref().map(json_text));
    map.insert("Status".into(), status(execution.status).into());
    insert_some(&mut map, "RoleArn", execution.role_arn.clone());
    map.insert(
        "StartedTime".into(),
        time(execution.started_at.unwrap_or(execution.created_at)).into(),
    );
    insert_some(&mut map, "StoppedTime", execution.stopped_at.map(time));
    if let Some(environment) = flow.attributes.get("Environment") {
        map.insert("Environment".into(), environment.clone());
    }
    Value::Object(map)
}

/// StartSyncExecution's body: the final status, output or error of an Express execution.
pub fn sync_execution(sync: &SyncOutcome) -> Value {
    let mut map = Map::new();
    map.insert("Name".into(), sync.name.clone().into());
    map.insert("FlowName".into(), sync.flow.name.as_str().into());
    map.insert("Status".into(), status(sync.status).into());
    insert_some(&mut map, "Output", sync.output.as_ref().map(json_text));
    if let Some(error) = &sync.error {
        map.insert("ErrorCode".into(), error.code.as_str().into());
        map.insert("ErrorMessage".into(), error.detail.clone().into());
    }
    map.insert("StartedTime".into(), time(sync.started_at).into());
    map.insert("StoppedTime".into(), time(sync.stopped_at).into());
    Value::Object(map)
}

/// `DescribeMapRun`'s fields (`UpdateMapRun` answers the bounds among them).
pub fn map_run(flow: &str, execution: &str, run: &MapRunSummary) -> Value {
    let mut map = Map::new();
    map.insert("FlowName".into(), flow.into());
    map.insert("ExecutionName".into(), execution.into());
    map.insert("MapRunName".into(), run.name.clone().into());
    map.insert("Status".into(), run.status.as_str().into());
    map.insert("StartedTime".into(), time(run.started_at).into());
    if let Some(stopped) = run.stopped_at {
        map.insert("StoppedTime".into(), time(stopped).into());
    }
    map.insert("Concurrency".into(), run.max_concurrency.into());
    if let Some(count) = run.tolerated.count {
        map.insert("ToleratedFailedCount".into(), count.into());
    }
    if let Some(percentage) = run.tolerated.percentage {
        map.insert("ToleratedFailedPercentage".into(), percentage.into());
    }
    map.insert(
        "ItemCounts".into(),
        json!({
            "Total": run.total,
            "Pending": run.pending,
            "Running": run.running,
            "Succeed": run.succeeded,
            "Failed": run.failed,
            "Aborted": run.aborted,
        }),
    );
    Value::Object(map)
}

pub fn status(status: Status) -> &'static str {
    status.as_str()
}

pub fn history_event(event: &HistoryEvent) -> Value {
    let mut map = Map::new();
    map.insert("EventId".into(), event.id.0.into());
    map.insert(
        "ScheduleEventId".into(),
        event.schedule_id.map_or(0, |id| id.0).into(),
    );
    map.insert(
        "StepName".into(),
        event.step.as_ref().map_or("", |s| s.as_str()).into(),
    );
    map.insert("Time".into(), time(event.time).into());
    map.insert("Type".into(), event.kind.as_str().into());
    map.insert("EventDetail".into(), json_text(&event.detail).into());
    Value::Object(map)
}

pub fn schedule(schedule: &ScheduleView) -> Value {
    json!({
        "ScheduleName": schedule.name,
        "ScheduleId": format!("{:016x}", schedule.id),
        "Description": schedule.description,
        "CronExpression": schedule.cron,
        "Payload": schedule.payload,
        "Enable": schedule.enabled,
        "CreatedTime": time(schedule.created_at),
        "LastModifiedTime": time(schedule.modified_at),
    })
}

pub fn version(version: &VersionView) -> Value {
    json!({
        "Version": version.version.to_string(),
        "Description": version.description,
        "CreatedTime": time(version.created_at),
    })
}

pub fn alias(alias: &AliasView) -> Value {
    json!({
        "Name": alias.name,
        "Description": alias.description,
        "RoutingConfigurations": alias.routing,
        "CreatedTime": time(alias.created_at),
        "LastModifiedTime": time(alias.modified_at),
    })
}

fn json_text(value: &Value) -> String {
    value.to_string()
}

#[cfg(test)]
mod tests {
    use sluice_ir::StateName;
    use sluice_service::views::{EventId, EventType};

    use super::*;

    #[test]
    fn times_have_milliseconds_and_z() {
        assert_eq!(time(1_546_304_461_001), "2019-01-01T01:01:01.001Z");
        assert_eq!(time(0), "1970-01-01T00:00:00.000Z");
    }

    #[test]
    fn renders_cloudflow_field_names_and_a_string_detail() {
        let event = HistoryEvent {
            id: EventId(4),
            schedule_id: Some(EventId(3)),
            step: Some(StateName::new("Task1")),
            time: 1_700_000_000_007,
            kind: EventType::TaskSucceeded,
            detail: json!({"output": {"a": 1}}).into(),
        };
        assert_eq!(
            history_event(&event),
            json!({
                "EventId": 4,
                "ScheduleEventId": 3,
                "StepName": "Task1",
                "Time": "2023-11-14T22:13:20.007Z",
                "Type": "TaskSucceeded",
                "EventDetail": "{\"output\":{\"a\":1}}",
            })
        );
    }
}
