//! Expression syntaxes: CloudFlow (`$Input.a`, built-in functions, Choice conditions) and the
//! legacy Serverless Workflow form (`$.a`, `$local`, `$context`). Both are parsed by one
//! precedence-climbing parser into the shared [`sluice_ir::Expr`].

mod cloudflow;
mod legacy;
mod lexer;
mod parser;

#[cfg(test)]
mod fuzz_tests;

pub use cloudflow::parse_cloudflow;
pub use legacy::parse_legacy;

/// Why an expression does not parse, located by its 1-based column in characters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column}: {message}")]
pub struct ExprSyntaxError {
    pub column: usize,
    pub message: String,
}
