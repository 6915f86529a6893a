//! Throughput of the pure engine, in state transitions (states entered) per second.
//!
//! `cargo bench -p sluice-engine --bench engine -- --warm-up-time 1 --measurement-time 3`;
//! criterion reports `thrpt` in elements/s, one element being one state entered.
//! `cargo run --release -p sluice-engine --example engine_throughput` prints the same cases
//! as plain "transitions/s" lines.

mod cases;

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn transitions(c: &mut Criterion) {
    let mut group = c.benchmark_group("engine");
    for case in cases::all() {
        group.throughput(Throughput::Elements(case.transitions));
        group.bench_function(case.name, |b| b.iter(|| black_box(case.run())));
    }
    group.finish();
}

criterion_group!(benches, transitions);
criterion_main!(benches);
