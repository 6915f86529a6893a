//! JSONata as the Amazon States Language uses it (`QueryLanguage: JSONata`), on the
//! `jsonata-core` crate: JSON in, JSON out, failures as [`AslError::Query`]
//! (`States.QueryEvaluationError`).
//!
//! - A field's value may hold `{% … %}` strings anywhere inside it (specification, "JSONata
//!   Evaluation"): [`JsonataTemplate`] evaluates each and puts the result in its place. A string
//!   is an expression only if it starts with `{%` and ends with `%}`.
//! - An expression sees `$states` (`input`, `context`, and where the state provides them
//!   `result` and `errorOutput`) and the state machine's variables, but no input document:
//!   `$`, `$$` and bare field names at the top level find nothing.
//! - AWS's added functions: `$partition`, `$range`, `$hash`, `$random([seed])`, `$uuid`,
//!   `$parse`. `$eval` is not available (AWS: use `$parse`). The impure built-ins are made
//!   pure: `$random`, `$uuid` and `$shuffle` draw from the scope's entropy, `$now` and
//!   `$millis` read the scope's clock.
//! - Guardrails: an evaluation stops after [`TIMEOUT_MS`] or at [`MAX_DEPTH`] nested levels
//!   (JSONata's own sequences are not capped: the reference suite counts `[1..10000000]`).
//!
//! `jsonata-core` values are reference-counted (`!Send`): they live only inside one call of
//! [`JsonataTemplate::evaluate`], which converts to and from `serde_json::Value`.

use std::cell::Cell;
use std::fmt;
use std::rc::Rc;

use indexmap::IndexMap;
use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError, EvaluatorOptions};
use jsonata_core::value::{JArray, JValue};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Number, Value};

use super::error::{AslError, QueryProblem};
use super::scope::Scope;
use crate::expr::HashAlgorithm;
use crate::expr::random;

/// An evaluation running longer than this fails (JSONata's D1012).
pub const TIMEOUT_MS: u64 = 2_000;
/// An evaluation nesting deeper than this fails (JSONata's D1011), bounding runaway recursion.
pub const MAX_DEPTH: usize = 1_000;
/// The most items `$range` makes.
pub const MAX_RANGE: usize = 1_000_000;

/// One `{% … %}` expression, parsed.
#[derive(Clone)]
pub struct JsonataExpr {
    /// The text between the delimiters, as AWS quotes it in messages.
    source: String,
    ast: AstNode,
    /// Names after a `$` in the text: the variables the expression may read.
    names: Vec<String>,
}

/// Why an expression does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the JSONata expression '{expression}' specified for the field '{field}' is invalid: {message}"
)]
pub struct JsonataError {
    /// `Output`, `Arguments/FunctionName`, …
    pub field: String,
    pub expression: String,
    pub message: String,
}

impl JsonataExpr {
    /// Parses the text between `{%` and `%}`.
    pub fn parse(source: &str) -> Result<JsonataExpr, String> {
        let ast =
            jsonata_core::parser::parse(source).map_err(|e| jsonata_js_message(&e.to_string()))?;
        Ok(JsonataExpr {
            source: source.to_owned(),
            ast,
            names: dollar_names(source),
        })
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates with `document` as JSONata's input document (what `$` and bare field names
    /// read), for uses outside a state's fields: JSONata's own documented examples and
    /// reference suite. A state's fields have no input document ([`JsonataTemplate`]).
    pub fn evaluate_document(
        &self,
        document: Option<&Value>,
        scope: &Scope<'_>,
    ) -> Result<Value, AslError> {
        let data = document.map_or(JValue::Undefined, to_jvalue);
        Session::new(scope, &self.names).evaluate("", self, &data)
    }
}

/// The identifiers written after `$` (an over-approximation of the variables read: it also
/// finds function names and text inside strings, which only costs a lookup). Each use of
/// `$states` also adds the part it reads (`states.input`, …), or `states.*` when it is not
/// followed by a part's name, so that only the parts read are converted for an evaluation.
fn dollar_names(source: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    let mut add = |name: &str| {
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
        }
    };
    let mut rest = source;
    while let Some(at) = rest.find('$') {
        let after = &rest[at + 1..];
        let end = after
            .find(|c: char| !is_name_char(c))
            .unwrap_or(after.len());
        let name = &after[..end];
        if !name.is_empty() {
            add(name);
        }
        rest = &after[end..];
        if name == STATES {
            let part = STATES_PARTS.into_iter().find(|part| {
                rest.strip_prefix('.')
                    .and_then(|r| r.strip_prefix(part))
                    .is_some_and(|r| !r.starts_with(is_name_char))
            });
            add(&format!("{STATES}.{}", part.unwrap_or("*")));
        }
    }
    names
}

fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The reserved variable of the specification, and its fields.
const STATES: &str = "states";
const STATES_PARTS: [&str; 4] = ["input", "context", "result", "errorOutput"];

/// A field's value with its `{% … %}` strings parsed.
#[derive(Clone)]
pub struct JsonataTemplate {
    /// The field it was compiled for, the root of the names in messages.
    field: String,
    source: Value,
    root: Node,
    /// Every name any expression of the template may read.
    names: Vec<String>,
}

#[derive(Clone)]
enum Node {
    Ready(Value),
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
    Expr { field: String, expr: JsonataExpr },
}

impl JsonataTemplate {
    /// Parses the value of field `field` (`Output`, `Arguments`, `Assign`, `Items`, …).
    pub fn compile(field: &str, source: &Value) -> Result<JsonataTemplate, JsonataError> {
        let root = compile_node(field, source)?;
        let mut names = Vec::new();
        root.visit(&mut |expr| {
            for name in &expr.names {
                if !names.contains(name) {
                    names.push(name.clone());
                }
            }
        });
        Ok(JsonataTemplate {
            field: field.to_owned(),
            source: source.clone(),
            root,
            names,
        })
    }

    pub fn source(&self) -> &Value {
        &self.source
    }

    /// The expression when the whole value is one `{% … %}` string.
    pub fn expression(&self) -> Option<&JsonataExpr> {
        match &self.root {
            Node::Expr { expr, .. } => Some(expr),
            _ => None,
        }
    }

    /// Whether any expression may read `$states.context`.
    pub fn uses_context(&self) -> bool {
        reads(&self.names, "context")
    }

    /// The value with every expression replaced by its result.
    pub fn evaluate(&self, scope: &Scope<'_>) -> Result<Value, AslError> {
        if let Node::Ready(value) = &self.root {
            return Ok(value.clone());
        }
        let mut session = Session::new(scope, &self.names);
        self.root.build(&mut session)
    }
}

/// The expression inside `{% … %}`, if `text` is one.
fn expression_text(text: &str) -> Option<&str> {
    text.strip_prefix("{%")?.strip_suffix("%}")
}

fn compile_node(field: &str, value: &Value) -> Result<Node, JsonataError> {
    let node = match value {
        Value::String(text) => match expression_text(text) {
            Some(inner) => {
                let source = inner.trim();
                let expr = JsonataExpr::parse(source).map_err(|message| JsonataError {
                    field: field.to_owned(),
                    expression: source.to_owned(),
                    message,
                })?;
                Node::Expr {
                    field: field.to_owned(),
                    expr,
                }
            }
            None => Node::Ready(value.clone()),
        },
        Value::Object(map) => {
            let mut fields = Vec::with_capacity(map.len());
            for (key, item) in map {
                fields.push((key.clone(), compile_node(&format!("{field}/{key}"), item)?));
            }
            Node::Object(fields)
        }
        Value::Array(items) => Node::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| compile_node(&format!("{field}/{i}"), item))
                .collect::<Result<_, _>>()?,
        ),
        other => Node::Ready(other.clone()),
    };
    Ok(node.settle())
}

