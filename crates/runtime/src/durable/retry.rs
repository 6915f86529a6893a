//! Waiting out a database that does not answer.
//!
//! What the runtime owes an accepted execution (recording a task's result, firing a timer,
//! running a job) cannot be given up because the database failed once: it is tried again,
//! pausing a little longer each time up to a bound, until it commits or is refused for good.

use std::time::Duration;

use sluice_store::StoreError;

use super::RuntimeError;

const FIRST_PAUSE: Duration = Duration::from_millis(50);
const LONGEST_PAUSE: Duration = Duration::from_secs(2);

/// The pauses between attempts: 50 ms, doubling, at most 2 s.
#[derive(Debug)]
pub struct Backoff {
    next: Duration,
    attempts: u32,
}

impl Default for Backoff {
    fn default() -> Self {
        Self {
            next: FIRST_PAUSE,
            attempts: 0,
        }
    }
}

impl Backoff {
    /// Failed attempts so far.
    pub fn attempts(&self) -> u32 {
        self.attempts
    }

    pub async fn pause(&mut self) {
        self.attempts += 1;
        tokio::time::sleep(self.next).await;
        self.next = (self.next * 2).min(LONGEST_PAUSE);
    }
}

/// Whether the store failed in a way that trying again may cure (it could not be reached, or
/// a connection broke), rather than refusing the write.
pub fn is_transient(error: &StoreError) -> bool {
    matches!(error, StoreError::Backend(_) | StoreError::Uncertain(_))
}

impl RuntimeError {
    /// See [`is_transient`].
    pub fn is_transient(&self) -> bool {
        matches!(self, RuntimeError::Store(e) if is_transient(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pauses_double_up_to_the_bound() {
        let mut backoff = Backoff::default();
        let mut pauses = Vec::new();
        for _ in 0..8 {
            let before = tokio::time::Instant::now();
            backoff.pause().await;
            pauses.push(before.elapsed().as_millis());
        }
        assert_eq!(pauses, [50, 100, 200, 400, 800, 1600, 2000, 2000]);
        assert_eq!(backoff.attempts(), 8);
    }
}
