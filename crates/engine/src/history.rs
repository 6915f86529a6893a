//! History events, with CloudFlow's event types (spec §8.3).

use std::fmt;
use std::sync::OnceLock;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sluice_ir::StateName;

use crate::Millis;

/// Dense, increasing from 1 within an execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct EventId(pub u64);

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    ExecutionStarted,
    ExecutionStopped,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionTimedOut,
    /// A failed execution runs again from its failed state.
    ExecutionRetried,
    /// A failed, stopped or timed-out execution runs on from where it ended (a redrive).
    ExecutionRedriven,
    StepEntered,
    StepStarted,
    StepSucceeded,
    StepFailed,
    StepExited,
    BranchEntered,
    BranchExited,
    IterationEntered,
    IterationExited,
    /// A distributed Map started its children; the detail names the map run.
    MapRunStarted,
    TaskScheduled,
    TaskStarted,
    TaskSubmitted,
    TaskSubmitFailed,
    TaskSucceeded,
    TaskFailed,
    TaskTimedOut,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::ExecutionStarted => "ExecutionStarted",
            EventType::ExecutionStopped => "ExecutionStopped",
            EventType::ExecutionSucceeded => "ExecutionSucceeded",
            EventType::ExecutionFailed => "ExecutionFailed",
            EventType::ExecutionTimedOut => "ExecutionTimedOut",
            EventType::ExecutionRetried => "ExecutionRetried",
            EventType::ExecutionRedriven => "ExecutionRedriven",
            EventType::StepEntered => "StepEntered",
            EventType::StepStarted => "StepStarted",
            EventType::StepSucceeded => "StepSucceeded",
            EventType::StepFailed => "StepFailed",
            EventType::StepExited => "StepExited",
            EventType::BranchEntered => "BranchEntered",
            EventType::BranchExited => "BranchExited",
            EventType::IterationEntered => "IterationEntered",
            EventType::IterationExited => "IterationExited",
            EventType::MapRunStarted => "MapRunStarted",
            EventType::TaskScheduled => "TaskScheduled",
            EventType::TaskStarted => "TaskStarted",
            EventType::TaskSubmitted => "TaskSubmitted",
            EventType::TaskSubmitFailed => "TaskSubmitFailed",
            EventType::TaskSucceeded => "TaskSucceeded",
            EventType::TaskFailed => "TaskFailed",
            EventType::TaskTimedOut => "TaskTimedOut",
        }
    }

    /// Whether this event ends the execution.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            EventType::ExecutionStopped
                | EventType::ExecutionSucceeded
                | EventType::ExecutionFailed
                | EventType::ExecutionTimedOut
        )
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryEvent {
    pub id: EventId,
    /// The event this one answers (a TaskSucceeded's TaskScheduled, a StepExited's
    /// StepEntered), or `None`.
    pub schedule_id: Option<EventId>,
    pub step: Option<StateName>,
    pub time: Millis,
    pub kind: EventType,
    /// Input, output, error and resource details, rendered as CloudFlow's `EventDetail`.
    pub detail: Detail,
}

/// An event's detail: a JSON object written as text once, when the event is recorded.
///
/// An event carries the data of its state (a state's input, its output), and most events are
/// only ever stored: written as text, the state's data is serialised once instead of copied
/// into a value of the event's own (a `serde_json::Value` is an allocation per key, string
/// and object) and serialised again by the store. Reading it as a [`Value`] (through `Deref`)
/// parses the text on first use.
#[derive(Clone)]
pub struct Detail {
    text: String,
    /// Written by [`Detail::of`]: `{"key": value}`, nothing more.
    one_field: bool,
    /// Boxed: most details are never read as values, and events stay small.
    value: OnceLock<Box<Value>>,
}

impl Detail {
    /// `{"key": value}`, the detail of most events.
    pub fn of(key: &str, value: &Value) -> Self {
        Self::of_sized(key, value).0
    }