impl Node {
    fn settle(self) -> Node {
        let ready = |n: &Node| matches!(n, Node::Ready(_));
        match self {
            Node::Object(fields) if fields.iter().all(|(_, n)| ready(n)) => {
                Node::Ready(Value::Object(
                    fields
                        .into_iter()
                        .map(|(k, n)| (k, n.into_ready()))
                        .collect(),
                ))
            }
            Node::Array(items) if items.iter().all(ready) => Node::Ready(Value::Array(
                items.into_iter().map(Node::into_ready).collect(),
            )),
            other => other,
        }
    }

    fn into_ready(self) -> Value {
        match self {
            Node::Ready(value) => value,
            _ => Value::Null,
        }
    }

    fn visit(&self, f: &mut impl FnMut(&JsonataExpr)) {
        match self {
            Node::Expr { expr, .. } => f(expr),
            Node::Object(fields) => fields.iter().for_each(|(_, n)| n.visit(f)),
            Node::Array(items) => items.iter().for_each(|n| n.visit(f)),
            Node::Ready(_) => {}
        }
    }

    fn build(&self, session: &mut Session) -> Result<Value, AslError> {
        Ok(match self {
            Node::Ready(value) => value.clone(),
            Node::Object(fields) => {
                let mut map = Map::with_capacity(fields.len());
                for (key, node) in fields {
                    map.insert(key.clone(), node.build(session)?);
                }
                Value::Object(map)
            }
            Node::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|n| n.build(session))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Expr { field, expr } => session.evaluate(field, expr, &JValue::Undefined)?,
        })
    }
}

/// One evaluator for all the expressions of one template evaluation, with `$states`, the
/// variables and the functions bound.
struct Session {
    evaluator: Evaluator,
}

impl Session {
    fn new(scope: &Scope<'_>, names: &[String]) -> Session {
        let mut context = Context::new();
        for name in names {
            if name == STATES {
                context.bind(name.clone(), states_value(scope, names));
            } else if let Some(value) = scope.variable(name) {
                context.bind(name.clone(), to_jvalue(value));
            }
        }
        let options = EvaluatorOptions {
            timeout_ms: Some(TIMEOUT_MS),
            max_stack_depth: Some(MAX_DEPTH),
            ..EvaluatorOptions::default()
        };
        let mut evaluator = Evaluator::with_options(context, options);
        register_functions(&mut evaluator, scope, names);
        Session { evaluator }
    }

    fn evaluate(
        &mut self,
        field: &str,
        expr: &JsonataExpr,
        data: &JValue,
    ) -> Result<Value, AslError> {
        let fail = |problem| AslError::query(&expr.source, field, problem);
        let result = self
            .evaluator
            .evaluate(&expr.ast, data)
            .map_err(|e| fail(QueryProblem::Threw(jsonata_js_message(e.message()))))?;
        match result {
            JValue::Undefined => Err(fail(QueryProblem::Undefined)),
            ref f if f.is_function() || f.is_regex() => Err(fail(QueryProblem::Unsupported)),
            other => Ok(to_json(&other)),
        }
    }
}

/// JSONata's message as jsonata-js (and so AWS) words it: jsonata-core names the callee of
/// T1006, which the reference does not (recorded: "T1006: Attempted to invoke a
/// non-function"), and gives an unclosed comment no code.
fn jsonata_js_message(message: &str) -> String {
    const T1006: &str = "T1006: Attempted to invoke a non-function";
    if message.starts_with(T1006) {
        T1006.to_owned()
    } else if message == "Unclosed comment" {
        // jsonata-core has no code for it; the reference's is S0106.
        "S0106: Comment has no closing tag".to_owned()
    } else {
        message.to_owned()
    }
}

/// Whether the expressions read `$states.<part>` (or `$states` in a way that may read any part).
fn reads(names: &[String], part: &str) -> bool {
    names.iter().any(|name| {
        name.strip_prefix(STATES)
            .and_then(|n| n.strip_prefix('.'))
            .is_some_and(|read| read == part || read == "*")
    })
}

