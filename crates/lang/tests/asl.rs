//! The ASL front end: detection, every state type compiled, and located problems (line,
//! column, state) for what ValidateStateMachineDefinition refuses.

use sluice_ir::{Dialect, StateKind};
use sluice_lang::{ProblemKind, check, compile, detect};

fn problems(text: &str) -> Vec<String> {
    match compile(Dialect::Asl, text) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(ToString::to_string).collect(),
    }
}

#[test]
fn a_state_machine_is_detected_in_json_and_yaml() {
    let json = r#"{"StartAt": "A", "States": {"A": {"Type": "Succeed"}}}"#;
    assert_eq!(detect(json), Some(Dialect::Asl));
    let yaml = "StartAt: A\nStates:\n  A:\n    Type: Succeed\n";
    assert_eq!(detect(yaml), Some(Dialect::Asl));
    assert!(compile(Dialect::Asl, yaml).is_ok());
}

#[test]
fn every_state_type_compiles() {
    let text = r#"{
  "Comment": "all types", "Version": "1.0", "TimeoutSeconds": 60,
  "StartAt": "P",
  "States": {
    "P": {"Type": "Pass", "Next": "T"},
    "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:f:live",
          "TimeoutSeconds": 10,
          "Retry": [{"ErrorEquals": ["States.Timeout"], "MaxAttempts": 2, "JitterStrategy": "FULL", "MaxDelaySeconds": 5},
                    {"ErrorEquals": ["States.ALL"]}],
          "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "F"}],
          "Next": "C"},
    "C": {"Type": "Choice", "Choices": [{"Variable": "$.x", "IsTimestamp": true, "Next": "W"}], "Default": "Par"},
    "W": {"Type": "Wait", "Timestamp": "2016-03-14T01:59:00Z", "Next": "Par"},
    "Par": {"Type": "Parallel", "Branches": [{"StartAt": "B", "States": {"B": {"Type": "Succeed"}}}], "Next": "M"},
    "M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrencyPath": "$.n",
          "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Pass", "End": true}}}, "Next": "S"},
    "S": {"Type": "Succeed"},
    "F": {"Type": "Fail", "Error": "E", "Cause": "c"}
  }
}"#;
    let flow = compile(Dialect::Asl, text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(flow.timeout_secs, Some(60));
    let kinds: Vec<&str> = flow
        .root()
        .states
        .iter()
        .map(|id| flow.state(*id).kind.type_name())
        .collect();
    assert_eq!(
        kinds,
        [
            "Pass", "Task", "Choice", "Wait", "Parallel", "Map", "Succeed", "Fail"
        ]
    );
    let task = flow.root().states[1];
    let StateKind::Task(task) = &flow.state(task).kind else {
        panic!()
    };
    assert_eq!(task.timeout_secs, Some(10));
    assert!(task.recovery.retry[0].full_jitter);
    // ASL's default BackoffRate is 2.0 (specification, "Retrying after an error").
    assert_eq!(task.recovery.retry[1].backoff_rate, 2.0);
    assert!(flow.states.iter().all(|s| s.asl.is_some()));
}

