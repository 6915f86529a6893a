//! Executions, their history, and the timer and task rows the runtime resumes from.

use std::time::Duration;

use deadpool_postgres::{GenericClient, Pool};
use futures_util::future::try_join_all;
use sluice_engine::{EventId, HistoryEvent, Millis};
use tokio::task::JoinHandle;
use tokio_postgres::IsolationLevel;
use tokio_postgres::types::ToSql;

use super::codec::{
    Client, all, all_of, failed, fly, inserting, landed, one, pooled, prepared, sql_limit,
    step_transaction, transaction, uncertain,
};
use super::steps::{Decided, Statements, Stepping};
use crate::counts::{self, CountChange, Counted};
use crate::decode::{self, COUNTED_COLUMNS, EVENT_COLUMNS, EXECUTION_COLUMNS, TIMER_COLUMNS};
use crate::encode::{EncodedLinked, EncodedStep};
use crate::query::{self, Backend};
use crate::{
    CountsQuery, ExecutionCursor, ExecutionId, ExecutionName, ExecutionQuery, ExecutionRecord,
    ExecutionSummary, FlowId, MinuteCounts, NewExecution, Page, Purge, Result, StepWrite,
    StoreError, TimerRow,
};
use crate::{payloads, retention, rules};

/// Counts of one flow are spread over this many rows per minute and status (shards 1 to 16),
/// so that concurrent steps of its executions seldom wait for each other's row lock; [`fold`]
/// adds the shards of past minutes up into shard 0, so that readers add few rows.
const COUNT_SHARDS: i64 = 16;

/// Inserts the execution at version 1 (in the place of the run it reruns, which it replaces)
/// and writes its first step's rows and counts under the new id. The flow row is locked
/// `FOR SHARE`, so a start waits for a concurrent closing update or delete and then sees it.
pub(super) async fn create(
    client: &mut Client,
    owner: &str,
    new: &NewExecution,
    first: &StepWrite,
) -> Result<ExecutionId> {
    let linked = EncodedLinked::all(first)?;
    let first = &EncodedStep::new(first)?;
    let tx = step_transaction(client).await?;
    let id = insert(&tx, owner, new, first, None).await?;
    write_linked(&tx, owner, id, &linked).await?;
    tx.commit()
        .await
        .map_err(uncertain("committing an execution"))?;
    Ok(id)
}

/// [`create`] inside the transaction `tx`. A child execution (started by the step of
/// `parent`) keeps its root, the top-level execution it is purged with.
async fn insert<C: GenericClient>(
    tx: &C,
    owner: &str,
    new: &NewExecution,
    first: &EncodedStep,
    parent: Option<ExecutionId>,
) -> Result<ExecutionId> {
    let lock_flow = prepared(
        tx,
        "SELECT open, tag FROM flows WHERE id = $1 AND NOT deleted FOR SHARE",
    )
    .await?;
    let flow = tx
        .query_opt(&lock_flow, &[&new.flow_id.0])
        .await
        .map_err(failed("reading whether a flow is open"))?;
    rules::open_to_new(flow.as_ref().map(|row| row.get(0)), new)?;
    let tag: Option<String> = flow.and_then(|row| row.get(1));
    let (listed_at, mut changes) = match new.reruns {
        Some(old) => replace(tx, new.flow_id, old).await?,
        None => (new.now, Vec::new()),
    };
    let insert = prepared(
        tx,
        "INSERT INTO executions (tenant, flow_id, flow_name, flow_revision, name, status, \
         started_at, stopped_at, error, cause, state, version, created_at, tag, listed_at, \
         map_run, run_version, run_alias, redrive_count, redriven_at, root_id, run_test_case) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13, $14, $15, $16, $17, \
         $18, $19, (SELECT COALESCE(p.root_id, p.id) FROM executions p WHERE p.id = $20), $21) RETURNING id",
    )
    .await?;
    let row = tx
        .query_one(
            &insert,
            &[
                &new.tenant.0,
                &new.flow_id.0,
                &new.flow_name.0,
                &new.flow_revision,
                &new.name.0,
                &first.status,
                &first.started_at,
                &first.stopped_at,
                &first.error,
                &first.cause,
                &first.state,
                &new.now,
                &tag,
                &listed_at,
                &new.map_run,
                &new.started_as.version,
                &new.started_as.alias,
                &first.redrive_count,
                &first.redriven_at,
                &parent.map(|p| p.0),
                &new.started_as.test_case,
            ],
        )
        .await
        .map_err(inserting(&format!(
            "execution {} of flow {}",
            new.name, new.flow_name
        )))?;
    let id = ExecutionId(row.get(0));
    changes.extend(counted_changes(new.flow_id, id, None, first.counted));
    let statements = Statements::prepare(tx).await?;
    write_rows(tx, &statements, owner, &[(id, first)], &changes).await?;
    Ok(id)
}

