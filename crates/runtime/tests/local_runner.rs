//! `LocalRunner` against real function servers on 127.0.0.1 (axum on port 0).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use sluice_engine::{EventType, Limits, Status};
use sluice_ir::Flow;
use sluice_runtime::{FunctionEndpoints, Invoker, LocalRunner, RunError, RunOutcome};
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

// ---- the function server ------------------------------------------------------------------

/// What a call of `slow` or `working` brought.
#[derive(Debug)]
struct Seen {
    headers: HeaderMap,
    body: Value,
}

/// What the `slow` and `working` functions report: that a call came in, and how its handler
/// ended.
struct Probe {
    entered: mpsc::UnboundedSender<Seen>,
    /// `true` when the handler ran to completion, `false` when it was dropped mid-way (the
    /// server noticed the client had closed the connection).
    ended: mpsc::UnboundedSender<bool>,
}

struct EndGuard {
    completed: bool,
    ended: mpsc::UnboundedSender<bool>,
}

impl Drop for EndGuard {
    fn drop(&mut self) {
        let _ = self.ended.send(self.completed);
    }
}

struct Functions {
    addr: SocketAddr,
    /// The runners' invoker (asynchronous invocations run on with it).
    invoker: Invoker,
    entered: Mutex<mpsc::UnboundedReceiver<Seen>>,
    ended: Mutex<mpsc::UnboundedReceiver<bool>>,
}

impl Functions {
    /// Serves `echo` (answers its body), `fail` (fails with the body's `code`), `slow`
    /// (answers after 30 s), `working` (answers after [`WORK`]) and `headers` (answers the
    /// `x-sluice-*` request headers).
    async fn start() -> Functions {
        let (entered_tx, entered) = mpsc::unbounded_channel();
        let (ended_tx, ended) = mpsc::unbounded_channel();
        let probe = Arc::new(Probe {
            entered: entered_tx,
            ended: ended_tx,
        });
        let app = Router::new()
            .route(
                "/echo",
                post(|Json(body): Json<Value>| async { Json(body) }),
            )
            .route("/fail", post(fail))
            .route("/slow", post(slow))
            .route("/working", post(working))
            .route("/headers", post(sluice_headers))
            .with_state(probe);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let endpoints = FunctionEndpoints {
            template: Some(format!("http://{addr}/{{function}}")),
            ..FunctionEndpoints::default()
        };
        Functions {
            addr,
            invoker: Invoker::new(endpoints).unwrap(),
            entered: Mutex::new(entered),
            ended: Mutex::new(ended),
        }
    }

    fn runner(&self) -> LocalRunner {
        LocalRunner::new(self.invoker.clone()).name("test-exec")
    }

    /// The next call of `slow` or `working`.
    async fn seen(&self) -> Seen {
        self.entered.lock().await.recv().await.expect("a call")
    }

    /// How the next call of `slow` or `working` ended: `true` if it worked to the end.
    async fn ended(&self) -> bool {
        self.ended.lock().await.recv().await.expect("an end")
    }

    /// The same, if a call has ended yet.
    fn ended_yet(&self) -> Option<bool> {
        self.ended.try_lock().ok()?.try_recv().ok()
    }
}

/// How long the `working` function works before it answers.
const WORK: Duration = Duration::from_secs(2);

async fn fail(Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let code = body["code"].as_str().unwrap_or("Biz.NoCode").to_string();
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        Json(json!({ "errorCode": code, "errorMessage": format!("{code} on purpose") })),
    )
}

async fn slow(probe: State<Arc<Probe>>, headers: HeaderMap, body: Json<Value>) -> Json<Value> {
    work(
        probe,
        Seen {
            headers,
            body: body.0,
        },
        Duration::from_secs(30),
    )
    .await;
    Json(json!({ "slow": "done" }))
}

