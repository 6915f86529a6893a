//! Paths of the JSONPath query language (Amazon States Language, "JSONPath Concepts").
//!
//! A path starts at the state's input (`$`, `$.a.b`, `$['x']`, `$.a[0]`), at the context object
//! (`$$.Execution.Id`: the first `$` is stripped and the rest applies to the context object), or
//! at a variable set by `Assign` (`$name.field`). AWS's syntax is Jayway JsonPath's.
//!
//! A *reference path* (only fields and indexes; AWS: "the operators `@ .. , : ? *` aren't
//! supported") identifies one node; it is parsed into steps and walked without a query engine
//! or any allocation. Any other path (wildcards, filters, slices, unions, descent) runs on
//! `serde_json_path` (RFC 9535) and, as the specification says of a path yielding several
//! values, its matches are gathered into an array (`[]` when nothing matches). Jayway spellings
//! RFC 9535 does not accept (a dot before a name such as `input-value`, `.[`) are rewritten
//! into bracket notation before the RFC parser sees them.

use std::borrow::Cow;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use serde_json_path::JsonPath;

use super::error::AslError;
use super::scope::Scope;

/// Where a path starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathRoot {
    /// `$`: the value the path is applied to (state input, result, …).
    Input,
    /// `$$`: the context object.
    Context,
    /// `$name`: a state machine variable.
    Variable(String),
}

/// One step of a reference path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Field(String),
    /// An array index; negative counts from the end, as Jayway does.
    Index(i64),
}

/// A parsed path, kept with the text it was written as (messages quote it).
#[derive(Clone)]
pub struct Path {
    text: String,
    root: PathRoot,
    query: Query,
}

#[derive(Clone)]
enum Query {
    Reference(Vec<Step>),
    Full(Box<JsonPath>),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    #[error("'{0}' is not a path: a path begins with '$'")]
    NotAPath(String),
    #[error("'{text}' is not a valid JSONPath: {reason}")]
    Syntax { text: String, reason: String },
    #[error(
        "'{0}' must be a reference path: fields and array indexes only \
         (no '*', '..', ',', ':', '?', '@' or functions)"
    )]
    NotReference(String),
    #[error("'{0}' must apply to the state's data: it may not begin with '$$' or name a variable")]
    NotInputRooted(String),
}

impl Path {
    pub fn parse(text: &str) -> Result<Path, PathError> {
        let (root, rest) = split_root(text)?;
        let query = match reference_steps(rest) {
            Some(steps) => Query::Reference(steps),
            None => Query::Full(Box::new(full_query(text, rest)?)),
        };
        Ok(Path {
            text: text.to_owned(),
            root,
            query,
        })
    }

