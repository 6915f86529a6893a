//! Choice states: `Choices` (JSONPath Choice Rules or JSONata `Condition`s) and `Default`.

use sluice_ir::expr::asl::{Comparison, Operand, Path, Rule, TYPE_TESTS};
use sluice_ir::{Choice, ChoiceBranch, Condition, Next, QueryLanguage, RuleData};

use super::data::{Values, assign, jsonata_template, reference_path};
use crate::doc::{Node, NodeKind};
use crate::error::Problem;
use crate::frontend::{Fields, ScopeNames};

pub(super) fn choice(values: &Values<'_>, names: &ScopeNames) -> Result<Choice, Problem> {
    let fields = &values.fields;
    let choices_node = fields.require("Choices", "a Choice state")?;
    let choices = choices_node.as_seq()?;
    if choices.is_empty() {
        return Err(Problem::at(
            choices_node.loc,
            "a Choice state needs at least one Choice Rule in Choices",
        ));
    }
    let branches = choices
        .iter()
        .map(|node| branch(values, node, names))
        .collect::<Result<_, _>>()?;
    let default = fields
        .get("Default")
        .map(|node| names.resolve(node, "Default").map(Next::State))
        .transpose()?;
    Ok(Choice { branches, default })
}

/// A top-level Choice Rule: a rule with `Next`, and the `Assign` (and, in JSONata, `Output`)
/// that replace the state's when it matches.
fn branch(values: &Values<'_>, node: &Node, names: &ScopeNames) -> Result<ChoiceBranch, Problem> {
    let owner = "a Choice Rule";
    let fields = Fields::of(node, owner)?;
    let next = names.resolve(fields.require("Next", owner)?, "Next")?;
    let rule = match values.query {
        QueryLanguage::Jsonata => {
            fields.allow_only(&["Condition", "Next", "Comment", "Assign", "Output"], owner)?;
            let condition = fields.require("Condition", owner)?;
            match &condition.kind {
                NodeKind::Bool(b) => {
                    Rule::Condition(jsonata_template(&bool_node(condition, *b), "Condition")?)
                }
                _ => Rule::Condition(jsonata_template(condition, "Condition")?),
            }
        }
        QueryLanguage::JsonPath => rule(&fields, true)?,
    };
    let assign = assign(values, fields.get("Assign"))?;
    let output = fields
        .get("Output")
        .map(|node| jsonata_template(node, "Output"))
        .transpose()?;
    let asl = (assign.is_some() || output.is_some()).then(|| Box::new(RuleData { assign, output }));
    Ok(ChoiceBranch {
        condition: Condition::Rule(rule),
        next: Next::State(next),
        asl,
    })
}

/// `Condition: true` written as a boolean: the same as `{% true %}`.
fn bool_node(node: &Node, value: bool) -> Node {
    Node {
        kind: NodeKind::String(format!("{{% {value} %}}")),
        ..node.clone()
    }
}

/// A JSONPath rule: `And`/`Or`/`Not`, or `Variable` with one operator. `top` rules carry
/// `Next` (and may have `Comment`); nested ones do not.
fn rule(fields: &Fields<'_>, top: bool) -> Result<Rule, Problem> {
    let owner = if top {
        "a Choice Rule"
    } else {
        "a nested Choice Rule"
    };
    let extra: &[&str] = if top {
        &["Next", "Comment", "Assign"]
    } else {
        &["Comment"]
    };
    for (key, combine) in [("And", true), ("Or", false)] {
        if let Some(node) = fields.get(key) {
            only(fields, &[&[key][..], extra].concat(), owner)?;
            let rules = node.as_seq()?;
            if rules.is_empty() {
                return Err(Problem::at(
                    node.loc,
                    format!("{key} needs at least one Choice Rule"),
                ));
            }
            let rules = rules
                .iter()
                .map(|n| rule(&Fields::of(n, owner)?, false))
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(if combine {
                Rule::And(rules)
            } else {
                Rule::Or(rules)
            });
        }
    }
    if let Some(node) = fields.get("Not") {
        only(fields, &[&["Not"][..], extra].concat(), owner)?;
        return Ok(Rule::Not(Box::new(rule(&Fields::of(node, owner)?, false)?)));
    }
    let variable = fields.require("Variable", owner)?;
    let variable = Path::parse(variable.as_str()?)
        .map_err(|e| Problem::at(variable.text_loc(), e.to_string()))?;
    comparison(fields, variable, extra, owner)
}

fn only(fields: &Fields<'_>, allowed: &[&str], owner: &str) -> Result<(), Problem> {
    fields.allow_only(allowed, owner)
}

/// The one operator beside `Variable`.
fn comparison(
    fields: &Fields<'_>,
    variable: Path,
    extra: &[&str],
    owner: &str,
) -> Result<Rule, Problem> {
    let operators = Comparison::field_names();
    let mut allowed: Vec<&str> = operators.iter().map(String::as_str).collect();
    allowed.extend(TYPE_TESTS.iter().map(|(name, _)| *name));
    allowed.push("Variable");
    allowed.extend(extra);
    fields.allow_only(&allowed, owner)?;
    let given: Vec<(&str, &Node)> = allowed
        .iter()
        .filter(|name| !["Variable", "Next", "Comment"].contains(name))
        .filter_map(|name| fields.get(name).map(|node| (*name, node)))
        .collect();
    let (name, node) = match given.as_slice() {
        [one] => *one,
        [] => {
            return Err(Problem::at(
                fields.loc(),
                format!(
                    "{owner} with a Variable needs one comparison operator, such as StringEquals or IsPresent"
                ),
            ));
        }
        [_, (second, node), ..] => {
            return Err(Problem::at(
                node.loc,
                format!("{owner} has exactly one comparison operator; {second} is a second one"),
            ));
        }
    };
    if let Some((_, test)) = TYPE_TESTS.iter().find(|(n, _)| *n == name) {
        return Ok(Rule::Test {
            variable,
            test: *test,
            expected: node.as_bool()?,
        });
    }
    let Some((op, is_path)) = Comparison::from_field(name) else {
        return Err(Problem::at(node.loc, format!("unknown operator {name}")));
    };
    let operand = if is_path {
        Operand::Path(reference_path(node)?)
    } else {
        let value = node.to_json();
        if !op.accepts_literal(&value) {
            return Err(node.expected(&format!("a value of the type {name} compares")));
        }
        Operand::Literal(value)
    };
    Ok(Rule::Compare {
        variable,
        op,
        operand,
    })
}
