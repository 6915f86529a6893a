//! Executions a task starts of another flow ([`crate::TaskTarget::Execution`]): what the task
//! asks for, read from its input as ASL's `states:startExecution` integration names it
//! (`StateMachineArn`, `Input`, `Name`), the end the runtime reports back ([`NestedEnd`]), and
//! the task's result in AWS's shapes (Developer Guide, "Start a new AWS Step Functions state
//! machine from a running execution": `StartExecution`'s answer, or `DescribeExecution`'s with
//! the output as text for `.sync`, as JSON for `.sync:2`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::error::TaskError;
use crate::flow::NestedWait;

/// The error of a task whose execution did not succeed (its cause is the execution's
/// description, as AWS gives it).
pub const TASK_FAILED: &str = "States.TaskFailed";

/// What a task asks to start: a state machine (`NAME`, maybe `:VERSION` or `:ALIAS`), the
/// execution's name if given, and its input.
#[derive(Debug, Clone, PartialEq)]
pub struct NestedStart {
    /// The ARN as the task gave it.
    pub machine_arn: String,
    pub flow: String,
    pub qualifier: Option<String>,
    pub name: Option<String>,
    pub input: Value,
}

impl NestedStart {
    /// Reads the start from a task's effective input; the error says what is wrong with it.
    pub fn of(input: &Value) -> Result<Self, String> {
        let machine_arn = input
            .get("StateMachineArn")
            .and_then(Value::as_str)
            .ok_or("StateMachineArn is missing or not a string")?;
        let (flow, qualifier) = state_machine_of(machine_arn).ok_or_else(|| {
            format!("StateMachineArn {machine_arn:?} is no arn:aws:states:REGION:ACCOUNT:stateMachine:NAME[:QUALIFIER]")
        })?;
        let name = match input.get("Name") {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) => Some(name.clone()),
            Some(other) => return Err(format!("Name {other} is not a string")),
        };
        // `Input` is the execution's input: JSON, or JSON text (what `States.JsonToString`
        // or a string field gives).
        let input = match input.get("Input") {
            None | Some(Value::Null) => Value::Object(Map::new()),
            Some(Value::String(text)) => serde_json::from_str(text)
                .map_err(|e| format!("Input is a string but not JSON text: {e}"))?,
            Some(input) => input.clone(),
        };
        Ok(NestedStart {
            machine_arn: machine_arn.to_owned(),
            flow: flow.to_owned(),
            qualifier: qualifier.map(str::to_owned),
            name,
            input,
        })
    }

    /// The started execution's ARN: `…:execution:MACHINE:NAME` (a qualifier is not part of it).
    fn execution_arn(&self, name: &str) -> String {
        let prefix = self
            .machine_arn
            .split(':')
            .take(5)
            .collect::<Vec<_>>()
            .join(":");
        format!("{prefix}:execution:{}:{name}", self.flow)
    }
}

/// The state machine name and qualifier of `arn:PARTITION:states:REGION:ACCOUNT:stateMachine:NAME[:QUALIFIER]`.
pub fn state_machine_of(arn: &str) -> Option<(&str, Option<&str>)> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "states", _, _, "stateMachine", name] if !name.is_empty() => Some((name, None)),
        ["arn", _, "states", _, _, "stateMachine", name, qualifier]
            if !name.is_empty() && !qualifier.is_empty() =>
        {
            Some((name, Some(qualifier)))
        }
        _ => None,
    }
}

/// How a started execution stands, as the runtime reports it to the task that started it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum NestedStatus {
    Running,
    Succeeded,
    Failed,
    Stopped,
    TimedOut,
}

impl NestedStatus {
    fn aws(self) -> &'static str {
        match self {
            NestedStatus::Running => "RUNNING",
            NestedStatus::Succeeded => "SUCCEEDED",
            NestedStatus::Failed => "FAILED",
            NestedStatus::Stopped => "ABORTED",
            NestedStatus::TimedOut => "TIMED_OUT",
        }
    }
}

/// A started execution as the runtime reports it (the value of the task's answer): once
/// started for a task that does not wait, once ended for one that does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NestedEnd {
    pub name: String,
    pub status: NestedStatus,
    /// Epoch milliseconds.
    pub started_at: i64,
    pub stopped_at: Option<i64>,
    pub output: Option<Value>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// The task's result for `end` of the execution `start` asked for: AWS's `StartExecution`
