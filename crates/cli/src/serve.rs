//! `sluice serve`: the durable server, on the embedded SQLite store or on PostgreSQL.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use serde::Deserialize;
use sluice_runtime::durable::Runtime;
use sluice_runtime::outbound::{self, Allowlist, Outbound};
use sluice_runtime::{FunctionEndpoints, Invoker, MockConfig};
use sluice_service::{
    KeyConfig, LimitsConfig, RetentionConfig, Service, ServiceConfig, TenantConfig,
};
use sluice_store::postgres::PostgresStore;
use sluice_store::sqlite::SqliteStore;
use sluice_store::{Store, TenantId};

use crate::functions::FunctionArgs;
use crate::http::{HttpArgs, HttpSection};

/// The development tenant: served when the configuration defines no tenant (or names it
/// without keys); its credentials are the environment's, or these development ones.
const DEVELOPMENT_TENANT: &str = "default";
const DEV_ACCESS_KEY_ID: &str = "sluice-dev-key";
const DEV_ACCESS_KEY_SECRET: &str = "sluice-dev-secret";
const DEV_ACCOUNT_ID: &str = "1000000000000001";
/// AWS's account ids are 12 digits.
const DEV_AWS_ACCOUNT_ID: &str = "100000000001";
const DEV_PROJECT_ID: &str = "0000000000000000000000000000dev0";
const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
const DEFAULT_DATA_DIR: &str = "./sluice-data";

pub const LONG_ABOUT: &str = "Serve every API on one port, durably: \
Alibaba Cloud CloudFlow (RPC on /, signed HMAC-SHA1), and the Huawei Cloud REST services, \
signed SDK-HMAC-SHA256: FunctionGraph workflows v2 (/v2/{project}/fgs/workflows), the legacy \
v1.0 workflows (/v1.0/{project}/cloud_graphs), DataArts Factory jobs and instances \
(/v1/{project}/jobs) and the GES graph lifecycle (/v1.0/{project}/graphs, /v2/{project}/graphs); \
AWS Step Functions (AWS JSON 1.0 on / with X-Amz-Target, signed with Signature Version 4). \
/healthz answers ok; /metrics serves Prometheus metrics (behind a key if --metrics-key is set).\n\n\
Data lives in an embedded SQLite database (--data-dir, the default) or in PostgreSQL \
(--database), where several nodes can share one database and each other's work. Tenants, \
keys and their permissions, limits and function endpoints come from the --config file; \
docs/configuration.md describes every setting.";

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
    /// How long a node sharing a PostgreSQL database may be silent before the others take
    /// over its work (its task calls are made again) [default: 10s].
    #[arg(long, env = "SLUICE_LEASE_TIMEOUT", value_name = "DURATION")]
    lease_timeout: Option<String>,
    /// A mock configuration file as Step Functions Local reads it (`StateMachines`,
    /// `MockedResponses`): an execution started under one of its test cases
    /// (`STATE_MACHINE_ARN#TestCase`) gets the answers it gives instead of calling the states
    /// it mocks; see docs/stepfunctions.md.
    #[arg(long, env = "SFN_MOCK_CONFIG", value_name = "FILE")]
    mock_config: Option<PathBuf>,
    #[command(flatten)]
    functions: FunctionArgs,
    #[command(flatten)]
    http: HttpArgs,
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
    /// Buckets by name: the folder each is kept in.
    #[serde(default)]
    buckets: HashMap<String, PathBuf>,
    #[serde(default)]
    tenants: Vec<TenantConfig>,
    #[serde(default)]
    limits: LimitsConfig,
    #[serde(default)]
    http: HttpSection,
    #[serde(default)]
    retention: RetentionConfig,
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
        shell: file.allow_shell,
    };
    args.functions.apply(&mut endpoints);
    let http = args.http.settings(&file.http)?;
    let config = ServiceConfig {
        tenants: with_development_tenant(file.tenants),
        limits: file.limits,
    };
    config
        .check()
        .context("the configured tenants cannot be served")?;
    let retention = file.retention.retention()?;
    refuse_public_development_secret(&listen, &config)?;
    let mocks = match &args.mock_config {
        Some(path) => MockConfig::load(path)?,
        None => MockConfig::default(),
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
    let buckets = args.functions.buckets(&file.buckets)?;
    let invoker = Invoker::new(endpoints)
        .context("building the HTTP client for task calls")?
        .outbound(outbound_of(&config))
        .buckets(buckets)
        .mocks(mocks);
    let runtime = Runtime::new(store, Arc::new(invoker), Arc::new(sluice_lang::compile));
    runtime.start_background_work();
    let service = Arc::new(Service::new(
        runtime.store().clone(),
        runtime.clone(),
        &config,
    ));
    // Before any work is taken over: a task taken up may start an execution.
    service.serve_nested_executions();
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
    service.start_retention(retention);

    let metrics = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .context("installing the metrics recorder")?;
    let metrics = sluice_api::http::Metrics {
        render: Arc::new(move || metrics.render()),
        key: http.metrics_key,
    };
    let store = service.runtime().store().clone();
    let app = sluice_api::http::router(service, &http.limits, Some(metrics));
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("listening on {listen}"))?;
    announce(&listener.local_addr()?, &data_dir, &config);
    sluice_api::http::serve(listener, app, &http.limits, shutdown_signal()).await;
    // What is still in flight here is taken over by the other nodes (or the next start).
    if let Err(e) = store.release_lease().await {
        tracing::warn!(error = %e, "ending this node's lease failed; the others wait for it to run out");
    }
    tracing::info!("stopped");
    Ok(())
}

