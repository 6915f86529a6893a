//! An inspected execution: the data of its first top-level state recorded stage by stage, for
//! AWS's `TestState` (one state run alone, its `inspectionData`).
//!
//! Inspecting changes two things about the run: the execution ends when the state does (its
//! output the execution's, the state it would go to recorded, not entered), and a `Retry`
//! that matches the state's error ends the execution with that error instead of waiting to
//! run the state again (`TestState` reports the state `RETRIABLE` and says which retrier and
//! how long it would wait). Every other rule is the engine's own, so a state tested alone
//! behaves as it does in a machine.

use serde_json::{Map, Value};
use sluice_ir::asl::Stage;
use sluice_ir::{QueryLanguage, TaskError};

/// What the inspected state did with its data, each stage as it was computed (`None`: the
/// state did not reach that stage).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inspection {
    /// The state's query language.
    pub query: QueryLanguage,
    /// The raw input.
    pub input: Option<Value>,
    pub after_input_path: Option<Value>,
    /// After `Parameters` (JSONata: `Arguments`).
    pub after_arguments: Option<Value>,
    /// The result before `ResultSelector`: a Task's answer, a Pass state's `Result` or
    /// effective input.
    pub result: Option<Value>,
    pub after_result_selector: Option<Value>,
    pub after_result_path: Option<Value>,
    /// The state's output.
    pub output: Option<Value>,
    /// The state that would run next (by name), if the state went on to one.
    pub next: Option<String>,
    /// The variables of the top-level scope once the state finished.
    pub variables: Map<String, Value>,
    /// The retrier that matched the state's error: its index and the backoff it would wait.
    pub retry: Option<RetryDetails>,
    /// The index of the catcher that handled the state's error.
    pub catch_index: Option<usize>,
    /// The error a retrier or a catcher handled.
    pub error: Option<TaskError>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryDetails {
    pub index: usize,
    pub backoff_ms: u64,
}

/// An inspection under way: the record, and what the engine keeps to make it.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Inspecting {
    /// The variables the state starts with; moved into the top-level scope when it starts.
    pub preset: Map<String, Value>,
    /// Whether the state has finished: nothing after it is recorded.
    pub closed: bool,
    pub record: Inspection,
}

impl Inspection {
    /// Records the value of a stage.
    pub(crate) fn saw(&mut self, stage: Stage, value: &Value) {
        let slot = match stage {
            Stage::AfterInputPath => &mut self.after_input_path,
            Stage::AfterArguments => &mut self.after_arguments,
            Stage::AfterResultSelector => &mut self.after_result_selector,
            Stage::AfterResultPath => &mut self.after_result_path,
        };
        *slot = Some(value.clone());
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn each_stage_has_its_own_place() {
        let mut inspection = Inspection::default();
        inspection.saw(Stage::AfterInputPath, &json!(1));
        inspection.saw(Stage::AfterArguments, &json!(2));
        inspection.saw(Stage::AfterResultSelector, &json!(3));
        inspection.saw(Stage::AfterResultPath, &json!(4));
        let seen = [
            &inspection.after_input_path,
            &inspection.after_arguments,
            &inspection.after_result_selector,
            &inspection.after_result_path,
        ];
        assert_eq!(
            seen,
            [
                &Some(json!(1)),
                &Some(json!(2)),
                &Some(json!(3)),
                &Some(json!(4))
            ]
        );
    }
}
