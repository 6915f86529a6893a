//! Recording an inspected execution's first top-level state (`crate::inspection`): its input,
//! each stage of its data, its result, output, next state and variables. An execution that is
//! not inspected pays one check of an `Option` per hook.

use serde_json::{Map, Value};
use sluice_ir::asl::Stage;
use sluice_ir::{Next, State};

use super::Machine;
use crate::execution::ThreadId;
use crate::inspection::Inspection;

/// Stages seen during one evaluation, recorded once it is over (the evaluation borrows the
/// execution the record lives in).
pub(super) type Seen = Vec<(Stage, Value)>;

impl Machine<'_> {
    /// Whether the inspected state is running in `thread` (the top level).
    pub(super) fn watches(&self, thread: ThreadId) -> bool {
        self.ex.inspection.as_ref().is_some_and(|i| !i.closed)
            && self
                .ex
                .threads
                .get(&thread)
                .is_some_and(|t| t.parent.is_none())
    }

    /// The record, while the inspected state runs in `thread`.
    pub(super) fn inspecting(&mut self, thread: ThreadId) -> Option<&mut Inspection> {
        if !self.watches(thread) {
            return None;
        }
        self.ex.inspection.as_deref_mut().map(|i| &mut i.record)
    }

    /// The variables the top-level scope starts with: an inspection's preset ones.
    pub(super) fn preset_variables(&mut self) -> Map<String, Value> {
        self.ex
            .inspection
            .as_deref_mut()
            .map(|i| std::mem::take(&mut i.preset))
            .unwrap_or_default()
    }

    pub(super) fn inspect_entered(&mut self, thread: ThreadId, state: &State, input: &Value) {
        if let Some(inspection) = self.inspecting(thread) {
            inspection.input = Some(input.clone());
            inspection.query = state.asl.as_ref().map(|d| d.query).unwrap_or_default();
        }
    }

    pub(super) fn inspect_stages(&mut self, thread: ThreadId, seen: Seen) {
        if let Some(inspection) = self.inspecting(thread) {
            for (stage, value) in &seen {
                inspection.saw(*stage, value);
            }
        }
    }

    pub(super) fn inspect_result(&mut self, thread: ThreadId, result: &Value) {
        if let Some(inspection) = self.inspecting(thread) {
            inspection.result = Some(result.clone());
        }
    }

    /// The state is done: its output and where it goes are recorded, and the execution ends
    /// there (the inspected state is all that runs): the transition to take is returned.
    pub(super) fn inspect_exit(&mut self, thread: ThreadId, output: &Value, next: Next) -> Next {
        if !self.watches(thread) {
            return next;
        }
        let name = match next {
            Next::State(id) => Some(self.flow.state(id).name.to_string()),
            Next::End => None,
        };
        let variables = self
            .ex
            .threads
            .get(&thread)
            .map(|t| t.variables.clone())
            .unwrap_or_default();
        if let Some(inspecting) = self.ex.inspection.as_deref_mut() {
            inspecting.closed = true;
            let record = &mut inspecting.record;
            record.output = Some(output.clone());
            record.next = name;
            record.variables = variables;
        }
        Next::End
    }
}
