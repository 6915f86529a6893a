use serde::{Deserialize, Serialize};
use serde_json::Value;

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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Segment {
    Field(String),
    Index(i64),
    /// `[*]`: applies the rest of the path to every element and collects the results.
    Wildcard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnaryOp {
    Not,
    Neg,
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

/// The built-in functions (CloudFlow's catalogue). Parsed by name; an unknown name is a parse
/// error, not a run-time one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Function {
    // Filled in by the expression-language work: one variant per documented built-in.
    Format,
    Length,
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
            Expr::Unary(_, e) => e.uses(root),
            Expr::Binary(_, a, b) => a.uses(root) || b.uses(root),
        }
    }
}
