//! A located document tree: YAML (and therefore JSON) text parsed into nodes that remember
//! where they were written, so that every later error can point at a line and column.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map as JsonMap, Number, Value};
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Budget, DuplicateKeyPolicy, Location, Options, Spanned};

use crate::error::{Problem, ProblemKind};

/// The largest definition accepted: CloudFlow's request size limit (1,024 KiB).
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;
/// The deepest nesting of lists and maps accepted.
pub const MAX_DEPTH: usize = 64;
/// Bounds on YAML nodes and alias use (alias-bomb protection).
const MAX_NODES: usize = 250_000;
const MAX_ALIASES: usize = 1_000;
const MAX_REPLAYED_EVENTS: usize = 100_000;

/// A 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Loc {
    pub line: u64,
    pub column: u64,
}

impl Loc {
    pub fn new(line: u64, column: u64) -> Self {
        Self { line, column }
    }

    /// This location moved `chars` characters to the right on the same line.
    pub fn right(self, chars: u64) -> Self {
        Self {
            line: self.line,
            column: self.column.saturating_add(chars),
        }
    }

    fn from_saphyr(location: Location) -> Self {
        Self::new(location.line(), location.column())
    }
}

impl fmt::Display for Loc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}, column {}", self.line, self.column)
    }
}

/// A map key with its location.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub text: String,
    pub loc: Loc,
}

/// A value with its location.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub loc: Loc,
    pub kind: NodeKind,
    /// For strings: whether the scalar was written in quotes (so its text starts one column
    /// after `loc`).
    pub quoted: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Number(Number),
    String(String),
    Seq(Vec<Node>),
    /// Entries in document order; keys are unique.
    Map(Vec<(Key, Node)>),
}

/// Parses YAML or JSON text into a located tree.
///
/// Rejects documents over [`MAX_DOCUMENT_BYTES`], nesting deeper than [`MAX_DEPTH`], alias
/// bombs, duplicate keys and non-scalar keys. Never panics.
pub fn parse_document(text: &str) -> Result<Node, Problem> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(Problem::new(format!(
            "the definition is {} bytes long; at most {MAX_DOCUMENT_BYTES} bytes are accepted",
            text.len()
        )));
    }
    if text.trim().is_empty() {
        return Err(Problem::new("the definition is empty").kind(ProblemKind::Empty));
    }
    let spanned: Spanned<RawNode> =
        serde_saphyr::from_str_with_options(text, parser_options()).map_err(syntax_problem)?;
    let mut node = into_node(spanned);
    mark_quoted_strings(&mut node, text);
    check_duplicate_keys(&node)?;
    Ok(node)
}

fn parser_options() -> Options {
    let mut budget = Budget::default();
    budget.max_depth = MAX_DEPTH;
    budget.max_nodes = MAX_NODES;
    budget.max_aliases = MAX_ALIASES;
    budget.max_documents = 1;
    let mut options = Options::default();
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = MAX_REPLAYED_EVENTS;
    options.with_snippet = false;
    // Duplicates reach our visitor, which reports them with both locations.
    options.duplicate_keys = DuplicateKeyPolicy::PassThrough;
    // YAML 1.2 booleans only: `y`, `yes`, `on` stay strings.
    options.strict_booleans = true;
    options
}

fn syntax_problem(error: serde_saphyr::Error) -> Problem {
    let location = error
        .location()
        .filter(|l| l.line() > 0)
        .map(Loc::from_saphyr);
    // Too deep is well-formed text over a limit, not a syntax error.
    let (message, kind) = match error.without_snippet() {
        serde_saphyr::Error::Budget {
            breach: BudgetBreach::Depth { .. },
            ..
        } => (
            format!("lists and maps nest more than {MAX_DEPTH} levels deep"),
            ProblemKind::TooDeeplyNested,
        ),
        error => (
            strip_trailing_location(&format!("invalid YAML: {error}")),
            ProblemKind::Syntax,
        ),
    };
    let problem = match location {
        Some(loc) => Problem::at(loc, message),
        None => Problem::new(message),
    };
    problem.kind(kind)
}

/// serde-saphyr appends " at line X column Y" to its messages; we report it separately.
fn strip_trailing_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(pos)
            if message
                .get(pos..)
                .is_some_and(|tail| tail.contains("column")) =>
        {
            message.get(..pos).unwrap_or(message).to_string()
        }
        _ => message.to_string(),
    }
}

