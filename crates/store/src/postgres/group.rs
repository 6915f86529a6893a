//! Group commit on PostgreSQL (the shape of `crate::group`): the steps of many executions
//! committed in one transaction, in two pipelined round trips.
//!
//! A writer task takes the steps queued (each encoded on its caller's task), sorted by
//! execution id so that two nodes' groups lock their executions in the same order (and the
//! counts' rows after them, in row order: no deadlock between groups), and sends:
//!
//! 1. `BEGIN` and every step's compare-and-set (an update at the expected version, returning
//!    the row as it was). A step whose compare-and-set finds another version changed nothing,
//!    so it needs no savepoint: it is refused alone, and the others go on.
//! 2. The rows of the steps that won (history, timers, tasks), the counts they move, the
//!    versions the losers found, and `COMMIT`.
//!
//! Callers are answered once `COMMIT` is answered: a group that committed nothing (a
//! statement failed: the `COMMIT` rolled back) fails every step that won; a `COMMIT` cut off
//! leaves them [`crate::StoreError::Uncertain`]. The connection of a failed group is closed
//! rather than returned to the pool, so no half-done transaction outlives it.

use std::sync::Arc;

use deadpool_postgres::{Object, Pool};
use tokio::sync::{Mutex, mpsc, oneshot};
use tokio_postgres::Row;

use super::codec::{Flying, backend, failed, fly, pooled, prepared, simple, uncertain};
use super::executions::{
    CAS, FOUND_VERSION, RowChange, StepStatements, cas, count_statements, stepped_changes,
};
use crate::counts;
use crate::decode;
use crate::encode::EncodedStep;
use crate::group::{self, Abandoned};
use crate::rules;
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
        let mut group = {
            let mut steps = steps.lock().await;
            let Some(first) = steps.recv().await else {
                return;
            };
            group::gather(first, std::iter::from_fn(|| steps.try_recv().ok()))
        };
        group.sort_by_key(|queued| queued.id.0);
        // A step whose own statement fails is answered with its error and the others run
        // again without it, as a savepoint would have them.
        while !group.is_empty() {
            let ran = match pooled(&pool).await {
                Ok(client) => {
                    let ran = run(&client, &owner, &group).await;
                    if ran.is_err() {
                        drop(Object::take(client));
                    }
                    ran
                }
                Err(e) => Err(Failure::Group(Abandoned::certain(e))),
            };
            match ran {
                Ok(own) => {
                    for (queued, own) in group.drain(..).zip(own) {
                        group::answer(queued.reply, own);
                    }
                }
                Err(Failure::Step(at, e)) => {
                    let queued = group.remove(at);
                    group::answer(queued.reply, Err(e));
                }
                Err(Failure::Group(abandoned)) => {
                    tracing::error!(error = %abandoned.message, steps = group.len(), "a group of steps failed");
                    let failed = Err(abandoned);
                    for queued in group.drain(..) {
                        group::answer(queued.reply, group::outcome(None, &failed));
                    }
                }
            }
        }
    }
}

/// Why a group committed nothing: a statement of one of its steps failed (the group may run
/// again without it), or the group itself failed.
enum Failure {
    Step(usize, StoreError),
    Group(Abandoned),
}

/// The answers of a flight whose statement `i` is of the step `owners[i]` (`None`: of the
/// group), or its first failure.
fn checked(
    answers: Vec<Result<Option<Row>>>,
    owners: &[Option<usize>],
) -> Result<Vec<Option<Row>>, Failure> {
    let mut rows = Vec::with_capacity(answers.len());
    for (answer, owner) in answers.into_iter().zip(owners) {
        match (answer, owner) {
            (Ok(row), _) => rows.push(row),
            (Err(e @ StoreError::Uncertain(_)), _) => {
                return Err(Failure::Group(Abandoned {
                    message: e.to_string(),
                    uncertain: true,
                }));
            }
            (Err(e), Some(step)) => return Err(Failure::Step(*step, e)),
            (Err(e), None) => return Err(Failure::Group(Abandoned::certain(e))),
        }
    }
    Ok(rows)
}

/// Runs a group in one transaction: each step's own outcome (in the group's order: `Ok` or
/// its refusal by the compare-and-set).
async fn run(client: &Object, owner: &str, group: &[Queued]) -> Result<Vec<Result<()>>, Failure> {
    let (cas_statement, statements, upsert, found_version) = tokio::try_join!(
        prepared(client, &CAS),
        StepStatements::prepare(client),
        prepared(client, counts::UPSERT),
        prepared(client, FOUND_VERSION),
    )
    .map_err(|e| Failure::Group(Abandoned::certain(e)))?;

    let mut first = vec![simple(client, "BEGIN")];
    first.extend(group.iter().map(|queued| {
        cas(
            client,
            &cas_statement,
            queued.id,
            queued.expected_version,
            &queued.step,
        )
    }));
    let owners: Vec<Option<usize>> = std::iter::once(None)
        .chain((0..group.len()).map(Some))
        .collect();
    let answers = checked(fly(first).await, &owners)?;

    let mut won = Vec::with_capacity(group.len());
    let mut changes: Vec<RowChange> = Vec::new();
    let mut second: Vec<Flying<'_>> = Vec::new();
    let mut lost = Vec::new();
    let mut owners = Vec::new();
    for (at, (queued, before)) in group.iter().zip(answers.iter().skip(1)).enumerate() {
        match before {
            Some(row) => {
                let before = decode::counted(row).map_err(|e| Failure::Step(at, e))?;
                changes.extend(stepped_changes(queued.id, &before, &queued.step));
                second.extend(statements.rows(client, owner, queued.id, &queued.step));
                owners.resize(second.len(), Some(at));
                won.push(true);
            }
            None => {
                lost.push(second.len());
                let id = queued.id.0;
                let found_version = &found_version;
                second.push(Box::pin(async move {
                    client
                        .query_opt(found_version, &[&id])
                        .await
                        .map_err(failed("reading an execution"))
                }));
                owners.push(Some(at));
                won.push(false);
            }
        }
    }
    second.extend(count_statements(client, &upsert, &changes));
    second.push(Box::pin(async move {
        client
            .batch_execute("COMMIT")
            .await
            .map(|()| None)
            .map_err(uncertain("committing a group of steps"))
    }));
    owners.resize(second.len(), None);
    // A failed statement aborted the transaction, and its `COMMIT` rolled it back; only a
    // `COMMIT` cut off (an `Uncertain` answer) leaves the outcome open. (The statements'
    // arguments are of fixed types, so none fails before it is sent.)
    let answers = fly(second).await;
    if let Some(Err(e @ StoreError::Uncertain(_))) = answers.last() {
        return Err(Failure::Group(Abandoned {
            message: e.to_string(),
            uncertain: true,
        }));
    }
    let answers = checked(answers, &owners)?;
    let mut lost = lost.into_iter();
    Ok(group
        .iter()
        .zip(won)
        .map(|(queued, won)| {
            if won {
                return Ok(());
            }
            let found = lost
                .next()
                .and_then(|at| answers.get(at)?.as_ref())
                .map(|row| row.get::<_, i64>(0));
            Err(rules::step_refused(
                queued.id,
                queued.expected_version,
                found,
            ))
        })
        .collect())
}
