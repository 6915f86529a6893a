//! Definitions by dialect: the front end that compiles a dialect's definitions, and the
//! dialect a definition's text is written for.

use sluice_ir::{Dialect, Flow};

use crate::doc::{Node, NodeKind, parse_document};
use crate::error::{DefinitionError, Problem};
use crate::{asl, cloudflow, dataarts, functiongraph};

/// Compiles a definition of `dialect` into the IR; the error lists every located problem.
pub fn compile(dialect: Dialect, text: &str) -> Result<Flow, DefinitionError> {
    check(dialect, text).flow
}

/// A definition compiled, with what its language warns of in a definition it accepts.
#[derive(Debug, Clone)]
pub struct Checked {
    pub flow: Result<Flow, DefinitionError>,
    /// Located problems of a warning [`crate::ProblemKind`], in document order (ASL's only).
    pub warnings: Vec<Problem>,
}

impl From<Result<Flow, DefinitionError>> for Checked {
    fn from(flow: Result<Flow, DefinitionError>) -> Self {
        Self {
            flow,
            warnings: Vec::new(),
        }
    }
}

/// Compiles a definition of `dialect` and gathers its warnings.
pub fn check(dialect: Dialect, text: &str) -> Checked {
    on_ample_stack(|| match dialect {
        Dialect::CloudFlow => cloudflow::parse(text).into(),
        Dialect::FunctionGraphV2 => functiongraph::parse_v2(text).into(),
        Dialect::FunctionGraphV1 => functiongraph::parse_v1(text).into(),
        Dialect::DataArts => dataarts::parse(text).into(),
        Dialect::Asl => asl::check(text),
    })
}

/// The stack a definition is read and compiled on at least: the parser and every front end
/// recurse once per level of the document (at most [`crate::doc::MAX_DEPTH`]) and of its
/// scopes, and a debug build's frames are large enough that a document 45 levels deep
/// overflowed a 2 MiB thread (tokio's workers' size) and aborted the server.
const AMPLE_STACK: usize = 8 * 1024 * 1024;

/// Runs `f` where [`AMPLE_STACK`] is left, on a stack of its own if this thread's has less.
fn on_ample_stack<T>(f: impl FnOnce() -> T) -> T {
    stacker::maybe_grow(AMPLE_STACK, AMPLE_STACK, f)
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
    let root = on_ample_stack(|| parse_document(text)).ok()?;
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
