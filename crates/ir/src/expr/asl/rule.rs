//! Choice Rules: what a Choice state's rules compute (specification, "Choice Rules"; Developer
//! Guide, "Choice workflow state").
//!
//! A JSONPath rule compares the value its `Variable` path selects with a literal or with what
//! another path selects (the `…Path` operators), tests its type (`Is…`), or combines rules
//! (`And`, `Or`, `Not`). A value of the wrong type for an operator is no error: the rule does
//! not match. A `Variable` (or `…Path` operand) that finds nothing is `States.Runtime`, except
//! for `IsPresent`. A JSONata rule is a `Condition` that must give a boolean.

use std::cmp::Ordering;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::error::AslError;
use super::jsonata::JsonataTemplate;
use super::path::Path;
use super::scope::Scope;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare {
        variable: Path,
        op: Comparison,
        operand: Operand,
    },
    Test {
        variable: Path,
        test: TypeTest,
        /// The rule matches when the test gives this (`"IsNull": false`).
        expected: bool,
    },
    /// JSONata `Condition`.
    Condition(JsonataTemplate),
}

/// What a comparison compares the variable with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Operand {
    Literal(Value),
    /// The `…Path` operators: the value another path selects.
    Path(Path),
}

/// The kind of values a comparison applies to, and how it orders them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    String,
    Numeric,
    Boolean,
    Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Relation {
    Equals,
    LessThan,
    GreaterThan,
    LessThanEquals,
    GreaterThanEquals,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Comparison {
    Ordered(Kind, Relation),
    /// `StringMatches`: `*` matches any run of characters; `\*` is a star, `\\` a backslash.
    StringMatches,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TypeTest {
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

const KINDS: [(&str, Kind); 4] = [
    ("String", Kind::String),
    ("Numeric", Kind::Numeric),
    ("Boolean", Kind::Boolean),
    ("Timestamp", Kind::Timestamp),
];
const RELATIONS: [(&str, Relation); 5] = [
    ("Equals", Relation::Equals),
    ("LessThanEquals", Relation::LessThanEquals),
    ("GreaterThanEquals", Relation::GreaterThanEquals),
    ("LessThan", Relation::LessThan),
    ("GreaterThan", Relation::GreaterThan),
];
pub const TYPE_TESTS: [(&str, TypeTest); 6] = [
    ("IsNull", TypeTest::IsNull),
    ("IsPresent", TypeTest::IsPresent),
    ("IsNumeric", TypeTest::IsNumeric),
    ("IsString", TypeTest::IsString),
    ("IsBoolean", TypeTest::IsBoolean),
    ("IsTimestamp", TypeTest::IsTimestamp),
];

impl Comparison {
    /// The operator a field names (`StringEquals`, `NumericLessThanPath`, …), and whether its
    /// operand is a path.
    pub fn from_field(field: &str) -> Option<(Comparison, bool)> {
        let (name, is_path) = match field.strip_suffix("Path") {
            Some(name) => (name, true),
            None => (field, false),
        };
        if name == "StringMatches" {
            // StringMatches has no Path form.
            return (!is_path).then_some((Comparison::StringMatches, false));
        }
        let (kind_name, kind) = KINDS.iter().find(|(k, _)| name.starts_with(k))?;
        let rest = &name[kind_name.len()..];
        let (_, relation) = RELATIONS.iter().find(|(r, _)| *r == rest)?;
        if *kind == Kind::Boolean && *relation != Relation::Equals {
            return None;
        }
        Some((Comparison::Ordered(*kind, *relation), is_path))
    }

    /// Every operator field name, for messages and suggestions.
    pub fn field_names() -> Vec<String> {
        let mut names = Vec::new();
        for (kind_name, kind) in KINDS {
            for (relation_name, relation) in RELATIONS {
                if kind == Kind::Boolean && relation != Relation::Equals {
                    continue;
                }
                names.push(format!("{kind_name}{relation_name}"));
                names.push(format!("{kind_name}{relation_name}Path"));
            }
        }
        names.push("StringMatches".into());
        names
    }

    /// Whether a literal operand has the type the operator compares (the specification
    /// requires it; a Timestamp literal must also be a timestamp).
    pub fn accepts_literal(self, value: &Value) -> bool {
        match self {
            Comparison::StringMatches | Comparison::Ordered(Kind::String, _) => value.is_string(),
            Comparison::Ordered(Kind::Numeric, _) => value.is_number(),
            Comparison::Ordered(Kind::Boolean, _) => value.is_boolean(),
            Comparison::Ordered(Kind::Timestamp, _) => value.as_str().is_some_and(is_timestamp),
        }
    }

    fn holds(self, left: &Value, right: &Value) -> bool {
        match self {
            Comparison::StringMatches => match (left, right) {
                (Value::String(text), Value::String(pattern)) => string_matches(text, pattern),
                _ => false,
            },
            Comparison::Ordered(kind, relation) => {
                order(kind, left, right).is_some_and(|o| relation.holds(o))
            }
        }
    }
}

impl Relation {
    fn holds(self, ordering: Ordering) -> bool {
        match self {
            Relation::Equals => ordering == Ordering::Equal,
            Relation::LessThan => ordering == Ordering::Less,
            Relation::GreaterThan => ordering == Ordering::Greater,
            Relation::LessThanEquals => ordering != Ordering::Greater,
            Relation::GreaterThanEquals => ordering != Ordering::Less,
        }
    }
}

/// How `left` compares with `right` as `kind`; `None` when either is not of that kind.
fn order(kind: Kind, left: &Value, right: &Value) -> Option<Ordering> {
    match (kind, left, right) {
        (Kind::String, Value::String(a), Value::String(b)) => Some(a.cmp(b)),
        (Kind::Numeric, Value::Number(a), Value::Number(b)) => {
            a.as_f64()?.partial_cmp(&b.as_f64()?)
        }
        (Kind::Boolean, Value::Bool(a), Value::Bool(b)) => Some(a.cmp(b)),
        (Kind::Timestamp, Value::String(a), Value::String(b)) => {
            Some(timestamp(a)?.cmp(&timestamp(b)?))
        }
        _ => None,
    }
}

/// An RFC 3339 timestamp, as the specification requires ("an uppercase T must separate the
/// date and time portions, and an uppercase Z must denote that a numeric time zone offset is
/// not present").
fn timestamp(text: &str) -> Option<jiff::Timestamp> {
    // jiff also takes a space between date and time; AWS does not (recorded: `NO_T`).
    if text.contains(['t', 'z']) || !text.contains('T') {
        return None;
    }
    text.parse().ok()
}

pub fn is_timestamp(text: &str) -> bool {
    timestamp(text).is_some()
}

/// `StringMatches`: `*` is any run of characters (none included); `\*` and `\\` are a literal
/// star and backslash; no other character is special.
pub fn string_matches(text: &str, pattern: &str) -> bool {
    let tokens = pattern_tokens(pattern);
    let text: Vec<char> = text.chars().collect();
    // Classic wildcard matching with one backtracking point per star.
    let (mut t, mut p) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Token::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|t| *t == Token::Star)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Token {
    Char(char),
    Star,
}

fn pattern_tokens(pattern: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '*' => tokens.push(Token::Star),
            '\\' => match chars.next() {
                Some(escaped @ ('*' | '\\')) => tokens.push(Token::Char(escaped)),
                Some(other) => tokens.extend([Token::Char('\\'), Token::Char(other)]),
                None => tokens.push(Token::Char('\\')),
            },
            other => tokens.push(Token::Char(other)),
        }
    }
    tokens
}

impl TypeTest {
    fn holds(self, value: Option<&Value>) -> bool {
        match (self, value) {
            (TypeTest::IsPresent, found) => found.is_some(),
            (_, None) => false,
            (TypeTest::IsNull, Some(v)) => v.is_null(),
            (TypeTest::IsNumeric, Some(v)) => v.is_number(),
            (TypeTest::IsString, Some(v)) => v.is_string(),
            (TypeTest::IsBoolean, Some(v)) => v.is_boolean(),
            (TypeTest::IsTimestamp, Some(v)) => v.as_str().is_some_and(is_timestamp),
        }
    }
}

impl Rule {
    /// Whether the rule matches in `scope` (its input is the Choice state's effective input).
    pub fn matches(&self, scope: &Scope<'_>) -> Result<bool, AslError> {
        match self {
            Rule::And(rules) => {
                for rule in rules {
                    if !rule.matches(scope)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            Rule::Or(rules) => {
                for rule in rules {
                    if rule.matches(scope)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
            Rule::Not(rule) => Ok(!rule.matches(scope)?),
            Rule::Compare {
                variable,
                op,
                operand,
            } => {
                let left = select(variable, scope)?;
                let right = match operand {
                    Operand::Literal(value) => value,
                    Operand::Path(path) => &select(path, scope)?,
                };
                Ok(op.holds(&left, right))
            }
            Rule::Test {
                variable,
                test,
                expected,
            } => {
                let value = variable.select(scope);
                if value.is_none() && *test != TypeTest::IsPresent {
                    return Err(invalid(variable));
                }
                Ok(test.holds(value.as_deref()) == *expected)
            }
            Rule::Condition(template) => match template.evaluate(scope)? {
                Value::Bool(b) => Ok(b),
                other => Err(AslError::unexpected_type(
                    template.expression().map_or("", |e| e.source()),
                    "Condition",
                    "boolean",
                    other,
                )),
            },
        }
    }
}

fn select(path: &Path, scope: &Scope<'_>) -> Result<Value, AslError> {
    path.select(scope)
        .map(std::borrow::Cow::into_owned)
        .ok_or_else(|| invalid(path))
}

fn invalid(path: &Path) -> AslError {
    AslError::ChoicePath {
        path: path.text().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operator_names_parse() {
        assert_eq!(
            Comparison::from_field("NumericLessThanEqualsPath"),
            Some((
                Comparison::Ordered(Kind::Numeric, Relation::LessThanEquals),
                true
            ))
        );
        assert_eq!(
            Comparison::from_field("StringMatches"),
            Some((Comparison::StringMatches, false))
        );
        assert_eq!(Comparison::from_field("StringMatchesPath"), None);
        assert_eq!(Comparison::from_field("BooleanLessThan"), None);
        assert_eq!(Comparison::from_field("NumberEquals"), None);
        // 4 kinds × 5 relations minus 4 boolean orderings, each with a Path form, and
        // StringMatches.
        assert_eq!(Comparison::field_names().len(), 16 * 2 + 1);
    }

    // Developer Guide, "Choice workflow state": "log-*.txt" matches "log-2023.txt";
    // the escapes "\\*" and "\\\\" of the StringMatches operator.
    #[test]
    fn string_matches_wildcards_and_escapes() {
        assert!(string_matches("log-2023.txt", "log-*.txt"));
        assert!(string_matches("log-.txt", "log-*.txt"));
        assert!(!string_matches("log-2023.csv", "log-*.txt"));
        assert!(string_matches("abc", "*"));
        assert!(string_matches("", "*"));
        assert!(string_matches("a*b", "a\\*b"));
        assert!(!string_matches("axb", "a\\*b"));
        assert!(string_matches("a\\b", "a\\\\b"));
        assert!(string_matches("foo*bar-baz", "foo\\**"));
        assert!(string_matches("aXbXc", "a*b*c"));
        assert!(!string_matches("aXbX", "a*b*c"));
    }

    #[test]
    fn timestamps_need_uppercase_t_and_z() {
        assert!(is_timestamp("2016-03-14T01:59:00Z"));
        assert!(is_timestamp("2016-03-14T01:59:00+01:00"));
        assert!(!is_timestamp("2016-03-14t01:59:00z"));
        assert!(!is_timestamp("yesterday"));
    }
}
