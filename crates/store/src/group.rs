//! Group commit, the shape both backends share: a writer takes one queued write and whatever
//! else is queued behind it (up to [`MAX_GROUP`]), commits them all in one transaction in
//! which each write still decides alone (a write that fails, such as a lost compare-and-set,
//! is undone alone and gets its own error), and answers each caller only after the commit.
//! One durable commit then covers many writes, which is what makes many concurrent durable
//! steps per second possible. SQLite runs a group on its writer thread with a savepoint per
//! write; PostgreSQL on writer tasks, its statements pipelined (`postgres/group.rs`).

use tokio::sync::oneshot;

use crate::{Result, StoreError};

/// The most writes one transaction groups: bounds the latency a group adds to its last write
/// and the work lost to a failed commit.
pub(crate) const MAX_GROUP: usize = 512;

/// `first` and what is queued behind it, at most [`MAX_GROUP`] in all.
pub(crate) fn gather<T>(first: T, queued: impl Iterator<Item = T>) -> Vec<T> {
    let mut group = Vec::with_capacity(16);
    group.push(first);
    group.extend(queued.take(MAX_GROUP - 1));
    group
}

/// Why a group committed nothing.
#[derive(Debug, Clone)]
pub(crate) struct Abandoned {
    pub message: String,
    /// The `COMMIT` was cut off: the group may have committed (see [`StoreError::Uncertain`]).
    pub uncertain: bool,
}

impl Abandoned {
    pub(crate) fn certain(message: impl std::fmt::Display) -> Self {
        Abandoned {
            message: message.to_string(),
            uncertain: false,
        }
    }

    fn error(&self) -> StoreError {
        let message = format!("the transaction failed: {}", self.message);
        if self.uncertain {
            StoreError::Uncertain(message)
        } else {
            StoreError::Backend(message)
        }
    }
}

/// What a caller is told: a write's own failure stands whatever the group did (it was undone
/// either way); its success only once the group committed.
pub(crate) fn outcome<T>(own: Option<Result<T>>, group: &Result<(), Abandoned>) -> Result<T> {
    match (own, group) {
        (Some(Err(e)), _) => Err(e),
        (Some(Ok(value)), Ok(())) => Ok(value),
        (_, Err(abandoned)) => Err(abandoned.error()),
        (None, Ok(())) => Err(StoreError::Backend(
            "the write panicked and was rolled back".into(),
        )),
    }
}

/// Answers a caller; it may have given up waiting, and the write's fate is the same either way.
pub(crate) fn answer<T>(reply: oneshot::Sender<Result<T>>, result: Result<T>) {
    let _ = reply.send(result);
}
