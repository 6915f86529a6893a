//! The counts the store keeps of executions, so that totals and metrics read a few rows
//! instead of every execution.
//!
//! A row of `execution_counts` counts the executions of one flow that started in one minute
//! (`minute`: epoch minutes; [`NEVER_STARTED`] for those not started) and are now in one
//! status, latest runs apart from runs a rerun replaced (`latest`), with how many of them
//! ended and the sum of their durations. A backend may spread a flow's counts over several
//! `shard`s (a hash of the execution id), so concurrent transactions of one flow seldom update
//! the same row; readers add the shards up. Every transaction that creates an execution,
//! changes its status or its times, or replaces it by a rerun applies [`changes`] to the
//! rows, so the counts are always those of the executions as committed.

use sluice_engine::{Millis, Status};

pub(crate) const MINUTE_MS: Millis = 60_000;

/// The `minute` of the executions not started (outside every time range).
pub(crate) const NEVER_STARTED: i64 = i64::MIN;

/// The statements adding to rows of the counts share their columns and what adding to a row
/// that exists does.
macro_rules! adding_counts {
    ($rows:literal) => {
        concat!(
            "INSERT INTO execution_counts (flow_id, minute, status, latest, shard, executions, \
             finished, duration_ms) ",
            $rows,
            " ON CONFLICT (flow_id, minute, status, latest, shard) DO UPDATE SET \
             executions = execution_counts.executions + excluded.executions, \
             finished = execution_counts.finished + excluded.finished, \
             duration_ms = execution_counts.duration_ms + excluded.duration_ms"
        )
    };
}

/// Adds a [`CountChange`] to a row (`$1` … `$8`: flow, minute, status, latest, shard,
/// executions, finished, duration).
pub(crate) const UPSERT: &str = adding_counts!("VALUES ($1, $2, $3, $4, $5, $6, $7, $8)");

/// [`UPSERT`] of many rows in one statement (PostgreSQL): `$1` … `$8` are arrays of those
/// columns, an element a row; no two rows alike (see [`merged`]), as one statement may not
/// update a row twice.
pub(crate) const UPSERT_ROWS: &str = adding_counts!(
    "SELECT * FROM UNNEST($1::bigint[], $2::bigint[], $3::text[], $4::boolean[], \
     $5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[])"
);

/// The SQL of schema migrations both backends run alike, as literals for `concat!`: the
/// summary columns of a failure, then the indexes listings walk and the table of the counts
/// (SQLite reads `BIGINT` as an integer and `BOOLEAN` as a number).
macro_rules! failure_columns {
    () => {
        "ALTER TABLE executions ADD COLUMN error TEXT;
ALTER TABLE executions ADD COLUMN cause TEXT;
"
    };
}

macro_rules! counts_schema {
    () => {
        "CREATE INDEX executions_by_tag ON executions (tenant, tag, listed_at, id);
CREATE INDEX executions_by_start ON executions (tenant, started_at);
CREATE TABLE execution_counts (
    flow_id BIGINT NOT NULL,
    minute BIGINT NOT NULL,
    status TEXT NOT NULL,
    latest BOOLEAN NOT NULL,
    shard BIGINT NOT NULL,
    executions BIGINT NOT NULL,
    finished BIGINT NOT NULL,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (flow_id, minute, status, latest, shard)
);
"
    };
}

pub(crate) use {counts_schema, failure_columns};

/// What the counts follow of one execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Counted {
    pub status: Status,
    pub started_at: Option<Millis>,
    pub stopped_at: Option<Millis>,
    /// Not replaced by a rerun.
    pub latest: bool,
}

/// An addition to one row of the counts (negative to take away).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CountChange {
    pub minute: i64,
    pub status: &'static str,
    pub latest: bool,
    pub executions: i64,
    pub finished: i64,
    pub duration_ms: i64,
}

