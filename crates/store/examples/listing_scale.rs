//! What listings, totals and metrics cost with 1,000 and with 100,000 executions stored: they
//! read indexed pages and the kept counts, so the time at 100,000 should stay within 2× of the
//! time at 1,000.
//!
//! For each size, a fresh database gets ten flows (five of them DataArts jobs of a workspace)
//! and the executions, spread over the last two hours, 70% succeeded, 10% failed, 20% waiting;
//! the database is reopened, as a server finds it; then the queries below run in turn on both
//! sizes, 50 rounds, and each one's median is reported:
//! - `flow page`: the first 100 executions of one flow with their state (CloudFlow
//!   `ListExecutions`);
//! - `dataarts instances`: the first 10 latest runs of the workspace's jobs, newest first, and
//!   their total (DataArts `instances/detail`);
//! - `functiongraph executions`: the first 200 executions of one workflow of the last 3 days
//!   and their total (`executions-history`);
//! - `functiongraph metrics`: the counts of a day per minute, every flow's (`workflow-statistic`).
//!
//! `cargo run -p sluice-store --example listing_scale [-- POSTGRES_SERVER_URL]`: SQLite always
//! (in the system temp dir), PostgreSQL too given a server URL (a database per size is
//! created on it, e.g. the one `./scripts/pg-throwaway start DIR` prints).

use std::error::Error;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use sluice_engine::{Execution, ExecutionInfo, Input, Limits};
use sluice_ir::Flow;
use sluice_store::postgres::PostgresStore;
use sluice_store::sqlite::SqliteStore;
use sluice_store::{
    CountsQuery, ExecutionFilter, ExecutionId, ExecutionMode, ExecutionName, ExecutionOrder,
    ExecutionQuery, FlowName, FlowRecord, FlowSelection, NewExecution, NewFlow, Page, StepWrite,
    Store, TenantId,
};

const ROUTES: &str = r#"
Type: StateMachine
Name: routes
SpecVersion: v1
StartAt: Route
States:
  - Type: Choice
    Name: Route
    Branches:
      - Condition: $Input.kind == "wait"
        Next: Sleep
      - Condition: $Input.kind == "fail"
        Next: Boom
    Default: Done
  - Type: Wait
    Name: Sleep
    Seconds: 86400
    End: true
  - Type: Fail
    Name: Boom
    Code: Boom
    Detail: it broke
  - Type: Pass
    Name: Done
    End: true
"#;

const SIZES: [usize; 2] = [1_000, 100_000];
const FLOWS: usize = 10;
const RUNS: usize = 50;
const WRITERS: usize = 32;
const WORKSPACE: &str = "ws";
const HOUR_MS: i64 = 3_600_000;

type AnyError = Box<dyn Error + Send + Sync>;

#[tokio::main]
async fn main() -> Result<(), AnyError> {
    let postgres = std::env::args().nth(1);
    let flow = Arc::new(sluice_lang::cloudflow::parse(ROUTES)?);
    let dir = tempfile::tempdir()?;
    let mut backends = vec![None];
    backends.extend(postgres.iter().map(Some));
    for server in backends {
        let mut stores = Vec::new();
        for size in SIZES {
            let place = match server {
                Some(server) => Place::Postgres(fresh_postgres(server).await?),
                None => Place::Sqlite(dir.path().join(format!("bench-{size}.db"))),
            };
            fill(&place.open().await?, &flow, size).await?;
            stores.push(place.open().await?);
        }
        let backend = if server.is_some() {
            "postgresql"
        } else {
            "sqlite"
        };
        report(backend, &stores).await?;
    }
    Ok(())
}

/// Where a database is.
enum Place {
    Sqlite(std::path::PathBuf),
    Postgres(String),
}

impl Place {
    async fn open(&self) -> Result<Arc<dyn Store>, AnyError> {
        Ok(match self {
            Place::Sqlite(path) => Arc::new(SqliteStore::open(path)?),
            Place::Postgres(url) => Arc::new(PostgresStore::connect(url).await?),
        })
    }
}

/// Runs the queries on both stores in turn, `RUNS` rounds, so both see the same load.
async fn report(backend: &str, stores: &[Arc<dyn Store>]) -> Result<(), AnyError> {
    let mut times = vec![vec![Vec::new(); QUERIES.len()]; stores.len()];
    for _ in 0..RUNS {
        for (store, times) in stores.iter().zip(&mut times) {
            for (query, time) in QUERIES.iter().zip(times.iter_mut()) {
                time.push(run(&**store, query).await?);
            }
        }
    }
    let medians: Vec<Vec<Duration>> = times
        .into_iter()
        .map(|per_query| per_query.into_iter().map(median).collect())
        .collect();
    for (size, medians) in SIZES.iter().zip(&medians) {
        for (query, time) in QUERIES.iter().zip(medians) {
            let ms = time.as_secs_f64() * 1000.0;
            println!("{backend:<11} {size:>7} executions  {query:<25} {ms:>8.2} ms");
        }
    }
    for (i, query) in QUERIES.iter().enumerate() {
        let ratio = medians[1][i].as_secs_f64() / medians[0][i].as_secs_f64();
        let verdict = if ratio <= 2.0 {
            "within 2×"
        } else {
            "NOT within 2×"
        };
        println!("{backend:<11} {query:<25} 100,000 / 1,000 = {ratio:.2} ({verdict})");
    }
    Ok(())
}

