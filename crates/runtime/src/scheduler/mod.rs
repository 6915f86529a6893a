//! The scheduler: the loop that fires due schedules.
//!
//! The execution of a tick is named after the tick, so starting it is idempotent, and the tick
//! is then claimed with a compare-and-set on the schedule's next fire time: it fires once
//! however many nodes run, and a node dying halfway leaves it to the others. Starting an
//! execution is the service's command (its checks: flow open, mode, payload): the loop calls
//! it through [`TickStarter`].

mod cadence;

use std::fmt::Display;
use std::future::Future;
use std::sync::{Arc, Weak};
use std::time::Duration;

use sluice_store::{ScheduleRecord, Store, StoreError};

use crate::durable::wall_clock_ms;
pub use cadence::Cadence;

/// How often the loop looks for due schedules.
const ROUND: Duration = Duration::from_millis(500);

/// Starts the execution of one tick, with the checks of any start.
pub trait TickStarter: Send + Sync + 'static {
    type Error: Display + Send;

    /// Starts `execution` of `schedule`'s flow with its payload. An execution of that name
    /// that exists already is a success: the tick's start happened.
    fn start_tick(
        &self,
        schedule: &ScheduleRecord,
        execution: String,
    ) -> impl Future<Output = Result<(), StartFailure<Self::Error>>> + Send;
}

/// Why a tick's execution did not start.
#[derive(Debug)]
pub enum StartFailure<E> {
    /// Refused for good (flow closed, bad payload): the tick is over.
    Refused(E),
    /// The database failed: the tick is tried again on the next round.
    Transient(E),
}

/// Fires due schedules until `starter` is dropped.
pub fn start_scheduler<S: TickStarter>(store: Arc<dyn Store>, starter: Weak<S>) {
    tokio::spawn(async move {
        while let Some(starter) = starter.upgrade() {
            fire_due_schedules(store.as_ref(), starter.as_ref()).await;
            drop(starter);
            tokio::time::sleep(ROUND).await;
        }
    });
}

async fn fire_due_schedules<S: TickStarter>(store: &dyn Store, starter: &S) {
    let due = match store.due_schedules(wall_clock_ms()).await {
        Ok(due) => due,
        Err(e) => return tracing::error!(error = %e, "loading due schedules failed"),
    };
    for schedule in due {
        if let Err(e) = fire(store, starter, &schedule).await {
            tracing::warn!(schedule = %schedule.name, flow = %schedule.flow_name, error = %e, "a schedule could not start its execution");
        }
    }
}

/// What kept a tick from firing.
#[derive(Debug, thiserror::Error)]
enum FireError<E: Display> {
    #[error("{0}")]
    Start(E),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Starts the tick's execution, then claims the tick. The execution is named after the
/// tick, so every node may try the start and one execution results; a node that dies
/// between the start and the claim leaves the tick to the next node, whose start finds the
/// execution. A tick is fired exactly once.
async fn fire<S: TickStarter>(
    store: &dyn Store,
    starter: &S,
    schedule: &ScheduleRecord,
) -> Result<(), FireError<S::Error>> {
    let Some(fired) = schedule.next_fire_at else {
        return Ok(());
    };
    let execution = format!("{}-{}", schedule.name, fired);
    let refused = match starter.start_tick(schedule, execution).await {
        Ok(()) => None,
        Err(StartFailure::Refused(e)) => Some(e),
        Err(StartFailure::Transient(e)) => return Err(FireError::Start(e)),
    };
    let next = Cadence::parse(&schedule.cron)
        .ok()
        .and_then(|c| c.next_after(fired.max(wall_clock_ms())));
    let claimed = store.claim_schedule_tick(schedule.id, fired, next).await?;
    match refused {
        // Only the node that claimed the tick reports its refusal.
        Some(e) if claimed => Err(FireError::Start(e)),
        _ => Ok(()),
    }
}