async fn working(probe: State<Arc<Probe>>, headers: HeaderMap, body: Json<Value>) -> Json<Value> {
    work(
        probe,
        Seen {
            headers,
            body: body.0,
        },
        WORK,
    )
    .await;
    Json(json!({ "worked": "to the end" }))
}

/// Reports the call, then works `duration` (unless the caller hangs up first).
async fn work(State(probe): State<Arc<Probe>>, seen: Seen, duration: Duration) {
    let mut guard = EndGuard {
        completed: false,
        ended: probe.ended.clone(),
    };
    let _ = probe.entered.send(seen);
    tokio::time::sleep(duration).await;
    guard.completed = true;
}

async fn sluice_headers(headers: HeaderMap) -> Json<Value> {
    let seen = headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with("x-sluice-"))
        .map(|(name, value)| (name.to_string(), json!(value.to_str().unwrap_or_default())))
        .collect();
    Json(Value::Object(seen))
}

// ---- helpers ------------------------------------------------------------------------------

fn flow(file: &str) -> Flow {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    sluice_lang::cloudflow::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

async fn run(functions: &Functions, file: &str, input: Value) -> RunOutcome {
    functions
        .runner()
        .run(&flow(file), input, CancellationToken::new())
        .await
        .unwrap()
}

fn times_of(outcome: &RunOutcome, kind: EventType) -> Vec<i64> {
    outcome
        .history
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.time)
        .collect()
}

fn entered_steps(outcome: &RunOutcome) -> Vec<&str> {
    outcome
        .history
        .iter()
        .filter(|e| e.kind == EventType::StepEntered)
        .filter_map(|e| e.step.as_ref().map(|s| s.as_str()))
        .collect()
}

fn error_code(outcome: &RunOutcome) -> &str {
    outcome.error.as_ref().map_or("", |e| e.code.as_str())
}

// ---- time ---------------------------------------------------------------------------------

