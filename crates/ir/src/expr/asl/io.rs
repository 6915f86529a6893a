//! `InputPath`, `OutputPath` and `ResultPath`: how a JSONPath state selects its effective input
//! and combines its result with its raw input (specification, "Input and Output Processing
//! with JSONPath"; Developer Guide, "InputPath", "ResultPath", "OutputPath").

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::error::AslError;
use super::path::{Path, PathError, PathRoot, Step, resolve_index};
use super::scope::Scope;

/// An `InputPath` or `OutputPath`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum SelectPath {
    /// The field is absent or `"$"`: the value passes unchanged.
    #[default]
    Whole,
    /// The field is `null`: the value is discarded for `{}`.
    Discard,
    Path(Path),
}

impl SelectPath {
    /// The field's string value; `"$"` is [`SelectPath::Whole`].
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let path = Path::parse(text)?;
        Ok(if path.is_whole_input() {
            SelectPath::Whole
        } else {
            SelectPath::Path(path)
        })
    }

    /// Applies the path to the scope's input (`$`); the context object and variables are
    /// reachable through `$$` and `$name`. A definite path that finds nothing is AWS's
    /// `States.Runtime` "Invalid path" failure.
    pub fn apply<'v>(&self, scope: &'v Scope<'_>) -> Result<Cow<'v, Value>, AslError> {
        match self {
            SelectPath::Whole => Ok(Cow::Borrowed(scope.input())),
            SelectPath::Discard => Ok(Cow::Owned(Value::Object(Map::new()))),
            SelectPath::Path(path) => path.select(scope).ok_or_else(|| {
                let text = path.text().to_owned();
                match path.missing_property(scope) {
                    Some(missing) => AslError::MissingProperty {
                        path: text,
                        missing,
                    },
                    None => AslError::InvalidPath {
                        path: text,
                        normalized: path.normalized(),
                    },
                }
            }),
        }
    }
}

/// A `ResultPath`: a reference path into the raw input, never the context object or a
/// variable (specification: "The value of "ResultPath" MUST NOT begin with "$$""; "the
/// "ResultPath" field MUST NOT reference a variable").
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub enum ResultPath {
    /// Absent or `"$"`: the result replaces the input.
    #[default]
    Whole,
    /// `null`: the result is discarded and the input passes unchanged.
    Discard,
    /// The result is placed at this path in the input.
    At(Path),
}

impl ResultPath {
    pub fn parse(text: &str) -> Result<Self, PathError> {
        let path = Path::parse_reference(text)?;
        if *path.root() != PathRoot::Input {
            return Err(PathError::NotInputRooted(text.to_owned()));
        }
        Ok(if path.is_whole_input() {
            ResultPath::Whole
        } else {
            ResultPath::At(path)
        })
    }

    /// [`ResultPath::apply`] to a raw input the caller keeps (a retry or a Catcher may still
    /// need it): copies it only where the output is made of it.
    pub fn combine(&self, input: &Value, result: Value) -> Result<Value, AslError> {
        match self {
            ResultPath::Whole => Ok(result),
            _ => self.apply(input.clone(), result),
        }
    }

    /// Combines `result` with the raw `input`. At a path, an existing field or array element
    /// is overwritten, and missing fields are created with any intervening objects; a field of
    /// something that is not an object, or an index outside an array, is
    /// `States.ResultPathMatchFailure` (specification, "JSONPath Runtime Errors").
    pub fn apply(&self, mut input: Value, result: Value) -> Result<Value, AslError> {
        self.put(&mut input, result)?;
        Ok(input)
    }

    /// [`ResultPath::apply`] in place, saying what it changed so that
    /// [`ResultPath::take_back`] can give the input back: a state whose later stage fails
    /// still has its raw input, for a retry, a Catcher or a redrive, without having copied
    /// it. On failure the input is unchanged.
    pub fn put(&self, input: &mut Value, result: Value) -> Result<Placed, AslError> {
        match self {
            ResultPath::Whole => Ok(Placed::Replaced(std::mem::replace(input, result))),
            ResultPath::Discard => Ok(Placed::Nothing),
            ResultPath::At(path) => {
                let steps = path.steps().unwrap_or_default();
                if !fits(input, steps) {
                    return Err(AslError::ResultPathMatchFailure {
                        path: path.text().to_owned(),
                        input: input.to_string(),
                    });
                }
                Ok(place(input, steps, result))
            }
        }
    }

