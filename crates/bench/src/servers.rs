//! The processes the bench runs: the no-op function server and the spawned `sluice serve`.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use anyhow::{Context, bail};

use crate::BenchArgs;
use crate::client::Client;

/// The no-op function: every request is answered `{}`.
pub(crate) async fn start_function_server(port: u16) -> anyhow::Result<SocketAddr> {
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

/// `sluice serve`, run from the running binary (the `sluice` command) on a free port and a temporary data directory; killed
/// when dropped.
pub(crate) struct SpawnedServer {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) data: tempfile::TempDir,
    /// The data lives in a PostgreSQL database, not in `data`.
    pub(crate) external_database: bool,
}

impl SpawnedServer {
    pub(crate) fn start(args: &BenchArgs, function_url: &str) -> anyhow::Result<SpawnedServer> {
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
        if let Some(keep) = &args.retention {
            let config = data.path().join("retention.toml");
            let every = [
                "cloudflow",
                "functiongraph-v2",
                "functiongraph-v1",
                "dataarts",
                "asl",
            ];
            let lines: Vec<String> = every
                .iter()
                .map(|d| format!("\"{d}\" = {keep:?}"))
                .collect();
            std::fs::write(&config, format!("[retention]\n{}\n", lines.join("\n")))
                .context("writing the retention configuration")?;
            command.arg("--config").arg(config);
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

    pub(crate) async fn wait_ready(&self, client: &Client, node: usize) -> anyhow::Result<()> {
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
