//! `sluice bench`: drives a `sluice serve` over real HTTP with signed CloudFlow RPC requests and
//! prints throughput, latency and resource figures. `docs/benchmarks.md` explains the numbers.
//!
//! By default the bench spawns its own server (this same binary, `serve`, on a free port and a
//! temporary data directory) and kills it at the end; `--endpoint` benchmarks a running one.
//! With `--nodes N` (and `--database`) it spawns N servers on one PostgreSQL database and
//! spreads the load over them; a stop goes to another node than the one that started its
//! execution.
//! Task states call a no-op function server the bench runs on 127.0.0.1.

use std::collections::BTreeMap;
use std::future::Future;
use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow, bail};
use reqwest::Method;
use serde_json::Value;
use sluice_api::signature::alibaba::{canonical_query, sign};

/// The development credentials `sluice serve` gives its default tenant (see serve.rs).
const DEV_ACCESS_KEY_ID: &str = "sluice-dev-key";
const DEV_ACCESS_KEY_SECRET: &str = "sluice-dev-secret";
const API_VERSION: &str = "2019-03-15";
/// Concurrency of the StartExecution phase of `stop` (fixed, as the scenario prescribes).
const STOP_START_CONCURRENCY: usize = 32;
/// Concurrency of the StartExecution phase of `waiting`.
const WAITING_CONCURRENCY: usize = 64;
/// Upper bound on the wall time of one counted phase (10,000 starts, 100,000 starts, …).
const PHASE_LIMIT: Duration = Duration::from_secs(900);
/// Long-poll of DescribeExecution, and how many polls an execution may take before it counts
/// as a failure.
const WAIT_TIME_SECONDS: &str = "60";
const MAX_POLLS: usize = 5;
/// Statuses an execution ends in.
const TERMINAL: [&str; 4] = ["Succeeded", "Failed", "TimedOut", "Stopped"];

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Benchmark the server already listening at ADDR (127.0.0.1 only) instead of spawning one.
    /// Start it with --function-url http://127.0.0.1:PORT/{service}/{function} and pass the same
    /// PORT as --function-port.
    #[arg(long, value_name = "ADDR")]
    endpoint: Option<SocketAddr>,
    /// The key that signs requests (a spawned server is given the same key).
    #[arg(long, env = "SLUICE_ACCESS_KEY_ID", default_value = DEV_ACCESS_KEY_ID)]
    access_key_id: String,
    /// The secret of --access-key-id.
    #[arg(
        long,
        env = "SLUICE_ACCESS_KEY_SECRET",
        default_value = DEV_ACCESS_KEY_SECRET,
        hide_env_values = true
    )]
    access_key_secret: String,
    /// Give the spawned server this PostgreSQL database instead of the embedded SQLite one
    /// (its size is then not reported).
    #[arg(long, value_name = "URL")]
    database: Option<String>,
    /// Spawn this many servers on the --database, and spread the load over them.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=8))]
    nodes: u32,
    /// Scenarios to run (repeatable).
    #[arg(
        long = "scenario",
        value_enum,
        default_value = "all",
        value_name = "NAME"
    )]
    scenarios: Vec<Scenario>,
    /// How long each closed-loop run of pass1, pass10 and http10 lasts.
    #[arg(long, default_value_t = 10, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    duration: u64,
    /// Client concurrency of the closed-loop runs and of the StopExecution phase (repeatable).
    #[arg(long = "concurrency", default_values_t = [1, 32], value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    concurrency: Vec<u32>,
    /// Port of the bench's no-op function server [default: any free port].
    #[arg(long, default_value_t = 0, value_name = "PORT")]
    function_port: u16,
    /// Executions started, then stopped, per concurrency of the `stop` scenario.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    stop_count: usize,
    /// Executions started (and left waiting) by the `waiting` scenario.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    waiting_count: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Scenario {
    /// One Pass state.
    Pass1,
    /// Ten Pass states.
    Pass10,
    /// Ten Task states, each calling the no-op function.
    Http10,
    /// Start executions of a 300 s Wait flow, then stop them.
    Stop,
    /// Start executions of a 1 h Wait flow; report server memory and database size.
    Waiting,
    /// Every scenario.
    All,
}

const ORDER: [Scenario; 5] = [
    Scenario::Pass1,
    Scenario::Pass10,
    Scenario::Http10,
    Scenario::Stop,
    Scenario::Waiting,
];

