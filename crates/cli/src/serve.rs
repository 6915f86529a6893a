//! `sluice serve`: the durable server on the embedded SQLite store.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::Deserialize;
use sluice_runtime::durable::Runtime;
use sluice_runtime::{FunctionEndpoints, Invoker};
use sluice_service::{KeyConfig, LimitsConfig, Service, ServiceConfig, TenantConfig};
use sluice_store::Store;
use sluice_store::postgres::PostgresStore;
use sluice_store::sqlite::SqliteStore;

use crate::functions::FunctionArgs;

/// Development credentials of the default tenant, used when the environment sets none.
const DEV_ACCESS_KEY_ID: &str = "sluice-dev-key";
const DEV_ACCESS_KEY_SECRET: &str = "sluice-dev-secret";
const DEV_ACCOUNT_ID: &str = "1000000000000001";
const DEV_PROJECT_ID: &str = "0000000000000000000000000000dev0";
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_DATA_DIR: &str = "./sluice-data";

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on [default: 127.0.0.1:8080].
    #[arg(long, env = "SLUICE_LISTEN", value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Where the embedded database lives (created on first start) [default: ./sluice-data].
    #[arg(long, env = "SLUICE_DATA_DIR", value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// A PostgreSQL database instead of the embedded SQLite one
    /// (`postgres://user@host:port/db`); migrated at start.
    #[arg(long, env = "SLUICE_DATABASE_URL", value_name = "URL")]
    database: Option<String>,
    /// A TOML configuration file (tenants, keys, limits, functions); see docs/configuration.md.
    #[arg(long, env = "SLUICE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Let DataArts `Shell` nodes run scripts on this machine (each in its own process group,
    /// killed on stop and on timeout). Off unless enabled here or in the configuration file.
    #[arg(long, env = "SLUICE_ALLOW_SHELL")]
    allow_shell: bool,
    /// How long a node sharing a PostgreSQL database may be silent before the others take
    /// over its work (its task calls are made again) [default: 10s].
    #[arg(long, env = "SLUICE_LEASE_TIMEOUT", value_name = "DURATION")]
    lease_timeout: Option<String>,
    #[command(flatten)]
    functions: FunctionArgs,
}

/// The configuration file. Command-line flags and environment variables win over it.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    data_dir: Option<PathBuf>,
    database: Option<String>,
    lease_timeout: Option<String>,
    function_url: Option<String>,
    #[serde(default)]
    functions: HashMap<String, String>,
    #[serde(default)]
    allow_shell: bool,
    #[serde(default)]
    tenants: Vec<TenantConfig>,
    #[serde(default)]
    limits: LimitsConfig,
}

pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_logging();
    let file = match &args.config {
        Some(path) => read_config(path)?,
        None => FileConfig::default(),
    };
    let listen = args
        .listen
        .or(file.listen)
        .unwrap_or(DEFAULT_LISTEN.parse()?);
    let data_dir = args
        .data_dir
        .clone()
        .or(file.data_dir.clone())
        .unwrap_or_else(|| DEFAULT_DATA_DIR.into());
    let mut endpoints = FunctionEndpoints {
        template: file.function_url.clone(),
        functions: file.functions.clone(),
        shell: args.allow_shell || file.allow_shell,
    };
    args.functions.apply(&mut endpoints);
    let config = ServiceConfig {
        tenants: with_default_tenant(file.tenants),
        limits: file.limits,
    };

    let store: Arc<dyn Store> = match args.database.clone().or(file.database.clone()) {
        Some(url) => Arc::new(
            PostgresStore::connect(&url)
                .await
                .context("connecting to the PostgreSQL database")?,
        ),
        None => Arc::new(
            SqliteStore::open(&data_dir.join("sluice.db"))
                .with_context(|| format!("opening the database in {}", data_dir.display()))?,
        ),
    };
    let invoker = Invoker::new(endpoints).context("building the HTTP client for task calls")?;
    let runtime = Runtime::new(store, Arc::new(invoker), Arc::new(sluice_lang::compile));
    runtime.start_background_work();
    let service = Arc::new(Service::new(
        runtime.store().clone(),
        runtime.clone(),
        &config,
    ));
    let lease = lease_timeout(
        args.lease_timeout
            .as_deref()
            .or(file.lease_timeout.as_deref()),
    )?;
    let taken = service
        .start_leases(lease)
        .await
        .context("taking over unfinished work")?;
    tracing::info!(
        calls = taken.calls,
        timers = taken.timers,
        jobs = taken.jobs,
        "took over unfinished work"
    );
    service.start_scheduler();

    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    let store = service.runtime().store().clone();
    let app = sluice_api::http::router(service).route(
        "/metrics",
        axum::routing::get(move || std::future::ready(metrics.render())),
    );
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    announce(&listener.local_addr()?, &data_dir, &config);
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving")?;
    // What is still in flight here is taken over by the other nodes (or the next start).
    if let Err(e) = store.release_lease().await {
        tracing::warn!(error = %e, "ending this node's lease failed; the others wait for it to run out");
    }
    tracing::info!("stopped");
    Ok(())
}

/// `10s`, `1500ms`, `1m`: a friendly duration of at least 100 ms.
fn lease_timeout(text: Option<&str>) -> anyhow::Result<std::time::Duration> {
    let Some(text) = text else {
        return Ok(sluice_service::DEFAULT_LEASE);
    };
    let parsed: jiff::SignedDuration = text
        .parse()
        .with_context(|| format!("--lease-timeout {text:?} is not a duration like 10s"))?;
    let lease = std::time::Duration::try_from(parsed)
        .ok()
        .filter(|d| *d >= std::time::Duration::from_millis(100))
        .with_context(|| format!("--lease-timeout {text:?} must be at least 100ms"))?;
    Ok(lease)
}

fn read_config(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text)
        .with_context(|| format!("{} is not a valid configuration", path.display()))
}

/// The tenant `default`, with the environment's credentials (or the development ones), unless
/// the configuration defines it.
fn with_default_tenant(mut tenants: Vec<TenantConfig>) -> Vec<TenantConfig> {
    if tenants.iter().any(|t| t.id == "default") {
        return tenants;
    }
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    tenants.push(TenantConfig {
        id: "default".into(),
        account_id: env("SLUICE_ACCOUNT_ID", DEV_ACCOUNT_ID),
        project_id: Some(env("SLUICE_PROJECT_ID", DEV_PROJECT_ID)),
        keys: vec![KeyConfig {
            id: env("SLUICE_ACCESS_KEY_ID", DEV_ACCESS_KEY_ID),
            secret: env("SLUICE_ACCESS_KEY_SECRET", DEV_ACCESS_KEY_SECRET),
            actions: vec!["*".into()],
        }],
        rate_limits: Default::default(),
    });
    tenants
}

fn announce(addr: &SocketAddr, data_dir: &Path, config: &ServiceConfig) {
    println!(
        "sluice is listening on http://{addr} (data in {})",
        data_dir.display()
    );
    if let Some(default) = config.tenants.iter().find(|t| t.id == "default")
        && let Some(key) = default.keys.first()
    {
        println!("  CloudFlow endpoint: {addr} (protocol http)");
        println!("  access key id:      {}", key.id);
        println!("  access key secret:  {}", key.secret);
        println!("  account id:         {}", default.account_id);
        if let Some(project) = &default.project_id {
            println!("  Huawei endpoint:    http://{addr} (project id {project})");
        }
    }
}

fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG").unwrap_or_else(|_| "info".into());
    let json = std::env::var("SLUICE_LOG_FORMAT").is_ok_and(|f| f == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
