//! One state of ASL as a state machine of its own, for AWS's `TestState`: the state alone (or
//! one top-level state picked by name out of a whole machine) becomes the `StartAt` of a
//! machine in which every state it can go to is a `Succeed` stand-in, so the machine compiles
//! like any other and the state's transitions name real states. Only the state runs (an
//! inspected execution ends with it, see the engine's `inspection.rs`).

use serde_json::{Map, Value, json};
use sluice_ir::Flow;

use crate::error::{DefinitionError, Problem, ProblemKind};

/// What the tested state is called when the definition is the state alone (AWS's API gives it
/// no name).
const TESTED_STATE: &str = "TestState";

/// A machine running one state.
#[derive(Debug, Clone)]
pub struct SingleState {
    /// The machine, compiled.
    pub flow: Flow,
    /// The tested state's name in it.
    pub state: String,
}

/// `definition` as a machine of one state: the state itself when `state` is `None`, else the
/// top-level state `state` of the machine `definition`, whose problems are those of the whole
/// machine.
pub fn single_state(definition: &str, state: Option<&str>) -> Result<SingleState, DefinitionError> {
    match state {
        None => alone(definition),
        Some(name) => picked(definition, name),
    }
}

/// A state given alone: its text kept as it came (after a prefix on its first line), so every
/// problem's line, and its column past the first line, is where the user wrote it.
fn alone(text: &str) -> Result<SingleState, DefinitionError> {
    let state = json_object(text, "the state's definition")?;
    let targets = targets(&state);
    let name = (0..)
        .map(|n| match n {
            0 => TESTED_STATE.to_string(),
            n => format!("{TESTED_STATE}-{n}"),
        })
        .find(|n| !targets.contains(n))
        .unwrap_or_else(|| TESTED_STATE.to_string());
    let mut definition = format!(
        "{{\"StartAt\": {}, \"States\": {{{}: ",
        json!(name),
        json!(name)
    );
    let prefix = u64::try_from(definition.chars().count()).unwrap_or(0);
    definition.push_str(text);
    for stub in stand_ins(&targets) {
        definition.push_str(&stub);
    }
    definition.push_str("}}");
    let flow =
        crate::compile(sluice_ir::Dialect::Asl, &definition).map_err(|e| unshifted(e, prefix))?;
    Ok(SingleState { flow, state: name })
}

/// The problems with the columns of the first line as the user wrote them, before the
/// `prefix` characters put ahead of the state, and without pointers (which would name the
/// machine made around the state).
fn unshifted(mut error: DefinitionError, prefix: u64) -> DefinitionError {
    for problem in &mut error.problems {
        problem.pointer = None;
        if problem.line == Some(1)
            && let Some(column) = problem.column.as_mut()
        {
            *column = column.saturating_sub(prefix).max(1);
        }
    }
    error
}

/// A top-level state of a whole machine (which must compile as it is).
fn picked(text: &str, name: &str) -> Result<SingleState, DefinitionError> {
    crate::compile(sluice_ir::Dialect::Asl, text)?;
    let machine = json_object(text, "a state machine")?;
    let Some(state) = machine
        .get("States")
        .and_then(Value::as_object)
        .and_then(|states| states.get(name))
        .and_then(Value::as_object)
    else {
        return Err(DefinitionError::single(Problem::new(format!(
            "the state machine has no top-level state {name:?} (stateName names a state of \
             the machine's States)"
        ))));
    };
    let targets = targets(state);
    let mut states = Map::new();
    states.insert(name.to_string(), Value::Object(state.clone()));
    for target in targets.iter().filter(|t| *t != name) {
        states.insert(target.clone(), json!({"Type": "Succeed"}));
    }
    let mut wrapped = json!({"StartAt": name, "States": states});
    if let Some(language) = machine.get("QueryLanguage") {
        wrapped["QueryLanguage"] = language.clone();
    }
    Ok(SingleState {
        flow: crate::compile(sluice_ir::Dialect::Asl, &wrapped.to_string())?,
        state: name.to_string(),
    })
}

