//! The intrinsic functions of the JSONPath query language (`States.Format(…)` and the rest),
//! with the argument rules of the Developer Guide ("Intrinsic functions for JSONPath states")
//! and the specification's Appendix B. Where AWS was recorded doing something the documents do
//! not say (`States.Format` of an object, `States.StringToJson` of blank text,
//! `States.StringSplit` dropping empty parts), the recording wins; see the tests.

use std::borrow::Cow;
use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose};
use serde_json::{Map, Value};

use super::error::AslError;
use super::path::Path;
use super::scope::Scope;
use crate::expr::HashAlgorithm;
use crate::expr::functions::Arity;
use crate::expr::ops::{describe, values_equal};
use crate::expr::random;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Intrinsic {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

/// The longest string `States.Base64Encode`, `States.Base64Decode` and `States.Hash` take.
const MAX_TEXT_CHARS: usize = 10_000;
/// The most items `States.ArrayRange` makes.
const MAX_RANGE_ITEMS: i128 = 1000;

/// AWS decodes "MIME Base64": padding may be left out.
const BASE64_MIME: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

impl Intrinsic {
    pub const ALL: [Intrinsic; 18] = [
        Intrinsic::Format,
        Intrinsic::StringToJson,
        Intrinsic::JsonToString,
        Intrinsic::Array,
        Intrinsic::ArrayPartition,
        Intrinsic::ArrayContains,
        Intrinsic::ArrayRange,
        Intrinsic::ArrayGetItem,
        Intrinsic::ArrayLength,
        Intrinsic::ArrayUnique,
        Intrinsic::Base64Encode,
        Intrinsic::Base64Decode,
        Intrinsic::Hash,
        Intrinsic::JsonMerge,
        Intrinsic::MathRandom,
        Intrinsic::MathAdd,
        Intrinsic::StringSplit,
        Intrinsic::Uuid,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Intrinsic::Format => "States.Format",
            Intrinsic::StringToJson => "States.StringToJson",
            Intrinsic::JsonToString => "States.JsonToString",
            Intrinsic::Array => "States.Array",
            Intrinsic::ArrayPartition => "States.ArrayPartition",
            Intrinsic::ArrayContains => "States.ArrayContains",
            Intrinsic::ArrayRange => "States.ArrayRange",
            Intrinsic::ArrayGetItem => "States.ArrayGetItem",
            Intrinsic::ArrayLength => "States.ArrayLength",
            Intrinsic::ArrayUnique => "States.ArrayUnique",
            Intrinsic::Base64Encode => "States.Base64Encode",
            Intrinsic::Base64Decode => "States.Base64Decode",
            Intrinsic::Hash => "States.Hash",
            Intrinsic::JsonMerge => "States.JsonMerge",
            Intrinsic::MathRandom => "States.MathRandom",
            Intrinsic::MathAdd => "States.MathAdd",
            Intrinsic::StringSplit => "States.StringSplit",
            Intrinsic::Uuid => "States.UUID",
        }
    }

    /// The function spelled exactly `name`.
    pub fn from_name(name: &str) -> Option<Intrinsic> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    pub fn arity(self) -> Arity {
        let (min, max) = match self {
            Intrinsic::Format => (1, None),
            Intrinsic::Array => (0, None),
            Intrinsic::Uuid => (0, Some(0)),
            Intrinsic::StringToJson
            | Intrinsic::JsonToString
            | Intrinsic::ArrayLength
            | Intrinsic::ArrayUnique
            | Intrinsic::Base64Encode
            | Intrinsic::Base64Decode => (1, Some(1)),
            Intrinsic::ArrayPartition
            | Intrinsic::ArrayContains
            | Intrinsic::ArrayGetItem
            | Intrinsic::Hash
            | Intrinsic::MathAdd
            | Intrinsic::StringSplit => (2, Some(2)),
            Intrinsic::MathRandom => (2, Some(3)),
            Intrinsic::ArrayRange | Intrinsic::JsonMerge => (3, Some(3)),
        };
        Arity { min, max }
    }
}

