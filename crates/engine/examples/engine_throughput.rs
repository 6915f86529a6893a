//! Prints the engine's throughput on the bench cases as plain numbers, easy to quote:
//! `cargo run --release -p sluice-engine --example engine_throughput [NAME-PREFIX] [--runs N]`.
//!
//! `--runs N` runs each case N times instead of for two seconds, so that an instruction
//! count (`valgrind --tool=callgrind --toggle-collect='*Case*run*'`) covers a known number of
//! runs: wall-clock figures on a shared machine move with its load, instruction counts do not.

#[path = "../benches/cases/mod.rs"]
mod cases;

use std::hint::black_box;
use std::time::{Duration, Instant};

/// How long each case runs; enough for a stable mean on a quiet machine.
const MEASURE: Duration = Duration::from_secs(2);

fn main() {
    let mut filter = String::new();
    let mut fixed_runs = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                let n = args.next().and_then(|n| n.parse::<u64>().ok());
                fixed_runs = Some(n.expect("--runs takes a number of runs"));
            }
            _ => filter = arg,
        }
    }
    for case in cases::all()
        .into_iter()
        .filter(|c| c.name.starts_with(&filter))
    {
        // Warm-up: caches, allocator.
        black_box(case.run());
        let start = Instant::now();
        let mut runs = 0u64;
        while fixed_runs.map_or(start.elapsed() < MEASURE, |n| runs < n) {
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
