//! `GET /api/v1/events`: Server-Sent Events of the caller's executions as their steps commit
//! on any node: `execution` when one starts, ends or is retried, `state` when a state or
//! node is entered or exited, `lagged` when the stream fell behind and missed some.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::{Stream, StreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::json;
use sluice_service::views::{EventType, Progress, Status};
use sluice_service::{Service, Watched};
use utoipa::{IntoParams, ToSchema};

use super::auth::{Action, auth};
use super::problem::Problem;
use super::query::Params;
use super::wire::{ExecutionStatus, time};

/// Which executions to follow.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct EventQuery {
    /// Only this flow's executions.
    pub flow: Option<String>,
    /// Only this execution (of `flow`).
    pub execution: Option<String>,
}

/// The data of an `execution` event.
#[derive(Debug, Serialize, ToSchema)]
pub struct ExecutionChange {
    pub flow: String,
    pub execution: String,
    pub status: ExecutionStatus,
    pub time: String,
}

/// The data of a `state` event.
#[derive(Debug, Serialize, ToSchema)]
pub struct StateChange {
    pub flow: String,
    pub execution: String,
    pub state: String,
    /// `entered`, `exited` or `failed`.
    pub change: &'static str,
    pub time: String,
    /// The history event's id.
    pub event_id: u64,
}

/// The stream of execution and state changes (`text/event-stream`).
#[utoipa::path(get, operation_id = "WatchEvents", path = "/api/v1/events", tag = "events", params(EventQuery),
    responses((status = 200, content_type = "text/event-stream",
        description = "`execution` events (ExecutionChange), `state` events (StateChange)"),
        (status = "4XX", body = Problem, content_type = "application/problem+json", description = "a problem")))]
pub async fn stream(
    State(service): State<Arc<Service>>,
    headers: HeaderMap,
    Params(query): Params<EventQuery>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, Problem> {
    let caller = auth(&service, &headers, Action::WatchEvents)?;
    if query.execution.is_some() && query.flow.is_none() {
        return Err(Problem::bad_request("execution needs its flow"));
    }
    if let Some(flow) = &query.flow {
        // Another tenant's flow, or none: 404, as for every other route.
        service.describe_flow(&caller, flow).await?;
    }
    let watch = service.watch(&caller);
    let events = stream::unfold((watch, Filter(query)), |(mut watch, filter)| async move {
        loop {
            let events = match watch.next().await? {
                Watched::Step(step) => filter.events(&step),
                Watched::Missed(missed) => vec![lagged(missed)],
            };
            if !events.is_empty() {
                return Some((stream::iter(events), (watch, filter)));
            }
        }
    })
    .flatten()
    .map(Ok);
    Ok(Sse::new(events).keep_alive(KeepAlive::default()))
}

/// Which of the caller's executions a stream follows.
struct Filter(EventQuery);

impl Filter {
    fn follows(&self, step: &Progress) -> bool {
        let Filter(query) = self;
        query
            .flow
            .as_deref()
            .is_none_or(|f| f == step.flow.as_str())
            && query
                .execution
                .as_deref()
                .is_none_or(|e| e == step.execution.as_str())
    }

    fn events(&self, step: &Progress) -> Vec<Event> {
        if !self.follows(step) {
            return Vec::new();
        }
        step.events
            .iter()
            .filter_map(|event| {
                let change = match event.kind {
                    EventType::StepEntered => "entered",
                    EventType::StepExited => "exited",
                    EventType::StepFailed => "failed",
                    EventType::ExecutionStarted
                    | EventType::ExecutionRetried
                    | EventType::ExecutionRedriven
                    | EventType::ExecutionSucceeded
                    | EventType::ExecutionFailed
                    | EventType::ExecutionTimedOut
                    | EventType::ExecutionStopped => {
                        // One step may start and end an execution: each event says its own.
                        let status = match event.kind {
                            EventType::ExecutionSucceeded => Status::Succeeded,
                            EventType::ExecutionFailed => Status::Failed,
                            EventType::ExecutionTimedOut => Status::TimedOut,
                            EventType::ExecutionStopped => Status::Stopped,
                            _ => Status::Running,
                        };
                        let change = ExecutionChange {
                            flow: step.flow.to_string(),
                            execution: step.execution.to_string(),
                            status: ExecutionStatus::of(status),
                            time: time(event.time),
                        };
                        return Event::default().event("execution").json_data(change).ok();
                    }
                    _ => return None,
                };
                let change = StateChange {
                    flow: step.flow.to_string(),
                    execution: step.execution.to_string(),
                    state: event
                        .step
                        .as_ref()
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    change,
                    time: time(event.time),
                    event_id: event.id.0,
                };
                Event::default().event("state").json_data(change).ok()
            })
            .collect()
    }
}

fn lagged(missed: u64) -> Event {
    Event::default()
        .event("lagged")
        .data(json!({ "missed": missed }).to_string())
}
