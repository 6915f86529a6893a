//! Definition languages by dialect: which front end compiles a stored definition.

use sluice_ir::Flow;

/// The dialect name of flows created through the CloudFlow API.
pub const CLOUDFLOW: &str = "cloudflow";
/// Flows created through the FunctionGraph v2 workflow API (`WorkflowCreateBody` JSON).
pub const FUNCTIONGRAPH_V2: &str = "functiongraph-v2";
/// Flows created through the legacy FunctionGraph v1.0 `cloud_graphs` API.
pub const FUNCTIONGRAPH_V1: &str = "functiongraph-v1";
/// Jobs created through the DataArts Factory API (`JobInfo` JSON).
pub const DATAARTS: &str = "dataarts";

/// Compiles a definition of `dialect` into the IR; the error lists every located problem.
pub fn compile(dialect: &str, text: &str) -> Result<Flow, String> {
    match dialect {
        CLOUDFLOW => sluice_lang::cloudflow::parse(text).map_err(|e| e.to_string()),
        FUNCTIONGRAPH_V2 => sluice_lang::functiongraph::parse_v2(text).map_err(|e| e.to_string()),
        DATAARTS => sluice_lang::dataarts::parse(text).map_err(|e| e.to_string()),
        FUNCTIONGRAPH_V1 => sluice_lang::functiongraph::parse_v1(text).map_err(|e| e.to_string()),
        other => Err(format!("unknown definition dialect {other:?}")),
    }
}
