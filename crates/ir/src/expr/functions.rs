//! Built-in functions: CloudFlow's documented catalogue (common, array, map, encoding,
//! hash/UUID and JSON operations).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::digest::HashAlgorithm;
use super::eval::{Env, EvalError, resolve_index};
use super::ops::{describe, values_equal};
use super::random;

/// The built-in functions. Parsed by name; an unknown name is a parse error, not a run-time
/// one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Function {
    // Common operations.
    /// `format("hello {}", "world")`: fills `{}` placeholders in order.
    Format,
    /// `length(x)`: characters of a string, elements of an array, keys of a map.
    Length,
    /// `regexMatchString(pattern, s)`: whether `s` contains a match of `pattern`.
    RegexMatchString,
    /// `split(s, separator)`: the parts of `s` as an array of strings.
    Split,
    /// `get(collection, key)`: an element of an array (by index) or a map (by key).
    Get,
    /// `intAdd(a, b)`: the sum of two integers.
    IntAdd,
    /// `randomInt(min, max)`: a reproducible pseudo-random integer in `[min, max)`.
    RandomInt,
    // Array operations.
    /// `arrayContains(array, value)`.
    ArrayContains,
    /// `arrayUnique(array)`: the array without repeated elements, first occurrences kept.
    ArrayUnique,
    /// `toArray(a, b, …)`: its arguments as an array.
    ToArray,
    // Map operations.
    /// `mapKeys(map)`.
    MapKeys,
    /// `mapValues(map)`.
    MapValues,
    // Encoding and decoding.
    /// `toBase64(s)`: standard, padded Base64 of the UTF-8 bytes of `s`.
    ToBase64,
    /// `fromBase64(s)`: the UTF-8 text that `s` encodes.
    FromBase64,
    // Hash calculation and UUID generation.
    /// `hash(s, algorithm)`: hex digest; algorithm `MD5`, `SHA-1`, `SHA-256` or `SHA-512`.
    Hash,
    /// `uuid()`: a reproducible version-4-format UUID.
    Uuid,
    // JSON operations.
    /// `stringToJson(s)` (alias `fromJSON`): parses JSON text.
    StringToJson,
    /// `jsonToString(v)` (alias `toJSON`): serialises a value as compact JSON text.
    JsonToString,
    /// `jsonMerge(a, b)`: the keys of both maps, `b` winning on conflicts (shallow).
    JsonMerge,
}

/// How many arguments a function takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arity {
    pub min: usize,
    /// `None`: any number from `min` up.
    pub max: Option<usize>,
}

impl Arity {
    const fn exactly(n: usize) -> Self {
        Self {
            min: n,
            max: Some(n),
        }
    }

    const fn at_least(n: usize) -> Self {
        Self { min: n, max: None }
    }

    pub fn accepts(self, count: usize) -> bool {
        count >= self.min && self.max.is_none_or(|max| count <= max)
    }
}

/// "2 arguments", "at least 1 argument", "no arguments".
impl std::fmt::Display for Arity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = |n: usize| if n == 1 { "argument" } else { "arguments" };
        match self.max {
            Some(0) => f.write_str("no arguments"),
            Some(max) if max == self.min => write!(f, "{max} {}", plural(max)),
            Some(max) => write!(f, "{} to {max} arguments", self.min),
            None => write!(f, "at least {} {}", self.min, plural(self.min)),
        }
    }
}

impl Function {
    /// Every function, in the order of the documentation's categories.
    pub const ALL: [Function; 19] = [
        Function::Format,
        Function::Length,
        Function::RegexMatchString,
        Function::Split,
        Function::Get,
        Function::IntAdd,
        Function::RandomInt,
        Function::ArrayContains,
        Function::ArrayUnique,
        Function::ToArray,
        Function::MapKeys,
        Function::MapValues,
        Function::ToBase64,
        Function::FromBase64,
        Function::Hash,
        Function::Uuid,
        Function::StringToJson,
        Function::JsonToString,
        Function::JsonMerge,
    ];

