//! The Huawei Cloud dialects. They share one request shape: REST paths under a project id,
//! AK/SK signatures (SDK-HMAC-SHA256, checked here once for all of them), `X-Request-Id` on
//! every answer, and errors as a JSON object with a code and a message whose key names differ
//! per service. Each service is a module: `functiongraph` (workflows v2), `cloud_graphs`
//! (FunctionGraph's legacy v1.0 workflows), `dataarts` (Factory
//! jobs and instances), `ges` (graph lifecycle and jobs).
//!
//! Flow: [`handle`] finds the service by the path's shape ([`route`]), authenticates (the
//! signature, then that the path's project belongs to the key's tenant), has the service
//! module decode the request into its typed [`Call`] (route, query and body: nothing is read
//! from the request after this), checks the call's permission (a refusal in the service's
//! codes) and has the module run it. The module answers a [`Reply`] or a [`HuaweiError`] it
//! built from a `ServiceError` in its one mapping function.

/// Declares a service's `Call`, what a request asks, typed: each variant after the permission
/// a key needs for it (`"dlf:job:get" => ShowJob { job: String }`), with `Action`, one per
/// variant (the lists of routes and permissions), and `Call::permission`.
macro_rules! calls {
    (
        $(#[$meta:meta])*
        pub enum Call {
            $($(#[$doc:meta])* $permission:literal => $variant:ident $($fields:tt)?),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, strum::EnumDiscriminants)]
        #[strum_discriminants(name(Action), derive(strum::IntoStaticStr, strum::VariantArray))]
        pub enum Call {
            $(
                $(#[$doc])*
                #[strum_discriminants(strum(serialize = $permission))]
                $variant $($fields)?,
            )+
        }

        impl Call {
            /// The permission a key needs for this call.
            pub fn permission(&self) -> &'static str {
                Action::from(self).into()
            }
        }
    };
}

pub mod cloud_graphs;
pub mod dataarts;
pub mod functiongraph;
pub mod ges;
mod wire;

use std::sync::Arc;

use axum::http::{HeaderMap, Method};
use serde::de::DeserializeOwned;
use serde_json::Value;
use sluice_service::views::{
    ExecutionQuery, ExecutionSummary, ExecutionView, FlowQuery, FlowView, Millis,
};
use sluice_service::{Caller, Listed, Service, ServiceError, StartRequest};

pub use wire::{ErrorShape, HuaweiError, Reply, StatusWords};

use crate::Answer;
use crate::signature::huawei as signature;

pub use crate::Incoming;

/// A request for one service: the path after the service's root, decoded, and only what the
/// signature covers: the query in its signed order, the signed headers (none until the request
/// is authenticated).
pub struct Routed<'a> {
    pub method: &'a Method,
    pub rest: Vec<String>,
    pub query: Vec<(String, String)>,
    headers: &'a HeaderMap,
    signed_headers: Vec<String>,
    pub body: &'a [u8],
}

impl Routed<'_> {
    /// The last value of a query parameter, if present and not empty.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .rev()
            .find(|(k, v)| k == name && !v.is_empty())
            .map(|(_, v)| v.as_str())
    }

    /// A signed request header's text, trimmed as the signature saw it, if present and not
    /// empty. An unsigned header is never read: it could change what a signed request means.
    pub fn header(&self, name: &str) -> Option<&str> {
        if !self
            .signed_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            return None;
        }
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|v| !v.is_empty())
    }

    /// A whole-number query parameter within `range`, `default` when absent.
    pub fn number(
        &self,
        name: &str,
        default: usize,
        range: std::ops::RangeInclusive<usize>,
    ) -> Result<usize, String> {
        match self.query_param(name) {
            None => Ok(default),
            Some(text) => text
                .parse::<usize>()
                .ok()
                .filter(|n| range.contains(n))
                .ok_or_else(|| {
                    format!(
                        "{name} must be a whole number from {} to {}, not {text:?}",
                        range.start(),
                        range.end()
                    )
                }),
        }
    }

    /// `offset` (from 0) and `limit` (1 to `max_limit`) of a listing.
    pub fn offset_page(
        &self,
        default_limit: usize,
        max_limit: usize,
    ) -> Result<Page, ServiceError> {
        let offset = self.number("offset", 0, 0..=usize::MAX);
        let limit = self.number("limit", default_limit, 1..=max_limit);
        offset
            .and_then(|offset| limit.map(|limit| Page { offset, limit }))
            .map_err(ServiceError::InvalidArgument)
    }

    pub fn rest(&self) -> Vec<&str> {
        self.rest.iter().map(String::as_str).collect()
    }

    /// The JSON body as a `T`; an empty body is `{}` (every field absent).
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, BodyError> {
        let body = if self.body.iter().all(u8::is_ascii_whitespace) {
            b"{}".as_slice()
        } else {
            self.body
        };
        serde_json::from_slice(body).map_err(BodyError)
    }
}

