//! Read connections: a small pool. WAL lets them read a consistent snapshot while the writer
//! commits.
//!
//! A lookup of one record by its key (a flow by name, an execution by id) runs on the calling
//! task's thread: it takes tens of microseconds, less than handing it to the blocking pool and
//! back, whose two thread wake-ups were the largest share of the server's CPU per request.
//! Scans (listings, counts, history pages), whose time grows with what they read, run on the
//! blocking pool so that they never hold up an async thread.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use tokio::sync::Semaphore;

use super::codec::backend;
use super::schema;
use crate::Result;

/// Reads running at once. More would only contend for the same cores and cache; waiting
/// reads queue on the semaphore instead of occupying blocking threads.
const READERS: usize = 8;

pub(super) struct Readers {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl Readers {
    pub(super) fn new(path: PathBuf) -> Self {
        Self {
            path,
            idle: Mutex::default(),
            permits: Arc::new(Semaphore::new(READERS)),
        }
    }

    /// Runs `work`, a lookup of one record by its key, on a pooled connection on this thread.
    pub(super) fn lookup<T>(&self, work: impl FnOnce(&Connection) -> Result<T>) -> Result<T> {
        let conn = self.take()?;
        let result = work(&conn);
        self.give_back(conn);
        result
    }

    /// Runs `work`, a scan, on a pooled connection off the async threads.
    pub(super) async fn read<T, F>(self: &Arc<Self>, work: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T> + Send + 'static,
    {
        // The permit moves into the blocking task: a caller that stops waiting does not free
        // a slot while its read still runs.
        let permit = self
            .permits
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| backend("the read pool is closed"))?;
        let readers = self.clone();
        tokio::task::spawn_blocking(move || {
            let conn = readers.take()?;
            let result = work(&conn);
            readers.give_back(conn);
            drop(permit);
            result
        })
        .await
        .map_err(|e| backend(format!("a read task failed: {e}")))?
    }

    fn take(&self) -> Result<Connection> {
        match lock(&self.idle).pop() {
            Some(conn) => Ok(conn),
            None => schema::open_reader(&self.path),
        }
    }

    fn give_back(&self, conn: Connection) {
        lock(&self.idle).push(conn);
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A pool is a plain Vec of connections: a panic elsewhere cannot leave it inconsistent.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