#[test]
fn problems_are_located() {
    let cases: &[(&str, &str)] = &[
        // An unknown field, with the closest allowed one suggested.
        (
            "{\n \"StartAt\": \"A\",\n \"States\": {\"A\": {\"Type\": \"Pass\", \"Nxt\": \"A\", \"End\": true}}\n}",
            "line 3, column 35, at /States/A: unknown field \"Nxt\" in a Pass state; did you mean \"Next\"?",
        ),
        (
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Pass\", \"Next\": \"B\"}}}",
            "unknown Next \"B\"",
        ),
        (
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Pass\", \"End\": true}, \"Z\": {\"Type\": \"Succeed\"}}}",
            "state \"Z\" is not reachable from StartAt",
        ),
        (
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Map\", \"ItemReader\": {}, \"ItemProcessor\": {\"ProcessorConfig\": {\"Mode\": \"DISTRIBUTED\"}, \"StartAt\": \"I\", \"States\": {\"I\": {\"Type\": \"Succeed\"}}}, \"End\": true}}}",
            "line 1, column 64, at /States/A/ItemReader: an ItemReader requires the field \"Resource\"",
        ),
        (
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Map\", \"ItemReader\": {\"Resource\": \"arn:aws:states:::s3:getObject\", \"ReaderConfig\": {\"InputType\": \"PARQUET\"}, \"Parameters\": {\"Bucket\": \"b\", \"Key\": \"k\"}}, \"ItemProcessor\": {\"ProcessorConfig\": {\"Mode\": \"DISTRIBUTED\"}, \"StartAt\": \"I\", \"States\": {\"I\": {\"Type\": \"Succeed\"}}}, \"End\": true}}}",
            "InputType PARQUET is not supported",
        ),
        (
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Map\", \"ItemReader\": {\"Resource\": \"arn:aws:states:::s3:listObjectsV2\", \"Parameters\": {\"Bucket\": \"b\"}}, \"ItemProcessor\": {\"StartAt\": \"I\", \"States\": {\"I\": {\"Type\": \"Succeed\"}}}, \"End\": true}}}",
            "ItemReader belongs to the DISTRIBUTED Map mode",
        ),
        (
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Map\", \"ResultWriter\": {\"WriterConfig\": {\"OutputType\": \"JSON\"}}, \"ItemProcessor\": {\"ProcessorConfig\": {\"Mode\": \"DISTRIBUTED\"}, \"StartAt\": \"I\", \"States\": {\"I\": {\"Type\": \"Succeed\"}}}, \"End\": true}}}",
            "a ResultWriter without Resource",
        ),
        (
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Map\", \"ItemBatcher\": {\"MaxItemsPerBatchPath\": \"$.n\"}, \"ItemProcessor\": {\"ProcessorConfig\": {\"Mode\": \"DISTRIBUTED\"}, \"StartAt\": \"I\", \"States\": {\"I\": {\"Type\": \"Succeed\"}}}, \"End\": true}}}",
            "an ItemBatcher read from the input",
        ),
        (
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Map\", \"ItemBatcher\": {\"BatchInput\": {\"x\": 1}}, \"ItemProcessor\": {\"ProcessorConfig\": {\"Mode\": \"DISTRIBUTED\"}, \"StartAt\": \"I\", \"States\": {\"I\": {\"Type\": \"Succeed\"}}}, \"End\": true}}}",
            "an ItemBatcher needs MaxItemsPerBatch or MaxInputBytesPerBatch",
        ),
        (
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Task\", \"Resource\": \"arn:aws:states:::dynamodb:putItem\", \"End\": true}}}",
            "the service integration \"dynamodb:putItem\" is not supported",
        ),
        (
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Task\", \"Resource\": \"arn:aws:lambda:r:1:function:f\", \"Retry\": [{\"ErrorEquals\": [\"States.ALL\"]}, {\"ErrorEquals\": [\"X\"]}], \"End\": true}}}",
            "a Retrier with States.ALL must be the last Retrier",
        ),
        (
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Choice\", \"Choices\": [{\"Variable\": \"$.x\", \"NumericEquals\": \"1\", \"Next\": \"A\"}]}}}",
            "expected a value of the type NumericEquals compares",
        ),
        (
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Pass\", \"ResultPath\": \"$$.x\", \"End\": true}}}",
            "may not begin with '$$'",
        ),
        (
            "{\"QueryLanguage\": \"JSONata\", \"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Pass\", \"InputPath\": \"$.x\", \"End\": true}}}",
            "the field \"InputPath\" of a Pass state is JSONPath's only: this state's QueryLanguage is JSONata",
        ),
        (
            "{\"QueryLanguage\": \"JSONata\", \"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Pass\", \"QueryLanguage\": \"JSONPath\", \"End\": true}}}",
            "cannot use JSONPath when the state machine's QueryLanguage is JSONata",
        ),
        (
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Wait\", \"Seconds\": 1, \"Timestamp\": \"2016-03-14T01:59:00Z\", \"End\": true}}}",
            "exactly one of Seconds, SecondsPath, Timestamp and TimestampPath",
        ),
        (
            "{\"StartAt\": \"A\", \"States\": {\"A\": {\"Type\": \"Pass\", \"Assign\": {\"states\": 1}, \"End\": true}}}",
            "invalid variable name \"states\"",
        ),
    ];
    for (text, expected) in cases {
        let found = problems(text);
        assert!(
            found.iter().any(|p| p.contains(expected)),
            "{text}\nexpected a problem containing {expected:?}, got {found:?}"
        );
    }
}

