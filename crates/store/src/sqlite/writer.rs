//! The writer thread: the only connection that writes, with group commit (the shape of
//! `crate::group`).
//!
//! It blocks for one command, takes whatever else is queued, runs them all in one
//! `BEGIN IMMEDIATE … COMMIT` with a savepoint per command, and answers each caller only after
//! the commit. One fsync then covers the whole group; the savepoints keep the commands
//! independent: a command that fails (a compare-and-set conflict, a duplicate key) is rolled
//! back alone and gets its own error, the others still commit.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc;

use rusqlite::{Connection, TransactionBehavior};
use tokio::sync::oneshot;

use super::codec::backend;
use crate::Result;
use crate::group::{self, Abandoned};

/// A write queued for the writer thread.
pub(super) trait Command: Send {
    /// Runs inside the group transaction; `false` if the command failed and its changes must
    /// be rolled back.
    fn run(&mut self, conn: &Connection) -> bool;

    /// Answers the caller once the group is committed (`Ok`) or abandoned (`Err`).
    fn answer(self: Box<Self>, group: &Result<(), Abandoned>);
}

pub(super) type Queue = mpsc::Sender<Box<dyn Command>>;

/// Starts the writer thread; it stops when every [`Queue`] handle is dropped.
pub(super) fn spawn(conn: Connection) -> Result<Queue> {
    let (queue, commands) = mpsc::channel();
    std::thread::Builder::new()
        .name("sluice-sqlite-writer".into())
        .spawn(move || serve(conn, &commands))
        .map_err(|e| backend(format!("starting the writer thread: {e}")))?;
    Ok(queue)
}

/// Queues `work` on the writer thread of `queue`; the answer comes once its group is committed.
pub(super) async fn write<T, F>(queue: &Queue, work: F) -> Result<T>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T> + Send + 'static,
{
    let (command, answer) = command(work);
    queue
        .send(command)
        .map_err(|_| backend("the writer thread has stopped"))?;
    answer
        .await
        .map_err(|_| backend("the writer thread dropped a write"))?
}

/// A command running `work`, and the receiver of its answer.
pub(super) fn command<T, F>(work: F) -> (Box<dyn Command>, oneshot::Receiver<Result<T>>)
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T> + Send + 'static,
{
    let (reply, answer) = oneshot::channel();
    let command = Write {
        work: Some(work),
        outcome: None,
        reply,
    };
    (Box::new(command), answer)
}

struct Write<F, T> {
    work: Option<F>,
    outcome: Option<Result<T>>,
    reply: oneshot::Sender<Result<T>>,
}

impl<T, F> Command for Write<F, T>
where
    T: Send,
    F: FnOnce(&Connection) -> Result<T> + Send,
{
    fn run(&mut self, conn: &Connection) -> bool {
        let Some(work) = self.work.take() else {
            return false;
        };
        let outcome = work(conn);
        let succeeded = outcome.is_ok();
        self.outcome = Some(outcome);
        succeeded
    }

    fn answer(self: Box<Self>, group: &Result<(), Abandoned>) {
        group::answer(self.reply, group::outcome(self.outcome, group));
    }
}

fn serve(mut conn: Connection, commands: &mpsc::Receiver<Box<dyn Command>>) {
    while let Ok(first) = commands.recv() {
        let mut group = group::gather(first, commands.try_iter());
        let outcome = run_group(&mut conn, &mut group).map_err(Abandoned::certain);
        if let Err(e) = &outcome {
            tracing::error!(error = %e.message, commands = group.len(), "a write transaction failed");
        }
        for command in group {
            command.answer(&outcome);
        }
    }
}

/// Runs a group in one transaction. Any failure of the transaction itself (not of a command)
/// abandons the whole group: dropping the uncommitted transaction rolls it back.
fn run_group(conn: &mut Connection, group: &mut [Box<dyn Command>]) -> rusqlite::Result<()> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for command in group.iter_mut() {
        run_isolated(&tx, command.as_mut())?;
    }
    tx.commit()
}

/// Runs one command inside its own savepoint and keeps or undoes its changes. A panicking
/// command counts as failed, so a bug in one write cannot take the writer thread down.
fn run_isolated(conn: &Connection, command: &mut dyn Command) -> rusqlite::Result<()> {
    conn.prepare_cached("SAVEPOINT command")?.execute([])?;
    let succeeded = catch_unwind(AssertUnwindSafe(|| command.run(conn))).unwrap_or(false);
    if !succeeded {
        conn.prepare_cached("ROLLBACK TO command")?.execute([])?;
    }
    conn.prepare_cached("RELEASE command")?.execute([])?;
    Ok(())
}
