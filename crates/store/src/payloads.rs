//! An execution's input and output are stored once, in its row: the history rows of
//! `ExecutionStarted` and `ExecutionSucceeded` leave them out when they are the row's, and
//! reading the history puts them back (an execution purged between the two reads leaves its
//! events as they are stored). A finished execution's stored form is then its
//! payloads once, not twice (issue 16's "no duplicate copies between state and history").
//!
//! The engine always writes these details with the field, so a stored detail without it is one
//! written here; a detail that still has it (written before, or not the row's value) is read
//! as it is.

use serde::ser::{Serialize, SerializeMap, Serializer};
use serde_json::{Map, Value};
use sluice_engine::{EventType, Execution, HistoryEvent};

use crate::Result;
use crate::encode::to_json;

/// A field of an event's detail that is the execution row's, and how the row holds it.
#[derive(Clone, Copy)]
struct Kept {
    field: &'static str,
    of_row: fn(&Execution) -> Option<&Value>,
}

/// What of `kind`'s detail the execution's row holds.
fn kept_in_row(kind: EventType) -> Option<Kept> {
    let (field, of_row): (_, fn(&Execution) -> Option<&Value>) = match kind {
        EventType::ExecutionStarted => ("input", Execution::input),
        EventType::ExecutionSucceeded => ("output", Execution::output),
        _ => return None,
    };
    Some(Kept { field, of_row })
}

/// The detail of `event` as its history row stores it, `state` being the execution after the
/// step that wrote the event.
pub(crate) fn stored_detail(event: &HistoryEvent, state: &Execution) -> Result<String> {
    let what = "history event detail";
    let Some(Kept { field, of_row }) = kept_in_row(event.kind) else {
        return Ok(event.detail.as_json().to_owned());
    };
    match (event.detail.as_object(), of_row(state)) {
        (Some(detail), Some(kept)) if detail.get(field) == Some(kept) => {
            to_json(&Without { detail, field }, what)
        }
        _ => Ok(event.detail.as_json().to_owned()),
    }
}

/// Whether `events` hold a detail [`stored_detail`] left a payload out of: reading them
/// needs the execution's row.
pub(crate) fn left_out(events: &[HistoryEvent]) -> bool {
    events.iter().any(|event| missing(event).is_some())
}

/// Puts back what [`stored_detail`] left out of `events`, from the execution's row `state`.
pub(crate) fn restore(events: &mut [HistoryEvent], state: &Execution) {
    for event in events {
        if let Some(Kept { field, of_row }) = missing(event)
            && let Some(value) = of_row(state)
        {
            event.detail.edit(|detail| {
                if let Some(detail) = detail.as_object_mut() {
                    detail.insert(field.to_owned(), value.clone());
                }
            });
        }
    }
}

/// The field left out of `event`'s detail, if one was.
fn missing(event: &HistoryEvent) -> Option<Kept> {
    let kept = kept_in_row(event.kind)?;
    let detail = event.detail.as_object()?;
    (!detail.contains_key(kept.field)).then_some(kept)
}

/// An object serialized without one of its fields (not copied to drop it).
struct Without<'a> {
    detail: &'a Map<String, Value>,
    field: &'a str,
}

impl Serialize for Without<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(Some(self.detail.len().saturating_sub(1)))?;
        for (key, value) in self.detail.iter().filter(|(key, _)| *key != self.field) {
            map.serialize_entry(key, value)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_engine::{EventId, ExecutionInfo, Input, Limits};
    use sluice_ir::Flow;

    use super::*;

    fn finished(input: Value) -> (Execution, Vec<HistoryEvent>) {
        let flow = sluice_lang::asl::parse(
            r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": {"done": true}, "End": true}}}"#,
        )
        .expect("parses");
        let mut execution = Execution::new(ExecutionInfo {
            name: "e".into(),
            flow_name: "f".into(),
            role_arn: None,
            token_prefix: "t-".into(),
            seed: 1,
            limits: Limits::default(),
            context_ids: None,
        });
        let step = execution
            .apply(&flow as &Flow, Input::Start { input }, 0)
            .expect("starts");
        (execution, step.events)
    }

    fn stored(events: &[HistoryEvent], state: &Execution) -> Vec<HistoryEvent> {
        events
            .iter()
            .map(|event| HistoryEvent {
                detail: serde_json::from_str(&stored_detail(event, state).expect("encodes"))
                    .expect("JSON"),
                ..event.clone()
            })
            .collect()
    }

    #[test]
    fn the_payloads_are_stored_once_and_read_back_whole() {
        let input = json!({"order": {"id": 7, "lines": ["a", "b"]}});
        let (state, events) = finished(input.clone());
        let mut read = stored(&events, &state);
        assert_eq!(read[0].id, EventId(1));
        assert_eq!(read[0].detail, json!({}), "the input is the row's");
        let last = read.last().expect("events");
        assert_eq!(last.kind, EventType::ExecutionSucceeded);
        assert_eq!(last.detail, json!({}), "the output is the row's");
        assert!(left_out(&read));
        restore(&mut read, &state);
        assert_eq!(read, events);
        assert_eq!(read[0].detail, json!({ "input": input }));
    }

    #[test]
    fn a_page_without_the_first_and_last_events_needs_no_row() {
        let (state, events) = finished(json!({}));
        let middle = &stored(&events, &state)[1..events.len() - 1];
        assert!(!middle.is_empty());
        assert!(!left_out(middle));
        assert_eq!(middle, &events[1..events.len() - 1]);
    }

    #[test]
    fn a_detail_that_is_not_the_rows_is_stored_as_it_is() {
        let (state, mut events) = finished(json!({"a": 1}));
        events[0].detail = json!({"input": {"a": 2}}).into();
        let read = stored(&events, &state);
        assert_eq!(read[0].detail, json!({"input": {"a": 2}}));
    }
}
