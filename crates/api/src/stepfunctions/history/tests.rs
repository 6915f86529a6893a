use sluice_ir::StateName;

use super::*;

fn event(
    id: u64,
    kind: EventType,
    step: Option<&str>,
    schedule: Option<u64>,
    detail: Value,
) -> HistoryEvent {
    HistoryEvent {
        id: EventId(id),
        schedule_id: schedule.map(EventId),
        step: step.map(StateName::new),
        time: 1_000 * id as i64,
        kind,
        detail: detail.into(),
    }
}

/// The events AWS would show for `history` of a run of `definition`, with all data.
fn written(definition: &str, history: &[HistoryEvent]) -> Vec<Value> {
    let context = Context {
        definition,
        role_arn: None,
        region: "us-east-1",
        account: "1",
        machine: "m",
        include_data: true,
    };
    events(history, &context)
}

const DEFINITION: &str = r#"{"StartAt": "Call", "States": {
    "Call": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "Next": "Wait"},
    "Wait": {"Type": "Wait", "Seconds": 60, "End": true}}}"#;

#[test]
fn a_lambda_task_a_wait_and_a_stop_are_written_as_aws_writes_them() {
    let history = [
        event(
            1,
            EventType::ExecutionStarted,
            None,
            None,
            json!({"input": {"a": 1}}),
        ),
        event(
            2,
            EventType::StepEntered,
            Some("Call"),
            None,
            json!({"input": {"a": 1}}),
        ),
        event(
            3,
            EventType::TaskScheduled,
            Some("Call"),
            None,
            json!({"resource": "arn:aws:lambda:us-east-1:1:function:f", "input": {"a": 1}}),
        ),
        event(4, EventType::TaskStarted, Some("Call"), Some(3), json!({})),
        event(
            5,
            EventType::TaskSucceeded,
            Some("Call"),
            Some(3),
            json!({"output": {"b": 2}}),
        ),
        event(
            6,
            EventType::StepExited,
            Some("Call"),
            Some(2),
            json!({"output": {"b": 2}}),
        ),
        event(
            7,
            EventType::StepEntered,
            Some("Wait"),
            None,
            json!({"input": {"b": 2}}),
        ),
        event(
            8,
            EventType::ExecutionStopped,
            None,
            None,
            json!({"error": "Halt", "cause": "by hand"}),
        ),
    ];
    let context = Context {
        definition: DEFINITION,
        role_arn: Some("arn:aws:iam::1:role/r"),
        region: "us-east-1",
        account: "1",
        machine: "m",
        include_data: true,
    };
    let events = events(&history, &context);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionStarted",
            "LambdaFunctionSucceeded",
            "TaskStateExited",
            "WaitStateEntered",
            "ExecutionAborted",
        ]
    );
    let previous: Vec<u64> = events
        .iter()
        .map(|e| e["previousEventId"].as_u64().unwrap())
        .collect();
    assert_eq!(previous, [0, 0, 2, 3, 4, 5, 6, 7]);
    assert_eq!(
        events[2]["lambdaFunctionScheduledEventDetails"]["input"],
        json!(r#"{"a":1}"#)
    );
    assert_eq!(
        events[7]["executionAbortedEventDetails"],
        json!({"error": "Halt", "cause": "by hand"})
    );
    assert!(events[3].get("lambdaFunctionStartedEventDetails").is_none());
}

#[test]
fn a_map_starts_after_it_is_entered_and_succeeds_before_it_is_exited() {
    let definition = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}"#;
    let history = [
        event(
            1,
            EventType::ExecutionStarted,
            None,
            None,
            json!({"input": [1]}),
        ),
        event(
            2,
            EventType::StepEntered,
            Some("M"),
            None,
            json!({"input": [1]}),
        ),
        event(
            3,
            EventType::IterationEntered,
            Some("M"),
            None,
            json!({"index": 0}),
        ),
        event(
            4,
            EventType::StepEntered,
            Some("P"),
            None,
            json!({"input": 1}),
        ),
        event(
            5,
            EventType::StepExited,
            Some("P"),
            Some(4),
            json!({"output": 1}),
        ),
        event(
            6,
            EventType::IterationExited,
            Some("M"),
            Some(3),
            json!({"index": 0}),
        ),
        event(
            7,
            EventType::StepExited,
            Some("M"),
            Some(2),
            json!({"output": [1]}),
        ),
        event(
            8,
            EventType::ExecutionSucceeded,
            None,
            None,
            json!({"output": [1]}),
        ),
    ];
    let events = written(definition, &history);
    assert_eq!(
        events[2]["mapStateStartedEventDetails"],
        json!({"length": 1})
    );
    let types: Vec<Value> = events.iter().map(|e| e["type"].clone()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "PassStateEntered",
            "PassStateExited",
            "MapIterationSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded",
        ]
    );
}

