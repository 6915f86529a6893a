//! The function protocol: how a Task state calls user code over HTTP.
//!
//! A task call is a `POST` of the task's body (JSON) to the URL its function resolves to, with
//! `X-Sluice-*` headers naming the flow, execution, state, attempt and (in callback mode) task
//! token.
//! The answer becomes the task's result; failures become [`TaskError`]s with the codes in
//! [`codes`], which `Retry`/`Catch` can match. `docs/function-protocol.md` is the user-facing
//! description of the same contract; keep the two in step.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Map, Value};
use sluice_engine::TaskCall;
use sluice_ir::{ErrorCode, FunctionRef, Invocation, TaskError, TaskMode, TaskTarget};
use sluice_store::TenantId;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::mocks::{MockConfig, MockedResponse};
use crate::objects::Buckets;
use crate::outbound::{Outbound, targets_client};

/// The error codes a task call can fail with (besides the codes functions report themselves).
pub mod codes {
    use sluice_ir::ErrorCode;

    /// No URL is configured for the task's function.
    pub const FUNCTION_NOT_FOUND: &str = "FC.FunctionNotFound";
    /// The function answered 2xx with a body that is not JSON.
    pub const INVALID_RESPONSE: &str = "FC.InvalidResponse";
    /// The function answered non-2xx without naming an error code.
    pub const FUNCTION_FAILED: &str = "FC.FunctionFailed";
    /// The function could not be reached, or the connection broke.
    pub const CONNECTION_FAILED: &str = "FC.ConnectionFailed";
    /// The call exceeded the task's `Timeout`.
    pub const TIMEOUT: &str = ErrorCode::TIMEOUT;
    /// The task's action is not a function call.
    pub const ACTION_NOT_SUPPORTED: &str = ErrorCode::ACTION_NOT_SUPPORTED;
    /// The call was aborted because its task no longer matters (stop, timeout, callback won).
    /// The engine never sees this result: whoever cancels the call also discards its answer.
    pub const CANCELLED: &str = "FnF.TaskCancelled";
}

/// Request headers of the protocol.
pub mod headers {
    /// The execution's name (as the user named it, not an internal id).
    pub const EXECUTION: &str = "X-Sluice-Execution";
    /// The name of the execution's flow.
    pub const FLOW: &str = "X-Sluice-Flow";
    pub const STATE: &str = "X-Sluice-State";
    pub const ATTEMPT: &str = "X-Sluice-Attempt";
    /// `{key}:{op}` ([`CallOrigin::key`]): the same for every delivery of one call (a call in
    /// flight when its node died is made again by the next node), different for each retry.
    pub const IDEMPOTENCY_KEY: &str = "X-Sluice-Idempotency-Key";
    pub const TASK_TOKEN: &str = "X-Sluice-Task-Token";
    /// `Async` on an asynchronous invocation, whose answer nobody waits for (Function
    /// Compute's header); absent on a synchronous one.
    pub const INVOCATION_TYPE: &str = "X-Fc-Invocation-Type";
    /// The id of an asynchronous invocation, which is also the task's output.
    pub const REQUEST_ID: &str = "X-Fc-Request-Id";
    /// Answer header naming a function error, as Function Compute sends it.
    pub const FC_ERROR_TYPE: &str = "X-Fc-Error-Type";
}

/// How much of an unexpected answer an error message quotes.
const QUOTED_BODY_CHARS: usize = 200;

/// Where functions live: explicit URLs per function, else a URL template.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionEndpoints {
    /// A URL with `{service}`, `{function}` and `{qualifier}` placeholders, e.g.
    /// `http://127.0.0.1:9000/{service}/{function}`.
    pub template: Option<String>,
    /// URLs keyed by `service/function` or by `function` alone, and of actions by name
    /// (`DLF:HiveSQL` for a DataArts node type).
    pub functions: HashMap<String, String>,
    /// Whether shell-script tasks (DataArts `Shell` nodes) may run on this server.
    pub shell: bool,
}

