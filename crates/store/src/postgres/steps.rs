//! Steps of distinct executions written in a fixed number of statements, however many there
//! are: one compare-and-set for them all, then one statement per table for the rows of those
//! that won, each statement's arguments arrays (an element a row, taken apart by `UNNEST`).
//! PostgreSQL spends most of a small statement's time on the statement itself (parse, plan,
//! executor start), so a group of steps costs about as much as one step.
//!
//! Every statement takes its rows in execution id order (the steps come sorted), so two
//! transactions writing the same executions lock them in the same order.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use deadpool_postgres::GenericClient;
use tokio_postgres::types::ToSql;
use tokio_postgres::{Row, Statement};

use super::codec::{Flying, Owned, failed, flying, inserting_rows, prepared};
use super::executions::{RowChange, counted_changes};
use crate::counts::{self, Counted};
use crate::decode::{self, COUNTED_COLUMNS, CountedRow};
use crate::encode::EncodedStep;
use crate::{ExecutionId, Result, rules};

/// A step of execution `id`, applied only if the execution is at version `expected`.
#[derive(Clone, Copy)]
pub(super) struct Stepping<'a> {
    pub id: ExecutionId,
    pub expected: i64,
    pub step: &'a EncodedStep,
}

/// The compare-and-set of steps of distinct executions: each execution is updated only at its
/// expected version, and returns its row as it was (columns [`COUNTED_COLUMNS`], then its
/// id), so the counts move without another round trip. A step that finds another version
/// (or no execution) returns no row and changes nothing: it loses alone. `FOR UPDATE` after
/// `ORDER BY` takes the locks in id order; a row another transaction changed meanwhile is
/// checked again at its new version.
static CAS: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH s AS (SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[], \
         $5::bigint[], $6::bigint[], $7::text[], $8::text[], $9::bigint[], $10::bigint[]) \
         AS s(id, expected, state, status, started_at, stopped_at, error, cause, \
         redrive_count, redriven_at)), \
         old AS (SELECT {COUNTED_COLUMNS}, e.id FROM executions e \
         JOIN s ON e.id = s.id AND e.version = s.expected ORDER BY e.id FOR UPDATE OF e) \
         UPDATE executions SET state = s.state, status = s.status, started_at = s.started_at, \
         stopped_at = s.stopped_at, error = s.error, cause = s.cause, \
         redrive_count = s.redrive_count, redriven_at = s.redriven_at, \
         version = executions.version + 1 \
         FROM old JOIN s ON s.id = old.id WHERE executions.id = old.id RETURNING old.*"
    )
});

/// What lost compare-and-sets found instead (see [`rules::step_refused`]): id and version.
const FOUND: &str = "SELECT id, version FROM executions WHERE id = ANY($1::bigint[])";

const INSERT_EVENTS: &str = "INSERT INTO history \
     (execution_id, event_id, schedule_id, step, time, type, detail) \
     SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[], $4::text[], $5::bigint[], \
     $6::text[], $7::text[])";
const DELETE_TIMERS: &str = "DELETE FROM timers t \
     USING UNNEST($1::bigint[], $2::bigint[]) AS d(execution_id, op) \
     WHERE t.execution_id = d.execution_id AND t.op = d.op";
const DELETE_TASKS: &str = "DELETE FROM tasks t \
     USING UNNEST($1::bigint[], $2::bigint[]) AS d(execution_id, op) \
     WHERE t.execution_id = d.execution_id AND t.op = d.op";
const UPSERT_TIMERS: &str = "INSERT INTO timers (execution_id, op, fire_at, owner) \
     SELECT t.execution_id, t.op, t.fire_at, $4::text \
     FROM UNNEST($1::bigint[], $2::bigint[], $3::bigint[]) AS t(execution_id, op, fire_at) \
     ON CONFLICT (execution_id, op) DO UPDATE \
     SET fire_at = EXCLUDED.fire_at, owner = EXCLUDED.owner";
