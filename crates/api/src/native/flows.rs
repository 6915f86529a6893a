//! `GET /api/v1/flows`, `GET /api/v1/flows/{flow}`.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use sluice_service::{Listing, Service, page_cursor, page_token};

use super::auth::{Action, auth};
use super::problem::Problem;
use super::query::{Paging, Params};
use super::wire::{Flow, FlowDetail, FlowPage};

/// The caller's flows, by name.
#[utoipa::path(get, operation_id = "ListFlows", path = "/api/v1/flows", params(Paging), tag = "flows",
    responses((status = 200, body = FlowPage, description = "ok"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "a problem")))]
pub async fn list(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    Params(paging): Params<Paging>,
) -> Result<Json<FlowPage>, Problem> {
    let caller = auth(&service, &headers, Action::ListFlows)?;
    let limit = paging.limit()?;
    let after = match &paging.page_token {
        Some(token) => Some(page_cursor(Listing::Flows, token)?),
        None => None,
    };
    let flows = service.list_flows(&caller, after.as_deref(), limit).await?;
    let next_page_token = flows
        .last()
        .filter(|_| flows.len() == limit)
        .map(|last| page_token(Listing::Flows, last.name.as_str()));
    Ok(Json(FlowPage {
        flows: flows.iter().map(Flow::of).collect(),
        next_page_token,
    }))
}

/// A flow and its definition.
#[utoipa::path(get, operation_id = "DescribeFlow", path = "/api/v1/flows/{flow}", tag = "flows",
    params(("flow" = String, Path, description = "the flow's name")),
    responses((status = 200, body = FlowDetail, description = "ok"), (status = "4XX", body = Problem, content_type = "application/problem+json", description = "a problem")))]
pub async fn describe(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    Path(flow): Path<String>,
) -> Result<Json<FlowDetail>, Problem> {
    let caller = auth(&service, &headers, Action::DescribeFlow)?;
    let flow = service.describe_flow(&caller, &flow).await?;
    Ok(Json(FlowDetail {
        flow: Flow::of(&flow),
        description: flow.description.clone(),
        definition: flow.definition.clone(),
    }))
}