    /// Other names accepted for a function (the documentation calls `fromJSON` an alias of
    /// `stringToJson`; `toJSON` is its counterpart).
    const ALIASES: [(&'static str, Function); 2] = [
        ("fromJSON", Function::StringToJson),
        ("toJSON", Function::JsonToString),
    ];

    pub fn name(self) -> &'static str {
        match self {
            Function::Format => "format",
            Function::Length => "length",
            Function::RegexMatchString => "regexMatchString",
            Function::Split => "split",
            Function::Get => "get",
            Function::IntAdd => "intAdd",
            Function::RandomInt => "randomInt",
            Function::ArrayContains => "arrayContains",
            Function::ArrayUnique => "arrayUnique",
            Function::ToArray => "toArray",
            Function::MapKeys => "mapKeys",
            Function::MapValues => "mapValues",
            Function::ToBase64 => "toBase64",
            Function::FromBase64 => "fromBase64",
            Function::Hash => "hash",
            Function::Uuid => "uuid",
            Function::StringToJson => "stringToJson",
            Function::JsonToString => "jsonToString",
            Function::JsonMerge => "jsonMerge",
        }
    }

    /// The function called `name` (case-sensitive, as in CloudFlow), aliases included.
    pub fn from_name(name: &str) -> Option<Function> {
        Self::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .or_else(|| {
                Self::ALIASES
                    .into_iter()
                    .find_map(|(alias, f)| (alias == name).then_some(f))
            })
    }

    /// All accepted names, aliases included, for "expected one of" messages.
    pub fn all_names() -> impl Iterator<Item = &'static str> {
        Self::ALL
            .into_iter()
            .map(Function::name)
            .chain(Self::ALIASES.into_iter().map(|(alias, _)| alias))
    }

    pub fn arity(self) -> Arity {
        match self {
            Function::Uuid => Arity::exactly(0),
            Function::ToArray => Arity::at_least(0),
            Function::Format => Arity::at_least(1),
            Function::Length
            | Function::ArrayUnique
            | Function::MapKeys
            | Function::MapValues
            | Function::ToBase64
            | Function::FromBase64
            | Function::StringToJson
            | Function::JsonToString => Arity::exactly(1),
            Function::RegexMatchString
            | Function::Split
            | Function::Get
            | Function::IntAdd
            | Function::RandomInt
            | Function::ArrayContains
            | Function::Hash
            | Function::JsonMerge => Arity::exactly(2),
        }
    }
}

/// Calls `function` on already evaluated arguments.
pub(super) fn call(
    function: Function,
    args: Vec<Value>,
    env: &Env<'_>,
) -> Result<Value, EvalError> {
    let arity = function.arity();
    if !arity.accepts(args.len()) {
        return Err(EvalError::new(format!(
            "{} expects {arity}, got {}",
            function.name(),
            args.len()
        )));
    }
    let args = Args {
        function,
        values: args,
    };
    match function {
        Function::Format => format(&args),
        Function::Length => length(&args),
        Function::RegexMatchString => regex_match_string(&args),
        Function::Split => split(&args),
        Function::Get => get(&args),
        Function::IntAdd => int_add(&args),
        Function::RandomInt => random_int(&args, env),
        Function::ArrayContains => array_contains(&args),
        Function::ArrayUnique => array_unique(&args),
        Function::ToArray => Ok(Value::Array(args.values)),
        Function::MapKeys => Ok(args.object(0)?.keys().cloned().map(Value::String).collect()),
        Function::MapValues => Ok(args.object(0)?.values().cloned().collect()),
        Function::ToBase64 => Ok(Value::String(BASE64.encode(args.string(0)?))),
        Function::FromBase64 => from_base64(&args),
        Function::Hash => hash(&args),
        Function::Uuid => Ok(Value::String(uuid(env))),
        Function::StringToJson => string_to_json(&args),
        Function::JsonToString => json_to_string(&args),
        Function::JsonMerge => json_merge(&args),
    }
}

