//! Prints the engine's throughput on the bench cases as plain numbers, easy to quote:
//! `cargo run --release -p sluice-engine --example engine_throughput [NAME-FILTER]`.

#[path = "../benches/cases/mod.rs"]
mod cases;

use std::hint::black_box;
use std::time::{Duration, Instant};

/// How long each case runs; enough for a stable mean on a quiet machine.
const MEASURE: Duration = Duration::from_secs(2);

fn main() {
    let filter = std::env::args().nth(1).unwrap_or_default();
    for case in cases::all()
        .into_iter()
        .filter(|c| c.name.contains(&filter))
    {
        // Warm-up: caches, allocator.
        black_box(case.run());
        let start = Instant::now();
        let mut runs = 0u64;
        while start.elapsed() < MEASURE {
            black_box(case.run());
            runs += 1;
        }
        let secs = start.elapsed().as_secs_f64();
        let per_second = (runs * case.transitions) as f64 / secs;
        println!(
            "{:<18} {:>7} transitions/run  {:>9.1} µs/run  {:>12.0} transitions/s",
            case.name,
            case.transitions,
            secs * 1e6 / runs as f64,
            per_second
        );
    }
}
