//! JSONata's own documented examples (`data/jsonata/documented.json`, each with its page of
//! docs.jsonata.org), run through sluice's JSONata module with the page's sample document as
//! the input document.

use serde_json::Value;
use sluice_ir::expr::asl::AslError;
use sluice_ir::expr::asl::{JsonataExpr, QueryProblem, Scope};

#[test]
fn every_documented_example_gives_its_documented_result() {
    let text = include_str!("data/jsonata/documented.json");
    let data: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("documented.json: {e}"));
    let cases = data["cases"].as_array().cloned().unwrap_or_default();
    assert!(cases.len() >= 80, "the examples file lost its cases");
    let mut failures = Vec::new();
    for case in &cases {
        let expr_text = case["expr"].as_str().unwrap_or_default();
        let document = case["document"]
            .as_str()
            .map(|name| data["documents"][name].clone());
        let expr = match JsonataExpr::parse(expr_text) {
            Ok(expr) => expr,
            Err(e) => {
                failures.push(format!("{expr_text}: does not parse: {e}"));
                continue;
            }
        };
        let empty = Value::Null;
        let got = expr.evaluate_document(document.as_ref(), &Scope::new(&empty));
        let ok = match (&got, case.get("result")) {
            (Ok(value), Some(expected)) => value == expected,
            (Err(AslError::Query(failure)), None) => failure.problem == QueryProblem::Undefined,
            _ => false,
        };
        if !ok {
            failures.push(format!(
                "{expr_text} ({}): got {got:?}, documented {}",
                case["source"],
                case.get("result")
                    .map_or("nothing".into(), Value::to_string)
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} differ:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}
