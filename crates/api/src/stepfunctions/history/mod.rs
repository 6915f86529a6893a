//! An execution's history as AWS writes it: event types named after the state's type
//! (`TaskStateEntered`, `WaitStateExited`), Lambda functions' own events
//! (`LambdaFunctionScheduled` …) beside service integrations' (`TaskScheduled` …), a stop as
//! `ExecutionAborted`, each event's `…EventDetails` with input and output as JSON text, ids
//! dense from 1 and `previousEventId` the event before (0 for the first and, as AWS writes
//! it, for the state entered right after the start).
//!
//! What the engine records and AWS does not (a state's failure other than a Parallel's or a
//! Map's, a Parallel branch's start and end) is left out; a Parallel's or Map's
//! `…StateStarted` and `…StateSucceeded`, which the engine does not record apart from the
//! state's entering and exiting, are written beside those.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};
use sluice_service::views::{EventId, EventType, HistoryEvent};

use super::arn::Arns;
use super::render::seconds;

mod tasks;

use tasks::{Resource, scheduled, task_event};

/// What the history needs to know besides its events.
pub struct Context<'a> {
    /// The definition the execution runs, for each state's type.
    pub definition: &'a str,
    pub role_arn: Option<&'a str>,
    pub region: &'a str,
    /// The account and state machine of the execution, for its map runs' ARNs.
    pub account: &'a str,
    pub machine: &'a str,
    /// `includeExecutionData`: false leaves inputs and outputs out.
    pub include_data: bool,
}

