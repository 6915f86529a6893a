//! Each file in `tests/data/cloudflow/invalid/` is rejected with the problems listed in its
//! `.expected` sibling: one line per problem, `line:column: message fragment`, in order.

mod support;

use std::path::Path;

use sluice_lang::cloudflow::parse;

#[test]
fn invalid_definitions_report_located_problems() {
    let checked = support::check_invalid_dir("cloudflow/invalid", "yaml", parse);
    assert!(checked >= 20, "only {checked} invalid examples found");
}

#[test]
fn display_names_line_column_and_state() {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/data/cloudflow/invalid/unknown-next.yaml"),
    )
    .unwrap();
    let error = parse(&text).unwrap_err();
    assert_eq!(
        error.problems[0].to_string(),
        "line 8, column 11, state \"Pass1\": unknown Next \"Pas2\" (did you mean \"Pass2\"?); states in this scope: Pass1, Pass2, Pass3"
    );
}

#[test]
fn garbage_is_refused() {
    support::refuses_garbage(parse);
}
