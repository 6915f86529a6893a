//! The ASL expression layer's hot paths, compiled once and applied per evaluation as the
//! engine does per state: a Pass state's `Parameters` + `ResultPath`, an intrinsic call, a
//! full JSONPath query and a JSONata `Output`.
//!
//! ```text
//! cargo bench -p sluice-ir --bench asl
//! ```

use std::hint::black_box;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};
use sluice_ir::expr::Entropy;
use sluice_ir::expr::asl::{JsonataTemplate, Path, PayloadTemplate, ResultPath, Scope, SelectPath};

fn input() -> Value {
    json!({
        "order": {"id": "o-17", "customer": {"name": "Ada", "tier": "gold"}, "total": 42.5},
        "items": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 3}, {"sku": "c", "qty": 2}],
        "attempt": 1
    })
}

fn compile(template: Value) -> PayloadTemplate {
    PayloadTemplate::compile(&template).unwrap_or_else(|e| panic!("{e}"))
}

/// One Pass state: `InputPath` `$`, `Parameters` with two paths and a constant, `ResultPath`
/// into the input.
fn pass_state(c: &mut Criterion) {
    let input = input();
    let input_path = SelectPath::Whole;
    let parameters = compile(json!({
        "id.$": "$.order.id",
        "name.$": "$.order.customer.name",
        "source": "bench"
    }));
    let result_path = ResultPath::parse("$.prepared").unwrap_or_else(|e| panic!("{e}"));
    // The engine owns a state's input and moves it into the output, so the copy made here
    // for each iteration is set up outside the timing.
    c.bench_function("pass: InputPath + Parameters + ResultPath", |b| {
        b.iter_batched(
            || input.clone(),
            |raw| {
                let scope = Scope::new(&raw);
                let effective = input_path.apply(&scope).unwrap_or_else(|e| panic!("{e}"));
                let result = parameters
                    .apply(&Scope::new(&effective))
                    .unwrap_or_else(|e| panic!("{e}"));
                drop(scope);
                black_box(result_path.apply(raw, result))
            },
            BatchSize::SmallInput,
        )
    });
    c.bench_function("reference path select", |b| {
        let path = Path::parse("$.order.customer.tier").unwrap_or_else(|e| panic!("{e}"));
        let scope = Scope::new(&input);
        b.iter(|| black_box(path.select(&scope).is_some()))
    });
}

fn intrinsics(c: &mut Criterion) {
    let input = input();
    let format = compile(json!({
        "label.$": "States.Format('{} has {} items', $.order.id, States.ArrayLength($.items))"
    }));
    c.bench_function("intrinsic: Format(ArrayLength)", |b| {
        b.iter(|| black_box(format.apply(&Scope::new(&input))))
    });
    let uuid = compile(json!({"id.$": "States.UUID()", "n.$": "States.MathRandom(1, 100)"}));
    c.bench_function("intrinsic: UUID + MathRandom", |b| {
        let entropy = Entropy::new(9);
        b.iter(|| black_box(uuid.apply(&Scope::new(&input).with_entropy(&entropy))))
    });
}

fn queries(c: &mut Criterion) {
    let input = input();
    let filter = compile(json!({"big.$": "$.items[?(@.qty > 1)].sku"}));
    c.bench_function("full JSONPath filter", |b| {
        b.iter(|| black_box(filter.apply(&Scope::new(&input))))
    });
    let output = JsonataTemplate::compile(
        "Output",
        &json!({"id": "{% $states.input.order.id %}", "qty": "{% $sum($states.input.items.qty) %}"}),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    c.bench_function("JSONata Output (two expressions)", |b| {
        b.iter(|| black_box(output.evaluate(&Scope::new(&input))))
    });
}

criterion_group!(benches, pass_state, intrinsics, queries);
criterion_main!(benches);