/// `10s`, `1500ms`, `1m`: a friendly duration of at least 100 ms.
fn lease_timeout(text: Option<&str>) -> anyhow::Result<std::time::Duration> {
    match text {
        Some(text) => crate::http::duration(
            "--lease-timeout",
            text,
            std::time::Duration::from_millis(100),
        ),
        None => Ok(sluice_service::DEFAULT_LEASE),
    }
}

fn read_config(path: &Path) -> anyhow::Result<FileConfig> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    toml::from_str(&text)
        .with_context(|| format!("{} is not a valid configuration", path.display()))
}

/// The tenants to serve: the configured ones, or with none configured the development tenant;
/// a configured `default` tenant without keys is the development tenant asked for by name.
fn with_development_tenant(mut tenants: Vec<TenantConfig>) -> Vec<TenantConfig> {
    if tenants.is_empty() {
        return vec![development_tenant(TenantConfig {
            id: DEVELOPMENT_TENANT.into(),
            ..TenantConfig::default()
        })];
    }
    for tenant in &mut tenants {
        if tenant.id == DEVELOPMENT_TENANT && tenant.keys.is_empty() {
            *tenant = development_tenant(std::mem::take(tenant));
        }
    }
    tenants
}

/// Fills a tenant with the environment's credentials (or the development ones); unless it says
/// otherwise, its definitions may reach loopback addresses, so local use works as is.
fn development_tenant(mut tenant: TenantConfig) -> TenantConfig {
    let env =
        |name: &str, default: &str| std::env::var(name).unwrap_or_else(|_| default.to_string());
    if tenant.account_id.is_empty() {
        tenant.account_id = env("SLUICE_ACCOUNT_ID", DEV_ACCOUNT_ID);
    }
    tenant
        .aws_account_id
        .get_or_insert_with(|| env("SLUICE_AWS_ACCOUNT_ID", DEV_AWS_ACCOUNT_ID));
    tenant
        .project_id
        .get_or_insert_with(|| env("SLUICE_PROJECT_ID", DEV_PROJECT_ID));
    tenant.keys = vec![KeyConfig {
        id: env("SLUICE_ACCESS_KEY_ID", DEV_ACCESS_KEY_ID),
        secret: env("SLUICE_ACCESS_KEY_SECRET", DEV_ACCESS_KEY_SECRET),
        actions: vec!["*".into()],
        allow_unsigned_payload: false,
    }];
    tenant.outbound.get_or_insert_with(outbound::loopback);
    tenant
}

/// The development secret is public: a server holding it listens on loopback only.
fn refuse_public_development_secret(
    listen: &SocketAddr,
    config: &ServiceConfig,
) -> anyhow::Result<()> {
    if listen.ip().is_loopback() {
        return Ok(());
    }
    let public = config.tenants.iter().find_map(|tenant| {
        tenant
            .keys
            .iter()
            .find(|key| key.secret == DEV_ACCESS_KEY_SECRET)
            .map(|key| (tenant, key))
    });
    match public {
        None => Ok(()),
        Some((tenant, key)) => anyhow::bail!(
            "the key {} of tenant {} has the public development secret, so the server listens \
             on loopback only (127.0.0.1 or ::1), not {listen}: set SLUICE_ACCESS_KEY_SECRET, or \
             configure tenants (docs/configuration.md)",
            key.id,
            tenant.id
        ),
    }
}

