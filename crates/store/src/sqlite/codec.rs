//! Conversions between SQLite values and the store's types, and from rusqlite errors to
//! [`StoreError`]s that say what was being done.

use std::fmt;

use rusqlite::types::Type;
use rusqlite::{Row, ffi};
use serde::de::DeserializeOwned;
use sluice_engine::{EventId, OpId};

use crate::StoreError;
pub(super) use crate::encode::{backend, prefix_successor, sql_limit, to_json};

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