/// A count change of one execution, with the row it goes to.
pub(super) type RowChange = (FlowId, i64, CountChange);

pub(super) fn counted_changes(
    flow: FlowId,
    id: ExecutionId,
    before: Option<Counted>,
    after: Counted,
) -> Vec<RowChange> {
    let shard = id.0.rem_euclid(COUNT_SHARDS) + 1;
    counts::changes(before, Some(after))
        .into_iter()
        .map(|change| (flow, shard, change))
        .collect()
}

/// Marks `old` replaced by a rerun; returns its place in listings and the move of its counts
/// out of the latest runs'.
async fn replace<C: GenericClient>(
    tx: &C,
    flow: FlowId,
    old: ExecutionId,
) -> Result<(i64, Vec<RowChange>)> {
    let sql = format!(
        "WITH old AS (SELECT {COUNTED_COLUMNS} FROM executions e \
         WHERE e.id = $1 AND e.flow_id = $2 FOR UPDATE) \
         UPDATE executions SET superseded = TRUE FROM old WHERE executions.id = $1 \
         RETURNING old.*"
    );
    let row = one(tx, &sql, &[&old.0, &flow.0], decode::counted)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("execution {old} of flow {}", flow.0)))?;
    let replaced = Counted {
        latest: false,
        ..row.counted
    };
    let changes = counted_changes(flow, old, Some(row.counted), replaced);
    Ok((row.listed_at, changes))
}

/// Compare-and-set on the version, then the step's rows and counts, in one transaction. The
/// update returns the row as it was, so the counts move without another round trip.
pub(super) async fn commit(client: &mut Client, owner: &str, write: &StepWrite) -> Result<()> {
    let step = &EncodedStep::new(write)?;
    let linked = EncodedLinked::all(write)?;
    let tx = step_transaction(client).await?;
    update(&tx, owner, write.execution, write.expected_version, step).await?;
    write_linked(&tx, owner, write.execution, &linked).await?;
    tx.commit().await.map_err(uncertain("committing a step"))
}

/// The writes linked to a step of execution `of`, inside its transaction.
async fn write_linked<C: GenericClient>(
    tx: &C,
    owner: &str,
    of: ExecutionId,
    linked: &[EncodedLinked],
) -> Result<()> {
    for linked in linked {
        match linked {
            EncodedLinked::Create(new, first) => {
                insert(tx, owner, new, first, Some(of)).await?;
            }
            EncodedLinked::Step(id, expected, step) => {
                update(tx, owner, *id, *expected, step).await?
            }
        }
    }
    Ok(())
}

/// One step of execution `id` inside the transaction `tx`: compare-and-set on the version,
/// then the step's rows and counts.
async fn update<C: GenericClient>(
    tx: &C,
    owner: &str,
    id: ExecutionId,
    expected_version: i64,
    step: &EncodedStep,
) -> Result<()> {
    let statements = Statements::prepare(tx).await?;
    let steps = [Stepping {
        id,
        expected: expected_version,
        step,
    }];
    let rows = statements.cas(tx, &steps).await?;
    let decided = Decided::of(&steps, &rows)?;
    if let Some(found) = statements.found(tx, &decided) {
        return decided.outcomes(&found.await?).into_iter().collect();
    }
    write_rows(tx, &statements, owner, &decided.won(), &decided.changes()).await
}

/// The rows and counts of steps that won, in one flight.
async fn write_rows<C: GenericClient>(
    tx: &C,
    statements: &Statements,
    owner: &str,
    won: &[(ExecutionId, &EncodedStep)],
    changes: &[RowChange],
) -> Result<()> {
    let mut flight = statements.rows(tx, owner, won);
    flight.extend(statements.counts(tx, changes));
    landed(fly(flight).await).map(drop)
}

