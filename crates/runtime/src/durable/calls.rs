//! The task calls this node is making, and the aborts that reach them.
//!
//! A call is aborted by its op (a step settled it: a stop, a timeout, a callback, a sibling
//! branch's failure), and every call of an execution by its end: after a take-over a node may
//! still be making a call whose op another node has since completed, which no step cancels by
//! op any more. Everything is under one lock, so an abort and a dispatch of the same call
//! never both miss each other.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sluice_engine::OpId;
use sluice_store::ExecutionId;
use tokio_util::sync::CancellationToken;

/// How long an abort that overtook its dispatch is remembered (the race it covers lasts
/// milliseconds: a commit and the effects that follow it, or a take-over and its dispatches).
const EARLY_ABORT_WINDOW: Duration = Duration::from_secs(10);
/// Remembered aborts are pruned of expired ones once there are this many (and at every
/// multiple of it).
const EARLY_ABORTS_KEPT: usize = 1024;

type Call = (ExecutionId, OpId);

#[derive(Default)]
pub(super) struct Calls(Mutex<Inner>);

#[derive(Default)]
struct Inner {
    /// In execution order, so the calls of one execution are a range.
    in_flight: BTreeMap<Call, CancellationToken>,
    /// Calls aborted before they were dispatched here.
    aborted_early: HashMap<Call, Instant>,
}

impl Calls {
    /// The token of a call about to be made here; `None` if it must not be: an abort overtook
    /// it, or this node makes it already. The latter happens after a database outage longer
    /// than the lease, when the nodes take over each other's calls and one comes back to the
    /// node still making it: a second call would take the first one's place, and an abort
    /// would then close only the second.
    pub(super) fn claim(&self, call: Call) -> Option<CancellationToken> {
        let mut inner = self.lock();
        if inner.aborted_early.remove(&call).is_some() {
            metrics::counter!("sluice_task_calls_aborted_total").increment(1);
            return None;
        }
        if inner.in_flight.contains_key(&call) {
            tracing::debug!(execution = %call.0, op = call.1.0, "a call taken over is in flight here already");
            return None;
        }
        let token = CancellationToken::new();
        inner.in_flight.insert(call, token.clone());
        Some(token)
    }

    /// A call that returned (or gave up) is no longer in flight.
    pub(super) fn returned(&self, call: Call) {
        self.lock().in_flight.remove(&call);
    }

    /// Aborts the call if it is in flight here, and otherwise remembers the abort for the
    /// dispatch it may have overtaken.
    pub(super) fn abort(&self, call: Call) {
        let mut inner = self.lock();
        if let Some(token) = inner.in_flight.remove(&call) {
            return cancel(token);
        }
        let aborted = &mut inner.aborted_early;
        // Every so many inserts, so pruning stays cheap however many are young.
        if aborted.len() >= EARLY_ABORTS_KEPT && aborted.len().is_multiple_of(EARLY_ABORTS_KEPT) {
            aborted.retain(|_, at| at.elapsed() < EARLY_ABORT_WINDOW);
        }
        // Op ids are never reused within an execution, so a remembered abort can only ever
        // match the dispatch it overtook.
        aborted.insert(call, Instant::now());
    }

    /// Whether the call was in flight here (and is now aborted).
    pub(super) fn cancel(&self, call: Call) -> bool {
        let token = self.lock().in_flight.remove(&call);
        token.map(cancel).is_some()
    }

    /// Aborts every call of an execution that ended.
    pub(super) fn end(&self, id: ExecutionId) {
        let mut inner = self.lock();
        let calls = (id, OpId(0))..=(id, OpId(u64::MAX));
        let ended: Vec<Call> = inner
            .in_flight
            .range(calls)
            .map(|(call, _)| *call)
            .collect();
        for call in ended {
            if let Some(token) = inner.in_flight.remove(&call) {
                cancel(token);
            }
        }
    }

    pub(super) fn in_flight(&self) -> Vec<Call> {
        self.lock().in_flight.keys().copied().collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // Single inserts and removes cannot leave the maps inconsistent, so a poisoned lock
        // is still usable.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn cancel(token: CancellationToken) {
    metrics::counter!("sluice_task_calls_aborted_total").increment(1);
    token.cancel();
}

#[cfg(test)]
mod tests {
    use super::*;

    const E: ExecutionId = ExecutionId(7);

    #[test]
    fn an_abort_before_the_dispatch_means_no_call() {
        let calls = Calls::default();
        calls.abort((E, OpId(1)));
        assert!(calls.claim((E, OpId(1))).is_none());
        assert!(
            calls.claim((E, OpId(2))).is_some(),
            "another op is not aborted"
        );
    }

    #[test]
    fn a_call_in_flight_is_not_claimed_twice_and_one_abort_cancels_it() {
        let calls = Calls::default();
        let token = calls.claim((E, OpId(1))).unwrap();
        assert!(calls.claim((E, OpId(1))).is_none());
        calls.abort((E, OpId(1)));
        assert!(token.is_cancelled());
        assert!(calls.in_flight().is_empty());
    }

    #[test]
    fn an_executions_end_cancels_all_its_calls_and_no_other() {
        let calls = Calls::default();
        let other = ExecutionId(8);
        let ours = [calls.claim((E, OpId(0))), calls.claim((E, OpId(u64::MAX)))];
        let theirs = calls.claim((other, OpId(0))).unwrap();
        calls.end(E);
        assert!(ours.iter().all(|t| t.as_ref().unwrap().is_cancelled()));
        assert!(!theirs.is_cancelled());
        assert_eq!(calls.in_flight(), vec![(other, OpId(0))]);
    }
}
