//! Huawei FunctionGraph workflow definitions, compiled to the same IR as CloudFlow's.
//!
//! - [`v2`]: the current API's `WorkflowCreateBody` JSON (`Operation`, `Sleep`, `End`).

mod v2;

pub use v2::parse_v2;
