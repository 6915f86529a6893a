//! Mocked task answers: Step Functions Local's mock configuration file, for every dialect.
//!
//! The file (`--mock-config`, `SFN_MOCK_CONFIG`) names, per flow, test cases; a test case maps
//! state names to mocked responses; a mocked response gives, per invocation of its state
//! within the execution (`"0"`, or a range `"1-2"`, retries counted), a `Return` (the task's
//! result as given) or a `Throw` (its error and cause). An execution started under a test case
//! (`StartedAs::test_case`) never calls the tasks the test case names: the runtime answers
//! them from here, where task calls are made, so the engine stays pure and Retry/Catch apply
//! as usual. The invocation is counted from the execution's history (the state's
//! `TaskScheduled` events before the call's own), so a node taking the execution over, or a
//! restart, answers alike.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde_json::{Map, Value};
use sluice_engine::{EventId, EventType, HistoryEvent};
use sluice_ir::{StateName, TaskError};

/// The error of a mocked state invoked more often than its mocked response says.
pub const NO_MOCKED_RESPONSE: &str = "Sluice.NoMockedResponse";

/// A mock configuration file, validated.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MockConfig {
    /// Flow name → test case → state → mocked response name.
    machines: HashMap<String, HashMap<String, HashMap<String, String>>>,
    responses: HashMap<String, MockedResponse>,
}

/// One mocked response: its answers by invocation, from invocation 0 on without gaps.
#[derive(Debug, Clone, PartialEq)]
pub struct MockedResponse {
    name: String,
    /// `(last invocation, answer)`, in order; each entry starts after the one before.
    answers: Vec<(u64, MockAnswer)>,
}

/// What a mocked invocation gives.
#[derive(Debug, Clone, PartialEq)]
pub enum MockAnswer {
    /// The task's result, as given.
    Return(Value),
    /// The task's error.
    Throw { error: String, cause: String },
}

/// Why a mock configuration file was refused.
#[derive(Debug, thiserror::Error)]
pub enum MockConfigError {
    #[error("cannot read the mock configuration file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("mock configuration file {path}: {problem}")]
    Invalid { path: String, problem: MockProblem },
}

/// What is wrong in a mock configuration, and where.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MockProblem {
    /// Not JSON.
    #[error("line {line}, column {column}: {message}")]
    Syntax {
        line: usize,
        column: usize,
        message: String,
    },
    /// JSON, but not a mock configuration: `at` is the path of the field, as
    /// `MockedResponses.MockedLambdaRetry."1-2"`.
    #[error("at {at}: {message}")]
    Field { at: String, message: String },
}

type Parsed<T> = Result<T, MockProblem>;

impl MockConfig {
    /// Reads and validates the file at `path`.
    pub fn load(path: &Path) -> Result<Self, MockConfigError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| MockConfigError::Read {
            path: shown.clone(),
            source,
        })?;
        Self::parse(&text).map_err(|problem| MockConfigError::Invalid {
            path: shown,
            problem,
        })
    }

    /// Validates a mock configuration's text: every field known, every test case naming
    /// mocked responses that exist, every mocked response's invocations `0`, `1`, … without
    /// gap or overlap.
    pub fn parse(text: &str) -> Parsed<Self> {
        let value: Value = serde_json::from_str(text).map_err(|e| MockProblem::Syntax {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let top = object(&value, &At::root())?;
        known_fields(top, &At::root(), &["StateMachines", "MockedResponses"])?;
        let mut config = MockConfig::default();
        let responses_at = At::root().field("MockedResponses");
        if let Some(responses) = top.get("MockedResponses") {
            for (name, response) in object(responses, &responses_at)? {
                let parsed = mocked_response(name, response, &responses_at.field(name))?;
                config.responses.insert(name.clone(), parsed);
            }
        }
        let machines_at = At::root().field("StateMachines");
        if let Some(machines) = top.get("StateMachines") {
            for (machine, cases) in object(machines, &machines_at)? {
                let at = machines_at.field(machine);
                let cases = config.test_cases_of(cases, &at)?;
                config.machines.insert(machine.clone(), cases);
            }
        }
        Ok(config)
    }

    fn test_cases_of(
        &self,
        machine: &Value,
        at: &At,
    ) -> Parsed<HashMap<String, HashMap<String, String>>> {
        let fields = object(machine, at)?;
        known_fields(fields, at, &["TestCases"])?;
        let at = at.field("TestCases");
        let cases = fields
            .get("TestCases")
            .ok_or_else(|| at.problem("is missing"))?;
        let mut parsed = HashMap::new();
        for (case, states) in object(cases, &at)? {
            let at = at.field(case);
            let mut mocked = HashMap::new();
            for (state, response) in object(states, &at)? {
                let at = at.field(state);
                let response = response
                    .as_str()
                    .ok_or_else(|| at.problem("must be the name of a mocked response"))?;
                if !self.responses.contains_key(response) {
                    return Err(at.problem(&format!(
                        "names the mocked response {response:?}, which MockedResponses does not \
                         define"
                    )));
                }
                mocked.insert(state.clone(), response.to_string());
            }
            parsed.insert(case.clone(), mocked);
        }
        Ok(parsed)
    }

    /// Whether flow `machine` has test case `case`.
    pub fn has_test_case(&self, machine: &str, case: &str) -> bool {
        self.machines
            .get(machine)
            .is_some_and(|cases| cases.contains_key(case))
    }

    /// The test cases of flow `machine`, sorted (for error messages).
    pub fn test_cases(&self, machine: &str) -> Vec<&str> {
        let mut cases: Vec<&str> = self
            .machines
            .get(machine)
            .map(|cases| cases.keys().map(String::as_str).collect())
            .unwrap_or_default();
        cases.sort_unstable();
        cases
    }

    /// The mocked response that answers state `state` of flow `machine` under test case
    /// `case`, if the test case mocks that state.
    pub fn mocked(&self, machine: &str, case: &str, state: &str) -> Option<&MockedResponse> {
        let name = self.machines.get(machine)?.get(case)?.get(state)?;
        self.responses.get(name)
    }
}

impl MockedResponse {
    /// The answer of the state's invocation `index` (0 for its first within the execution).
    pub fn answer(&self, index: u64) -> Result<Value, TaskError> {
        let Some((_, answer)) = self.answers.iter().find(|(last, _)| index <= *last) else {
            let defined = self.answers.last().map_or(0, |(last, _)| last + 1);
            return Err(TaskError::new(
                NO_MOCKED_RESPONSE,
                format!(
                    "the mocked response {} defines {defined} invocation(s) and this is \
                     invocation {index} (counting from 0)",
                    self.name
                ),
            ));
        };
        match answer {
            MockAnswer::Return(value) => Ok(value.clone()),
            MockAnswer::Throw { error, cause } => Err(TaskError::new(error, cause)),
        }
    }
}

/// Which invocation of `state` within its execution the task whose `TaskScheduled` event is
/// `scheduled` is: how many of the state's tasks were scheduled before it (`history` in id
/// order, at least up to `scheduled`).
pub fn invocation_index<'a>(
    history: impl IntoIterator<Item = &'a HistoryEvent>,
    state: &StateName,
    scheduled: EventId,
) -> u64 {
    let earlier = history
        .into_iter()
        .take_while(|event| event.id < scheduled)
        .filter(|event| {
            event.kind == EventType::TaskScheduled && event.step.as_ref() == Some(state)
        })
        .count();
    u64::try_from(earlier).unwrap_or(u64::MAX)
}