/// The history's events in AWS's shape, oldest first.
pub fn events(history: &[HistoryEvent], context: &Context<'_>) -> Vec<Value> {
    let types = state_types(context.definition);
    let retried = retried_states(context.definition);
    // The branches or iterations each Parallel or Map state started in its current attempt.
    let mut attempts: HashMap<&str, HashSet<u64>> = HashMap::new();
    let mut tasks: HashMap<EventId, Resource> = HashMap::new();
    let mut out = Events {
        list: Vec::with_capacity(history.len()),
        previous_type: String::new(),
        include_data: context.include_data,
    };
    // The Map states whose runs started and have not ended, innermost last.
    let mut map_runs: Vec<&str> = Vec::new();
    let labels = super::map_runs::labels(context.definition);
    for (at, event) in history.iter().enumerate() {
        let caught = caught_exit(event, history.get(at + 1), &types);
        let fan_out = fans_out(state_type(&types, event));
        if let Some(step) = event.step.as_ref().map(|s| s.as_str()) {
            // A Parallel or Map with `Retry` runs its branches or iterations again from the
            // first: AWS starts the state again, writing no failure of the attempt before
            // (recorded: `map_state_retry`, `parallel_state_retry`).
            if retried.contains(step) && starts_again(attempts.get(step), event) {
                attempts.remove(step);
                let (kind, details) = started(state_type(&types, event), &history[at..], event);
                out.push(event, kind, details);
            }
            attempt_bookkeeping(&mut attempts, step, event, fan_out);
        }
        let translated = if fan_out && fails_unstarted(&history[..at], event) {
            None
        } else if fan_out && passes_on_evaluation_error(&history[..at], event) {
            Some((format!("{}StateFailed", state_type(&types, event)), None))
        } else {
            translate(event, &types, &mut tasks, context)
        };
        let Some((mut kind, mut details)) = translated else {
            if let Some((kind, details)) = caught {
                out.push(event, kind, details);
            }
            continue;
        };
        let step_name = event.step.as_ref().map_or("", |s| s.as_str());
        let again = |e: &HistoryEvent| {
            retried.contains(step_name) && starts_again(attempts.get(step_name), e)
        };
        // The engine records an iteration's end before its outcome: an iteration that failed
        // is the one its Map's failure, or its next attempt, follows.
        if event.kind == EventType::IterationExited
            && ends_in_failure(&history[at + 1..], event, again)
        {
            kind = "MapIterationFailed".into();
            details = details.map(|(_, d)| ("mapIterationFailedEventDetails", d));
        }
        // A Parallel or Map state starts once entered (unless what it iterates over fails to
        // evaluate) and succeeds before it is exited: the engine records neither apart from
        // entering and exiting.
        // A run's start names its Map's entering, which names the state.
        let entered = (event.kind == EventType::MapRunStarted)
            .then(|| history.iter().find(|e| Some(e.id) == event.schedule_id))
            .flatten();
        let step = entered
            .unwrap_or(event)
            .step
            .as_ref()
            .map_or("", |s| s.as_str());
        if event.kind == EventType::MapRunStarted {
            map_runs.push(step);
            let run = event.detail.pointer("/output/MapRunName");
            let id = run.and_then(Value::as_str).unwrap_or("");
            let label = labels.get(step).map_or(step, String::as_str);
            let arns = Arns::new(context.region, context.account, "");
            let arn = arns.map_run(context.machine, label, id);
            details = Some(("mapRunStartedEventDetails", json!({"mapRunArn": arn})));
        }
        // A distributed Map's run ends before its state does (the engine records the run's
        // start only): as the state succeeds or fails, or aborted with the execution.
        let run_ended = map_runs.last() == Some(&step)
            && matches!(event.kind, EventType::StepExited | EventType::StepFailed);
        if run_ended {
            map_runs.pop();
            if event.kind == EventType::StepFailed {
                let error = |key| event.detail.get(key).and_then(Value::as_str).unwrap_or("");
                let failed = json!({"error": error("error"), "cause": error("cause")});
                out.push(
                    event,
                    "MapRunFailed".into(),
                    Some(("mapRunFailedEventDetails", failed)),
                );
            }
        }
        if event.kind.is_terminal() {
            for _ in map_runs.drain(..) {
                out.push(event, "MapRunAborted".into(), None);
            }
        }
        if fan_out && event.kind == EventType::StepExited {
            if run_ended {
                out.push(event, "MapRunSucceeded".into(), None);
            }
            out.push(event, kind.replace("StateExited", "StateSucceeded"), None);
        }
        let starts = fan_out
            && event.kind == EventType::StepEntered
            && !fails_to_evaluate(&history[at + 1..], event);
        let started = starts.then(|| started(state_type(&types, event), &history[at + 1..], event));
        // A Parallel or Map whose data fails to evaluate fails too.
        let failed = (fan_out && kind == "EvaluationFailed")
            .then(|| format!("{}StateFailed", state_type(&types, event)));
        out.push(event, kind, details);
        if let Some((kind, details)) = started {
            out.push(event, kind, details);
        }
        if let Some(failed) = failed {
            out.push(event, failed, None);
        }
        if let Some((kind, details)) = caught {
            out.push(event, kind, details);
        }
    }
    out.list
}

/// A state whose failure a Catch caught is exited, its output the input of the state the
/// catcher goes to (the engine goes there without recording the exit).
fn caught_exit(
    event: &HistoryEvent,
    next: Option<&HistoryEvent>,
    types: &HashMap<String, String>,
) -> Option<(String, Details)> {
    let next = next.filter(|n| n.kind == EventType::StepEntered && n.step != event.step)?;
    if event.kind != EventType::StepFailed {
        return None;
    }
    let name = event.step.as_ref().map_or("", |s| s.as_str());
    let output = next
        .detail
        .get("input")
        .map_or_else(|| "null".into(), Value::to_string);
    let details = json!({"name": name, "output": output, "outputDetails": {"truncated": false}});
    Some((
        format!("{}StateExited", state_type(types, event)),
        Some(("stateExitedEventDetails", details)),
    ))
}

/// Whether the Parallel or Map state entered at `entered` fails to evaluate its input (`rest`
/// the history after it): it never starts then.
fn fails_to_evaluate(rest: &[HistoryEvent], entered: &HistoryEvent) -> bool {
    rest.iter()
        .find(|e| e.step == entered.step)
        .is_some_and(|e| e.kind == EventType::StepFailed && is_evaluation_error(&e.detail))
}

