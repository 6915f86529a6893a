//! The data fields of a state, under its query language: paths, Payload Templates and JSONata
//! templates compiled by the shared expression layer, their errors located in the document.

use sluice_ir::expr::asl::{
    JsonataTemplate, Path, PayloadTemplate, ResultPath, SelectPath, is_timestamp,
};
use sluice_ir::{AslData, AslTemplate, AslValue, QueryLanguage, Wait};

use super::fields::StateType;
use crate::doc::{Node, NodeKind};
use crate::error::Problem;
use crate::frontend::Fields;

/// A state's fields and the query language they are written in.
#[derive(Clone, Copy)]
pub(super) struct Values<'a> {
    pub fields: Fields<'a>,
    pub query: QueryLanguage,
}

/// A number field and its `…Path` twin (or, under JSONata, a `{% … %}` string).
pub(super) struct Number {
    pub literal: Option<i64>,
    pub dynamic: Option<AslValue>,
}

impl Number {
    pub fn is_given(&self) -> bool {
        self.literal.is_some() || self.dynamic.is_some()
    }
}

impl Values<'_> {
    /// `key` as an integer in `min..=max`, or `keyPath` (JSONPath), or a JSONata expression.
    pub fn number(&self, key: &str, min: i64, max: i64) -> Result<Number, Problem> {
        let path_key = format!("{key}Path");
        let literal = self.fields.get(key);
        let path = self.fields.get(&path_key);
        if let (Some(_), Some(path)) = (literal, path) {
            return Err(Problem::at(
                path.loc,
                format!("give {key} or {path_key}, not both"),
            ));
        }
        if let Some(path) = path {
            return Ok(Number {
                literal: None,
                dynamic: Some(AslValue::Path(reference_path(path)?)),
            });
        }
        let Some(node) = literal else {
            return Ok(Number {
                literal: None,
                dynamic: None,
            });
        };
        if let Some(template) = self.jsonata(node, key)? {
            return Ok(Number {
                literal: None,
                dynamic: Some(AslValue::Jsonata(template)),
            });
        }
        Ok(Number {
            literal: Some(node.as_int_in(min, max)?),
            dynamic: None,
        })
    }

    /// `Timestamp`: an RFC 3339 literal, `TimestampPath`, or a JSONata expression.
    pub fn timestamp(&self, key: &str) -> Result<Option<Wait>, Problem> {
        let path_key = format!("{key}Path");
        match (self.fields.get(key), self.fields.get(&path_key)) {
            (Some(_), Some(path)) => Err(Problem::at(
                path.loc,
                format!("give {key} or {path_key}, not both"),
            )),
            (None, Some(path)) => Ok(Some(Wait::UntilAsl(AslValue::Path(reference_path(path)?)))),
            (Some(node), None) => {
                if let Some(template) = self.jsonata(node, key)? {
                    return Ok(Some(Wait::UntilAsl(AslValue::Jsonata(template))));
                }
                let text = node.as_str()?;
                let instant = text
                    .parse::<jiff::Timestamp>()
                    .ok()
                    .filter(|_| is_timestamp(text))
                    .ok_or_else(|| {
                        node.expected(
                            "an RFC 3339 timestamp with an uppercase T and Z, such as 2016-03-14T01:59:00Z",
                        )
                    })?;
                Ok(Some(Wait::Until(instant.as_millisecond())))
            }
            (None, None) => Ok(None),
        }
    }

    /// A string field (`Error`, `Cause`) and its `…Path` twin, or a JSONata expression.
    pub fn string(&self, key: &str) -> Result<(Option<String>, Option<AslValue>), Problem> {
        let path_key = format!("{key}Path");
        match (self.fields.get(key), self.fields.get(&path_key)) {
            (Some(_), Some(path)) => Err(Problem::at(
                path.loc,
                format!("give {key} or {path_key}, not both"),
            )),
            (None, Some(path)) => Ok((None, Some(AslValue::Path(any_path(path)?)))),
            (Some(node), None) => match self.jsonata(node, key)? {
                Some(template) => Ok((None, Some(AslValue::Jsonata(template)))),
                None => Ok((Some(node.as_str()?.to_owned()), None)),
            },
            (None, None) => Ok((None, None)),
        }
    }

    /// Under JSONata, a string that is one `{% … %}` expression, compiled; else `None`.
    pub fn jsonata(&self, node: &Node, field: &str) -> Result<Option<JsonataTemplate>, Problem> {
        if self.query != QueryLanguage::Jsonata || !is_jsonata_string(node) {
            return Ok(None);
        }
        jsonata_template(node, field).map(Some)
    }
}

fn is_jsonata_string(node: &Node) -> bool {
    matches!(&node.kind, NodeKind::String(s) if s.starts_with("{%") && s.ends_with("%}"))
}

pub(super) fn jsonata_template(node: &Node, field: &str) -> Result<JsonataTemplate, Problem> {
    JsonataTemplate::compile(field, &node.to_json()).map_err(|e| {
        let inner = locate(node, e.field.split('/').skip(1));
        Problem::at(inner.text_loc(), e.to_string())
    })
}

