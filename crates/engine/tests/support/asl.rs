//! The same random flows as [`super::flows`], written as Amazon States Language text and
//! compiled by `sluice-lang`: what the simulation runs then is what an ASL user's machine
//! becomes, JSONPath and JSONata states, `$$` and `$states`, Retry and Catch, Parallel and
//! inline Map.
//!
//! A scope whose [`DataModel`] is `Merge` writes its states in JSONata (`QueryLanguage` per
//! state), and so do the scopes nested in them; the others are JSONPath; a Dag, which ASL lacks, becomes a Parallel of its nodes.

use serde_json::{Map as Object, Value, json};
use sluice_ir::{DataModel, Dialect, ErrorCode, Flow};

use super::flows::{
    CatchSpec, MATCHED_CODES, OutputSpec, RecoverySpec, RetrySpec, ScopeSpec, StateSpec, Target,
    TaskSpec,
};

const FUNCTION: &str = "arn:aws:lambda:us-east-1:123456789012:function:sim";

/// The machine's text and its compiled flow; a machine that does not compile is a bug of
/// the generator or of the compiler, and fails with its text.
pub fn build(root: &ScopeSpec) -> (String, Flow) {
    let mut writer = Writer::default();
    let machine = writer.scope(root, false);
    let text = serde_json::to_string_pretty(&machine).expect("JSON");
    match sluice_lang::compile(Dialect::Asl, &text) {
        Ok(flow) => (text, flow),
        Err(e) => panic!("the generated machine does not compile: {e}\n{text}"),
    }
}

#[derive(Default)]
struct Writer {
    /// State names are unique in the whole machine, as AWS requires.
    next_name: usize,
}

/// One scope's names: a name per state, and the `Succeed` a Choice or Catch target past the
/// end goes to.
struct Names {
    states: Vec<String>,
    done: String,
}

impl Names {
    fn resolve(&self, target: Target, position: usize) -> Option<&str> {
        let after = self.states.len() - position - 1;
        match target {
            Target::Forward(_) | Target::End if after == 0 => None,
            Target::Forward(offset) => Some(&self.states[position + 1 + offset as usize % after]),
            Target::Back(offset) => Some(&self.states[offset as usize % (position + 1)]),
            Target::End => None,
        }
    }

    fn resolve_or_done(&self, target: Target, position: usize) -> &str {
        self.resolve(target, position).unwrap_or(&self.done)
    }
}

impl Writer {
    fn name(&mut self) -> String {
        self.next_name += 1;
        format!("S{}", self.next_name)
    }

    /// `within_jsonata`: a JSONata state's nested states may not be JSONPath ones.
    fn scope(&mut self, spec: &ScopeSpec, within_jsonata: bool) -> Value {
        let names = Names {
            states: spec.states.iter().map(|_| self.name()).collect(),
            done: self.name(),
        };
        let jsonata = within_jsonata || spec.data == DataModel::Merge;
        let mut states = Object::new();
        for (position, state) in spec.states.iter().enumerate() {
            let mut written = self.state(state, &names, position, jsonata);
            // Said on every state: a nested scope's states would inherit their parent's.
            let language = if jsonata { "JSONata" } else { "JSONPath" };
            written.insert("QueryLanguage".into(), json!(language));
            if !matches!(
                state,
                StateSpec::Choice { .. } | StateSpec::Succeed | StateSpec::Fail { .. }
            ) {
                match names.states.get(position + 1) {
                    Some(next) => written.insert("Next".into(), json!(next)),
                    None => written.insert("End".into(), json!(true)),
                };
            }
            states.insert(names.states[position].clone(), Value::Object(written));
        }
        states.insert(names.done.clone(), json!({"Type": "Succeed"}));
        json!({"StartAt": names.states[0], "States": reachable(states, &names.states[0])})
    }