/// The URL of a fresh database on the PostgreSQL server at `server`.
async fn fresh_postgres(server: &str) -> Result<String, AnyError> {
    let (client, connection) = tokio_postgres::Config::from_str(server)?
        .connect(tokio_postgres::NoTls)
        .await?;
    tokio::spawn(connection);
    let name = format!("bench_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await?;
    let base = server.rsplit_once('/').map_or(server, |(base, _)| base);
    Ok(format!("{base}/{name}"))
}

fn tenant() -> TenantId {
    TenantId::new("bench")
}

fn flow_name(i: usize) -> FlowName {
    FlowName::new(format!("flow-{i}"))
}

/// Ten flows, the first five DataArts jobs of the workspace, and `size` executions.
async fn fill(store: &Arc<dyn Store>, ir: &Arc<Flow>, size: usize) -> Result<(), AnyError> {
    let mut flows = Vec::new();
    for i in 0..FLOWS {
        let tagged = i < FLOWS / 2;
        let flow = NewFlow {
            tenant: tenant(),
            name: flow_name(i),
            description: String::new(),
            definition: ROUTES.into(),
            dialect: if tagged {
                sluice_ir::Dialect::DataArts
            } else {
                sluice_ir::Dialect::CloudFlow
            },
            role_arn: None,
            mode: ExecutionMode::Standard,
            attributes: json!({}),
            tag: tagged.then(|| WORKSPACE.to_string()),
            now: now_ms(),
        };
        flows.push(store.create_flow(flow).await?);
    }
    let flows = Arc::new(flows);
    let started = Instant::now();
    let writers: Vec<_> = (0..WRITERS)
        .map(|writer| {
            let (store, ir, flows) = (store.clone(), ir.clone(), flows.clone());
            tokio::spawn(async move {
                for i in (writer..size).step_by(WRITERS) {
                    start(&*store, &ir, &flows[i % FLOWS], i, size).await?;
                }
                Ok::<_, AnyError>(())
            })
        })
        .collect();
    for writer in writers {
        writer.await??;
    }
    eprintln!(
        "  stored {size} executions in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Execution `i` of `size`: started `2 h × i / size` ago, ending as its kind says.
async fn start(
    store: &dyn Store,
    ir: &Flow,
    flow: &FlowRecord,
    i: usize,
    size: usize,
) -> Result<ExecutionId, AnyError> {
    let name = format!("i{i:012}");
    let ago = i64::try_from(i)? * 2 * HOUR_MS / i64::try_from(size)?;
    let now = now_ms() - ago;
    let kind = match i % 10 {
        7 => "fail",
        8 | 9 => "wait",
        _ => "done",
    };
    let fresh = Execution::new(ExecutionInfo {
        name: name.clone(),
        flow_name: flow.name.to_string(),
        role_arn: None,
        token_prefix: "bench.".into(),
        seed: 7,
        limits: Limits::default(),
        context_ids: None,
    });
    let mut state = fresh.clone();
    let step = state.apply(
        ir,
        Input::Start {
            input: json!({"kind": kind}),
        },
        now,
    )?;
    let new = NewExecution::of(flow, ExecutionName::new(name), now);
    let write = StepWrite::new(ExecutionId(0), 0, &fresh, state, &step);
    Ok(store.create_execution(new, write).await?.id)
}

const QUERIES: [&str; 4] = [
    "flow page",
    "dataarts instances",
    "functiongraph executions",
    "functiongraph metrics",
];

/// One timed run of the query named `query`.
async fn run(store: &dyn Store, query: &str) -> Result<Duration, AnyError> {
    let one_flow = |i: usize| async move {
        let flow = store.get_flow(&tenant(), &flow_name(i)).await?;
        flow.ok_or_else(|| AnyError::from("a flow is missing"))
    };
    let (job, workflow) = (one_flow(0).await?, one_flow(FLOWS - 1).await?);
    let now = now_ms();
    let by_name = ExecutionQuery::of_flow(&tenant(), job.id, &ExecutionFilter::default());
    let started = Instant::now();
    let read = match query {
        "flow page" => store
            .list_executions(&by_name, Page::first(100))
            .await?
            .len(),
        "dataarts instances" => {
            let instances = ExecutionQuery {
                flows: FlowSelection::Live {
                    name: None,
                    tag: Some(WORKSPACE.into()),
                },
                latest_runs: true,
                order: ExecutionOrder::Newest,
                ..by_name
            };
            page_and_total(store, &instances, 10).await?
        }
        "functiongraph executions" => {
            let recent = ExecutionFilter {
                started_from: Some(now - 72 * HOUR_MS),
                ..Default::default()
            };
            let runs = ExecutionQuery::of_flow(&tenant(), workflow.id, &recent);
            page_and_total(store, &runs, 200).await?
        }
        _ => {
            let day = CountsQuery {
                tenant: tenant(),
                flows: FlowSelection::ALL,
                from: now - 24 * HOUR_MS,
                to: now,
            };
            let minutes = store.execution_counts(&day).await?;
            minutes.iter().map(|m| m.started as usize).sum()
        }
    };
    let elapsed = started.elapsed();
    std::hint::black_box(read);
    Ok(elapsed)
}

/// A page of summaries and the total, read at once (as the service reads them).
async fn page_and_total(
    store: &dyn Store,
    query: &ExecutionQuery,
    limit: usize,
) -> Result<usize, AnyError> {
    let (total, page) = tokio::try_join!(
        store.count_executions(query),
        store.list_summaries(query, Page::first(limit))
    )?;
    Ok(page.len() + usize::try_from(total)?)
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since.as_millis()).unwrap_or(i64::MAX)
}