/// A Payload Template (JSONPath) or a JSONata template, by the state's query language.
pub(super) fn optional_template(
    values: &Values<'_>,
    node: Option<&Node>,
    field: &str,
) -> Result<Option<AslTemplate>, Problem> {
    let Some(node) = node else {
        return Ok(None);
    };
    Ok(Some(match values.query {
        QueryLanguage::JsonPath => AslTemplate::Payload(payload_template(node)?),
        QueryLanguage::Jsonata => AslTemplate::Jsonata(jsonata_template(node, field)?),
    }))
}

fn payload_template(node: &Node) -> Result<PayloadTemplate, Problem> {
    PayloadTemplate::compile(&node.to_json()).map_err(|e| {
        let inner = locate(node, e.location.iter().map(String::as_str));
        Problem::at(inner.text_loc(), e.message)
    })
}

/// The node reached from `node` by `steps` (keys or indexes), or the last one found.
fn locate<'n, 's>(node: &'n Node, steps: impl IntoIterator<Item = &'s str>) -> &'n Node {
    let mut at = node;
    for step in steps {
        let next = match &at.kind {
            NodeKind::Map(entries) => entries.iter().find(|(k, _)| k.text == step).map(|(_, v)| v),
            NodeKind::Seq(items) => step.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        match next {
            Some(next) => at = next,
            None => break,
        }
    }
    at
}

/// A path field that must be a reference path (`ItemsPath`, `SecondsPath`, …).
pub(super) fn reference_path(node: &Node) -> Result<Path, Problem> {
    Path::parse_reference(node.as_str()?).map_err(|e| Problem::at(node.text_loc(), e.to_string()))
}

fn any_path(node: &Node) -> Result<Path, Problem> {
    Path::parse(node.as_str()?).map_err(|e| Problem::at(node.text_loc(), e.to_string()))
}

pub(super) fn whole_input() -> Path {
    // "$" always parses.
    Path::parse("$").unwrap_or_else(|_| unreachable!("\"$\" is a path"))
}

/// `InputPath`/`OutputPath`: absent or `"$"` passes all, `null` gives `{}`.
fn select_path(node: Option<&Node>) -> Result<SelectPath, Problem> {
    match node {
        None => Ok(SelectPath::Whole),
        Some(node) if matches!(node.kind, NodeKind::Null) => Ok(SelectPath::Discard),
        Some(node) => SelectPath::parse(node.as_str()?)
            .map_err(|e| Problem::at(node.text_loc(), e.to_string())),
    }
}

pub(super) fn result_path(node: Option<&Node>) -> Result<ResultPath, Problem> {
    match node {
        None => Ok(ResultPath::Whole),
        Some(node) if matches!(node.kind, NodeKind::Null) => Ok(ResultPath::Discard),
        Some(node) => ResultPath::parse(node.as_str()?)
            .map_err(|e| Problem::at(node.text_loc(), e.to_string())),
    }
}

/// How the state's data moves (every state type; Fail only has its query language).
pub(super) fn state_data(values: &Values<'_>, ty: StateType) -> Result<AslData, Problem> {
    let fields = &values.fields;
    let arguments = match ty {
        StateType::Pass | StateType::Task | StateType::Parallel => {
            let key = match values.query {
                QueryLanguage::JsonPath => "Parameters",
                QueryLanguage::Jsonata => "Arguments",
            };
            optional_template(values, fields.get(key), key)?
        }
        _ => None,
    };
    let result_selector = match fields.get("ResultSelector") {
        Some(node) => {
            node.as_map()?;
            Some(payload_template(node)?)
        }
        None => None,
    };
    let output = match fields.get("Output") {
        Some(node) => Some(jsonata_template(node, "Output")?),
        None => None,
    };
    let seconds = |key: &str| match ty {
        StateType::Task => values
            .number(key, 1, super::task::MAX_TASK_TIMEOUT_SECS)
            .map(|n| n.dynamic),
        _ => Ok(None),
    };
    let timeout = seconds("TimeoutSeconds")?;
    let heartbeat = seconds("HeartbeatSeconds")?;
    Ok(AslData {
        query: values.query,
        input_path: select_path(fields.get("InputPath"))?,
        arguments,
        result: fields.get("Result").map(Node::to_json),
        result_selector,
        result_path: result_path(fields.get("ResultPath"))?,
        output_path: select_path(fields.get("OutputPath"))?,
        output,
        assign: assign(values, fields.get("Assign"))?,
        timeout,
        heartbeat,
    })
}

/// `Assign`: an object of variable names to values.
pub(super) fn assign(
    values: &Values<'_>,
    node: Option<&Node>,
) -> Result<Option<AslTemplate>, Problem> {
    let Some(node) = node else {
        return Ok(None);
    };
    let entries = node
        .as_map()
        .map_err(|_| node.expected("Assign as a map"))?;
    for (key, _) in entries {
        let name = key.text.strip_suffix(".$").unwrap_or(&key.text);
        if !is_variable_name(name) {
            return Err(Problem::at(
                key.loc,
                format!(
                    "invalid variable name {name:?}: a variable name starts with a letter or _, holds letters, digits and _ only, and is not \"states\""
                ),
            ));
        }
    }
    optional_template(values, Some(node), "Assign")
}

/// A variable name (Developer Guide, "Variable name syntax"): a letter or `_`, then letters,
/// digits and `_`; at most 80 characters; `states` is reserved.
fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    let starts = chars.next().is_some_and(|c| c.is_alphabetic() || c == '_');
    starts
        && chars.all(|c| c.is_alphanumeric() || c == '_')
        && name.chars().count() <= 80
        && name != "states"
}
