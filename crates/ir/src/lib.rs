//! The intermediate representation (IR) of sluice.
//!
//! Every definition language (CloudFlow FDL, its legacy "steps" form, and later the Huawei
//! languages) compiles into a [`flow::Flow`]; every expression syntax compiles into one
//! [`expr::Expr`] AST with one evaluator. The engine only ever sees these types, which is what
//! lets a new language arrive without touching the engine.

pub mod asl;
pub mod dialect;
pub mod error;
pub mod expr;
pub mod flow;
pub mod names;
pub mod nested;
pub mod objects;
pub mod template;

pub use asl::{
    AslData, AslEnv, AslTemplate, AslValue, QueryLanguage, asl_error, asl_error_name,
    asl_state_error,
};
pub use dialect::{Dialect, DocumentedLimits};
pub use error::{ErrorCode, TaskError};
pub use expr::{Env, EvalError, Expr};
pub use flow::*;
pub use names::*;
pub use objects::{ItemReader, Operand, ResultWriter};
pub use template::Template;
