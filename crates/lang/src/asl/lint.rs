//! The warnings AWS's `ValidateStateMachineDefinition` documents for a JSONPath state it
//! accepts (API reference, `ValidateStateMachineDefinitionDiagnostic`, "List of warning
//! codes"): a value that looks like a path or an intrinsic function where it is taken as it
//! is written.
//!
//! - `NO_DOLLAR`: a payload template's field whose name does not end with `.$`.
//! - `NO_PATH`: a field that has a `…Path` form (`Cause`/`CausePath`, a Choice Rule's
//!   `StringEquals`/`StringEqualsPath`, …).
//! - `PASS_RESULT_IS_STATIC`: a Pass state's `Result`.

use sluice_ir::QueryLanguage;
use sluice_ir::expr::asl::Comparison;

use super::fields::{StateType, allowed_fields};
use crate::doc::{Node, NodeKind};
use crate::error::{Pointer, Problem, ProblemKind};
use crate::frontend::Fields;

/// The fields of a JSONPath state that are payload templates.
const TEMPLATES: &[&str] = &["Parameters", "ResultSelector", "ItemSelector", "Assign"];

/// The warnings of the JSONPath state `fields` (of type `ty`, named `name`, which `at`
/// points at), in document order.
pub(super) fn state(fields: &Fields<'_>, ty: StateType, name: &str, at: &Pointer) -> Vec<Problem> {
    let mut warnings = Vec::new();
    let mut warn = |node: &Node, pointer: Pointer, kind: ProblemKind, message: String| {
        warnings.push(
            Problem::at(node.text_loc(), message)
                .kind(kind)
                .at_pointer(pointer)
                .in_state(name),
        );
    };
    let allowed = allowed_fields(ty, QueryLanguage::JsonPath);
    for (key, node) in entries(fields.node()) {
        let pointer = at.field(&key.text);
        if key.text == "Result" && ty == StateType::Pass {
            static_result(node, &pointer, &mut warn);
        } else if TEMPLATES.contains(&key.text.as_str()) {
            template(node, &pointer, &mut warn);
        } else if key.text == "Choices" {
            for (index, rule) in items(node).iter().enumerate() {
                choice_rule(rule, &pointer.index(index), &mut warn);
            }
        } else if let Some(text) = path_like(node)
            && allowed.contains(&format!("{}Path", key.text).as_str())
        {
            warn(node, pointer, ProblemKind::NoPath, no_path(&key.text, text));
        }
    }
    warnings
}

type Warn<'w> = dyn FnMut(&Node, Pointer, ProblemKind, String) + 'w;

/// `PASS_RESULT_IS_STATIC`: every string of a Pass state's `Result` that looks like a path.
fn static_result(node: &Node, at: &Pointer, warn: &mut Warn<'_>) {
    match &node.kind {
        NodeKind::String(text) if looks_like_path(text) => warn(
            node,
            at.clone(),
            ProblemKind::PassResultIsStatic,
            format!(
                "{text:?} looks like a path, but a Pass state's Result is taken as it is written; Parameters reads the input"
            ),
        ),
        NodeKind::Map(entries) => {
            for (key, value) in entries {
                static_result(value, &at.field(&key.text), warn);
            }
        }
        NodeKind::Seq(values) => {
            for (index, value) in values.iter().enumerate() {
                static_result(value, &at.index(index), warn);
            }
        }
        _ => {}
    }
}

/// `NO_DOLLAR`: a field of a payload template, at any depth, whose name does not end with
/// `.$` and whose value looks like a path or an intrinsic function.
fn template(node: &Node, at: &Pointer, warn: &mut Warn<'_>) {
    match &node.kind {
        NodeKind::Map(entries) => {
            for (key, value) in entries {
                let pointer = at.field(&key.text);
                match &value.kind {
                    NodeKind::String(text)
                        if !key.text.ends_with(".$")
                            && (looks_like_path(text) || looks_like_intrinsic(text)) =>
                    {
                        warn(
                            value,
                            pointer,
                            ProblemKind::NoDollar,
                            format!(
                                "the field {:?} holds {text:?}, which looks like a path or an intrinsic function, but is taken as it is written: name the field {:?} to evaluate it",
                                key.text,
                                format!("{}.$", key.text)
                            ),
                        );
                    }
                    _ => template(value, &pointer, warn),
                }
            }
        }
        NodeKind::Seq(values) => {
            for (index, value) in values.iter().enumerate() {
                template(value, &at.index(index), warn);
            }
        }
        _ => {}
    }
}

/// `NO_PATH` in a Choice Rule, nested ones (`And`, `Or`, `Not`) too: an operator that has a
/// `…Path` form given a path-looking string.
fn choice_rule(rule: &Node, at: &Pointer, warn: &mut Warn<'_>) {
    for (key, node) in entries(rule) {
        let pointer = at.field(&key.text);
        match key.text.as_str() {
            "And" | "Or" => {
                for (index, inner) in items(node).iter().enumerate() {
                    choice_rule(inner, &pointer.index(index), warn);
                }
            }
            "Not" => choice_rule(node, &pointer, warn),
            operator => {
                let has_path_form = matches!(
                    Comparison::from_field(&format!("{operator}Path")),
                    Some((_, true))
                );
                if let Some(text) = path_like(node).filter(|_| has_path_form) {
                    warn(node, pointer, ProblemKind::NoPath, no_path(operator, text));
                }
            }
        }
    }
}

fn no_path(field: &str, text: &str) -> String {
    format!(
        "the field {field:?} holds {text:?}, which looks like a path, but is taken as it is written: {:?} reads a path",
        format!("{field}Path")
    )
}

fn entries(node: &Node) -> &[(crate::doc::Key, Node)] {
    match &node.kind {
        NodeKind::Map(entries) => entries,
        _ => &[],
    }
}

fn items(node: &Node) -> &[Node] {
    match &node.kind {
        NodeKind::Seq(items) => items,
        _ => &[],
    }
}

/// The string `node` holds, when it looks like a path.
fn path_like(node: &Node) -> Option<&str> {
    match &node.kind {
        NodeKind::String(text) if looks_like_path(text) => Some(text),
        _ => None,
    }
}

/// A JSONPath (`$`, `$.a`, `$[0]`) or a context object path (`$$`, `$$.Execution.Id`).
fn looks_like_path(text: &str) -> bool {
    let rest = text
        .strip_prefix("$$")
        .or_else(|| text.strip_prefix('$'))
        .unwrap_or(text);
    rest.len() < text.len() && (rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
}

/// An intrinsic function call: `States.Name(…)`.
fn looks_like_intrinsic(text: &str) -> bool {
    text.strip_prefix("States.")
        .and_then(|rest| rest.split_once('('))
        .is_some_and(|(name, _)| {
            !name.is_empty()
                && name.chars().all(|c| c.is_ascii_alphanumeric())
                && text.ends_with(')')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_and_intrinsics_are_told_from_text() {
        for path in ["$", "$.a", "$[0]", "$$", "$$.Execution.Id", "$.a.b[1]"] {
            assert!(looks_like_path(path), "{path}");
        }
        for text in ["", "a", "$5 fee", "US$", "$a", "States.Format('{}')"] {
            assert!(!looks_like_path(text), "{text}");
        }
        assert!(looks_like_intrinsic("States.Format('{}', $.a)"));
        assert!(looks_like_intrinsic("States.UUID()"));
        for text in [
            "States.",
            "States.Format",
            "States.(x)",
            "Say States.UUID()",
        ] {
            assert!(!looks_like_intrinsic(text), "{text}");
        }
    }
}
