//! Redrive (AWS Step Functions' `RedriveExecution`, for every dialect): an execution that
//! failed, was stopped or timed out runs on from where it ended, within a window after its
//! end, at most so many times. What the execution keeps of it ([`Redrives`]) and why one is
//! refused ([`NotRedrivable`]); the machine's part is `machine/redrive.rs`.

use crate::Millis;

/// How long after its end an execution can be redriven: AWS's 14 days.
pub const REDRIVE_WINDOW_MS: Millis = 14 * 24 * 3600 * 1000;

/// How many times one execution can be redriven (AWS's quota).
pub const MAX_REDRIVES: u32 = 1000;

/// The redrives an execution has had.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Redrives {
    pub count: u32,
    /// When the latest redrive was made.
    pub last_at: Option<Millis>,
}

/// Why an execution cannot be redriven now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NotRedrivable {
    /// It is running (or starting): only an ended execution is redriven.
    #[error("the execution is still running")]
    Running,
    /// It succeeded: there is nothing to run again.
    #[error("the execution succeeded")]
    Succeeded,
    /// It ended before entering any state (a bad input, a stop before it started).
    #[error("the execution ended before it entered a state")]
    NoState,
    /// It ended more than [`REDRIVE_WINDOW_MS`] ago.
    #[error("the execution ended more than 14 days ago")]
    Expired,
    /// It was redriven [`MAX_REDRIVES`] times.
    #[error("the execution was redriven {MAX_REDRIVES} times, the most it can be")]
    TooMany,
}