/// Why a body could not be decoded: it is not JSON, or not the JSON the call takes.
#[derive(Debug)]
pub struct BodyError(serde_json::Error);

impl BodyError {
    /// Not JSON at all (rather than JSON of the wrong shape).
    pub fn is_malformed(&self) -> bool {
        !self.0.is_data()
    }
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.is_malformed() {
            write!(f, "the body is not valid JSON: {}", self.0)
        } else {
            write!(f, "the body is not what the call takes: {}", self.0)
        }
    }
}

impl From<BodyError> for ServiceError {
    fn from(e: BodyError) -> Self {
        ServiceError::InvalidArgument(e.to_string())
    }
}

/// The time window of a query: epoch milliseconds, either end open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub from: Option<Millis>,
    pub to: Option<Millis>,
}

/// Which part of a listing to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Page {
    /// From 0.
    pub offset: usize,
    pub limit: usize,
}

impl Page {
    /// The same page of a store query.
    pub fn store_page<K>(self) -> sluice_service::views::Page<K> {
        sluice_service::views::Page::offset(self.offset, self.limit)
    }
}

/// What the handlers of one request run with: the service, the caller, and the name that
/// scopes the request within the caller's tenant (the path's project; DataArts' workspace).
/// `Api` is the `Call` of the service whose handlers these are, so that each service has its
/// own methods on its own `Handlers` (`functiongraph::Workflows`, `cloud_graphs::Graphs`,
/// `dataarts::Jobs`).
pub struct Handlers<'a, Api> {
    pub service: &'a Arc<Service>,
    pub caller: &'a Caller,
    pub scope: &'a str,
    api: std::marker::PhantomData<Api>,
}

impl<'a, Api> Handlers<'a, Api> {
    pub fn new(service: &'a Arc<Service>, caller: &'a Caller, scope: &'a str) -> Self {
        Handlers {
            service,
            caller,
            scope,
            api: std::marker::PhantomData,
        }
    }

    /// A page of the flows `query` selects, and their total.
    pub async fn flow_page(
        &self,
        query: &FlowQuery,
        page: Page,
    ) -> sluice_service::Result<Listed<FlowView>> {
        let page = page.store_page();
        self.service.flow_page(self.caller, query, page).await
    }

    /// `execution` of the flow named `flow`, as it is now.
    pub async fn describe_execution(
        &self,
        flow: &str,
        execution: &str,
    ) -> sluice_service::Result<(FlowView, ExecutionView)> {
        let now = std::time::Duration::ZERO;
        self.service
            .describe_execution(self.caller, flow, execution, now)
            .await
    }

    /// Stops `execution` of the flow named `flow`, with the error and cause the API records.
    pub async fn stop_execution(
        &self,
        flow: &str,
        execution: &str,
        (error, cause): (&str, &str),
    ) -> sluice_service::Result<ExecutionView> {
        let (error, cause) = (Some(error.to_string()), Some(cause.to_string()));
        let stopping = self
            .service
            .stop_execution(self.caller, flow, execution, error, cause);
        Ok(stopping.await?.1)
    }