/// Adds the shards of the counts of minutes before `before` (epoch minutes) up into shard 0,
/// in one transaction: readers see the same sums before and after. Steps that change an
/// execution of such a minute later write its shard again, for the next fold.
pub(super) async fn fold(client: &Client, before: i64) -> Result<u64> {
    let sql = "WITH moved AS (DELETE FROM execution_counts WHERE minute < $1 AND shard <> 0 \
         RETURNING *) \
         INSERT INTO execution_counts (flow_id, minute, status, latest, shard, executions, \
         finished, duration_ms) \
         SELECT flow_id, minute, status, latest, 0, SUM(executions), SUM(finished), \
         SUM(duration_ms) FROM moved GROUP BY flow_id, minute, status, latest \
         ON CONFLICT (flow_id, minute, status, latest, shard) DO UPDATE SET \
         executions = execution_counts.executions + excluded.executions, \
         finished = execution_counts.finished + excluded.finished, \
         duration_ms = execution_counts.duration_ms + excluded.duration_ms";
    client
        .execute(sql, &[&before])
        .await
        .map_err(failed("folding execution counts"))
}

/// How often a node folds the counts, and the minutes it leaves to the steps still writing
/// them (the current one and the one before).
const FOLD_EVERY: Duration = Duration::from_secs(10);
const UNFOLDED_MINUTES: i64 = 2;

/// The counts of minutes before the last [`UNFOLDED_MINUTES`], folded now.
pub(super) async fn fold_past(client: &Client) -> Result<u64> {
    let minute = wall_clock_ms().div_euclid(counts::MINUTE_MS);
    fold(client, minute - UNFOLDED_MINUTES + 1).await
}

/// The task that folds the counts every [`FOLD_EVERY`]; stops when dropped. A failed fold is
/// tried again next time (the sums stay right either way).
pub(super) struct Folding(JoinHandle<()>);

impl Drop for Folding {
    fn drop(&mut self) {
        self.0.abort();
    }
}

pub(super) fn folding(pool: Pool) -> Folding {
    Folding(tokio::spawn(async move {
        loop {
            tokio::time::sleep(FOLD_EVERY).await;
            let folded = match pooled(&pool).await {
                Ok(client) => fold_past(&client).await,
                Err(e) => Err(e),
            };
            if let Err(e) = folded {
                tracing::warn!(error = %e, "folding execution counts");
            }
        }
    }))
}

fn wall_clock_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}

/// One batch of a purge (see `retention.rs`) in one transaction.
pub(super) async fn purge(client: &mut Client, purge: &Purge) -> Result<usize> {
    let statements = &*retention::POSTGRES;
    let id = |row: &dyn crate::decode::Columns| decode::int(row, 0);
    let tx = transaction(client).await?;
    let mut roots = Vec::new();
    for (dialect, cutoff) in &purge.cutoffs {
        let room = sql_limit(purge.limit.saturating_sub(roots.len()));
        let args: [&(dyn ToSql + Sync); 3] = [cutoff, &dialect.as_str(), &room];
        roots.extend(all(&tx, &statements.roots, &args, id).await?);
    }
    if roots.is_empty() {
        return Ok(0);
    }
    let listed = retention::id_list(&roots);
    let limit = sql_limit(purge.limit);
    let children = all(&tx, &statements.children, &[&listed, &limit], id).await?;
    let [children, roots] = retention::batch(roots, children, purge.limit);
    let mut deleted = Vec::new();
    for (delete, ids) in [
        (&statements.delete_executions, children),
        (&statements.delete_roots, roots),
    ] {
        let ids = retention::id_list(&ids);
        deleted.extend(all(&tx, delete, &[&ids], retention::deleted).await?);
    }
    let gone = retention::id_list(&deleted.iter().map(|d| d.id.0).collect::<Vec<_>>());
    for rows in &statements.delete_rows {
        tx.execute(rows.as_str(), &[&gone])
            .await
            .map_err(failed("purging history"))?;
    }
    let changes = retention::uncounted(&deleted);
    let shard0: Vec<RowChange> = changes.iter().map(|(f, c)| (*f, 0, c.clone())).collect();
    add_counts(&tx, &shard0).await?;
    for (flow, change) in &changes {
        let args: [&(dyn ToSql + Sync); 4] =
            [&flow.0, &change.minute, &change.status, &change.latest];
        tx.execute(statements.drop_empty_count.as_str(), &args)
            .await
            .map_err(failed("dropping empty counts"))?;
    }
    tx.commit().await.map_err(failed("committing a purge"))?;
    Ok(deleted.len())
}

