//! Expressions written as strings in the document, parsed by one syntax and located in it.

use sluice_ir::Expr;

use crate::doc::Node;
use crate::error::Problem;
use crate::expr::ExprSyntaxError;

/// An expression parser of one syntax (CloudFlow `$Input`, legacy `$.x`).
pub(crate) type ExprParser = fn(&str) -> Result<Expr, ExprSyntaxError>;

/// Parses the string `node` as an expression; syntax errors point into the string.
pub(crate) fn expr_at(node: &Node, parser: ExprParser) -> Result<Expr, Problem> {
    let source = node.as_str()?;
    parser(source).map_err(|e| {
        // The expression parser counts columns from 1 within the expression text.
        let offset = u64::try_from(e.column.saturating_sub(1)).unwrap_or(0);
        Problem::at(
            node.text_loc().right(offset),
            format!("invalid expression {source:?}: {}", e.message),
        )
    })
}