pub async fn bench(args: BenchArgs) -> anyhow::Result<()> {
    let functions = start_function_server(args.function_port).await?;
    let function_url = format!("http://{functions}/{{service}}/{{function}}");
    let servers = match args.endpoint {
        Some(addr) => {
            if !addr.ip().is_loopback() {
                bail!("--endpoint must be a 127.0.0.1 address, got {addr}");
            }
            if args.nodes > 1 {
                bail!("--nodes spawns servers; it cannot be used with --endpoint");
            }
            println!(
                "benchmarking the server at {addr}; it must run with --function-url {function_url}"
            );
            Vec::new()
        }
        None => {
            if args.nodes > 1 && args.database.is_none() {
                bail!("--nodes {} needs a shared --database", args.nodes);
            }
            (0..args.nodes)
                .map(|_| SpawnedServer::start(&args, &function_url))
                .collect::<anyhow::Result<Vec<_>>>()?
        }
    };
    let addrs: Vec<SocketAddr> = match args.endpoint {
        Some(endpoint) => vec![endpoint],
        None => servers.iter().map(|s| s.addr).collect(),
    };
    let client = Arc::new(Client::new(&addrs, &args)?);
    for (node, server) in servers.iter().enumerate() {
        server.wait_ready(&client, node).await?;
        println!(
            "spawned sluice serve (pid {}) on {} with data in {}",
            server.child.id(),
            server.addr,
            match &args.database {
                Some(_) => "the PostgreSQL database".to_string(),
                None => server.data.path().display().to_string(),
            }
        );
    }

    let scenarios: Vec<Scenario> = if args.scenarios.contains(&Scenario::All) {
        ORDER.to_vec()
    } else {
        ORDER
            .into_iter()
            .filter(|s| args.scenarios.contains(s))
            .collect()
    };
    let run_id = &uuid::Uuid::new_v4().simple().to_string()[..8];
    let mut rows = Vec::new();
    let mut resources = Vec::new();
    println!("{}", Row::HEADER);
    for scenario in scenarios {
        let bench = Bench {
            client: client.clone(),
            args: &args,
            run_id,
            server_pids: servers.iter().map(|s| s.child.id()).collect(),
        };
        match scenario {
            Scenario::Pass1 => {
                bench
                    .closed_loop("pass1", &|n| pass_flow(n, 1), 1, &mut rows)
                    .await?
            }
            Scenario::Pass10 => {
                bench
                    .closed_loop("pass10", &|n| pass_flow(n, 10), 1, &mut rows)
                    .await?
            }
            Scenario::Http10 => {
                bench
                    .closed_loop("http10", &|n| task_flow(n, 10), 11, &mut rows)
                    .await?
            }
            Scenario::Stop => bench.stop(&mut rows).await?,
            Scenario::Waiting => {
                resources.push(Resources::measure("before waiting", &servers));
                bench.waiting(&mut rows).await?;
                resources.push(Resources::measure(
                    &format!("after {} waiting", args.waiting_count),
                    &servers,
                ));
            }
            Scenario::All => unreachable!("expanded above"),
        }
    }
    resources.push(Resources::measure("at the end", &servers));
    print_summary(&rows, &resources);
    Ok(())
}

/// One scenario run's shared context.
struct Bench<'a> {
    client: Arc<Client>,
    args: &'a BenchArgs,
    run_id: &'a str,
    server_pids: Vec<u32>,
}

