//! The expression layer of the Amazon States Language: what its two query languages compute,
//! as pure functions over JSON values, for the ASL front end (`sluice-lang`) to compile into
//! and the engine to run.
//!
//! - JSONPath (the default query language): [`Path`] (paths, reference paths, `$$`, `$var`),
//!   [`SelectPath`] (`InputPath`, `OutputPath`), [`ResultPath`], [`PayloadTemplate`]
//!   (`Parameters`, `ResultSelector`, `ItemSelector`, JSONPath `Assign`, with `.$` keys) and
//!   [`Intrinsic`] calls (`States.Format(…)` …), and Choice [`Rule`]s.
//! - JSONata: [`JsonataTemplate`] (`Arguments`, `Output`, `Assign`, any field with
//!   `{% … %}` strings), evaluated with `$states`, the variables and AWS's added functions.
//!
//! Everything is parsed once per flow revision and evaluated against a [`Scope`]; failures
//! are [`AslError`]s carrying AWS's error names and cause texts. Randomness and the clock are
//! inputs of the scope ([`crate::expr::Entropy`], [`Scope::with_now`]), so evaluation is
//! deterministic.

mod error;
mod intrinsic;
mod intrinsic_parse;
mod io;
mod jsonata;
mod path;
mod rule;
mod scope;
mod template;

pub use error::{
    AslError, QueryFailure, QueryProblem, STATES_INTRINSIC_FAILURE, STATES_QUERY_EVALUATION_ERROR,
    STATES_RESULT_PATH_MATCH_FAILURE, STATES_RUNTIME, json_type,
};
pub use intrinsic::{Arg, Call, Intrinsic};
pub use intrinsic_parse::IntrinsicParseError;
pub use io::{Placed, ResultPath, SelectPath};
pub use jsonata::{JsonataError, JsonataExpr, JsonataTemplate};
pub use path::{Path, PathError, PathRoot, Step};
pub use rule::{
    Comparison, Kind, Operand, Relation, Rule, TYPE_TESTS, TypeTest, is_timestamp, string_matches,
};
pub use scope::{Scope, Variables};
pub use template::{PayloadTemplate, TemplateError};