    /// A page of the executions `query` selects, and their total.
    pub async fn execution_page(
        &self,
        query: ExecutionQuery,
        page: Page,
    ) -> sluice_service::Result<Listed<ExecutionSummary>> {
        let page = page.store_page();
        self.service.execution_page(self.caller, &query, page).await
    }
}

/// A start of the flow named `flow` (its latest revision, no qualifier), named `name` (or
/// by the service) with `input`.
pub fn start_of(flow: &str, name: Option<String>, input: Option<String>) -> StartRequest {
    StartRequest {
        flow: flow.to_string(),
        name,
        input,
        qualifier: None,
        context_ids: None,
        test_case: None,
    }
}

/// Each item of a listing, as `item` renders it.
pub fn rendered<T>(listed: &Listed<T>, item: impl FnMut(&T) -> Value) -> Vec<Value> {
    listed.items.iter().map(item).collect()
}

/// The Huawei services this server speaks, told apart by their path shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Api {
    Ges(ges::Version),
    FunctionGraph,
    /// FunctionGraph's legacy v1.0 `cloud_graphs`.
    CloudGraphs,
    DataArts,
}

impl Api {
    /// The service a path belongs to and its project id. The segments after the first three
    /// (version, project, service root) are the service's.
    fn of(segments: &[String]) -> Option<(Api, &str)> {
        match segments {
            [v, project, fgs, ..] if v == "v2" && fgs == "fgs" => {
                Some((Api::FunctionGraph, project))
            }
            [v, project, jobs, ..] if v == "v1" && jobs == "jobs" => Some((Api::DataArts, project)),
            [v, project, graphs, ..] if v == "v1.0" && graphs == "cloud_graphs" => {
                Some((Api::CloudGraphs, project))
            }
            [v, project, graphs, ..] if v == "v1.0" && graphs == "graphs" => {
                Some((Api::Ges(ges::Version::V1), project))
            }
            [v, project, graphs, ..] if v == "v2" && graphs == "graphs" => {
                Some((Api::Ges(ges::Version::V2), project))
            }
            _ => None,
        }
    }

    /// The dialect's name in logs.
    fn dialect(self) -> &'static str {
        match self {
            Api::Ges(_) => "ges",
            Api::FunctionGraph => "functiongraph-v2",
            Api::CloudGraphs => "functiongraph-v1",
            Api::DataArts => "dataarts",
        }
    }

    fn shape(self) -> ErrorShape {
        match self {
            Api::Ges(version) => version.error_shape(),
            Api::FunctionGraph | Api::CloudGraphs | Api::DataArts => ErrorShape::Snake,
        }
    }

    /// A service error in the service's own codes.
    fn service_error(self, e: ServiceError) -> HuaweiError {
        match self {
            Api::Ges(version) => ges::error(version.error_shape(), e),
            Api::FunctionGraph => functiongraph::error(e),
            Api::CloudGraphs => cloud_graphs::error(e.into()),
            Api::DataArts => dataarts::error(e.into()),
        }
    }

    /// The service's own error for a project that is not the key's tenant's.
    fn foreign_project(self, project: &str) -> HuaweiError {
        match self {
            Api::Ges(version) => ges::foreign_project(version, project),
            Api::FunctionGraph => functiongraph::foreign_project(project),
            // The legacy API is FunctionGraph's too, with the same gateway in front.
            Api::CloudGraphs => functiongraph::foreign_project(project),
            Api::DataArts => dataarts::foreign_project(project),
        }
    }
}

/// A request routed to one service by its path's shape; not yet authenticated.
pub struct Target<'a> {
    api: Api,
    project: String,
    routed: Routed<'a>,
}

/// A request decoded by its service: what it asks, typed.
#[derive(Debug, Clone, PartialEq)]
pub enum Call {
    Ges(ges::Version, ges::Call),
    FunctionGraph(functiongraph::Call),
    CloudGraphs(cloud_graphs::Call),
    DataArts(dataarts::Request),
}