/// `$states`: the state's input and context object, and its result and error output where the
/// state has them; of those, the parts the expressions read.
fn states_value(scope: &Scope<'_>, names: &[String]) -> JValue {
    let parts = [
        ("input", Some(scope.input())),
        ("context", None),
        ("result", scope.result()),
        ("errorOutput", scope.error_output()),
    ];
    let mut states = IndexMap::new();
    for (part, value) in parts {
        if !reads(names, part) {
            continue;
        }
        // Built on first read: it copies the execution's input.
        let value = if part == "context" {
            Some(scope.context())
        } else {
            value
        };
        if let Some(value) = value {
            states.insert(part.to_owned(), to_jvalue(value));
        }
    }
    JValue::object(states)
}

fn to_jvalue(value: &Value) -> JValue {
    match value {
        Value::Null => JValue::Null,
        Value::Bool(b) => JValue::Bool(*b),
        Value::Number(n) => JValue::Number(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JValue::string(s.as_str()),
        // As jsonata-core converts its own input: an array holding no array is marked flat,
        // which its path steps rely on to take the reference's route (and its float results).
        Value::Array(items) => {
            let flat = !items.iter().any(Value::is_array);
            JValue::Array(JArray::new_flat(
                items.iter().map(to_jvalue).collect(),
                flat,
            ))
        }
        Value::Object(map) => {
            JValue::object(map.iter().map(|(k, v)| (k.clone(), to_jvalue(v))).collect())
        }
    }
}

/// JSONata numbers are doubles; whole ones come back as JSON integers. Undefined fields of
/// objects are left out and undefined items of arrays dropped, as `JSON.stringify` would do.
fn to_json(value: &JValue) -> Value {
    match value {
        JValue::Null | JValue::Undefined => Value::Null,
        JValue::Bool(b) => Value::Bool(*b),
        JValue::Number(n) => number(*n),
        JValue::String(s) => Value::String(s.to_string()),
        JValue::Array(items) => Value::Array(
            items
                .iter()
                .filter(|v| !v.is_undefined())
                .map(to_json)
                .collect(),
        ),
        JValue::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_undefined())
                .map(|(k, v)| (k.clone(), to_json(v)))
                .collect(),
        ),
        // Functions inside a result serialize as JSONata's `$string` writes them.
        _ => Value::String(String::new()),
    }
}