/// The arguments of one call, with typed accessors whose errors name the function and the
/// argument.
struct Args {
    function: Function,
    values: Vec<Value>,
}

impl Args {
    fn value(&self, index: usize) -> Result<&Value, EvalError> {
        self.values.get(index).ok_or_else(|| {
            EvalError::new(format!(
                "{}: argument {} is missing",
                self.function.name(),
                index + 1
            ))
        })
    }

    fn wrong_type(&self, index: usize, expected: &str, got: &Value) -> EvalError {
        EvalError::new(format!(
            "{}: argument {} must be {expected}, got {}",
            self.function.name(),
            index + 1,
            describe(got)
        ))
    }

    fn string(&self, index: usize) -> Result<&str, EvalError> {
        let value = self.value(index)?;
        value
            .as_str()
            .ok_or_else(|| self.wrong_type(index, "a string", value))
    }

    fn integer(&self, index: usize) -> Result<i64, EvalError> {
        let value = self.value(index)?;
        value
            .as_i64()
            .ok_or_else(|| self.wrong_type(index, "an integer", value))
    }

    fn array(&self, index: usize) -> Result<&Vec<Value>, EvalError> {
        let value = self.value(index)?;
        value
            .as_array()
            .ok_or_else(|| self.wrong_type(index, "an array", value))
    }

    fn object(&self, index: usize) -> Result<&Map<String, Value>, EvalError> {
        let value = self.value(index)?;
        value
            .as_object()
            .ok_or_else(|| self.wrong_type(index, "a map (JSON object)", value))
    }

    fn fail(&self, reason: impl std::fmt::Display) -> EvalError {
        EvalError::new(format!("{}: {reason}", self.function.name()))
    }
}

/// Fills each `{}` with the next value: strings as they are, anything else as JSON.
fn format(args: &Args) -> Result<Value, EvalError> {
    let template = args.string(0)?;
    let values = args.values.get(1..).unwrap_or_default();
    let pieces: Vec<&str> = template.split("{}").collect();
    let placeholders = pieces.len().saturating_sub(1);
    if placeholders != values.len() {
        return Err(args.fail(format_args!(
            "the template has {placeholders} placeholder(s) but {} value(s) were given",
            values.len()
        )));
    }
    let mut out = String::with_capacity(template.len());
    for (i, piece) in pieces.iter().enumerate() {
        out.push_str(piece);
        match values.get(i) {
            Some(Value::String(s)) => out.push_str(s),
            Some(other) => out.push_str(&other.to_string()),
            None => {}
        }
    }
    Ok(Value::String(out))
}

fn length(args: &Args) -> Result<Value, EvalError> {
    let count = match args.value(0)? {
        Value::String(s) => s.chars().count(),
        Value::Array(items) => items.len(),
        Value::Object(map) => map.len(),
        other => return Err(args.wrong_type(0, "a string, an array or a map", other)),
    };
    Ok(Value::from(count))
}

/// Bounds the compiled size of a user-supplied pattern.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

fn regex_match_string(args: &Args) -> Result<Value, EvalError> {
    let pattern = args.string(0)?;
    let text = args.string(1)?;
    let regex = regex::RegexBuilder::new(pattern)
        .size_limit(REGEX_SIZE_LIMIT)
        .build()
        .map_err(|e| args.fail(format_args!("invalid regular expression: {e}")))?;
    Ok(Value::Bool(regex.is_match(text)))
}

/// An empty separator splits into characters (as Go's `strings.Split` does).
fn split(args: &Args) -> Result<Value, EvalError> {
    let text = args.string(0)?;
    let separator = args.string(1)?;
    let parts: Vec<Value> = if separator.is_empty() {
        text.chars().map(|c| Value::String(c.to_string())).collect()
    } else {
        text.split(separator)
            .map(|part| Value::String(part.to_string()))
            .collect()
    };
    Ok(Value::Array(parts))
}

