//! Retention: finished executions deleted in small batches, alike on both backends.
//!
//! A batch is one transaction of a backend: the oldest finished top-level executions (no
//! `root_id`) of each dialect's flows that ended before the dialect's cutoff, and the
//! executions they started (a distributed Map's children, any depth, which carry their root's
//! id). Children go first: while a batch finds as many children as it may delete, it deletes
//! only children, and their root goes in a later batch, so no child is ever left without its
//! root. The executions are deleted with a guard on their status (an unfinished
//! execution is never deleted, whatever selected it); their history, timer and task rows and
//! their counts go with the rows actually deleted.

use std::sync::LazyLock;

use crate::counts::{self, CountChange, Counted};
use crate::decode::{self, COUNTED_COLUMNS, Columns};
use crate::query::Backend;
use crate::{ExecutionId, FlowId, Result};

/// The SQL of a purge in one backend's spelling.
pub(crate) struct Statements {
    /// `$1` cutoff, `$2` dialect, `$3` limit: ids of expired top-level executions, oldest first.
    pub roots: String,
    /// `$1` ids (JSON array), `$2` limit: ids of executions whose root is one of them.
    pub children: String,
    /// `$1` ids: deletes the finished ones, returning [`COUNTED_COLUMNS`] and the id.
    pub delete_executions: String,
    /// The same for roots, and only those with no child left.
    pub delete_roots: String,
    /// `$1` ids: deletes their rows in `history`, `timers` and `tasks`.
    pub delete_rows: [String; 3],
    /// `$1` … `$4` flow, minute, status, latest: deletes that row of shard 0 if it counts
    /// nothing any more.
    pub drop_empty_count: String,
}

const UNFINISHED: &str = "('Starting', 'Running')";

fn statements(backend: Backend) -> Statements {
    let ids = match backend {
        Backend::Sqlite => "SELECT value FROM json_each($1)",
        Backend::Postgres => "SELECT json_array_elements_text($1::text::json)::bigint",
    };
    let lock = match backend {
        Backend::Sqlite => "",
        // Two nodes purging at once skip each other's batch instead of waiting for it.
        Backend::Postgres => " FOR UPDATE OF e SKIP LOCKED",
    };
    let returned = COUNTED_COLUMNS.replace("e.", "");
    let placeholders = |sql: String| match backend {
        Backend::Sqlite => sql.replace('$', "?"),
        Backend::Postgres => sql,
    };
    let delete =
        format!("DELETE FROM executions WHERE id IN ({ids}) AND status NOT IN {UNFINISHED}");
    let rows = ["history", "timers", "tasks"]
        .map(|table| placeholders(format!("DELETE FROM {table} WHERE execution_id IN ({ids})")));
    Statements {
        roots: placeholders(format!(
            "SELECT e.id FROM executions e JOIN flows f ON f.id = e.flow_id \
             WHERE e.stopped_at < $1 AND e.root_id IS NULL AND f.dialect = $2 \
             AND e.status NOT IN {UNFINISHED} ORDER BY e.stopped_at LIMIT $3{lock}"
        )),
        children: placeholders(format!(
            "SELECT id FROM executions WHERE root_id IN ({ids}) LIMIT $2"
        )),
        delete_executions: placeholders(format!("{delete} RETURNING {returned}, id")),
        delete_roots: placeholders(format!(
            "{delete} AND NOT EXISTS (SELECT 1 FROM executions c \
             WHERE c.root_id = executions.id) RETURNING {returned}, id"
        )),
        delete_rows: rows,
        drop_empty_count: placeholders(
            "DELETE FROM execution_counts WHERE flow_id = $1 AND minute = $2 AND status = $3 \
             AND latest = $4 AND shard = 0 AND executions = 0 AND finished = 0 \
             AND duration_ms = 0"
                .to_string(),
        ),
    }
}