/// Applies count changes, added up per row and in row order, in one statement.
async fn add_counts<C: GenericClient>(tx: &C, changes: &[RowChange]) -> Result<()> {
    let statements = Statements::prepare(tx).await?;
    match statements.counts(tx, changes) {
        Some(upsert) => upsert.await.map(drop),
        None => Ok(()),
    }
}

pub(super) async fn get(client: &Client, id: ExecutionId) -> Result<Option<ExecutionRecord>> {
    let sql = format!("SELECT {EXECUTION_COLUMNS} FROM executions e WHERE e.id = $1");
    one(client, &sql, &[&id.0], decode::execution).await
}

pub(super) async fn find(
    client: &Client,
    flow: FlowId,
    name: &ExecutionName,
) -> Result<Option<ExecutionRecord>> {
    let args: [&(dyn ToSql + Sync); 2] = [&flow.0, &name.0];
    let sql = format!(
        "SELECT {EXECUTION_COLUMNS} FROM executions e WHERE e.flow_id = $1 AND e.name = $2"
    );
    one(client, &sql, &args, decode::execution).await
}

pub(super) async fn list(
    client: &Client,
    query: &ExecutionQuery,
    page: &Page<ExecutionCursor>,
) -> Result<Vec<ExecutionRecord>> {
    let sql = query::executions(query, page, Backend::Postgres);
    all_of(client, &sql, decode::execution).await
}

pub(super) async fn summaries(
    client: &Client,
    query: &ExecutionQuery,
    page: &Page<ExecutionCursor>,
) -> Result<Vec<ExecutionSummary>> {
    let sql = query::summaries(query, page, Backend::Postgres);
    all_of(client, &sql, decode::summary).await
}

/// Adds up the counts' parts (see [`query::count_executions`]), read in one repeatable-read
/// transaction so they are of one moment.
pub(super) async fn count(client: &mut Client, query: &ExecutionQuery) -> Result<u64> {
    let tx = client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .await
        .map_err(failed("starting a read"))?;
    let parts = query::count_executions(query, Backend::Postgres);
    let counted = try_join_all(parts.iter().map(|part| all_of(&tx, part, decode::number))).await?;
    tx.commit().await.map_err(failed("ending a read"))?;
    let total: i64 = counted.into_iter().flatten().sum();
    Ok(u64::try_from(total).unwrap_or_default())
}

pub(super) async fn minute_counts(
    client: &Client,
    query: &CountsQuery,
) -> Result<Vec<MinuteCounts>> {
    let sql = query::minute_counts(query, Backend::Postgres);
    let rows = all_of(client, &sql, decode::minute_status).await?;
    Ok(decode::minutes(rows))
}

pub(super) async fn active(client: &Client, flow: FlowId) -> Result<Vec<ExecutionId>> {
    let rows = client
        .query(
            "SELECT id FROM executions WHERE flow_id = $1 \
             AND status IN ('Starting', 'Running') AND map_run IS NULL ORDER BY id",
            &[&flow.0],
        )
        .await
        .map_err(failed("listing active executions"))?;
    Ok(rows.iter().map(|row| ExecutionId(row.get(0))).collect())
}

pub(super) async fn history(
    client: &Client,
    execution: ExecutionId,
    page: &Page<EventId>,
) -> Result<Vec<HistoryEvent>> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM history WHERE execution_id = $1 AND event_id > $2 \
         ORDER BY event_id LIMIT $3 OFFSET $4"
    );
    let after = decode::event_after(page);
    let (limit, skip) = (sql_limit(page.limit), sql_limit(page.skip));
    let args: [&(dyn ToSql + Sync); 4] = [&execution.0, &after, &limit, &skip];
    let mut events = all(client, &sql, &args, |row| decode::event(row, execution)).await?;
    if payloads::left_out(&events)
        && let Some(record) = get(client, execution).await?
    {
        payloads::restore(&mut events, &record.state);
    }
    Ok(events)
}

/// The timers of `owner` firing at or before `until`.
pub(super) async fn due_timers(
    client: &Client,
    owner: &str,
    until: Millis,
    limit: usize,
) -> Result<Vec<TimerRow>> {
    let sql = format!(
        "SELECT {TIMER_COLUMNS} FROM timers WHERE owner = $3 AND fire_at <= $1 \
         ORDER BY fire_at LIMIT $2"
    );
    all(
        client,
        &sql,
        &[&until, &sql_limit(limit), &owner],
        decode::timer,
    )
    .await
}
