//! Conversions between SQLite values and the store's types, and from rusqlite errors to
//! [`StoreError`]s that say what was being done.

use std::fmt;

use rusqlite::types::Type;
use rusqlite::{Row, ffi};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sluice_engine::{EventId, OpId};

use crate::{Result, StoreError};

pub(super) fn backend(message: impl Into<String>) -> StoreError {
    StoreError::Backend(message.into())
}

/// A storage failure while `doing` something.
pub(super) fn failed(doing: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |e| backend(format!("{doing}: {e}"))
}

/// Like [`failed`] for an insert, but a unique-key violation means `what` already exists.
pub(super) fn inserting(what: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |e| {
        if is_unique_violation(&e) {
            StoreError::AlreadyExists(what.to_string())
        } else {
            backend(format!("inserting {what}: {e}"))
        }
    }
}

/// Only key collisions are "already exists"; NOT NULL or CHECK failures are bugs to report.
fn is_unique_violation(e: &rusqlite::Error) -> bool {
    matches!(e, rusqlite::Error::SqliteFailure(f, _)
        if f.extended_code == ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

pub(super) fn to_json<T: Serialize>(value: &T, what: &str) -> Result<String> {
    serde_json::to_string(value).map_err(|e| backend(format!("encoding {what}: {e}")))
}

/// Decodes the JSON column `index` of a row; `record` names the row in the error, so a
/// corrupt value is reported, never a panic.
pub(super) fn json_at<T: DeserializeOwned>(
    row: &Row<'_>,
    index: usize,
    record: impl FnOnce() -> String,
) -> rusqlite::Result<T> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text).map_err(|e| corrupt(index, format!("{} is corrupt: {e}", record())))
}

/// A column whose value the code cannot interpret.
pub(super) fn corrupt(index: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(Corrupt(message)))
}

#[derive(Debug)]
struct Corrupt(String);

impl fmt::Display for Corrupt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Corrupt {}

/// Engine ids are u64; SQLite integers are i64. Ids past i64::MAX never happen in practice,
/// but are refused rather than wrapped.
pub(super) fn sql_int(value: u64, what: &str) -> Result<i64> {
    i64::try_from(value).map_err(|_| backend(format!("{what} {value} is out of range")))
}

pub(super) fn op_at(row: &Row<'_>, index: usize) -> rusqlite::Result<OpId> {
    unsigned_at(row, index, "op id").map(OpId)
}

pub(super) fn event_id_at(row: &Row<'_>, index: usize) -> rusqlite::Result<EventId> {
    unsigned_at(row, index, "event id").map(EventId)
}

fn unsigned_at(row: &Row<'_>, index: usize, what: &str) -> rusqlite::Result<u64> {
    let value: i64 = row.get(index)?;
    u64::try_from(value).map_err(|_| corrupt(index, format!("negative {what} {value}")))
}

/// A `LIMIT` argument: usize::MAX means "all".
pub(super) fn sql_limit(limit: usize) -> i64 {
    i64::try_from(limit).unwrap_or(i64::MAX)
}

/// The smallest string greater than every string starting with `prefix`, in SQLite's binary
/// order (UTF-8 bytes, which is code point order); `None` if there is none. A prefix filter
/// becomes the index range `name >= prefix AND name < successor`: exact, unlike LIKE (whose
/// `_` and `%` are wildcards) or appending U+10FFFF (which misses names continuing with it).
pub(super) fn prefix_successor(prefix: &str) -> Option<String> {
    let mut chars: Vec<char> = prefix.chars().collect();
    while let Some(last) = chars.pop() {
        if let Some(next) = next_char(last) {
            chars.push(next);
            return Some(chars.into_iter().collect());
        }
    }
    None
}

fn next_char(c: char) -> Option<char> {
    match c {
        // Surrogates are not chars; the next one after them is U+E000.
        '\u{D7FF}' => Some('\u{E000}'),
        c => char::from_u32(u32::from(c) + 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_successors_bound_exactly_the_names_with_the_prefix() {
        assert_eq!(prefix_successor("a_"), Some("a`".into()));
        assert_eq!(prefix_successor(""), None);
        assert_eq!(prefix_successor("a\u{10FFFF}"), Some("b".into()));
        assert_eq!(prefix_successor("\u{10FFFF}"), None);
        assert_eq!(prefix_successor("\u{D7FF}"), Some("\u{E000}".into()));
        let successor = prefix_successor("ab").unwrap_or_default();
        assert!("ab\u{10FFFF}\u{10FFFF}" < successor.as_str());
        assert!("ac" >= successor.as_str());
    }
}
