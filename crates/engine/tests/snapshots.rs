//! Stored executions of every format load and run to the end.
//!
//! Each case in `tests/data/snapshots/` is a flow (`flow.yaml` or `flow.json`), the inputs that
//! take a fresh execution to a moment worth storing (`case.json`: `before`), and that execution
//! as each format stores it (`v1.json`, …), written by the engine of its time. Every file is
//! loaded and driven to the end: every call answered, every callback reported, every timer
//! fired, earliest first; the status and output must be the case's `end`. Beside them, the
//! task rows of its calls in flight (`calls.v1.jsonl`, …: one row a line, as the store writes
//! them) must read as the calls of the execution.
//!
//! `SLUICE_WRITE_SNAPSHOTS=1 cargo nextest run -p sluice-engine --test snapshots` writes the
//! current format's file of every case (do it once per new format: older files stay as their
//! engine wrote them).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Value, json};
use sluice_engine::snapshot::{self, CallSnapshot, Snapshot};
use sluice_engine::{Execution, ExecutionInfo, Input, Limits, Millis, PendingOp, TaskCall};
use sluice_ir::{Flow, TaskError};

/// The format the engine writes.
const LATEST: u64 = snapshot::FORMAT;
/// When the generated executions started.
const START: Millis = 1_700_000_000_000;

