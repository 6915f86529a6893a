use serde_json::json;
use sluice_engine::{EventId, EventType, HistoryEvent};
use sluice_ir::StateName;

use super::*;

/// The example file of AWS's developer guide (its source beside it).
const GUIDE: &str =
    include_str!("../../../../tests/e2e/data/stepfunctions_mocks/MockConfigFile.json");

fn problem(text: &str) -> MockProblem {
    MockConfig::parse(text).expect_err("a bad file")
}

fn at(problem: &MockProblem) -> &str {
    match problem {
        MockProblem::Field { at, .. } => at,
        MockProblem::Syntax { .. } => panic!("a syntax error: {problem}"),
    }
}

#[test]
fn the_guides_file_maps_test_cases_to_answers_by_invocation() {
    let config = MockConfig::parse(GUIDE).expect("the guide's file");
    assert!(config.has_test_case("LambdaSQSIntegration", "HappyPath"));
    assert!(!config.has_test_case("LambdaSQSIntegration", "SadPath"));
    assert!(!config.has_test_case("Other", "HappyPath"));
    assert_eq!(
        config.test_cases("LambdaSQSIntegration"),
        ["HappyPath", "HybridPath", "RetryPath"]
    );
    let retry = config
        .mocked("LambdaSQSIntegration", "RetryPath", "LambdaState")
        .expect("mocked");
    let error = |index| {
        let e = retry.answer(index).expect_err("a throw");
        (e.code.as_str().to_string(), e.detail)
    };
    assert_eq!(
        error(0),
        (
            "Lambda.ResourceNotReadyException".into(),
            "Lambda resource is not ready.".into()
        )
    );
    // "1-2" covers both ends.
    assert_eq!(error(1).0, "Lambda.TimeoutException");
    assert_eq!(error(2).0, "Lambda.TimeoutException");
    assert_eq!(
        retry.answer(3).expect("a return"),
        json!({"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}})
    );
    // Past the last invocation defined, the task fails, saying so.
    assert_eq!(error(4).0, NO_MOCKED_RESPONSE);
    assert!(error(4).1.contains("MockedLambdaRetry"), "{}", error(4).1);
    // HybridPath mocks LambdaState only: SQSState is called.
    assert!(
        config
            .mocked("LambdaSQSIntegration", "HybridPath", "SQSState")
            .is_none()
    );
    assert!(
        config
            .mocked("LambdaSQSIntegration", "HybridPath", "LambdaState")
            .is_some()
    );
}

#[test]
fn syntax_errors_have_a_line_and_column() {
    let found = problem("{\n  \"StateMachines\": {,\n}");
    assert!(
        matches!(found, MockProblem::Syntax { line: 2, .. }),
        "{found}"
    );
}

#[test]
fn unknown_fields_are_refused_where_they_are() {
    let found = problem(r#"{"MockedResponse": {}}"#);
    assert_eq!(at(&found), "MockedResponse");
    assert!(found.to_string().contains("MockedResponses"), "{found}");
    let found = problem(r#"{"MockedResponses": {"R": {"0": {"Returns": 1}}}}"#);
    assert_eq!(at(&found), "MockedResponses.R.\"0\".Returns");
}

#[test]
fn a_test_case_must_name_a_defined_response() {
    let found = problem(
        r#"{"StateMachines": {"M": {"TestCases": {"T": {"S": "Missing"}}}}, "MockedResponses": {}}"#,
    );
    assert_eq!(at(&found), "StateMachines.M.TestCases.T.S");
    assert!(found.to_string().contains("\"Missing\""), "{found}");
    let found = problem(r#"{"StateMachines": {"M": {}}}"#);
    assert_eq!(at(&found), "StateMachines.M.TestCases");
}

#[test]
fn an_answer_is_exactly_one_of_return_and_throw() {
    let neither = problem(r#"{"MockedResponses": {"R": {"0": {}}}}"#);
    assert_eq!(at(&neither), "MockedResponses.R.\"0\"");
    let both = problem(
        r#"{"MockedResponses": {"R": {"0": {"Return": 1, "Throw": {"Error": "E", "Cause": "C"}}}}}"#,
    );
    assert_eq!(at(&both), "MockedResponses.R.\"0\"");
    let no_cause = problem(r#"{"MockedResponses": {"R": {"0": {"Throw": {"Error": "E"}}}}}"#);
    assert_eq!(at(&no_cause), "MockedResponses.R.\"0\".Throw.Cause");
    let not_text =
        problem(r#"{"MockedResponses": {"R": {"0": {"Throw": {"Error": 1, "Cause": "C"}}}}}"#);
    assert_eq!(at(&not_text), "MockedResponses.R.\"0\".Throw.Error");
    // A Return may be any JSON value.
    let config = MockConfig::parse(r#"{"MockedResponses": {"R": {"0": {"Return": null}}}}"#)
        .expect("a null return");
    assert_eq!(
        config.responses["R"].answer(0).expect("a return"),
        json!(null)
    );
}

#[test]
fn invocations_run_from_zero_without_gap_or_overlap() {
    let answer = r#"{"Return": 1}"#;
    let with = |keys: &[&str]| {
        let entries: Vec<String> = keys.iter().map(|k| format!("\"{k}\": {answer}")).collect();
        format!(
            r#"{{"MockedResponses": {{"R": {{{}}}}}}}"#,
            entries.join(", ")
        )
    };
    assert!(MockConfig::parse(&with(&["0", "1-3", "4"])).is_ok());
    let gap = problem(&with(&["0", "2"]));
    assert_eq!(at(&gap), "MockedResponses.R.\"2\"");
    assert!(gap.to_string().contains("1 to 1"), "{gap}");
    let late = problem(&with(&["1"]));
    assert!(late.to_string().contains("0 to 0"), "{late}");
    let overlap = problem(&with(&["0-2", "2-3"]));
    assert_eq!(at(&overlap), "MockedResponses.R.\"2-3\"");
    for bad in ["-1", "1-", "2-1", "a", "1-2-3", " 1", ""] {
        let found = problem(&with(&[bad]));
        assert!(found.to_string().contains("a number"), "{bad:?}: {found}");
    }
    assert!(
        problem(r#"{"MockedResponses": {"R": {}}}"#)
            .to_string()
            .contains("no invocation")
    );
}

#[test]
fn an_invocation_counts_the_states_earlier_tasks() {
    let event = |id, kind, state: &str| HistoryEvent {
        id: EventId(id),
        schedule_id: None,
        step: Some(StateName::new(state)),
        time: 0,
        kind,
        detail: json!({}).into(),
    };
    let history = [
        event(1, EventType::TaskScheduled, "A"),
        event(2, EventType::TaskFailed, "A"),
        event(3, EventType::TaskScheduled, "B"),
        event(4, EventType::TaskScheduled, "A"),
        event(5, EventType::TaskScheduled, "A"),
    ];
    let a = StateName::new("A");
    assert_eq!(invocation_index(&history, &a, EventId(1)), 0);
    assert_eq!(invocation_index(&history, &a, EventId(4)), 1);
    // Later events (another Map iteration's) do not count.
    assert_eq!(invocation_index(&history, &a, EventId(5)), 2);
    assert_eq!(
        invocation_index(&history, &StateName::new("B"), EventId(3)),
        0
    );
}