#[test]
fn a_map_whose_items_fail_to_evaluate_never_starts() {
    let definition = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}"#;
    let error = json!({"error": "States.QueryEvaluationError", "cause": "not an array"});
    let history = [
        event(
            1,
            EventType::ExecutionStarted,
            None,
            None,
            json!({"input": 1}),
        ),
        event(
            2,
            EventType::StepEntered,
            Some("M"),
            None,
            json!({"input": 1}),
        ),
        event(3, EventType::StepFailed, Some("M"), Some(2), error.clone()),
        event(4, EventType::ExecutionFailed, None, None, error),
    ];
    let events = written(definition, &history);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "EvaluationFailed",
            "MapStateFailed",
            "ExecutionFailed"
        ]
    );
    assert_eq!(events[2]["evaluationFailedEventDetails"]["state"], "M");
}

/// A Map whose tolerated failures cannot be read starts and fails the execution with no
/// `MapStateFailed` (recorded: conformance `map_state_tolerated_failure_count_path@-1`).
#[test]
fn a_map_failing_before_its_first_iteration_writes_no_failure_of_its_own() {
    let definition = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ToleratedFailureCountPath": "$.n",
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}"#;
    let error =
        json!({"error": "States.Runtime", "cause": "ToleratedFailureCount cannot be negative."});
    let history = [
        event(1, EventType::ExecutionStarted, None, None, json!({})),
        event(2, EventType::StepEntered, Some("M"), None, json!({})),
        event(3, EventType::StepFailed, Some("M"), Some(2), error.clone()),
        event(4, EventType::ExecutionFailed, None, None, error.clone()),
    ];
    let events = written(definition, &history);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "ExecutionFailed"
        ]
    );
    assert_eq!(events[3]["executionFailedEventDetails"], error);
}

/// A distributed Map's run: started with its ARN (the Map's `Label` in it), then
/// succeeded, failed with the Map's error, or aborted with the execution.
#[test]
fn a_map_run_starts_with_its_arn_and_ends_with_its_map_or_the_execution() {
    let definition = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "Label": "Ship",
        "End": true, "ItemProcessor": {"ProcessorConfig": {"Mode": "DISTRIBUTED"},
        "StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}"#;
    let run = json!({"output": {"MapRunName": "0af1"}});
    let start = [
        event(1, EventType::ExecutionStarted, None, None, json!({})),
        event(
            2,
            EventType::StepEntered,
            Some("M"),
            None,
            json!({"input": [1]}),
        ),
        event(3, EventType::MapRunStarted, None, Some(2), run),
    ];
    let types = |end: &[HistoryEvent]| {
        let history: Vec<HistoryEvent> = start.iter().chain(end).cloned().collect();
        let events = written(definition, &history);
        let arn = events[3]["mapRunStartedEventDetails"]["mapRunArn"].clone();
        let types: Vec<String> = events
            .iter()
            .map(|e| e["type"].as_str().unwrap().to_string())
            .collect();
        (arn, types, events)
    };
    let error = json!({"error": "States.ExceedToleratedFailureThreshold", "cause": "c"});
    let (arn, succeeded, _) = types(&[
        event(
            4,
            EventType::StepExited,
            Some("M"),
            None,
            json!({"output": [1]}),
        ),
        event(
            5,
            EventType::ExecutionSucceeded,
            None,
            None,
            json!({"output": [1]}),
        ),
    ]);
    assert_eq!(arn, "arn:aws:states:us-east-1:1:mapRun:m/Ship:0af1");
    assert_eq!(
        succeeded[3..],
        [
            "MapRunStarted",
            "MapRunSucceeded",
            "MapStateSucceeded",
            "MapStateExited",
            "ExecutionSucceeded"
        ]
    );
    let (_, failed, events) = types(&[
        event(4, EventType::StepFailed, Some("M"), Some(2), error.clone()),
        event(5, EventType::ExecutionFailed, None, None, error.clone()),
    ]);
    assert_eq!(
        failed[3..],
        [
            "MapRunStarted",
            "MapRunFailed",
            "MapStateFailed",
            "ExecutionFailed"
        ]
    );
    assert_eq!(events[4]["mapRunFailedEventDetails"], error);
    let (_, stopped, _) = types(&[event(4, EventType::ExecutionStopped, None, None, json!({}))]);
    assert_eq!(
        stopped[3..],
        ["MapRunStarted", "MapRunAborted", "ExecutionAborted"]
    );
}

#[test]
fn the_iteration_its_map_fails_after_is_the_failed_one() {
    let definition = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}}}}"#;
    let error = json!({"error": "E", "cause": ""});
    let history = [
        event(
            1,
            EventType::StepEntered,
            Some("M"),
            None,
            json!({"input": [1]}),
        ),
        event(
            2,
            EventType::IterationEntered,
            Some("M"),
            None,
            json!({"index": 0}),
        ),
        event(
            3,
            EventType::StepEntered,
            Some("F"),
            None,
            json!({"input": 1}),
        ),
        event(4, EventType::StepFailed, Some("F"), Some(3), error.clone()),
        event(
            5,
            EventType::IterationExited,
            Some("M"),
            None,
            json!({"index": 0}),
        ),
        event(6, EventType::StepFailed, Some("M"), Some(1), error),
    ];
    let events = written(definition, &history);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "FailStateEntered",
            "MapIterationFailed",
            "MapStateFailed"
        ]
    );
    assert_eq!(
        events[4]["mapIterationFailedEventDetails"],
        json!({"name": "M", "index": 0})
    );
}

