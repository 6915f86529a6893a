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

use sluice_store::{ScheduleRecord, ScheduleTick, Store, StoreError};

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
    let tick = ScheduleTick {
        schedule: schedule.id,
        fired,
        next,
    };
    let claimed = store.claim_schedule_tick(tick).await?;
    if claimed {
        tracing::info!(
            tenant = %schedule.tenant,
            flow = %schedule.flow_name,
            schedule = %schedule.name,
            tick = fired,
            started = refused.is_none(),
            "schedule fired"
        );
    }
    match refused {
        // Only the node that claimed the tick reports its refusal.
        Some(e) if claimed => Err(FireError::Start(e)),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use serde_json::json;
    use sluice_engine::Millis;
    use sluice_ir::Dialect;
    use sluice_store::sqlite::SqliteStore;
    use sluice_store::{ExecutionMode, FlowName, NewFlow, TenantId};

    use super::*;

    const TICK: Millis = 1_767_225_600_000; // 2026-01-01T00:00:00Z, long past when tests run

    /// Records each start with the schedule's next fire time as the store had it then.
    struct Starter {
        store: Arc<dyn Store>,
        answer: fn() -> Result<(), StartFailure<&'static str>>,
        starts: Mutex<Vec<(String, Option<Millis>)>>,
    }

    impl TickStarter for Starter {
        type Error = &'static str;

        async fn start_tick(
            &self,
            schedule: &ScheduleRecord,
            execution: String,
        ) -> Result<(), StartFailure<&'static str>> {
            let stored = self.store.get_schedule(schedule.flow_id, &schedule.name);
            let next = stored.await.expect("read").expect("exists").next_fire_at;
            self.starts.lock().expect("lock").push((execution, next));
            (self.answer)()
        }
    }

    async fn scheduled(
        dir: &tempfile::TempDir,
        answer: fn() -> Result<(), StartFailure<&'static str>>,
    ) -> (Starter, ScheduleRecord) {
        let store: Arc<dyn Store> =
            Arc::new(SqliteStore::open(&dir.path().join("sluice.db")).expect("open"));
        let tenant = TenantId("t".into());
        let flow = NewFlow {
            tenant: tenant.clone(),
            name: FlowName::new("f"),
            description: String::new(),
            definition: String::new(),
            dialect: Dialect::CloudFlow,
            role_arn: None,
            mode: ExecutionMode::Standard,
            attributes: json!({}),
            tag: None,
            now: 0,
        };
        let flow = store.create_flow(flow).await.expect("flow");
        let schedule = ScheduleRecord {
            id: 0,
            tenant,
            flow_id: flow.id,
            flow_name: flow.name,
            name: "s".into(),
            cron: "@every 1m".into(),
            payload: "{}".into(),
            description: String::new(),
            enabled: true,
            next_fire_at: Some(TICK),
            created_at: 0,
            modified_at: 0,
        };
        let schedule = store.create_schedule(schedule).await.expect("schedule");
        let starter = Starter {
            store,
            answer,
            starts: Mutex::default(),
        };
        (starter, schedule)
    }

    async fn next_fire_at(starter: &Starter, schedule: &ScheduleRecord) -> Option<Millis> {
        let stored = starter.store.get_schedule(schedule.flow_id, &schedule.name);
        stored.await.expect("read").expect("exists").next_fire_at
    }

    #[tokio::test]
    async fn a_tick_starts_its_execution_before_it_is_claimed_and_fires_once() {
        let dir = tempfile::tempdir().expect("dir");
        let (starter, schedule) = scheduled(&dir, || Ok(())).await;
        fire_due_schedules(starter.store.as_ref(), &starter).await;
        fire_due_schedules(starter.store.as_ref(), &starter).await;
        let starts = starter.starts.lock().expect("lock").clone();
        assert_eq!(starts, [(format!("s-{TICK}"), Some(TICK))]);
        let next = next_fire_at(&starter, &schedule)
            .await
            .expect("a next tick");
        assert!(next > wall_clock_ms(), "the next tick is in the future");
    }

    #[tokio::test]
    async fn a_tick_whose_start_failed_for_now_is_left_for_the_next_round() {
        let dir = tempfile::tempdir().expect("dir");
        let (starter, schedule) =
            scheduled(&dir, || Err(StartFailure::Transient("database down"))).await;
        let fired = fire(starter.store.as_ref(), &starter, &schedule).await;
        assert!(matches!(fired, Err(FireError::Start("database down"))));
        assert_eq!(next_fire_at(&starter, &schedule).await, Some(TICK));
        fire_due_schedules(starter.store.as_ref(), &starter).await;
        assert_eq!(starter.starts.lock().expect("lock").len(), 2);
    }

    #[tokio::test]
    async fn a_refused_start_ends_its_tick_and_is_reported_by_the_claimer_only() {
        let dir = tempfile::tempdir().expect("dir");
        let (starter, schedule) = scheduled(&dir, || Err(StartFailure::Refused("closed"))).await;
        let fired = fire(starter.store.as_ref(), &starter, &schedule).await;
        assert!(matches!(fired, Err(FireError::Start("closed"))));
        assert_ne!(next_fire_at(&starter, &schedule).await, Some(TICK));
        // Another node that read the same tick before the claim starts, fails, and stays quiet.
        let late = fire(starter.store.as_ref(), &starter, &schedule).await;
        assert!(late.is_ok());
    }
}
