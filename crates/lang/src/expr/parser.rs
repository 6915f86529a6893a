//! One precedence-climbing parser for every expression syntax; a [`Syntax`] says which
//! variables exist and how their paths are spelled.

use serde_json::{Number, Value};
use sluice_ir::expr::{BinaryOp, Expr, Function, Root, Segment, UnaryOp};

use super::lexer::{Tok, Token, tokenize};
use super::{ExprSyntaxError, cloudflow, legacy};

/// Bounds both the parser's recursion and the height of the tree it builds, so neither
/// parsing nor evaluating (nor dropping) an expression can exhaust the stack.
const MAX_DEPTH: usize = 64;

/// CloudFlow documents at most 10 levels of nested built-in function calls.
const MAX_CALL_NESTING: usize = 10;

/// The concrete syntaxes sharing this parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Syntax {
    /// CloudFlow: `$Input`, `$Output`, `$Context`, `$Global`, `$Item`.
    CloudFlow,
    /// Serverless Workflow steps: `$` / `$input`, `$local`, `$context`.
    Legacy,
}

impl Syntax {
    /// Variable names (without `$`) and the roots they denote.
    fn variables(self) -> &'static [(&'static str, Root)] {
        match self {
            Syntax::CloudFlow => &cloudflow::VARIABLES,
            Syntax::Legacy => &legacy::VARIABLES,
        }
    }

    fn root(self, name: &str) -> Option<Root> {
        self.variables()
            .iter()
            .find_map(|(n, root)| (*n == name).then_some(*root))
    }

    /// Rewrites a variable's path into the IR's (CloudFlow) structure.
    fn normalise_path(self, root: Root, segments: Vec<Segment>) -> Vec<Segment> {
        match (self, root) {
            (Syntax::Legacy, Root::Context) => legacy::context_segments(segments),
            _ => segments,
        }
    }
}

pub(super) fn parse(src: &str, syntax: Syntax) -> Result<Expr, ExprSyntaxError> {
    let mut parser = Parser {
        tokens: tokenize(src)?,
        pos: 0,
        syntax,
        depth: 0,
        calls: 0,
    };
    let node = parser.expression()?;
    match parser.peek() {
        Tok::Eof => Ok(node.expr),
        other => Err(parser.error_here(format!(
            "unexpected {} after the expression",
            other.describe()
        ))),
    }
}

/// An expression and the height of its tree.
struct Node {
    expr: Expr,
    height: usize,
}

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    syntax: Syntax,
    /// Current recursion depth of [`Parser::unary`].
    depth: usize,
    /// Function calls currently open.
    calls: usize,
}

impl Parser {
    fn peek(&self) -> &Tok {
        self.tokens.get(self.pos).map_or(&Tok::Eof, |t| &t.tok)
    }

    fn peek_at(&self, ahead: usize) -> &Tok {
        self.tokens
            .get(self.pos + ahead)
            .map_or(&Tok::Eof, |t| &t.tok)
    }

    fn column(&self) -> usize {
        self.tokens
            .get(self.pos)
            .or(self.tokens.last())
            .map_or(1, |t| t.column)
    }

    /// Consumes and returns the current token (never past [`Tok::Eof`]).
    fn advance(&mut self) -> Tok {
        let tok = self.peek().clone();
        if tok != Tok::Eof {
            self.pos += 1;
        }
        tok
    }

    fn error_at(&self, column: usize, message: impl Into<String>) -> ExprSyntaxError {
        ExprSyntaxError {
            column,
            message: message.into(),
        }
    }

    fn error_here(&self, message: impl Into<String>) -> ExprSyntaxError {
        self.error_at(self.column(), message)
    }

    fn expect(&mut self, expected: Tok) -> Result<(), ExprSyntaxError> {
        if *self.peek() == expected {
            self.advance();
            return Ok(());
        }
        Err(self.error_here(format!(
            "expected {}, found {}",
            expected.describe(),
            self.peek().describe()
        )))
    }

    /// Wraps `expr` with its height, rejecting trees taller than [`MAX_DEPTH`].
    fn node(&self, expr: Expr, height: usize, column: usize) -> Result<Node, ExprSyntaxError> {
        if height > MAX_DEPTH {
            return Err(self.error_at(
                column,
                format!("expression is nested too deeply (more than {MAX_DEPTH} levels)"),
            ));
        }
        Ok(Node { expr, height })
    }

    fn expression(&mut self) -> Result<Node, ExprSyntaxError> {
        self.binary(1)
    }

