//! The intrinsic functions' documented examples (`data/asl/intrinsics.json`, each with its
//! source), run as Payload Templates the way a state's `Parameters` runs them.

use serde_json::{Value, json};
use sluice_ir::expr::Entropy;
use sluice_ir::expr::asl::{PayloadTemplate, Scope};

fn cases() -> Vec<Value> {
    let text = include_str!("data/asl/intrinsics.json");
    let data: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("intrinsics.json: {e}"));
    data["cases"].as_array().cloned().unwrap_or_default()
}

#[test]
fn every_documented_example_gives_its_documented_result() {
    let cases = cases();
    assert!(cases.len() >= 20, "the examples file lost its cases");
    for case in &cases {
        let field = case["field"].as_str().unwrap_or_default();
        let source = case["source"].as_str().unwrap_or_default();
        let template = PayloadTemplate::compile(&json!({ field: case["call"] }))
            .unwrap_or_else(|e| panic!("{source}: {e}"));
        let entropy = Entropy::new(7);
        let scope = Scope::new(&case["input"]).with_entropy(&entropy);
        let payload = template
            .apply(&scope)
            .unwrap_or_else(|e| panic!("{source}: {e}"));
        let value = &payload[field.trim_end_matches(".$")];
        if let Some(expected) = case.get("result") {
            assert_eq!(value, expected, "{source}");
        } else if let Some(range) = case["between"].as_array() {
            let (low, high) = (range[0].as_i64(), range[1].as_i64());
            let got = value.as_i64();
            assert!(
                got >= low && got < high,
                "{source}: {value} is not in [{low:?}, {high:?})"
            );
        } else if case["uuid_v4"] == json!(true) {
            let version = value
                .as_str()
                .and_then(|s| uuid::Uuid::parse_str(s).ok())
                .map(|u| u.get_version_num());
            assert_eq!(version, Some(4), "{source}: {value}");
        } else {
            panic!("{source}: the case says nothing to check");
        }
    }
}