    /// [`Detail::of`], and the size of `value` as JSON text (what a payload limit measures).
    pub fn of_sized(key: &str, value: &Value) -> (Self, usize) {
        let mut bytes = Vec::with_capacity(64);
        bytes.push(b'{');
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut bytes, key);
        bytes.push(b':');
        let start = bytes.len();
        let _ = serde_json::to_writer(&mut bytes, value);
        let size = bytes.len() - start;
        bytes.push(b'}');
        let detail = Self {
            text: String::from_utf8(bytes).unwrap_or_default(),
            one_field: true,
            value: OnceLock::new(),
        };
        (detail, size)
    }

    /// The one-field detail `{"from": value}` as `{"to": value}` (both plain names), without
    /// reading the value; `None` if it is no such detail.
    pub fn renamed(&self, from: &str, to: &str) -> Option<Self> {
        if !self.one_field {
            return None;
        }
        let value = self
            .text
            .strip_prefix("{\"")?
            .strip_prefix(from)?
            .strip_prefix("\":")?
            .strip_suffix('}')?;
        let mut text = String::with_capacity(value.len() + to.len() + 5);
        text.push_str("{\"");
        text.push_str(to);
        text.push_str("\":");
        text.push_str(value);
        text.push('}');
        Some(Self {
            text,
            one_field: true,
            value: OnceLock::new(),
        })
    }

    /// The detail as JSON text, as stored.
    pub fn as_json(&self) -> &str {
        &self.text
    }

    /// Changes the detail as a value (its text is written again).
    pub fn edit(&mut self, f: impl FnOnce(&mut Value)) {
        let mut value = self.value.take().map_or_else(|| parse(&self.text), |v| *v);
        f(&mut value);
        *self = value.into();
    }
}

/// Detail text is JSON this module wrote.
fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or(Value::Null)
}

impl From<Value> for Detail {
    fn from(value: Value) -> Self {
        let text = serde_json::to_string(&value).unwrap_or_default();
        Self {
            text,
            one_field: false,
            value: OnceLock::from(Box::new(value)),
        }
    }
}

impl std::ops::Deref for Detail {
    type Target = Value;

    fn deref(&self) -> &Value {
        self.value.get_or_init(|| Box::new(parse(&self.text)))
    }
}

impl PartialEq for Detail {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text || **self == **other
    }
}

impl PartialEq<Value> for Detail {
    fn eq(&self, other: &Value) -> bool {
        **self == *other
    }
}

impl fmt::Debug for Detail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Detail {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Detail {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Value::deserialize(deserializer).map(Detail::from)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_one_field_detail_is_the_text_of_that_object() {
        let value = json!({"order": 42, "note": "a \"quoted\" word", "last": {"step": [1, null]}});
        let detail = Detail::of("input", &value);
        let expected = json!({ "input": value });
        assert_eq!(detail.as_json(), serde_json::to_string(&expected).unwrap());
        assert_eq!(
            detail, expected,
            "read back as the value it was written from"
        );
        assert_eq!(detail["input"]["note"], "a \"quoted\" word");
        let (_, size) = Detail::of_sized("input", &value);
        assert_eq!(size, serde_json::to_string(&value).unwrap().len());
    }

    #[test]
    fn a_renamed_detail_holds_the_same_value_under_the_new_key() {
        let value = json!({"a": {"output": "}"}});
        let output = Detail::of("output", &value);
        let input = output
            .renamed("output", "input")
            .expect("a one-field detail");
        assert_eq!(input.as_json(), Detail::of("input", &value).as_json());
        assert_eq!(output.renamed("input", "input"), None, "not that field");
        let two = Detail::from(json!({"output": 1, "other": 2}));
        assert_eq!(two.renamed("output", "input"), None, "not one field");
    }

    #[test]
    fn an_edited_detail_is_written_again() {
        let mut detail = Detail::of("input", &json!({"a": 1}));
        detail.edit(|value| value["redriveCount"] = 2.into());
        assert_eq!(detail.as_json(), r#"{"input":{"a":1},"redriveCount":2}"#);
        assert_eq!(detail["redriveCount"], 2);
    }

    #[test]
    fn a_detail_round_trips_through_serde_as_its_value() {
        let detail = Detail::from(json!({"error": "E", "cause": "c"}));
        let text = serde_json::to_string(&detail).unwrap();
        assert_eq!(text, detail.as_json());
        let read: Detail = serde_json::from_str(&text).unwrap();
        assert_eq!(read, detail);
    }
}