impl Counted {
    fn key(&self) -> (i64, &'static str, bool) {
        let minute = self
            .started_at
            .map_or(NEVER_STARTED, |at| at.div_euclid(MINUTE_MS));
        (minute, self.status.as_str(), self.latest)
    }

    fn change(&self, sign: i64) -> CountChange {
        let (minute, status, latest) = self.key();
        let duration = match (self.started_at, self.stopped_at) {
            (Some(started), Some(stopped)) => stopped - started,
            _ => 0,
        };
        CountChange {
            minute,
            status,
            latest,
            executions: sign,
            finished: sign * i64::from(self.stopped_at.is_some()),
            duration_ms: sign * duration,
        }
    }
}

/// The changes to the counts when an execution goes from `before` to `after` (`None`: it is
/// not there), in key order, so that two transactions take the locks of their rows in the
/// same order; none when nothing counted changed.
pub(crate) fn changes(before: Option<Counted>, after: Option<Counted>) -> Vec<CountChange> {
    if before == after {
        return Vec::new();
    }
    let mut changes: Vec<CountChange> = Vec::with_capacity(2);
    for change in [before.map(|b| b.change(-1)), after.map(|a| a.change(1))]
        .into_iter()
        .flatten()
    {
        let key = (change.minute, change.status, change.latest);
        match changes
            .iter_mut()
            .find(|c| (c.minute, c.status, c.latest) == key)
        {
            Some(same) => {
                same.executions += change.executions;
                same.finished += change.finished;
                same.duration_ms += change.duration_ms;
            }
            None => changes.push(change),
        }
    }
    changes.retain(|c| c.executions != 0 || c.finished != 0 || c.duration_ms != 0);
    changes.sort_by_key(|c| (c.minute, c.status, c.latest));
    changes
}

/// Changes to rows of several executions (`K` says which row besides a change's key: a flow,
/// a shard) added up per row, in row order (so that two transactions take the locks of their
/// rows in the same order), without the ones that add up to nothing.
pub(crate) fn merged<K: Ord + Copy>(
    changes: impl IntoIterator<Item = (K, CountChange)>,
) -> Vec<(K, CountChange)> {
    let mut rows = std::collections::BTreeMap::new();
    for (key, change) in changes {
        let row = (key, change.minute, change.status, change.latest);
        rows.entry(row)
            .and_modify(|same: &mut CountChange| {
                same.executions += change.executions;
                same.finished += change.finished;
                same.duration_ms += change.duration_ms;
            })
            .or_insert(change);
    }
    rows.into_iter()
        .map(|((key, ..), change)| (key, change))
        .filter(|(_, c)| c.executions != 0 || c.finished != 0 || c.duration_ms != 0)
        .collect()
}

/// How a time range `[from, to]` (epoch ms, bounds included) is counted: the whole minutes
/// inside it from the counts, the partial minutes at its ends from the executions themselves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RangeSplit {
    /// The whole minutes, first and last included; `None` if there is none.
    pub minutes: Option<(i64, i64)>,
    /// The millisecond ranges (bounds included) counted row by row.
    pub edges: Vec<(Millis, Millis)>,
}

