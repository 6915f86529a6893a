//! Group commit on PostgreSQL (the shape of `crate::group`): the steps of many executions
//! committed in one transaction of a fixed number of statements (see `steps.rs`), in two
//! pipelined round trips.
//!
//! A writer task takes the steps queued (each encoded on its caller's task), sorted by
//! execution id so that two nodes' groups lock their executions in the same order (and the
//! counts' rows after them, in row order: no deadlock between groups). Steps of one execution
//! go to successive groups, in the order they came (one statement may not update a row
//! twice), as if committed one after another. For each group it sends:
//!
//! 1. `BEGIN` and the compare-and-set of all its steps, one statement (updates at the expected
//!    versions, returning the rows as they were). A step whose compare-and-set finds another
//!    version changed nothing, so it needs no savepoint: it is refused alone, and the others
//!    go on.
//! 2. The rows of the steps that won (history, timers, tasks: a statement per table), the
//!    counts they move (one statement), the versions the losers found, and `COMMIT`.
//!
//! Callers are answered once `COMMIT` is answered: a group that committed nothing (a
//! statement failed: the `COMMIT` rolled back) fails every step that won; a `COMMIT` cut off
//! leaves them [`crate::StoreError::Uncertain`]. A statement writes the rows of many steps, so
//! its failure (such as a duplicate event id) says not whose it is: the group is then run
//! again a step at a time, and only the step at fault fails. The connection of a failed group
//! is closed rather than returned to the pool, so no half-done transaction outlives it.

use std::collections::VecDeque;
use std::sync::Arc;

use deadpool_postgres::{Object, Pool};
use tokio::sync::{Mutex, mpsc, oneshot};

use super::codec::{BEGIN_KEYED_WRITES, Flying, backend, fly, landed, pooled, simple, uncertain};
use super::steps::{Decided, Statements, Stepping};
use crate::encode::EncodedStep;
use crate::group::{self, Abandoned};
use crate::{ExecutionId, Result, StepWrite, StoreError};

/// Groups in flight at once per node: while one commits (waits for its WAL flush), the next
/// is gathered and sent.
const WRITERS: usize = 2;

/// A step waiting for its group.
struct Queued {
    id: ExecutionId,
    expected_version: i64,
    step: EncodedStep,
    reply: oneshot::Sender<Result<()>>,
}

/// The queue of steps to commit; its writers stop once it is dropped.
pub(super) struct Writer {
    queue: mpsc::UnboundedSender<Queued>,
}

impl Writer {
    pub(super) fn start(pool: Pool, owner: String) -> Self {
        let (queue, steps) = mpsc::unbounded_channel();
        let steps = Arc::new(Mutex::new(steps));
        for _ in 0..WRITERS {
            tokio::spawn(write(pool.clone(), owner.clone(), steps.clone()));
        }
        Writer { queue }
    }

    /// Commits a step (one without linked writes) with the others queued with it.
    pub(super) async fn commit(&self, write: &StepWrite) -> Result<()> {
        let (reply, answer) = oneshot::channel();
        let queued = Queued {
            id: write.execution,
            expected_version: write.expected_version,
            step: EncodedStep::new(write)?,
            reply,
        };
        self.queue
            .send(queued)
            .map_err(|_| backend("the store's writers have stopped"))?;
        answer
            .await
            .map_err(|_| backend("the store's writers dropped a step"))?
    }
}

async fn write(pool: Pool, owner: String, steps: Arc<Mutex<mpsc::UnboundedReceiver<Queued>>>) {
    loop {
        let mut gathered = {
            let mut steps = steps.lock().await;
            let Some(first) = steps.recv().await else {
                return;
            };
            group::gather(first, std::iter::from_fn(|| steps.try_recv().ok()))
        };
        gathered.sort_by_key(|queued| queued.id.0);
        let mut groups = rounds(gathered, |queued| queued.id);
        while let Some(group) = groups.pop_front() {
            match commit(&pool, &owner, &group).await {
                Ok(own) => {
                    for (queued, own) in group.into_iter().zip(own) {
                        group::answer(queued.reply, own);
                    }
                }
                Err(Failure::Statement(e)) if group.len() == 1 => {
                    if let Some(queued) = group.into_iter().next() {
                        group::answer(queued.reply, Err(e));
                    }
                }
                Err(Failure::Statement(e)) => {
                    tracing::debug!(error = %e, steps = group.len(), "a group of steps runs again a step at a time");
                    for queued in group.into_iter().rev() {
                        groups.push_front(vec![queued]);
                    }
                }
                Err(Failure::Group(abandoned)) => {
                    tracing::error!(error = %abandoned.message, steps = group.len(), "a group of steps failed");
                    let failed = Err(abandoned);
                    for queued in group {
                        group::answer(queued.reply, group::outcome(None, &failed));
                    }
                }
            }
        }
    }
}