/// Integers exactly representable in a double are written without a fraction.
fn number(n: f64) -> Value {
    const EXACT: f64 = 9_007_199_254_740_992.0;
    if n.fract() == 0.0 && n.abs() <= EXACT {
        Value::from(n as i64)
    } else {
        Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// A JSONata error raised by one of our functions, in JSONata's `CODE: message` shape.
fn raise(code: &str, message: impl fmt::Display) -> EvaluatorError {
    EvaluatorError::EvaluationError(format!("{code}: {message}"))
}

/// AWS's functions, `$eval` removed, and the impure built-ins bound to the scope: those of them
/// the expressions name. Only those are defined, because jsonata-core runs an evaluator with
/// host functions on its tree-walker rather than its bytecode, whose float results can differ
/// in the last digit (`$sum` of the reference suite's order totals).
fn register_functions(evaluator: &mut Evaluator, scope: &Scope<'_>, names: &[String]) {
    let named = |name: &str| names.iter().any(|n| n == name);
    let fixed = [
        ("partition", host(partition)),
        ("range", host(range)),
        ("hash", host(hash)),
        ("parse", host(parse)),
    ];
    for (name, f) in fixed {
        if named(name) {
            define(evaluator, name, f);
        }
    }
    if ["uuid", "random", "shuffle"].into_iter().any(named) {
        // One draw seeds this evaluation's own stream: host functions cannot borrow the scope.
        let entropy = Rc::new(DrawStream::new(scope.entropy().next_u64()));
        let stream = Rc::clone(&entropy);
        define(evaluator, "uuid", move |args: &[JValue]| {
            expect_arity("uuid", args, 0, 0)?;
            Ok(JValue::string(random::uuid_v4(
                stream.next(),
                stream.next(),
            )))
        });
        let stream = Rc::clone(&entropy);
        define(evaluator, "random", move |args: &[JValue]| {
            expect_arity("random", args, 0, 1)?;
            let draw = match args.first() {
                Some(seed) => random::draw(seed_of(seed)?, 0),
                None => stream.next(),
            };
            Ok(JValue::Number(random::unit_interval(draw)))
        });
        define(evaluator, "shuffle", move |args: &[JValue]| {
            expect_arity("shuffle", args, 1, 1)?;
            shuffle(&args[0], &entropy)
        });
    }
    if named("now") || named("millis") {
        let now = scope.now();
        define(evaluator, "now", move |args: &[JValue]| {
            expect_arity("now", args, 0, 0)?;
            Ok(JValue::string(
                now.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
            ))
        });
        define(evaluator, "millis", move |args: &[JValue]| {
            expect_arity("millis", args, 0, 0)?;
            Ok(JValue::Number(now.as_millisecond() as f64))
        });
    }
    if named("eval") {
        define(evaluator, "eval", |_: &[JValue]| {
            Err(raise("T1006", "Attempted to invoke a non-function"))
        });
    }
}

/// Defines `$name`, replacing a built-in of that name. jsonata-core refuses to replace only the
/// built-ins its bytecode compiles, and none of the names defined here is one (the tests call
/// every one of them).
fn define(
    evaluator: &mut Evaluator,
    name: &str,
    f: impl Fn(&[JValue]) -> Result<JValue, EvaluatorError> + 'static,
) {
    let _ = evaluator.register_fn_override(name, f);
}

/// A host function value from a plain function.
fn host(
    f: fn(&[JValue]) -> Result<JValue, EvaluatorError>,
) -> impl Fn(&[JValue]) -> Result<JValue, EvaluatorError> {
    move |args| f(args)
}

/// The entropy of one evaluation, owned so that `'static` host functions can draw from it.
struct DrawStream {
    seed: u64,
    drawn: Cell<u64>,
}

impl DrawStream {
    fn new(seed: u64) -> Self {
        Self {
            seed,
            drawn: Cell::new(0),
        }
    }

    fn next(&self) -> u64 {
        let n = self.drawn.get();
        self.drawn.set(n + 1);
        random::draw(self.seed, n)
    }
}

fn expect_arity(name: &str, args: &[JValue], min: usize, max: usize) -> Result<(), EvaluatorError> {
    if args.len() < min {
        return Err(raise(
            "T0410",
            format_args!("${name}() expects at least {min} argument(s)"),
        ));
    }
    if args.len() > max {
        return Err(raise(
            "T0410",
            format_args!("${name}() expects at most {max} argument(s)"),
        ));
    }
    Ok(())
}

fn number_arg(name: &str, args: &[JValue], index: usize) -> Result<f64, EvaluatorError> {
    args.get(index).and_then(JValue::as_f64).ok_or_else(|| {
        raise(
            "T0410",
            format_args!("argument {} of ${name}() must be a number", index + 1),
        )
    })
}

fn integer_arg(name: &str, args: &[JValue], index: usize) -> Result<i64, EvaluatorError> {
    let n = number_arg(name, args, index)?;
    if n.fract() != 0.0 || n.abs() > 9.007_199_254_740_992e15 {
        return Err(raise(
            "D3030",
            format_args!("argument {} of ${name}() must be an integer", index + 1),
        ));
    }
    Ok(n as i64)
}

fn seed_of(value: &JValue) -> Result<u64, EvaluatorError> {
    match value {
        // The bits of the double: every distinct seed gives a distinct stream.
        JValue::Number(n) => Ok(n.to_bits()),
        JValue::String(s) => Ok(HashAlgorithm::Sha256
            .hex_digest(s.as_bytes())
            .get(..16)
            .and_then(|h| u64::from_str_radix(h, 16).ok())
            .unwrap_or(0)),
        _ => Err(raise("T0410", "argument 1 of $random() must be a number")),
    }
}

/// `$partition(array, size)`: chunks of `size` items, the last possibly shorter.
fn partition(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    expect_arity("partition", args, 2, 2)?;
    let items: Vec<JValue> = match &args[0] {
        JValue::Array(items) => items.iter().cloned().collect(),
        JValue::Undefined => return Ok(JValue::Undefined),
        single => vec![single.clone()],
    };
    let size = integer_arg("partition", args, 1)?;
    let size = usize::try_from(size)
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            raise(
                "D3030",
                "argument 2 of $partition() must be a positive integer",
            )
        })?;
    Ok(JValue::array(
        items
            .chunks(size)
            .map(|c| JValue::array(c.to_vec()))
            .collect(),
    ))
}