impl Bench<'_> {
    async fn meter(&self) -> Meter {
        Meter {
            steps: self.client.steps_committed().await,
            server_pids: self.server_pids.clone(),
            server_cpu: servers_cpu_time(&self.server_pids),
            bench_cpu: cpu_time("self"),
        }
    }

    /// Creates a flow named after the scenario and this run; `definition` gets the name.
    async fn create_flow(
        &self,
        scenario: &str,
        definition: &dyn Fn(&str) -> String,
    ) -> anyhow::Result<Arc<str>> {
        let name = format!("bench-{scenario}-{}", self.run_id);
        self.client
            .call(
                0,
                Method::POST,
                "CreateFlow",
                &[
                    ("Name", &name),
                    ("Definition", &definition(&name)),
                    ("Description", "sluice bench"),
                    ("Type", "FDL"),
                ],
            )
            .await
            .with_context(|| format!("creating the flow of {scenario}"))?;
        Ok(name.into())
    }

    /// pass1, pass10, http10: `concurrency` clients each start an execution and long-poll it to
    /// its end, again and again, for `--duration`.
    async fn closed_loop(
        &self,
        scenario: &str,
        definition: &dyn Fn(&str) -> String,
        steps_per_execution: u64,
        rows: &mut Vec<Row>,
    ) -> anyhow::Result<()> {
        let flow = self.create_flow(scenario, definition).await?;
        for &concurrency in &self.args.concurrency {
            let client = self.client.clone();
            let flow = flow.clone();
            let meter = self.meter().await;
            let phase = drive(
                concurrency as usize,
                usize::MAX,
                Duration::from_secs(self.args.duration),
                move |i| {
                    let client = client.clone();
                    let flow = flow.clone();
                    async move {
                        client
                            .run_to_end(i, &flow, &format!("c{concurrency}-{i}"))
                            .await
                    }
                },
            )
            .await;
            let usage = meter.finish(&self.client).await;
            rows.push(Row::new(
                scenario,
                "start→end",
                concurrency as usize,
                phase,
                steps_per_execution,
                usage,
            ));
        }
        Ok(())
    }

    /// stop: per concurrency, start `--stop-count` executions of a 300 s Wait flow (32 at a
    /// time), then stop them all with `concurrency` clients.
    async fn stop(&self, rows: &mut Vec<Row>) -> anyhow::Result<()> {
        let flow = self.create_flow("stop", &|n| wait_flow(n, 300)).await?;
        for &concurrency in &self.args.concurrency {
            let prefix: Arc<str> = format!("s{concurrency}").into();
            let meter = self.meter().await;
            let phase = self
                .start_many(&flow, &prefix, self.args.stop_count, STOP_START_CONCURRENCY)
                .await;
            let usage = meter.finish(&self.client).await;
            rows.push(Row::new(
                "stop",
                "start",
                STOP_START_CONCURRENCY,
                phase,
                1,
                usage,
            ));

            let client = self.client.clone();
            let flow = flow.clone();
            let meter = self.meter().await;
            let phase = drive(
                concurrency as usize,
                self.args.stop_count,
                PHASE_LIMIT,
                move |i| {
                    let client = client.clone();
                    let flow = flow.clone();
                    let prefix = prefix.clone();
                    // Another node than the one that started it, when there are several.
                    async move { client.stop(i + 1, &flow, &format!("{prefix}-{i}")).await }
                },
            )
            .await;
            let usage = meter.finish(&self.client).await;
            rows.push(Row::new(
                "stop",
                "stop",
                concurrency as usize,
                phase,
                1,
                usage,
            ));
        }
        Ok(())
    }

    /// waiting: start `--waiting-count` executions of a 1 h Wait flow and leave them waiting.
    async fn waiting(&self, rows: &mut Vec<Row>) -> anyhow::Result<()> {
        let flow = self.create_flow("waiting", &|n| wait_flow(n, 3600)).await?;
        let meter = self.meter().await;
        let phase = self
            .start_many(&flow, "w", self.args.waiting_count, WAITING_CONCURRENCY)
            .await;
        let usage = meter.finish(&self.client).await;
        rows.push(Row::new(
            "waiting",
            "start",
            WAITING_CONCURRENCY,
            phase,
            1,
            usage,
        ));
        Ok(())
    }

    /// Starts executions `{prefix}-0` … `{prefix}-{count - 1}` of `flow`.
    async fn start_many(
        &self,
        flow: &Arc<str>,
        prefix: &str,
        count: usize,
        concurrency: usize,
    ) -> Phase {
        let client = self.client.clone();
        let flow = flow.clone();
        let prefix: Arc<str> = prefix.into();
        drive(concurrency, count, PHASE_LIMIT, move |i| {
            let client = client.clone();
            let flow = flow.clone();
            let prefix = prefix.clone();
            async move { client.start(i, &flow, &format!("{prefix}-{i}")).await }
        })
        .await
    }
}

/// Counters at the beginning of a phase.
struct Meter {
    steps: Option<u64>,
    server_pids: Vec<u32>,
    server_cpu: Option<Duration>,
    bench_cpu: Option<Duration>,
}

