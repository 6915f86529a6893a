//! `sluice run` over Amazon States Language state machines: every case of
//! `tests/data/asl/cases.json` (each with the AWS documentation page its expectation comes
//! from), written to a `.asl.json` file, run by the built binary with the dialect detected
//! from the text.

mod support;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Command;

use serde::Deserialize;
use serde_json::Value;
use support::functions::{Behaviour, serve};

#[derive(Deserialize)]
struct Cases {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    page: String,
    machine: Value,
    input: Value,
    output: Option<Value>,
    error: Option<String>,
    #[serde(default)]
    functions: HashMap<String, Behaviour>,
    #[serde(default)]
    flags: Vec<String>,
}

fn cases() -> Vec<Case> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/asl/cases.json");
    let text = std::fs::read_to_string(&path).expect("cases.json");
    serde_json::from_str::<Cases>(&text)
        .expect("valid cases")
        .cases
}

/// Runs `case` and returns a description of what differs from the page, if anything.
fn check(case: &Case, dir: &std::path::Path) -> Option<String> {
    let file = dir.join(format!("{}.asl.json", case.name));
    std::fs::write(&file, case.machine.to_string()).expect("write machine");
    let (addr, _served) = serve(case.functions.clone());
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("run")
        .arg(&file)
        .arg("--input")
        .arg(case.input.to_string())
        .args(["--function-url", &format!("http://{addr}/{{function}}")])
        .args(&case.flags)
        .output()
        .expect("run sluice");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let got = match (&case.output, &case.error) {
        (Some(expected), _) => {
            let output: Option<Value> = serde_json::from_str(stdout.trim()).ok();
            (out.status.code() == Some(0) && output.as_ref() == Some(expected))
                .then_some(())
                .ok_or(format!("expected {expected}"))
        }
        (None, Some(error)) => (out.status.code() == Some(1)
            && stderr.contains(&format!("Error: {error}")))
        .then_some(())
        .ok_or(format!("expected the error {error}")),
        (None, None) => Err("the case states no expectation".into()),
    };
    got.err().map(|expected| {
        format!(
            "{} ({}): {expected}, got exit {:?}, stdout {stdout:?}, stderr {stderr:?}",
            case.name,
            case.page,
            out.status.code()
        )
    })
}

#[test]
fn documented_asl_examples_run_as_aws_documents() {
    let dir = tempfile::tempdir().expect("temp dir");
    let failures: Vec<String> = cases()
        .iter()
        .filter_map(|c| check(c, dir.path()))
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn dialect_flag_names_the_language() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("m.json");
    std::fs::write(
        &file,
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": 1, "End": true}}}"#,
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "--dialect", "asl"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1");
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "--dialect", "dataarts"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
}

/// A definition's problems and warnings name their field as Step Functions' validation
/// locates it (`/States/NAME/FIELD`); a definition with warnings runs.
#[test]
fn problems_and_warnings_name_their_field() {
    let dir = tempfile::tempdir().expect("temp dir");
    let run = |name: &str, text: &str| {
        let file = dir.path().join(name);
        std::fs::write(&file, text).expect("write");
        Command::new(env!("CARGO_BIN_EXE_sluice"))
            .arg("run")
            .arg(&file)
            .output()
            .expect("run")
    };
    let warned = run(
        "warned.asl.json",
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Result": "$.x", "End": true}}}"#,
    );
    assert_eq!(String::from_utf8_lossy(&warned.stdout).trim(), "\"$.x\"");
    let stderr = String::from_utf8_lossy(&warned.stderr);
    assert!(
        stderr.contains("warned.asl.json: warning: line 1, column 62, at /States/P/Result: "),
        "{stderr}"
    );
    let broken = run(
        "broken.asl.json",
        r#"{"StartAt": "P", "States": {"P": {"Type": "Pass", "Next": "Gone"}, "S": {"Type": "Succeed"}}}"#,
    );
    assert_eq!(broken.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(
        stderr.contains("broken.asl.json: line 1, column 60, at /States/P/Next: unknown Next"),
        "{stderr}"
    );
}

/// `--history` writes an ASL machine's events as Step Functions' `GetExecutionHistory` does:
/// types named after each state's `Type`, ids dense from 1, `previousEventId` the event
/// before, 0 for the state entered right after the start (as AWS's recorded histories show).
#[test]
fn history_is_written_as_step_functions_writes_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("m.asl.json");
    std::fs::write(
        &file,
        r#"{"StartAt": "P", "States": {
            "P": {"Type": "Pass", "Result": {"n": 1}, "Next": "W"},
            "W": {"Type": "Wait", "Seconds": 0, "Next": "Done"},
            "Done": {"Type": "Succeed"}}}"#,
    )
    .expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "--history"])
        .arg(&file)
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(0));
    let events: Vec<Value> = String::from_utf8_lossy(&out.stderr)
        .lines()
        .map(|line| serde_json::from_str(line).expect("one JSON event per line"))
        .collect();
    let types: Vec<&str> = events.iter().map(|e| e["type"].as_str().unwrap()).collect();
    assert_eq!(
        types,
        [
            "ExecutionStarted",
            "PassStateEntered",
            "PassStateExited",
            "WaitStateEntered",
            "WaitStateExited",
            "SucceedStateEntered",
            "SucceedStateExited",
            "ExecutionSucceeded"
        ]
    );
    let ids: Vec<u64> = events.iter().map(|e| e["id"].as_u64().unwrap()).collect();
    assert_eq!(ids, (1..=8).collect::<Vec<_>>());
    let previous: Vec<u64> = events
        .iter()
        .map(|e| e["previousEventId"].as_u64().unwrap())
        .collect();
    assert_eq!(previous, [0, 0, 2, 3, 4, 5, 6, 7]);
    assert_eq!(
        events[2]["stateExitedEventDetails"]["output"], r#"{"n":1}"#,
        "inputs and outputs are JSON text"
    );
    assert_eq!(
        events[7]["executionSucceededEventDetails"]["output"],
        r#"{"n":1}"#
    );
}