/// An intrinsic function call, parsed once ([`Call::parse`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub function: Intrinsic,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    /// A number, `true`, `false` or `null`.
    Literal(Value),
    /// A `'…'` string, unescaped; `placeholders` are the byte offsets of the `{}` written
    /// unescaped (a `States.Format` template's slots; `\{}` is a literal brace).
    String {
        value: String,
        placeholders: Vec<usize>,
    },
    Path(Path),
    Call(Call),
}

impl Call {
    /// Whether evaluating the call reads the context object.
    pub fn uses_context(&self) -> bool {
        self.args.iter().any(|arg| match arg {
            Arg::Path(path) => path.uses_context(),
            Arg::Call(call) => call.uses_context(),
            Arg::Literal(_) | Arg::String { .. } => false,
        })
    }

    /// Runs the call; `field` (the template key, `name.$`) names the place in messages about
    /// a path argument that found nothing.
    pub fn evaluate(&self, scope: &Scope<'_>, field: &str) -> Result<Value, AslError> {
        let values = self
            .args
            .iter()
            .map(|arg| arg.evaluate(scope, field))
            .collect::<Result<Vec<_>, _>>()?;
        let args = Args {
            function: self.function,
            values,
        };
        match self.function {
            Intrinsic::Format => format(&args, self.args.first()),
            Intrinsic::StringToJson => string_to_json(&args),
            Intrinsic::JsonToString => Ok(Value::String(args.value(0).to_string())),
            Intrinsic::Array => Ok(Value::Array(
                args.values.into_iter().map(Cow::into_owned).collect(),
            )),
            Intrinsic::ArrayPartition => array_partition(&args),
            Intrinsic::ArrayContains => {
                let needle = args.value(1);
                Ok(Value::Bool(
                    args.array(0)?.iter().any(|item| values_equal(item, needle)),
                ))
            }
            Intrinsic::ArrayRange => array_range(&args),
            Intrinsic::ArrayGetItem => array_get_item(&args),
            Intrinsic::ArrayLength => Ok(Value::from(args.array(0)?.len())),
            Intrinsic::ArrayUnique => array_unique(&args),
            Intrinsic::Base64Encode => Ok(Value::String(
                general_purpose::STANDARD.encode(args.limited_text(0)?),
            )),
            Intrinsic::Base64Decode => base64_decode(&args),
            Intrinsic::Hash => hash(&args),
            Intrinsic::JsonMerge => json_merge(&args),
            Intrinsic::MathRandom => math_random(&args, scope),
            Intrinsic::MathAdd => math_add(&args),
            Intrinsic::StringSplit => string_split(&args),
            Intrinsic::Uuid => Ok(Value::String(random::uuid_v4(
                scope.entropy().next_u64(),
                scope.entropy().next_u64(),
            ))),
        }
    }
}

impl Arg {
    fn evaluate<'v>(&self, scope: &'v Scope<'_>, field: &str) -> Result<Cow<'v, Value>, AslError> {
        match self {
            Arg::Literal(value) => Ok(Cow::Owned(value.clone())),
            Arg::String { value, .. } => Ok(Cow::Owned(Value::String(value.clone()))),
            Arg::Path(path) => path.select(scope).ok_or_else(|| AslError::PathNotFound {
                path: path.text().to_owned(),
                field: field.to_owned(),
                input: scope.input().to_string(),
            }),
            Arg::Call(call) => call.evaluate(scope, field).map(Cow::Owned),
        }
    }
}

/// The evaluated arguments of one call (their count was checked when parsing), with typed
/// accessors whose errors name the function and the argument.
struct Args<'v> {
    function: Intrinsic,
    values: Vec<Cow<'v, Value>>,
}

