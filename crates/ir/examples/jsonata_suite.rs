//! Runs the jsonata-js reference test suite (`test/test-suite` of the jsonata-js repository:
//! `groups/*/case*.json` and `datasets/`) against the JSONata sluice uses, and prints how many
//! cases pass:
//!
//! - `crate`: `jsonata-core` itself, with the guardrails sluice sets (a case's own `timelimit`
//!   and `depth` when it has them);
//! - `sluice`: through `sluice_ir::expr::asl::JsonataExpr`, as a Step Functions state would
//!   evaluate it: AWS's functions added, `$eval` removed, `$random`/`$shuffle`/`$uuid` seeded,
//!   `$now`/`$millis` from the given clock (here the machine's).
//!
//! ```text
//! cargo run --release -p sluice-ir --example jsonata_suite -- PATH/TO/test-suite [--verbose]
//! ```
//!
//! The suite is not part of this repository; see ARCHITECTURE.md for where to find one.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use jsonata_core::evaluator::{Context, Evaluator, EvaluatorOptions};
use jsonata_core::value::JValue;
use serde_json::{Map, Value};
use sluice_ir::expr::Entropy;
use sluice_ir::expr::asl::{AslError, JsonataExpr, QueryProblem, Scope};

/// What a case expects.
enum Expected {
    Value(Value),
    Undefined,
    Code(String),
    Matches(regex::Regex),
}

struct Case {
    name: String,
    expr: String,
    data: Option<Value>,
    bindings: Map<String, Value>,
    expected: Expected,
    unordered: bool,
    timelimit: Option<u64>,
    depth: Option<usize>,
}

/// What an evaluation gave.
enum Outcome {
    Value(Value),
    Undefined,
    Error(String),
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(root) = args.iter().find(|a| !a.starts_with("--")) else {
        eprintln!("usage: jsonata_suite PATH/TO/test-suite [--verbose]");
        std::process::exit(2);
    };
    let verbose = args.iter().any(|a| a == "--verbose");
    let cases = load(Path::new(root));
    let mut passed = [0usize; 2];
    let mut limited = [0usize; 2];
    let mut limited_total = 0;
    let mut panics = [0usize; 2];
    for case in &cases {
        let is_limited = case.timelimit.is_some() || case.depth.is_some();
        limited_total += usize::from(is_limited);
        for (mode, run) in [run_crate as fn(&Case) -> Outcome, run_sluice]
            .into_iter()
            .enumerate()
        {
            let outcome = catch_unwind(AssertUnwindSafe(|| run(case)));
            let ok = match &outcome {
                Ok(outcome) => matches(case, outcome),
                Err(_) => {
                    panics[mode] += 1;
                    false
                }
            };
            if ok {
                if is_limited {
                    limited[mode] += 1;
                } else {
                    passed[mode] += 1;
                }
            } else if verbose {
                let got = match &outcome {
                    Ok(Outcome::Value(v)) => v.to_string(),
                    Ok(Outcome::Undefined) => "undefined".into(),
                    Ok(Outcome::Error(e)) => format!("error {e}"),
                    Err(_) => "panic".into(),
                };
                let mode = ["crate", "sluice"][mode];
                let expected = match &case.expected {
                    Expected::Value(v) => v.to_string(),
                    Expected::Undefined => "undefined".into(),
                    Expected::Code(c) => format!("error {c}"),
                    Expected::Matches(p) => format!("text matching {p}"),
                };
                println!(
                    "FAIL [{mode}] {}: {} => {got} (expected {expected})",
                    case.name, case.expr
                );
            }
        }
    }
    let plain = cases.len() - limited_total;
    for (mode, name) in ["crate", "sluice"].iter().enumerate() {
        println!(
            "{name}: {}/{plain} plain cases, {}/{limited_total} cases with time or depth limits, {} panics",
            passed[mode], limited[mode], panics[mode]
        );
    }
}

fn load(root: &Path) -> Vec<Case> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("groups"))
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .filter_map(Result::ok)
        .flat_map(|group| std::fs::read_dir(group.path()).into_iter().flatten())
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        let Ok(value) = serde_json::from_str::<Value>(&text) else {
            eprintln!("skipped (not JSON serde reads): {}", file.display());
            continue;
        };
        let entries = match value {
            Value::Array(items) => items,
            other => vec![other],
        };
        for (i, entry) in entries.into_iter().enumerate() {
            let name = format!("{}#{i}", file.display());
            cases.push(case(root, &file, name, &entry));
        }
    }
    cases
}

