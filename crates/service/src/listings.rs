//! Listings, totals and metrics of the caller's flows and executions: pages read off the
//! store's indexed queries (summaries, never engine state), totals and per-period metrics off
//! the counts it keeps, never a scan of every execution.

use sluice_engine::Millis;
use sluice_store::{
    CountsQuery, ExecutionCursor, ExecutionQuery, FlowName, FlowQuery, FlowSelection, MinuteCounts,
    Page,
};

use crate::views::{ExecutionSummary, FlowView, views};

use crate::{Caller, Result, Service, ServiceError};

/// One page of a listing, and how many items the whole listing has.
#[derive(Debug, Clone, PartialEq)]
pub struct Listed<T> {
    pub total: u64,
    pub items: Vec<T>,
}

impl<R> Listed<R> {
    fn into_views<V: From<R>>(self) -> Listed<V> {
        Listed {
            total: self.total,
            items: views(self.items),
        }
    }
}

/// The executions started in one period, counted as they are now.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PeriodCounts {
    /// The period's first millisecond.
    pub start: Millis,
    pub started: u64,
    /// Failed or timed out.
    pub failed: u64,
    /// Not yet ended.
    pub running: u64,
    /// Ended, and the sum of their durations.
    pub finished: u64,
    pub duration_ms: i64,
}

impl PeriodCounts {
    /// The mean duration of the ended ones, 0 without any.
    pub fn mean_duration_ms(&self) -> f64 {
        if self.finished == 0 {
            return 0.0;
        }
        self.duration_ms as f64 / self.finished as f64
    }

    fn add(&mut self, minute: &MinuteCounts) {
        self.started += minute.started;
        self.failed += minute.failed;
        self.running += minute.running;
        self.finished += minute.finished;
        self.duration_ms += minute.duration_ms;
    }
}

/// The most periods one metrics call spans (said in the error).
const MAX_PERIODS: i64 = 10_000;

impl Service {
    /// The caller's flows `query` selects (`query.tenant` must be the caller's), `skip` of
    /// them left out, at most `limit`, by name.
    pub async fn flow_page(
        &self,
        caller: &Caller,
        query: &FlowQuery,
        page: Page<FlowName>,
    ) -> Result<Listed<FlowView>> {
        own(caller, &query.tenant)?;
        let listed = listed(
            self.store.count_flows(query),
            self.store.list_flows(query, page),
        )
        .await?;
        Ok(listed.into_views())
    }

    /// The caller's executions `query` selects (`query.tenant` must be the caller's), in its
    /// order, and how many it selects.
    pub async fn execution_page(
        &self,
        caller: &Caller,
        query: &ExecutionQuery,
        page: Page<ExecutionCursor>,
    ) -> Result<Listed<ExecutionSummary>> {
        own(caller, &query.tenant)?;
        let items = self.store.list_summaries(query, page);
        let listed = listed(self.store.count_executions(query), items).await?;
        Ok(listed.into_views())
    }

    /// The executions of the caller's flow of that name (of all its flows without one)
    /// started from `start` to `end` (epoch ms), counted per period of `minutes` from `start`.
    /// The store counts per minute, so a period counts the executions started in the minutes
    /// it begins.
    pub async fn execution_metrics(
        &self,
        caller: &Caller,
        flow: Option<&str>,
        (start, end): (Millis, Millis),
        minutes: i64,
    ) -> Result<Vec<PeriodCounts>> {
        let period = minutes.max(1).saturating_mul(MINUTE_MS);
        if end <= start || (end - start) / period > MAX_PERIODS {
            return Err(ServiceError::InvalidArgument(
                "start_time must be before end_time, in at most 10,000 periods".into(),
            ));
        }
        let flows = match flow {
            Some(name) => FlowSelection::Flow(self.flow(caller, name).await?.id),
            None => FlowSelection::ALL,
        };
        let count = usize::try_from((end - start + period - 1) / period).unwrap_or(0);
        let mut periods: Vec<PeriodCounts> = (0..count)
            .map(|i| PeriodCounts {
                start: start + period * i as Millis,
                ..Default::default()
            })
            .collect();
        let query = CountsQuery {
            tenant: caller.tenant.clone(),
            flows,
            from: start,
            to: end,
        };
        let origin = start.div_euclid(MINUTE_MS) * MINUTE_MS;
        for minute in self.store.execution_counts(&query).await? {
            let index = usize::try_from((minute.minute - origin) / period).ok();
            if let Some(counts) = index.and_then(|i| periods.get_mut(i)) {
                counts.add(&minute);
            }
        }
        Ok(periods)
    }
}

const MINUTE_MS: Millis = 60_000;

/// A page and the total of its listing, read at once.
async fn listed<T>(
    total: impl Future<Output = sluice_store::Result<u64>>,
    items: impl Future<Output = sluice_store::Result<Vec<T>>>,
) -> Result<Listed<T>> {
    let (total, items) = tokio::try_join!(total, items)?;
    Ok(Listed { total, items })
}

/// A query of another tenant's records is no query of the caller's.
fn own(caller: &Caller, tenant: &sluice_store::TenantId) -> Result<()> {
    if *tenant != caller.tenant {
        return Err(ServiceError::Internal(
            "a listing asked for another tenant's records".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mean_duration_is_of_the_ended_executions() {
        let counts = PeriodCounts {
            finished: 4,
            duration_ms: 1_000,
            ..Default::default()
        };
        assert_eq!(counts.mean_duration_ms(), 250.0);
        assert_eq!(PeriodCounts::default().mean_duration_ms(), 0.0);
    }
}