fn json_object(text: &str, what: &str) -> Result<Map<String, Value>, DefinitionError> {
    match serde_json::from_str::<Value>(text) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(DefinitionError::single(Problem::new(format!(
            "{what} is not a JSON object"
        )))),
        Err(e) => Err(DefinitionError::single(Problem {
            line: u64::try_from(e.line()).ok(),
            column: u64::try_from(e.column()).ok(),
            state: None,
            pointer: None,
            message: format!("{what} is not JSON: {e}"),
            kind: ProblemKind::Syntax,
        })),
    }
}

/// The states a state can go to: `Next`, a Choice's rules' `Next` and `Default`, each
/// catcher's `Next`, in order, without repeats.
fn targets(state: &Map<String, Value>) -> Vec<String> {
    let rules = state.get("Choices").and_then(Value::as_array);
    let catchers = state.get("Catch").and_then(Value::as_array);
    let nested = rules
        .into_iter()
        .chain(catchers)
        .flatten()
        .filter_map(|entry| entry.get("Next"));
    let mut names: Vec<String> = Vec::new();
    for target in [state.get("Next"), state.get("Default")]
        .into_iter()
        .flatten()
        .chain(nested)
    {
        if let Some(name) = target.as_str()
            && !names.iter().any(|n| n == name)
        {
            names.push(name.to_string());
        }
    }
    names
}

/// The stand-in states, each as it follows the tested state's text.
fn stand_ins(targets: &[String]) -> Vec<String> {
    targets
        .iter()
        .map(|t| format!(", {}: {{\"Type\": \"Succeed\"}}", json!(t)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_state_alone_runs_as_the_start_of_a_machine_with_its_targets_standing_in() {
        let text = r#"{"Type": "Choice", "Choices": [{"Variable": "$.n", "NumericEquals": 1, "Next": "One"}], "Default": "Other"}"#;
        let single = single_state(text, None).unwrap();
        assert_eq!(single.state, "TestState");
        let names: Vec<&str> = single.flow.states.iter().map(|s| s.name.as_str()).collect();
        assert!(names.contains(&"TestState") && names.contains(&"One") && names.contains(&"Other"));
    }

    #[test]
    fn a_target_named_like_the_tested_state_does_not_take_its_name() {
        // The state alone has no name: a `Next` of `TestState` is another state.
        let text = r#"{"Type": "Pass", "Next": "TestState"}"#;
        assert_eq!(single_state(text, None).unwrap().state, "TestState-1");
        let text = r#"{"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke", "Arguments": {"FunctionName": "f"}, "QueryLanguage": "JSONata", "Next": "A", "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "TestState"}]}"#;
        assert_eq!(single_state(text, None).unwrap().state, "TestState-1");
    }

    #[test]
    fn a_problem_of_the_state_is_located_where_it_was_written() {
        let text = "{\n  \"Type\": \"Pass\",\n  \"Nxt\": \"A\"\n}";
        let error = single_state(text, None).unwrap_err();
        assert!(
            error.problems.iter().any(|p| p.line == Some(3)),
            "{error:?}"
        );
        let error = single_state(r#"{"Type": "Pass", "Nxt": "A"}"#, None).unwrap_err();
        assert_eq!(
            (error.problems[0].line, error.problems[0].column),
            (Some(1), Some(18)),
            "{error:?}"
        );
        let error = single_state("[1]", None).unwrap_err();
        assert_eq!(
            error.problems[0].message,
            "the state's definition is not a JSON object"
        );
    }

    #[test]
    fn a_state_is_picked_out_of_a_machine_with_its_query_language() {
        let machine = r#"{"QueryLanguage": "JSONata", "StartAt": "A", "States": {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Output": "{% $states.input %}", "End": true}}}"#;
        let single = single_state(machine, Some("B")).unwrap();
        assert_eq!(single.state, "B");
        let start = single.flow.scope(sluice_ir::ScopeId::ROOT).start;
        let b = single.flow.state(start);
        assert_eq!(b.name.as_str(), "B");
        assert_eq!(
            b.asl.as_ref().map(|d| d.query),
            Some(sluice_ir::QueryLanguage::Jsonata)
        );
        assert!(single_state(machine, Some("C")).is_err());
    }
}