const UPSERT_TASKS: &str = "INSERT INTO tasks (execution_id, op, call, owner, activity) \
     SELECT t.execution_id, t.op, t.call, $5::text, t.activity \
     FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::text[]) \
     AS t(execution_id, op, call, activity) \
     ON CONFLICT (execution_id, op) DO UPDATE \
     SET call = EXCLUDED.call, owner = EXCLUDED.owner, activity = EXCLUDED.activity";

/// The statements writing steps, prepared (once per connection).
pub(super) struct Statements {
    cas: Statement,
    found: Statement,
    insert_events: Statement,
    delete_timers: Statement,
    delete_tasks: Statement,
    upsert_timers: Statement,
    upsert_tasks: Statement,
    upsert_counts: Statement,
}

impl Statements {
    pub(super) async fn prepare<C: GenericClient>(tx: &C) -> Result<Self> {
        let (cas, found, insert_events, delete_timers, delete_tasks, upsert_timers) = tokio::try_join!(
            prepared(tx, &CAS),
            prepared(tx, FOUND),
            prepared(tx, INSERT_EVENTS),
            prepared(tx, DELETE_TIMERS),
            prepared(tx, DELETE_TASKS),
            prepared(tx, UPSERT_TIMERS),
        )?;
        let (upsert_tasks, upsert_counts) = tokio::try_join!(
            prepared(tx, UPSERT_TASKS),
            prepared(tx, counts::UPSERT_ROWS),
        )?;
        Ok(Statements {
            cas,
            found,
            insert_events,
            delete_timers,
            delete_tasks,
            upsert_timers,
            upsert_tasks,
            upsert_counts,
        })
    }

    /// The compare-and-set of `steps` (of distinct executions, in id order), for a flight:
    /// the winners' rows as they were (see [`Decided::of`]).
    pub(super) fn cas<'a, C: GenericClient>(
        &'a self,
        tx: &'a C,
        steps: &[Stepping<'a>],
    ) -> Flying<'a> {
        let args: Owned<'a> = vec![
            column(steps.iter().map(|s| s.id.0)),
            column(steps.iter().map(|s| s.expected)),
            column(steps.iter().map(|s| s.step.state.as_str())),
            column(steps.iter().map(|s| s.step.status)),
            column(steps.iter().map(|s| s.step.started_at)),
            column(steps.iter().map(|s| s.step.stopped_at)),
            column(steps.iter().map(|s| s.step.error.as_deref())),
            column(steps.iter().map(|s| s.step.cause.as_deref())),
            column(steps.iter().map(|s| s.step.redrive_count)),
            column(steps.iter().map(|s| s.step.redriven_at)),
        ];
        flying(tx, &self.cas, args, failed("updating executions"))
    }

    /// The versions the losers of `decided` found, for a flight; `None` if every step won.
    pub(super) fn found<'a, C: GenericClient>(
        &'a self,
        tx: &'a C,
        decided: &Decided<'_, '_>,
    ) -> Option<Flying<'a>> {
        let lost: Vec<i64> = decided.lost().map(|s| s.id.0).collect();
        if lost.is_empty() {
            return None;
        }
        Some(flying(
            tx,
            &self.found,
            vec![Box::new(lost)],
            failed("reading executions"),
        ))
    }

    /// The rows of steps that won (of distinct executions, in id order), for a flight:
    /// removals first, then additions, so a reused op id keeps its new row (a flight runs in
    /// its order). A table without rows to write gets no statement.
    pub(super) fn rows<'a, C: GenericClient>(
        &'a self,
        tx: &'a C,
        owner: &'a str,
        won: &[(ExecutionId, &'a EncodedStep)],
    ) -> Vec<Flying<'a>> {
        let removed = |ops: fn(&EncodedStep) -> &[i64]| -> Option<Owned<'a>> {
            let (ids, ops): (Vec<i64>, Vec<i64>) = won
                .iter()
                .flat_map(|(id, step)| ops(step).iter().map(move |op| (id.0, *op)))
                .unzip();
            (!ids.is_empty()).then(|| -> Owned<'a> { vec![Box::new(ids), Box::new(ops)] })
        };
        let mut flight = Vec::new();
        if let Some(args) = removed(|step| &step.timers_removed) {
            flight.push(flying(
                tx,
                &self.delete_timers,
                args,
                failed("deleting timers"),
            ));
        }
        if let Some(args) = removed(|step| &step.tasks_removed) {
            flight.push(flying(
                tx,
                &self.delete_tasks,
                args,
                failed("deleting tasks"),
            ));
        }
        if let Some(args) = events(won) {
            let error = inserting_rows("history events");
            flight.push(flying(tx, &self.insert_events, args, error));
        }
        if let Some(mut args) = timers(won) {
            args.push(Box::new(owner));
            flight.push(flying(
                tx,
                &self.upsert_timers,
                args,
                failed("inserting timers"),
            ));
        }
        if let Some(mut args) = tasks(won) {
            args.push(Box::new(owner));
            flight.push(flying(
                tx,
                &self.upsert_tasks,
                args,
                failed("inserting tasks"),
            ));
        }
        flight
    }

    /// The upsert of `changes`, added up per row and in row order (see [`counts::merged`]),
    /// for a flight; `None` if they change nothing.
    pub(super) fn counts<'a, C: GenericClient>(
        &'a self,
        tx: &'a C,
        changes: &[RowChange],
    ) -> Option<Flying<'a>> {
        let rows = counts::merged(
            changes
                .iter()
                .map(|(flow, shard, change)| ((flow.0, *shard), change.clone())),
        );
        if rows.is_empty() {
            return None;
        }
        let args: Owned<'a> = vec![
            column(rows.iter().map(|((flow, _), _)| *flow)),
            column(rows.iter().map(|(_, c)| c.minute)),
            column(rows.iter().map(|(_, c)| c.status)),
            column(rows.iter().map(|(_, c)| c.latest)),
            column(rows.iter().map(|((_, shard), _)| *shard)),
            column(rows.iter().map(|(_, c)| c.executions)),
            column(rows.iter().map(|(_, c)| c.finished)),
            column(rows.iter().map(|(_, c)| c.duration_ms)),
        ];
        Some(flying(
            tx,
            &self.upsert_counts,
            args,
            failed("counting executions"),
        ))
    }
}

