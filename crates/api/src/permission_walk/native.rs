//! The native API's part of the walk: a request of every route under `/api/v1` (but the
//! OpenAPI document, which is public), with HTTP Basic credentials, each naming its `sluice:`
//! permission (`Action`), refused as an RFC 9457 problem with status 403.

use axum::http::Method;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use super::{Fixtures, NAME, SECRET, Server, answer};
use crate::native::Action;

/// One request of a native route and the permission it needs.
pub(super) struct NativeRoute {
    pub method: Method,
    pub path: String,
    pub body: Option<Value>,
    pub action: Action,
}

/// A request of every route, naming what the populated server holds.
pub(super) fn routes(f: &Fixtures) -> Vec<NativeRoute> {
    let route = |method: Method, path: String, body: Option<Value>, action: Action| NativeRoute {
        method,
        path: format!("/api/v1{path}"),
        body,
        action,
    };
    let execution = format!("/flows/{NAME}/executions/{NAME}");
    vec![
        route(Method::GET, "/flows".into(), None, Action::ListFlows),
        route(
            Method::GET,
            format!("/flows/{NAME}"),
            None,
            Action::DescribeFlow,
        ),
        route(
            Method::GET,
            format!("/flows/{NAME}/graph"),
            None,
            Action::DescribeFlow,
        ),
        route(
            Method::GET,
            "/executions".into(),
            None,
            Action::ListExecutions,
        ),
        route(
            Method::POST,
            format!("/flows/{NAME}/executions"),
            Some(json!({"name": "another", "input": {}})),
            Action::StartExecution,
        ),
        route(
            Method::GET,
            execution.clone(),
            None,
            Action::DescribeExecution,
        ),
        route(
            Method::GET,
            format!("{execution}/history"),
            None,
            Action::GetExecutionHistory,
        ),
        route(
            Method::POST,
            format!("{execution}/stop"),
            Some(json!({})),
            Action::StopExecution,
        ),
        route(
            Method::POST,
            format!("{execution}/redrive"),
            Some(json!({})),
            Action::RedriveExecution,
        ),
        route(
            Method::POST,
            "/stop-jobs".into(),
            Some(json!({"filter": {"flow": NAME}})),
            Action::StartStopJob,
        ),
        route(Method::GET, "/jobs".into(), None, Action::ListJobs),
        route(
            Method::GET,
            format!("/jobs/{}", f.ges_job),
            None,
            Action::DescribeJob,
        ),
        route(
            Method::GET,
            "/schedules".into(),
            None,
            Action::ListSchedules,
        ),
        route(Method::GET, "/events".into(), None, Action::WatchEvents),
    ]
}

impl Server {
    /// Sends a native API request with `key`'s HTTP Basic credentials.
    pub(super) async fn native(&self, key: &str, route: &NativeRoute) -> (u16, Value) {
        let credentials = STANDARD.encode(format!("{key}:{SECRET}"));
        let url = format!("http://{}{}", self.addr, route.path);
        let mut request = self
            .http
            .request(route.method.clone(), url)
            .header("authorization", format!("Basic {credentials}"));
        if let Some(body) = &route.body {
            request = request
                .header("content-type", "application/json")
                .body(body.to_string());
        }
        let response = request.send().await.expect("an answer");
        let problem = response
            .headers()
            .get("content-type")
            .is_some_and(|t| t.as_bytes().starts_with(b"application/problem+json"));
        let (status, body) = answer(response).await;
        assert!(
            status < 400 || problem,
            "{} {}: a problem+json answer expected, got {status} {body}",
            route.method,
            route.path
        );
        (status, body)
    }
}
