//! Global variables as CloudFlow's Global variables page documents them: a state's
//! `GlobalConstructor` writes them when it finishes (`$Output` the raw result), merged into
//! `$Global`; the state's `OutputConstructor` still sees `$Global` as it was; every later
//! state, in any branch, reads them.

use serde_json::{Value, json};
use sluice_engine::{Effect, Execution, ExecutionInfo, Input, Limits, Status};
use sluice_ir::Flow;

fn run(definition: &str, input: Value, answer: Value) -> Execution {
    let flow: Flow = sluice_lang::cloudflow::parse(definition).expect("the flow parses");
    let mut ex = Execution::new(ExecutionInfo {
        name: "e".into(),
        flow_name: "globals".into(),
        role_arn: None,
        token_prefix: "t.".into(),
        seed: 1,
        // Above the 256 KiB of a global variable, so that a task result can be larger.
        limits: Limits {
            max_payload_bytes: 1024 * 1024,
            ..Limits::default()
        },
        context_ids: None,
    });
    let mut step = ex
        .apply(&flow, Input::Start { input }, 1)
        .expect("the start");
    // Every task answers `answer`, one after the other.
    for now in 2..20 {
        let Some(op) = step.effects.iter().find_map(|e| match e {
            Effect::Dispatch(call) => Some(call.op),
            _ => None,
        }) else {
            break;
        };
        let result = Ok(answer.clone());
        step = ex
            .apply(&flow, Input::TaskCompleted { op, result }, now)
            .expect("the answer");
    }
    ex
}

#[test]
fn a_task_writes_its_raw_result_and_its_output_constructor_sees_global_as_it_was() {
    let ex = run(
        r"
Type: StateMachine
Name: globals
SpecVersion: v1
StartAt: A
States:
  - Type: Task
    Name: A
    Action: FC:InvokeFunction
    Parameters:
      resourceArn: acs:fc:::services/s/functions/f
    OutputConstructor:
      shaped: true
      before.$: $Global
    GlobalConstructor:
      from_input.$: $Input.a
      from_output.$: $Output.b
    Next: Z
  - Type: Pass
    Name: Z
    OutputConstructor:
      global.$: $Global
      input.$: $Input
    End: true
",
        json!({"a": 1}),
        json!({"b": 2}),
    );
    assert_eq!(ex.status(), Status::Succeeded, "{:?}", ex.error());
    assert_eq!(
        ex.output(),
        Some(&json!({
            "global": {"from_input": 1, "from_output": 2},
            "input": {"shaped": true, "before": {}}
        }))
    );
}

#[test]
fn later_writes_merge_key_by_key_and_branches_see_them() {
    let ex = run(
        r"
Type: StateMachine
Name: globals
SpecVersion: v1
StartAt: First
States:
  - Type: Pass
    Name: First
    GlobalConstructor:
      kept: 1
      replaced: old
    Next: Both
  - Type: Parallel
    Name: Both
    Branches:
      - StartAt: Left
        States:
          - Type: Pass
            Name: Left
            GlobalConstructor:
              replaced: new
              left: true
            End: true
      - StartAt: Right
        States:
          - Type: Pass
            Name: Right
            OutputConstructor:
              kept.$: $Global.kept
            End: true
    Next: Last
  - Type: Pass
    Name: Last
    OutputConstructor:
      global.$: $Global
    End: true
",
        json!({}),
        json!({}),
    );
    assert_eq!(ex.status(), Status::Succeeded, "{:?}", ex.error());
    assert_eq!(
        ex.output(),
        Some(&json!({"global": {"kept": 1, "replaced": "new", "left": true}}))
    );
}

#[test]
fn a_variable_over_256_kib_fails_the_state() {
    let ex = run(
        r"
Type: StateMachine
Name: globals
SpecVersion: v1
StartAt: A
States:
  - Type: Task
    Name: A
    Action: FC:InvokeFunction
    Parameters:
      resourceArn: acs:fc:::services/s/functions/f
    GlobalConstructor:
      big.$: $Output.blob
    End: true
",
        json!({}),
        json!({"blob": "x".repeat(256 * 1024)}),
    );
    assert_eq!(ex.status(), Status::Failed);
    let error = ex.error().expect("an error");
    assert_eq!(error.code.as_str(), "FnF.PayloadTooLarge");
    assert!(
        error.detail.contains("global variable \"big\""),
        "{error:?}"
    );
}
