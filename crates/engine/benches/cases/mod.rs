//! The engine's throughput cases, shared by the criterion bench (`benches/engine.rs`) and the
//! plain-numbers example (`examples/engine_throughput.rs`).
//!
//! Each case is one `apply(Start)` that runs a whole flow of pure states to its end, so it
//! measures the interpreter alone: no IO, no waiting.

use serde_json::{Value, json};
use sluice_engine::{EventType, Execution, ExecutionInfo, Input, Limits, Status, Step};
use sluice_ir::Flow;

pub struct Case {
    pub name: &'static str,
    pub flow: Flow,
    pub input: Value,
    pub limits: Limits,
    /// States entered by one run: the unit of throughput.
    pub transitions: u64,
}

impl Case {
    fn new(name: &'static str, yaml: &str, input: Value, limits: Limits) -> Self {
        let flow = sluice_lang::cloudflow::parse(yaml)
            .unwrap_or_else(|e| panic!("the {name} flow does not parse: {e:?}"));
        Self::of_flow(name, flow, input, limits)
    }

    fn asl(name: &'static str, machine: &Value, input: Value, limits: Limits) -> Self {
        let flow = sluice_lang::asl::parse(&machine.to_string())
            .unwrap_or_else(|e| panic!("the {name} machine does not parse: {e:?}"));
        Self::of_flow(name, flow, input, limits)
    }

    fn of_flow(name: &'static str, flow: Flow, input: Value, limits: Limits) -> Self {
        let mut case = Self {
            name,
            flow,
            input,
            limits,
            transitions: 0,
        };
        let step = case.run();
        case.transitions = step
            .events
            .iter()
            .filter(|e| e.kind == EventType::StepEntered)
            .count() as u64;
        case
    }

    /// Runs the flow once, from a fresh execution to its end.
    pub fn run(&self) -> Step {
        let mut execution = Execution::new(ExecutionInfo {
            name: "bench".into(),
            flow_name: self.name.into(),
            role_arn: None,
            token_prefix: "tok-".into(),
            seed: 1,
            limits: self.limits,
            context_ids: None,
        });
        let input = Input::Start {
            input: self.input.clone(),
        };
        let step = execution
            .apply(&self.flow, input, 0)
            .expect("Start is accepted");
        assert_eq!(execution.status(), Status::Succeeded, "{}", self.name);
        step
    }
}

pub fn all() -> Vec<Case> {
    vec![
        pass_chain(),
        choice_loop(),
        map_10k(),
        asl_pass_chain(),
        asl_choice_loop(),
        asl_map_10k(),
    ]
}

/// (a) 100 Pass states in a row.
fn pass_chain() -> Case {
    let mut yaml =
        String::from("Type: StateMachine\nName: chain\nSpecVersion: v1\nStartAt: P0\nStates:\n");
    for i in 0..100 {
        let next = if i < 99 {
            format!("Next: P{}", i + 1)
        } else {
            "End: true".into()
        };
        yaml.push_str(&format!("  - Type: Pass\n    Name: P{i}\n    {next}\n"));
    }
    let case = Case::new(
        "pass_chain_100",
        &yaml,
        json!({ "order": 42, "customer": "c-1" }),
        Limits::default(),
    );
    assert_eq!(case.transitions, 100);
    case
}

/// (b) A counter: a Pass increments `i` with an OutputConstructor, a Choice loops until 1000.
fn choice_loop() -> Case {
    let yaml = r#"
Type: StateMachine
Name: loop
SpecVersion: v1
StartAt: Check
States:
  - Type: Choice
    Name: Check
    Branches:
      - Condition: $Input.i < 1000
        Next: Increment
    Default: Done
  - Type: Pass
    Name: Increment
    OutputConstructor:
      i.$: intAdd($Input.i, 1)
    Next: Check
  - Type: Pass
    Name: Done
    End: true
"#;
    let limits = Limits {
        max_history_events: 10_000,
        ..Limits::default()
    };
    let case = Case::new("choice_loop_1000", yaml, json!({ "i": 0 }), limits);
    assert_eq!(case.transitions, 1000 + 1001 + 1);
    case
}

/// (c) A Map over 10,000 items whose processor is one Pass state.
fn map_10k() -> Case {
    let yaml = r#"
Type: StateMachine
Name: map
SpecVersion: v1
StartAt: EachItem
States:
  - Type: Map
    Name: EachItem
    ItemsPath: $Input.items
    Processor:
      StartAt: Echo
      States:
        - Type: Pass
          Name: Echo
          End: true
    End: true
"#;
    let limits = Limits {
        max_history_events: 100_000,
        max_payload_bytes: 1 << 20,
        ..Limits::default()
    };
    let items: Vec<u32> = (0..10_000).collect();
    let case = Case::new("map_10000", yaml, json!({ "items": items }), limits);
    assert_eq!(case.transitions, 10_000 + 1);
    case
}

/// (d) The Amazon States Language: 100 Pass states in a row, each shaping its input with
/// `Parameters` and placing the result with `ResultPath`, as real machines do.
fn asl_pass_chain() -> Case {
    let mut states = serde_json::Map::new();
    for i in 0..100 {
        let mut state = json!({
            "Type": "Pass",
            "Parameters": { "order.$": "$.order", "step": i },
            "ResultPath": "$.last",
        });
        if i < 99 {
            state["Next"] = json!(format!("P{}", i + 1));
        } else {
            state["End"] = json!(true);
        }
        states.insert(format!("P{i}"), state);
    }
    let machine = json!({ "StartAt": "P0", "States": states });
    let input = json!({ "order": 42, "customer": "c-1" });
    let case = Case::asl("asl_pass_chain_100", &machine, input, Limits::default());
    assert_eq!(case.transitions, 100);
    case
}

/// (e) The ASL counter: a Pass adds one with `States.MathAdd`, a Choice loops until 1000.
fn asl_choice_loop() -> Case {
    let machine = json!({
        "StartAt": "Check",
        "States": {
            "Check": {
                "Type": "Choice",
                "Choices": [{ "Variable": "$.i", "NumericLessThan": 1000, "Next": "Increment" }],
                "Default": "Done"
            },
            "Increment": {
                "Type": "Pass",
                "Parameters": { "i.$": "States.MathAdd($.i, 1)" },
                "Next": "Check"
            },
            "Done": { "Type": "Succeed" }
        }
    });
    let limits = Limits {
        max_history_events: 10_000,
        ..Limits::default()
    };
    let case = Case::asl("asl_choice_loop_1000", &machine, json!({ "i": 0 }), limits);
    assert_eq!(case.transitions, 1000 + 1001 + 1);
    case
}

/// (f) An inline ASL Map over 10,000 items whose processor is one Pass state.
fn asl_map_10k() -> Case {
    let machine = json!({
        "StartAt": "EachItem",
        "States": {
            "EachItem": {
                "Type": "Map",
                "ItemsPath": "$.items",
                "ItemProcessor": {
                    "StartAt": "Echo",
                    "States": { "Echo": { "Type": "Pass", "End": true } }
                },
                "End": true
            }
        }
    });
    let limits = Limits {
        max_history_events: 100_000,
        max_payload_bytes: 1 << 20,
        ..Limits::default()
    };
    let items: Vec<u32> = (0..10_000).collect();
    let case = Case::asl("asl_map_10000", &machine, json!({ "items": items }), limits);
    assert_eq!(case.transitions, 10_000 + 1);
    case
}