fn case(root: &Path, file: &Path, name: String, entry: &Value) -> Case {
    let expr = match entry.get("expr-file").and_then(Value::as_str) {
        Some(expr_file) => {
            let dir = file.parent().unwrap_or(root);
            std::fs::read_to_string(dir.join(expr_file)).unwrap_or_default()
        }
        None => entry["expr"].as_str().unwrap_or_default().to_owned(),
    };
    let data = if let Some(data) = entry.get("data") {
        Some(data.clone())
    } else {
        match entry.get("dataset").and_then(Value::as_str) {
            Some(dataset) => {
                let path = root.join("datasets").join(format!("{dataset}.json"));
                let text = std::fs::read_to_string(path).unwrap_or_default();
                serde_json::from_str(&text).ok()
            }
            None => None,
        }
    };
    let code = entry
        .get("code")
        .or_else(|| entry.get("error").and_then(|e| e.get("code")))
        .and_then(Value::as_str);
    let expected = if let Some(code) = code {
        Expected::Code(code.to_owned())
    } else if let Some(pattern) = entry.get("result_re").and_then(Value::as_str) {
        Expected::Matches(regex::Regex::new(pattern).unwrap_or_else(|e| panic!("{name}: {e}")))
    } else if let Some(result) = entry.get("result") {
        Expected::Value(result.clone())
    } else {
        Expected::Undefined
    };
    Case {
        name,
        expr,
        data,
        bindings: entry["bindings"].as_object().cloned().unwrap_or_default(),
        expected,
        unordered: entry["unordered"] == Value::Bool(true),
        timelimit: entry["timelimit"].as_u64(),
        depth: entry["depth"].as_u64().map(|d| d as usize),
    }
}

fn run_crate(case: &Case) -> Outcome {
    let ast = match jsonata_core::parser::parse(&case.expr) {
        Ok(ast) => ast,
        Err(e) => return Outcome::Error(e.to_string()),
    };
    let mut context = Context::new();
    for (name, value) in &case.bindings {
        context.bind(name.clone(), JValue::from(value.clone()));
    }
    let options = EvaluatorOptions {
        timeout_ms: Some(case.timelimit.unwrap_or(2_000)),
        max_stack_depth: Some(case.depth.unwrap_or(1_000)),
        ..EvaluatorOptions::default()
    };
    let mut evaluator = Evaluator::with_options(context, options);
    let data = case.data.clone().map_or(JValue::Undefined, JValue::from);
    match evaluator.evaluate(&ast, &data) {
        Ok(JValue::Undefined) => Outcome::Undefined,
        Ok(value) => match value.to_json_string().map(|t| serde_json::from_str(&t)) {
            Ok(Ok(json)) => Outcome::Value(json),
            _ => Outcome::Error("unserializable".into()),
        },
        Err(e) => Outcome::Error(e.message().to_owned()),
    }
}

fn run_sluice(case: &Case) -> Outcome {
    let expr = match JsonataExpr::parse(&case.expr) {
        Ok(expr) => expr,
        Err(e) => return Outcome::Error(e),
    };
    let empty = Value::Null;
    let entropy = Entropy::new(1);
    let scope = Scope::new(&empty)
        .with_variables(&case.bindings)
        .with_entropy(&entropy)
        .with_now(jiff::Timestamp::now());
    match expr.evaluate_document(case.data.as_ref(), &scope) {
        Ok(value) => Outcome::Value(value),
        Err(AslError::Query(failure)) => match failure.problem {
            QueryProblem::Undefined => Outcome::Undefined,
            QueryProblem::Threw(message) => Outcome::Error(message),
            other => Outcome::Error(other.to_string()),
        },
        Err(other) => Outcome::Error(other.to_string()),
    }
}

fn matches(case: &Case, outcome: &Outcome) -> bool {
    match (&case.expected, outcome) {
        (Expected::Value(expected), Outcome::Value(got)) => equal(expected, got, case.unordered),
        (Expected::Undefined, Outcome::Undefined) => true,
        (Expected::Code(code), Outcome::Error(message)) => error_code(message) == Some(code),
        (Expected::Matches(pattern), Outcome::Value(Value::String(s))) => pattern.is_match(s),
        _ => false,
    }
}

/// The first JSONata error code (`T1006`, `S0201`, …) in a message: parse errors carry a
/// prefix such as "Invalid syntax: " before theirs.
fn error_code(message: &str) -> Option<&str> {
    message.char_indices().find_map(|(at, c)| {
        let code = message.get(at..at + 5)?;
        let digits = code.get(1..)?;
        (c.is_ascii_uppercase() && digits.chars().all(|d| d.is_ascii_digit())).then_some(code)
    })
}

/// Deep equality with numbers compared as doubles, as the JavaScript runner compares them.
fn equal(a: &Value, b: &Value, unordered: bool) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        (Value::Array(xs), Value::Array(ys)) if unordered => {
            xs.len() == ys.len() && xs.iter().all(|x| ys.iter().any(|y| equal(x, y, false)))
        }
        (Value::Array(xs), Value::Array(ys)) => {
            xs.len() == ys.len() && xs.iter().zip(ys).all(|(x, y)| equal(x, y, false))
        }
        (Value::Object(xs), Value::Object(ys)) => {
            xs.len() == ys.len()
                && xs
                    .iter()
                    .all(|(k, x)| ys.get(k).is_some_and(|y| equal(x, y, false)))
        }
        _ => a == b,
    }
}