fn mocked_response(name: &str, value: &Value, at: &At) -> Parsed<MockedResponse> {
    let mut ranges = BTreeMap::new();
    for (key, entry) in object(value, at)? {
        let at = at.field(key);
        let (first, last) = range(key).ok_or_else(|| {
            at.problem("an invocation is a number (\"0\") or a range of them (\"1-2\")")
        })?;
        ranges.insert(first, (key.clone(), last, mock_answer(entry, &at)?));
    }
    if ranges.is_empty() {
        return Err(at.problem("defines no invocation: give at least \"0\""));
    }
    let mut answers = Vec::with_capacity(ranges.len());
    let mut next = 0;
    for (first, (key, last, answer)) in ranges {
        if first != next {
            let at = at.field(&key);
            return Err(at.problem(&if first < next {
                format!("overlaps the invocations before it (from {first}, {next} was expected)")
            } else {
                format!("leaves invocations {next} to {} undefined", first - 1)
            }));
        }
        answers.push((last, answer));
        next = last.saturating_add(1);
    }
    Ok(MockedResponse {
        name: name.to_string(),
        answers,
    })
}

/// `"3"` or `"1-2"` as an inclusive range.
fn range(key: &str) -> Option<(u64, u64)> {
    let number = |text: &str| {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u64>().ok())
            .flatten()
    };
    match key.split_once('-') {
        None => number(key).map(|n| (n, n)),
        Some((first, last)) => {
            let (first, last) = (number(first)?, number(last)?);
            (first <= last).then_some((first, last))
        }
    }
}

fn mock_answer(value: &Value, at: &At) -> Parsed<MockAnswer> {
    let fields = object(value, at)?;
    known_fields(fields, at, &["Return", "Throw"])?;
    match (fields.get("Return"), fields.get("Throw")) {
        (Some(result), None) => Ok(MockAnswer::Return(result.clone())),
        (None, Some(throw)) => {
            let at = at.field("Throw");
            let throw = object(throw, &at)?;
            known_fields(throw, &at, &["Error", "Cause"])?;
            let text = |name: &str| {
                let at = at.field(name);
                match throw.get(name) {
                    Some(Value::String(text)) => Ok(text.clone()),
                    Some(_) => Err(at.problem("must be a string")),
                    None => Err(at.problem("is missing")),
                }
            };
            Ok(MockAnswer::Throw {
                error: text("Error")?,
                cause: text("Cause")?,
            })
        }
        _ => Err(at.problem("must hold exactly one of Return and Throw")),
    }
}

fn object<'a>(value: &'a Value, at: &At) -> Parsed<&'a Map<String, Value>> {
    value
        .as_object()
        .ok_or_else(|| at.problem("must be a JSON object"))
}

fn known_fields(fields: &Map<String, Value>, at: &At, known: &[&str]) -> Parsed<()> {
    match fields.keys().find(|k| !known.contains(&k.as_str())) {
        Some(unknown) => Err(at.field(unknown).problem(&format!(
            "is not a field of a mock configuration here (known: {})",
            known.join(", ")
        ))),
        None => Ok(()),
    }
}

/// Where a field is in the file, for messages.
struct At(String);

impl At {
    fn root() -> Self {
        At(String::new())
    }

    fn field(&self, name: &str) -> Self {
        let plain = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            && !name.starts_with(|c: char| c.is_ascii_digit());
        let name = if plain {
            name.to_string()
        } else {
            format!("{name:?}")
        };
        if self.0.is_empty() {
            At(name)
        } else {
            At(format!("{}.{name}", self.0))
        }
    }

    fn problem(&self, message: &str) -> MockProblem {
        MockProblem::Field {
            at: if self.0.is_empty() {
                "the top level".to_string()
            } else {
                self.0.clone()
            },
            message: message.to_string(),
        }
    }
}

#[cfg(test)]
mod tests;