    /// Precedence climbing: parses operators binding at least as tightly as `min_precedence`,
    /// all left-associative.
    fn binary(&mut self, min_precedence: u8) -> Result<Node, ExprSyntaxError> {
        let mut left = self.unary()?;
        while let Some(op) = binary_op(self.peek()) {
            let precedence = binary_precedence(op);
            if precedence < min_precedence {
                break;
            }
            let column = self.column();
            self.advance();
            let right = self.binary(precedence + 1)?;
            let height = 1 + left.height.max(right.height);
            let expr = Expr::Binary(op, Box::new(left.expr), Box::new(right.expr));
            left = self.node(expr, height, column)?;
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Node, ExprSyntaxError> {
        let column = self.column();
        if self.depth >= MAX_DEPTH {
            return Err(self.error_at(
                column,
                format!("expression is nested too deeply (more than {MAX_DEPTH} levels)"),
            ));
        }
        self.depth += 1;
        let result = self.unary_inner(column);
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self, column: usize) -> Result<Node, ExprSyntaxError> {
        let op = match self.peek() {
            Tok::Bang => UnaryOp::Not,
            // `-5` is the literal -5 (so that i64::MIN is writable), not a negation.
            Tok::Minus => match self.peek_at(1).clone() {
                Tok::Number(text) => {
                    self.pos += 2;
                    return self.number(&format!("-{text}"), column);
                }
                _ => UnaryOp::Neg,
            },
            _ => return self.postfix(),
        };
        self.advance();
        let operand = self.unary()?;
        let height = operand.height + 1;
        self.node(Expr::Unary(op, Box::new(operand.expr)), height, column)
    }

    /// A primary expression followed by any `.field`, `[index]`, `["key"]` and `[*]`.
    fn postfix(&mut self) -> Result<Node, ExprSyntaxError> {
        let column = self.column();
        let (base, takes_path) = self.primary()?;
        if !takes_path {
            return Ok(base);
        }
        let mut segments = Vec::new();
        while let Some(segment) = self.segment()? {
            segments.push(segment);
        }
        if segments.is_empty() {
            return Ok(base);
        }
        let segments = match base.expr {
            Expr::Var(root) => self.syntax.normalise_path(root, segments),
            _ => segments,
        };
        let height = base.height + 1;
        self.node(Expr::Path(Box::new(base.expr), segments), height, column)
    }

    /// The next path segment, if the current token starts one.
    fn segment(&mut self) -> Result<Option<Segment>, ExprSyntaxError> {
        match self.peek() {
            Tok::Dot => {
                self.advance();
                let column = self.column();
                match self.advance() {
                    Tok::Word(name) => Ok(Some(Segment::Field(name))),
                    other => Err(self.error_at(
                        column,
                        format!(
                            "expected a field name after '.', found {}",
                            other.describe()
                        ),
                    )),
                }
            }
            Tok::LBracket => {
                self.advance();
                let segment = self.bracket_segment()?;
                self.expect(Tok::RBracket)?;
                Ok(Some(segment))
            }
            _ => Ok(None),
        }
    }

    /// What may stand inside `[ ]` after a value: `*`, a quoted key or an integer index.
    fn bracket_segment(&mut self) -> Result<Segment, ExprSyntaxError> {
        let column = self.column();
        let negative = *self.peek() == Tok::Minus;
        if negative {
            self.advance();
        }
        let token_column = self.column();
        match (self.advance(), negative) {
            (Tok::Star, false) => Ok(Segment::Wildcard),
            (Tok::Str(key), false) => Ok(Segment::Field(key)),
            (Tok::Number(text), _) => {
                let text = if negative { format!("-{text}") } else { text };
                text.parse::<i64>()
                    .map(Segment::Index)
                    .map_err(|_| self.error_at(column, format!("invalid array index {text}")))
            }
            (other, _) => Err(self.error_at(
                token_column,
                format!(
                    "expected an index, a quoted key or '*' inside '[ ]', found {}",
                    other.describe()
                ),
            )),
        }
    }

    /// A primary expression, and whether a path may follow it (not after a literal).
    fn primary(&mut self) -> Result<(Node, bool), ExprSyntaxError> {
        let column = self.column();
        let node = match self.advance() {
            Tok::Var(name) => self.variable(&name, column)?,
            Tok::Number(text) => return Ok((self.number(&text, column)?, false)),
            Tok::Str(s) => return Ok((literal(Value::String(s)), false)),
            Tok::Word(word) => match word.as_str() {
                "true" => return Ok((literal(Value::Bool(true)), false)),
                "false" => return Ok((literal(Value::Bool(false)), false)),
                "null" => return Ok((literal(Value::Null), false)),
                _ => self.call(&word, column)?,
            },
            Tok::LParen => {
                let inner = self.expression()?;
                self.expect(Tok::RParen)?;
                inner
            }
            Tok::LBracket => self.array(column)?,
            Tok::LBrace => self.object(column)?,
            other => {
                return Err(self.error_at(
                    column,
                    format!("expected an expression, found {}", other.describe()),
                ));
            }
        };
        Ok((node, true))
    }

    fn variable(&self, name: &str, column: usize) -> Result<Node, ExprSyntaxError> {
        let root = self.syntax.root(name).ok_or_else(|| {
            let allowed: Vec<String> = self
                .syntax
                .variables()
                .iter()
                .map(|(n, _)| format!("${n}"))
                .collect();
            self.error_at(
                column,
                format!(
                    "unknown variable '${name}'; expected one of: {}",
                    allowed.join(", ")
                ),
            )
        })?;
        Ok(Node {
            expr: Expr::Var(root),
            height: 1,
        })
    }

    fn number(&self, text: &str, column: usize) -> Result<Node, ExprSyntaxError> {
        // JSON's grammar and range rules; serde_json rejects `01` and out-of-range values.
        let number: Number = serde_json::from_str(text)
            .map_err(|_| self.error_at(column, format!("invalid number {text}")))?;
        Ok(literal(Value::Number(number)))
    }

    /// `name(args…)`; `column` is where the name starts.
    fn call(&mut self, name: &str, column: usize) -> Result<Node, ExprSyntaxError> {
        let Some(function) = Function::from_name(name) else {
            let allowed: Vec<&str> = Function::all_names().collect();
            return Err(self.error_at(
                column,
                format!(
                    "unknown function '{name}'; expected one of: {}",
                    allowed.join(", ")
                ),
            ));
        };
        if *self.peek() != Tok::LParen {
            return Err(self.error_here(format!(
                "expected '(' after function '{name}', found {}",
                self.peek().describe()
            )));
        }
        self.advance();
        if self.calls >= MAX_CALL_NESTING {
            return Err(self.error_at(
                column,
                format!("more than {MAX_CALL_NESTING} nested function calls"),
            ));
        }
        self.calls += 1;
        let args = self.list(Tok::RParen);
        self.calls -= 1;
        let (args, height) = args?;
        let arity = function.arity();
        if !arity.accepts(args.len()) {
            return Err(self.error_at(
                column,
                format!("{name} expects {arity}, got {}", args.len()),
            ));
        }
        self.node(Expr::Call(function, args), height + 1, column)
    }

    /// `[a, b, …]`; the `[` is consumed.
    fn array(&mut self, column: usize) -> Result<Node, ExprSyntaxError> {
        let (items, height) = self.list(Tok::RBracket)?;
        self.node(Expr::Array(items), height + 1, column)
    }

    /// Comma-separated expressions up to `close` (consumed), and their greatest height.
    fn list(&mut self, close: Tok) -> Result<(Vec<Expr>, usize), ExprSyntaxError> {
        let mut items = Vec::new();
        let mut height = 0;
        if *self.peek() == close {
            self.advance();
            return Ok((items, height));
        }
        loop {
            let item = self.expression()?;
            height = height.max(item.height);
            items.push(item.expr);
            if *self.peek() == Tok::Comma {
                self.advance();
                continue;
            }
            self.expect(close)?;
            return Ok((items, height));
        }
    }

    /// `{"key": value, name: value, …}`; the `{` is consumed.
    fn object(&mut self, column: usize) -> Result<Node, ExprSyntaxError> {
        let mut fields: Vec<(String, Expr)> = Vec::new();
        let mut height = 0;
        if *self.peek() == Tok::RBrace {
            self.advance();
            return self.node(Expr::Object(fields), 1, column);
        }
        loop {
            let key_column = self.column();
            let key = match self.advance() {
                Tok::Str(key) | Tok::Word(key) => key,
                other => {
                    return Err(self.error_at(
                        key_column,
                        format!("expected a key, found {}", other.describe()),
                    ));
                }
            };
            if fields.iter().any(|(k, _)| *k == key) {
                return Err(self.error_at(key_column, format!("duplicate key '{key}'")));
            }
            self.expect(Tok::Colon)?;
            let value = self.expression()?;
            height = height.max(value.height);
            fields.push((key, value.expr));
            if *self.peek() == Tok::Comma {
                self.advance();
                continue;
            }
            self.expect(Tok::RBrace)?;
            return self.node(Expr::Object(fields), height + 1, column);
        }
    }
}

fn literal(value: Value) -> Node {
    Node {
        expr: Expr::Literal(value),
        height: 1,
    }
}

fn binary_op(tok: &Tok) -> Option<BinaryOp> {
    Some(match tok {
        Tok::OrOr => BinaryOp::Or,
        Tok::AndAnd => BinaryOp::And,
        Tok::EqEq => BinaryOp::Eq,
        Tok::NotEq => BinaryOp::Ne,
        Tok::Lt => BinaryOp::Lt,
        Tok::Le => BinaryOp::Le,
        Tok::Gt => BinaryOp::Gt,
        Tok::Ge => BinaryOp::Ge,
        Tok::Word(w) if w == "in" => BinaryOp::In,
        Tok::Plus => BinaryOp::Add,
        Tok::Minus => BinaryOp::Sub,
        Tok::Star => BinaryOp::Mul,
        Tok::Slash => BinaryOp::Div,
        Tok::Percent => BinaryOp::Mod,
        _ => return None,
    })
}

/// `||` < `&&` < `== !=` < `< <= > >= in` < `+ -` < `* / %` (unary operators bind tighter).
fn binary_precedence(op: BinaryOp) -> u8 {
    match op {
        BinaryOp::Or => 1,
        BinaryOp::And => 2,
        BinaryOp::Eq | BinaryOp::Ne => 3,
        BinaryOp::Lt | BinaryOp::Le | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::In => 4,
        BinaryOp::Add | BinaryOp::Sub => 5,
        BinaryOp::Mul | BinaryOp::Div | BinaryOp::Mod => 6,
    }
}
