//! The toolkit every definition language's front end is built from: a located document
//! ([`crate::doc`]) goes in, a [`sluice_ir::Flow`] or every located problem comes out.
//!
//! - [`Problems`]: collects the problems of one definition, so all are reported at once.
//! - [`Fields`]: a map node as named fields; unknown fields refused with a suggestion
//!   ([`one_of`] does the same for a word out of a list).
//! - [`ScopeNames`], [`checked_name`], [`registered_name`]: state names and their resolution.
//! - [`Arena`]: states reserved by name, filled in later, checked for reachability.
//! - [`expr_at`]: an expression string parsed by one syntax, its errors located in the document.
//! - [`item_batcher`]: an `ItemBatcher`, spelled alike by both languages that have one.
//! - [`csv_delimiter`], [`csv_headers`]: the CSV fields of item readers.
//! - [`locate`]: a problem pointed at the field it is about, as a front end descends.
//! - [`build_retrier`]: a retry rule, whatever a language calls its fields ([`RetrySyntax`]).
//!
//! A language module keeps only what is its own: its forms, fields, limits and words.

mod arena;
mod batcher;
mod csv;
mod exprs;
mod fields;
mod names;
mod pointer;
mod problems;
mod retry;
mod suggest;

pub(crate) use arena::{Arena, StateBody};
pub(crate) use batcher::{ITEM_BATCHER_FIELDS, item_batcher};
pub(crate) use csv::{csv_delimiter, csv_headers};
pub(crate) use exprs::{ExprParser, expr_at};
pub(crate) use fields::Fields;
pub(crate) use names::{ScopeNames, Slot, checked_name, registered_name};
pub(crate) use pointer::locate;
pub(crate) use problems::Problems;
pub(crate) use retry::{DEFAULT_BACKOFF_RATE, RetrySyntax, build_retrier, error_names};
pub(crate) use suggest::one_of;