    fn state(
        &mut self,
        spec: &StateSpec,
        names: &Names,
        position: usize,
        jsonata: bool,
    ) -> Object<String, Value> {
        let mut state = Object::new();
        match spec {
            StateSpec::Pass { input, output } => {
                state.insert("Type".into(), json!("Pass"));
                pass(&mut state, *input, *output, jsonata);
            }
            StateSpec::Task(task) => {
                state.insert("Type".into(), json!("Task"));
                self::task(&mut state, task, jsonata);
                recovery(&mut state, &task.recovery, names, jsonata);
            }
            StateSpec::Choice { branches, default } => {
                state.insert("Type".into(), json!("Choice"));
                let mut rules: Vec<Value> = branches
                    .iter()
                    .map(|(k, target)| rule(*k, names.resolve_or_done(*target, position), jsonata))
                    .collect();
                // A rule that never matches: ASL needs one rule, and AWS refuses a scope with no
                // terminal state (`MISSING_END_STATE`), which a Choice looping back would
                // otherwise leave once unreachable states are dropped.
                rules.push(rule(-1, &names.done, jsonata));
                state.insert("Choices".into(), Value::Array(rules));
                state.insert(
                    "Default".into(),
                    json!(names.resolve_or_done(*default, position)),
                );
            }
            StateSpec::Parallel { branches, recovery } => {
                state.insert("Type".into(), json!("Parallel"));
                let branches: Vec<Value> =
                    branches.iter().map(|b| self.scope(b, jsonata)).collect();
                state.insert("Branches".into(), Value::Array(branches));
                self::recovery(&mut state, recovery, names, jsonata);
            }
            StateSpec::Dag { nodes, recovery } if !nodes.is_empty() => {
                state.insert("Type".into(), json!("Parallel"));
                let branches: Vec<Value> = nodes
                    .iter()
                    .map(|n| self.scope(&n.scope, jsonata))
                    .collect();
                state.insert("Branches".into(), Value::Array(branches));
                self::recovery(&mut state, recovery, names, jsonata);
            }
            StateSpec::Dag { .. } => {
                state.insert("Type".into(), json!("Pass"));
            }
            StateSpec::Map {
                processor,
                max_concurrency,
                constructor,
                recovery,
            } => {
                state.insert("Type".into(), json!("Map"));
                let (items, selector) = if jsonata {
                    ("Items", json!("{% $states.context.Map.Item.Value %}"))
                } else {
                    (
                        "ItemsPath",
                        json!({"k.$": "$$.Map.Item.Value.k", "index.$": "$$.Map.Item.Index"}),
                    )
                };
                let source = if jsonata {
                    "{% $states.input.items %}"
                } else {
                    "$.items"
                };
                state.insert(items.into(), json!(source));
                if *constructor {
                    state.insert("ItemSelector".into(), selector);
                }
                state.insert("MaxConcurrency".into(), json!(max_concurrency));
                state.insert("ItemProcessor".into(), self.scope(processor, jsonata));
                self::recovery(&mut state, recovery, names, jsonata);
            }
            StateSpec::Wait {
                seconds,
                from_input,
            } => {
                state.insert("Type".into(), json!("Wait"));
                match (from_input, jsonata) {
                    (true, true) => state.insert("Seconds".into(), json!("{% $states.input.k %}")),
                    (true, false) => state.insert("SecondsPath".into(), json!("$.k")),
                    (false, _) => state.insert("Seconds".into(), json!(seconds)),
                };
            }
            StateSpec::Succeed => {
                state.insert("Type".into(), json!("Succeed"));
            }
            StateSpec::Fail { code } => {
                state.insert("Type".into(), json!("Fail"));
                state.insert("Error".into(), json!(code.unwrap_or("Failed")));
                state.insert("Cause".into(), json!("simulated"));
            }
        }
        state
    }
}

/// The states reachable from `start`: ASL refuses the others, which the IR would keep.
fn reachable(mut states: Object<String, Value>, start: &str) -> Object<String, Value> {
    let mut seen = vec![start.to_string()];
    let mut at = 0;
    while let Some(name) = seen.get(at).cloned() {
        at += 1;
        let state = &states[&name];
        let rules = state["Choices"].as_array().into_iter().flatten();
        let catchers = state["Catch"].as_array().into_iter().flatten();
        let targets = [&state["Next"], &state["Default"]]
            .into_iter()
            .chain(rules.chain(catchers).map(|entry| &entry["Next"]))
            .filter_map(Value::as_str);
        for target in targets {
            if !seen.iter().any(|s| s == target) {
                seen.push(target.to_string());
            }
        }
    }
    states.retain(|name, _| seen.contains(name));
    states
}