    /// A path that must be a reference path (`ResultPath`, `ItemsPath`, `*SecondsPath`, …).
    pub fn parse_reference(text: &str) -> Result<Path, PathError> {
        let path = Path::parse(text)?;
        if path.steps().is_none() {
            return Err(PathError::NotReference(text.to_owned()));
        }
        Ok(path)
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn root(&self) -> &PathRoot {
        &self.root
    }

    /// The steps of a reference path; `None` for any other path.
    pub fn steps(&self) -> Option<&[Step]> {
        match &self.query {
            Query::Reference(steps) => Some(steps),
            Query::Full(_) => None,
        }
    }

    /// `$` alone: the whole input, unchanged.
    pub fn is_whole_input(&self) -> bool {
        self.root == PathRoot::Input && self.steps().is_some_and(<[Step]>::is_empty)
    }

    pub fn uses_context(&self) -> bool {
        self.root == PathRoot::Context
    }

    /// What the path selects; `None` when a reference path (or its variable) finds nothing.
    /// A reference path borrows from the scope; any other path builds the array of its
    /// matches.
    pub fn select<'v>(&self, scope: &'v Scope<'_>) -> Option<Cow<'v, Value>> {
        let base = self.base(scope)?;
        match &self.query {
            Query::Reference(steps) => walk(base, steps).map(Cow::Borrowed),
            Query::Full(query) => Some(Cow::Owned(Value::Array(
                query.query(base).all().into_iter().cloned().collect(),
            ))),
        }
    }

    /// The value the path starts from: the input, the context object or its variable.
    fn base<'v>(&self, scope: &'v Scope<'_>) -> Option<&'v Value> {
        match &self.root {
            PathRoot::Input => Some(scope.input()),
            PathRoot::Context => Some(scope.context()),
            PathRoot::Variable(name) => scope.variable(name),
        }
    }

    /// For a reference path that selects nothing, the part of it (in bracket notation) that
    /// ends with a field missing from an object before its last step: Jayway, and so AWS,
    /// reports "Missing property in path $['no']" for it instead of "No results for path"
    /// (recorded: conformance `catch_states_runtime`).
    pub fn missing_property(&self, scope: &Scope<'_>) -> Option<String> {
        let steps = self.steps()?;
        let mut value = self.base(scope)?;
        for (at, step) in steps.iter().enumerate().take(steps.len().saturating_sub(1)) {
            value = match (step, value) {
                (Step::Field(name), Value::Object(map)) => match map.get(name) {
                    Some(next) => next,
                    None => return Some(bracketed(&steps[..=at])),
                },
                (Step::Index(i), Value::Array(items)) => {
                    items.get(resolve_index(*i, items.len())?)?
                }
                _ => return None,
            };
        }
        None
    }

    /// The selected value, or AWS's "could not be found" failure naming `field` (the key, such
    /// as `value.$`, or `ErrorPath`).
    pub fn evaluate(&self, scope: &Scope<'_>, field: &str) -> Result<Value, AslError> {
        match self.select(scope) {
            Some(value) => Ok(value.into_owned()),
            None => Err(AslError::PathNotFound {
                path: self.text.clone(),
                field: field.to_owned(),
                input: scope.input().to_string(),
            }),
        }
    }

    /// The path in Jayway's bracket notation (`$['a'][0]`), as AWS quotes it in "No results
    /// for path" messages.
    pub fn normalized(&self) -> String {
        match self.steps() {
            Some(steps) => bracketed(steps),
            None => self.text.clone(),
        }
    }
}

/// Walks a reference path. A field of a non-object, an index of a non-array, a missing field
/// or an index past the end select nothing.
/// `steps` in Jayway's bracket notation (`$['a'][0]`).
fn bracketed(steps: &[Step]) -> String {
    let mut out = String::from("$");
    for step in steps {
        match step {
            Step::Field(name) => {
                out.push_str("['");
                out.push_str(name);
                out.push_str("']");
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

pub(super) fn walk<'v>(mut value: &'v Value, steps: &[Step]) -> Option<&'v Value> {
    for step in steps {
        value = match (step, value) {
            (Step::Field(name), Value::Object(map)) => map.get(name)?,
            (Step::Index(i), Value::Array(items)) => items.get(resolve_index(*i, items.len())?)?,
            _ => return None,
        };
    }
    Some(value)
}

/// An index counted from the start (`>= 0`) or the end (`< 0`), if it is inside the array.
pub(super) fn resolve_index(index: i64, len: usize) -> Option<usize> {
    let resolved = if index < 0 {
        i64::try_from(len).ok()?.checked_add(index)?
    } else {
        index
    };
    usize::try_from(resolved).ok().filter(|i| *i < len)
}

/// Splits `$…`, `$$…` or `$name…` from the rest of the path.
fn split_root(text: &str) -> Result<(PathRoot, &str), PathError> {
    let Some(after) = text.strip_prefix('$') else {
        return Err(PathError::NotAPath(text.to_owned()));
    };
    if let Some(rest) = after.strip_prefix('$') {
        return Ok((PathRoot::Context, rest));
    }
    match after.chars().next() {
        None | Some('.') | Some('[') => Ok((PathRoot::Input, after)),
        Some(c) if is_identifier_start(c) => {
            let end = after
                .char_indices()
                .find(|(_, c)| !is_identifier_continue(*c))
                .map_or(after.len(), |(i, _)| i);
            let (name, rest) = after.split_at(end);
            Ok((PathRoot::Variable(name.to_owned()), rest))
        }
        Some(c) => Err(PathError::Syntax {
            text: text.to_owned(),
            reason: format!("unexpected '{c}' after '$'"),
        }),
    }
}

/// Variable names are Unicode identifiers (the specification cites UAX #31); this is its
/// approximation by the standard library's character classes.
fn is_identifier_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_identifier_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Characters that end a dot-notation name unless escaped with `\`.
fn ends_dot_name(c: char) -> bool {
    matches!(c, '.' | '[')
}

/// Characters that make a dot-notation name an operator rather than a field name.
fn is_operator(c: char) -> bool {
    matches!(
        c,
        '*' | '@' | ',' | ':' | '?' | '(' | ')' | ']' | '\'' | '"'
    )
}

/// The steps of `rest` if it is a reference path, else `None`.
fn reference_steps(rest: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '.' => {
                if chars.peek() == Some(&'[') {
                    // `$.abc.['def ghi']` (as AWS's intrinsics page writes it).
                    continue;
                }
                let mut name = String::new();
                while let Some(&next) = chars.peek() {
                    if ends_dot_name(next) {
                        break;
                    }
                    chars.next();
                    match next {
                        '\\' => name.push(chars.next()?),
                        c if is_operator(c) => return None,
                        c => name.push(c),
                    }
                }
                if name.is_empty() {
                    return None;
                }
                steps.push(Step::Field(name));
            }
            '[' => steps.push(bracket_step(&mut chars)?),
            _ => return None,
        }
    }
    Some(steps)
}

/// `['name']`, `["name"]`, `[3]` or `[-1]`, after the `[`.
fn bracket_step(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<Step> {
    skip_spaces(chars);
    let step = match chars.next()? {
        quote @ ('\'' | '"') => {
            let mut name = String::new();
            loop {
                match chars.next()? {
                    '\\' => name.push(chars.next()?),
                    c if c == quote => break,
                    c => name.push(c),
                }
            }
            Step::Field(name)
        }
        first @ ('-' | '0'..='9') => {
            let mut digits = String::from(first);
            while let Some(&c) = chars.peek().filter(|c| c.is_ascii_digit()) {
                digits.push(c);
                chars.next();
            }
            Step::Index(digits.parse().ok()?)
        }
        _ => return None,
    };
    skip_spaces(chars);
    (chars.next()? == ']').then_some(step)
}

fn skip_spaces(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars.peek().is_some_and(|c| *c == ' ') {
        chars.next();
    }
}

/// Parses a non-reference path with the RFC 9535 engine, after rewriting the Jayway dot
/// names RFC 9535 does not accept into bracket notation.
fn full_query(text: &str, rest: &str) -> Result<JsonPath, PathError> {
    let rfc = format!("${}", to_rfc9535(rest));
    JsonPath::parse(&rfc).map_err(|e| PathError::Syntax {
        text: text.to_owned(),
        reason: e.to_string(),
    })
}

fn to_rfc9535(rest: &str) -> String {
    let mut out = String::with_capacity(rest.len() + 8);
    let mut chars = rest.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            quote @ ('\'' | '"') => {
                out.push(quote);
                while let Some(c) = chars.next() {
                    out.push(c);
                    if c == '\\' {
                        out.extend(chars.next());
                    } else if c == quote {
                        break;
                    }
                }
            }
            '.' => {
                let dots = if chars.peek() == Some(&'.') {
                    chars.next();
                    ".."
                } else {
                    "."
                };
                if chars.peek() == Some(&'[') {
                    // `.[` is `[`; `..[` stays a descendant segment.
                    if dots == ".." {
                        out.push_str("..");
                    }
                    continue;
                }
                let name = dot_name(&mut chars);
                let keep = name == "*" || name.is_empty() || is_rfc_shorthand(&name);
                // A name before `(` is a Jayway function, which RFC 9535 then refuses.
                if keep || chars.peek() == Some(&'(') {
                    out.push_str(dots);
                    out.push_str(&name);
                } else {
                    if dots == ".." {
                        out.push_str("..");
                    }
                    out.push_str(&quote_name(&name));
                }
            }
            c => out.push(c),
        }
    }
    out
}

/// A dot-notation name inside a full path: up to the next character that cannot be part of a
/// name in Jayway's grammar.
fn dot_name(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut name = String::new();
    while let Some(&c) = chars.peek() {
        if c == '\\' {
            chars.next();
            name.extend(chars.next());
            continue;
        }
        if c == '*' && name.is_empty() {
            chars.next();
            name.push(c);
            break;
        }
        if matches!(
            c,
            '.' | '['
                | ']'
                | '('
                | ')'
                | ','
                | ' '
                | '?'
                | ':'
                | '='
                | '!'
                | '<'
                | '>'
                | '&'
                | '|'
                | '\''
                | '"'
                | '*'
        ) {
            break;
        }
        chars.next();
        name.push(c);
    }
    name
}

/// RFC 9535 `member-name-shorthand`: a letter, `_` or non-ASCII character, then those or
/// digits.
fn is_rfc_shorthand(name: &str) -> bool {
    let allowed = |c: char| c.is_ascii_alphabetic() || c == '_' || !c.is_ascii();
    let mut chars = name.chars();
    chars.next().is_some_and(allowed) && chars.all(|c| allowed(c) || c.is_ascii_digit())
}

fn quote_name(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    out.push_str("['");
    for c in name.chars() {
        if matches!(c, '\'' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str("']");
    out
}

impl fmt::Debug for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Path({})", self.text)
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Two paths are equal when they are written alike.
impl PartialEq for Path {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Serialize for Path {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for Path {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Path::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn select(path: &str, input: &Value) -> Option<Value> {
        let path = Path::parse(path).unwrap_or_else(|e| panic!("{e}"));
        let scope = Scope::new(input);
        path.select(&scope).map(Cow::into_owned)
    }

    // The reference-path examples of the Developer Guide ("Reference Paths") and the
    // specification's list of acceptable reference path syntax.
    #[test]
    fn documented_reference_paths() {
        let input = json!({"foo": 123, "bar": ["a", "b", "c"], "car": {"cdr": true}});
        assert_eq!(select("$.foo", &input), Some(json!(123)));
        assert_eq!(select("$.bar", &input), Some(json!(["a", "b", "c"])));
        assert_eq!(select("$.car.cdr", &input), Some(json!(true)));
        for text in [
            "$.store.book",
            "$.store\\.book",
            "$.\\stor\\e.boo\\k",
            "$.store.book.title",
            "$.foo.\\.bar",
            "$.foo\\@bar.baz\\[\\[.\\?pretty",
            "$.&Ж中.\u{10346}",
            "$.ledgers.branch[0].pending.count",
            "$.ledgers.branch[0]",
            "$.ledgers[0][22][315].foo",
            "$['store']['book']",
            "$['store'][0]['book']",
        ] {
            let path = Path::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert!(path.steps().is_some(), "{text} is a reference path");
        }
        let steps = |t| {
            Path::parse(t)
                .ok()
                .and_then(|p| p.steps().map(<[Step]>::to_vec))
        };
        assert_eq!(
            steps("$.store\\.book"),
            Some(vec![Step::Field("store.book".into())])
        );
        assert_eq!(
            steps("$.\\stor\\e.boo\\k"),
            Some(vec![
                Step::Field("store".into()),
                Step::Field("book".into())
            ])
        );
        assert_eq!(
            steps("$.foo\\@bar.baz\\[\\[.\\?pretty"),
            Some(vec![
                Step::Field("foo@bar".into()),
                Step::Field("baz[[".into()),
                Step::Field("?pretty".into())
            ])
        );
        assert_eq!(
            steps("$['store'][0]['book']"),
            Some(vec![
                Step::Field("store".into()),
                Step::Index(0),
                Step::Field("book".into())
            ])
        );
    }

    #[test]
    fn roots() {
        let p = |t| Path::parse(t).map(|p| p.root().clone());
        assert_eq!(p("$"), Ok(PathRoot::Input));
        assert_eq!(p("$$.Execution.Id"), Ok(PathRoot::Context));
        assert_eq!(p("$$"), Ok(PathRoot::Context));
        assert_eq!(
            p("$customerName"),
            Ok(PathRoot::Variable("customerName".into()))
        );
        assert_eq!(p("$x.a[0]"), Ok(PathRoot::Variable("x".into())));
        assert!(matches!(p("a.b"), Err(PathError::NotAPath(_))));
        assert!(matches!(p("$#"), Err(PathError::Syntax { .. })));
        assert!(Path::parse("$").is_ok_and(|p| p.is_whole_input()));
        assert!(Path::parse("$$").is_ok_and(|p| !p.is_whole_input() && p.uses_context()));
    }

    #[test]
    fn context_and_variables() {
        let input = json!({"a": 1});
        let context = json!({"Execution": {"Id": "arn:x", "Input": {"input-value": 0}}});
        let vars = json!({"customerName": "María", "order": {"items": [1, 2]}});
        let vars = vars.as_object().cloned().unwrap_or_default();
        let scope = Scope::new(&input)
            .with_context(&context)
            .with_variables(&vars);
        let get = |t: &str| {
            Path::parse(t)
                .ok()
                .and_then(|p| p.select(&scope).map(Cow::into_owned))
        };
        assert_eq!(get("$$.Execution.Id"), Some(json!("arn:x")));
        // Jayway takes `input-value` as a dot name (conformance case
        // `context_object.variable`).
        assert_eq!(get("$$.Execution.Input.input-value"), Some(json!(0)));
        assert_eq!(get("$customerName"), Some(json!("María")));
        assert_eq!(get("$order.items[1]"), Some(json!(2)));
        assert_eq!(get("$order.items[*]"), Some(json!([1, 2])));
        assert_eq!(get("$missing"), None);
        assert_eq!(get("$$.Nope"), None);
    }

    #[test]
    fn reference_paths_find_nothing_rather_than_fail() {
        let input = json!({"a": {"b": [10, 20, 30]}, "s": "text", "n": null});
        assert_eq!(select("$.a.b[0]", &input), Some(json!(10)));
        assert_eq!(select("$.a.b[-1]", &input), Some(json!(30)));
        assert_eq!(select("$.a.b[3]", &input), None);
        assert_eq!(select("$.a.b[-4]", &input), None);
        assert_eq!(select("$.a.x", &input), None);
        assert_eq!(select("$.s.length", &input), None);
        assert_eq!(select("$.a.b.c", &input), None);
        assert_eq!(select("$.a[0]", &input), None);
        assert_eq!(select("$.n", &input), Some(Value::Null));
        assert_eq!(select("$['a']['b'][1]", &input), Some(json!(20)));
        assert_eq!(select("$[\"a\"]", &input), Some(json!({"b": [10, 20, 30]})));
        assert_eq!(
            select("$.abc.['def ghi']", &json!({"abc": {"def ghi": 1}})),
            Some(json!(1))
        );
        assert_eq!(select("$", &input), Some(input.clone()));
    }

    // The specification's example of a path yielding several values ("Input and Output
    // Processing"), the Developer Guide's `$.a[0:2]`, and the recorded filter of conformance
    // case `state_pass_regex_json_path_base`.
    #[test]
    fn full_paths_gather_their_matches() {
        let input = json!({"a": [1, 2, 3, 4]});
        assert_eq!(select("$.a[0,1]", &input), Some(json!([1, 2])));
        assert_eq!(select("$.a[0:2]", &input), Some(json!([1, 2])));
        assert_eq!(
            select("$.a[-3:]", &json!({"a": [0, 10, 20, 30, 40, 50]})),
            Some(json!([30, 40, 50]))
        );
        let users = json!({"users": [{"year": 1997, "status": 0}, {"year": 1998, "status": 1}]});
        assert_eq!(
            select("$.users[?(@.status == 0)]", &users),
            Some(json!([{"year": 1997, "status": 0}]))
        );
        assert_eq!(select("$.users[?(@.status == 5)]", &users), Some(json!([])));
        assert_eq!(select("$..year", &users), Some(json!([1997, 1998])));
        assert_eq!(select("$.users[*].status", &users), Some(json!([0, 1])));
        assert_eq!(select("$.nothing[*]", &users), Some(json!([])));
        let dashed = json!({"my-list": [{"the-id": 1}, {"the-id": 2}]});
        assert_eq!(select("$.my-list[*].the-id", &dashed), Some(json!([1, 2])));
        assert_eq!(select("$..the-id", &dashed), Some(json!([1, 2])));
    }

    #[test]
    fn bad_paths_are_refused_when_parsed() {
        for text in ["$.a[", "$.a[?(@.x ==)]", "$.a.length()", "$..", "$.a[0"] {
            assert!(Path::parse(text).is_err(), "{text} should not parse");
        }
        assert!(matches!(
            Path::parse_reference("$.a[*]"),
            Err(PathError::NotReference(_))
        ));
        assert!(Path::parse_reference("$.a[0].b").is_ok());
    }

    #[test]
    fn normalized_as_jayway_writes_it() {
        let n = |t| Path::parse(t).map(|p| p.normalized()).unwrap_or_default();
        assert_eq!(n("$.NoSuchInputPath"), "$['NoSuchInputPath']");
        assert_eq!(n("$.a[0].b"), "$['a'][0]['b']");
        assert_eq!(n("$"), "$");
        assert_eq!(n("$.a[*]"), "$.a[*]");
    }

    #[test]
    fn evaluate_names_the_field_when_nothing_is_found() {
        let input = json!({"int-literal": 0});
        let scope = Scope::new(&input);
        let path = Path::parse("$.no_such_jsonpath").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            path.evaluate(&scope, "value.$").map_err(|e| e.to_string()),
            Err(
                "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not \
                 be found in the input '{\"int-literal\":0}'"
                    .to_owned()
            )
        );
    }

    #[test]
    fn serde_round_trips_through_the_text() {
        let path = Path::parse("$.a[?(@.b > 1)]").unwrap_or_else(|e| panic!("{e}"));
        let text = serde_json::to_string(&path).unwrap_or_default();
        assert_eq!(text, r#""$.a[?(@.b > 1)]""#);
        let back: Path = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, path);
        assert!(serde_json::from_str::<Path>(r#""nope""#).is_err());
    }

    #[test]
    fn index_resolution() {
        assert_eq!(resolve_index(0, 3), Some(0));
        assert_eq!(resolve_index(-1, 3), Some(2));
        assert_eq!(resolve_index(3, 3), None);
        assert_eq!(resolve_index(-4, 3), None);
        assert_eq!(resolve_index(i64::MIN, 3), None);
    }
}