impl FunctionEndpoints {
    /// The URL of `function`: the entry keyed `service/function`, then the entry keyed
    /// `function`, then the template. A function without qualifier fills `{qualifier}` with
    /// `LATEST`, Function Compute's default version.
    pub fn resolve(&self, function: &FunctionRef) -> Result<String, TaskError> {
        let qualified = format!("{}/{}", function.service, function.function);
        if let Some(url) = self
            .functions
            .get(&qualified)
            .or_else(|| self.functions.get(&function.function))
        {
            return Ok(url.clone());
        }
        let Some(template) = &self.template else {
            return Err(TaskError::new(
                codes::FUNCTION_NOT_FOUND,
                format!(
                    "no URL for function {qualified}: pass --function-url TEMPLATE (e.g. \
                     http://127.0.0.1:9000/{{service}}/{{function}}, or SLUICE_FUNCTION_URL) or \
                     --function {}=URL",
                    function.function
                ),
            ));
        };
        Ok(template
            .replace("{service}", &function.service)
            .replace("{function}", &function.function)
            .replace(
                "{qualifier}",
                function.qualifier.as_deref().unwrap_or("LATEST"),
            ))
    }
}

/// Whose task call it is: the flow and execution its headers name, and the tenant whose
/// definition it runs (its outbound allowlist applies to the targets the definition names;
/// none for `sluice run`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallOrigin {
    pub flow: String,
    pub execution: String,
    /// Unique to the execution among all that share its store (names are unique only within
    /// a flow): the idempotency key is this and the call's op.
    pub key: String,
    pub tenant: Option<TenantId>,
    /// The test case of the mock configuration the execution runs under (see [`crate::mocks`]).
    pub test_case: Option<String>,
}