fn get(args: &Args) -> Result<Value, EvalError> {
    match args.value(0)? {
        Value::Array(items) => {
            let index = args.integer(1)?;
            resolve_index(index, items.len())
                .and_then(|i| items.get(i))
                .cloned()
                .ok_or_else(|| {
                    args.fail(format_args!(
                        "index {index} out of range (length {})",
                        items.len()
                    ))
                })
        }
        Value::Object(map) => {
            let key = args.string(1)?;
            map.get(key)
                .cloned()
                .ok_or_else(|| args.fail(format_args!("key '{key}' not found")))
        }
        other => Err(args.wrong_type(0, "an array or a map", other)),
    }
}

fn int_add(args: &Args) -> Result<Value, EvalError> {
    let a = args.integer(0)?;
    let b = args.integer(1)?;
    a.checked_add(b)
        .map(Value::from)
        .ok_or_else(|| args.fail("integer overflow"))
}

fn random_int(args: &Args, env: &Env<'_>) -> Result<Value, EvalError> {
    let min = args.integer(0)?;
    let max = args.integer(1)?;
    if max <= min {
        return Err(args.fail(format_args!("max ({max}) must be greater than min ({min})")));
    }
    Ok(Value::from(random::in_range(env.next_random(), min, max)))
}

fn array_contains(args: &Args) -> Result<Value, EvalError> {
    let items = args.array(0)?;
    let needle = args.value(1)?;
    Ok(Value::Bool(
        items.iter().any(|item| values_equal(item, needle)),
    ))
}

fn array_unique(args: &Args) -> Result<Value, EvalError> {
    let mut unique: Vec<Value> = Vec::new();
    for item in args.array(0)? {
        if !unique.iter().any(|seen| values_equal(seen, item)) {
            unique.push(item.clone());
        }
    }
    Ok(Value::Array(unique))
}

fn from_base64(args: &Args) -> Result<Value, EvalError> {
    let bytes = BASE64
        .decode(args.string(0)?)
        .map_err(|e| args.fail(format_args!("invalid Base64: {e}")))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| args.fail("the decoded bytes are not UTF-8 text"))
}

fn hash(args: &Args) -> Result<Value, EvalError> {
    let input = args.string(0)?.as_bytes();
    let algorithm = args.string(1)?;
    // CloudFlow accepts any letter case and no SHA-384.
    let known = HashAlgorithm::from_name(&algorithm.to_ascii_uppercase())
        .filter(|a| *a != HashAlgorithm::Sha384)
        .ok_or_else(|| {
            args.fail(format_args!(
                "unsupported algorithm '{algorithm}'; expected MD5, SHA-1, SHA-256 or SHA-512"
            ))
        })?;
    Ok(Value::String(known.hex_digest(input)))
}

fn uuid(env: &Env<'_>) -> String {
    random::uuid_v4(env.next_random(), env.next_random())
}

fn string_to_json(args: &Args) -> Result<Value, EvalError> {
    serde_json::from_str(args.string(0)?).map_err(|e| args.fail(format_args!("invalid JSON: {e}")))
}

fn json_to_string(args: &Args) -> Result<Value, EvalError> {
    serde_json::to_string(args.value(0)?)
        .map(Value::String)
        .map_err(|e| args.fail(e))
}