/// Steps sorted by execution id (`id`) as groups of distinct executions, each in id order:
/// the first step of each execution in the first group, its second in the second, and so on.
fn rounds<T>(sorted: Vec<T>, id: impl Fn(&T) -> ExecutionId) -> VecDeque<Vec<T>> {
    let mut rounds: VecDeque<Vec<T>> = VecDeque::new();
    let mut previous = None;
    let mut nth = 0;
    for step in sorted {
        let of = id(&step);
        nth = if previous == Some(of) { nth + 1 } else { 0 };
        previous = Some(of);
        if rounds.len() == nth {
            rounds.push_back(Vec::new());
        }
        rounds[nth].push(step);
    }
    rounds
}

/// Commits a group on a pooled connection, closed if the group failed.
async fn commit(pool: &Pool, owner: &str, group: &[Queued]) -> Result<Vec<Result<()>>, Failure> {
    let client = pooled(pool)
        .await
        .map_err(|e| Failure::Group(Abandoned::certain(e)))?;
    let ran = run(&client, owner, group).await;
    if ran.is_err() {
        drop(Object::take(client));
    }
    ran
}

/// Why a group committed nothing: a statement writing its steps failed (the group may run
/// again a step at a time), or the group itself failed.
enum Failure {
    Statement(StoreError),
    Group(Abandoned),
}

impl Failure {
    /// The failure of a statement of a flight: a `COMMIT` cut off leaves the group uncertain.
    fn of(e: StoreError) -> Self {
        match e {
            StoreError::Uncertain(message) => Failure::Group(Abandoned {
                message,
                uncertain: true,
            }),
            e => Failure::Statement(e),
        }
    }
}

/// Runs a group in one transaction: each step's own outcome (in the group's order: `Ok` or
/// its refusal by the compare-and-set).
async fn run(client: &Object, owner: &str, group: &[Queued]) -> Result<Vec<Result<()>>, Failure> {
    let statements = Statements::prepare(client)
        .await
        .map_err(|e| Failure::Group(Abandoned::certain(e)))?;
    let steps: Vec<Stepping<'_>> = group
        .iter()
        .map(|queued| Stepping {
            id: queued.id,
            expected: queued.expected_version,
            step: &queued.step,
        })
        .collect();

    let mut first = fly(vec![
        simple(client, BEGIN_KEYED_WRITES),
        statements.cas(client, &steps),
    ])
    .await
    .into_iter();
    let (Some(begun), Some(cas)) = (first.next(), first.next()) else {
        return Err(Failure::Group(Abandoned::certain(
            "a flight lost an answer",
        )));
    };
    begun.map_err(|e| Failure::Group(Abandoned::certain(e)))?;
    let decided = Decided::of(&steps, &cas.map_err(Failure::of)?).map_err(Failure::of)?;

    let found = statements.found(client, &decided);
    let asked_found = found.is_some();
    let mut second: Vec<Flying<'_>> = found.into_iter().collect();
    second.extend(statements.rows(client, owner, &decided.won()));
    second.extend(statements.counts(client, &decided.changes()));
    second.push(Box::pin(async move {
        client
            .batch_execute("COMMIT")
            .await
            .map(|()| Vec::new())
            .map_err(uncertain("committing a group of steps"))
    }));
    // A failed statement aborted the transaction, and its `COMMIT` rolled it back; only a
    // `COMMIT` cut off (an `Uncertain` answer) leaves the outcome open. (The statements'
    // arguments are of fixed types, so none fails before it is sent.)
    let mut answers = fly(second).await;
    let committed = answers.pop();
    if let Some(Err(e @ StoreError::Uncertain(_))) = committed {
        return Err(Failure::of(e));
    }
    let answers = landed(answers).map_err(Failure::of)?;
    if let Some(Err(e)) = committed {
        return Err(Failure::Group(Abandoned::certain(e)));
    }
    let found = match answers.first() {
        Some(rows) if asked_found => rows.as_slice(),
        _ => &[],
    };
    Ok(decided.outcomes(found))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_of_one_execution_go_to_successive_groups_in_the_order_they_came() {
        let sorted = [(1, 'a'), (1, 'b'), (1, 'c'), (2, 'd'), (3, 'e'), (3, 'f')];
        let groups = rounds(sorted.to_vec(), |(id, _)| ExecutionId(*id));
        let names: Vec<String> = groups
            .iter()
            .map(|group| group.iter().map(|(_, name)| name).collect())
            .collect();
        assert_eq!(names, ["ade", "bf", "c"]);
    }
}