/// The `…StateStarted` of the Parallel or Map state of `at` (its entering, or the first
/// branch or iteration of an attempt), `rest` the history from there: a Map's counts the
/// iterations it runs (each index once, whatever its attempts).
fn started(state_type: &str, rest: &[HistoryEvent], at: &HistoryEvent) -> (String, Details) {
    let kind = format!("{state_type}StateStarted");
    if state_type != "Map" {
        return (kind, None);
    }
    let own = |e: &&HistoryEvent| e.step == at.step;
    let indexes: HashSet<u64> = rest
        .iter()
        .filter(own)
        .take_while(|e| !matches!(e.kind, EventType::StepExited | EventType::StepFailed))
        .filter(|e| e.kind == EventType::IterationEntered)
        .filter_map(index)
        .collect();
    (
        kind,
        Some((
            "mapStateStartedEventDetails",
            json!({"length": indexes.len()}),
        )),
    )
}

/// Whether `event` starts a branch or iteration that its state's current `attempt` already
/// started: the state runs again after a retry.
fn starts_again(attempt: Option<&HashSet<u64>>, event: &HistoryEvent) -> bool {
    matches!(
        event.kind,
        EventType::IterationEntered | EventType::BranchEntered
    ) && attempt.is_some_and(|started| index(event).is_some_and(|i| started.contains(&i)))
}

/// Keeps `attempts` up to date with `event` of `step`: an entering starts an empty attempt,
/// a branch or iteration is added to it.
fn attempt_bookkeeping<'h>(
    attempts: &mut HashMap<&'h str, HashSet<u64>>,
    step: &'h str,
    event: &HistoryEvent,
    fan_out: bool,
) {
    match event.kind {
        EventType::StepEntered if fan_out => {
            attempts.insert(step, HashSet::new());
        }
        EventType::IterationEntered | EventType::BranchEntered => {
            if let Some(i) = index(event) {
                attempts.entry(step).or_default().insert(i);
            }
        }
        _ => {}
    }
}

fn index(event: &HistoryEvent) -> Option<u64> {
    event.detail.get("index").and_then(Value::as_u64)
}

/// Whether `event` is the failure of a Parallel or Map state, entered in `before`, for a value
/// read once it started and before any of its branches or iterations did (its tolerated
/// failures): AWS writes no `MapStateFailed` then, the execution fails after
/// `MapStateStarted` (recorded: `map_state_tolerated_failure_count_path@-1`). A failure to
/// evaluate its items is written as a failure of the state.
fn fails_unstarted(before: &[HistoryEvent], event: &HistoryEvent) -> bool {
    if event.kind != EventType::StepFailed || is_evaluation_error(&event.detail) {
        return false;
    }
    let Some(entered) = before.iter().rposition(|e| Some(e.id) == event.schedule_id) else {
        return false;
    };
    // A map run's start names the entering, not the state.
    !before[entered + 1..]
        .iter()
        .any(|e| e.step == event.step || e.schedule_id == event.schedule_id)
}

/// Whether `event` is the failure of a Parallel or Map state, entered in `before`, with the
/// evaluation error a state inside it failed with: AWS writes the state's failure, not an
/// evaluation of its own (recorded: `map_catch_error@MAP_CATCH_ERROR_OUTPUT_WITH_RETRY`).
fn passes_on_evaluation_error(before: &[HistoryEvent], event: &HistoryEvent) -> bool {
    if event.kind != EventType::StepFailed || !is_evaluation_error(&event.detail) {
        return false;
    }
    let Some(entered) = before.iter().rposition(|e| Some(e.id) == event.schedule_id) else {
        return false;
    };
    before[entered + 1..].iter().any(|e| {
        e.kind == EventType::StepFailed && e.step != event.step && e.detail == event.detail
    })
}

