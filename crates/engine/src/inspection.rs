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
    /// The variables the state starts with; moved into the top-level scope when it starts.
    pub(crate) preset: Map<String, Value>,
    /// Whether the state has finished: nothing after it is recorded.
    pub(crate) closed: bool,
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

impl Inspection {
    /// An inspection whose state starts with `variables` set.
    pub fn with_variables(variables: Map<String, Value>) -> Self {
        Self {
            preset: variables,
            ..Self::default()
        }
    }

    /// Records the value of a stage (while the state runs).
    pub(crate) fn saw(&mut self, stage: Stage, value: &Value) {
        if self.closed {
            return;
        }
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
    fn nothing_is_recorded_once_the_state_has_finished() {
        let mut inspection = Inspection::default();
        inspection.saw(Stage::AfterInputPath, &json!(1));
        inspection.closed = true;
        inspection.saw(Stage::AfterInputPath, &json!(2));
        inspection.saw(Stage::AfterResultPath, &json!(3));
        assert_eq!(inspection.after_input_path, Some(json!(1)));
        assert_eq!(inspection.after_result_path, None);
    }
}
