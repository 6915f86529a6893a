//! Talking to PostgreSQL: pooled connections, statements prepared once per connection, rows
//! read into the store's records, and driver errors as [`StoreError`]s that say what was
//! being done.

use std::pin::Pin;
use std::task::Poll;

use deadpool_postgres::{GenericClient, Pool, Transaction};
use futures_util::future::{BoxFuture, MaybeDone, maybe_done, poll_fn};
use tokio_postgres::error::SqlState;
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Row, Statement};

use crate::decode::{Cell, Columns};
pub(super) use crate::encode::{backend, sql_limit, to_json};
use crate::query::{Arg, Sql};
use crate::{Result, StoreError};

/// A pooled connection.
pub(super) type Client = deadpool_postgres::Object;

/// Statement arguments.
pub(super) type Args<'a> = [&'a (dyn ToSql + Sync)];

pub(super) async fn pooled(pool: &Pool) -> Result<Client> {
    pool.get()
        .await
        .map_err(|e| backend(format!("connecting to PostgreSQL: {e}")))
}

pub(super) async fn transaction(client: &mut Client) -> Result<Transaction<'_>> {
    client
        .transaction()
        .await
        .map_err(failed("starting a transaction"))
}

/// What every transaction writing steps sets first. Its statements reach rows by key, and the
/// planner, misled by the churn of the timers and tasks tables (a few live rows among many dead
/// ones between vacuums, so statistics that say "empty"), would otherwise scan those tables
/// whole; their arrays' values never change the best plan, and a plan made at each execution
/// is most of a small group's cost.
macro_rules! keyed_writes {
    () => {
        "SET LOCAL enable_seqscan TO off; SET LOCAL plan_cache_mode TO force_generic_plan"
    };
}
const KEYED_WRITES: &str = keyed_writes!();

/// `BEGIN` of a transaction writing steps, for a flight (see [`KEYED_WRITES`]).
pub(super) const BEGIN_KEYED_WRITES: &str = concat!("BEGIN; ", keyed_writes!());

/// A transaction writing steps (see [`KEYED_WRITES`]).
pub(super) async fn step_transaction(client: &mut Client) -> Result<Transaction<'_>> {
    let tx = transaction(client).await?;
    tx.batch_execute(KEYED_WRITES)
        .await
        .map_err(failed("setting up a step's transaction"))?;
    Ok(tx)
}

pub(super) fn failed(doing: &str) -> impl FnOnce(tokio_postgres::Error) -> StoreError + '_ {
    move |e| backend(format!("{doing}: {e}"))
}

/// Like [`failed`], for a `COMMIT`: a broken connection leaves its outcome unknown. (A
/// refusal by the server, e.g. a serialization failure, is certain.)
pub(super) fn uncertain(doing: &str) -> impl FnOnce(tokio_postgres::Error) -> StoreError + '_ {
    move |e| {
        if e.as_db_error().is_some() {
            backend(format!("{doing}: {e}"))
        } else {
            StoreError::Uncertain(format!("{doing}: {e}"))
        }
    }
}

/// Like [`failed`], but a unique-key violation means `what` already exists.
pub(super) fn inserting(what: &str) -> impl FnOnce(tokio_postgres::Error) -> StoreError + '_ {
    move |e| {
        if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
            StoreError::AlreadyExists(what.to_string())
        } else {
            backend(format!("inserting {what}: {e}"))
        }
    }
}

/// Like [`inserting`], for the rows of many records in one statement: the server's detail
/// says which key exists.
pub(super) fn inserting_rows(what: &str) -> impl FnOnce(tokio_postgres::Error) -> StoreError + '_ {
    move |e| match e.as_db_error() {
        Some(db) if db.code() == &SqlState::UNIQUE_VIOLATION => StoreError::AlreadyExists(format!(
            "{what}: {}",
            db.detail().unwrap_or_else(|| db.message())
        )),
        _ => backend(format!("inserting {what}: {e}")),
    }
}

/// One statement of a pipelined flight, answered with the rows it returns.
pub(super) type Flying<'a> = BoxFuture<'a, Result<Vec<Row>>>;

/// The arguments a statement of a flight owns (the arrays built for it).
pub(super) type Owned<'a> = Vec<Box<dyn ToSql + Sync + Send + 'a>>;

/// A prepared statement with the arguments it owns, for a flight.
pub(super) fn flying<'a, C: GenericClient>(
    client: &'a C,
    statement: &'a Statement,
    args: Owned<'a>,
    error: impl FnOnce(tokio_postgres::Error) -> StoreError + Send + 'a,
) -> Flying<'a> {
    Box::pin(async move {
        let args: Vec<&(dyn ToSql + Sync)> = args
            .iter()
            .map(|arg| &**arg as &(dyn ToSql + Sync))
            .collect();
        client.query(statement, &args).await.map_err(error)
    })
}