impl Call {
    /// The permission a key needs for this call (`ges:graph:stop`).
    pub fn permission(&self) -> &'static str {
        match self {
            Call::Ges(_, call) => call.permission(),
            Call::FunctionGraph(call) => call.permission(),
            Call::CloudGraphs(call) => call.permission(),
            Call::DataArts(request) => request.call.permission(),
        }
    }

    async fn run(
        self,
        service: &Arc<Service>,
        caller: &Caller,
        project: &str,
    ) -> Result<Reply, HuaweiError> {
        match self {
            Call::Ges(version, call) => ges::run(service, caller, version, call).await,
            Call::FunctionGraph(call) => {
                functiongraph::run(Handlers::new(service, caller, project), call).await
            }
            Call::CloudGraphs(call) => {
                cloud_graphs::run(Handlers::new(service, caller, project), call).await
            }
            Call::DataArts(request) => {
                let jobs = Handlers::new(service, caller, &request.workspace);
                dataarts::run(jobs, request.call).await
            }
        }
    }
}

/// Every permission a Huawei service checks, for the documentation's list.
pub fn permissions() -> Vec<&'static str> {
    use strum::VariantArray;
    fn names<A: Copy + Into<&'static str>>(actions: &[A]) -> impl Iterator<Item = &'static str> {
        actions.iter().map(|a| (*a).into())
    }
    names(ges::Action::VARIANTS)
        .chain(names(functiongraph::Action::VARIANTS))
        .chain(names(cloud_graphs::Action::VARIANTS))
        .chain(names(dataarts::Action::VARIANTS))
        .collect()
}

/// The service a request's path names, or the gateway's "no such API".
pub fn route<'a>(incoming: &Incoming<'a>) -> Result<Target<'a>, HuaweiError> {
    let all = segments(incoming.path);
    let (api, project) =
        Api::of(&all).ok_or_else(|| HuaweiError::not_found_route(incoming.path))?;
    let project = project.to_string();
    let routed = Routed {
        method: incoming.method,
        rest: all.get(3..).unwrap_or_default().to_vec(),
        query: signature::sorted_query(incoming.query.unwrap_or("")),
        headers: incoming.headers,
        signed_headers: Vec::new(),
        body: incoming.body,
    };
    Ok(Target {
        api,
        project,
        routed,
    })
}

impl Target<'_> {
    /// The request with the headers its signature covers, the only ones a service reads.
    pub fn signed(mut self, signed_headers: Vec<String>) -> Self {
        self.routed.signed_headers = signed_headers;
        self
    }

    /// The request as its service reads it: route, query, signed headers and body, checked
    /// and typed.
    pub fn decode(&self) -> Result<Call, HuaweiError> {
        let routed = &self.routed;
        match self.api {
            Api::Ges(version) => ges::decode(version, routed).map(|c| Call::Ges(version, c)),
            Api::FunctionGraph => functiongraph::decode(routed).map(Call::FunctionGraph),
            Api::CloudGraphs => cloud_graphs::decode(routed).map(Call::CloudGraphs),
            Api::DataArts => dataarts::decode(routed).map(Call::DataArts),
        }
    }
}

/// Handles one request. Never fails: every problem is an answer in the service's error shape.
pub async fn handle(service: &Arc<Service>, request_id: &str, incoming: Incoming<'_>) -> Answer {
    let (dialect, action, reply) = match route(&incoming) {
        Err(e) => (GATEWAY, None, Err(e)),
        Ok(target) => {
            let (api, project) = (target.api, target.project.clone());
            let decoded = authenticate(service, &incoming, api, &project).and_then(
                |(caller, signed_headers)| {
                    let call = target.signed(signed_headers).decode()?;
                    Ok((caller, call))
                },
            );
            match decoded {
                Err(e) => (api.dialect(), None, Err(e)),
                Ok((caller, call)) => {
                    let action = call.permission();
                    let reply = match service.authorize(&caller, action) {
                        Ok(()) => call.run(service, &caller, &project).await,
                        Err(denied) => Err(api.service_error(denied)),
                    };
                    (api.dialect(), Some(action), reply)
                }
            }
        }
    };
    let reply = reply.unwrap_or_else(|e| {
        if e.status >= 500 {
            tracing::error!(request_id, error = %e.message, "request failed");
        }
        e.into_reply(request_id)
    });
    Answer {
        dialect,
        action,
        status: reply.status,
        body: reply.body,
    }
}

