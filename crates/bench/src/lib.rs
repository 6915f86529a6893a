//! The load generator behind `sluice bench`: drives a `sluice serve` over real HTTP with signed
//! CloudFlow RPC requests and prints throughput, latency and resource figures.
//! `docs/benchmarks.md` explains the numbers.
//!
//! By default the bench spawns its own server (the running binary, which must be the `sluice`
//! command, as `serve`, on a free port and a temporary data directory) and kills it at the end;
//! `--endpoint` benchmarks a running one. With `--nodes N` (and `--database`) it spawns N
//! servers on one PostgreSQL database and spreads the load over them; a stop goes to another
//! node than the one that started its execution. Task states call a no-op function server the
//! bench runs on 127.0.0.1.
//!
//! - [`scenarios`]: what each scenario does, and the definitions it creates.
//! - [`load`]: runs an operation with N workers, timing each.
//! - [`native`]: the native API's scenarios (listing, event streams).
//! - [`stepfunctions`]: the Step Functions scenario (SigV4-signed AWS JSON requests).
//! - [`client`]: the signing CloudFlow RPC client (and the native API's Basic GETs).
//! - [`servers`]: the spawned `sluice serve` and the no-op function server.
//! - [`measure`]: CPU, memory and disk of the processes, from /proc.
//! - [`report`]: the results table.

mod client;
mod load;
mod measure;
mod native;
mod report;
mod scenarios;
mod servers;
mod stepfunctions;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::bail;

use client::Client;
use measure::Resources;
use report::{Row, print_summary};
pub use scenarios::Scenario;
use scenarios::{Bench, ORDER};
use servers::{SpawnedServer, start_function_server};

/// The development credentials `sluice serve` gives its default tenant.
const DEV_ACCESS_KEY_ID: &str = "sluice-dev-key";
const DEV_ACCESS_KEY_SECRET: &str = "sluice-dev-secret";

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Benchmark the server already listening at ADDR (127.0.0.1 only) instead of spawning one.
    /// Start it with --function-url http://127.0.0.1:PORT/{service}/{function} and pass the same
    /// PORT as --function-port.
    #[arg(long, value_name = "ADDR")]
    pub(crate) endpoint: Option<SocketAddr>,
    /// The key that signs requests (a spawned server is given the same key).
    #[arg(long, env = "SLUICE_ACCESS_KEY_ID", default_value = DEV_ACCESS_KEY_ID)]
    pub(crate) access_key_id: String,
    /// The secret of --access-key-id.
    #[arg(
        long,
        env = "SLUICE_ACCESS_KEY_SECRET",
        default_value = DEV_ACCESS_KEY_SECRET,
        hide_env_values = true
    )]
    pub(crate) access_key_secret: String,
    /// Give the spawned server this PostgreSQL database instead of the embedded SQLite one
    /// (its size is then not reported).
    #[arg(long, value_name = "URL")]
    pub(crate) database: Option<String>,
    /// Spawn this many servers on the --database, and spread the load over them.
    #[arg(long, default_value_t = 1, value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=8))]
    pub(crate) nodes: u32,
    /// Scenarios to run (repeatable).
    #[arg(
        long = "scenario",
        value_enum,
        default_value = "all",
        value_name = "NAME"
    )]
    pub(crate) scenarios: Vec<Scenario>,
    /// How long each closed-loop run of pass1, pass10 and http10 lasts.
    #[arg(long, default_value_t = 10, value_name = "SECS",
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) duration: u64,
    /// Client concurrency of the closed-loop runs and of the StopExecution phase (repeatable).
    #[arg(long = "concurrency", default_values_t = [1, 32], value_name = "N",
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub(crate) concurrency: Vec<u32>,
    /// Port of the bench's no-op function server [default: any free port].
    #[arg(long, default_value_t = 0, value_name = "PORT")]
    pub(crate) function_port: u16,
    /// Executions started, then stopped, per concurrency of the `stop` scenario.
    #[arg(long, default_value_t = 10_000, value_name = "N")]
    pub(crate) stop_count: usize,
    /// Executions started before the `native-list` scenario times the listing.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub(crate) list_count: usize,
    /// Event streams the `events` scenario holds open.
    #[arg(long, default_value_t = 200, value_name = "N")]
    pub(crate) sse_clients: usize,
    /// Executions started (and left waiting) by the `waiting` scenario.
    #[arg(long, default_value_t = 100_000, value_name = "N")]
    pub(crate) waiting_count: usize,
    /// The size in bytes of the input the closed-loop runs (pass1, pass10, http10, retention)
    /// start each execution with: `{"pad":"xx…"}`; 0 is `{}`.
    #[arg(long, default_value_t = 0, value_name = "BYTES",
          value_parser = clap::value_parser!(u64).range(0..=262_144))]
    pub(crate) input_bytes: u64,
    /// How long spawned servers keep finished executions (`[retention]` of every dialect,
    /// e.g. `3s`); without it, each dialect's default.
    #[arg(long, value_name = "DURATION")]
    pub(crate) retention: Option<String>,
}

/// Runs the scenarios `args` asks for and prints their figures.
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
        bench
            .run(scenario, &servers, &mut rows, &mut resources)
            .await?;
    }
    resources.push(Resources::measure("at the end", &servers));
    print_summary(&rows, &resources);
    Ok(())
}