fn json_merge(args: &Args) -> Result<Value, EvalError> {
    let mut merged = args.object(0)?.clone();
    for (key, value) in args.object(1)? {
        merged.insert(key.clone(), value.clone());
    }
    Ok(Value::Object(merged))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::json;

    use super::*;
    use crate::expr::ast::Expr;
    use crate::expr::eval::tests::{eval_with, lit, no_context};

    fn call_with(function: Function, args: Vec<Value>) -> Result<Value, EvalError> {
        let expr = Expr::Call(function, args.into_iter().map(lit).collect());
        eval_with(&expr, json!(null))
    }

    fn ok(function: Function, args: Vec<Value>) -> Value {
        match call_with(function, args) {
            Ok(v) => v,
            Err(e) => panic!("{}: {e}", function.name()),
        }
    }

    fn err(function: Function, args: Vec<Value>) -> String {
        match call_with(function, args) {
            Err(e) => e.message,
            Ok(v) => panic!("{}: expected an error, got {v}", function.name()),
        }
    }

    #[test]
    fn names_round_trip_and_aliases_resolve() {
        for f in Function::ALL {
            assert_eq!(Function::from_name(f.name()), Some(f));
        }
        assert_eq!(
            Function::from_name("fromJSON"),
            Some(Function::StringToJson)
        );
        assert_eq!(Function::from_name("toJSON"), Some(Function::JsonToString));
        assert_eq!(Function::from_name("Format"), None);
        assert_eq!(Function::from_name("nope"), None);
        assert_eq!(Function::all_names().count(), Function::ALL.len() + 2);
    }

    #[test]
    fn arity_descriptions() {
        assert_eq!(Function::Uuid.arity().to_string(), "no arguments");
        assert_eq!(Function::Length.arity().to_string(), "1 argument");
        assert_eq!(Function::Hash.arity().to_string(), "2 arguments");
        assert_eq!(Function::Format.arity().to_string(), "at least 1 argument");
        assert_eq!(
            Function::ToArray.arity().to_string(),
            "at least 0 arguments"
        );
        let range = Arity {
            min: 1,
            max: Some(3),
        };
        assert_eq!(range.to_string(), "1 to 3 arguments");
        assert!(range.accepts(2) && !range.accepts(4) && !range.accepts(0));
    }

    #[test]
    fn format_fills_placeholders() {
        assert_eq!(
            ok(Function::Format, vec![json!("hello {}"), json!("world")]),
            json!("hello world")
        );
        assert_eq!(
            ok(
                Function::Format,
                vec![json!("{}-{}-{}"), json!(1), json!(true), json!({"a": [1]})]
            ),
            json!(r#"1-true-{"a":[1]}"#)
        );
        assert_eq!(ok(Function::Format, vec![json!("plain")]), json!("plain"));
        assert_eq!(
            err(Function::Format, vec![json!("{} {}"), json!(1)]),
            "format: the template has 2 placeholder(s) but 1 value(s) were given"
        );
        assert!(call_with(Function::Format, vec![json!("x"), json!(1)]).is_err());
        assert_eq!(
            err(Function::Format, vec![json!(1)]),
            "format: argument 1 must be a string, got a number (1)"
        );
        assert_eq!(
            err(Function::Format, vec![]),
            "format expects at least 1 argument, got 0"
        );
    }

    #[test]
    fn length_of_arrays_maps_and_strings() {
        assert_eq!(ok(Function::Length, vec![json!([1, 2, 3])]), json!(3));
        assert_eq!(
            ok(Function::Length, vec![json!({"name": "Tom", "age": 10})]),
            json!(2)
        );
        assert_eq!(ok(Function::Length, vec![json!("name")]), json!(4));
        assert_eq!(ok(Function::Length, vec![json!("héllo")]), json!(5));
        assert_eq!(
            err(Function::Length, vec![json!(5)]),
            "length: argument 1 must be a string, an array or a map, got a number (5)"
        );
        assert_eq!(
            err(Function::Length, vec![json!(1), json!(2)]),
            "length expects 1 argument, got 2"
        );
    }

    #[test]
    fn regex_match_string_matches_anywhere() {
        assert_eq!(
            ok(
                Function::RegexMatchString,
                vec![json!("^\\d+$"), json!("12345")]
            ),
            json!(true)
        );
        assert_eq!(
            ok(Function::RegexMatchString, vec![json!("b+"), json!("abbc")]),
            json!(true)
        );
        assert_eq!(
            ok(Function::RegexMatchString, vec![json!("^x"), json!("abc")]),
            json!(false)
        );
        assert!(
            err(Function::RegexMatchString, vec![json!("("), json!("a")])
                .starts_with("regexMatchString: invalid regular expression")
        );
        assert!(call_with(Function::RegexMatchString, vec![json!("a"), json!(1)]).is_err());
        assert!(call_with(Function::RegexMatchString, vec![json!("a")]).is_err());
    }

    #[test]
    fn split_by_separator() {
        assert_eq!(
            ok(Function::Split, vec![json!("a,b,c"), json!(",")]),
            json!(["a", "b", "c"])
        );
        assert_eq!(
            ok(Function::Split, vec![json!("a--b"), json!("--")]),
            json!(["a", "b"])
        );
        assert_eq!(
            ok(Function::Split, vec![json!(""), json!(",")]),
            json!([""])
        );
        assert_eq!(
            ok(Function::Split, vec![json!("añb"), json!("")]),
            json!(["a", "ñ", "b"])
        );
        assert_eq!(
            err(Function::Split, vec![json!("a"), json!(1)]),
            "split: argument 2 must be a string, got a number (1)"
        );
        assert!(call_with(Function::Split, vec![json!("a")]).is_err());
    }

    #[test]
    fn get_from_arrays_and_maps() {
        assert_eq!(
            ok(Function::Get, vec![json!([1, 2, 3]), json!(0)]),
            json!(1)
        );
        assert_eq!(
            ok(Function::Get, vec![json!([1, 2, 3]), json!(-1)]),
            json!(3)
        );
        assert_eq!(
            ok(Function::Get, vec![json!({"name": "Tom"}), json!("name")]),
            json!("Tom")
        );
        assert_eq!(
            err(Function::Get, vec![json!([1]), json!(5)]),
            "get: index 5 out of range (length 1)"
        );
        assert_eq!(
            err(Function::Get, vec![json!({}), json!("k")]),
            "get: key 'k' not found"
        );
        assert_eq!(
            err(Function::Get, vec![json!([1]), json!("0")]),
            "get: argument 2 must be an integer, got a string (\"0\")"
        );
        assert!(call_with(Function::Get, vec![json!("abc"), json!(0)]).is_err());
        assert!(call_with(Function::Get, vec![json!([1])]).is_err());
    }

    #[test]
    fn int_add_adds_integers() {
        assert_eq!(ok(Function::IntAdd, vec![json!(1), json!(2)]), json!(3));
        assert_eq!(ok(Function::IntAdd, vec![json!(-5), json!(2)]), json!(-3));
        assert_eq!(
            err(Function::IntAdd, vec![json!(1.5), json!(2)]),
            "intAdd: argument 1 must be an integer, got a number (1.5)"
        );
        assert_eq!(
            err(Function::IntAdd, vec![json!(i64::MAX), json!(1)]),
            "intAdd: integer overflow"
        );
        assert_eq!(
            err(Function::IntAdd, vec![json!(1)]),
            "intAdd expects 2 arguments, got 1"
        );
    }

    #[test]
    fn random_int_stays_in_range() {
        let input = json!(null);
        let context = no_context;
        let env = Env::new(&input, &context, 99);
        let expr = Expr::Call(Function::RandomInt, vec![lit(json!(1)), lit(json!(4))]);
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let v = expr.eval(&env).ok().and_then(|v| v.as_i64());
            let v = v.unwrap_or(-1);
            assert!((1..4).contains(&v), "{v} out of [1, 4)");
            seen.insert(v);
        }
        assert_eq!(seen.len(), 3);
        let extreme = vec![json!(i64::MIN), json!(i64::MAX)];
        assert!(ok(Function::RandomInt, extreme).is_i64());
        assert_eq!(
            err(Function::RandomInt, vec![json!(5), json!(5)]),
            "randomInt: max (5) must be greater than min (5)"
        );
        assert!(call_with(Function::RandomInt, vec![json!("1"), json!(5)]).is_err());
        assert!(call_with(Function::RandomInt, vec![]).is_err());
    }

    #[test]
    fn random_int_and_uuid_are_deterministic_per_env() {
        let input = json!(null);
        let context = no_context;
        let exprs = [
            Expr::Call(
                Function::RandomInt,
                vec![lit(json!(0)), lit(json!(1_000_000))],
            ),
            Expr::Call(Function::Uuid, vec![]),
        ];
        let run = |seed| {
            let env = Env::new(&input, &context, seed);
            let mut out = Vec::new();
            for _ in 0..3 {
                for e in &exprs {
                    out.push(e.eval(&env));
                }
            }
            out
        };
        assert_eq!(run(1), run(1));
        assert_ne!(run(1), run(2));
        let values = run(1);
        let distinct: HashSet<String> = values.iter().map(|v| format!("{v:?}")).collect();
        assert_eq!(distinct.len(), values.len(), "successive calls must differ");
    }

    #[test]
    fn array_contains_compares_by_value() {
        assert_eq!(
            ok(Function::ArrayContains, vec![json!(["Tom", 10]), json!(10)]),
            json!(true)
        );
        assert_eq!(
            ok(
                Function::ArrayContains,
                vec![json!(["Tom", 10]), json!("Jack")]
            ),
            json!(false)
        );
        assert_eq!(
            ok(Function::ArrayContains, vec![json!([1.0]), json!(1)]),
            json!(true)
        );
        assert_eq!(
            err(Function::ArrayContains, vec![json!("Tom"), json!("T")]),
            "arrayContains: argument 1 must be an array, got a string (\"Tom\")"
        );
        assert!(call_with(Function::ArrayContains, vec![json!([])]).is_err());
    }

    #[test]
    fn array_unique_keeps_first_occurrences() {
        assert_eq!(
            ok(Function::ArrayUnique, vec![json!([1, 2, 3, 1])]),
            json!([1, 2, 3])
        );
        assert_eq!(
            ok(
                Function::ArrayUnique,
                vec![json!([{"a": 1}, "x", {"a": 1.0}, "x"])]
            ),
            json!([{"a": 1}, "x"])
        );
        assert!(call_with(Function::ArrayUnique, vec![json!({})]).is_err());
        assert!(call_with(Function::ArrayUnique, vec![]).is_err());
    }

    #[test]
    fn to_array_collects_its_arguments() {
        assert_eq!(
            ok(Function::ToArray, vec![json!(1), json!("a"), json!(null)]),
            json!([1, "a", null])
        );
        assert_eq!(ok(Function::ToArray, vec![]), json!([]));
    }

    #[test]
    fn map_keys_and_values() {
        let map = json!({"name": "Tom", "age": 10});
        assert_eq!(
            ok(Function::MapKeys, vec![map.clone()]),
            json!(["name", "age"])
        );
        assert_eq!(
            ok(Function::MapValues, vec![map.clone()]),
            json!(["Tom", 10])
        );
        assert_eq!(
            err(Function::MapKeys, vec![json!([1])]),
            "mapKeys: argument 1 must be a map (JSON object), got an array"
        );
        assert!(call_with(Function::MapValues, vec![json!("x")]).is_err());
        assert!(call_with(Function::MapKeys, vec![map.clone(), map]).is_err());
    }

    #[test]
    fn base64_round_trip() {
        assert_eq!(ok(Function::ToBase64, vec![json!("FnF")]), json!("Rm5G"));
        assert_eq!(
            ok(Function::ToBase64, vec![json!("hello world")]),
            json!("aGVsbG8gd29ybGQ=")
        );
        assert_eq!(ok(Function::FromBase64, vec![json!("Rm5G")]), json!("FnF"));
        assert_eq!(
            ok(Function::FromBase64, vec![json!("aGVsbG8gd29ybGQ=")]),
            json!("hello world")
        );
        assert!(
            err(Function::FromBase64, vec![json!("not base64!")])
                .starts_with("fromBase64: invalid Base64")
        );
        assert_eq!(
            err(Function::FromBase64, vec![json!("/w==")]),
            "fromBase64: the decoded bytes are not UTF-8 text"
        );
        assert!(call_with(Function::ToBase64, vec![json!(1)]).is_err());
        assert!(call_with(Function::FromBase64, vec![]).is_err());
    }

    #[test]
    fn hash_hex_digests() {
        assert_eq!(
            ok(Function::Hash, vec![json!("abc"), json!("MD5")]),
            json!("900150983cd24fb0d6963f7d28e17f72")
        );
        assert_eq!(
            ok(Function::Hash, vec![json!("abc"), json!("SHA-1")]),
            json!("a9993e364706816aba3e25717850c26c9cd0d89d")
        );
        assert_eq!(
            ok(Function::Hash, vec![json!("abc"), json!("SHA-256")]),
            json!("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        );
        let sha512 = ok(Function::Hash, vec![json!("abc"), json!("sha-512")]);
        assert!(
            sha512
                .as_str()
                .is_some_and(|s| s.len() == 128 && s.starts_with("ddaf35a1"))
        );
        assert_eq!(
            err(Function::Hash, vec![json!("abc"), json!("CRC32")]),
            "hash: unsupported algorithm 'CRC32'; expected MD5, SHA-1, SHA-256 or SHA-512"
        );
        assert!(call_with(Function::Hash, vec![json!(1), json!("MD5")]).is_err());
        assert!(call_with(Function::Hash, vec![json!("abc")]).is_err());
    }

    #[test]
    fn uuid_is_a_version_4_uuid() {
        let value = ok(Function::Uuid, vec![]);
        let parsed = value.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok());
        assert_eq!(parsed.map(|u| u.get_version_num()), Some(4));
        assert_eq!(value.as_str().map(str::len), Some(36));
        assert_eq!(
            err(Function::Uuid, vec![json!(1)]),
            "uuid expects no arguments, got 1"
        );
    }

    #[test]
    fn string_to_json_parses() {
        assert_eq!(
            ok(
                Function::StringToJson,
                vec![json!(r#"{"name": "Tom", "age": 10}"#)]
            ),
            json!({"name": "Tom", "age": 10})
        );
        assert_eq!(ok(Function::StringToJson, vec![json!("[1]")]), json!([1]));
        assert!(
            err(Function::StringToJson, vec![json!("{")]).starts_with("stringToJson: invalid JSON")
        );
        assert!(call_with(Function::StringToJson, vec![json!({})]).is_err());
        assert!(call_with(Function::StringToJson, vec![]).is_err());
    }

    #[test]
    fn json_to_string_serialises_compactly() {
        assert_eq!(
            ok(
                Function::JsonToString,
                vec![json!({"name": "Tom", "age": 10})]
            ),
            json!(r#"{"name":"Tom","age":10}"#)
        );
        assert_eq!(ok(Function::JsonToString, vec![json!("s")]), json!("\"s\""));
        assert!(call_with(Function::JsonToString, vec![json!(1), json!(2)]).is_err());
    }

    #[test]
    fn json_merge_is_shallow_and_right_biased() {
        assert_eq!(
            ok(
                Function::JsonMerge,
                vec![
                    json!({"name": "Tom", "age": 10}),
                    json!({"name": "Tom", "address": "beijing"})
                ]
            ),
            json!({"name": "Tom", "age": 10, "address": "beijing"})
        );
        assert_eq!(
            ok(
                Function::JsonMerge,
                vec![json!({"a": {"x": 1}}), json!({"a": {"y": 2}})]
            ),
            json!({"a": {"y": 2}})
        );
        assert_eq!(
            err(Function::JsonMerge, vec![json!({}), json!([])]),
            "jsonMerge: argument 2 must be a map (JSON object), got an array"
        );
        assert!(call_with(Function::JsonMerge, vec![json!({})]).is_err());
    }
}