/// Each tenant's allowlist of the targets its definitions name; none configured, nothing.
fn outbound_of(config: &ServiceConfig) -> Outbound {
    Outbound::PerTenant(
        config
            .tenants
            .iter()
            .map(|tenant| {
                let rules = tenant.outbound.clone().unwrap_or_default();
                (TenantId::new(tenant.id.clone()), Allowlist::new(rules))
            })
            .collect(),
    )
}

/// The endpoints and, per tenant, its ids and key ids; never a secret.
fn announce(addr: &SocketAddr, data_dir: &Path, config: &ServiceConfig) {
    println!(
        "sluice is listening on http://{addr} (data in {})",
        data_dir.display()
    );
    println!("  CloudFlow endpoint: {addr} (protocol http)");
    println!("  Huawei endpoint:    http://{addr}");
    for tenant in &config.tenants {
        let keys: Vec<&str> = tenant.keys.iter().map(|k| k.id.as_str()).collect();
        println!(
            "  tenant {}: account id {} (AWS {}), project id {}, access key ids {}",
            tenant.id,
            or_none(&tenant.account_id),
            or_none(
                tenant
                    .aws_account_id
                    .as_deref()
                    .unwrap_or(&tenant.account_id)
            ),
            or_none(tenant.project_id.as_deref().unwrap_or_default()),
            or_none(&keys.join(", "))
        );
        if tenant
            .keys
            .iter()
            .any(|k| k.secret == DEV_ACCESS_KEY_SECRET)
        {
            println!(
                "    (the development credentials, for local use only: see docs/configuration.md)"
            );
        }
    }
}

fn or_none(text: &str) -> &str {
    if text.is_empty() { "(none)" } else { text }
}

fn init_logging() {
    let filter =
        tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG").unwrap_or_else(|_| "info".into());
    let json = std::env::var("SLUICE_LOG_FORMAT").is_ok_and(|f| f == "json");
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn tenants_of(text: &str) -> ServiceConfig {
        let file: FileConfig = toml::from_str(text).expect("parses");
        ServiceConfig {
            tenants: with_development_tenant(file.tenants),
            limits: file.limits,
        }
    }

    #[test]
    fn the_documented_configuration_is_served_as_documented() {
        let doc = include_str!("../../../docs/configuration.md");
        let example = doc
            .split("```toml\n")
            .nth(1)
            .and_then(|rest| rest.split("```").next())
            .expect("docs/configuration.md has a TOML example");
        let config = tenants_of(example);
        assert_eq!(config.check(), Ok(()));
        let ids: Vec<&str> = config.tenants.iter().map(|t| t.id.as_str()).collect();
        assert_eq!(
            ids,
            ["team-a"],
            "no development tenant beside configured ones"
        );
        let public: SocketAddr = "0.0.0.0:8080".parse().expect("an address");
        assert!(refuse_public_development_secret(&public, &config).is_ok());
    }

    #[test]
    fn the_development_tenant_is_there_without_tenants_or_when_named() {
        let none = tenants_of("");
        assert_eq!(none.tenants.len(), 1);
        let development = &none.tenants[0];
        assert_eq!(development.id, DEVELOPMENT_TENANT);
        assert_eq!(development.keys.len(), 1);
        assert_eq!(development.outbound, Some(outbound::loopback()));
        let named = tenants_of(
            "[[tenants]]\nid = \"default\"\noutbound = [\"10.0.0.0/8\"]\n\
             [[tenants]]\nid = \"t\"\n[[tenants.keys]]\nid = \"k\"\nsecret = \"s\"\n",
        );
        assert_eq!(named.tenants[0].keys.len(), 1, "filled in");
        assert_eq!(
            named.tenants[0].outbound.as_ref().map(Vec::len),
            Some(1),
            "its own allowlist kept"
        );
        assert_eq!(named.tenants[1].outbound, None);
    }

    #[test]
    fn the_development_secret_is_refused_off_loopback() {
        let with_secret = tenants_of(&format!(
            "[[tenants]]\nid = \"t\"\n[[tenants.keys]]\nid = \"k\"\nsecret = \"{DEV_ACCESS_KEY_SECRET}\"\n"
        ));
        for loopback in ["127.0.0.1:8080", "[::1]:8080"] {
            let at: SocketAddr = loopback.parse().expect("an address");
            assert!(refuse_public_development_secret(&at, &with_secret).is_ok());
        }
        let public: SocketAddr = "10.0.0.5:8080".parse().expect("an address");
        let refused = refuse_public_development_secret(&public, &with_secret)
            .expect_err("refused")
            .to_string();
        assert!(refused.contains("the key k of tenant t"), "{refused}");
        assert!(refused.contains("loopback"), "{refused}");
    }
}