/// `$range(start, end, step)`: from start to end, both included, as a JSONata sequence (so one
/// item comes back as that item: recorded, `$range(1, 9, 9)` is `1`).
fn range(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    expect_arity("range", args, 3, 3)?;
    let start = i128::from(integer_arg("range", args, 0)?);
    let end = i128::from(integer_arg("range", args, 1)?);
    let step = i128::from(integer_arg("range", args, 2)?);
    if step == 0 {
        return Err(raise("D3030", "argument 3 of $range() must not be zero"));
    }
    let count = if (end - start).signum() * step.signum() < 0 {
        0
    } else {
        (end - start) / step + 1
    };
    if count > MAX_RANGE as i128 {
        return Err(raise(
            "D2014",
            format_args!("$range() would make {count} items; at most {MAX_RANGE} are allowed"),
        ));
    }
    Ok(JValue::sequence(
        (0..count)
            .map(|i| JValue::Number((start + i * step) as f64))
            .collect(),
    ))
}

/// `$hash(value, algorithm)`: the hex digest of the text of `value`.
fn hash(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    expect_arity("hash", args, 2, 2)?;
    let text = match &args[0] {
        JValue::String(s) => s.to_string(),
        JValue::Undefined => return Ok(JValue::Undefined),
        other => serde_json::to_string(&to_json(other)).map_err(|e| raise("D3030", e))?,
    };
    let algorithm = args
        .get(1)
        .and_then(JValue::as_str)
        .and_then(HashAlgorithm::from_name)
        .ok_or_else(|| {
            raise(
                "D3030",
                "argument 2 of $hash() must be one of MD5, SHA-1, SHA-256, SHA-384, SHA-512",
            )
        })?;
    Ok(JValue::string(algorithm.hex_digest(text.as_bytes())))
}

/// `$parse(text)`: the JSON value the text spells.
fn parse(args: &[JValue]) -> Result<JValue, EvaluatorError> {
    expect_arity("parse", args, 1, 1)?;
    match &args[0] {
        JValue::String(text) => serde_json::from_str::<Value>(text)
            .map(|v| to_jvalue(&v))
            .map_err(|e| {
                raise(
                    "D3030",
                    format_args!("$parse() could not parse JSON text: {e}"),
                )
            }),
        JValue::Undefined => Ok(JValue::Undefined),
        _ => Err(raise("T0410", "argument 1 of $parse() must be a string")),
    }
}

/// Fisher–Yates with the evaluation's draws.
fn shuffle(value: &JValue, stream: &DrawStream) -> Result<JValue, EvaluatorError> {
    let JValue::Array(items) = value else {
        return Ok(value.clone());
    };
    let mut items: Vec<JValue> = items.iter().cloned().collect();
    for i in (1..items.len()).rev() {
        let j = random::in_range(stream.next(), 0, i as i64 + 1) as usize;
        items.swap(i, j);
    }
    Ok(JValue::array(items))
}

impl fmt::Debug for JsonataExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JsonataExpr({})", self.source)
    }
}

impl fmt::Debug for JsonataTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JsonataTemplate({})", self.source)
    }
}

impl PartialEq for JsonataTemplate {
    fn eq(&self, other: &Self) -> bool {
        self.field == other.field && self.source == other.source
    }
}

/// Serialized as the field name and its value as written; deserializing parses again.
impl Serialize for JsonataTemplate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (&self.field, &self.source).serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for JsonataTemplate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let (field, source) = <(String, Value)>::deserialize(deserializer)?;
        JsonataTemplate::compile(&field, &source).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests;