    /// Turns `output` back into the input [`ResultPath::put`] made it of.
    pub fn take_back(&self, output: &mut Value, placed: Placed) {
        match (self, placed) {
            (ResultPath::At(path), placed) => {
                unplace(output, path.steps().unwrap_or_default(), placed);
            }
            // `"$"`: the result took the place of the whole input.
            (_, Placed::Replaced(input)) => *output = input,
            (_, _) => {}
        }
    }
}

/// What [`ResultPath::put`] changed in its input.
#[derive(Debug)]
pub enum Placed {
    /// Nothing: the input is the output.
    Nothing,
    /// The value the result took the place of (for `"$"`, the whole input).
    Replaced(Value),
    /// The field at this step of the path was added, with the objects after it.
    Added(usize),
}

/// Whether `place` can put a value at `steps` in `value` (checked first so that a failure
/// reports the input as it was).
fn fits(mut value: &Value, steps: &[Step]) -> bool {
    for (at, step) in steps.iter().enumerate() {
        let next = match (step, value) {
            (Step::Field(name), Value::Object(map)) => map.get(name),
            (Step::Index(i), Value::Array(items)) => {
                match resolve_index(*i, items.len()).and_then(|i| items.get(i)) {
                    Some(item) => Some(item),
                    None => return false,
                }
            }
            _ => return false,
        };
        match next {
            Some(next) => value = next,
            // The rest of the path is created as objects, which only fields can enter.
            None => return steps[at + 1..].iter().all(|s| matches!(s, Step::Field(_))),
        }
    }
    true
}

/// Puts `result` at `steps` in `value`; `fits` has said it can.
fn place(value: &mut Value, steps: &[Step], result: Value) -> Placed {
    let Some((last, parents)) = steps.split_last() else {
        return Placed::Replaced(std::mem::replace(value, result));
    };
    let mut added = None;
    let mut current = value;
    for (at, step) in parents.iter().enumerate() {
        current = match (step, current) {
            (Step::Field(name), Value::Object(map)) => {
                if !map.contains_key(name) {
                    map.insert(name.clone(), Value::Object(Map::new()));
                    added.get_or_insert(at);
                }
                match map.get_mut(name) {
                    Some(next) => next,
                    None => return Placed::Nothing,
                }
            }
            (Step::Index(i), Value::Array(items)) => {
                match resolve_index(*i, items.len()).and_then(|at| items.get_mut(at)) {
                    Some(next) => next,
                    None => return Placed::Nothing,
                }
            }
            _ => return Placed::Nothing,
        };
    }
    // The last step is looked up once: most results land in a field of the input itself.
    let slot = match (last, current) {
        (Step::Field(name), Value::Object(map)) => match map.get_mut(name) {
            Some(slot) => slot,
            None => {
                map.insert(name.clone(), result);
                return Placed::Added(added.unwrap_or(parents.len()));
            }
        },
        (Step::Index(i), Value::Array(items)) => {
            match resolve_index(*i, items.len()).and_then(|at| items.get_mut(at)) {
                Some(slot) => slot,
                None => return Placed::Nothing,
            }
        }
        _ => return Placed::Nothing,
    };
    // A slot found means every step before it was there already.
    Placed::Replaced(std::mem::replace(slot, result))
}