/// Each problem's pointer and kind, the way `ValidateStateMachineDefinition` answers them.
fn pointed(text: &str) -> Vec<(String, ProblemKind)> {
    let problems = match compile(Dialect::Asl, text) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems,
    };
    problems
        .into_iter()
        .map(|p| (p.pointer.map(|p| p.to_string()).unwrap_or_default(), p.kind))
        .collect()
}

/// AWS's `location`: "/States/<StateName>/<FieldName>, for example /States/FailState/ErrorPath"
/// (API reference, ValidateStateMachineDefinitionDiagnostic,
/// https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html);
/// a nested state's from its Parallel branch (`Branches[i]`) or Map processor, a list's item
/// by its index.
#[test]
fn problems_point_at_their_field() {
    use ProblemKind::{MissingEndState, MissingTransitionTarget as Missing, Resource, Schema};
    let pass = r#"{"Type": "Pass", "End": true}"#;
    let cases: Vec<(String, Vec<(&str, ProblemKind)>)> = vec![
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Nowhere"}, "B": {"Type": "Succeed"}}}"#.into(),
            vec![("/States/A/Next", Missing)],
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}}}"#.into(),
            vec![("/States/A/Resource", Resource)],
        ),
        (
            r#"{"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": 5}}}"#.into(),
            vec![("/States/F/ErrorPath", Schema)],
        ),
        // An unknown field is its state's problem.
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Colour": "red", "End": true}}}"#.into(),
            vec![("/States/A", Schema)],
        ),
        // A field of the other query language is its own problem.
        (
            r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$.x", "End": true}}}"#.into(),
            vec![("/States/A/InputPath", Schema)],
        ),
        (
            r#"{"StartAt": "Missing", "States": {"A": {"Type": "Succeed"}}}"#.into(),
            vec![("/StartAt", Missing)],
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true}, "Z": {"Type": "Succeed"}}}"#.into(),
            vec![("/States/Z", Missing)],
        ),
        (
            format!(
                r#"{{"StartAt": "C", "States": {{"C": {{"Type": "Choice", "Choices": [{{"Variable": "$.x", "IsNull": true, "Next": "S"}}, {{"Variable": "$.x", "IsNull": false, "Next": "Gone"}}], "Default": "S"}}, "S": {pass}}}}}"#
            ),
            vec![("/States/C/Choices[1]/Next", Missing)],
        ),
        (
            format!(
                r#"{{"StartAt": "C", "States": {{"C": {{"Type": "Choice", "Choices": [{{"Variable": "$.x", "IsNull": true, "Next": "S"}}], "Default": "Gone"}}, "S": {pass}}}}}"#
            ),
            vec![("/States/C/Default", Missing)],
        ),
        (
            format!(
                r#"{{"StartAt": "T", "States": {{"T": {{"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f", "Catch": [{{"ErrorEquals": ["States.ALL"], "Next": "Gone"}}], "Next": "S"}}, "S": {pass}}}}}"#
            ),
            vec![("/States/T/Catch[0]/Next", Missing)],
        ),
        // A loop: no terminal state, and no location (the machine's); the check of reachability
        // is left out, a dangling Next is not.
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}, "C": {"Type": "Pass", "Next": "A"}}}"#.into(),
            vec![("", MissingEndState)],
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "Gone"}}}"#.into(),
            vec![("/States/A/Next", Missing), ("", MissingEndState)],
        ),
        // In a Parallel branch, and in a Map processor (by either of its names).
        (
            format!(
                r#"{{"StartAt": "P", "States": {{"P": {{"Type": "Parallel", "End": true, "Branches": [{{"StartAt": "B", "States": {{"B": {pass}}}}}, {{"StartAt": "Y", "States": {{"Y": {{"Type": "Pass", "Next": "Gone"}}}}}}]}}}}}}"#
            ),
            vec![
                ("/States/P/Branches[1]/States/Y/Next", Missing),
                ("/States/P/Branches[1]", MissingEndState),
            ],
        ),
        (
            format!(
                r#"{{"StartAt": "P", "States": {{"P": {{"Type": "Parallel", "End": true, "Branches": [{{"StartAt": "B", "States": {{"B": {pass}, "Ghost": {pass}}}}}]}}}}}}"#
            ),
            vec![("/States/P/Branches[0]/States/Ghost", Missing)],
        ),
        (
            format!(
                r#"{{"StartAt": "M", "States": {{"M": {{"Type": "Map", "End": true, "ItemProcessor": {{"StartAt": "Inner", "States": {{"Inner": {{"Type": "Map", "MaxConcurrency": -1, "End": true, "ItemProcessor": {{"StartAt": "I", "States": {{"I": {pass}}}}}}}}}}}}}}}}}"#
            ),
            vec![("/States/M/ItemProcessor/States/Inner/MaxConcurrency", Schema)],
        ),
        (
            r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true, "Iterator": {"StartAt": "I", "States": {"I": {"Type": "Task", "Resource": "nowhere", "End": true}}}}}}"#.into(),
            vec![("/States/M/Iterator/States/I/Resource", Resource)],
        ),
    ];
    for (text, expected) in cases {
        let expected: Vec<(String, ProblemKind)> = expected
            .into_iter()
            .map(|(p, k)| (p.to_string(), k))
            .collect();
        assert_eq!(pointed(&text), expected, "{text}");
    }
}