/// How much the server did, and how much CPU both sides used, during a phase.
struct Usage {
    steps: Option<u64>,
    server_cpu: Option<Duration>,
    bench_cpu: Option<Duration>,
}

impl Meter {
    async fn finish(self, client: &Client) -> Usage {
        let since = |before: Option<Duration>, after: Option<Duration>| {
            Some(after?.saturating_sub(before?))
        };
        let steps = client.steps_committed().await;
        Usage {
            steps: steps.zip(self.steps).map(|(a, b)| a.saturating_sub(b)),
            server_cpu: since(self.server_cpu, servers_cpu_time(&self.server_pids)),
            bench_cpu: since(self.bench_cpu, cpu_time("self")),
        }
    }
}

/// CPU time of all the spawned servers together (none without a spawned server).
fn servers_cpu_time(pids: &[u32]) -> Option<Duration> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|pid| cpu_time(&pid.to_string())).sum()
}

/// CPU time (user + system, all threads) of a process (`self` or a pid), from /proc.
fn cpu_time(pid: &str) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces; utime and stime are fields 14 and 15
    // of the line, so the 12th and 13th after the name.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks = fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?;
    // /proc counts in USER_HZ, which Linux fixes at 100 for user space.
    Some(Duration::from_millis(ticks * 10))
}

/// What one phase measured.
struct Phase {
    latencies: Vec<Duration>,
    failures: usize,
    first_error: Option<String>,
    wall: Duration,
}

/// Runs `op(0)`, `op(1)`, … with `concurrency` workers until `count` operations ran or `limit`
/// elapsed, timing each.
async fn drive<F, Fut>(concurrency: usize, count: usize, limit: Duration, op: F) -> Phase
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = anyhow::Result<()>> + Send,
{
    let began = Instant::now();
    let deadline = began + limit;
    let next = Arc::new(AtomicUsize::new(0));
    let op = Arc::new(op);
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let next = next.clone();
            let op = op.clone();
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                let mut failures = 0;
                let mut first_error = None;
                while Instant::now() < deadline {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= count {
                        break;
                    }
                    let started = Instant::now();
                    match op(i).await {
                        Ok(()) => latencies.push(started.elapsed()),
                        Err(error) => {
                            failures += 1;
                            first_error.get_or_insert_with(|| format!("{error:#}"));
                        }
                    }
                }
                (latencies, failures, first_error)
            })
        })
        .collect();
    let mut phase = Phase {
        latencies: Vec::new(),
        failures: 0,
        first_error: None,
        wall: Duration::ZERO,
    };
    for worker in workers {
        match worker.await {
            Ok((latencies, failures, first_error)) => {
                phase.latencies.extend(latencies);
                phase.failures += failures;
                if phase.first_error.is_none() {
                    phase.first_error = first_error;
                }
            }
            Err(error) => {
                phase.failures += 1;
                phase.first_error.get_or_insert_with(|| error.to_string());
            }
        }
    }
    phase.wall = began.elapsed();
    phase.latencies.sort_unstable();
    phase
}

/// A signing CloudFlow RPC client of one or more nodes; operation `i` goes to node
/// `i % nodes`.
struct Client {
    http: reqwest::Client,
    bases: Vec<String>,
    key_id: String,
    secret: String,
}