#[tokio::test(start_paused = true)]
async fn a_wait_of_ten_seconds_completes_in_virtual_time() {
    let functions = Functions::start().await;
    let real = std::time::Instant::now();
    let outcome = run(&functions, "wait-10s.yaml", json!({"k": 1})).await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!({"k": 1})));
    let started = times_of(&outcome, EventType::ExecutionStarted)[0];
    let succeeded = times_of(&outcome, EventType::ExecutionSucceeded)[0];
    assert_eq!(succeeded - started, 10_000);
    assert!(
        real.elapsed() < Duration::from_secs(2),
        "took {:?}",
        real.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn retry_backoff_grows_by_the_rate_and_is_capped() {
    let functions = Functions::start().await;
    // Without the one-year deadline timer, virtual time can only jump to a backoff timer.
    let runner = functions.runner().limits(Limits {
        execution_timeout_ms: None,
        ..Limits::default()
    });
    let outcome = runner
        .run(
            &flow("retry-backoff.yaml"),
            json!({}),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(error_code(&outcome), "Biz.Flaky");
    let scheduled = times_of(&outcome, EventType::TaskScheduled);
    let gaps: Vec<i64> = scheduled.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, [2_000, 4_000, 5_000]);
}

// ---- aborting calls -----------------------------------------------------------------------

#[tokio::test]
async fn a_task_timeout_fails_with_fnf_timeout_and_closes_the_connection() {
    let functions = Functions::start().await;
    let outcome = run(&functions, "task-timeout.yaml", json!({})).await;
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(error_code(&outcome), "FnF.Timeout");
    assert!(!times_of(&outcome, EventType::TaskTimedOut).is_empty());
    let ended = tokio::time::timeout(Duration::from_secs(1), functions.ended.lock().await.recv())
        .await
        .expect("the function's handler should be dropped when the call times out");
    assert_eq!(ended, Some(false), "the handler ran to completion");
}

#[tokio::test]
async fn stop_during_a_call_closes_the_connection_within_100_ms() {
    let functions = Functions::start().await;
    let runner = functions
        .runner()
        .stop_reason("Manual", "stopped by the test");
    let stop = CancellationToken::new();
    let run = tokio::spawn({
        let stop = stop.clone();
        async move { runner.run(&flow("slow-call.yaml"), json!({}), stop).await }
    });
    functions.entered.lock().await.recv().await.unwrap();

    let stopped_at = std::time::Instant::now();
    stop.cancel();
    let ended = tokio::time::timeout(
        Duration::from_millis(100),
        functions.ended.lock().await.recv(),
    )
    .await
    .expect("the function's handler should be dropped within 100 ms of the stop");
    assert_eq!(ended, Some(false));
    assert!(stopped_at.elapsed() < Duration::from_millis(100));

    let outcome = run.await.unwrap().unwrap();
    assert_eq!(outcome.status, Status::Stopped);
    assert_eq!(error_code(&outcome), "Manual");
    let last = outcome.history.last().unwrap();
    assert_eq!(last.kind, EventType::ExecutionStopped);
}

// ---- Catch --------------------------------------------------------------------------------

#[tokio::test]
async fn catch_matches_an_error_by_name() {
    let functions = Functions::start().await;
    let outcome = run(&functions, "catch.yaml", json!({"code": "Biz.Known"})).await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(entered_steps(&outcome), ["Call", "Known"]);
}

#[tokio::test]
async fn catch_output_constructor_sees_the_error_in_context() {
    let functions = Functions::start().await;
    let outcome = run(&functions, "catch.yaml", json!({"code": "Biz.Known"})).await;
    assert_eq!(
        outcome.output,
        Some(json!({"caught": "Biz.Known", "why": "Biz.Known on purpose"}))
    );
}

#[tokio::test]
async fn catch_fnf_all_matches_any_error() {
    let functions = Functions::start().await;
    let outcome = run(&functions, "catch.yaml", json!({"code": "Biz.Other"})).await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(entered_steps(&outcome), ["Call", "Anything"]);
    // Without an OutputConstructor the next state gets the error object.
    assert_eq!(
        outcome.output,
        Some(json!({"Code": "Biz.Other", "Detail": "Biz.Other on purpose"}))
    );
}

#[tokio::test]
async fn an_uncaught_error_fails_the_execution_with_the_functions_code() {
    let functions = Functions::start().await;
    let outcome = run(&functions, "catch-unmatched.yaml", json!({})).await;
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(error_code(&outcome), "Biz.Unexpected");
    assert_eq!(
        outcome.history.last().map(|e| e.kind),
        Some(EventType::ExecutionFailed)
    );
}

// ---- task modes and targets ---------------------------------------------------------------

#[tokio::test]
async fn custom_callbacks_are_refused_before_starting() {
    let functions = Functions::start().await;
    let error = functions
        .runner()
        .run(
            &flow("custom-callback.yaml"),
            json!({}),
            CancellationToken::new(),
        )
        .await
        .unwrap_err();
    assert!(matches!(&error, RunError::NeedsServer { state } if state == "Ask"));
    let message = error.to_string();
    assert!(message.contains("sluice serve"), "{message}");
    assert!(message.contains("ReportTaskSucceeded"), "{message}");
}

#[tokio::test]
async fn a_system_callback_is_the_functions_answer() {
    let functions = Functions::start().await;
    let outcome = run(&functions, "system-callback.yaml", json!({"name": "ann"})).await;
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!({"greeting": "hello ann"})));
}

#[tokio::test]
async fn calls_carry_the_protocol_headers() {
    let functions = Functions::start().await;
    let outcome = run(&functions, "headers.yaml", json!({})).await;
    let mut headers = outcome.output.expect("the echoed headers");
    let key = headers
        .as_object_mut()
        .and_then(|h| h.remove("x-sluice-idempotency-key"))
        .expect("an idempotency key");
    let (execution, op) = key
        .as_str()
        .and_then(|k| k.split_once(':'))
        .expect("execution:op");
    assert_eq!(execution, "test-exec");
    assert!(op.parse::<u64>().is_ok(), "{key}");
    assert_eq!(
        headers,
        json!({
            "x-sluice-flow": "headers",
            "x-sluice-execution": "test-exec",
            "x-sluice-state": "Call",
            "x-sluice-attempt": "0",
        })
    );
}

