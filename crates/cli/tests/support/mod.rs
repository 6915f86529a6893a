//! What the `sluice run` tests share.

pub mod functions;