/// Sends the statements of `flight` in their order and then waits for all their answers: one
/// round trip for them all. A statement is sent when its future is first polled (prepared
/// statements need no round trip of their own), and the server runs them in the order they
/// came, so a flight ending in `COMMIT` commits exactly its statements.
pub(super) async fn fly(flight: Vec<Flying<'_>>) -> Vec<Result<Vec<Row>>> {
    let mut flight: Vec<MaybeDone<Flying<'_>>> = flight.into_iter().map(maybe_done).collect();
    poll_fn(|cx| {
        let mut waiting = false;
        for statement in &mut flight {
            waiting |= Pin::new(statement).poll(cx).is_pending();
        }
        if waiting {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    flight
        .iter_mut()
        .filter_map(|statement| Pin::new(statement).take_output())
        .collect()
}

/// Statements without arguments (`BEGIN`, `COMMIT`), for a flight.
pub(super) fn simple<'a>(client: &'a Client, sql: &'static str) -> Flying<'a> {
    Box::pin(async move {
        client
            .batch_execute(sql)
            .await
            .map(|()| Vec::new())
            .map_err(failed(sql))
    })
}

/// The answers of a flight, or its first failure (those after it only say that the
/// transaction is aborted).
pub(super) fn landed(answers: Vec<Result<Vec<Row>>>) -> Result<Vec<Vec<Row>>> {
    answers.into_iter().collect()
}

/// `sql` as a statement prepared once per connection.
pub(super) async fn prepared<C: GenericClient>(client: &C, sql: &str) -> Result<Statement> {
    client.prepare_cached(sql).await.map_err(failed(sql))
}

/// Runs `sql` and says how many rows it changed.
pub(super) async fn execute<C: GenericClient>(
    client: &C,
    sql: &str,
    args: &Args<'_>,
) -> Result<u64> {
    let statement = prepared(client, sql).await?;
    client.execute(&statement, args).await.map_err(failed(sql))
}

/// Every row `sql` selects, each decoded by `decode`.
pub(super) async fn all<C: GenericClient, T>(
    client: &C,
    sql: &str,
    args: &Args<'_>,
    decode: impl Fn(&dyn Columns) -> Result<T>,
) -> Result<Vec<T>> {
    let statement = prepared(client, sql).await?;
    let rows = client.query(&statement, args).await.map_err(failed(sql))?;
    rows.iter().map(|row| decode(row)).collect()
}

/// The row `sql` selects, if any, decoded by `decode`.
pub(super) async fn one<C: GenericClient, T>(
    client: &C,
    sql: &str,
    args: &Args<'_>,
    decode: impl Fn(&dyn Columns) -> Result<T>,
) -> Result<Option<T>> {
    let statement = prepared(client, sql).await?;
    let row = client
        .query_opt(&statement, args)
        .await
        .map_err(failed(sql))?;
    row.as_ref().map(|row| decode(row)).transpose()
}

/// Every row a built query selects.
pub(super) async fn all_of<C: GenericClient, T>(
    client: &C,
    sql: &Sql,
    decode: impl Fn(&dyn Columns) -> Result<T>,
) -> Result<Vec<T>> {
    all(client, &sql.text, &arguments(sql), decode).await
}

/// Runs a built statement and says how many rows it changed.
pub(super) async fn execute_of<C: GenericClient>(
    client: &C,
    sql: &Sql,
) -> Result<u64, tokio_postgres::Error> {
    let statement = client.prepare_cached(&sql.text).await?;
    client.execute(&statement, &arguments(sql)).await
}

fn arguments(sql: &Sql) -> Vec<&(dyn ToSql + Sync)> {
    sql.args
        .iter()
        .map(|arg| match arg {
            Arg::Int(v) => v as &(dyn ToSql + Sync),
            Arg::Text(s) => s,
            Arg::MaybeInt(v) => v,
            Arg::MaybeText(s) => s,
        })
        .collect()
}

impl Columns for Row {
    fn cell(&self, index: usize) -> Result<Cell> {
        let read = |e: tokio_postgres::Error| backend(format!("reading column {index}: {e}"));
        let kind = self
            .columns()
            .get(index)
            .map(|c| c.type_().clone())
            .ok_or_else(|| backend(format!("no column {index}")))?;
        let cell = match kind {
            Type::INT8 => self
                .try_get::<_, Option<i64>>(index)
                .map_err(read)?
                .map(Cell::Int),
            Type::INT4 => self
                .try_get::<_, Option<i32>>(index)
                .map_err(read)?
                .map(|v| Cell::Int(v.into())),
            Type::BOOL => self
                .try_get::<_, Option<bool>>(index)
                .map_err(read)?
                .map(|v| Cell::Int(v.into())),
            _ => self
                .try_get::<_, Option<String>>(index)
                .map_err(read)?
                .map(Cell::Text),
        };
        Ok(cell.unwrap_or(Cell::Null))
    }
}
