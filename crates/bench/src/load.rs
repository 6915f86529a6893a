//! The load generator: one operation run by N workers, each run timed.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// What one phase measured.
pub(crate) struct Phase {
    pub(crate) latencies: Vec<Duration>,
    pub(crate) failures: usize,
    pub(crate) first_error: Option<String>,
    pub(crate) wall: Duration,
}

/// Runs `op(0)`, `op(1)`, … with `concurrency` workers until `count` operations ran or `limit`
/// elapsed, timing each.
pub(crate) async fn drive<F, Fut>(concurrency: usize, count: usize, limit: Duration, op: F) -> Phase
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let began = Instant::now();
    let deadline = began + limit;
    let next = Arc::new(AtomicUsize::new(0));
    let op = Arc::new(op);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let next = next.clone();
            let op = op.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0;
                let mut first_error = None;
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let started = Instant::now();
                    match op(i).await {
                        Ok(()) => latencies.push(started.elapsed()),
                        Err(error) => {
                            failures += 1;
                            first_error.get_or_insert_with(|| format!("{error:#}"));
                        }
                    }
                }
                (latencies, failures, first_error)
            })
        })
        .collect();
    let mut phase = Phase {
        latencies: Vec::new(),
        failures: 0,
        first_error: None,
        wall: Duration::ZERO,
    };
    for worker in workers {
        match worker.await {
            Ok((latencies, failures, first_error)) => {
                phase.latencies.extend(latencies);
                phase.failures += failures;
                if phase.first_error.is_none() {
                    phase.first_error = first_error;
                }
            }
            Err(error) => {
                phase.failures += 1;
                phase.first_error.get_or_insert_with(|| error.to_string());
            }
        }
    }
    phase.wall = began.elapsed();
    phase.latencies.sort_unstable();
    phase
}