/// A problem's text names its field; a YAML definition's problems point alike.
#[test]
fn a_problem_names_its_field() {
    let yaml =
        "StartAt: A\nStates:\n  A:\n    Type: Pass\n    Next: Gone\n  B:\n    Type: Succeed\n";
    assert_eq!(
        problems(yaml),
        ["line 5, column 11, at /States/A/Next: unknown Next \"Gone\"; states in this scope: A, B"]
    );
}

/// The warning codes of the API reference, ValidateStateMachineDefinitionDiagnostic
/// (https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html):
/// NO_DOLLAR, NO_PATH, PASS_RESULT_IS_STATIC; the definition is accepted with them.
#[test]
fn warnings_are_found_in_an_accepted_definition() {
    let text = r#"{"StartAt": "P", "States": {
  "P": {"Type": "Pass", "Result": {"from": "$.input"}, "Next": "T"},
  "T": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:1:function:f",
        "Parameters": {"plain": "$.input", "call": "States.UUID()", "fine.$": "$.input", "text": "$5 fee"},
        "Next": "C"},
  "C": {"Type": "Choice", "Choices": [{"Not": {"Variable": "$.a", "StringEquals": "$.b"}, "Next": "F"}], "Default": "F"},
  "F": {"Type": "Fail", "Cause": "$.cause"}
}}"#;
    let checked = check(Dialect::Asl, text);
    assert!(checked.flow.is_ok(), "{:?}", checked.flow.err());
    let found: Vec<(String, ProblemKind, Option<u64>)> = checked
        .warnings
        .iter()
        .map(|w| {
            assert!(w.kind.is_warning());
            (
                w.pointer
                    .as_ref()
                    .map(ToString::to_string)
                    .unwrap_or_default(),
                w.kind,
                w.line,
            )
        })
        .collect();
    assert_eq!(
        found,
        [
            (
                "/States/P/Result/from".into(),
                ProblemKind::PassResultIsStatic,
                Some(2)
            ),
            (
                "/States/T/Parameters/plain".into(),
                ProblemKind::NoDollar,
                Some(4)
            ),
            (
                "/States/T/Parameters/call".into(),
                ProblemKind::NoDollar,
                Some(4)
            ),
            (
                "/States/C/Choices[0]/Not/StringEquals".into(),
                ProblemKind::NoPath,
                Some(6)
            ),
            ("/States/F/Cause".into(), ProblemKind::NoPath, Some(7)),
        ]
    );
    // JSONata states read no paths: nothing there looks like one.
    let jsonata = r#"{"QueryLanguage": "JSONata", "StartAt": "F", "States": {"F": {"Type": "Fail", "Cause": "$.cause"}}}"#;
    assert!(check(Dialect::Asl, jsonata).warnings.is_empty());
}

