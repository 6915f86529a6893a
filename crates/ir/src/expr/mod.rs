//! The one expression language of sluice: an AST every language's expression syntax parses
//! into, and one evaluator.
//!
//! Parsers for the concrete syntaxes (CloudFlow `$Input.x`, legacy `$.x` / `$local`, and later
//! FunctionGraph JsonPath) live in `sluice-lang`; they all produce [`Expr`].
//!
//! Evaluation is pure and deterministic: `randomInt` and `uuid` draw from a generator seeded by
//! the caller ([`Env::seed`]), so replaying an execution gives the same values.

pub mod asl;
mod ast;
mod digest;
mod eval;
mod functions;
mod ops;
mod random;

pub use ast::*;
pub use digest::HashAlgorithm;
pub use eval::{Env, EvalError};
pub use functions::{Arity, Function};
pub use random::Entropy;