/// The history events of `won`, as the arguments of [`INSERT_EVENTS`].
fn events<'a>(won: &[(ExecutionId, &'a EncodedStep)]) -> Option<Owned<'a>> {
    let events: Vec<_> = won
        .iter()
        .flat_map(|(id, step)| step.events.iter().map(move |event| (id.0, event)))
        .collect();
    if events.is_empty() {
        return None;
    }
    Some(vec![
        column(events.iter().map(|(id, _)| *id)),
        column(events.iter().map(|(_, e)| e.id)),
        column(events.iter().map(|(_, e)| e.schedule_id)),
        column(events.iter().map(|(_, e)| e.step.as_deref())),
        column(events.iter().map(|(_, e)| e.time)),
        column(events.iter().map(|(_, e)| e.kind)),
        column(events.iter().map(|(_, e)| e.detail.as_str())),
    ])
}

/// The rows `won` adds to a table keyed by execution and op, one per key (the last a step
/// lists: one statement may not upsert a row twice), in key order.
fn added<'a, T: 'a>(
    won: &[(ExecutionId, &'a EncodedStep)],
    rows: impl Fn(&'a EncodedStep) -> Box<dyn Iterator<Item = (i64, T)> + 'a>,
) -> BTreeMap<(i64, i64), T> {
    won.iter()
        .flat_map(|(id, step)| rows(step).map(move |(op, row)| ((id.0, op), row)))
        .collect()
}

/// The timers of `won`, as the first arguments of [`UPSERT_TIMERS`].
fn timers<'a>(won: &[(ExecutionId, &'a EncodedStep)]) -> Option<Owned<'a>> {
    let timers = added(won, |step| {
        Box::new(
            step.timers_added
                .iter()
                .map(|(op, fire_at)| (*op, *fire_at)),
        )
    });
    if timers.is_empty() {
        return None;
    }
    Some(vec![
        column(timers.keys().map(|(id, _)| *id)),
        column(timers.keys().map(|(_, op)| *op)),
        column(timers.into_values()),
    ])
}