/// INVALID_STATE_NAME, "The state name does not follow the naming convention" (API reference,
/// ValidateStateMachineDefinitionDiagnostic,
/// https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html),
/// is AWS's answer to a state name of more than 80 characters, at the state (AWS's answer
/// quoted in ChristopheBougere/asl-validator#69: `INVALID_STATE_NAME: Invalid State name: State
/// '…' exceeds the 80-character limit allowed by the service at /States/…`). Any other string
/// is a name ("A state is referred to by its name, which can be any string",
/// https://docs.aws.amazon.com/step-functions/latest/dg/workflow-states.html).
#[test]
fn state_names_have_from_1_to_80_characters() {
    let long = "x".repeat(81);
    let text = format!(r#"{{"StartAt": "{long}", "States": {{"{long}": {{"Type": "Succeed"}}}}}}"#);
    let found = problems(&text);
    assert!(
        found.iter().any(|p| p.contains("from 1 to 80 characters")),
        "{found:?}"
    );
    assert_eq!(
        pointed(&text),
        [(format!("/States/{long}"), ProblemKind::InvalidStateName)]
    );
    let empty = r#"{"StartAt": "", "States": {"": {"Type": "Succeed"}}}"#;
    assert_eq!(
        pointed(empty),
        [("/States/".to_string(), ProblemKind::InvalidStateName)]
    );
    let any_string = format!(
        r#"{{"StartAt": "Wait 10 s?", "States": {{"Wait 10 s?": {{"Type": "Succeed"}}, "{}": {{"Type": "Succeed"}}}}}}"#,
        "x".repeat(80)
    );
    assert_eq!(
        pointed(&any_string),
        [(
            format!("/States/{}", "x".repeat(80)),
            ProblemKind::MissingTransitionTarget
        )]
    );
}

/// DUPLICATE_STATE_NAME, "The same state name appears more than once" (API reference,
/// ValidateStateMachineDefinitionDiagnostic,
/// https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html),
/// in any two scopes: a state "is referred to by its name, which can be any string, but which
/// must be unique within the scope of the entire state machine"
/// (https://docs.aws.amazon.com/step-functions/latest/dg/workflow-states.html).
#[test]
fn state_names_are_unique_in_the_whole_machine() {
    let branches = r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "Branches": [
        {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}},
        {"StartAt": "X", "States": {"X": {"Type": "Pass", "End": true}}}]}}}"#;
    assert_eq!(
        pointed(branches),
        [(
            "/States/P/Branches[1]/States/X".to_string(),
            ProblemKind::DuplicateStateName
        )]
    );
    let processor = r#"{"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "M", "States": {"M": {"Type": "Pass", "End": true}}}}}}"#;
    assert_eq!(
        pointed(processor),
        [(
            "/States/M/ItemProcessor/States/M".to_string(),
            ProblemKind::DuplicateStateName
        )]
    );
}