impl Client {
    fn new(addrs: &[SocketAddr], args: &BenchArgs) -> anyhow::Result<Client> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .pool_max_idle_per_host(256)
            .timeout(Duration::from_secs(120))
            .build()
            .context("building the HTTP client")?;
        Ok(Client {
            http,
            bases: addrs.iter().map(|addr| format!("http://{addr}")).collect(),
            key_id: args.access_key_id.clone(),
            secret: args.access_key_secret.clone(),
        })
    }

    /// One signed RPC request, every parameter in the query string; the JSON answer.
    async fn call(
        &self,
        node: usize,
        method: Method,
        action: &str,
        fields: &[(&str, &str)],
    ) -> anyhow::Result<Value> {
        let timestamp = jiff::Timestamp::now()
            .strftime("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let nonce = uuid::Uuid::new_v4().simple().to_string();
        let params: BTreeMap<String, String> = [
            ("Action", action),
            ("Format", "json"),
            ("Version", API_VERSION),
            ("Timestamp", &timestamp),
            ("SignatureNonce", &nonce),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("AccessKeyId", &self.key_id),
        ]
        .into_iter()
        .chain(fields.iter().copied())
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let signature = sign(method.as_str(), &params, &self.secret);
        let url = format!(
            "{}/?{}&Signature={}",
            self.bases[node % self.bases.len()],
            canonical_query(&params),
            escape_base64(&signature)
        );
        let response = self
            .http
            .request(method, url)
            .send()
            .await
            .with_context(|| format!("{action}: sending"))?;
        let status = response.status();
        let text = response
            .text()
            .await
            .with_context(|| format!("{action}: reading the answer"))?;
        if !status.is_success() {
            bail!("{action}: HTTP {status}: {text}");
        }
        serde_json::from_str(&text).with_context(|| format!("{action}: the answer is not JSON"))
    }

    async fn start(&self, node: usize, flow: &str, name: &str) -> anyhow::Result<()> {
        self.call(
            node,
            Method::POST,
            "StartExecution",
            &[("FlowName", flow), ("ExecutionName", name), ("Input", "{}")],
        )
        .await
        .map(drop)
    }

    /// Starts an execution and long-polls it until it ends, on one node; it must succeed.
    async fn run_to_end(&self, node: usize, flow: &str, name: &str) -> anyhow::Result<()> {
        self.start(node, flow, name).await?;
        for _ in 0..MAX_POLLS {
            let answer = self
                .call(
                    node,
                    Method::GET,
                    "DescribeExecution",
                    &[
                        ("FlowName", flow),
                        ("ExecutionName", name),
                        ("WaitTimeSeconds", WAIT_TIME_SECONDS),
                    ],
                )
                .await?;
            match status(&answer)? {
                "Succeeded" => return Ok(()),
                other if TERMINAL.contains(&other) => bail!("{name} ended {other}"),
                _ => {}
            }
        }
        bail!("{name} did not end after {MAX_POLLS} long polls")
    }

    async fn stop(&self, node: usize, flow: &str, name: &str) -> anyhow::Result<()> {
        let answer = self
            .call(
                node,
                Method::POST,
                "StopExecution",
                &[
                    ("FlowName", flow),
                    ("ExecutionName", name),
                    ("Error", "Bench"),
                    ("Cause", "stopped by sluice bench"),
                ],
            )
            .await?;
        match status(&answer)? {
            "Stopped" => Ok(()),
            other => bail!("{name} is {other} after StopExecution"),
        }
    }

    /// `sluice_steps_committed_total` summed over the nodes, if they all serve /metrics.
    async fn steps_committed(&self) -> Option<u64> {
        let mut total = 0;
        for node in 0..self.bases.len() {
            total += self.node_steps_committed(node).await?;
        }
        Some(total)
    }

    async fn node_steps_committed(&self, node: usize) -> Option<u64> {
        let response = self
            .http
            .get(format!("{}/metrics", self.bases[node]))
            .send()
            .await
            .ok()?;
        if !response.status().is_success() {
            return None;
        }
        let text = response.text().await.ok()?;
        // A counter appears once it is first incremented.
        let value = text
            .lines()
            .find_map(|line| line.strip_prefix("sluice_steps_committed_total "))
            .map_or(Some(0.0), |v| v.trim().parse::<f64>().ok())?;
        Some(value as u64)
    }
}

fn status(answer: &Value) -> anyhow::Result<&str> {
    answer["Status"]
        .as_str()
        .ok_or_else(|| anyhow!("the answer has no Status: {answer}"))
}

/// Query-escapes a base64 value (`+`, `/`, `=` are its only reserved characters).
fn escape_base64(text: &str) -> String {
    text.replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D")
}

fn pass_flow(name: &str, states: usize) -> String {
    let mut text =
        format!("Type: StateMachine\nName: {name}\nSpecVersion: v1\nStartAt: S1\nStates:\n");
    for i in 1..=states {
        text.push_str(&format!("  - Type: Pass\n    Name: S{i}\n"));
        text.push_str(&next_or_end("S", i, states));
    }
    text
}

fn task_flow(name: &str, states: usize) -> String {
    let mut text =
        format!("Type: StateMachine\nName: {name}\nSpecVersion: v1\nStartAt: T1\nStates:\n");
    for i in 1..=states {
        text.push_str(&format!(
            "  - Type: Task\n    Name: T{i}\n    Action: FC:InvokeFunction\n    Parameters:\n      \
             resourceArn: acs:fc:::services/bench/functions/noop\n      body:\n        step: {i}\n"
        ));
        text.push_str(&next_or_end("T", i, states));
    }
    text
}

