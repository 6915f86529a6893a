//! Durable timers: every timer is a row in the store; only the ones coming due within a short
//! horizon are held in memory, so hundreds of thousands of waiting executions cost a database
//! index, not RAM.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashSet};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use sluice_engine::{Input, Millis, OpId};
use sluice_store::{ExecutionId, Store, TimerRow};
use tokio::sync::Notify;

use super::{Backoff, Runtime, lock, wall_clock_ms};

/// Timers firing within this window are loaded into memory.
const HORIZON_MS: Millis = 30_000;
/// At most this many timers are loaded per scan; a full scan shortens the window instead.
const SCAN_LIMIT: usize = 10_000;

pub(super) struct Timers {
    store: Arc<dyn Store>,
    runtime: Weak<Runtime>,
    state: Mutex<State>,
    wake: Arc<Notify>,
}

#[derive(Default)]
struct State {
    heap: BinaryHeap<Reverse<(Millis, ExecutionId, OpId)>>,
    /// Timers in `heap` still wanted (a disarmed timer stays in the heap until popped).
    armed: HashSet<(ExecutionId, OpId)>,
    /// Every timer due at or before this instant is in `heap` (or already fired).
    loaded_until: Millis,
}

impl Timers {
    pub(super) fn new(store: Arc<dyn Store>, runtime: Weak<Runtime>) -> Self {
        Self {
            store,
            runtime,
            state: Mutex::default(),
            wake: Arc::new(Notify::new()),
        }
    }

    /// Starts the loop that loads and fires timers.
    pub(super) fn start(&self) {
        let runtime = self.runtime.clone();
        let wake = self.wake.clone();
        tokio::spawn(async move {
            while let Some(rt) = runtime.upgrade() {
                let pause = rt.timers.tick().await;
                drop(rt);
                // Arming a timer that falls before the planned wake-up cuts the pause short.
                let _ = tokio::time::timeout(pause, wake.notified()).await;
            }
        });
    }

    /// A timer was committed: hold it in memory if it falls within the loaded window (later
    /// ones are found by the next scan).
    pub(super) fn arm(&self, row: TimerRow) {
        let mut state = lock(&self.state);
        if row.fire_at <= state.loaded_until && state.armed.insert((row.execution, row.op)) {
            state
                .heap
                .push(Reverse((row.fire_at, row.execution, row.op)));
            drop(state);
            self.wake.notify_one();
        }
    }

    /// Timers became this node's (taken over): load the window again.
    pub(super) fn rescan(&self) {
        lock(&self.state).loaded_until = 0;
        self.wake.notify_one();
    }

    pub(super) fn disarm(&self, execution: ExecutionId, op: OpId) {
        lock(&self.state).armed.remove(&(execution, op));
    }

    /// Loads the coming window if needed, fires what is due; returns how long to sleep.
    async fn tick(&self) -> Duration {
        let now = wall_clock_ms();
        let needs_scan = lock(&self.state).loaded_until < now + HORIZON_MS / 2;
        if needs_scan {
            self.scan(now).await;
        }
        for (execution, op) in self.pop_due(now) {
            self.fire(execution, op);
        }
        let state = lock(&self.state);
        let next_scan = state.loaded_until - HORIZON_MS / 2;
        let next_fire = state
            .heap
            .peek()
            .map_or(Millis::MAX, |Reverse((at, _, _))| *at);
        let wait = next_scan
            .min(next_fire)
            .saturating_sub(wall_clock_ms())
            .clamp(1, HORIZON_MS);
        Duration::from_millis(u64::try_from(wait).unwrap_or(1))
    }

    async fn scan(&self, now: Millis) {
        let until = now + HORIZON_MS;
        let rows = match self.store.due_timers(until, SCAN_LIMIT).await {
            Ok(rows) => rows,
            Err(e) => {
                tracing::error!(error = %e, "loading due timers failed; retrying");
                return;
            }
        };
        let mut state = lock(&self.state);
        state.loaded_until = match rows.last() {
            Some(last) if rows.len() == SCAN_LIMIT => last.fire_at,
            _ => until,
        };
        for row in rows {
            if state.armed.insert((row.execution, row.op)) {
                state
                    .heap
                    .push(Reverse((row.fire_at, row.execution, row.op)));
            }
        }
    }

    fn pop_due(&self, now: Millis) -> Vec<(ExecutionId, OpId)> {
        let mut state = lock(&self.state);
        let mut due = Vec::new();
        while let Some(Reverse((at, execution, op))) = state.heap.peek().copied() {
            if at > now {
                break;
            }
            state.heap.pop();
            if state.armed.remove(&(execution, op)) {
                due.push((execution, op));
            }
        }
        due
    }

    /// Fires a timer, trying again while the store fails (the next scan would find it again,
    /// but only up to half a horizon later).
    fn fire(&self, execution: ExecutionId, op: OpId) {
        let runtime = self.runtime.clone();
        tokio::spawn(async move {
            let mut backoff = Backoff::default();
            loop {
                let Some(runtime) = runtime.upgrade() else {
                    return;
                };
                // A stale timer (stopped execution, completed task) is rejected by the engine.
                match runtime.submit(execution, Input::TimerFired { op }).await {
                    Ok(_) => return,
                    Err(e) if e.is_transient() => {
                        if backoff.attempts() == 0 {
                            tracing::warn!(execution = %execution, error = %e, "firing a timer failed; trying again until the store answers");
                        }
                    }
                    Err(e) => {
                        return tracing::error!(execution = %execution, error = %e, "firing a timer failed");
                    }
                }
                drop(runtime);
                backoff.pause().await;
            }
        });
    }
}