/// Why an [`Invoker`] could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the HTTP client for task calls: {0}")]
pub struct InvokerError(#[from] reqwest::Error);

/// Performs task calls. One HTTP client (and its connection pool) serves every call to the
/// operator's endpoints, another the targets definitions name (see [`crate::outbound`]).
#[derive(Debug, Clone)]
pub struct Invoker {
    client: reqwest::Client,
    targets: reqwest::Client,
    endpoints: FunctionEndpoints,
    outbound: Outbound,
    /// Where distributed Maps read items and write results (`objects`).
    buckets: Buckets,
    /// What answers the tasks of executions run under a test case (`mocks`).
    mocks: Arc<MockConfig>,
    /// Asynchronous invocations still running after their task was done (`detached.rs`).
    pub(crate) detached: TaskTracker,
}

impl Invoker {
    /// An invoker whose definitions' targets are unrestricted (see [`Invoker::outbound`]).
    pub fn new(endpoints: FunctionEndpoints) -> Result<Self, InvokerError> {
        // Plain HTTP only (reqwest is built without TLS features): functions are expected on
        // the local host or a private network, behind whatever terminates TLS.
        let client = reqwest::Client::builder().build()?;
        Ok(Self {
            client,
            targets: targets_client()?,
            endpoints,
            outbound: Outbound::Unrestricted,
            buckets: Buckets::default(),
            mocks: Arc::default(),
            detached: TaskTracker::new(),
        })
    }

    /// Where the targets definitions name may be.
    pub fn outbound(mut self, outbound: Outbound) -> Self {
        self.outbound = outbound;
        self
    }

    /// The buckets distributed Maps may read and write (none by default).
    pub fn buckets(mut self, buckets: Buckets) -> Self {
        self.buckets = buckets;
        self
    }

    /// The mock configuration executions may run under (none by default).
    pub fn mocks(mut self, mocks: MockConfig) -> Self {
        self.mocks = Arc::new(mocks);
        self
    }

    pub fn mock_config(&self) -> &MockConfig {
        &self.mocks
    }

    /// The mocked response that answers `call` instead of its target, if its execution runs
    /// under a test case that mocks its state. Activity tasks are never mocked: a worker
    /// takes them from the store.
    pub fn mocked(&self, origin: &CallOrigin, call: &TaskCall) -> Option<&MockedResponse> {
        let case = origin.test_case.as_deref()?;
        if call.activity().is_some() {
            return None;
        }
        self.mocks.mocked(&origin.flow, case, call.state.as_str())
    }

    pub(crate) fn bucket_store(&self) -> &Buckets {
        &self.buckets
    }

    pub fn endpoints(&self) -> &FunctionEndpoints {
        &self.endpoints
    }

    /// Calls a task of the execution `origin` names and returns its result. When `cancel` fires,
    /// the request is dropped at once, which closes its connection, and the result is an
    /// error with code [`codes::CANCELLED`] that the caller is expected to discard.
    pub async fn invoke(
        &self,
        origin: &CallOrigin,
        call: &TaskCall,
        cancel: &CancellationToken,
    ) -> Result<Value, TaskError> {
        let url = match &call.target {
            TaskTarget::Function(function) => self.endpoints.resolve(function)?,
            TaskTarget::Action(action) => return self.act(origin, call, action, cancel).await,
            // A durable execution's activity task waits for a worker and is never called
            // (`durable::Runtime::dispatch`); an in-memory one (Express, `sluice run`) has no
            // worker to take it, as AWS's Express workflows have no activities.
            TaskTarget::Activity(name) => {
                return Err(TaskError::new(
                    ErrorCode::ACTION_NOT_SUPPORTED,
                    format!("activity {name}: activities run in Standard executions only"),
                ));
            }
            // A durable execution starts them through its service (`durable::nested`); an
            // in-memory one has no store to start them in.
            TaskTarget::Execution(_) => {
                return Err(TaskError::new(
                    ErrorCode::ACTION_NOT_SUPPORTED,
                    "states:startExecution: nested executions run in Standard executions of sluice serve only",
                ));
            }
        };
        if detaches(call) {
            return self.invoke_detached(origin, call, &url, cancel).await;
        }
        tokio::select! {
            // Checked first so that a cancelled call never starts or finishes a request.
            biased;
            () = cancel.cancelled() => Err(TaskError::new(
                codes::CANCELLED,
                "the task call was aborted",
            )),
            result = self.post(origin, call, &url) => result,
        }
    }

    /// The client of the targets definitions name, and what they may reach.
    pub(crate) fn targets(&self) -> (&reqwest::Client, &Outbound) {
        (&self.targets, &self.outbound)
    }

    pub(crate) async fn post(
        &self,
        origin: &CallOrigin,
        call: &TaskCall,
        url: &str,
    ) -> Result<Value, TaskError> {
        let mut request = self.request(origin, call, url).json(&call.body);
        // The engine times the task out too; this bound also covers a caller without timers.
        if let Some(secs) = call.timeout_secs {
            request = request.timeout(Duration::from_secs(secs));
        }
        send(request, url).await
    }

    /// A task call's request with the protocol's headers, without its body.
    pub(crate) fn request(
        &self,
        origin: &CallOrigin,
        call: &TaskCall,
        url: &str,
    ) -> reqwest::RequestBuilder {
        let mut request = self
            .client
            .post(url)
            .header(CONTENT_TYPE, "application/json")
            .header(headers::FLOW, origin.flow.as_str())
            .header(headers::EXECUTION, origin.execution.as_str())
            .header(headers::STATE, call.state.as_str())
            .header(headers::ATTEMPT, call.attempt.to_string())
            .header(
                headers::IDEMPOTENCY_KEY,
                format!("{}:{}", origin.key, call.op.0),
            );
        if let Some(token) = &call.token {
            request = request.header(headers::TASK_TOKEN, token);
        }
        request
    }

    /// How many asynchronous invocations run on after their task was done.
    pub fn async_invocations_running(&self) -> usize {
        self.detached.len()
    }

    /// Waits for the asynchronous invocations still running to be answered (`sluice run`
    /// does before it exits, so that leaving does not hang up on them).
    pub async fn finish_async_invocations(&self) {
        self.detached.close();
        self.detached.wait().await;
    }
}

/// An asynchronous invocation whose state does not wait for the function: `RequestComplete`
/// (the request is the whole task) and `WaitForCustomCallback` (the result comes as a report).
/// Under `WaitForSystemCallback` the state waits for the function to finish, which the answer
/// tells, so the call is made as a synchronous one.
fn detaches(call: &TaskCall) -> bool {
    matches!(&call.target, TaskTarget::Function(f) if f.invocation == Invocation::Async)
        && call.mode != TaskMode::WaitForSystemCallback
}

/// Sends a task call's request and turns the answer into the task's result.
pub(crate) async fn send(request: reqwest::RequestBuilder, url: &str) -> Result<Value, TaskError> {
    let response = request.send().await.map_err(|e| transport_error(url, &e))?;
    let status = response.status();
    let error_type = header_text(response.headers(), headers::FC_ERROR_TYPE);
    let body = response
        .bytes()
        .await
        .map_err(|e| transport_error(url, &e))?;
    interpret_answer(status.as_u16(), error_type, &body)
}

fn transport_error(url: &str, error: &reqwest::Error) -> TaskError {
    if error.is_timeout() {
        return TaskError::new(
            codes::TIMEOUT,
            format!("the call to {url} did not answer within the task's timeout"),
        );
    }
    TaskError::new(
        codes::CONNECTION_FAILED,
        format!("calling {url} failed: {}", error_chain(error)),
    )
}

/// reqwest's top-level message ("error sending request") hides the cause; name all of it.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

/// Turns a function's answer into the task's result.
fn interpret_answer(
    status: u16,
    error_type: Option<String>,
    body: &[u8],
) -> Result<Value, TaskError> {
    let json = parse_body(body);
    // Function Compute reports a function's own error with this header, even on HTTP 200.
    if let Some(code) = error_type {
        let detail = json
            .as_ref()
            .and_then(error_message)
            .unwrap_or_else(|| quote(body));
        return Err(TaskError::new(code, detail));
    }
    if (200..300).contains(&status) {
        return match json {
            Some(value) => Ok(value),
            None if is_blank(body) => Ok(Value::Object(Map::new())),
            None => Err(TaskError::new(
                codes::INVALID_RESPONSE,
                format!(
                    "the function answered HTTP {status} with a body that is not JSON: {}",
                    quote(body)
                ),
            )),
        };
    }
    if let Some(value) = &json
        && let Some(code) = error_code(value)
    {
        let detail = error_message(value).unwrap_or_default();
        return Err(TaskError::new(code, detail).with_answer(String::from_utf8_lossy(body)));
    }
    Err(TaskError::new(
        codes::FUNCTION_FAILED,
        format!("HTTP {status}: {}", quote(body)),
    ))
}

fn parse_body(body: &[u8]) -> Option<Value> {
    if is_blank(body) {
        return None;
    }
    serde_json::from_slice(body).ok()
}

fn is_blank(body: &[u8]) -> bool {
    body.iter().all(u8::is_ascii_whitespace)
}

/// The error code of an error answer: Function Compute's `errorCode`/`errorType`, or the
/// Alibaba API style `Code`.
fn error_code(value: &Value) -> Option<String> {
    first_string(value, &["errorCode", "errorType", "Code"])
}

fn error_message(value: &Value) -> Option<String> {
    first_string(value, &["errorMessage", "Message", "message"])
}

fn first_string(value: &Value, keys: &[&str]) -> Option<String> {
    keys.iter()
        .find_map(|k| value.get(*k).and_then(Value::as_str))
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

/// The start of a body, for error messages.
fn quote(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    match text.char_indices().nth(QUOTED_BODY_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(service: &str, qualifier: Option<&str>, name: &str) -> FunctionRef {
        FunctionRef {
            service: service.into(),
            qualifier: qualifier.map(str::to_string),
            function: name.into(),
            invocation: Invocation::Sync,
        }
    }

    #[test]
    fn service_qualified_entry_wins_over_function_entry_and_template() {
        let endpoints = FunctionEndpoints {
            template: Some("http://t/{service}/{function}".into()),
            functions: HashMap::from([
                ("svc/f".to_string(), "http://qualified".to_string()),
                ("f".to_string(), "http://plain".to_string()),
            ]),
            shell: false,
        };
        assert_eq!(
            endpoints.resolve(&function("svc", None, "f")).unwrap(),
            "http://qualified"
        );
        assert_eq!(
            endpoints.resolve(&function("other", None, "f")).unwrap(),
            "http://plain"
        );
        assert_eq!(
            endpoints.resolve(&function("other", None, "g")).unwrap(),
            "http://t/other/g"
        );
    }

    #[test]
    fn template_fills_qualifier_with_latest_by_default() {
        let endpoints = FunctionEndpoints {
            template: Some("http://h/{service}.{qualifier}/{function}".into()),
            functions: HashMap::new(),
            shell: false,
        };
        assert_eq!(
            endpoints.resolve(&function("s", None, "f")).unwrap(),
            "http://h/s.LATEST/f"
        );
        assert_eq!(
            endpoints
                .resolve(&function("s", Some("prod"), "f"))
                .unwrap(),
            "http://h/s.prod/f"
        );
    }

    #[test]
    fn unknown_function_tells_how_to_configure_it() {
        let error = FunctionEndpoints::default()
            .resolve(&function("s", None, "f"))
            .unwrap_err();
        assert_eq!(error.code.as_str(), codes::FUNCTION_NOT_FOUND);
        assert!(error.detail.contains("--function-url"), "{}", error.detail);
        assert!(
            error.detail.contains("--function f=URL"),
            "{}",
            error.detail
        );
    }

    #[test]
    fn answers_map_to_results_and_error_codes() {
        let ok = |s, b: &str| interpret_answer(s, None, b.as_bytes());
        assert_eq!(ok(200, r#"{"a":1}"#).unwrap(), serde_json::json!({"a":1}));
        assert_eq!(ok(204, "").unwrap(), serde_json::json!({}));
        assert_eq!(ok(200, "\"text\"").unwrap(), serde_json::json!("text"));
        let err = |s, h: Option<&str>, b: &str| {
            interpret_answer(s, h.map(str::to_string), b.as_bytes()).unwrap_err()
        };
        let e = err(200, None, "<html>");
        assert_eq!(
            (e.code.as_str(), e.detail.contains("<html>")),
            (codes::INVALID_RESPONSE, true)
        );
        let e = err(400, None, r#"{"errorCode":"Biz.Bad","errorMessage":"no"}"#);
        assert_eq!((e.code.as_str(), e.detail.as_str()), ("Biz.Bad", "no"));
        let e = err(500, None, r#"{"Code":"X","Message":"m"}"#);
        assert_eq!((e.code.as_str(), e.detail.as_str()), ("X", "m"));
        let e = err(
            200,
            Some("UnhandledInvocationError"),
            r#"{"errorMessage":"boom"}"#,
        );
        assert_eq!(
            (e.code.as_str(), e.detail.as_str()),
            ("UnhandledInvocationError", "boom")
        );
        let e = err(500, None, "oops");
        assert_eq!(
            (e.code.as_str(), e.detail.as_str()),
            (codes::FUNCTION_FAILED, "HTTP 500: oops")
        );
    }

    #[test]
    fn quoted_bodies_are_truncated_on_a_char_boundary() {
        let long = "é".repeat(500);
        let quoted = quote(long.as_bytes());
        assert_eq!(quoted.chars().count(), QUOTED_BODY_CHARS + 1);
        assert!(quoted.ends_with('…'));
    }
}