/// The dialect name of requests no service here has.
const GATEWAY: &str = "huawei";

/// The answer to a request that failed in a way the server did not foresee (a panic): the
/// 500 of the service the path names, in its shape.
pub fn internal_error(path: &str, request_id: &str) -> Answer {
    let all = segments(path);
    let (dialect, error) = match Api::of(&all) {
        Some((api, _)) => (
            api.dialect(),
            api.service_error(ServiceError::Internal(
                "the request failed unexpectedly".into(),
            )),
        ),
        None => (
            GATEWAY,
            HuaweiError::internal(ErrorShape::Snake, "the request failed unexpectedly"),
        ),
    };
    let reply = error.into_reply(request_id);
    Answer {
        dialect,
        action: None,
        status: reply.status,
        body: reply.body,
    }
}

/// A new request id (`X-Request-Id`): 32 hex digits.
pub fn new_request_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// The signature, then the project: a key of one tenant cannot name another's project. Returns
/// the caller and the headers the signature covers.
fn authenticate(
    service: &Service,
    incoming: &Incoming<'_>,
    api: Api,
    project: &str,
) -> Result<(Caller, Vec<String>), HuaweiError> {
    let tenants = service.tenants();
    let key_of = |key_id: &str| {
        tenants.key(key_id).map(|(secret, caller)| signature::Key {
            secret: secret.to_string(),
            allow_unsigned_payload: caller.allow_unsigned_payload,
        })
    };
    let request = signature::SignedRequest {
        method: incoming.method.as_str(),
        path: incoming.path,
        query: incoming.query.unwrap_or(""),
        headers: incoming.headers,
        body: incoming.body,
    };
    let signed = signature::verify(&request, key_of, jiff::Timestamp::now())
        .map_err(|e| HuaweiError::unauthenticated(api.shape(), &e.to_string()))?;
    let caller = tenants
        .key(&signed.key_id)
        .map(|(_, caller)| caller.clone())
        .ok_or_else(|| HuaweiError::internal(api.shape(), "the verified key vanished"))?;
    if tenants.project_tenant(project) != Some(&caller.tenant) {
        return Err(api.foreign_project(project));
    }
    Ok((caller, signed.signed_headers))
}

