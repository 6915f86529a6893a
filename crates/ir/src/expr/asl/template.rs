//! Payload Templates (specification, "Payload Template"): `Parameters`, `ResultSelector`,
//! `ItemSelector` and a JSONPath state's `Assign`. A field whose name ends in `.$` (at any
//! depth, also inside arrays) is renamed without the suffix and its value replaced: a string
//! starting with `$` is a path applied to the template's input (`$$…` to the context object,
//! `$name…` to a variable), any other string an intrinsic function call. Everything else is
//! copied as written.
//!
//! The template is compiled once; parts without `.$` fields are kept as ready JSON and cloned
//! whole.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::error::AslError;
use super::intrinsic::Call;
use super::path::Path;
use super::scope::Scope;

/// A compiled Payload Template.
#[derive(Clone)]
pub struct PayloadTemplate {
    /// As written, for serialization and equality.
    source: Value,
    root: Node,
    uses_context: bool,
    has_paths: bool,
}

#[derive(Clone)]
enum Node {
    /// A part with no `.$` field.
    Ready(Value),
    Object(Vec<(String, Node)>),
    Array(Vec<Node>),
    /// `"name.$": "$…"`; `field` is the key as written.
    Path {
        field: String,
        path: Path,
    },
    /// `"name.$": "States.…(…)"`.
    Call {
        field: String,
        call: Call,
    },
}

/// Why a template does not compile, and where: the keys and indexes leading to the problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct TemplateError {
    /// Keys (as written) and array indexes from the template's root to the offending field.
    pub location: Vec<String>,
    pub message: String,
}

impl PayloadTemplate {
    /// Compiles a template. The specification requires it to be a JSON object; this accepts any
    /// JSON value and leaves that check to the language.
    pub fn compile(source: &Value) -> Result<PayloadTemplate, TemplateError> {
        let mut location = Vec::new();
        let root = compile_node(source, &mut location)?;
        let (mut uses_context, mut has_paths) = (false, false);
        root.visit(&mut |node| match node {
            Node::Path { path, .. } => {
                has_paths = true;
                uses_context |= path.uses_context();
            }
            Node::Call { call, .. } => {
                has_paths = true;
                uses_context |= call.uses_context();
            }
            _ => {}
        });
        Ok(PayloadTemplate {
            source: source.clone(),
            root,
            uses_context,
            has_paths,
        })
    }

    pub fn source(&self) -> &Value {
        &self.source
    }

    /// Whether applying the template reads the context object (`$$`), directly or through an
    /// intrinsic's argument.
    pub fn uses_context(&self) -> bool {
        self.uses_context
    }

    /// Builds the payload. A path that finds nothing fails with AWS's `States.Runtime` cause
    /// naming the field; a failing intrinsic with `States.IntrinsicFailure`. A template with
    /// paths fails on a `null` input, as AWS does ("Unable to apply Path transformation to null
    /// or empty input.").
    pub fn apply(&self, scope: &Scope<'_>) -> Result<Value, AslError> {
        if self.has_paths && scope.input().is_null() {
            return Err(AslError::NullInput);
        }
        self.root.build(scope)
    }
}

fn compile_node(value: &Value, location: &mut Vec<String>) -> Result<Node, TemplateError> {
    let node = match value {
        Value::Object(map) => {
            let mut fields = Vec::with_capacity(map.len());
            for (key, value) in map {
                location.push(key.clone());
                let field = compile_field(key, value, location)?;
                if fields.iter().any(|(name, _)| *name == field.0) {
                    return Err(TemplateError {
                        location: location.clone(),
                        message: format!(
                            "the field '{}' appears twice once '.$' is removed from '{key}'",
                            field.0
                        ),
                    });
                }
                location.pop();
                fields.push(field);
            }
            Node::Object(fields)
        }
        Value::Array(items) => {
            let mut nodes = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                location.push(i.to_string());
                nodes.push(compile_node(item, location)?);
                location.pop();
            }
            Node::Array(nodes)
        }
        other => Node::Ready(other.clone()),
    };
    Ok(node.settle())
}