/// Undoes `place`: puts the replaced value back, or removes the field it added (the last of
/// its object, so the order of the others does not move).
fn unplace(value: &mut Value, steps: &[Step], placed: Placed) {
    let (parents, replaced) = match placed {
        Placed::Nothing => return,
        Placed::Replaced(old) => (steps, Some(old)),
        Placed::Added(at) => (&steps[..at], None),
    };
    let mut current = value;
    for step in parents {
        let next = match (step, current) {
            (Step::Field(name), Value::Object(map)) => map.get_mut(name),
            (Step::Index(i), Value::Array(items)) => {
                resolve_index(*i, items.len()).and_then(|at| items.get_mut(at))
            }
            _ => None,
        };
        let Some(next) = next else { return };
        current = next;
    }
    match (replaced, steps.get(parents.len()), current) {
        (Some(old), _, slot) => *slot = old,
        (None, Some(Step::Field(name)), Value::Object(map)) => {
            map.shift_remove(name);
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn result_path(text: &str) -> ResultPath {
        ResultPath::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn apply(text: &str, input: Value, result: Value) -> Result<Value, String> {
        result_path(text)
            .apply(input, result)
            .map_err(|e| e.to_string())
    }

    // A state whose output fails after `ResultPath` (an `OutputPath` finding nothing, an
    // output over the size limit) retries or is caught with its raw input as it was.
    #[test]
    fn a_put_result_is_taken_back() {
        let input = json!({"a": {"b": 1, "c": [1, 2]}, "z": true});
        for text in ["$", "$.a.b", "$.a.c[1]", "$.a.new.deeper", "$.fresh"] {
            let path = result_path(text);
            let mut output = input.clone();
            let placed = path
                .put(&mut output, json!("result"))
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_ne!(output, input, "{text}");
            path.take_back(&mut output, placed);
            assert_eq!(output, input, "{text}");
            let order: Vec<_> = output
                .as_object()
                .map(|m| m.keys().collect())
                .unwrap_or_default();
            assert_eq!(order, ["a", "z"], "{text}");
        }
        let mut output = input.clone();
        let refused = result_path("$.z.x").put(&mut output, json!(1));
        assert!(matches!(
            refused,
            Err(AslError::ResultPathMatchFailure { .. })
        ));
        assert_eq!(output, input);
    }

    // Developer Guide, "ResultPath": replace, include, update a node, include error in a
    // Catch; specification, "Input and Output Processing with JSONPath" (`$.master.detail`,
    // `$.master.result.sum`, `$.b.greeting`).
    #[test]
    fn documented_result_paths() {
        let input = json!({
            "comment": "This is a test of the input and output of a Task state.",
            "details": "Default example",
            "who": "AWS Step Functions"
        });
        let hello = json!("Hello, AWS Step Functions!");
        assert_eq!(apply("$", input.clone(), hello.clone()), Ok(hello.clone()));
        assert_eq!(
            apply("$.taskresult", input.clone(), hello.clone()),
            Ok(json!({
                "comment": "This is a test of the input and output of a Task state.",
                "details": "Default example",
                "who": "AWS Step Functions",
                "taskresult": "Hello, AWS Step Functions!"
            }))
        );
        assert_eq!(
            apply(
                "$.strings.lambdaresult",
                json!({"comment": "An input comment.", "strings": {"string1": "foo", "string2": "bar", "string3": "baz"}, "who": "AWS Step Functions"}),
                hello.clone()
            ),
            Ok(
                json!({"comment": "An input comment.", "strings": {"string1": "foo", "string2": "bar", "string3": "baz", "lambdaresult": "Hello, AWS Step Functions!"}, "who": "AWS Step Functions"})
            )
        );
        assert_eq!(
            apply("$.comment", input, hello.clone()),
            Ok(json!({
                "comment": "Hello, AWS Step Functions!",
                "details": "Default example",
                "who": "AWS Step Functions"
            }))
        );
        assert_eq!(
            apply(
                "$.error",
                json!({"foo": "bar"}),
                json!({"Error": "Error here"})
            ),
            Ok(json!({"foo": "bar", "error": {"Error": "Error here"}}))
        );
        let master = json!({"master": {"detail": [1, 2, 3]}});
        assert_eq!(
            apply("$.master.detail", master.clone(), json!(6)),
            Ok(json!({"master": {"detail": 6}}))
        );
        assert_eq!(
            apply("$.master.result.sum", master, json!(6)),
            Ok(json!({"master": {"detail": [1, 2, 3], "result": {"sum": 6}}}))
        );
        assert_eq!(
            apply("$.b.greeting", json!({"a": 1}), json!("Hi!")),
            Ok(json!({"a": 1, "b": {"greeting": "Hi!"}}))
        );
        assert_eq!(
            ResultPath::Discard.apply(json!({"keep": 1}), json!("dropped")),
            Ok(json!({"keep": 1}))
        );
    }

    // Specification, "JSONPath Runtime Errors": input "foo" with ResultPath "$.x". The cause is
    // AWS's ("Unable to apply ReferencePath $.someTaskResult to input \"input1\"").
    #[test]
    fn result_path_match_failures() {
        let failure = result_path("$.x").apply(json!("foo"), json!(1));
        assert_eq!(
            failure.as_ref().map_err(|e| e.name()).err(),
            Some("States.ResultPathMatchFailure")
        );
        assert_eq!(
            failure.map_err(|e| e.to_string()),
            Err("Unable to apply ReferencePath $.x to input \"foo\"".to_owned())
        );
        assert!(apply("$.a.b", json!({"a": 5}), json!(1)).is_err());
        assert!(apply("$.a.b", json!({"a": null}), json!(1)).is_err());
        assert!(apply("$.a[0]", json!({"a": {}}), json!(1)).is_err());
        assert!(apply("$.a[2]", json!({"a": [1]}), json!(1)).is_err());
        assert!(apply("$.a[0]", json!({}), json!(1)).is_err());
        assert!(apply("$.a.b[0]", json!({}), json!(1)).is_err());
        assert!(apply("$.x", json!([1, 2]), json!(1)).is_err());
        assert_eq!(
            apply("$.a[1].b", json!({"a": [{}, {"c": 1}]}), json!(2)),
            Ok(json!({"a": [{}, {"c": 1, "b": 2}]}))
        );
        assert_eq!(
            apply("$.a[-1]", json!({"a": [1, 2]}), json!(9)),
            Ok(json!({"a": [1, 9]}))
        );
        assert_eq!(
            apply("$['x y']", json!({}), json!(1)),
            Ok(json!({"x y": 1}))
        );
    }

    #[test]
    fn result_path_must_be_an_input_reference_path() {
        assert!(matches!(
            ResultPath::parse("$$.Execution"),
            Err(PathError::NotInputRooted(_))
        ));
        assert!(matches!(
            ResultPath::parse("$var.x"),
            Err(PathError::NotInputRooted(_))
        ));
        assert!(matches!(
            ResultPath::parse("$.a[*]"),
            Err(PathError::NotReference(_))
        ));
        assert!(matches!(
            ResultPath::parse("$..a"),
            Err(PathError::NotReference(_))
        ));
        assert_eq!(ResultPath::parse("$"), Ok(ResultPath::Whole));
    }

    // Developer Guide, "InputPath" and "Input and Output Processing" (the `dataset2` and
    // `$.numbers` examples, `null` as `{}`); the failure text is the one AWS recorded
    // (conformance case `invalid_jsonpath@ST.INVALID_JSONPATH_IN_INPUTPATH`).
    #[test]
    fn documented_input_and_output_paths() {
        let input = json!({
            "comment": "Example for InputPath.",
            "dataset1": {"val1": 1, "val2": 2, "val3": 3},
            "dataset2": {"val1": "a", "val2": "b", "val3": "c"}
        });
        let scope = Scope::new(&input);
        let select = |text: &str| {
            SelectPath::parse(text)
                .map_err(|e| e.to_string())
                .and_then(|p| {
                    p.apply(&scope)
                        .map(Cow::into_owned)
                        .map_err(|e| e.to_string())
                })
        };
        assert_eq!(
            select("$.dataset2"),
            Ok(json!({"val1": "a", "val2": "b", "val3": "c"}))
        );
        assert_eq!(select("$"), Ok(input.clone()));
        assert_eq!(
            SelectPath::Discard.apply(&scope).map(Cow::into_owned),
            Ok(json!({}))
        );
        assert_eq!(
            select("$.NoSuchInputPath"),
            Err(
                "Invalid path '$.NoSuchInputPath' : No results for path: $['NoSuchInputPath']"
                    .to_owned()
            )
        );
        // Conformance case `catch_states_runtime`: a field missing before the last step.
        assert_eq!(
            select("$.no.such.result.path"),
            Err(
                "Invalid path '$.no.such.result.path' : Missing property in path $['no']"
                    .to_owned()
            )
        );
        assert_eq!(
            select("$.dataset1.val9.deeper"),
            Err("Invalid path '$.dataset1.val9.deeper' : Missing property in path $['dataset1']['val9']".to_owned())
        );
        let sum = json!({"title": "Numbers to add", "numbers": {"val1": 3, "val2": 4}, "sum": 7});
        let scope = Scope::new(&sum);
        let out = SelectPath::parse("$.sum").map(|p| p.apply(&scope).map(Cow::into_owned));
        assert_eq!(out, Ok(Ok(json!(7))));
    }

    // Conformance cases `context_object.input_path@__` / `output_path@__.Execution.Input`.
    #[test]
    fn select_paths_reach_the_context_object() {
        let input = json!({"input-value": 0});
        let context =
            json!({"Execution": {"Input": {"input-value": 0}}, "State": {"Name": "TestState"}});
        let scope = Scope::new(&input).with_context(&context);
        let select = |text: &str| {
            SelectPath::parse(text)
                .ok()
                .and_then(|p| p.apply(&scope).ok().map(Cow::into_owned))
        };
        assert_eq!(select("$$.Execution.Input"), Some(input.clone()));
        assert_eq!(select("$$"), Some(context.clone()));
    }

    #[test]
    fn whole_passes_without_copying() {
        let input = json!({"big": [1, 2, 3]});
        let scope = Scope::new(&input);
        assert!(matches!(
            SelectPath::Whole.apply(&scope),
            Ok(Cow::Borrowed(_))
        ));
        let p = SelectPath::parse("$.big");
        assert!(matches!(
            p.as_ref().map(|p| p.apply(&scope)),
            Ok(Ok(Cow::Borrowed(_)))
        ));
    }
}
