//! Task actions other than function calls: the built-in HTTP request and shell script
//! (DataArts `RESTAPI` and `Shell` nodes), and actions mapped to an endpoint by the
//! configuration (any other DataArts node type).
//!
//! Cancellation is as for function calls: when the task no longer matters, the request is
//! dropped (its connection closed) or the script's whole process group is killed.

use std::process::Stdio;

use reqwest::Method;
use serde_json::{Value, json};
use sluice_ir::{TaskError, actions};
use tokio::io::AsyncReadExt;
use tokio_util::sync::CancellationToken;

use sluice_store::TenantId;

use crate::invoke::{CallOrigin, Invoker, codes};

/// Codes of failed built-in actions.
pub mod action_codes {
    /// The HTTP request answered non-2xx.
    pub const HTTP_FAILED: &str = "Sluice.HttpRequestFailed";
    /// The script exited non-zero or was killed.
    pub const SCRIPT_FAILED: &str = "Sluice.ScriptFailed";
    /// The tenant's outbound allowlist refused the request's target (no connection made).
    pub const OUTBOUND_REFUSED: &str = "Sluice.OutboundRefused";
}

/// How much of a script's output a result keeps.
const MAX_OUTPUT_BYTES: usize = 64 * 1024;

impl Invoker {
    /// Whether this server can perform `action` (built in, or mapped to an endpoint).
    pub fn supports(&self, action: &str) -> bool {
        match action {
            actions::HTTP
            | actions::HTTP_TASK
            | actions::EVENT
            | actions::READ_ITEMS
            | actions::WRITE_RESULTS => true,
            actions::SHELL => self.endpoints().shell,
            other => self.endpoints().functions.contains_key(other),
        }
    }

    pub(crate) async fn act(
        &self,
        origin: &CallOrigin,
        call: &sluice_engine::TaskCall,
        action: &str,
        cancel: &CancellationToken,
    ) -> Result<Value, TaskError> {
        let work = async {
            match action {
                actions::HTTP => self.http_request(origin.tenant.as_ref(), &call.body).await,
                actions::HTTP_TASK => self.http_task(origin.tenant.as_ref(), &call.body).await,
                // The submission of an event wait: accepted at once, the event is the report.
                actions::EVENT => Ok(json!({})),
                actions::READ_ITEMS => self.bucket_store().read_items(&call.body).await,
                actions::WRITE_RESULTS => self.bucket_store().write_results(&call.body).await,
                actions::SHELL if self.endpoints().shell => run_script(&call.body, cancel).await,
                other => match self.endpoints().functions.get(other) {
                    Some(url) => self.post(origin, call, url).await,
                    None => Err(not_supported(other)),
                },
            }
        };
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(TaskError::new(codes::CANCELLED, "the task call was aborted")),
            result = work => result,
        }
    }

    /// A request to `url` with `headers`, once the tenant's outbound allowlist let it: it goes
    /// to the address that was checked, and the server still hears the URL's host name.
    pub(crate) async fn checked_request(
        &self,
        tenant: Option<&TenantId>,
        method: Method,
        url: &str,
        headers: &[(String, String)],
    ) -> Result<reqwest::RequestBuilder, TaskError> {
        let (client, outbound) = self.targets();
        let (pinned, host) = outbound.check(tenant, url).await.map_err(|refused| {
            TaskError::new(action_codes::OUTBOUND_REFUSED, refused.to_string())
        })?;
        let mut request = client.request(method, pinned);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        let named_host = headers.iter().any(|(n, _)| n.eq_ignore_ascii_case("host"));
        if let Some(host) = host.filter(|_| !named_host) {
            request = request.header(reqwest::header::HOST, host);
        }
        Ok(request)
    }

    /// `{url, method, headers, body}` → the answer's JSON (or `{"status", "body"}` text). The
    /// URL is the definition's: the tenant's outbound allowlist decides before any connection,
    /// and the request goes to the address that was checked.
    async fn http_request(
        &self,
        tenant: Option<&TenantId>,
        spec: &Value,
    ) -> Result<Value, TaskError> {
        let url = spec["url"].as_str().unwrap_or_default();
        let method = Method::from_bytes(spec["method"].as_str().unwrap_or("POST").as_bytes())
            .map_err(|_| TaskError::new(codes::ACTION_NOT_SUPPORTED, "bad HTTP method"))?;
        let headers: Vec<(String, String)> = spec["headers"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(name, value)| {
                let value = value
                    .as_str()
                    .map_or_else(|| value.to_string(), str::to_string);
                (name.clone(), value)
            })
            .collect();
        let mut request = self.checked_request(tenant, method, url, &headers).await?;
        if let Some(body) = spec["body"].as_str() {
            request = request.body(body.to_string());
        }
        let response = request.send().await.map_err(|e| {
            TaskError::new(
                codes::CONNECTION_FAILED,
                format!("requesting {url} failed: {e}"),
            )
        })?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            return Err(TaskError::new(
                action_codes::HTTP_FAILED,
                format!(
                    "{url} answered HTTP {}: {}",
                    status.as_u16(),
                    truncate(&text)
                ),
            ));
        }
        Ok(serde_json::from_str(&text)
            .unwrap_or_else(|_| json!({"status": status.as_u16(), "body": text})))
    }
}

fn not_supported(action: &str) -> TaskError {
    TaskError::new(
        codes::ACTION_NOT_SUPPORTED,
        format!("no endpoint is configured for the action {action}"),
    )
}

/// Runs `{script}` with `sh -c` in a process group of its own; on cancellation the whole group
/// is killed, so no child of the script outlives a stop or a timeout.
async fn run_script(spec: &Value, cancel: &CancellationToken) -> Result<Value, TaskError> {
    let script = spec["script"].as_str().unwrap_or_default();
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| {
            TaskError::new(action_codes::SCRIPT_FAILED, format!("cannot start sh: {e}"))
        })?;
    let group = child.id();
    let guard = GroupKiller(group);
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let outcome = tokio::select! {
        biased;
        () = cancel.cancelled() => None,
        status = async {
            let (out, err) = tokio::join!(read_all(stdout.as_mut()), read_all(stderr.as_mut()));
            (child.wait().await, out, err)
        } => Some(status),
    };
    drop(guard);
    let Some((status, out, err)) = outcome else {
        return Err(TaskError::new(codes::CANCELLED, "the script was killed"));
    };
    let status = status
        .map_err(|e| TaskError::new(action_codes::SCRIPT_FAILED, format!("waiting for sh: {e}")))?;
    if status.success() {
        Ok(json!({"exitCode": 0, "stdout": out, "stderr": err}))
    } else {
        Err(TaskError::new(
            action_codes::SCRIPT_FAILED,
            format!("the script exited with {status}: {}", truncate(&err)),
        ))
    }
}

async fn read_all<R: tokio::io::AsyncRead + Unpin>(reader: Option<&mut R>) -> String {
    let mut bytes = Vec::new();
    if let Some(reader) = reader {
        let _ = reader
            .take(MAX_OUTPUT_BYTES as u64)
            .read_to_end(&mut bytes)
            .await;
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

/// Kills a script's process group when dropped (also after it exited: its children may not).
struct GroupKiller(Option<u32>);

impl Drop for GroupKiller {
    fn drop(&mut self) {
        if let Some(pid) = self.0.and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: kill(2) with a negative pid signals that process group; it touches no
            // memory of ours. The group was created for this script (process_group(0)).
            unsafe {
                libc::kill(-pid, libc::SIGKILL);
            }
        }
    }
}

fn truncate(text: &str) -> String {
    text.chars().take(200).collect()
}