/// A distributed Map with `Label` `label`, going on to `next` (or ending), its processor's one
/// state named `item`.
fn labelled_map(item: &str, label: &str, next: Option<&str>) -> String {
    let transition = match next {
        Some(next) => format!(r#""Next": "{next}""#),
        None => r#""End": true"#.to_string(),
    };
    format!(
        r#"{{"Type": "Map", "Label": "{label}", {transition}, "ItemProcessor": {{"ProcessorConfig": {{"Mode": "DISTRIBUTED"}}, "StartAt": "{item}", "States": {{"{item}": {{"Type": "Pass", "End": true}}}}}}}}"#
    )
}

/// DUPLICATE_LABEL_NAME, "A label name appears more than once", and INVALID_LABEL_NAME, "You
/// have provided an invalid label name" (API reference, ValidateStateMachineDefinitionDiagnostic,
/// https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html),
/// at the `Label`; a label has at most 40 characters, none of those AWS forbids in names
/// (https://docs.aws.amazon.com/step-functions/latest/dg/concepts-asl-use-map-state-distributed.html),
/// and names the Map's map runs, so two Maps of one machine, in any scope, never share one.
#[test]
fn map_labels_are_valid_and_unique_in_the_machine() {
    let twice = format!(
        r#"{{"StartAt": "M1", "States": {{"M1": {}, "M2": {}}}}}"#,
        labelled_map("I1", "Run", Some("M2")),
        labelled_map("I2", "Run", None)
    );
    assert_eq!(
        pointed(&twice),
        [(
            "/States/M2/Label".to_string(),
            ProblemKind::DuplicateLabelName
        )]
    );
    let in_a_branch = format!(
        r#"{{"StartAt": "M", "States": {{"M": {}, "P": {{"Type": "Parallel", "End": true, "Branches": [{{"StartAt": "N", "States": {{"N": {}}}}}]}}}}}}"#,
        labelled_map("I1", "Run", Some("P")),
        labelled_map("I2", "Run", None)
    );
    assert_eq!(
        pointed(&in_a_branch),
        [(
            "/States/P/Branches[0]/States/N/Label".to_string(),
            ProblemKind::DuplicateLabelName
        )]
    );
    for label in ["has space", "a/b", &"x".repeat(41)] {
        let text = format!(
            r#"{{"StartAt": "M", "States": {{"M": {}}}}}"#,
            labelled_map("I", label, None)
        );
        assert_eq!(
            pointed(&text),
            [("/States/M/Label".to_string(), ProblemKind::InvalidLabelName)],
            "{label:?}"
        );
    }
    let distinct = format!(
        r#"{{"StartAt": "M1", "States": {{"M1": {}, "M2": {}}}}}"#,
        labelled_map("I1", "First", Some("M2")),
        labelled_map("I2", &"y".repeat(40), None)
    );
    assert_eq!(pointed(&distinct), []);
}

/// A definition as deep as a document may be, and one past that, are answered on a thread of
/// 1 MiB as on any other: the server compiles on tokio's 2 MiB workers, part of whose stack
/// its request handling holds (without a stack of its own, a debug build's compile of 45
/// nested lists overflowed there, and this one here).
#[test]
fn the_deepest_definitions_are_answered_on_a_small_thread() {
    fn lists(depth: usize) -> String {
        format!(
            r#"{{"StartAt": "A", "States": {{"A": {{"Type": "Pass", "End": true, "Result": {}{}}}}}}}"#,
            "[".repeat(depth),
            "]".repeat(depth)
        )
    }
    let answered = std::thread::Builder::new()
        .stack_size(1024 * 1024)
        .spawn(|| (pointed(&lists(61)), pointed(&lists(62))))
        .and_then(|thread| {
            thread
                .join()
                .map_err(|_| std::io::Error::other("overflowed"))
        });
    let (deepest, past) = answered.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(deepest, []);
    assert_eq!(
        past.into_iter().map(|(_, k)| k).collect::<Vec<_>>(),
        [ProblemKind::TooDeeplyNested]
    );
}

/// TOO_DEEPLY_NESTED, "The states are too deeply nested" (API reference,
/// ValidateStateMachineDefinitionDiagnostic,
/// https://docs.aws.amazon.com/step-functions/latest/apireference/API_ValidateStateMachineDefinitionDiagnostic.html;
/// AWS documents no depth): sluice's bound is the document's, 64 levels of lists and maps,
/// which 15 Parallel states nested in one another pass and 16 do not. Such a
/// text is well-formed (not INVALID_JSON_DESCRIPTION); an empty one is MISSING_DESCRIPTION,
/// "Received a null or empty workflow input".
#[test]
fn states_nested_too_deeply_and_empty_text_have_their_own_kinds() {
    fn nested(depth: usize) -> String {
        let mut state = r#"{"Type": "Pass", "End": true}"#.to_string();
        for level in (1..=depth).rev() {
            state = format!(
                r#"{{"Type": "Parallel", "End": true, "Branches": [{{"StartAt": "S{level}", "States": {{"S{level}": {state}}}}}]}}"#
            );
        }
        format!(r#"{{"StartAt": "S", "States": {{"S": {state}}}}}"#)
    }
    assert_eq!(pointed(&nested(15)), []);
    let kinds: Vec<ProblemKind> = pointed(&nested(16)).into_iter().map(|(_, k)| k).collect();
    assert_eq!(kinds, [ProblemKind::TooDeeplyNested]);
    for empty in ["", " \n\t"] {
        assert_eq!(pointed(empty), [(String::new(), ProblemKind::Empty)]);
    }
    assert_eq!(
        pointed(r#"{"StartAt": "A", "States": {"#),
        [(String::new(), ProblemKind::Syntax)]
    );
}

#[test]
fn an_activity_task_waits_for_its_worker_with_a_heartbeat() {
    let text = r#"{"StartAt": "A", "States": {"A": {"Type": "Task",
        "Resource": "arn:aws:states:eu-west-1:123456789012:activity:printer",
        "TimeoutSeconds": 60, "HeartbeatSeconds": 10, "End": true}}}"#;
    let flow = compile(Dialect::Asl, text).unwrap_or_else(|e| panic!("{e}"));
    let StateKind::Task(task) = &flow.state(flow.root().states[0]).kind else {
        panic!("a Task state")
    };
    assert_eq!(
        task.target,
        sluice_ir::TaskTarget::Activity("printer".into())
    );
    assert_eq!(task.mode, sluice_ir::TaskMode::WaitForCustomCallback);
    assert_eq!(
        (task.timeout_secs, task.heartbeat_secs),
        (Some(60), Some(10))
    );

    let by_path = r#"{"StartAt": "A", "States": {"A": {"Type": "Task",
        "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
        "Parameters": {"FunctionName": "f"}, "HeartbeatSecondsPath": "$.beat", "End": true}}}"#;
    let flow = compile(Dialect::Asl, by_path).unwrap_or_else(|e| panic!("{e}"));
    let state = flow.state(flow.root().states[0]);
    assert!(state.asl.as_ref().is_some_and(|a| a.heartbeat.is_some()));

    for (text, problem) in [
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:r:1:activity:p", "TimeoutSeconds": 5, "HeartbeatSeconds": 5, "End": true}}}"#,
            "HeartbeatSeconds (5) must be smaller than TimeoutSeconds (5)",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:r:1:activity:p.waitForTaskToken", "End": true}}}"#,
            "without a suffix",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:r:1:activity:", "End": true}}}"#,
            "an activity ARN is arn:aws:states:REGION:ACCOUNT:activity:NAME",
        ),
        (
            r#"{"StartAt": "A", "States": {"A": {"Type": "Task", "Resource": "arn:aws:states:r:1:activity:p", "HeartbeatSeconds": 0, "End": true}}}"#,
            "0 is out of range; expected an integer from 1 to 99999999",
        ),
    ] {
        let found = problems(text);
        assert!(
            found.iter().any(|p| p.contains(problem)),
            "{problem:?} not in {found:?}"
        );
    }
}