fn next_or_end(prefix: &str, i: usize, states: usize) -> String {
    if i == states {
        "    End: true\n".into()
    } else {
        format!("    Next: {prefix}{}\n", i + 1)
    }
}

fn wait_flow(name: &str, seconds: u64) -> String {
    format!(
        "Type: StateMachine\nName: {name}\nSpecVersion: v1\nStartAt: Sleep\nStates:\n  \
         - Type: Wait\n    Name: Sleep\n    Seconds: {seconds}\n    End: true\n"
    )
}

/// The no-op function: every request is answered `{}`.
async fn start_function_server(port: u16) -> anyhow::Result<SocketAddr> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
        .await
        .with_context(|| format!("binding the function server to 127.0.0.1:{port}"))?;
    let addr = listener.local_addr()?;
    let app =
        axum::Router::new().fallback(|| std::future::ready(axum::Json(serde_json::json!({}))));
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            eprintln!("the no-op function server stopped: {error}");
        }
    });
    Ok(addr)
}

/// `sluice serve`, run from this binary on a free port and a temporary data directory; killed
/// when dropped.
struct SpawnedServer {
    child: Child,
    addr: SocketAddr,
    data: tempfile::TempDir,
    /// The data lives in a PostgreSQL database, not in `data`.
    external_database: bool,
}

impl SpawnedServer {
    fn start(args: &BenchArgs, function_url: &str) -> anyhow::Result<SpawnedServer> {
        let data = tempfile::Builder::new()
            .prefix("sluice-bench-")
            .tempdir()
            .context("creating the data directory")?;
        let addr = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("finding a free port")?;
        let exe = std::env::current_exe().context("locating the sluice binary")?;
        let mut command = Command::new(exe);
        command
            .arg("serve")
            .arg("--listen")
            .arg(addr.to_string())
            .arg("--data-dir")
            .arg(data.path())
            .arg("--function-url")
            .arg(function_url)
            .env_remove("SLUICE_CONFIG")
            .env("SLUICE_ACCESS_KEY_ID", &args.access_key_id)
            .env("SLUICE_ACCESS_KEY_SECRET", &args.access_key_secret)
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if let Some(database) = &args.database {
            command.arg("--database").arg(database);
        }
        if std::env::var_os("SLUICE_LOG").is_none() {
            command.env("SLUICE_LOG", "warn");
        }
        let child = command.spawn().context("spawning sluice serve")?;
        Ok(SpawnedServer {
            child,
            addr,
            data,
            external_database: args.database.is_some(),
        })
    }

    async fn wait_ready(&self, client: &Client, node: usize) -> anyhow::Result<()> {
        for _ in 0..200 {
            if client.node_steps_committed(node).await.is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!(
            "the spawned server did not answer on {} within 10 s",
            self.addr
        )
    }
}

impl Drop for SpawnedServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Server memory and database size at one moment (only for a spawned server).
struct Resources {
    when: String,
    rss_bytes: Option<u64>,
    data_bytes: Option<u64>,
}

impl Resources {
    /// RSS summed over the servers; the data directory only of a server on SQLite.
    fn measure(when: &str, servers: &[SpawnedServer]) -> Resources {
        let rss = servers.iter().map(|s| rss_bytes(s.child.id())).sum();
        let data = match servers {
            [server] if !server.external_database => dir_bytes(server.data.path()).ok(),
            _ => None,
        };
        Resources {
            when: when.to_string(),
            rss_bytes: if servers.is_empty() { None } else { rss },
            data_bytes: data,
        }
    }
}

/// VmRSS of a process, from /proc.
fn rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("VmRSS:"))?;
    let kib: u64 = line.trim().trim_end_matches("kB").trim().parse().ok()?;
    Some(kib * 1024)
}

