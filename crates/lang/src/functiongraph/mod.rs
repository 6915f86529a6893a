//! Huawei FunctionGraph workflow definitions, compiled to the same IR as CloudFlow's.
//!
//! - [`v2`]: the current API's `WorkflowCreateBody` JSON (`Operation`, `Sleep`, `End`).
//! - [`v1`]: the legacy v1.0 `cloud_graphs` definition (`EVENT`, `OPERATION`, `SWITCH`,
//!   `DELAY`, `NOOP`, `END`).

mod v1;
mod v2;

use sluice_ir::{FunctionRef, Invocation};

pub use v1::parse_v1;
pub use v2::parse_v2;

/// The function a URN names: `urn:fss:<region>:<project>:function:<package>:<name>[:<version>]`
/// (`latest`, or no version, is the unqualified function).
fn function_of(urn: &str) -> Option<FunctionRef> {
    match urn.split(':').collect::<Vec<_>>().as_slice() {
        ["urn", "fss", _, _, "function", package, name, version @ ..]
            if version.len() <= 1 && !package.is_empty() && !name.is_empty() =>
        {
            Some(FunctionRef {
                service: (*package).to_string(),
                qualifier: version
                    .first()
                    .map(|v| (*v).to_string())
                    .filter(|v| v != "latest" && !v.is_empty()),
                function: (*name).to_string(),
                invocation: Invocation::Sync,
            })
        }
        _ => None,
    }
}
