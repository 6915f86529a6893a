//! Durable `commit_step`s per second through the SQLite store, at concurrency 1 and 32.
//!
//! Each tokio task owns one execution of a Task → Choice loop and feeds it task results as fast
//! as the store commits them, exactly like the runtime: engine `apply`, then `commit_step` (new
//! state, ~5 history events, one task row removed and one added, compare-and-set on the
//! version), fsynced before it returns. Concurrent commits share transactions (group commit),
//! which is what the concurrency-32 run measures.
//!
//! `cargo run --release -p sluice-store --example commit_throughput [-- SECONDS [DIR]]`
//! (default 3 s per run; the database goes in a fresh directory under DIR, default the
//! system temp dir, so put DIR on the disk you want to measure).

use std::error::Error;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sluice_engine::{Execution, ExecutionInfo, Input, Limits, OpId, PendingOp};
use sluice_ir::Flow;
use sluice_store::sqlite::SqliteStore;
use sluice_store::{
    ExecutionId, ExecutionMode, ExecutionName, ExecutionStore, FlowName, FlowStore, NewExecution,
    NewFlow, StepWrite, TenantId,
};

const LOOP: &str = r#"
Type: StateMachine
Name: loop
SpecVersion: v1
StartAt: Call
States:
  - Type: Task
    Name: Call
    Action: FC:InvokeFunction
    Parameters:
      resourceArn: acs:fc:::services/svc.LATEST/functions/f
      body:
        n.$: $Input.n
    Next: Check
  - Type: Choice
    Name: Check
    Branches:
      - Condition: $Input.n < 1000000000
        Next: Call
    Default: Done
  - Type: Pass
    Name: Done
    End: true
"#;

type AnyError = Box<dyn Error + Send + Sync>;

struct Run {
    steps: usize,
    elapsed: Duration,
    latencies: Vec<Duration>,
    db_bytes: u64,
}

#[tokio::main]
async fn main() -> Result<(), AnyError> {
    let mut args = std::env::args().skip(1);
    let seconds: f64 = args.next().map_or(Ok(3.0), |s| s.parse())?;
    let parent = args.next().map_or_else(std::env::temp_dir, PathBuf::from);
    let flow = Arc::new(sluice_lang::cloudflow::parse(LOOP)?);
    println!("concurrency  steps/s   p50 commit  p99 commit  steps   db size");
    for concurrency in [1, 32] {
        let dir = tempfile::tempdir_in(&parent)?;
        let path = dir.path().join("bench.db");
        let run = measure(&path, &flow, concurrency, Duration::from_secs_f64(seconds)).await?;
        report(concurrency, &run);
    }
    Ok(())
}

async fn measure(
    path: &Path,
    flow: &Arc<Flow>,
    concurrency: usize,
    length: Duration,
) -> Result<Run, AnyError> {
    let store = Arc::new(SqliteStore::open(path)?);
    let record = store
        .create_flow(NewFlow {
            tenant: TenantId::new("bench"),
            name: FlowName::new("loop"),
            description: String::new(),
            definition: LOOP.into(),
            dialect: sluice_ir::Dialect::CloudFlow,
            role_arn: None,
            mode: ExecutionMode::Standard,
            attributes: json!({}),
            tag: None,
            now: now_ms(),
        })
        .await?;
    let mut ids = Vec::new();
    for i in 0..concurrency {
        let new = NewExecution::of(&record, ExecutionName::new(format!("e{i}")), now_ms());
        ids.push(start(&store, flow, new).await?);
    }
    let started = Instant::now();
    let deadline = started + length;
    let workers: Vec<_> = ids
        .into_iter()
        .map(|id| tokio::spawn(drive(store.clone(), flow.clone(), id, deadline)))
        .collect();
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let elapsed = started.elapsed();
    drop(store);
    Ok(Run {
        steps: latencies.len(),
        elapsed,
        latencies,
        db_bytes: db_bytes(path),
    })
}

async fn start(
    store: &SqliteStore,
    flow: &Flow,
    new: NewExecution,
) -> Result<ExecutionId, AnyError> {
    let fresh = Execution::new(ExecutionInfo {
        name: new.name.0.clone(),
        flow_name: new.flow_name.0.clone(),
        role_arn: None,
        token_prefix: "bench.".into(),
        seed: 7,
        // A long loop: room for every event it makes.
        limits: Limits {
            max_history_events: u64::MAX / 2,
            ..Limits::default()
        },
        context_ids: None,
    });
    let mut state = fresh.clone();
    let step = state.apply(
        flow,
        Input::Start {
            input: json!({"n": 0}),
        },
        now_ms(),
    )?;
    let write = StepWrite::new(ExecutionId(0), 0, &fresh, state, &step);
    Ok(store.create_execution(new, write).await?.id)
}

/// Answers the pending task call over and over until `deadline`; returns each commit's latency.
async fn drive(
    store: Arc<SqliteStore>,
    flow: Arc<Flow>,
    id: ExecutionId,
    deadline: Instant,
) -> Result<Vec<Duration>, AnyError> {
    let record = store
        .get_execution(id)
        .await?
        .ok_or("the execution vanished")?;
    let (mut state, mut version) = (record.state, record.version);
    let result = task_result();
    let mut latencies = Vec::new();
    while Instant::now() < deadline {
        let op = pending_task(&state).ok_or("no task call is pending")?;
        let before = state.clone();
        let input = Input::TaskCompleted {
            op,
            result: Ok(result.clone()),
        };
        let step = state.apply(&flow, input, now_ms())?;
        let write = StepWrite::new(id, version, &before, state.clone(), &step);
        let commit = Instant::now();
        store.commit_step(write).await?;
        latencies.push(commit.elapsed());
        version += 1;
    }
    Ok(latencies)
}

/// A function answer of a typical size (a few hundred bytes).
fn task_result() -> Value {
    json!({"n": 1, "customer": {"id": "c-0042", "tier": "gold", "tags": ["a", "b", "c"]},
           "note": "x".repeat(200)})
}

fn pending_task(state: &Execution) -> Option<OpId> {
    state.pending_ops().find_map(|op| match op {
        PendingOp::Task { call, .. } => Some(call.op),
        PendingOp::Timer { .. } | PendingOp::Child(_) => None,
    })
}

fn report(concurrency: usize, run: &Run) {
    let mut sorted = run.latencies.clone();
    sorted.sort();
    let at = |q: f64| {
        let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
        sorted.get(index).copied().unwrap_or_default()
    };
    println!(
        "{concurrency:>11}  {:>7.0}  {:>10.2?}  {:>10.2?}  {:>6}  {:>5.1} MiB",
        run.steps as f64 / run.elapsed.as_secs_f64(),
        at(0.50),
        at(0.99),
        run.steps,
        run.db_bytes as f64 / (1024.0 * 1024.0),
    );
}

/// The database file plus its WAL and shared-memory files.
fn db_bytes(path: &Path) -> u64 {
    ["", "-wal", "-shm"]
        .iter()
        .filter_map(|suffix| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            std::fs::metadata(name).ok()
        })
        .map(|m| m.len())
        .sum()
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}
