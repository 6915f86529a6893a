//! Definition languages: text to the sluice IR, with located errors.
//!
//! - [`doc`]: YAML/JSON text to a located tree.
//! - `frontend`: the toolkit every language is built from (arena, fields, names, retry rules).
//! - [`asl`]: the Amazon States Language (JSON or YAML) to the same IR.
//! - [`cloudflow`]: CloudFlow definitions (the `Type: StateMachine` form and the legacy
//!   `type: flow` steps form) to a [`sluice_ir::Flow`].
//! - [`dataarts`]: DataArts Factory jobs (node DAGs) to the same IR.
//! - [`functiongraph`]: Huawei FunctionGraph workflow definitions (v2 and v1.0) to the same IR.
//! - [`error`]: [`DefinitionError`], a list of located [`Problem`]s.
//! - [`dialect`]: [`compile`] a definition of a [`Dialect`] ([`check`] it: its warnings too),
//!   or [`detect`] the dialect of a text.

pub mod asl;
pub mod cloudflow;
pub mod dataarts;
pub mod dialect;
pub mod doc;
pub mod error;
pub mod expr;
mod frontend;
pub mod functiongraph;

pub use dialect::{Checked, check, compile, detect};
pub use error::{DefinitionError, Pointer, Problem, ProblemKind, Step};
pub use sluice_ir::Dialect;
