//! FunctionGraph v1.0 definitions: broken ones report located problems (the valid forms run
//! end to end in `tests/e2e/test_cloud_graphs.py`).

mod support;

use sluice_lang::functiongraph::parse_v1;

#[test]
fn broken_definitions_report_located_problems() {
    let checked = support::check_invalid_dir("functiongraph/v1/invalid", "json", parse_v1);
    assert!(checked >= 6, "only {checked} invalid examples found");
}

#[test]
fn garbage_never_panics() {
    support::refuses_garbage(parse_v1);
}