/// Whether the next event of `event`'s state, in `rest`, is its failure or, as `again` says,
/// the start of its next attempt.
fn ends_in_failure(
    rest: &[HistoryEvent],
    event: &HistoryEvent,
    again: impl Fn(&HistoryEvent) -> bool,
) -> bool {
    rest.iter()
        .find(|e| e.step == event.step)
        .is_some_and(|e| e.kind == EventType::StepFailed || again(e))
}

/// A failure to evaluate a state's data (AWS writes `EvaluationFailed` for it).
fn is_evaluation_error(detail: &Value) -> bool {
    detail.get("error").and_then(Value::as_str) == Some("States.QueryEvaluationError")
}

/// The events written so far, numbered densely.
struct Events {
    list: Vec<Value>,
    previous_type: String,
    include_data: bool,
}

impl Events {
    fn push(&mut self, event: &HistoryEvent, kind: String, details: Details) {
        let id = self.list.len() as u64 + 1;
        let after_start =
            self.previous_type == "ExecutionStarted" && kind.ends_with("StateEntered");
        let previous = if after_start { 0 } else { id - 1 };
        let mut map = Map::new();
        map.insert("timestamp".into(), seconds(event.time).into());
        map.insert("type".into(), kind.clone().into());
        map.insert("id".into(), id.into());
        map.insert("previousEventId".into(), previous.into());
        if let Some((key, mut value)) = details {
            if !self.include_data {
                without_data(&mut value);
            }
            map.insert(key.into(), value);
        }
        self.previous_type = kind;
        self.list.push(Value::Object(map));
    }
}

fn state_type<'a>(types: &'a HashMap<String, String>, event: &HistoryEvent) -> &'a str {
    let name = event.step.as_ref().map_or("", |s| s.as_str());
    types.get(name).map_or("Task", String::as_str)
}

/// Details without the execution's data (`includeExecutionData: false`): no input, output
/// or parameters.
fn without_data(details: &mut Value) {
    if let Value::Object(fields) = details {
        for key in ["input", "output", "parameters"] {
            fields.remove(key);
        }
    }
}