fn compile_field(
    key: &str,
    value: &Value,
    location: &mut Vec<String>,
) -> Result<(String, Node), TemplateError> {
    let Some(name) = key.strip_suffix(".$") else {
        return Ok((key.to_owned(), compile_node(value, location)?));
    };
    let fail = |message: String| TemplateError {
        location: location.clone(),
        message,
    };
    let Some(text) = value.as_str() else {
        return Err(fail(format!(
            "the value of '{key}' must be a string holding a path or an intrinsic function call"
        )));
    };
    let node = if text.starts_with('$') {
        let path = Path::parse(text).map_err(|e| fail(e.to_string()))?;
        Node::Path {
            field: key.to_owned(),
            path,
        }
    } else {
        let call = Call::parse(text).map_err(|e| fail(e.to_string()))?;
        Node::Call {
            field: key.to_owned(),
            call,
        }
    };
    Ok((name.to_owned(), node))
}

impl Node {
    /// Folds a container whose parts are all ready into one ready value.
    fn settle(self) -> Node {
        match self {
            Node::Object(fields) if fields.iter().all(|(_, n)| matches!(n, Node::Ready(_))) => {
                Node::Ready(Value::Object(
                    fields
                        .into_iter()
                        .map(|(k, n)| (k, n.into_ready()))
                        .collect(),
                ))
            }
            Node::Array(items) if items.iter().all(|n| matches!(n, Node::Ready(_))) => Node::Ready(
                Value::Array(items.into_iter().map(Node::into_ready).collect()),
            ),
            other => other,
        }
    }

    fn into_ready(self) -> Value {
        match self {
            Node::Ready(value) => value,
            _ => Value::Null,
        }
    }

    fn visit(&self, f: &mut impl FnMut(&Node)) {
        f(self);
        match self {
            Node::Object(fields) => fields.iter().for_each(|(_, n)| n.visit(f)),
            Node::Array(items) => items.iter().for_each(|n| n.visit(f)),
            _ => {}
        }
    }

    fn build(&self, scope: &Scope<'_>) -> Result<Value, AslError> {
        Ok(match self {
            Node::Ready(value) => value.clone(),
            Node::Object(fields) => {
                let mut map = Map::with_capacity(fields.len());
                for (name, node) in fields {
                    map.insert(name.clone(), node.build(scope)?);
                }
                Value::Object(map)
            }
            Node::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|n| n.build(scope))
                    .collect::<Result<_, _>>()?,
            ),
            Node::Path { field, path } => path.evaluate(scope, field)?,
            Node::Call { field, call } => call.evaluate(scope, field)?,
        })
    }
}

impl fmt::Debug for PayloadTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PayloadTemplate({})", self.source)
    }
}

impl PartialEq for PayloadTemplate {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source
    }
}

impl Serialize for PayloadTemplate {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.source.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PayloadTemplate {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let source = Value::deserialize(deserializer)?;
        PayloadTemplate::compile(&source).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn template(source: Value) -> PayloadTemplate {
        PayloadTemplate::compile(&source).unwrap_or_else(|e| panic!("{e}"))
    }

    // Developer Guide, "InputPath and Parameters": the `product` example.
    #[test]
    fn documented_parameters() {
        let input = json!({
            "comment": "Example for Parameters.",
            "product": {
                "details": {"color": "blue", "size": "small", "material": "cotton"},
                "availability": "in stock",
                "sku": "2317",
                "cost": "$23"
            }
        });
        let parameters = template(json!({
            "comment": "Selecting what I care about.",
            "MyDetails": {
                "size.$": "$.product.details.size",
                "exists.$": "$.product.availability",
                "StaticValue": "foo"
            }
        }));
        assert_eq!(
            parameters.apply(&Scope::new(&input)),
            Ok(json!({
                "comment": "Selecting what I care about.",
                "MyDetails": {"size": "small", "exists": "in stock", "StaticValue": "foo"}
            }))
        );
    }

    // Specification, "Payload Template": the `X` Task example, with its context object.
    #[test]
    fn specification_example() {
        let input = json!({"flagged": 7, "vals": [0, 10, 20, 30, 40, 50]});
        let context = json!({"DayOfWeek": "TUESDAY"});
        let parameters = template(json!({
            "flagged": true,
            "parts": {"first.$": "$.vals[0]", "last3.$": "$.vals[-3:]"},
            "weekday.$": "$$.DayOfWeek",
            "formattedOutput.$": "States.Format('Today is {}', $$.DayOfWeek)"
        }));
        assert!(parameters.uses_context());
        assert_eq!(
            parameters.apply(&Scope::new(&input).with_context(&context)),
            Ok(json!({
                "flagged": true,
                "parts": {"first": 0, "last3": [30, 40, 50]},
                "weekday": "TUESDAY",
                "formattedOutput": "Today is TUESDAY"
            }))
        );
    }