impl Args<'_> {
    fn value(&self, index: usize) -> &Value {
        self.values.get(index).map_or(&Value::Null, |v| v.as_ref())
    }

    fn fail(&self, detail: impl std::fmt::Display) -> AslError {
        AslError::Intrinsic(format!("{}: {detail}", self.function.name()))
    }

    fn wrong_type(&self, index: usize, expected: &str) -> AslError {
        self.fail(format_args!(
            "argument {} must be {expected}, got {}",
            index + 1,
            describe(self.value(index))
        ))
    }

    fn string(&self, index: usize) -> Result<&str, AslError> {
        self.value(index)
            .as_str()
            .ok_or_else(|| self.wrong_type(index, "a string"))
    }

    /// A string of at most 10,000 characters.
    fn limited_text(&self, index: usize) -> Result<&str, AslError> {
        let text = self.string(index)?;
        check_length(self, index, text)?;
        Ok(text)
    }

    fn array(&self, index: usize) -> Result<&Vec<Value>, AslError> {
        self.value(index)
            .as_array()
            .ok_or_else(|| self.wrong_type(index, "an array"))
    }

    fn object(&self, index: usize) -> Result<&Map<String, Value>, AslError> {
        self.value(index)
            .as_object()
            .ok_or_else(|| self.wrong_type(index, "a JSON object"))
    }

    /// A number rounded to the nearest integer, as AWS does for the arguments it documents as
    /// integers ("If you specify a non-integer value … Step Functions will round it off to the
    /// nearest integer").
    fn rounded(&self, index: usize) -> Result<i64, AslError> {
        let value = self.value(index);
        if let Some(i) = value.as_i64() {
            return Ok(i);
        }
        let rounded = value.as_f64().map(|f| (f + 0.5).floor());
        match rounded {
            Some(r) if r.is_finite() && r >= i64::MIN as f64 && r < i64::MAX as f64 => Ok(r as i64),
            Some(_) => Err(self.fail(format_args!(
                "argument {} ({}) is out of range",
                index + 1,
                value
            ))),
            None => Err(self.wrong_type(index, "a number")),
        }
    }

    /// A number with no fractional part.
    fn integer(&self, index: usize) -> Result<i64, AslError> {
        let value = self.value(index);
        value
            .as_i64()
            .or_else(|| {
                value
                    .as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15)
                    .map(|f| f as i64)
            })
            .ok_or_else(|| self.wrong_type(index, "an integer"))
    }
}

fn check_length(args: &Args<'_>, index: usize, text: &str) -> Result<(), AslError> {
    let chars = text.chars().count();
    if chars > MAX_TEXT_CHARS {
        return Err(args.fail(format_args!(
            "argument {} has {chars} characters; at most {MAX_TEXT_CHARS} are allowed",
            index + 1
        )));
    }
    Ok(())
}

/// Fills each `{}` of the template with the next argument's natural string representation.
fn format(args: &Args<'_>, template_arg: Option<&Arg>) -> Result<Value, AslError> {
    let template = args.string(0)?;
    let slots: Vec<usize> = match template_arg {
        Some(Arg::String { placeholders, .. }) => placeholders.clone(),
        _ => template.match_indices("{}").map(|(at, _)| at).collect(),
    };
    let values = args.values.get(1..).unwrap_or_default();
    if slots.len() != values.len() {
        return Err(args.fail(format_args!(
            "the template has {} placeholder(s) but {} value(s) were given",
            slots.len(),
            values.len()
        )));
    }
    let mut out = String::with_capacity(template.len());
    let mut from = 0;
    for (slot, value) in slots.iter().zip(values) {
        out.push_str(template.get(from..*slot).unwrap_or_default());
        write_natural(&mut out, value);
        from = slot + 2;
    }
    out.push_str(template.get(from..).unwrap_or_default());
    Ok(Value::String(out))
}

/// A value as `States.Format` writes it: strings without quotes, other scalars as JSON, and
/// (as AWS was recorded doing, conformance case `context_json_path`) objects and arrays the way
/// Java prints maps and lists: `{Id=arn:…, Name=x}`, `[1, a]`.
fn write_natural(out: &mut String, value: &Value) {
    match value {
        Value::String(s) => out.push_str(s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                write_natural(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(key);
                out.push('=');
                write_natural(out, item);
            }
            out.push('}');
        }
        other => {
            // Writing to a String cannot fail.
            let _ = write!(out, "{other}");
        }
    }
}

/// Blank text is `null` (recorded: `""` and `" "` give `null`).
fn string_to_json(args: &Args<'_>) -> Result<Value, AslError> {
    let text = args.string(0)?;
    if text.trim().is_empty() {
        return Ok(Value::Null);
    }
    let mut value: Value = serde_json::from_str(text)
        .map_err(|e| args.fail(format_args!("argument 1 is not valid JSON text ({e})")))?;
    unsign_zeros(&mut value);
    Ok(value)
}