#[derive(Deserialize)]
struct Case {
    language: Language,
    input: Value,
    before: Vec<Step>,
    #[serde(default)]
    then: Vec<Step>,
    end: Option<End>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Language {
    Cloudflow,
    Dataarts,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Step {
    /// The call in flight of `state` answers `output`.
    Answer { state: String, output: Value },
    /// The call in flight of `state` fails.
    Fail {
        state: String,
        error: String,
        cause: String,
    },
    /// `Retry` of the failed execution.
    Retry,
}

#[derive(Debug, PartialEq, serde::Serialize, Deserialize)]
struct End {
    status: String,
    output: Option<Value>,
}

fn cases() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/snapshots");
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .expect("the snapshot cases")
        .map(|entry| entry.expect("a case").path())
        .filter(|path| path.is_dir())
        .collect();
    cases.sort();
    cases
}

fn read_case(dir: &Path) -> (Case, Flow) {
    let text = std::fs::read_to_string(dir.join("case.json")).expect("case.json");
    let case: Case = serde_json::from_str(&text).expect("case.json is a case");
    let flow = match case.language {
        Language::Cloudflow => {
            let text = std::fs::read_to_string(dir.join("flow.yaml")).expect("flow.yaml");
            sluice_lang::cloudflow::parse(&text).expect("flow.yaml compiles")
        }
        Language::Dataarts => {
            let text = std::fs::read_to_string(dir.join("flow.json")).expect("flow.json");
            sluice_lang::dataarts::parse(&text).expect("flow.json compiles")
        }
    };
    (case, flow)
}

fn info(dir: &Path) -> ExecutionInfo {
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("case");
    ExecutionInfo {
        name: name.into(),
        flow_name: name.into(),
        role_arn: None,
        token_prefix: format!("{name}."),
        seed: 7,
        limits: Limits::default(),
        context_ids: None,
    }
}

/// Applies one scripted step at `now`.
fn apply(flow: &Flow, execution: &mut Execution, step: &Step, now: Millis) {
    let input = match step {
        Step::Answer { state, output } => Input::TaskCompleted {
            op: execution.task_in_flight(state).expect("a call in flight"),
            result: Ok(output.clone()),
        },
        Step::Fail {
            state,
            error,
            cause,
        } => Input::TaskCompleted {
            op: execution.task_in_flight(state).expect("a call in flight"),
            result: Err(TaskError::new(error.as_str(), cause.as_str())),
        },
        Step::Retry => Input::Retry,
    };
    execution.apply(flow, input, now).expect("the step applies");
}

/// Drives the execution to a terminal status: calls answer `{"state", "body"}`, callbacks are
/// reported `{"reported"}`, and with nothing else to do the earliest timer fires.
fn run_to_the_end(flow: &Flow, execution: &mut Execution, mut now: Millis) {
    for _ in 0..1_000 {
        if execution.status().is_terminal() {
            return;
        }
        now += 1_000;
        let call = execution.pending_ops().find_map(|op| match op {
            PendingOp::Task {
                call,
                submitted: false,
            } => Some((
                call.op,
                json!({"state": call.state.as_str(), "body": call.body}),
            )),
            _ => None,
        });
        let callback = execution
            .awaiting_callbacks()
            .map(|(state, token)| (token.to_string(), json!({"reported": state.as_str()})))
            .next();
        let timer = execution
            .pending_ops()
            .filter_map(|op| match op {
                PendingOp::Timer { op, fire_at } => Some((fire_at, op)),
                PendingOp::Task { .. } | PendingOp::Child(_) => None,
            })
            .min();
        let input = if let Some((op, answer)) = call {
            Input::TaskCompleted {
                op,
                result: Ok(answer),
            }
        } else if let Some((token, report)) = callback {
            Input::CallbackReported {
                token,
                result: Ok(report),
            }
        } else if let Some((fire_at, op)) = timer {
            now = now.max(fire_at);
            Input::TimerFired { op }
        } else {
            panic!("a running execution waits for nothing");
        };
        execution
            .apply(flow, input, now)
            .expect("the input applies");
    }
    panic!("the execution did not end");
}

/// A fresh execution taken through the case's `before` steps.
fn generate(dir: &Path, case: &Case, flow: &Flow) -> Execution {
    let mut execution = Execution::new(info(dir));
    let start = Input::Start {
        input: case.input.clone(),
    };
    execution.apply(flow, start, START).expect("the start");
    for (i, step) in case.before.iter().enumerate() {
        apply(
            flow,
            &mut execution,
            step,
            START + 1_000 * (i as Millis + 1),
        );
    }
    execution
}

fn write(execution: &Execution) -> String {
    serde_json::to_string_pretty(&Snapshot::of(execution)).expect("the execution serializes")
}

fn read(text: &str) -> Execution {
    serde_json::from_str::<Snapshot>(text)
        .expect("the snapshot loads")
        .into()
}

/// The execution's calls, a task row a line.
fn write_calls(execution: &Execution) -> String {
    calls(execution)
        .iter()
        .map(|call| {
            serde_json::to_string(&CallSnapshot::of(call)).expect("the call serializes") + "\n"
        })
        .collect()
}

fn read_call(line: &str) -> TaskCall {
    serde_json::from_str::<CallSnapshot>(line)
        .expect("the task row loads")
        .into()
}

fn calls(execution: &Execution) -> Vec<TaskCall> {
    execution
        .pending_ops()
        .filter_map(|op| match op {
            PendingOp::Task { call, .. } => Some(call.clone()),
            PendingOp::Timer { .. } | PendingOp::Child(_) => None,
        })
        .collect()
}

fn end_of(execution: &Execution) -> End {
    End {
        status: execution.status().as_str().to_string(),
        output: execution.output().cloned(),
    }
}

#[test]
fn every_stored_format_loads_and_runs_to_the_end() {
    let writing = std::env::var_os("SLUICE_WRITE_SNAPSHOTS").is_some();
    let mut checked = 0;
    let mut wrong = Vec::new();
    for dir in cases() {
        let (case, flow) = read_case(&dir);
        if writing {
            let execution = generate(&dir, &case, &flow);
            let text = write(&execution) + "\n";
            std::fs::write(dir.join(format!("v{LATEST}.json")), text).expect("written");
            let rows = write_calls(&execution);
            std::fs::write(dir.join(format!("calls.v{LATEST}.jsonl")), rows).expect("written");
        }
        for version in 1..=LATEST {
            let path = dir.join(format!("v{version}.json"));
            let text = std::fs::read_to_string(&path)
                .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let mut execution = read(&text);
            if version == LATEST {
                assert_eq!(
                    write(&execution),
                    text.trim_end(),
                    "{}: the current format reads and writes back unchanged",
                    path.display()
                );
            }
            let rows_text = std::fs::read_to_string(dir.join(format!("calls.v{version}.jsonl")))
                .expect("the task rows");
            let rows: Vec<TaskCall> = rows_text.lines().map(read_call).collect();
            assert_eq!(rows, calls(&execution), "{}: the task rows", path.display());
            if version == LATEST {
                assert_eq!(
                    write_calls(&execution),
                    rows_text,
                    "the task rows write back unchanged"
                );
            }
            for step in &case.then {
                apply(&flow, &mut execution, step, START + 100_000);
            }
            run_to_the_end(&flow, &mut execution, START + 100_000);
            let end = end_of(&execution);
            if case.end.as_ref() != Some(&end) {
                wrong.push(format!("{}: ended {end:?}", path.display()));
            }
            checked += 1;
        }
    }
    assert!(
        wrong.is_empty(),
        "not the case's end:\n{}",
        wrong.join("\n")
    );
    assert!(checked >= 8, "only {checked} snapshots checked");
}

/// Global variables written before a task are in the stored execution, and a state after the
/// task reads them from the execution loaded back (stored executions older than global
/// variables load with none: every golden file above).
#[test]
fn global_variables_survive_the_store() {
    let flow = sluice_lang::cloudflow::parse(
        r"
Type: StateMachine
Name: globals
SpecVersion: v1
StartAt: Remember
States:
  - Type: Pass
    Name: Remember
    GlobalConstructor:
      order.$: $Input.order
    Next: Call
  - Type: Task
    Name: Call
    Action: FC:InvokeFunction
    Parameters:
      resourceArn: acs:fc:::services/s/functions/f
    Next: Recall
  - Type: Pass
    Name: Recall
    OutputConstructor:
      order.$: $Global.order
    End: true
",
    )
    .expect("the flow compiles");
    let mut execution = Execution::new(info(Path::new("globals")));
    let start = Input::Start {
        input: json!({"order": 42}),
    };
    execution.apply(&flow, start, START).expect("the start");
    let stored = write(&execution);
    let value: Value = serde_json::from_str(&stored).unwrap();
    assert_eq!(value["globals"], json!({"order": 42}));

    let mut loaded = read(&stored);
    assert_eq!(loaded, execution);
    let step = Step::Answer {
        state: "Call".into(),
        output: json!({}),
    };
    apply(&flow, &mut loaded, &step, START + 1_000);
    assert_eq!(
        end_of(&loaded),
        End {
            status: "Succeeded".into(),
            output: Some(json!({"order": 42})),
        }
    );
}