/// answer, or its `DescribeExecution` (dates in epoch milliseconds); an execution that did not
/// succeed fails the task with [`TASK_FAILED`], its description as the cause.
pub fn nested_result(
    start: &NestedStart,
    end: &NestedEnd,
    wait: NestedWait,
) -> Result<Value, TaskError> {
    let arn = start.execution_arn(&end.name);
    if wait == NestedWait::Started {
        return Ok(json!({"ExecutionArn": arn, "StartDate": end.started_at}));
    }
    let as_text = wait == NestedWait::OutputText;
    let shown = |value: &Value| match as_text {
        true => Value::String(value.to_string()),
        false => value.clone(),
    };
    let mut described = Map::new();
    described.insert("ExecutionArn".into(), arn.into());
    described.insert("Input".into(), shown(&start.input));
    described.insert("InputDetails".into(), json!({"Included": true}));
    described.insert("Name".into(), end.name.clone().into());
    if let Some(output) = &end.output {
        described.insert("Output".into(), shown(output));
        described.insert("OutputDetails".into(), json!({"Included": true}));
    }
    described.insert("StartDate".into(), end.started_at.into());
    described.insert("StateMachineArn".into(), start.machine_arn.clone().into());
    described.insert("Status".into(), end.status.aws().into());
    if let Some(stopped) = end.stopped_at {
        described.insert("StopDate".into(), stopped.into());
    }
    if end.status == NestedStatus::Succeeded {
        return Ok(Value::Object(described));
    }
    for (key, value) in [("Error", &end.error), ("Cause", &end.cause)] {
        if let Some(value) = value {
            described.insert(key.into(), value.clone().into());
        }
    }
    Err(TaskError::new(
        TASK_FAILED,
        Value::Object(described).to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:Child:2";

    fn start() -> NestedStart {
        NestedStart::of(&json!({
            "StateMachineArn": MACHINE,
            "Input": "{\"a\":1}",
            "Name": "run-1",
        }))
        .expect("a start")
    }

    fn end(status: NestedStatus) -> NestedEnd {
        NestedEnd {
            name: "run-1".into(),
            status,
            started_at: 1_000,
            stopped_at: Some(2_000),
            output: (status == NestedStatus::Succeeded).then(|| json!({"b": 2})),
            error: (status == NestedStatus::Failed).then(|| "Boom".into()),
            cause: (status == NestedStatus::Failed).then(|| "it broke".into()),
        }
    }

    #[test]
    fn a_start_names_its_machine_qualifier_name_and_input() {
        let start = start();
        assert_eq!(
            (start.flow.as_str(), start.qualifier.as_deref()),
            ("Child", Some("2"))
        );
        assert_eq!(start.input, json!({"a": 1}));
        assert!(NestedStart::of(&json!({"StateMachineArn": "Child"})).is_err());
        assert!(NestedStart::of(&json!({"StateMachineArn": MACHINE, "Name": 3})).is_err());
    }

    #[test]
    fn results_take_aws_shapes() {
        let started = nested_result(&start(), &end(NestedStatus::Running), NestedWait::Started);
        assert_eq!(
            started,
            Ok(json!({
                "ExecutionArn": "arn:aws:states:us-east-1:123456789012:execution:Child:run-1",
                "StartDate": 1000,
            }))
        );
        let text = nested_result(
            &start(),
            &end(NestedStatus::Succeeded),
            NestedWait::OutputText,
        )
        .expect("succeeded");
        assert_eq!(text["Output"], json!("{\"b\":2}"));
        assert_eq!(text["Status"], json!("SUCCEEDED"));
        let parsed = nested_result(
            &start(),
            &end(NestedStatus::Succeeded),
            NestedWait::OutputJson,
        )
        .expect("succeeded");
        assert_eq!(parsed["Output"], json!({"b": 2}));
        assert_eq!(parsed["Input"], json!({"a": 1}));
        let failed = nested_result(&start(), &end(NestedStatus::Failed), NestedWait::OutputJson)
            .expect_err("failed");
        assert_eq!(failed.code.as_str(), TASK_FAILED);
        let cause: Value = serde_json::from_str(&failed.detail).expect("JSON cause");
        assert_eq!(
            (cause["Status"].clone(), cause["Error"].clone()),
            (json!("FAILED"), json!("Boom"))
        );
    }
}