#[test]
fn a_caught_failure_exits_its_state() {
    let definition = r#"{"StartAt": "T", "States": {
        "T": {"Type": "Task", "Resource": "arn:aws:lambda:r:1:function:f", "Next": "P",
              "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "P"}]},
        "P": {"Type": "Pass", "End": true}}}"#;
    let error = json!({"error": "E", "cause": "c"});
    let history = [
        event(
            1,
            EventType::StepEntered,
            Some("T"),
            None,
            json!({"input": {}}),
        ),
        event(
            2,
            EventType::TaskScheduled,
            Some("T"),
            None,
            json!({"resource": "arn:aws:lambda:r:1:function:f", "input": {}}),
        ),
        event(3, EventType::TaskFailed, Some("T"), Some(2), error.clone()),
        event(4, EventType::StepFailed, Some("T"), Some(1), error.clone()),
        event(
            5,
            EventType::StepEntered,
            Some("P"),
            None,
            json!({"input": error}),
        ),
    ];
    let events = written(definition, &history);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "TaskStateEntered",
            "LambdaFunctionScheduled",
            "LambdaFunctionFailed",
            "TaskStateExited",
            "PassStateEntered"
        ]
    );
    let exited = &events[3]["stateExitedEventDetails"];
    assert_eq!(exited["output"], json!(r#"{"error":"E","cause":"c"}"#));
}

#[test]
fn a_service_integration_is_a_task_with_its_resource_type() {
    let history = [
        event(
            1,
            EventType::TaskScheduled,
            Some("Invoke"),
            None,
            json!({"resource": "arn:aws:states:::lambda:invoke", "input": {}}),
        ),
        event(
            2,
            EventType::TaskFailed,
            Some("Invoke"),
            Some(1),
            json!({"error": "E", "cause": "c"}),
        ),
        event(
            3,
            EventType::StepFailed,
            Some("Invoke"),
            Some(1),
            json!({"error": "E", "cause": "c"}),
        ),
    ];
    let context = Context {
        definition: "not json",
        role_arn: None,
        region: "eu-west-1",
        account: "1",
        machine: "m",
        include_data: false,
    };
    let events = events(&history, &context);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["type"], "TaskScheduled");
    assert_eq!(
        events[0]["taskScheduledEventDetails"],
        json!({"resourceType": "lambda", "resource": "invoke", "region": "eu-west-1"})
    );
    assert_eq!(events[1]["type"], "TaskFailed");
    assert_eq!(
        events[1]["taskFailedEventDetails"],
        json!({"resourceType": "lambda", "resource": "invoke", "error": "E", "cause": "c"})
    );
}