/// A synchronous call, and an asynchronous invocation (which nobody could take).
#[tokio::test]
async fn an_unreachable_function_fails_with_connection_failed() {
    // Bind, note the port, and close it again: nothing listens there.
    let addr = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap()
        .local_addr()
        .unwrap();
    let endpoints = FunctionEndpoints {
        template: Some(format!("http://{addr}/{{function}}")),
        ..FunctionEndpoints::default()
    };
    for file in ["headers.yaml", "async-then-pass.yaml"] {
        let outcome = LocalRunner::new(Invoker::new(endpoints.clone()).unwrap())
            .run(&flow(file), json!({}), CancellationToken::new())
            .await
            .unwrap();
        assert_eq!(error_code(&outcome), "FC.ConnectionFailed", "{file}");
    }
}

#[tokio::test]
async fn actions_other_than_functions_fail_with_action_not_supported() {
    let functions = Functions::start().await;
    let outcome = run(&functions, "action.yaml", json!({})).await;
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(error_code(&outcome), "FnF.ActionNotSupported");
    assert!(
        outcome
            .error
            .is_some_and(|e| e.detail.contains("ECS:DescribeInstances"))
    );
}

// ---- spec §7 example I in virtual time ----------------------------------------------------

/// Example I backs off 10 s, 20 s and 40 s before its catch: too slow for `sluice run` in a
/// test, instant here.
#[tokio::test(start_paused = true)]
async fn legacy_example_i_retries_then_catches_and_reaches_final() {
    let functions = Functions::start().await;
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../lang/tests/data/cloudflow/I-legacy-task-retry-catch.yaml");
    let flow = sluice_lang::cloudflow::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let endpoints = FunctionEndpoints {
        functions: [(
            "hello".to_string(),
            format!("http://{}/fail", functions.addr),
        )]
        .into(),
        ..FunctionEndpoints::default()
    };
    let runner = LocalRunner::new(Invoker::new(endpoints).unwrap()).limits(Limits {
        execution_timeout_ms: None,
        ..Limits::default()
    });
    let outcome = runner
        .run(
            &flow,
            json!({"code": "Biz.Hello"}),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(outcome.status, Status::Succeeded, "{:?}", outcome.error);
    assert_eq!(entered_steps(&outcome), ["hello", "final"]);
    let scheduled = times_of(&outcome, EventType::TaskScheduled);
    let gaps: Vec<i64> = scheduled.windows(2).map(|w| w[1] - w[0]).collect();
    assert_eq!(gaps, [10_000, 20_000, 40_000]);
    // errorMappings put the error into local; `final` (a pass) passes its input (the flow's
    // input merged with local) through, and the flow's output is local.
    assert_eq!(
        outcome.output,
        Some(
            json!({"errMsg": "Biz.Hello on purpose", "errCode": "Biz.Hello", "code": "Biz.Hello"})
        )
    );
}

// ---- execution timeout and stop without calls ---------------------------------------------

#[tokio::test(start_paused = true)]
async fn the_execution_timeout_ends_a_long_wait_as_timed_out() {
    let functions = Functions::start().await;
    let runner = functions.runner().limits(Limits {
        execution_timeout_ms: Some(5_000),
        ..Limits::default()
    });
    let outcome = runner
        .run(&flow("wait-10s.yaml"), json!({}), CancellationToken::new())
        .await
        .unwrap();
    assert_eq!(outcome.status, Status::TimedOut);
    assert_eq!(error_code(&outcome), "FnF.Timeout");
    let started = times_of(&outcome, EventType::ExecutionStarted)[0];
    let timed_out = times_of(&outcome, EventType::ExecutionTimedOut)[0];
    assert_eq!(timed_out - started, 5_000);
}

#[tokio::test(start_paused = true)]
async fn stop_during_a_wait_ends_the_run_at_once() {
    let functions = Functions::start().await;
    let runner = functions.runner();
    let stop = CancellationToken::new();
    let run = tokio::spawn({
        let stop = stop.clone();
        async move { runner.run(&flow("wait-10s.yaml"), json!({}), stop).await }
    });
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.cancel();
    let outcome = run.await.unwrap().unwrap();
    assert_eq!(outcome.status, Status::Stopped);
    let started = times_of(&outcome, EventType::ExecutionStarted)[0];
    let stopped = times_of(&outcome, EventType::ExecutionStopped)[0];
    assert_eq!(stopped - started, 3_000);
}

#[tokio::test(start_paused = true)]
async fn a_wait_far_beyond_any_clock_does_not_overflow() {
    let functions = Functions::start().await;
    let stop = CancellationToken::new();
    let runner = functions.runner();
    let run = tokio::spawn({
        let stop = stop.clone();
        let input = json!({"seconds": 300_000_000_000_u64});
        async move { runner.run(&flow("wait-until.yaml"), input, stop).await }
    });
    tokio::time::sleep(Duration::from_secs(1)).await;
    stop.cancel();
    let outcome = run.await.unwrap().unwrap();
    assert_eq!(outcome.status, Status::Stopped);
}

// ---- asynchronous invocations (`invocationType: Async`) ------------------------------------

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn the_state_is_done_once_the_function_has_the_request_and_the_function_runs_on() {
    let function = Functions::start().await;
    let began = Instant::now();
    let outcome = run(&function, "async-then-pass.yaml", json!({})).await;
    let took = began.elapsed();

    assert_eq!(outcome.status, Status::Succeeded);
    assert!(
        took < WORK,
        "the run took {took:?}, as long as the function"
    );
    assert_eq!(function.ended_yet(), None, "the function is still working");
    let seen = function.seen().await;
    assert_eq!(seen.body, json!({"order": 42}));
    assert_eq!(header(&seen.headers, "x-fc-invocation-type"), Some("Async"));
    let request_id = header(&seen.headers, "x-fc-request-id").expect("a request id");
    assert_eq!(outcome.output, Some(json!({ "RequestId": request_id })));
    assert_eq!(header(&seen.headers, "x-sluice-state"), Some("Submit"));

    assert_eq!(function.invoker.async_invocations_running(), 1);
    function.invoker.finish_async_invocations().await;
    assert!(function.ended().await, "the function worked to the end");
    assert!(began.elapsed() >= WORK);
}

#[tokio::test]
async fn a_stop_does_not_abort_an_accepted_invocation() {
    let function = Functions::start().await;
    let stop = CancellationToken::new();
    let runner = function.runner();
    let flow = flow("async-then-wait.yaml");
    let run = tokio::spawn({
        let stop = stop.clone();
        async move { runner.run(&flow, json!({}), stop).await }
    });
    function.seen().await;
    stop.cancel();
    let outcome = run.await.unwrap().unwrap();
    assert_eq!(outcome.status, Status::Stopped);
    function.invoker.finish_async_invocations().await;
    assert!(
        function.ended().await,
        "the stop did not hang up on the function"
    );
}

#[tokio::test]
async fn wait_for_system_callback_waits_for_the_async_function_to_finish() {
    let function = Functions::start().await;
    let began = Instant::now();
    let outcome = run(&function, "async-system-callback.yaml", json!({})).await;
    assert!(began.elapsed() >= WORK);
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!({"worked": "to the end"})));
    let seen = function.seen().await;
    assert_eq!(header(&seen.headers, "x-fc-invocation-type"), None);
    assert_eq!(function.invoker.async_invocations_running(), 0);
}
