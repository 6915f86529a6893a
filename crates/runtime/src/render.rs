//! History events as CloudFlow's `GetExecutionHistory` shows them.

use serde_json::{Value, json};
use sluice_engine::{HistoryEvent, Millis};

/// One event with CloudFlow's field names: `EventId`, `ScheduleEventId` (0 when the event
/// answers none), `StepName` (empty for execution events), `Time` (RFC 3339, milliseconds,
/// UTC) and `Type`, with `EventDetail` as a JSON *string*, as the API returns it.
pub fn cloudflow_event(event: &HistoryEvent) -> Value {
    json!({
        "EventId": event.id.0,
        "ScheduleEventId": event.schedule_id.map_or(0, |id| id.0),
        "StepName": event.step.as_ref().map_or("", |s| s.as_str()),
        "Time": rfc3339_millis(event.time),
        "Type": event.kind.as_str(),
        "EventDetail": event.detail.to_string(),
    })
}

/// `2026-11-22T09:13:25.890Z`; times outside jiff's range (never produced by a clock) are
/// shown as the raw number so nothing is lost.
pub fn rfc3339_millis(time: Millis) -> String {
    match jiff::Timestamp::from_millisecond(time) {
        Ok(ts) => ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        Err(_) => time.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use sluice_engine::{EventId, EventType};
    use sluice_ir::StateName;

    use super::*;

    #[test]
    fn renders_cloudflow_field_names_and_a_string_detail() {
        let event = HistoryEvent {
            id: EventId(4),
            schedule_id: Some(EventId(3)),
            step: Some(StateName::new("Task1")),
            time: 1_700_000_000_007,
            kind: EventType::TaskSucceeded,
            detail: json!({"output": {"a": 1}}),
        };
        assert_eq!(
            cloudflow_event(&event),
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