/// A retried Map starts again for each attempt, each failed iteration written as failed and
/// the Map's failure once (recorded: conformance `scenarios.base_scenarios.map_state_retry`);
/// a retried Parallel starts again the same way (`parallel_state_retry`).
#[test]
fn a_retried_fan_out_starts_again_for_each_attempt() {
    let error = json!({"error": "E", "cause": "c"});
    let attempts = |state: &str, entered: EventType, exited: EventType| {
        let mut history = vec![
            event(1, EventType::ExecutionStarted, None, None, json!({})),
            event(2, EventType::StepEntered, Some(state), None, json!({})),
        ];
        for _ in 0..2 {
            let id = history.len() as u64 + 1;
            history.extend([
                event(id, entered, Some(state), None, json!({"index": 0})),
                event(id + 1, EventType::StepEntered, Some("F"), None, json!({})),
                event(
                    id + 2,
                    EventType::StepFailed,
                    Some("F"),
                    Some(id + 1),
                    error.clone(),
                ),
                event(id + 3, exited, Some(state), None, json!({"index": 0})),
            ]);
        }
        let id = history.len() as u64 + 1;
        history.extend([
            event(
                id,
                EventType::StepFailed,
                Some(state),
                Some(2),
                error.clone(),
            ),
            event(
                id + 1,
                EventType::ExecutionFailed,
                None,
                None,
                error.clone(),
            ),
        ]);
        history
    };
    let retry = r#""Retry": [{"ErrorEquals": ["E"], "MaxAttempts": 1}], "End": true"#;
    let fail = r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "Error": "E"}}}"#;
    let map = format!(
        r#"{{"StartAt": "M", "States": {{"M": {{"Type": "Map", {retry}, "ItemProcessor": {fail}}}}}}}"#
    );
    let events = written(
        &map,
        &attempts("M", EventType::IterationEntered, EventType::IterationExited),
    );
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "FailStateEntered",
            "MapIterationFailed",
            "MapStateStarted",
            "MapIterationStarted",
            "FailStateEntered",
            "MapIterationFailed",
            "MapStateFailed",
            "ExecutionFailed"
        ]
    );
    assert_eq!(events[6]["mapStateStartedEventDetails"]["length"], 1);
    let parallel = format!(
        r#"{{"StartAt": "P", "States": {{"P": {{"Type": "Parallel", {retry}, "Branches": [{fail}]}}}}}}"#
    );
    let events = written(
        &parallel,
        &attempts("P", EventType::BranchEntered, EventType::BranchExited),
    );
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "ParallelStateEntered",
            "ParallelStateStarted",
            "FailStateEntered",
            "ParallelStateStarted",
            "FailStateEntered",
            "ParallelStateFailed",
            "ExecutionFailed"
        ]
    );
}

/// A Map failing with the evaluation error of a state inside it writes `MapStateFailed`, not
/// an `EvaluationFailed` of its own (recorded: conformance
/// `states_variables.error_output.map_catch_error@MAP_CATCH_ERROR_OUTPUT_WITH_RETRY`).
#[test]
fn a_map_passing_on_an_iterations_evaluation_error_fails_as_a_map() {
    let definition = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}}"#;
    let error = json!({"error": "States.QueryEvaluationError", "cause": "in P"});
    let history = [
        event(1, EventType::ExecutionStarted, None, None, json!({})),
        event(2, EventType::StepEntered, Some("M"), None, json!({})),
        event(
            3,
            EventType::IterationEntered,
            Some("M"),
            None,
            json!({"index": 0}),
        ),
        event(4, EventType::StepEntered, Some("P"), None, json!({})),
        event(5, EventType::StepFailed, Some("P"), Some(4), error.clone()),
        event(
            6,
            EventType::IterationExited,
            Some("M"),
            None,
            json!({"index": 0}),
        ),
        event(7, EventType::StepFailed, Some("M"), Some(2), error.clone()),
        event(8, EventType::ExecutionFailed, None, None, error),
    ];
    let events = written(definition, &history);
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "MapStateEntered",
            "MapStateStarted",
            "MapIterationStarted",
            "PassStateEntered",
            "EvaluationFailed",
            "MapIterationFailed",
            "MapStateFailed",
            "ExecutionFailed"
        ]
    );
}