pub(crate) static SQLITE: LazyLock<Statements> = LazyLock::new(|| statements(Backend::Sqlite));
pub(crate) static POSTGRES: LazyLock<Statements> = LazyLock::new(|| statements(Backend::Postgres));

/// Ids as the JSON array the statements take.
pub(crate) fn id_list(ids: &[i64]) -> String {
    serde_json::to_string(ids).unwrap_or_else(|_| "[]".into())
}

/// What one batch deletes: the children found, then the roots too if every child of theirs
/// may be in the batch (fewer found than it holds); a root with a child left stays.
pub(crate) fn batch(roots: Vec<i64>, children: Vec<i64>, limit: usize) -> [Vec<i64>; 2] {
    if children.len() >= limit {
        return [children, Vec::new()];
    }
    [children, roots]
}

/// An execution deleted, as the counts saw it.
pub(crate) struct Deleted {
    pub id: ExecutionId,
    pub flow: FlowId,
    pub counted: Counted,
}

/// A row `delete_executions` returned.
pub(crate) fn deleted(row: &dyn Columns) -> Result<Deleted> {
    let counted = decode::counted(row)?;
    Ok(Deleted {
        id: ExecutionId(decode::int(row, 6)?),
        flow: counted.flow_id,
        counted: counted.counted,
    })
}

/// The counts taken away for the executions deleted, one change per row of the counts (the
/// changes go to shard 0: the minutes a purge reaches are long folded).
pub(crate) fn uncounted(deleted: &[Deleted]) -> Vec<(FlowId, CountChange)> {
    let mut changes: Vec<(FlowId, CountChange)> = Vec::new();
    for gone in deleted {
        for change in counts::changes(Some(gone.counted), None) {
            let key = (gone.flow, change.minute, change.status, change.latest);
            match changes
                .iter_mut()
                .find(|(flow, c)| (*flow, c.minute, c.status, c.latest) == key)
            {
                Some((_, same)) => {
                    same.executions += change.executions;
                    same.finished += change.finished;
                    same.duration_ms += change.duration_ms;
                }
                None => changes.push((gone.flow, change)),
            }
        }
    }
    changes.sort_by_key(|(flow, c)| (flow.0, c.minute, c.status, c.latest));
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_engine::Status;

    #[test]
    fn children_go_before_their_roots() {
        assert_eq!(
            batch(vec![1, 2], vec![10, 11, 12], 3),
            [vec![10, 11, 12], vec![]]
        );
        assert_eq!(batch(vec![1, 2], vec![10], 3), [vec![10], vec![1, 2]]);
        assert_eq!(batch(vec![1], vec![], 3), [vec![], vec![1]]);
    }

    #[test]
    fn the_counts_of_deleted_executions_are_taken_away_row_by_row() {
        let done = |id, flow, started| Deleted {
            id: ExecutionId(id),
            flow: FlowId(flow),
            counted: Counted {
                status: Status::Succeeded,
                started_at: Some(started),
                stopped_at: Some(started + 10),
                latest: true,
            },
        };
        let changes = uncounted(&[done(1, 7, 60_000), done(2, 7, 60_500), done(3, 8, 0)]);
        let summed: Vec<(i64, i64, i64, i64, i64)> = changes
            .iter()
            .map(|(f, c)| (f.0, c.minute, c.executions, c.finished, c.duration_ms))
            .collect();
        assert_eq!(summed, [(7, 1, -2, -2, -20), (8, 0, -1, -1, -10)]);
    }

    #[test]
    fn each_backend_spells_its_placeholders_and_id_lists() {
        assert!(SQLITE.roots.contains("?1") && !SQLITE.roots.contains('$'));
        assert!(SQLITE.children.contains("json_each(?1)"));
        assert!(
            POSTGRES
                .children
                .contains("json_array_elements_text($1::text::json)")
        );
        assert!(POSTGRES.roots.ends_with("SKIP LOCKED"));
        assert_eq!(id_list(&[3, 4]), "[3,4]");
    }
}
