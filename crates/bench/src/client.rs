//! A signing CloudFlow RPC client, as the CloudFlow SDKs call: HMAC-SHA1 signature v1, every
//! parameter in the query string.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use reqwest::Method;
use serde_json::Value;
use sluice_api::signature::alibaba::{canonical_query, sign};

use crate::BenchArgs;

const API_VERSION: &str = "2019-03-15";
/// Long-poll of DescribeExecution, and how many polls an execution may take before it counts
/// as a failure.
const WAIT_TIME_SECONDS: &str = "60";
const MAX_POLLS: usize = 5;
/// Statuses an execution ends in.
const TERMINAL: [&str; 4] = ["Succeeded", "Failed", "TimedOut", "Stopped"];

/// A signing CloudFlow RPC client of one or more nodes; operation `i` goes to node
/// `i % nodes`.
pub(crate) struct Client {
    http: reqwest::Client,
    bases: Vec<String>,
    key_id: String,
    secret: String,
}

impl Client {
    pub(crate) fn new(addrs: &[SocketAddr], args: &BenchArgs) -> anyhow::Result<Client> {
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

    /// The base URL of the node operation `i` goes to.
    pub(crate) fn base(&self, i: usize) -> &str {
        &self.bases[i % self.bases.len()]
    }

    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The access key id and secret requests are signed with.
    pub(crate) fn credentials(&self) -> (&str, &str) {
        (&self.key_id, &self.secret)
    }

    /// One signed RPC request, every parameter in the query string; the JSON answer.
    pub(crate) async fn call(
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
        // A POST carries its business fields in a form body, as the SDKs send them: a large
        // `Input` does not fit in a URL.
        let (query, form): (BTreeMap<String, String>, BTreeMap<String, String>) =
            if method == Method::POST {
                params
                    .into_iter()
                    .partition(|(k, _)| !fields.iter().any(|(f, _)| f == k))
            } else {
                (params, BTreeMap::new())
            };
        let url = format!(
            "{}/?{}&Signature={}",
            self.bases[node % self.bases.len()],
            canonical_query(&query),
            escape_base64(&signature)
        );
        let mut request = self.http.request(method, url);
        if !form.is_empty() {
            request = request
                .header("content-type", "application/x-www-form-urlencoded")
                .body(canonical_query(&form));
        }
        json_answer(action, request).await
    }

    pub(crate) async fn start(&self, node: usize, flow: &str, name: &str) -> anyhow::Result<()> {
        self.start_with(node, flow, name, "{}").await
    }

    pub(crate) async fn start_with(
        &self,
        node: usize,
        flow: &str,
        name: &str,
        input: &str,
    ) -> anyhow::Result<()> {
        self.call(
            node,
            Method::POST,
            "StartExecution",
            &[
                ("FlowName", flow),
                ("ExecutionName", name),
                ("Input", input),
            ],
        )
        .await
        .map(drop)
    }

    /// Starts an execution with `input` and long-polls it until it ends, on one node; it must
    /// succeed.
    pub(crate) async fn run_to_end(
        &self,
        node: usize,
        flow: &str,
        name: &str,
        input: &str,
    ) -> anyhow::Result<()> {
        self.start_with(node, flow, name, input).await?;
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

    pub(crate) async fn stop(&self, node: usize, flow: &str, name: &str) -> anyhow::Result<()> {
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

    /// The name of the distributed Map run the execution started (its `MapRunStarted` event),
    /// waiting for it to start.
    pub(crate) async fn map_run_name(
        &self,
        node: usize,
        flow: &str,
        name: &str,
    ) -> anyhow::Result<String> {
        for _ in 0..MAX_POLLS * 100 {
            let answer = self
                .call(
                    node,
                    Method::GET,
                    "GetExecutionHistory",
                    &[
                        ("FlowName", flow),
                        ("ExecutionName", name),
                        ("Limit", "100"),
                    ],
                )
                .await?;
            let started = answer["Events"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|event| event["Type"] == "MapRunStarted");
            if let Some(event) = started {
                let detail: Value =
                    serde_json::from_str(event["EventDetail"].as_str().unwrap_or(""))
                        .context("MapRunStarted: the detail is not JSON")?;
                return detail["output"]["MapRunName"]
                    .as_str()
                    .map(str::to_string)
                    .context("MapRunStarted names no map run");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        bail!("{name} started no map run")
    }

    /// Waits until `count` children of the map run are running (`DescribeMapRun`).
    pub(crate) async fn wait_for_running_children(
        &self,
        node: usize,
        flow: &str,
        name: &str,
        map_run: &str,
        count: u64,
    ) -> anyhow::Result<()> {
        for _ in 0..MAX_POLLS * 100 {
            let answer = self
                .call(
                    node,
                    Method::GET,
                    "DescribeMapRun",
                    &[
                        ("FlowName", flow),
                        ("ExecutionName", name),
                        ("MapRunName", map_run),
                    ],
                )
                .await?;
            if answer["ItemCounts"]["Running"].as_u64() >= Some(count) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        bail!("{count} children of {name} never ran at once")
    }

    /// How many children of the map run are running (`ListExecutions` by `MapRunName`).
    pub(crate) async fn running_children(
        &self,
        node: usize,
        flow: &str,
        map_run: &str,
    ) -> anyhow::Result<usize> {
        let answer = self
            .call(
                node,
                Method::GET,
                "ListExecutions",
                &[
                    ("FlowName", flow),
                    ("MapRunName", map_run),
                    ("Status", "Running"),
                    ("Limit", "100"),
                ],
            )
            .await?;
        Ok(answer["Executions"].as_array().map_or(0, Vec::len))
    }

    /// A GET of the native API (HTTP Basic with the same key); the JSON answer.
    pub(crate) async fn native_get(&self, node: usize, path: &str) -> anyhow::Result<Value> {
        let response = self.native_open(node, path).await?;
        response
            .json()
            .await
            .with_context(|| format!("{path}: the answer is not JSON"))
    }

    /// A GET of the native API whose body is still to be read (an event stream).
    pub(crate) async fn native_open(
        &self,
        node: usize,
        path: &str,
    ) -> anyhow::Result<reqwest::Response> {
        let url = format!("{}{path}", self.bases[node % self.bases.len()]);
        let response = self
            .http
            .get(url)
            .basic_auth(&self.key_id, Some(&self.secret))
            .send()
            .await
            .with_context(|| format!("{path}: sending"))?;
        if !response.status().is_success() {
            bail!("{path}: HTTP {}", response.status());
        }
        Ok(response)
    }

    /// `sluice_steps_committed_total` summed over the nodes, if they all serve /metrics.
    pub(crate) async fn steps_committed(&self) -> Option<u64> {
        let mut total = 0;
        for node in 0..self.bases.len() {
            total += self.node_steps_committed(node).await?;
        }
        Some(total)
    }

    pub(crate) async fn node_steps_committed(&self, node: usize) -> Option<u64> {
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

/// Sends `request` of `action`; its JSON answer, or the HTTP error with its body.
pub(crate) async fn json_answer(
    action: &str,
    request: reqwest::RequestBuilder,
) -> anyhow::Result<Value> {
    let response = request
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
