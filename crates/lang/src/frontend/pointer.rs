//! Problems pointed at the field they are about: a front end descends with the [`Pointer`] of
//! each map it compiles (a scope, a state) and has the problems found inside it located
//! there, by their line and column, to the innermost value.

use crate::doc::{Loc, Node, NodeKind};
use crate::error::{Pointer, Problem, Step};

/// `problem`, found while compiling `node` (which `at` points at), pointed at the value of
/// `node` it is located at (see [`steps_to`]); a problem already pointed, or without a
/// location, keeps its pointer or gets `at`.
pub(crate) fn locate(problem: Problem, at: &Pointer, node: &Node) -> Problem {
    let steps = match (problem.line, problem.column) {
        (Some(line), Some(column)) => steps_to(node, Loc::new(line, column)),
        _ => Vec::new(),
    };
    problem.at_pointer(at.join(steps))
}

/// The steps from `node` to the value a problem at `loc` is about: the innermost value
/// written at or before `loc` (so a problem inside a string, an expression's, is about the
/// string). A problem at a field's name is about the map holding it (an unknown field is the
/// map's problem, as AWS points it). Entries are in document order, so each level is one
/// search, never a walk of the whole tree.
fn steps_to(node: &Node, loc: Loc) -> Vec<Step> {
    let mut steps = Vec::new();
    let mut node = node;
    loop {
        let (step, inner) = match &node.kind {
            NodeKind::Map(entries) => match entries.iter().rev().find(|(k, _)| k.loc <= loc) {
                Some((key, value)) if value.loc <= loc => (Step::Field(key.text.clone()), value),
                _ => return steps,
            },
            NodeKind::Seq(items) => {
                match items.iter().enumerate().rev().find(|(_, n)| n.loc <= loc) {
                    Some((index, item)) => (Step::Index(index), item),
                    None => return steps,
                }
            }
            _ => return steps,
        };
        steps.push(step);
        node = inner;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::doc::parse_document;

    fn pointed(text: &str, line: u64, column: u64) -> String {
        let node = parse_document(text).unwrap_or_else(|p| panic!("{p}"));
        let problem = Problem::at(Loc::new(line, column), "x");
        let base = Pointer::default().field("States").field("A");
        locate(problem, &base, &node)
            .pointer
            .map(|p| p.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn a_value_is_pointed_at_through_maps_and_lists() {
        let text = r#"{"Next": "B", "Catch": [{"Next": "C"}, {"Next": "D"}]}"#;
        // The value of Next, from its opening quote or from inside the string.
        assert_eq!(pointed(text, 1, 10), "/States/A/Next");
        assert_eq!(pointed(text, 1, 11), "/States/A/Next");
        // The second catcher's Next.
        let column = u64::try_from(text.find("\"D\"").unwrap_or(0) + 1).unwrap_or(0);
        assert_eq!(pointed(text, 1, column), "/States/A/Catch[1]/Next");
    }

    #[test]
    fn a_field_name_points_at_its_map_and_the_map_at_itself() {
        let text = "{\"Next\": \"B\",\n \"Colour\": \"red\"}";
        assert_eq!(pointed(text, 2, 2), "/States/A");
        assert_eq!(pointed(text, 1, 1), "/States/A");
        // YAML: a map starts where its first field's name does.
        assert_eq!(pointed("Retry:\n  - Max: 1\n", 2, 5), "/States/A/Retry[0]");
    }

    #[test]
    fn a_problem_keeps_the_pointer_it_has_and_an_unlocated_one_gets_the_base() {
        let node = parse_document("{}").unwrap_or_else(|p| panic!("{p}"));
        let base = Pointer::default().field("States");
        let inner = Pointer::default().field("Inner");
        let kept = locate(Problem::new("x").at_pointer(inner.clone()), &base, &node);
        assert_eq!(kept.pointer, Some(inner));
        assert_eq!(locate(Problem::new("x"), &base, &node).pointer, Some(base));
    }
}