/// Total size of the files under `dir`.
fn dir_bytes(dir: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

/// One line of the results table.
struct Row {
    scenario: String,
    phase: &'static str,
    concurrency: usize,
    ok: usize,
    failures: usize,
    first_error: Option<String>,
    per_second: f64,
    p50: Duration,
    p90: Duration,
    p99: Duration,
    steps_estimated: f64,
    steps_metric: Option<f64>,
    server_cores: Option<f64>,
    bench_cores: Option<f64>,
}

impl Row {
    const HEADER: &str = "scenario  phase      conc       ok  err      ops/s   p50 ms   p90 ms   p99 ms  steps/s est  steps/s metric  srv cpu  bch cpu";

    fn new(
        scenario: &str,
        phase_name: &'static str,
        concurrency: usize,
        phase: Phase,
        steps_per_op: u64,
        usage: Usage,
    ) -> Row {
        let secs = phase.wall.as_secs_f64().max(f64::EPSILON);
        let ok = phase.latencies.len();
        let row = Row {
            scenario: scenario.to_string(),
            phase: phase_name,
            concurrency,
            ok,
            failures: phase.failures,
            first_error: phase.first_error,
            per_second: ok as f64 / secs,
            p50: percentile(&phase.latencies, 0.50),
            p90: percentile(&phase.latencies, 0.90),
            p99: percentile(&phase.latencies, 0.99),
            steps_estimated: (ok as u64 * steps_per_op) as f64 / secs,
            steps_metric: usage.steps.map(|s| s as f64 / secs),
            server_cores: usage.server_cpu.map(|c| c.as_secs_f64() / secs),
            bench_cores: usage.bench_cpu.map(|c| c.as_secs_f64() / secs),
        };
        println!("{row}");
        if let Some(error) = &row.first_error {
            println!("    first error: {error}");
        }
        row
    }
}

impl std::fmt::Display for Row {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        let show = |value: Option<f64>, digits: usize| {
            value.map_or_else(|| "n/a".to_string(), |v| format!("{v:.digits$}"))
        };
        write!(
            f,
            "{:<9} {:<9} {:>5} {:>8} {:>4} {:>10.1} {:>8.2} {:>8.2} {:>8.2} {:>12.0} {:>15} {:>8} {:>8}",
            self.scenario,
            self.phase,
            self.concurrency,
            self.ok,
            self.failures,
            self.per_second,
            ms(self.p50),
            ms(self.p90),
            ms(self.p99),
            self.steps_estimated,
            show(self.steps_metric, 0),
            show(self.server_cores, 2),
            show(self.bench_cores, 2)
        )
    }
}

/// The value at quantile `q` of sorted `values` (nearest rank).
fn percentile(values: &[Duration], q: f64) -> Duration {
    if values.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * values.len() as f64).ceil() as usize;
    values[rank.clamp(1, values.len()) - 1]
}

fn print_summary(rows: &[Row], resources: &[Resources]) {
    println!();
    println!("== results ==");
    println!("{}", Row::HEADER);
    for row in rows {
        println!("{row}");
    }
    println!();
    println!(
        "ops: executions run start to end (start→end), StartExecution calls (start) or \
         StopExecution calls (stop); latencies are per op."
    );
    println!(
        "durable step = one committed engine step (one store transaction). steps/s est = \
         (starts + task completions + timer firings + stops) / wall time: 1 per pass1/pass10 \
         execution, 11 per http10 execution, 1 per start, 1 per stop. steps/s metric = the \
         server's sluice_steps_committed_total over the phase / wall time."
    );
    println!(
        "srv cpu / bch cpu: CPU time (user + system) the spawned server / the bench used during \
         the phase, in cores (1.00 = one core busy the whole phase)."
    );
    println!();
    println!("== server resources ==");
    let mib = |b: Option<u64>| {
        b.map_or_else(
            || "n/a".to_string(),
            |b| format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0)),
        )
    };
    for r in resources {
        println!(
            "{:<24} RSS {:<14} database {}",
            r.when,
            mib(r.rss_bytes),
            mib(r.data_bytes)
        );
    }
    if resources.iter().all(|r| r.rss_bytes.is_none()) {
        println!("(RSS, database size and server CPU need a server the bench spawned)");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_the_nearest_rank() {
        let values: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        assert_eq!(percentile(&values, 0.50), Duration::from_millis(50));
        assert_eq!(percentile(&values, 0.99), Duration::from_millis(99));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn generated_definitions_compile() {
        for text in [
            pass_flow("p", 1),
            pass_flow("p", 10),
            task_flow("t", 10),
            wait_flow("w", 300),
        ] {
            assert!(sluice_lang::cloudflow::parse(&text).is_ok(), "{text}");
        }
    }
}
