//! Asynchronous invocations (`invocationType: Async`) through `LocalRunner`, against a real
//! function server on 127.0.0.1 that answers slowly: the state is done once the function has
//! the request, the function runs on, and a stop does not abort it.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{Value, json};
use sluice_engine::Status;
use sluice_ir::Flow;
use sluice_runtime::{FunctionEndpoints, Invoker, LocalRunner};
use tokio::sync::{Mutex, mpsc};
use tokio_util::sync::CancellationToken;

/// How long the `slow` function works before it answers.
const WORK: Duration = Duration::from_secs(2);

/// What the `slow` function saw.
#[derive(Debug)]
struct Seen {
    headers: HeaderMap,
    body: Value,
}

struct Probe {
    entered: mpsc::UnboundedSender<Seen>,
    /// `true` when the handler worked to the end, `false` when it was dropped mid-way (the
    /// caller hung up).
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

async fn slow(
    State(probe): State<Arc<Probe>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    let mut guard = EndGuard {
        completed: false,
        ended: probe.ended.clone(),
    };
    let _ = probe.entered.send(Seen { headers, body });
    tokio::time::sleep(WORK).await;
    guard.completed = true;
    Json(json!({ "worked": "to the end" }))
}

struct Function {
    invoker: Invoker,
    entered: Mutex<mpsc::UnboundedReceiver<Seen>>,
    ended: Mutex<mpsc::UnboundedReceiver<bool>>,
}

impl Function {
    async fn start() -> Function {
        let (entered_tx, entered) = mpsc::unbounded_channel();
        let (ended_tx, ended) = mpsc::unbounded_channel();
        let probe = Arc::new(Probe {
            entered: entered_tx,
            ended: ended_tx,
        });
        let app = Router::new().route("/slow", post(slow)).with_state(probe);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let endpoints = FunctionEndpoints {
            template: Some(format!("http://{addr}/{{function}}")),
            ..FunctionEndpoints::default()
        };
        Function {
            invoker: Invoker::new(endpoints).unwrap(),
            entered: Mutex::new(entered),
            ended: Mutex::new(ended),
        }
    }

    fn runner(&self) -> LocalRunner {
        LocalRunner::new(self.invoker.clone()).name("async-exec")
    }

    async fn seen(&self) -> Seen {
        self.entered.lock().await.recv().await.expect("a call")
    }

    fn ended_yet(&self) -> Option<bool> {
        self.ended.try_lock().ok()?.try_recv().ok()
    }

    async fn ended(&self) -> bool {
        self.ended.lock().await.recv().await.expect("an end")
    }
}

fn flow(file: &str) -> Flow {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    sluice_lang::cloudflow::parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

#[tokio::test]
async fn the_state_is_done_once_the_function_has_the_request_and_the_function_runs_on() {
    let function = Function::start().await;
    let began = Instant::now();
    let outcome = function
        .runner()
        .run(
            &flow("async-then-pass.yaml"),
            json!({}),
            CancellationToken::new(),
        )
        .await
        .unwrap();
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
    let function = Function::start().await;
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
    let function = Function::start().await;
    let began = Instant::now();
    let outcome = function
        .runner()
        .run(
            &flow("async-system-callback.yaml"),
            json!({}),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert!(began.elapsed() >= WORK);
    assert_eq!(outcome.status, Status::Succeeded);
    assert_eq!(outcome.output, Some(json!({"worked": "to the end"})));
    let seen = function.seen().await;
    assert_eq!(header(&seen.headers, "x-fc-invocation-type"), None);
    assert_eq!(function.invoker.async_invocations_running(), 0);
}

#[tokio::test]
async fn an_async_invocation_nobody_can_take_fails_the_task() {
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
    let outcome = LocalRunner::new(Invoker::new(endpoints).unwrap())
        .run(
            &flow("async-then-pass.yaml"),
            json!({}),
            CancellationToken::new(),
        )
        .await
        .unwrap();
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(
        outcome.error.map(|e| e.code.as_str().to_string()),
        Some("FC.ConnectionFailed".to_string())
    );
}
