//! The durable runtime on a real SQLite store, calling a real function server on 127.0.0.1.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::post;
use serde_json::json;
use sluice_engine::{Execution, ExecutionInfo, Input, Limits, Status};
use sluice_ir::Flow;
use sluice_lang::{Dialect, Problem};
use sluice_runtime::durable::{Applied, Runtime};
use sluice_runtime::{FunctionEndpoints, Invoker};
use sluice_store::sqlite::SqliteStore;
use sluice_store::{
    ExecutionId, ExecutionMode, ExecutionName, ExecutionStore, FlowName, FlowRecord, FlowStore,
    NewExecution, NewFlow, NodeStore, StepWrite, TaskRow, TenantId,
};

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

/// The flow `f` of tenant `t` stored from `tests/data/FILE`, and compiled.
async fn stored_flow(store: &SqliteStore, file: &str) -> (Flow, FlowRecord) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(file);
    let text = std::fs::read_to_string(path).unwrap();
    let flow = sluice_lang::cloudflow::parse(&text).unwrap();
    let record = store
        .create_flow(NewFlow {
            tenant: TenantId::new("t"),
            name: FlowName::new("f"),
            description: String::new(),
            definition: text,
            dialect: Dialect::CloudFlow,
            role_arn: None,
            mode: ExecutionMode::Standard,
            attributes: json!({}),
            tag: None,
            now: 1,
        })
        .await
        .unwrap();
    (flow, record)
}

/// An execution of flow `f` named `name`.
fn info(name: &str) -> ExecutionInfo {
    ExecutionInfo {
        name: name.to_string(),
        flow_name: "f".into(),
        role_arn: None,
        token_prefix: format!("{name}-"),
        seed: 1,
        limits: Limits::default(),
        context_ids: None,
    }
}

/// Executions of `file` as a crashed process left them: started, each with its first task
/// call dispatched (a task row) and not answered.
async fn executions_with_a_call_in_flight(
    store: &SqliteStore,
    file: &str,
    names: &[&str],
) -> Vec<TaskRow> {
    let (flow, record) = stored_flow(store, file).await;
    for name in names {
        let fresh = Execution::new(info(name));
        let mut state = fresh.clone();
        let step = state
            .apply(&flow, Input::Start { input: json!({}) }, 1)
            .unwrap();
        let new = NewExecution::of(&record, ExecutionName::new(*name), 1);
        let write = StepWrite::new(ExecutionId(0), 0, &fresh, state, &step);
        store.create_execution(new, write).await.unwrap();
    }
    store
        .take_over(Duration::from_secs(10))
        .await
        .unwrap()
        .tasks
}

#[tokio::test]
async fn an_abort_that_overtakes_its_dispatch_means_the_call_is_never_made() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("sluice.db")).unwrap());
    let tasks =
        executions_with_a_call_in_flight(&store, "headers.yaml", &["aborted", "made"]).await;
    let (calls, template) = counting_functions().await;
    let endpoints = FunctionEndpoints {
        template: Some(template),
        ..FunctionEndpoints::default()
    };
    let runtime = Runtime::new(
        store,
        Arc::new(Invoker::new(endpoints).unwrap()),
        Arc::new(|_: Dialect, _: &str| Err(Problem::new("no definitions here").into())),
    );
    let [aborted, _made] = [&tasks[0], &tasks[1]];

    // The step that aborts the call committed before the one that dispatches it got to it.
    runtime.abort_call(aborted.execution, aborted.call.op);
    runtime.take_up(tasks.clone(), 0);

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

/// Answers nothing, ever; counts the calls it got and the ones whose caller hung up.
async fn hanging_functions() -> (Arc<AtomicUsize>, Arc<AtomicUsize>, String) {
    struct HungUp(Arc<AtomicUsize>);
    impl Drop for HungUp {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }
    let (calls, hung_up) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let (counter, closed) = (calls.clone(), hung_up.clone());
    let app = Router::new().fallback(post(move || {
        counter.fetch_add(1, Ordering::SeqCst);
        let guard = HungUp(closed.clone());
        async move {
            std::future::pending::<()>().await;
            drop(guard);
            axum::Json(json!({}))
        }
    }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });
    (calls, hung_up, format!("http://{addr}/{{function}}"))
}