pub(super) type Details = Option<(&'static str, Value)>;

fn translate(
    event: &HistoryEvent,
    types: &HashMap<String, String>,
    tasks: &mut HashMap<EventId, Resource>,
    context: &Context<'_>,
) -> Option<(String, Details)> {
    let d = &event.detail;
    let name = event.step.as_ref().map_or("", |s| s.as_str());
    let state_type = state_type(types, event);
    let data = |key: &str| d.get(key).map_or_else(|| "null".into(), Value::to_string);
    let error = || {
        json!({
            "error": d.get("error").and_then(Value::as_str).unwrap_or(""),
            "cause": d.get("cause").and_then(Value::as_str).unwrap_or(""),
        })
    };
    let with = |key: &'static str, value: Value| Some((key, value));
    let translated = match event.kind {
        EventType::ExecutionStarted => (
            "ExecutionStarted".to_string(),
            with(
                "executionStartedEventDetails",
                json!({
                    "input": data("input"),
                    "inputDetails": {"truncated": false},
                    "roleArn": context.role_arn.unwrap_or(""),
                }),
            ),
        ),
        EventType::ExecutionSucceeded => (
            "ExecutionSucceeded".into(),
            with(
                "executionSucceededEventDetails",
                json!({"output": data("output"), "outputDetails": {"truncated": false}}),
            ),
        ),
        EventType::ExecutionFailed => (
            "ExecutionFailed".into(),
            with("executionFailedEventDetails", error()),
        ),
        EventType::ExecutionTimedOut => (
            "ExecutionTimedOut".into(),
            with("executionTimedOutEventDetails", error()),
        ),
        EventType::ExecutionStopped => (
            "ExecutionAborted".into(),
            with("executionAbortedEventDetails", error()),
        ),
        EventType::ExecutionRedriven => (
            "ExecutionRedriven".into(),
            with(
                "executionRedrivenEventDetails",
                json!({"redriveCount": d.get("redriveCount").cloned().unwrap_or(json!(1))}),
            ),
        ),
        EventType::StepEntered => (
            format!("{state_type}StateEntered"),
            with(
                "stateEnteredEventDetails",
                json!({"name": name, "input": data("input"), "inputDetails": {"truncated": false}}),
            ),
        ),
        EventType::StepExited => (
            format!("{state_type}StateExited"),
            with(
                "stateExitedEventDetails",
                json!({"name": name, "output": data("output"), "outputDetails": {"truncated": false}}),
            ),
        ),
        EventType::StepFailed if is_evaluation_error(d) => {
            let mut details = error();
            details["state"] = json!(name);
            (
                "EvaluationFailed".into(),
                with("evaluationFailedEventDetails", details),
            )
        }
        EventType::StepFailed if fans_out(state_type) => (format!("{state_type}StateFailed"), None),
        // Its ARN is written by `events`, which knows the machine.
        EventType::MapRunStarted => ("MapRunStarted".into(), None),
        EventType::IterationEntered => (
            "MapIterationStarted".into(),
            with("mapIterationStartedEventDetails", iteration(name, d)),
        ),
        EventType::IterationExited => (
            "MapIterationSucceeded".into(),
            with("mapIterationSucceededEventDetails", iteration(name, d)),
        ),
        EventType::TaskScheduled => {
            let resource = Resource::of(d.get("resource").and_then(Value::as_str).unwrap_or(""));
            tasks.insert(event.id, resource.clone());
            scheduled(&resource, d, data("input"), context.region)
        }
        EventType::TaskStarted
        | EventType::TaskSubmitted
        | EventType::TaskSubmitFailed
        | EventType::TaskSucceeded
        | EventType::TaskFailed
        | EventType::TaskTimedOut => {
            let resource = event.schedule_id.and_then(|id| tasks.get(&id))?;
            task_event(event.kind, resource, d, data("output"), error())
        }
        EventType::StepStarted
        | EventType::StepSucceeded
        | EventType::StepFailed
        | EventType::BranchEntered
        | EventType::BranchExited
        | EventType::ExecutionRetried => return None,
    };
    Some(translated)
}

/// Parallel and Map states have events of their own beside entering and exiting.
fn fans_out(state_type: &str) -> bool {
    matches!(state_type, "Parallel" | "Map")
}

fn iteration(name: &str, detail: &Value) -> Value {
    json!({"name": name, "index": detail.get("index").cloned().unwrap_or(json!(0))})
}

/// Every state's `Type`, by name, at any depth (Parallel branches, Map processors). A
/// definition that is not JSON (a flow another API created) has none: its states are Tasks.
fn state_types(definition: &str) -> HashMap<String, String> {
    let mut types = HashMap::new();
    each_state(definition, &mut |name, state| {
        if let Some(kind) = state.get("Type").and_then(Value::as_str) {
            types.insert(name.to_string(), kind.to_string());
        }
    });
    types
}

/// The states with a `Retry`, at any depth.
fn retried_states(definition: &str) -> HashSet<String> {
    let mut retried = HashSet::new();
    each_state(definition, &mut |name, state| {
        if state.get("Retry").is_some() {
            retried.insert(name.to_string());
        }
    });
    retried
}

fn each_state(definition: &str, visit: &mut impl FnMut(&str, &Value)) {
    if let Ok(root) = serde_json::from_str::<Value>(definition) {
        collect(&root, visit);
    }
}

fn collect(scope: &Value, visit: &mut impl FnMut(&str, &Value)) {
    let Some(states) = scope.get("States").and_then(Value::as_object) else {
        return;
    };
    for (name, state) in states {
        visit(name, state);
        for branch in state
            .get("Branches")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect(branch, visit);
        }
        for key in ["ItemProcessor", "Iterator"] {
            if let Some(processor) = state.get(key) {
                collect(processor, visit);
            }
        }
    }
}

#[cfg(test)]
mod tests;
