//! The results: one table row per phase, printed as it ends, and the summary at the end.

use std::time::Duration;

use crate::load::Phase;
use crate::measure::{Resources, Usage};

/// One line of the results table.
pub(crate) struct Row {
    scenario: String,
    phase: &'static str,
    concurrency: usize,
    ok: usize,
    failures: usize,
    first_error: Option<String>,
    per_second: f64,
    p50: Duration,
    p90: Duration,
    p99: Duration,
    steps_estimated: f64,
    steps_metric: Option<f64>,
    server_cores: Option<f64>,
    bench_cores: Option<f64>,
}

impl Row {
    pub(crate) const HEADER: &str = "scenario  phase      conc       ok  err      ops/s   p50 ms   p90 ms   p99 ms  steps/s est  steps/s metric  srv cpu  bch cpu";

    pub(crate) fn new(
        scenario: &str,
        phase_name: &'static str,
        concurrency: usize,
        phase: Phase,
        steps_per_op: u64,
        usage: Usage,
    ) -> Row {
        let secs = phase.wall.as_secs_f64().max(f64::EPSILON);
        let ok = phase.latencies.len();
        let row = Row {
            scenario: scenario.to_string(),
            phase: phase_name,
            concurrency,
            ok,
            failures: phase.failures,
            first_error: phase.first_error,
            per_second: ok as f64 / secs,
            p50: percentile(&phase.latencies, 0.50),
            p90: percentile(&phase.latencies, 0.90),
            p99: percentile(&phase.latencies, 0.99),
            steps_estimated: (ok as u64 * steps_per_op) as f64 / secs,
            steps_metric: usage.steps.map(|s| s as f64 / secs),
            server_cores: usage.server_cpu.map(|c| c.as_secs_f64() / secs),
            bench_cores: usage.bench_cpu.map(|c| c.as_secs_f64() / secs),
        };
        println!("{row}");
        if let Some(error) = &row.first_error {
            println!("    first error: {error}");
        }
        row
    }
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let show = |value: Option<f64>, digits: usize| {
            value.map_or_else(|| "n/a".to_string(), |v| format!("{v:.digits$}"))
        };
        write!(
            f,
            "{:<9} {:<9} {:>5} {:>8} {:>4} {:>10.1} {:>8.2} {:>8.2} {:>8.2} {:>12.0} {:>15} {:>8} {:>8}",
            self.scenario,
            self.phase,
            self.concurrency,
            self.ok,
            self.failures,
            self.per_second,
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            self.steps_estimated,
            show(self.steps_metric, 0),
            show(self.server_cores, 2),
            show(self.bench_cores, 2)
        )
    }
}

/// The value at quantile `q` of sorted `values` (nearest rank).
fn percentile(values: &[Duration], q: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

pub(crate) fn print_summary(rows: &[Row], resources: &[Resources]) {
    println!();
    println!("== results ==");
    println!("{}", Row::HEADER);
    for row in rows {
        println!("{row}");
    }
    println!();
    println!(
        "ops: executions run start to end (start→end), StartExecution calls (start) or \
         StopExecution calls (stop); latencies are per op."
    );
    println!(
        "durable step = one committed engine step (one store transaction). steps/s est = \
         (starts + task completions + timer firings + stops) / wall time: 1 per pass1/pass10 \
         execution, 11 per http10 execution, 1 per start, 1 per stop. steps/s metric = the \
         server's sluice_steps_committed_total over the phase / wall time."
    );
    println!(
        "srv cpu / bch cpu: CPU time (user + system) the spawned server / the bench used during \
         the phase, in cores (1.00 = one core busy the whole phase)."
    );
    println!();
    println!("== server resources ==");
    let mib = |b: Option<u64>| {
        b.map_or_else(
            || "n/a".to_string(),
            |b| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
        )
    };
    for r in resources {
        println!(
            "{:<24} RSS {:<14} peak RSS {:<14} database {}",
            r.when,
            mib(r.rss_bytes),
            mib(r.peak_rss_bytes),
            mib(r.data_bytes)
        );
    }
    if resources.iter().all(|r| r.rss_bytes.is_none()) {
        println!("(RSS, database size and server CPU need a server the bench spawned)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 0.50), Duration::from_millis(50));
        assert_eq!(percentile(&values, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }
}