async fn until(what: &str, condition: impl Fn() -> bool) {
    tokio::time::timeout(Duration::from_secs(5), async {
        while !condition() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{what}"));
}

/// A node on a store in `dir` with two executions of `headers.yaml` named `names`, each with a
/// call to take up, to functions that never answer (their call and hang-up counters).
async fn hanging_node(
    dir: &Path,
    names: [&str; 2],
) -> (
    Arc<SqliteStore>,
    Vec<TaskRow>,
    Arc<Runtime>,
    (Arc<AtomicUsize>, Arc<AtomicUsize>),
) {
    let store = Arc::new(SqliteStore::open(&dir.join("sluice.db")).unwrap());
    let tasks = executions_with_a_call_in_flight(&store, "headers.yaml", &names).await;
    let (calls, hung_up, template) = hanging_functions().await;
    let endpoints = FunctionEndpoints {
        template: Some(template),
        ..FunctionEndpoints::default()
    };
    let runtime = Runtime::new(
        store.clone(),
        Arc::new(Invoker::new(endpoints).unwrap()),
        Arc::new(|_: Dialect, _: &str| Err(Problem::new("no definitions here").into())),
    );
    (store, tasks, runtime, (calls, hung_up))
}

/// A node that missed an abort (its listening connection was down when the stop committed
/// elsewhere) learns of it by checking its calls in flight against the task rows.
#[tokio::test]
async fn a_resync_aborts_the_calls_whose_rows_a_step_elsewhere_removed() {
    let dir = tempfile::tempdir().unwrap();
    let (store, tasks, runtime, (calls, hung_up)) =
        hanging_node(dir.path(), ["stopped", "kept"]).await;
    runtime.take_up(tasks.clone(), 0);
    until("both calls are made", || calls.load(Ordering::SeqCst) == 2).await;

    // Another node stops the first execution: its commit removes the call's row, and its
    // signal is lost.
    let stopped = store
        .get_execution(tasks[0].execution)
        .await
        .unwrap()
        .unwrap();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/headers.yaml"),
    )
    .unwrap();
    let flow = sluice_lang::cloudflow::parse(&text).unwrap();
    let mut after = stopped.state.clone();
    let step = after
        .apply(
            &flow,
            Input::Stop {
                error: None,
                cause: None,
            },
            2,
        )
        .unwrap();
    let write = StepWrite::new(stopped.id, stopped.version, &stopped.state, after, &step);
    store.commit_step(write).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        hung_up.load(Ordering::SeqCst),
        0,
        "nothing told this node yet"
    );

    runtime.resync_calls().await;
    until("the stopped execution's call is closed", || {
        hung_up.load(Ordering::SeqCst) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(hung_up.load(Ordering::SeqCst), 1, "the other call goes on");
}

/// After a database outage longer than the lease the nodes take over each other's calls, and a
/// call can come back to the node still making it. It is not made twice there, and one abort
/// closes it (a second call would have taken its place, and the abort closed only that one).
#[tokio::test]
async fn a_call_taken_up_again_while_in_flight_here_is_made_once_and_one_abort_closes_it() {
    let dir = tempfile::tempdir().unwrap();
    let (_, tasks, runtime, (calls, hung_up)) = hanging_node(dir.path(), ["aborted", "kept"]).await;
    runtime.take_up(tasks.clone(), 0);
    until("both calls are made", || calls.load(Ordering::SeqCst) == 2).await;

    runtime.take_up(tasks.clone(), 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "a call in flight here was made again"
    );

    runtime.abort_call(tasks[0].execution, tasks[0].call.op);
    until("the aborted call is closed", || {
        hung_up.load(Ordering::SeqCst) == 1
    })
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let open = calls.load(Ordering::SeqCst) - hung_up.load(Ordering::SeqCst);
    assert_eq!(open, 1, "only the call that was not aborted is still open");
}

/// Two nodes on one store: what a node keeps of an execution it stepped (the runtime's record
/// cache) is only a guess once another node has moved the execution on. The stale step loses
/// its compare-and-set, runs again on the stored record, and answers from that.
#[tokio::test]
async fn a_step_from_a_stale_kept_record_runs_again_on_the_stored_one() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(SqliteStore::open(&dir.path().join("sluice.db")).unwrap());
    let node = || {
        Runtime::new(
            store.clone(),
            Arc::new(Invoker::new(FunctionEndpoints::default()).unwrap()),
            Arc::new(|_: Dialect, text: &str| sluice_lang::cloudflow::parse(text)),
        )
    };
    let (a, b) = (node(), node());
    let (flow, record) = stored_flow(&store, "wait-10s.yaml").await;
    let new = NewExecution::of(&record, ExecutionName::new("e"), 1);
    let started = a.start(new, &flow, info("e"), json!({})).await.unwrap();
    let stop = || Input::Stop {
        error: Some("Stopped.ByB".into()),
        cause: None,
    };

    // Node b stops it: node a still keeps it as it started, running, at version 1.
    let Applied::Committed(stopped, _) = b.submit(started.id, stop()).await.unwrap() else {
        panic!("b's stop is refused");
    };
    assert_eq!((stopped.status(), stopped.version), (Status::Stopped, 2));

    // Node a's stop from what it keeps would commit over b's; it is refused by what is stored.
    match a.submit(started.id, stop()).await.unwrap() {
        Applied::Rejected(_, current) => {
            assert_eq!((current.status(), current.version), (Status::Stopped, 2));
        }
        Applied::Committed(record, _) => panic!("a stepped a stopped execution: {record:?}"),
    }
    let stored = store.get_execution(started.id).await.unwrap().unwrap();
    assert_eq!((stored.status(), stored.version), (Status::Stopped, 2));
    assert_eq!(
        stored.state.error().map(|e| e.code.as_str()),
        Some("Stopped.ByB"),
        "b's stop is the one stored"
    );
}