#[test]
fn start_execution_tasks_wait_as_their_suffix_says() {
    use sluice_ir::{NestedWait, TaskTarget};
    let task_of = |resource: &str| {
        format!(
            r#"{{"StartAt": "A", "States": {{"A": {{"Type": "Task", "Resource": "{resource}",
            "Parameters": {{"StateMachineArn": "arn:aws:states:r:1:stateMachine:m"}}, "End": true}}}}}}"#
        )
    };
    for (suffix, wait) in [
        ("", NestedWait::Started),
        (".sync", NestedWait::OutputText),
        (".sync:2", NestedWait::OutputJson),
    ] {
        let text = task_of(&format!("arn:aws:states:::states:startExecution{suffix}"));
        let flow = compile(Dialect::Asl, &text).unwrap_or_else(|e| panic!("{e}"));
        let StateKind::Task(task) = &flow.state(flow.root().states[0]).kind else {
            panic!("a Task state")
        };
        assert_eq!(task.target, TaskTarget::Execution(wait), "{suffix}");
        assert_eq!(task.mode, sluice_ir::TaskMode::RequestComplete);
    }
    for refused in [".sync:3", ".waitForTaskToken"] {
        let text = task_of(&format!("arn:aws:states:::states:startExecution{refused}"));
        let found = problems(&text);
        assert!(
            found.iter().any(|p| p.contains("is not supported")),
            "{refused}: {found:?}"
        );
    }
}