fn pass(state: &mut Object<String, Value>, input: bool, output: OutputSpec, jsonata: bool) {
    let reads_context = matches!(output, OutputSpec::WithContext);
    match (jsonata, input, output) {
        (_, false, OutputSpec::None) => {}
        (true, _, _) => {
            let extra = if reads_context {
                r#", "state": $states.context.State.Name"#
            } else {
                ""
            };
            let output =
                format!(r#"{{% {{"k": $states.input.k, "items": $states.input.items{extra}}} %}}"#);
            state.insert("Output".into(), json!(output));
            state.insert("Assign".into(), json!({"last": "{% $states.input.k %}"}));
        }
        (false, _, _) => {
            let mut parameters = json!({"k.$": "$.k", "items.$": "$.items"});
            if reads_context {
                parameters["state.$"] = json!("$$.State.Name");
            }
            state.insert("Parameters".into(), parameters);
            if !matches!(output, OutputSpec::None) {
                state.insert("ResultPath".into(), json!("$.result"));
            }
            state.insert("Assign".into(), json!({"last.$": "$.k"}));
        }
    }
}

fn task(state: &mut Object<String, Value>, spec: &TaskSpec, jsonata: bool) {
    let (resource, arguments) = match (spec.callback, jsonata) {
        (true, true) => (
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            Some((
                "Arguments",
                json!({"FunctionName": FUNCTION,
                "Payload": {"token": "{% $states.context.Task.Token %}", "k": "{% $states.input.k %}"}}),
            )),
        ),
        (true, false) => (
            "arn:aws:states:::lambda:invoke.waitForTaskToken",
            Some((
                "Parameters",
                json!({"FunctionName": FUNCTION,
                "Payload": {"token.$": "$$.Task.Token", "k.$": "$.k"}}),
            )),
        ),
        (false, true) => (
            FUNCTION,
            spec.body_template.then(|| {
                (
                    "Arguments",
                    json!({"k": "{% $states.input.k %}", "items": "{% $states.input.items %}"}),
                )
            }),
        ),
        (false, false) => (
            FUNCTION,
            spec.body_template
                .then(|| ("Parameters", json!({"k.$": "$.k", "items.$": "$.items"}))),
        ),
    };
    state.insert("Resource".into(), json!(resource));
    if let Some((field, value)) = arguments {
        state.insert(field.into(), value);
    }
    if let Some(timeout) = spec.timeout_secs {
        state.insert("TimeoutSeconds".into(), json!(timeout));
    }
}

fn rule(k: i64, next: &str, jsonata: bool) -> Value {
    if jsonata {
        json!({"Condition": format!("{{% $states.input.k = {k} %}}"), "Next": next})
    } else {
        json!({"Variable": "$.k", "NumericEquals": k, "Next": next})
    }
}

/// ASL's name of a code the generated flows match.
fn error_name(index: usize) -> &'static str {
    match MATCHED_CODES[index] {
        ErrorCode::ALL => "States.ALL",
        ErrorCode::TIMEOUT => "States.Timeout",
        ErrorCode::EXPRESSION => "States.Runtime",
        other => other,
    }
}

/// Retry and Catch as ASL allows them: `States.ALL` alone, in the last entry only.
fn recovery(state: &mut Object<String, Value>, spec: &RecoverySpec, names: &Names, jsonata: bool) {
    let retry: Vec<Value> = in_asl_order(&spec.retry, |r: &RetrySpec| r.code)
        .into_iter()
        .map(|r| {
            json!({
                "ErrorEquals": [error_name(r.code)],
                "MaxAttempts": r.max_attempts,
                "IntervalSeconds": r.interval_secs.max(1),
                "BackoffRate": if r.backoff { 2.0 } else { 1.0 },
                "MaxDelaySeconds": 5,
            })
        })
        .collect();
    let catch: Vec<Value> = in_asl_order(&spec.catch, |c: &CatchSpec| c.code)
        .into_iter()
        .map(|c| {
            let mut catcher = json!({
                "ErrorEquals": [error_name(c.code)],
                "Next": names.states[c.target as usize % names.states.len()],
            });
            match (c.output, jsonata) {
                (false, _) => {}
                (true, true) => catcher["Output"] = json!("{% $states.errorOutput %}"),
                (true, false) => catcher["ResultPath"] = json!("$.error"),
            }
            catcher
        })
        .collect();
    if !retry.is_empty() {
        state.insert("Retry".into(), Value::Array(retry));
    }
    if !catch.is_empty() {
        state.insert("Catch".into(), Value::Array(catch));
    }
}

/// The entries without `States.ALL`, then the first with it.
fn in_asl_order<T>(entries: &[T], code: impl Fn(&T) -> usize) -> Vec<&T> {
    let (all, others): (Vec<&T>, Vec<&T>) = entries
        .iter()
        .partition(|e| MATCHED_CODES[code(e)] == ErrorCode::ALL);
    others.into_iter().chain(all.into_iter().take(1)).collect()
}
