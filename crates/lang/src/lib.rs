//! Definition languages.
pub mod expr;