/// `-0` parses as the integer 0, as AWS's parser reads it (recorded: `"-0"` gives `0`).
fn unsign_zeros(value: &mut Value) {
    match value {
        Value::Number(n) if n.as_f64().is_some_and(|f| f == 0.0 && f.is_sign_negative()) => {
            *value = Value::from(0);
        }
        Value::Array(items) => items.iter_mut().for_each(unsign_zeros),
        Value::Object(map) => map.values_mut().for_each(unsign_zeros),
        _ => {}
    }
}

fn array_partition(args: &Args<'_>) -> Result<Value, AslError> {
    let items = args.array(0)?;
    let size = args.rounded(1)?;
    let size = usize::try_from(size)
        .ok()
        .filter(|s| *s > 0)
        .ok_or_else(|| {
            args.fail(format_args!(
                "the chunk size (argument 2) must be a positive integer, got {}",
                args.value(1)
            ))
        })?;
    Ok(Value::Array(
        items
            .chunks(size)
            .map(|chunk| Value::Array(chunk.to_vec()))
            .collect(),
    ))
}

/// From the first argument to the last, both included, by the third.
fn array_range(args: &Args<'_>) -> Result<Value, AslError> {
    let start = i128::from(args.rounded(0)?);
    let end = i128::from(args.rounded(1)?);
    let step = i128::from(args.rounded(2)?);
    if step == 0 {
        return Err(args.fail("the step (argument 3) must not be zero"));
    }
    let count = if (end - start).signum() * step.signum() < 0 {
        0
    } else {
        (end - start) / step + 1
    };
    if count > MAX_RANGE_ITEMS {
        return Err(args.fail(format_args!(
            "the range would have {count} items; at most {MAX_RANGE_ITEMS} are allowed"
        )));
    }
    // Every item lies between start and end, which came from i64s.
    Ok(Value::Array(
        (0..count)
            .map(|i| Value::from((start + i * step) as i64))
            .collect(),
    ))
}

fn array_get_item(args: &Args<'_>) -> Result<Value, AslError> {
    let items = args.array(0)?;
    let index = args.integer(1)?;
    usize::try_from(index)
        .ok()
        .and_then(|i| items.get(i))
        .cloned()
        .ok_or_else(|| {
            args.fail(format_args!(
                "index {index} (argument 2) is out of range for an array of {} item(s)",
                items.len()
            ))
        })
}

/// First occurrences kept, in order; numbers compare by value.
fn array_unique(args: &Args<'_>) -> Result<Value, AslError> {
    let mut unique: Vec<Value> = Vec::new();
    for item in args.array(0)? {
        if !unique.iter().any(|seen| values_equal(seen, item)) {
            unique.push(item.clone());
        }
    }
    Ok(Value::Array(unique))
}

/// Bytes that are not UTF-8 become U+FFFD, as a Java decoder writes them.
fn base64_decode(args: &Args<'_>) -> Result<Value, AslError> {
    let bytes = BASE64_MIME
        .decode(args.limited_text(0)?)
        .map_err(|e| args.fail(format_args!("argument 1 is not Base64 ({e})")))?;
    Ok(Value::String(String::from_utf8_lossy(&bytes).into_owned()))
}

/// The data is hashed as text: a string as it is, anything else as its JSON text
/// ("the length of the stringified version of the first argument must be 10,000 characters or
/// less").
fn hash(args: &Args<'_>) -> Result<Value, AslError> {
    let data = match args.value(0) {
        Value::String(s) => Cow::Borrowed(s.as_str()),
        other => Cow::Owned(other.to_string()),
    };
    check_length(args, 0, &data)?;
    let name = args.string(1)?;
    let algorithm = HashAlgorithm::from_name(name).ok_or_else(|| {
        args.fail(format_args!(
            "unsupported algorithm '{name}'; expected MD5, SHA-1, SHA-256, SHA-384 or SHA-512"
        ))
    })?;
    Ok(Value::String(algorithm.hex_digest(data.as_bytes())))
}