/// Splits a time range; an open end is a whole minute (`NEVER_STARTED` stays out as soon as
/// either end is set).
pub(crate) fn split(from: Option<Millis>, to: Option<Millis>) -> RangeSplit {
    if from.is_none() && to.is_none() {
        return RangeSplit {
            minutes: Some((NEVER_STARTED, i64::MAX)),
            edges: Vec::new(),
        };
    }
    let first = match from {
        Some(from) => from.div_euclid(MINUTE_MS) + i64::from(from.rem_euclid(MINUTE_MS) != 0),
        None => NEVER_STARTED + 1,
    };
    let last = match to {
        Some(to) => (to.saturating_add(1)).div_euclid(MINUTE_MS) - 1,
        None => i64::MAX,
    };
    if let (Some(from), Some(to)) = (from, to)
        && (first > last || from > to)
    {
        let edges = if from <= to { vec![(from, to)] } else { vec![] };
        return RangeSplit {
            minutes: None,
            edges,
        };
    }
    let mut edges = Vec::new();
    if let Some(from) = from
        && from < first * MINUTE_MS
    {
        edges.push((from, first * MINUTE_MS - 1));
    }
    if let Some(to) = to
        && to >= (last + 1) * MINUTE_MS
    {
        edges.push(((last + 1) * MINUTE_MS, to));
    }
    RangeSplit {
        minutes: Some((first, last)),
        edges,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counted(status: Status, started: Option<Millis>, stopped: Option<Millis>) -> Counted {
        Counted {
            status,
            started_at: started,
            stopped_at: stopped,
            latest: true,
        }
    }

    #[test]
    fn a_step_moves_an_execution_between_status_rows_and_an_unchanged_one_writes_nothing() {
        let running = counted(Status::Running, Some(120_000), None);
        assert_eq!(changes(Some(running), Some(running)), []);
        let created = changes(None, Some(running));
        assert_eq!(
            created,
            [CountChange {
                minute: 2,
                status: "Running",
                latest: true,
                executions: 1,
                finished: 0,
                duration_ms: 0
            }]
        );
        let done = counted(Status::Succeeded, Some(120_000), Some(125_000));
        let ended = changes(Some(running), Some(done));
        assert_eq!(ended.len(), 2);
        assert_eq!((ended[0].status, ended[0].executions), ("Running", -1));
        assert_eq!(
            (ended[1].status, ended[1].finished, ended[1].duration_ms),
            ("Succeeded", 1, 5_000)
        );
        let replaced = Counted {
            latest: false,
            ..done
        };
        let superseded = changes(Some(done), Some(replaced));
        assert_eq!(
            superseded.iter().map(|c| c.latest).collect::<Vec<_>>(),
            [false, true],
            "key order: the not-latest row first"
        );
    }

    #[test]
    fn the_same_row_before_and_after_merges_into_one_change() {
        let failed = counted(Status::Failed, Some(60_000), Some(61_000));
        let stopped_later = counted(Status::Failed, Some(60_000), Some(63_000));
        assert_eq!(
            changes(Some(failed), Some(stopped_later)),
            [CountChange {
                minute: 1,
                status: "Failed",
                latest: true,
                executions: 0,
                finished: 0,
                duration_ms: 2_000
            }]
        );
        let unstarted = counted(Status::Starting, None, None);
        assert_eq!(changes(None, Some(unstarted))[0].minute, NEVER_STARTED);
    }

    #[test]
    fn a_range_splits_into_whole_minutes_and_partial_ends() {
        assert_eq!(
            split(Some(60_000), Some(179_999)),
            RangeSplit {
                minutes: Some((1, 2)),
                edges: vec![]
            }
        );
        assert_eq!(
            split(Some(59_000), Some(180_500)),
            RangeSplit {
                minutes: Some((1, 2)),
                edges: vec![(59_000, 59_999), (180_000, 180_500)]
            }
        );
        assert_eq!(
            split(Some(61_000), Some(62_000)),
            RangeSplit {
                minutes: None,
                edges: vec![(61_000, 62_000)]
            }
        );
        assert_eq!(
            split(Some(5), Some(4)),
            RangeSplit {
                minutes: None,
                edges: vec![]
            }
        );
        assert_eq!(
            split(None, Some(119_999)),
            RangeSplit {
                minutes: Some((NEVER_STARTED + 1, 1)),
                edges: vec![]
            }
        );
        assert_eq!(
            split(Some(1), None),
            RangeSplit {
                minutes: Some((1, i64::MAX)),
                edges: vec![(1, 59_999)]
            }
        );
        assert_eq!(split(None, None).minutes, Some((NEVER_STARTED, i64::MAX)));
    }
}