/// Path segments of the percent-decoded path (URNs arrive with `:` as `%3A`), split as the
/// signer splits it: an encoded `/` separates segments here too, so the path means what its
/// signature covers.
fn segments(path: &str) -> Vec<String> {
    percent_encoding::percent_decode_str(path)
        .decode_utf8_lossy()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// Service errors every Huawei service words the same way (the API gateway's), whatever the
/// service's own codes.
pub fn gateway_error(shape: ErrorShape, e: &ServiceError) -> Option<HuaweiError> {
    match e {
        ServiceError::Throttled => Some(HuaweiError::new(
            shape,
            429,
            "APIG.0308",
            "The throttling threshold has been reached.",
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const PREFIXES: [&str; 6] = [
        "/v2/p/fgs/",
        "/v1.0/p/cloud_graphs/",
        "/v1/p/jobs/",
        "/v1.0/p/graphs/",
        "/v2/p/graphs/",
        "/",
    ];

    fn decoded(method: &Method, path: &str, query: &str, body: &[u8]) -> Result<Call, HuaweiError> {
        let mut headers = HeaderMap::new();
        headers.insert("x-workflow-run-id", "run".parse().expect("a header"));
        headers.insert("x-workflow-state-id", "state".parse().expect("a header"));
        let incoming = Incoming {
            method,
            path,
            query: Some(query),
            headers: &headers,
            body,
        };
        let signed = vec!["x-workflow-run-id".into(), "x-workflow-state-id".into()];
        route(&incoming)?.signed(signed).decode()
    }

    #[test]
    fn out_of_range_numbers_are_refused_not_overflowed() {
        let statistic = "/v2/p/fgs/workflow-statistic";
        for query in [
            "end_time=-9223372036854775808",
            "start_time=9223372036854775807",
            "period=9223372036854775807",
            "period=0",
        ] {
            let e = decoded(&Method::GET, statistic, query, b"").expect_err(query);
            assert_eq!((e.status, e.code.as_str()), (400, "FSS.0400"), "{query}");
        }
        let e = decoded(&Method::GET, "/v1.0/p/cloud_graphs/", "start=0", b"").expect_err("0");
        assert_eq!(e.code, "FGS.0005");
    }

    #[test]
    fn bodies_of_the_wrong_shape_get_the_services_parameter_error() {
        let cases = [
            (
                "/v2/p/fgs/workflows/w/executions",
                r#"{"input": "text"}"#,
                "FSS.0400",
            ),
            (
                "/v2/p/fgs/workflows/w/callback",
                r#"{"result": 1}"#,
                "FSS.0400",
            ),
            (
                "/v1.0/p/cloud_graphs/",
                r#"{"graph_name": ["g"]}"#,
                "FGS.0005",
            ),
            ("/v1.0/p/cloud_graphs/", "{nope", "FGS.0009"),
            (
                "/v1/p/jobs/j/run-immediate",
                r#"{"jobParams": [{"name": 1}]}"#,
                "DLF.3051",
            ),
        ];
        for (path, body, code) in cases {
            let e = decoded(&Method::POST, path, "", body.as_bytes()).expect_err(path);
            assert_eq!((e.status, e.code.as_str()), (400, code), "{path} {body}");
        }
    }

    #[test]
    fn each_call_names_its_permission() {
        let call = decoded(
            &Method::POST,
            "/v1.0/p/graphs/g/action",
            "action_id=stop",
            b"",
        );
        assert_eq!(call.expect("decoded").permission(), "ges:graph:stop");
        let body = br#"{"action_type": "stop", "executions": {"execution_urn": "u"}}"#;
        let call = decoded(
            &Method::POST,
            "/v1.0/p/cloud_graphs/g/executions/action",
            "",
            body,
        );
        assert_eq!(
            call.expect("decoded").permission(),
            "functiongraph:graph:stop"
        );
        let all = permissions();
        assert!(
            all.contains(&"dlf:instance:restart")
                && all.contains(&"functiongraph:workflow:getMetric")
        );
    }

    proptest! {
        /// Whatever arrives, each service decodes it into a call or refuses it; none panics.
        #[test]
        fn no_request_panics_a_decoder(
            method in 0..4usize,
            prefix in 0..PREFIXES.len(),
            rest in "[a-z/:%é0-9-]{0,40}",
            query in "[a-z_=&%é0-9-]{0,60}",
            body in prop_oneof![
                proptest::collection::vec(any::<u8>(), 0..64),
                "\\{(\"[a-z_]{1,12}\": (\"[^\"]{0,8}\"|-?[0-9]{1,20}|\\[\\]|\\{\\}|null|true), ){0,4}\"x\": 1\\}"
                    .prop_map(String::into_bytes),
            ],
        ) {
            let method = [Method::GET, Method::POST, Method::PUT, Method::DELETE][method].clone();
            let path = format!("{}{rest}", PREFIXES[prefix]);
            if let Err(e) = decoded(&method, &path, &query, &body) {
                prop_assert!((400..500).contains(&e.status), "{e:?}");
            }
        }
    }
}