/// Shallow: the second object's fields replace the first's. The Developer Guide: "Currently,
/// Step Functions only supports the shallow merging mode; therefore, you must specify the
/// boolean value as false."
fn json_merge(args: &Args<'_>) -> Result<Value, AslError> {
    let first = args.object(0)?;
    let second = args.object(1)?;
    match args.value(2) {
        Value::Bool(false) => {}
        Value::Bool(true) => {
            return Err(
                args.fail("only the shallow merging mode is supported: argument 3 must be false")
            );
        }
        _ => return Err(args.wrong_type(2, "the boolean false")),
    }
    let mut merged = first.clone();
    for (key, value) in second {
        merged.insert(key.clone(), value.clone());
    }
    Ok(Value::Object(merged))
}

/// An integer from the start (included) to the end (excluded). With a seed, the same seed gives
/// the same number; without, the draw comes from the scope's entropy.
fn math_random(args: &Args<'_>, scope: &Scope<'_>) -> Result<Value, AslError> {
    let start = args.rounded(0)?;
    let end = args.rounded(1)?;
    if end <= start {
        return Err(args.fail(format_args!(
            "the end (argument 2, {end}) must be greater than the start (argument 1, {start})"
        )));
    }
    let draw = if args.values.len() > 2 {
        // Reinterpreting the seed's bits keeps every seed distinct.
        random::draw(args.rounded(2)? as u64, 0)
    } else {
        scope.entropy().next_u64()
    };
    Ok(Value::from(random::in_range(draw, start, end)))
}

/// Both values must lie in the 32-bit range AWS documents (-2147483648 to 2147483647).
fn math_add(args: &Args<'_>) -> Result<Value, AslError> {
    let mut sum = 0i64;
    for index in 0..2 {
        let value = args.rounded(index)?;
        if i32::try_from(value).is_err() {
            return Err(args.fail(format_args!(
                "argument {} ({value}) must be between -2147483648 and 2147483647",
                index + 1
            )));
        }
        sum += value;
    }
    Ok(Value::from(sum))
}

