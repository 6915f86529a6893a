//! Reading SQLite rows into the store's records, and rusqlite errors as [`StoreError`]s that
//! say what was being done.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, Params, Row, ffi};

use crate::Result;
use crate::StoreError;
use crate::decode::{Cell, Columns};
pub(super) use crate::encode::{backend, sql_limit, to_json};
use crate::query::{Arg, Sql};

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

/// Every row `sql` selects, each decoded by `decode`.
pub(super) fn all<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    decode: impl Fn(&dyn Columns) -> Result<T>,
    doing: &str,
) -> Result<Vec<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(failed(doing))?;
    let mut rows = statement.query(params).map_err(failed(doing))?;
    let mut decoded = Vec::new();
    while let Some(row) = rows.next().map_err(failed(doing))? {
        decoded.push(decode(row)?);
    }
    Ok(decoded)
}

/// The first row `sql` selects, if any, decoded by `decode`.
pub(super) fn one<T>(
    conn: &Connection,
    sql: &str,
    params: impl Params,
    decode: impl Fn(&dyn Columns) -> Result<T>,
    doing: &str,
) -> Result<Option<T>> {
    let mut statement = conn.prepare_cached(sql).map_err(failed(doing))?;
    let mut rows = statement.query(params).map_err(failed(doing))?;
    match rows.next().map_err(failed(doing))? {
        Some(row) => decode(row).map(Some),
        None => Ok(None),
    }
}

/// Every row a built query selects.
pub(super) fn all_of<T>(
    conn: &Connection,
    sql: &Sql,
    decode: impl Fn(&dyn Columns) -> Result<T>,
    doing: &str,
) -> Result<Vec<T>> {
    let args = sql.args.iter().map(|arg| match arg {
        Arg::Int(v) => rusqlite::types::Value::Integer(*v),
        Arg::Text(s) => rusqlite::types::Value::Text(s.clone()),
    });
    all(
        conn,
        &sql.text,
        rusqlite::params_from_iter(args),
        decode,
        doing,
    )
}

impl Columns for Row<'_> {
    fn cell(&self, index: usize) -> Result<Cell> {
        let value = self
            .get_ref(index)
            .map_err(|e| backend(format!("reading column {index}: {e}")))?;
        match value {
            ValueRef::Null => Ok(Cell::Null),
            ValueRef::Integer(value) => Ok(Cell::Int(value)),
            ValueRef::Text(bytes) => String::from_utf8(bytes.to_vec())
                .map(Cell::Text)
                .map_err(|_| backend(format!("column {index} is not UTF-8"))),
            ValueRef::Real(_) | ValueRef::Blob(_) => Err(backend(format!(
                "column {index} is neither a number nor text"
            ))),
        }
    }
}
