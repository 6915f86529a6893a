//! Definitions by dialect: the front end that compiles a dialect's definitions, and the
//! dialect a definition's text is written for.

use sluice_ir::{Dialect, Flow};

use crate::doc::{Node, NodeKind, parse_document};
use crate::error::DefinitionError;
use crate::{asl, cloudflow, dataarts, functiongraph};

/// Compiles a definition of `dialect` into the IR; the error lists every located problem.
pub fn compile(dialect: Dialect, text: &str) -> Result<Flow, DefinitionError> {
    match dialect {
        Dialect::CloudFlow => cloudflow::parse(text),
        Dialect::FunctionGraphV2 => functiongraph::parse_v2(text),
        Dialect::FunctionGraphV1 => functiongraph::parse_v1(text),
        Dialect::DataArts => dataarts::parse(text),
        Dialect::Asl => asl::parse(text),
    }
}

/// The dialect a definition is written for, told by its top-level fields alone (the way
/// `sluice run` picks a language); `None` when the text is no map or no dialect's shape fits.
///
/// - ASL: `StartAt`, and `States` as a map.
/// - CloudFlow: `Type` (`StateMachine`), `type` (`flow`), or `version` with `steps`.
/// - DataArts: `nodes`.
/// - FunctionGraph v1.0: `event-defs`, or `states` as a map of named states.
/// - FunctionGraph v2: `start`, and `states` as a list.
pub fn detect(text: &str) -> Option<Dialect> {
    let root = parse_document(text).ok()?;
    let NodeKind::Map(_) = root.kind else {
        return None;
    };
    if asl::looks_like(&root) {
        return Some(Dialect::Asl);
    }
    let has = |key: &str| root.get(key).is_some();
    if has("Type") || has("type") || (has("version") && has("steps")) {
        return Some(Dialect::CloudFlow);
    }
    if has("nodes") {
        return Some(Dialect::DataArts);
    }
    if has("event-defs") {
        return Some(Dialect::FunctionGraphV1);
    }
    match root.get("states").map(|n: &Node| &n.kind) {
        Some(NodeKind::Map(_)) => Some(Dialect::FunctionGraphV1),
        Some(NodeKind::Seq(_)) if has("start") => Some(Dialect::FunctionGraphV2),
        _ => None,
    }
}