/// Every character of the second argument is a delimiter, and empty parts are dropped
/// (recorded: `",,,,"` split on `","` is `[]`, `"This.is+a,test=string"` on `".+,="` is five
/// words).
fn string_split(args: &Args<'_>) -> Result<Value, AslError> {
    let text = args.string(0)?;
    let delimiters = args.string(1)?;
    Ok(Value::Array(
        text.split(|c| delimiters.contains(c))
            .filter(|part| !part.is_empty())
            .map(|part| Value::String(part.to_owned()))
            .collect(),
    ))
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use serde_json::json;

    use super::*;
    use crate::expr::Entropy;

    fn call(text: &str, input: Value) -> Result<Value, String> {
        let call = Call::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let scope = Scope::new(&input);
        call.evaluate(&scope, "f.$").map_err(|e| {
            assert_eq!(e.name(), "States.IntrinsicFailure", "{e}");
            e.to_string()
        })
    }

    fn ok(text: &str, input: Value) -> Value {
        call(text, input).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    fn err(text: &str, input: Value) -> String {
        match call(text, input) {
            Err(e) => e,
            Ok(v) => panic!("{text}: expected a failure, got {v}"),
        }
    }

    #[test]
    fn names_round_trip() {
        for f in Intrinsic::ALL {
            assert_eq!(Intrinsic::from_name(f.name()), Some(f));
        }
        assert_eq!(Intrinsic::from_name("States.uuid"), None);
        assert_eq!(Intrinsic::Uuid.arity().to_string(), "no arguments");
        assert_eq!(
            Intrinsic::MathRandom.arity().to_string(),
            "2 to 3 arguments"
        );
    }

    #[test]
    fn format_argument_rules() {
        assert_eq!(
            ok("States.Format('{} and {}', 1, null)", json!({})),
            json!("1 and null")
        );
        assert_eq!(
            ok("States.Format('a\\{}b {}', 'x')", json!({})),
            json!("a{}b x")
        );
        assert_eq!(
            ok("States.Format($.t, 2)", json!({"t": "<{}>"})),
            json!("<2>")
        );
        assert_eq!(
            ok(
                "States.Format('{}', $.v)",
                json!({"v": [1, "a", {"k": [true]}]})
            ),
            json!("[1, a, {k=[true]}]")
        );
        assert_eq!(
            err("States.Format('{} {}', 1)", json!({})),
            "States.Format: the template has 2 placeholder(s) but 1 value(s) were given"
        );
        assert_eq!(
            err("States.Format('x', 1)", json!({})),
            "States.Format: the template has 0 placeholder(s) but 1 value(s) were given"
        );
        assert_eq!(
            err("States.Format($.t)", json!({"t": 5})),
            "States.Format: argument 1 must be a string, got a number (5)"
        );
    }

    #[test]
    fn string_to_json_argument_rules() {
        assert_eq!(ok("States.StringToJson('-0')", json!({})), json!(0));
        assert_eq!(
            ok("States.StringToJson('[-0, 0.5]')", json!({})),
            json!([0, 0.5])
        );
        assert_eq!(ok("States.StringToJson('  ')", json!({})), Value::Null);
        assert!(
            err("States.StringToJson('{')", json!({}))
                .starts_with("States.StringToJson: argument 1 is not valid JSON text")
        );
        assert_eq!(
            err("States.StringToJson($.n)", json!({"n": 1})),
            "States.StringToJson: argument 1 must be a string, got a number (1)"
        );
    }

    #[test]
    fn json_to_string_writes_compact_json() {
        assert_eq!(
            ok(
                "States.JsonToString($.v)",
                json!({"v": {"a": [1, "x"], "b": null}})
            ),
            json!(r#"{"a":[1,"x"],"b":null}"#)
        );
        assert_eq!(
            ok("States.JsonToString($.s)", json!({"s": "q"})),
            json!("\"q\"")
        );
    }

    #[test]
    fn array_functions_argument_rules() {
        assert_eq!(ok("States.Array()", json!({})), json!([]));
        assert_eq!(
            ok(
                "States.ArrayPartition($.a, 4.6)",
                json!({"a": [1, 2, 3, 4, 5, 6, 7, 8, 9]})
            ),
            json!([[1, 2, 3, 4, 5], [6, 7, 8, 9]])
        );
        assert_eq!(
            ok("States.ArrayPartition($.a, 2)", json!({"a": []})),
            json!([])
        );
        assert_eq!(
            err("States.ArrayPartition($.a, 0)", json!({"a": [1]})),
            "States.ArrayPartition: the chunk size (argument 2) must be a positive integer, got 0"
        );
        assert!(err("States.ArrayPartition($.a, -3)", json!({"a": [1]})).contains("positive"));
        assert_eq!(
            err("States.ArrayPartition($.a, 2)", json!({"a": "x"})),
            "States.ArrayPartition: argument 1 must be an array, got a string (\"x\")"
        );
        assert_eq!(
            err("States.ArrayPartition($.a, 'two')", json!({"a": [1]})),
            "States.ArrayPartition: argument 2 must be a number, got a string (\"two\")"
        );
        assert_eq!(
            err("States.ArrayContains($.a, 1)", json!({"a": {}})),
            "States.ArrayContains: argument 1 must be an array, got an object"
        );
        assert_eq!(
            ok("States.ArrayRange(9, 1, -3)", json!({})),
            json!([9, 6, 3])
        );
        assert_eq!(ok("States.ArrayRange(1, 9, -2)", json!({})), json!([]));
        assert_eq!(
            ok("States.ArrayRange(1.4, 2.5, 1)", json!({})),
            json!([1, 2, 3])
        );
        assert_eq!(
            ok("States.ArrayRange(0, 999, 1)", json!({}))
                .as_array()
                .map(Vec::len),
            Some(1000)
        );
        assert_eq!(
            err("States.ArrayRange(0, 1000, 1)", json!({})),
            "States.ArrayRange: the range would have 1001 items; at most 1000 are allowed"
        );
        assert_eq!(
            err("States.ArrayRange(1, 2, 0)", json!({})),
            "States.ArrayRange: the step (argument 3) must not be zero"
        );
        assert_eq!(
            err("States.ArrayRange(1, 2, 0.4)", json!({})),
            "States.ArrayRange: the step (argument 3) must not be zero"
        );
        assert!(
            err("States.ArrayRange('1', 2, 1)", json!({})).contains("argument 1 must be a number")
        );
        assert_eq!(
            ok("States.ArrayGetItem($.a, 0)", json!({"a": [7]})),
            json!(7)
        );
        assert_eq!(
            ok("States.ArrayGetItem($.a, 1.0)", json!({"a": [7, 8]})),
            json!(8)
        );
        assert_eq!(
            err("States.ArrayGetItem($.a, 1)", json!({"a": [7]})),
            "States.ArrayGetItem: index 1 (argument 2) is out of range for an array of 1 item(s)"
        );
        assert!(err("States.ArrayGetItem($.a, -1)", json!({"a": [7]})).contains("out of range"));
        assert_eq!(
            err("States.ArrayGetItem($.a, 0.5)", json!({"a": [7]})),
            "States.ArrayGetItem: argument 2 must be an integer, got a number (0.5)"
        );
        assert!(err("States.ArrayGetItem($.a, 0)", json!({"a": 1})).contains("must be an array"));
        assert_eq!(ok("States.ArrayLength($.a)", json!({"a": []})), json!(0));
        assert!(err("States.ArrayLength($.a)", json!({"a": null})).contains("must be an array"));
        assert_eq!(
            ok(
                "States.ArrayUnique($.a)",
                json!({"a": [1, 1.0, {"x": 1}, {"x": 1}, "1"]})
            ),
            json!([1, {"x": 1}, "1"])
        );
        assert!(err("States.ArrayUnique($.a)", json!({"a": "abc"})).contains("must be an array"));
    }

    #[test]
    fn encoding_argument_rules() {
        let long = "x".repeat(10_001);
        assert_eq!(
            err("States.Base64Encode($.s)", json!({"s": long})),
            "States.Base64Encode: argument 1 has 10001 characters; at most 10000 are allowed"
        );
        assert!(call("States.Base64Encode($.s)", json!({"s": "é".repeat(10_000)})).is_ok());
        assert!(err("States.Base64Encode($.s)", json!({"s": 1})).contains("must be a string"));
        assert_eq!(
            ok("States.Base64Decode('RGF0YQ')", json!({})),
            json!("Data")
        );
        assert!(
            err("States.Base64Decode('not base64!')", json!({}))
                .starts_with("States.Base64Decode: argument 1 is not Base64")
        );
        assert!(err("States.Base64Decode($.s)", json!({"s": [1]})).contains("must be a string"));
        assert_eq!(
            ok("States.Base64Decode('/w==')", json!({})),
            json!("\u{fffd}")
        );
    }

    #[test]
    fn hash_argument_rules() {
        assert_eq!(
            err("States.Hash('a', 'SHA-224')", json!({})),
            "States.Hash: unsupported algorithm 'SHA-224'; expected MD5, SHA-1, SHA-256, SHA-384 or SHA-512"
        );
        assert!(err("States.Hash('a', 'md5')", json!({})).contains("unsupported algorithm 'md5'"));
        assert!(err("States.Hash('a', 1)", json!({})).contains("argument 2 must be a string"));
        assert_eq!(
            ok("States.Hash($.v, 'MD5')", json!({"v": {"a": 1}})),
            json!(HashAlgorithm::Md5.hex_digest(br#"{"a":1}"#))
        );
        let long = "x".repeat(10_001);
        assert!(err("States.Hash($.s, 'MD5')", json!({"s": long})).contains("at most 10000"));
    }

    #[test]
    fn json_merge_argument_rules() {
        assert_eq!(
            err(
                "States.JsonMerge($.a, $.b, true)",
                json!({"a": {}, "b": {}})
            ),
            "States.JsonMerge: only the shallow merging mode is supported: argument 3 must be false"
        );
        assert_eq!(
            err(
                "States.JsonMerge($.a, $.b, 'false')",
                json!({"a": {}, "b": {}})
            ),
            "States.JsonMerge: argument 3 must be the boolean false, got a string (\"false\")"
        );
        assert!(
            err(
                "States.JsonMerge($.a, $.b, false)",
                json!({"a": [], "b": {}})
            )
            .contains("argument 1 must be a JSON object")
        );
        assert!(
            err(
                "States.JsonMerge($.a, $.b, false)",
                json!({"a": {}, "b": 2})
            )
            .contains("argument 2 must be a JSON object")
        );
    }

    #[test]
    fn math_argument_rules() {
        let input = json!({});
        let entropy = Entropy::new(11);
        let scope = Scope::new(&input).with_entropy(&entropy);
        let random = Call::parse("States.MathRandom(1, 4)").unwrap_or_else(|e| panic!("{e}"));
        let mut seen = HashSet::new();
        for _ in 0..200 {
            let v = random.evaluate(&scope, "r.$").ok().and_then(|v| v.as_i64());
            let v = v.unwrap_or(-1);
            assert!((1..4).contains(&v), "{v}");
            seen.insert(v);
        }
        assert_eq!(seen.len(), 3, "1, 2 and 3 all come up; 4 never does");
        let seeded = |seed: i64| ok(&format!("States.MathRandom(0, 1000000, {seed})"), json!({}));
        assert_eq!(seeded(42), seeded(42));
        assert_ne!(seeded(42), seeded(43));
        assert_eq!(
            err("States.MathRandom(5, 5)", json!({})),
            "States.MathRandom: the end (argument 2, 5) must be greater than the start (argument 1, 5)"
        );
        assert!(
            err("States.MathRandom('a', 5)", json!({})).contains("argument 1 must be a number")
        );
        assert!(
            err("States.MathRandom(1, 5, 'x')", json!({})).contains("argument 3 must be a number")
        );
        assert_eq!(ok("States.MathAdd(1.6, -1)", json!({})), json!(1));
        assert_eq!(
            ok("States.MathAdd(2147483647, 2147483647)", json!({})),
            json!(4294967294_i64)
        );
        assert_eq!(
            err("States.MathAdd(2147483648, 1)", json!({})),
            "States.MathAdd: argument 1 (2147483648) must be between -2147483648 and 2147483647"
        );
        assert!(err("States.MathAdd(1, -2147483649)", json!({})).contains("argument 2"));
        assert!(
            err("States.MathAdd(1, null)", json!({}))
                .contains("argument 2 must be a number, got null")
        );
    }

    #[test]
    fn string_split_argument_rules() {
        assert_eq!(ok("States.StringSplit('', ',')", json!({})), json!([]));
        assert_eq!(
            ok("States.StringSplit('a,b', '')", json!({})),
            json!(["a,b"])
        );
        assert_eq!(
            ok("States.StringSplit('añb', 'ñ')", json!({})),
            json!(["a", "b"])
        );
        assert!(
            err("States.StringSplit(1, ',')", json!({})).contains("argument 1 must be a string")
        );
        assert!(
            err("States.StringSplit('a', $.d)", json!({"d": [","]}))
                .contains("argument 2 must be a string")
        );
    }

    #[test]
    fn uuids_are_reproducible_per_entropy() {
        let input = json!({});
        let uuid = Call::parse("States.UUID()").unwrap_or_else(|e| panic!("{e}"));
        let run = |seed| {
            let entropy = Entropy::new(seed);
            let scope = Scope::new(&input).with_entropy(&entropy);
            (uuid.evaluate(&scope, "u.$"), uuid.evaluate(&scope, "u.$"))
        };
        let (a, b) = run(5);
        assert_eq!(run(5), (a.clone(), b.clone()));
        assert_ne!(a, b);
        let version = a
            .ok()
            .and_then(|v| v.as_str().and_then(|s| uuid::Uuid::parse_str(s).ok()))
            .map(|u| u.get_version_num());
        assert_eq!(version, Some(4));
    }

    #[test]
    fn a_path_argument_that_finds_nothing_names_the_field() {
        let call = Call::parse("States.ArrayLength($.nope)").unwrap_or_else(|e| panic!("{e}"));
        let input = json!({"a": 1});
        let e = call.evaluate(&Scope::new(&input), "n.$");
        assert_eq!(
            e.map_err(|e| (e.name(), e.to_string())),
            Err((
                "States.Runtime",
                "The JSONPath '$.nope' specified for the field 'n.$' could not be found in the input '{\"a\":1}'".to_owned()
            ))
        );
    }

    #[test]
    fn uses_context_looks_into_nested_calls() {
        let parse = |t| Call::parse(t).unwrap_or_else(|e| panic!("{e}"));
        assert!(parse("States.Format('{}', States.Array($$.Execution.Id))").uses_context());
        assert!(!parse("States.Format('{}', $.a)").uses_context());
    }
}
