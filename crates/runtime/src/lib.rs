//! The runtime: carries out the engine's effects.
//!
//! - [`invoke`]: the function protocol (task calls over HTTP, with cancellation); `detached.rs`:
//!   asynchronous invocations, which run on after their task is done.
//! - [`local`]: [`LocalRunner`], one execution in memory from start to finish (`sluice run`).
//! - [`durable`]: executions whose every step is committed to the store before its effects run.
//! - [`mocks`]: Step Functions Local's mock configuration file: the answers of the tasks an
//!   execution started under a test case does not call.
//! - [`objects`]: buckets kept in local folders, where a distributed Map's items are read
//!   from and its results written to.
//! - [`outbound`]: each tenant's allowlist of the targets its definitions name (DataArts RESTAPI
//!   nodes), checked before any connection.
//! - [`scheduler`]: cron expressions ([`scheduler::Cadence`]) and the loop that fires due
//!   schedules, exactly once per tick.

mod actions;
mod detached;
pub mod durable;
pub mod http_task;
pub mod invoke;
pub mod local;
pub mod mocks;
pub mod objects;
pub mod outbound;
pub mod scheduler;

pub use invoke::{CallOrigin, FunctionEndpoints, Invoker, InvokerError};
pub use local::{Clock, LocalRunner, RunError, RunOutcome};
pub use mocks::{MockConfig, MockConfigError};
pub use objects::Buckets;