/// The tasks of `won`, as the first arguments of [`UPSERT_TASKS`].
fn tasks<'a>(won: &[(ExecutionId, &'a EncodedStep)]) -> Option<Owned<'a>> {
    let tasks = added(won, |step| {
        Box::new(
            step.tasks_added
                .iter()
                .map(|(op, call, activity)| (*op, (call.as_str(), activity.as_deref()))),
        )
    });
    if tasks.is_empty() {
        return None;
    }
    Some(vec![
        column(tasks.keys().map(|(id, _)| *id)),
        column(tasks.keys().map(|(_, op)| *op)),
        column(tasks.values().map(|(call, _)| *call)),
        column(tasks.values().map(|(_, activity)| *activity)),
    ])
}

/// One array argument of a statement, an element a row.
fn column<'a, T>(values: impl Iterator<Item = T>) -> Box<dyn ToSql + Sync + Send + 'a>
where
    Vec<T>: ToSql + Sync + Send + 'a,
{
    Box::new(values.collect::<Vec<T>>())
}

/// What the compare-and-set decided of each step: the execution's row as it was if the step
/// won, nothing if it lost.
pub(super) struct Decided<'s, 'a> {
    steps: &'s [Stepping<'a>],
    before: Vec<Option<CountedRow>>,
}

impl<'s, 'a> Decided<'s, 'a> {
    /// Reads the rows the compare-and-set of `steps` returned.
    pub(super) fn of(steps: &'s [Stepping<'a>], rows: &[Row]) -> Result<Self> {
        let mut won = BTreeMap::new();
        for row in rows {
            won.insert(
                row.try_get::<_, i64>(6).map_err(failed("reading an id"))?,
                row,
            );
        }
        let before = steps
            .iter()
            .map(|s| {
                won.remove(&s.id.0)
                    .map(|row| decode::counted(row))
                    .transpose()
            })
            .collect::<Result<_>>()?;
        Ok(Decided { steps, before })
    }

    /// The steps that won, with their executions.
    pub(super) fn won(&self) -> Vec<(ExecutionId, &'a EncodedStep)> {
        self.steps
            .iter()
            .zip(&self.before)
            .filter(|(_, before)| before.is_some())
            .map(|(s, _)| (s.id, s.step))
            .collect()
    }

    fn lost(&self) -> impl Iterator<Item = &Stepping<'a>> {
        self.steps
            .iter()
            .zip(&self.before)
            .filter(|(_, before)| before.is_none())
            .map(|(s, _)| s)
    }

    /// The count changes of the steps that won.
    pub(super) fn changes(&self) -> Vec<RowChange> {
        self.steps
            .iter()
            .zip(&self.before)
            .filter_map(|(s, before)| Some(stepped_changes(s.id, before.as_ref()?, s.step)))
            .flatten()
            .collect()
    }

    /// Each step's outcome, in order: `Ok`, or its refusal with the version it found (`found`:
    /// the rows of [`Statements::found`]).
    pub(super) fn outcomes(&self, found: &[Row]) -> Vec<Result<()>> {
        let found: BTreeMap<i64, i64> = found.iter().map(|row| (row.get(0), row.get(1))).collect();
        self.steps
            .iter()
            .zip(&self.before)
            .map(|(s, before)| match before {
                Some(_) => Ok(()),
                None => Err(rules::step_refused(
                    s.id,
                    s.expected,
                    found.get(&s.id.0).copied(),
                )),
            })
            .collect()
    }
}

/// The count changes of a step that won its compare-and-set over the row `before`.
fn stepped_changes(id: ExecutionId, before: &CountedRow, step: &EncodedStep) -> Vec<RowChange> {
    let after = Counted {
        latest: before.counted.latest,
        ..step.counted
    };
    counted_changes(before.flow_id, id, Some(before.counted), after)
}
