//! Executions and task calls as the store keeps them: versioned formats owned by the engine,
//! apart from its in-memory structs (`Execution`, `Thread`, `Op`, `Active`, `Block`, …), which
//! may change freely. The engine converts its structs to the latest format when they are
//! written, and upgrades every older format when one is read:
//!
//! - `v1`: the in-memory structs as serde derived them, before formats had a version (read only);
//! - `v2`: the current format, `"format": 2` first (see its module for the shape).
//!
//! A new format is a new module: the previous one loses its writing and gains its upgrade, and
//! `tests/data/snapshots/` gets a golden file of the new format for every case
//! (`tests/snapshots.rs` loads every file of every format and runs it to the end).

mod v1;
mod v2;

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use crate::{Execution, TaskCall};

/// The format this engine writes; it reads this one and every older one.
pub const FORMAT: u64 = 2;

/// The key of the format number, the first key of what this engine writes.
const FORMAT_KEY: &str = "format";

/// An execution in the latest format: borrowed from the execution when written, owned when
/// read (from any format). `Execution::from(snapshot)` is the execution again.
pub struct Snapshot<'a>(v2::Execution<'a>);

impl<'a> Snapshot<'a> {
    pub fn of(execution: &'a Execution) -> Self {
        Snapshot(v2::Execution::of(execution))
    }
}

impl From<Snapshot<'_>> for Execution {
    fn from(snapshot: Snapshot<'_>) -> Self {
        snapshot.0.into()
    }
}

/// A task call in the latest format (a task row): as [`Snapshot`] is for executions.
pub struct CallSnapshot<'a>(v2::TaskCall<'a>);

impl<'a> CallSnapshot<'a> {
    pub fn of(call: &'a TaskCall) -> Self {
        CallSnapshot(v2::TaskCall::of(call))
    }
}

impl From<CallSnapshot<'_>> for TaskCall {
    fn from(snapshot: CallSnapshot<'_>) -> Self {
        snapshot.0.into()
    }
}

impl Serialize for Snapshot<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Tagged::new(&self.0).serialize(serializer)
    }
}

impl Serialize for CallSnapshot<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Tagged::new(&self.0).serialize(serializer)
    }
}

/// The latest format's fields after its number.
#[derive(Serialize)]
struct Tagged<'s, T> {
    format: u64,
    #[serde(flatten)]
    fields: &'s T,
}

impl<'s, T> Tagged<'s, T> {
    fn new(fields: &'s T) -> Self {
        Tagged {
            format: FORMAT,
            fields,
        }
    }
}

impl<'de> Deserialize<'de> for Snapshot<'static> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(AnyFormat(PhantomData))
    }
}

impl<'de> Deserialize<'de> for CallSnapshot<'static> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(AnyFormat(PhantomData))
    }
}

/// A record stored in one of several formats.
trait Versioned: Sized {
    /// What the record is, for errors.
    const WHAT: &'static str;

    /// Reads the fields of format `format` (all but the format number) and upgrades them.
    fn read<'de, D: Deserializer<'de>>(format: u64, fields: D) -> Result<Self, D::Error>;
}

impl Versioned for Snapshot<'static> {
    const WHAT: &'static str = "execution snapshot";

    fn read<'de, D: Deserializer<'de>>(format: u64, fields: D) -> Result<Self, D::Error> {
        match format {
            1 => v1::Execution::deserialize(fields).map(|old| Snapshot(old.into())),
            2 => v2::Execution::deserialize(fields).map(Snapshot),
            other => Err(newer::<D::Error>(Self::WHAT, other)),
        }
    }
}

impl Versioned for CallSnapshot<'static> {
    const WHAT: &'static str = "task call";

    fn read<'de, D: Deserializer<'de>>(format: u64, fields: D) -> Result<Self, D::Error> {
        match format {
            1 => v1::TaskCall::deserialize(fields).map(|old| CallSnapshot(old.into())),
            2 => v2::TaskCall::deserialize(fields).map(CallSnapshot),
            other => Err(newer::<D::Error>(Self::WHAT, other)),
        }
    }
}

fn newer<E: de::Error>(what: &str, format: u64) -> E {
    E::custom(format_args!(
        "the {what} has format {format}; this sluice reads formats 1 to {FORMAT}"
    ))
}

struct AnyFormat<T>(PhantomData<T>);

impl<'de, T: Versioned> Visitor<'de> for AnyFormat<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a stored {} (an object)", T::WHAT)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<T, A::Error> {
        let first: Option<String> = map.next_key()?;
        if first.as_deref() == Some(FORMAT_KEY) {
            // As this engine writes it: the number first, the fields read straight on.
            let format: u64 = map.next_value()?;
            return T::read(format, MapAccessDeserializer::new(map));
        }
        // Format 1 has no number; a tool may also have reordered the keys. Gather the object,
        // then read it by its number.
        let mut object = serde_json::Map::new();
        if let Some(key) = first {
            object.insert(key, map.next_value()?);
        }
        while let Some((key, value)) = map.next_entry::<String, Value>()? {
            object.insert(key, value);
        }
        let format = match object.remove(FORMAT_KEY) {
            None => 1,
            Some(number) => number.as_u64().ok_or_else(|| {
                de::Error::custom(format_args!("the format {number} is not a number"))
            })?,
        };
        T::read(format, Value::Object(object)).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value};

    use super::*;

    const STORED: &str = include_str!("../../tests/data/snapshots/fanouts/v2.json");

    fn load(text: &str) -> Result<Execution, serde_json::Error> {
        serde_json::from_str::<Snapshot>(text).map(Execution::from)
    }

    /// The stored object with its format number moved to the end, or replaced.
    fn with_format(format: Option<Value>) -> String {
        let mut object: Map<String, Value> = serde_json::from_str(STORED).expect("an object");
        object.remove(FORMAT_KEY);
        if let Some(format) = format {
            object.insert(FORMAT_KEY.into(), format);
        }
        serde_json::to_string(&object).expect("serializes")
    }

    #[test]
    fn the_format_number_is_found_wherever_a_tool_moved_it() {
        let as_written = load(STORED).expect("loads");
        let moved = with_format(Some(FORMAT.into()));
        assert!(!moved.starts_with("{\"format\""), "{moved}");
        assert_eq!(load(&moved).expect("loads"), as_written);
    }

    #[test]
    fn a_newer_or_garbled_format_is_refused_by_name() {
        let newer = load(&with_format(Some((FORMAT + 1).into()))).expect_err("refused");
        assert!(
            newer
                .to_string()
                .contains("format 3; this sluice reads formats 1 to 2"),
            "{newer}"
        );
        let garbled = load(&with_format(Some("two".into()))).expect_err("refused");
        assert!(garbled.to_string().contains("not a number"), "{garbled}");
        // Without a number it is format 1, which this object is not.
        assert!(load(&with_format(None)).is_err());
        assert!(load("[1, 2]").is_err());
    }
}
