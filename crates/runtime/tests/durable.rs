//! The durable runtime on a real SQLite store, calling a real function server on 127.0.0.1.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use serde_json::json;
use sluice_engine::{Effect, Execution, ExecutionInfo, Input, Limits, TaskCall};
use sluice_lang::{Dialect, Problem};
use sluice_runtime::durable::Runtime;
use sluice_runtime::{FunctionEndpoints, Invoker};
use sluice_store::sqlite::SqliteStore;
use sluice_store::{ExecutionId, TaskRow};

/// A function server that counts the calls it gets; its URL template.
async fn counting_functions() -> (Arc<AtomicUsize>, String) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = Router::new().fallback(post(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        async { axum::Json(json!({})) }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (calls, format!("http://{addr}/{{function}}"))
}

/// The task calls a fresh execution of `file` dispatches at its start.
fn first_calls(file: &str) -> Vec<TaskCall> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let flow = sluice_lang::cloudflow::parse(&std::fs::read_to_string(path).unwrap()).unwrap();
    let info = ExecutionInfo {
        name: "e".into(),
        flow_name: "f".into(),
        role_arn: None,
        token_prefix: "e-".into(),
        seed: 1,
        limits: Limits::default(),
    };
    let step = Execution::new(info)
        .apply(&flow, Input::Start { input: json!({}) }, 1)
        .unwrap();
    step.effects
        .into_iter()
        .filter_map(|e| match e {
            Effect::Dispatch(call) => Some(call),
            _ => None,
        })
        .collect()
}

#[tokio::test]
async fn an_abort_that_overtakes_its_dispatch_means_the_call_is_never_made() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("sluice.db")).unwrap();
    let (calls, template) = counting_functions().await;
    let endpoints = FunctionEndpoints {
        template: Some(template),
        ..FunctionEndpoints::default()
    };
    let runtime = Runtime::new(
        Arc::new(store),
        Arc::new(Invoker::new(endpoints).unwrap()),
        Arc::new(|_: Dialect, _: &str| Err(Problem::new("no definitions here").into())),
    );
    let call = first_calls("headers.yaml").pop().expect("a call");
    let (aborted, made) = (ExecutionId(1), ExecutionId(2));

    // The step that aborts the call committed before the one that dispatches it got to it.
    runtime.abort_call(aborted, call.op);
    let tasks = [aborted, made].map(|execution| TaskRow {
        execution,
        call: call.clone(),
    });
    runtime.take_up(tasks.to_vec(), 0);

    tokio::time::timeout(Duration::from_secs(5), async {
        while calls.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the call that was not aborted is made");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(calls.load(Ordering::SeqCst), 1, "the aborted call was made");
}
