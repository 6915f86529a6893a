//! Alibaba Cloud CloudFlow (Serverless Workflow), API `fnf` 2019-03-15: RPC style, every
//! action on `/` with `Action` and `Version` parameters, signed with HMAC-SHA1.
//!
//! A request goes `params` (query and form merged) → signature check → `request` (typed,
//! validated) → `dispatch` (service call) → `render` (the success body) or `error` (the error
//! body, with the one mapping from service errors to CloudFlow codes).

mod dispatch;
pub mod error;
mod handler;
pub mod params;
pub mod render;
pub mod request;

pub use handler::{handle, internal_error, new_request_id};
