//! `GET /api/v1/flows/{flow}/graph`: a flow's definition as nodes and edges, whatever its
//! language (the service reads it off the compiled IR); the console lays it out.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Serialize;
use sluice_service::{FlowGraph, Service};
use utoipa::ToSchema;

use super::auth::{Action, auth};
use super::problem::Problem;

/// The definition as a graph.
#[derive(Debug, Serialize, ToSchema)]
pub struct Graph {
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// A state, or a Parallel branch (`Branch`) or Map processor (`Processor`) holding states.
#[derive(Debug, Serialize, ToSchema)]
pub struct Node {
    /// Unique in the graph: the enclosing nodes' ids and the name, joined by `/`.
    pub id: String,
    /// The state's name, as its runs in the execution name it.
    pub name: String,
    /// `Task`, `Choice`, `Parallel`, `Map`, `Dag`, `Wait`, `Pass`, `Succeed`, `Fail`,
    /// `Branch` or `Processor`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The node this one is inside (a Parallel's branch, a branch's states, a Map's
    /// processor, a Dag's nodes); none at the top level.
    pub parent: Option<String>,
}

/// A transition: a `Next`, a Choice's `case N` or `default`, a `catch`, a Dag predecessor.
#[derive(Debug, Serialize, ToSchema)]
pub struct Edge {
    pub from: String,
    pub to: String,
    pub label: String,
}

impl Graph {
    fn of(graph: FlowGraph) -> Self {
        Graph {
            nodes: graph
                .nodes
                .into_iter()
                .map(|n| Node {
                    id: n.id,
                    name: n.name,
                    kind: n.kind,
                    parent: n.parent,
                })
                .collect(),
            edges: graph
                .edges
                .into_iter()
                .map(|e| Edge {
                    from: e.from,
                    to: e.to,
                    label: e.label,
                })
                .collect(),
        }
    }
}

/// The flow's current definition as a graph.
#[utoipa::path(get, operation_id = "GetFlowGraph", path = "/api/v1/flows/{flow}/graph", tag = "flows",
    params(("flow" = String, Path, description = "the flow's name")),
    responses((status = 200, body = Graph, description = "ok"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "a problem")))]
pub async fn graph(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    Path(flow): Path<String>,
) -> Result<Json<Graph>, Problem> {
    let caller = auth(&service, &headers, Action::DescribeFlow)?;
    Ok(Json(Graph::of(service.flow_graph(&caller, &flow).await?)))
}