/// Marks the strings written in quotes (their text starts one column after their location).
fn mark_quoted_strings(node: &mut Node, text: &str) {
    let lines: Vec<&str> = text.split('\n').collect();
    mark_quoted_in(node, &lines);
}

fn mark_quoted_in(node: &mut Node, lines: &[&str]) {
    match &mut node.kind {
        NodeKind::String(_) => node.quoted = starts_with_quote(lines, node.loc),
        NodeKind::Seq(items) => items.iter_mut().for_each(|n| mark_quoted_in(n, lines)),
        NodeKind::Map(entries) => entries
            .iter_mut()
            .for_each(|(_, n)| mark_quoted_in(n, lines)),
        _ => {}
    }
}

fn starts_with_quote(lines: &[&str], loc: Loc) -> bool {
    let line = usize::try_from(loc.line.saturating_sub(1)).ok();
    let column = usize::try_from(loc.column.saturating_sub(1)).ok();
    let (Some(line), Some(column)) = (line, column) else {
        return false;
    };
    lines
        .get(line)
        .and_then(|l| l.chars().nth(column))
        .is_some_and(|c| c == '"' || c == '\'')
}

fn check_duplicate_keys(node: &Node) -> Result<(), Problem> {
    match &node.kind {
        NodeKind::Seq(items) => items.iter().try_for_each(check_duplicate_keys),
        NodeKind::Map(entries) => {
            for (i, (key, value)) in entries.iter().enumerate() {
                let earlier = entries.iter().take(i).find(|(k, _)| k.text == key.text);
                if let Some((first, _)) = earlier {
                    return Err(Problem::at(
                        key.loc,
                        format!(
                            "duplicate key {:?} (first written at {})",
                            key.text, first.loc
                        ),
                    ));
                }
                check_duplicate_keys(value)?;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn into_node(spanned: Spanned<RawNode>) -> Node {
    let quoted = spanned.value.quoted;
    Node {
        loc: Loc::from_saphyr(spanned.referenced),
        kind: spanned.value.kind,
        quoted,
    }
}

/// What serde-saphyr hands us before locations are attached to it.
struct RawNode {
    kind: NodeKind,
    quoted: bool,
}

impl RawNode {
    fn of(kind: NodeKind) -> Self {
        Self {
            kind,
            quoted: false,
        }
    }
}

impl<'de> Deserialize<'de> for RawNode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawNodeVisitor)
    }
}

struct RawNodeVisitor;

impl<'de> Visitor<'de> for RawNodeVisitor {
    type Value = RawNode;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any YAML value")
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawNode, E> {
        Ok(RawNode::of(NodeKind::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<RawNode, E> {
        Ok(RawNode::of(NodeKind::Null))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<RawNode, D::Error> {
        RawNode::deserialize(deserializer)
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawNode, E> {
        Ok(RawNode::of(NodeKind::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawNode, E> {
        Ok(RawNode::of(NodeKind::Number(v.into())))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawNode, E> {
        Ok(RawNode::of(NodeKind::Number(v.into())))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<RawNode, E> {
        i64::try_from(v)
            .map(|v| RawNode::of(NodeKind::Number(v.into())))
            .map_err(|_| E::custom(format!("the number {v} is out of range")))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawNode, E> {
        u64::try_from(v)
            .map(|v| RawNode::of(NodeKind::Number(v.into())))
            .map_err(|_| E::custom(format!("the number {v} is out of range")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawNode, E> {
        Number::from_f64(v)
            .map(|n| RawNode::of(NodeKind::Number(n)))
            .ok_or_else(|| E::custom(format!("the number {v} is not finite")))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawNode, E> {
        Ok(RawNode::of(NodeKind::String(v.to_string())))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<RawNode, E> {
        Ok(RawNode::of(NodeKind::String(v)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<RawNode, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Spanned<RawNode>>()? {
            items.push(into_node(item));
        }
        Ok(RawNode::of(NodeKind::Seq(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawNode, A::Error> {
        let mut entries = Vec::new();
        while let Some(key) = map.next_key::<Spanned<RawKey>>()? {
            let value = map.next_value::<Spanned<RawNode>>()?;
            let key = Key {
                text: key.value.0,
                loc: Loc::from_saphyr(key.referenced),
            };
            entries.push((key, into_node(value)));
        }
        Ok(RawNode::of(NodeKind::Map(entries)))
    }
}

/// A map key: any scalar, as text.
struct RawKey(String);

impl<'de> Deserialize<'de> for RawKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(RawKeyVisitor)
    }
}

struct RawKeyVisitor;

impl<'de> Visitor<'de> for RawKeyVisitor {
    type Value = RawKey;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a scalar map key")
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawKey, E> {
        Ok(RawKey("null".to_string()))
    }

    fn visit_none<E: de::Error>(self) -> Result<RawKey, E> {
        self.visit_unit()
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<RawKey, E> {
        Ok(RawKey(v.to_string()))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<RawKey, E> {
        Ok(RawKey(v.to_string()))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<RawKey, E> {
        Ok(RawKey(v.to_string()))
    }

    fn visit_i128<E: de::Error>(self, v: i128) -> Result<RawKey, E> {
        Ok(RawKey(v.to_string()))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<RawKey, E> {
        Ok(RawKey(v.to_string()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<RawKey, E> {
        Ok(RawKey(v.to_string()))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<RawKey, E> {
        Ok(RawKey(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<RawKey, E> {
        Ok(RawKey(v))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<RawKey, A::Error> {
        Err(de::Error::custom("a list cannot be a map key"))
    }

    fn visit_map<A: MapAccess<'de>>(self, _map: A) -> Result<RawKey, A::Error> {
        Err(de::Error::custom("a map cannot be a map key"))
    }
}

impl Node {
    /// What kind of value this is, for messages ("a map", "a string", …).
    pub fn kind_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "a boolean",
            NodeKind::Number(_) => "a number",
            NodeKind::String(_) => "a string",
            NodeKind::Seq(_) => "a list",
            NodeKind::Map(_) => "a map",
        }
    }

    /// The location of the first character of a string's text (after an opening quote).
    pub fn text_loc(&self) -> Loc {
        if self.quoted {
            self.loc.right(1)
        } else {
            self.loc
        }
    }

    /// "expected X, found Y" at this node.
    pub fn expected(&self, what: &str) -> Problem {
        Problem::at(
            self.loc,
            format!("expected {what}, found {}", self.describe()),
        )
    }

    fn describe(&self) -> String {
        match &self.kind {
            NodeKind::String(s) => format!("the string {s:?}"),
            NodeKind::Number(n) => format!("the number {n}"),
            NodeKind::Bool(b) => format!("the boolean {b}"),
            _ => self.kind_name().to_string(),
        }
    }

    pub fn as_map(&self) -> Result<&[(Key, Node)], Problem> {
        match &self.kind {
            NodeKind::Map(entries) => Ok(entries),
            _ => Err(self.expected("a map")),
        }
    }

    pub fn as_seq(&self) -> Result<&[Node], Problem> {
        match &self.kind {
            NodeKind::Seq(items) => Ok(items),
            _ => Err(self.expected("a list")),
        }
    }

    pub fn as_str(&self) -> Result<&str, Problem> {
        match &self.kind {
            NodeKind::String(s) => Ok(s),
            _ => Err(self.expected("a string")),
        }
    }

    pub fn as_bool(&self) -> Result<bool, Problem> {
        match &self.kind {
            NodeKind::Bool(b) => Ok(*b),
            _ => Err(self.expected("true or false")),
        }
    }

    /// An integer, possibly negative.
    pub fn as_i64(&self) -> Result<i64, Problem> {
        match &self.kind {
            NodeKind::Number(n) => n.as_i64().ok_or_else(|| self.expected("an integer")),
            _ => Err(self.expected("an integer")),
        }
    }

    /// An integer in `min..=max`.
    pub fn as_int_in(&self, min: i64, max: i64) -> Result<i64, Problem> {
        let value = self.as_i64()?;
        if (min..=max).contains(&value) {
            Ok(value)
        } else {
            Err(Problem::at(
                self.loc,
                format!("{value} is out of range; expected an integer from {min} to {max}"),
            ))
        }
    }

    pub fn as_f64(&self) -> Result<f64, Problem> {
        match &self.kind {
            NodeKind::Number(n) => n.as_f64().ok_or_else(|| self.expected("a number")),
            _ => Err(self.expected("a number")),
        }
    }

    /// The value of `key` in a map (None for other kinds).
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.kind {
            NodeKind::Map(entries) => entries.iter().find(|(k, _)| k.text == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value as plain JSON (locations dropped).
    pub fn to_json(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Number(n) => Value::Number(n.clone()),
            NodeKind::String(s) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Array(items.iter().map(Node::to_json).collect()),
            NodeKind::Map(entries) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.text.clone(), v.to_json()))
                    .collect::<JsonMap<_, _>>(),
            ),
        }
    }
}