    // Developer Guide, "Transforming data with JSONata": the JSONPath sample with a variable,
    // and `not-evaluated` left as written.
    #[test]
    fn variables_and_plain_dollar_strings() {
        let input = json!({"title": "Doctor"});
        let vars = json!({"customerName": "María"});
        let vars = vars.as_object().cloned().unwrap_or_default();
        let parameters = template(json!({
            "static": "Hello",
            "title.$": "$.title",
            "name.$": "$customerName",
            "not-evaluated": "$customerName"
        }));
        assert!(!parameters.uses_context());
        assert_eq!(
            parameters.apply(&Scope::new(&input).with_variables(&vars)),
            Ok(json!({
                "static": "Hello",
                "title": "Doctor",
                "name": "María",
                "not-evaluated": "$customerName"
            }))
        );
    }

    #[test]
    fn dynamic_fields_inside_arrays() {
        let input = json!({"a": 1});
        let t = template(json!({"list": [{"x.$": "$.a"}, "plain", ["y"]]}));
        assert_eq!(
            t.apply(&Scope::new(&input)),
            Ok(json!({"list": [{"x": 1}, "plain", ["y"]]}))
        );
        let ready = template(json!({"k": [1, {"v": "$.a"}]}));
        assert!(matches!(ready.root, Node::Ready(_)));
    }

    // Conformance cases `invalid_jsonpath@INVALID_JSONPATH_IN_STRING_EXPR_JSONPATH` / `…_CONTEXTPATH`
    // and the recorded "Unable to apply Path transformation to null or empty input.".
    #[test]
    fn failures() {
        let input = json!({"int-literal": 0});
        let t = template(json!({"value.$": "$.no_such_jsonpath"}));
        let e = t.apply(&Scope::new(&input));
        assert_eq!(
            e.map_err(|e| (e.name(), e.to_string())),
            Err((
                "States.Runtime",
                "The JSONPath '$.no_such_jsonpath' specified for the field 'value.$' could not be found in the input '{\"int-literal\":0}'".to_owned()
            ))
        );
        let t = template(json!({"Input.$": "$"}));
        assert_eq!(t.apply(&Scope::new(&Value::Null)), Err(AslError::NullInput));
        let statics = template(json!({"a": 1}));
        assert_eq!(
            statics.apply(&Scope::new(&Value::Null)),
            Ok(json!({"a": 1}))
        );
        let t = template(json!({"n.$": "States.ArrayLength($.s)"}));
        let e = t.apply(&Scope::new(&json!({"s": "x"})));
        assert_eq!(e.map_err(|e| e.name()), Err("States.IntrinsicFailure"));
    }

    #[test]
    fn compile_errors_say_where() {
        let e = PayloadTemplate::compile(&json!({"a": {"b.$": 5}}));
        assert_eq!(
            e,
            Err(TemplateError {
                location: vec!["a".into(), "b.$".into()],
                message: "the value of 'b.$' must be a string holding a path or an intrinsic \
                          function call"
                    .into()
            })
        );
        let e = PayloadTemplate::compile(&json!({"x": [0, {"c.$": "States.Nope()"}]}));
        assert_eq!(
            e.as_ref().map_err(|e| e.location.clone()),
            Err(vec!["x".to_owned(), "1".to_owned(), "c.$".to_owned()])
        );
        assert!(e.is_err_and(|e| {
            e.message
                .contains("unknown intrinsic function 'States.Nope'")
        }));
        let e = PayloadTemplate::compile(&json!({"a": 1, "a.$": "$.b"}));
        assert!(e.is_err_and(|e| e.message.contains("appears twice")));
        let e = PayloadTemplate::compile(&json!({"p.$": "$.a["}));
        assert!(e.is_err_and(|e| e.message.contains("not a valid JSONPath")));
    }

    #[test]
    fn serde_round_trips_through_the_source() {
        let t = template(json!({"a.$": "$.x", "b": [1]}));
        let text = serde_json::to_string(&t).unwrap_or_default();
        let back: PayloadTemplate = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, t);
        assert!(serde_json::from_str::<PayloadTemplate>(r#"{"a.$": 1}"#).is_err());
    }
}
