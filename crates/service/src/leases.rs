//! This node's lease, and taking over the work of nodes that died.
//!
//! Every `lease / RENEWALS` a node renews its lease, then takes over the task calls, timers and
//! background jobs of nodes whose lease ran out (see `sluice_store::Store::take_over`). At
//! start, the first take-over runs before the node serves: on SQLite it hands over everything
//! the previous process left, so a restarted server resumes at once.

use std::sync::Arc;
use std::time::Duration;

use crate::{Result, Service};

/// The lease of a node that says nothing more is this long; `sluice serve --lease-timeout`.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

/// Renewals per lease: a node survives a few failed or slow renewals in a row.
const RENEWALS: u32 = 5;

/// What one take-over found.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TakenOverWork {
    pub calls: usize,
    pub timers: u64,
    pub jobs: usize,
}

impl Service {
    /// Takes over what dead nodes left, then keeps renewing this node's lease and taking over,
    /// until the service is dropped.
    pub async fn start_leases(self: &Arc<Self>, lease: Duration) -> Result<TakenOverWork> {
        let first = self.take_over(lease).await?;
        let service = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(lease / RENEWALS).await;
                let Some(service) = service.upgrade() else {
                    return;
                };
                service.renew_and_take_over(lease).await;
            }
        });
        Ok(first)
    }

    async fn renew_and_take_over(self: &Arc<Self>, lease: Duration) {
        match self.store.renew_lease().await {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                "this node's lease had run out: other nodes may have taken over its work (calls in flight here may be made twice)"
            ),
            Err(e) => tracing::error!(error = %e, "renewing this node's lease failed"),
        }
        match self.take_over(lease).await {
            Ok(work) if work != TakenOverWork::default() => tracing::info!(
                calls = work.calls,
                timers = work.timers,
                jobs = work.jobs,
                "took over the work of dead nodes"
            ),
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "taking over the work of dead nodes failed"),
        }
    }

    async fn take_over(self: &Arc<Self>, lease: Duration) -> Result<TakenOverWork> {
        let taken = self.store.take_over(lease).await?;
        let work = TakenOverWork {
            calls: taken.tasks.len(),
            timers: taken.timers,
            jobs: taken.jobs.len(),
        };
        self.runtime.take_up(taken.tasks, taken.timers);
        for job in taken.jobs {
            self.spawn_job(job);
        }
        Ok(work)
    }
}
