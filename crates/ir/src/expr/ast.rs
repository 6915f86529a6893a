use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::functions::Function;

/// A parsed expression.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Expr {
    Literal(Value),
    /// A variable root such as `$Input`.
    Var(Root),
    /// `base.field`, `base[0]`, `base[*]`.
    Path(Box<Expr>, Vec<Segment>),
    /// A built-in function call, `format("{}", $Input.a)`.
    Call(Function, Vec<Expr>),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// An array literal `[1, $Input.a]`.
    Array(Vec<Expr>),
    /// An object literal `{"name": $Input.a, "age": 10}` (the documented examples of
    /// `jsonMerge` and `length` pass maps written inline).
    Object(Vec<(String, Expr)>),
    /// Its operand, evaluated with absent values read as `null` (a missing key, an index past
    /// the end, anything read from `null`), and `null` counting as false for `!`, `&&`, `||`,
    /// the orderings and `in`. A Choice condition is one: on an absent key it is false, so the
    /// flow goes to `Default`, as CloudFlow documents for both forms.
    AbsentAsNull(Box<Expr>),
}

/// The variables an expression can start from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Root {
    /// `$Input` (CloudFlow), `$input` / `$` (legacy): the input of the current state.
    Input,
    /// `$Output`: the raw result of the current state, inside output constructors.
    Output,
    /// `$Context`: execution and current-state metadata.
    Context,
    /// `$Global`: the execution's global variables.
    Global,
    /// `$Item`: the original item inside a Map's `ItemConstructor`.
    Item,
    /// `$local` (legacy): the local data of the enclosing step.
    Local,
    /// `$CONST` (FunctionGraph v2): the workflow's constants.
    Const,
}

impl Root {
    /// How the variable is written in messages (CloudFlow spelling where it has one).
    pub fn name(self) -> &'static str {
        match self {
            Root::Input => "$Input",
            Root::Output => "$Output",
            Root::Context => "$Context",
            Root::Global => "$Global",
            Root::Item => "$Item",
            Root::Local => "$local",
            Root::Const => "$CONST",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Segment {
    Field(String),
    /// An array index; negative counts from the end (`-1` is the last element).
    Index(i64),
    /// `[*]`: applies the rest of the path to every element and collects the results.
    Wildcard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnaryOp {
    Not,
    Neg,
}

impl UnaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            UnaryOp::Not => "!",
            UnaryOp::Neg => "-",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BinaryOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    And,
    Or,
    /// `a in b`: b is an array containing a, or an object with key a.
    In,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::And => "&&",
            BinaryOp::Or => "||",
            BinaryOp::In => "in",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
        }
    }
}

impl Expr {
    /// Whether evaluating this expression reads `root` (lets the engine skip building
    /// `$Context` when nothing needs it).
    pub fn uses(&self, root: Root) -> bool {
        match self {
            Expr::Literal(_) => false,
            Expr::Var(r) => *r == root,
            Expr::Path(base, _) => base.uses(root),
            Expr::Call(_, args) | Expr::Array(args) => args.iter().any(|a| a.uses(root)),
            Expr::Object(fields) => fields.iter().any(|(_, e)| e.uses(root)),
            Expr::Unary(_, e) | Expr::AbsentAsNull(e) => e.uses(root),
            Expr::Binary(_, a, b) => a.uses(root) || b.uses(root),
        }
    }
}

/// Renders the expression in CloudFlow syntax; used in error messages, so that a failing path
/// is named the way the user wrote it (up to the spelling of legacy roots).
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Literal(v) => write!(f, "{v}"),
            Expr::Var(root) => f.write_str(root.name()),
            Expr::AbsentAsNull(e) => write!(f, "{e}"),
            Expr::Path(base, segments) => {
                write!(f, "{base}")?;
                segments.iter().try_for_each(|s| write!(f, "{s}"))
            }
            Expr::Call(function, args) => {
                write!(f, "{}(", function.name())?;
                write_list(f, args)?;
                f.write_str(")")
            }
            Expr::Unary(op, e) => write!(f, "{}{}", op.symbol(), Operand(e)),
            Expr::Binary(op, a, b) => write!(f, "{} {} {}", Operand(a), op.symbol(), Operand(b)),
            Expr::Array(items) => {
                f.write_str("[")?;
                write_list(f, items)?;
                f.write_str("]")
            }
            Expr::Object(fields) => {
                f.write_str("{")?;
                for (i, (key, value)) in fields.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}: {value}", Value::String(key.clone()))?;
                }
                f.write_str("}")
            }
        }
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Segment::Field(name) if is_plain_field(name) => write!(f, ".{name}"),
            Segment::Field(name) => write!(f, "[{}]", Value::String(name.clone())),
            Segment::Index(i) => write!(f, "[{i}]"),
            Segment::Wildcard => f.write_str("[*]"),
        }
    }
}

/// Whether a field can be written `.name` rather than `["name"]`.
fn is_plain_field(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
}

fn write_list(f: &mut fmt::Formatter<'_>, items: &[Expr]) -> fmt::Result {
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{item}")?;
    }
    Ok(())
}

/// An operand of an operator: parenthesised when it is itself an operation, so the rendering
/// never depends on precedence rules.
struct Operand<'a>(&'a Expr);

impl fmt::Display for Operand<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            e @ (Expr::Binary(..) | Expr::Unary(..) | Expr::AbsentAsNull(..)) => write!(f, "({e})"),
            e => write!(f, "{e}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn input_path(segments: Vec<Segment>) -> Expr {
        Expr::Path(Box::new(Expr::Var(Root::Input)), segments)
    }

    #[test]
    fn display_renders_paths_in_cloudflow_syntax() {
        let e = input_path(vec![
            Segment::Field("a".into()),
            Segment::Field("with space".into()),
            Segment::Index(-1),
            Segment::Wildcard,
        ]);
        assert_eq!(e.to_string(), r#"$Input.a["with space"][-1][*]"#);
    }

    #[test]
    fn display_parenthesises_nested_operations() {
        let e = Expr::Binary(
            BinaryOp::Mul,
            Box::new(Expr::Binary(
                BinaryOp::Add,
                Box::new(Expr::Literal(json!(1))),
                Box::new(Expr::Literal(json!(2))),
            )),
            Box::new(Expr::Unary(UnaryOp::Neg, Box::new(Expr::Var(Root::Item)))),
        );
        assert_eq!(e.to_string(), "(1 + 2) * (-$Item)");
    }

    #[test]
    fn display_renders_calls_arrays_and_objects() {
        let e = Expr::Call(
            Function::Length,
            vec![
                Expr::Array(vec![Expr::Literal(json!("x")), Expr::Var(Root::Local)]),
                Expr::Object(vec![("k".into(), Expr::Literal(json!(true)))]),
            ],
        );
        assert_eq!(e.to_string(), r#"length(["x", $local], {"k": true})"#);
    }

    #[test]
    fn uses_finds_roots_anywhere() {
        let e = Expr::Object(vec![(
            "k".into(),
            Expr::Call(Function::Length, vec![Expr::Var(Root::Context)]),
        )]);
        assert!(e.uses(Root::Context));
        assert!(!e.uses(Root::Input));
        assert!(!Expr::Literal(json!(1)).uses(Root::Input));
    }
}
