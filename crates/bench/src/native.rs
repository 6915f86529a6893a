//! The native API's scenarios: the first page of `GET /api/v1/executions` with many executions
//! stored, and the event stream (how late a state change reaches an open stream, what open
//! streams cost the server).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use serde_json::Value;

use crate::client::Client;
use crate::load::Phase;
use crate::measure::Resources;
use crate::report::Row;
use crate::scenarios::{Bench, pass_flow};
use crate::servers::SpawnedServer;

/// Concurrency of the starts that fill the store before the listing is timed.
const FILL_CONCURRENCY: usize = 64;
/// Executions started while the event streams are open (their `running` events are timed).
const WATCHED_STARTS: usize = 1000;
/// Concurrency of those starts.
const WATCHED_CONCURRENCY: usize = 4;

impl Bench<'_> {
    /// native-list: start `--list-count` executions, then time first pages of the listing,
    /// unfiltered and by flow and status, with each `--concurrency` for `--duration`.
    pub(crate) async fn native_list(&self, rows: &mut Vec<Row>) -> anyhow::Result<()> {
        let flow = self.create_flow("list", &|n| pass_flow(n, 1)).await?;
        let meter = self.meter().await;
        let phase = self
            .start_many(&flow, "l", self.args.list_count, FILL_CONCURRENCY)
            .await;
        let usage = meter.finish(&self.client).await;
        rows.push(Row::new("list", "start", FILL_CONCURRENCY, phase, 1, usage));
        let pages: [(&'static str, String); 2] = [
            ("page", "/api/v1/executions?limit=100".to_string()),
            (
                "page f+s",
                format!("/api/v1/executions?limit=100&flow={flow}&status=succeeded"),
            ),
        ];
        for (phase_name, path) in pages {
            let path: Arc<str> = path.into();
            let page = move |client: Arc<Client>, i, _| {
                let path = path.clone();
                async move { first_page(&client, i, &path).await }
            };
            self.at_each_concurrency(("list", phase_name), 0, page, rows)
                .await;
        }
        Ok(())
    }

    /// events: open `--sse-clients` streams (the server's memory before and after), then start
    /// executions and time each one's `running` event from its commit to its arrival on a
    /// stream. With `--nodes N` > 1 the timed stream is on the last node and the executions
    /// start on the first, so every timed event crosses nodes.
    pub(crate) async fn events(
        &self,
        servers: &[SpawnedServer],
        rows: &mut Vec<Row>,
        resources: &mut Vec<Resources>,
    ) -> anyhow::Result<()> {
        let flow = self.create_flow("events", &|n| pass_flow(n, 1)).await?;
        resources.push(Resources::measure("before SSE clients", servers));
        let mut streams = Vec::with_capacity(self.args.sse_clients);
        let last = usize::try_from(self.args.nodes).unwrap_or(1).max(1) - 1;
        streams.push(self.client.native_open(last, "/api/v1/events").await?);
        for i in 1..self.args.sse_clients.max(1) {
            streams.push(self.client.native_open(i, "/api/v1/events").await?);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        resources.push(Resources::measure(
            &format!("with {} SSE clients", streams.len()),
            servers,
        ));
        let watched = streams.remove(0);
        let timing = tokio::spawn(arrivals(watched, flow.clone(), WATCHED_STARTS));
        let meter = self.meter().await;
        let started = self
            .start_many_on(0, &flow, "e", WATCHED_STARTS, WATCHED_CONCURRENCY)
            .await;
        let usage = meter.finish(&self.client).await;
        rows.push(Row::new(
            "events",
            "start",
            WATCHED_CONCURRENCY,
            started,
            1,
            usage,
        ));
        let meter = self.meter().await;
        let latencies = tokio::time::timeout(Duration::from_secs(60), timing)
            .await
            .context("the stream did not deliver every execution's events")???;
        let usage = meter.finish(&self.client).await;
        rows.push(Row::new(
            "events",
            "commit→sse",
            streams.len() + 1,
            latencies,
            0,
            usage,
        ));
        drop(streams);
        Ok(())
    }
}

async fn first_page(client: &Client, node: usize, path: &str) -> anyhow::Result<()> {
    let page = client.native_get(node, path).await?;
    match page["executions"].as_array() {
        Some(items) if !items.is_empty() => Ok(()),
        _ => bail!("the first page is empty"),
    }
}

/// Reads the stream until `count` executions of `flow` were announced running; the latency of
/// each is its arrival (wall clock) minus the event's time (the server's wall clock when the
/// step was applied, just before its commit): one machine, one clock.
async fn arrivals(
    mut response: reqwest::Response,
    flow: Arc<str>,
    count: usize,
) -> anyhow::Result<Phase> {
    let began = std::time::Instant::now();
    let mut latencies = Vec::with_capacity(count);
    let mut pending = String::new();
    while latencies.len() < count {
        let Some(chunk) = response.chunk().await.context("reading the stream")? else {
            bail!("the event stream ended");
        };
        pending.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = pending.find("\n\n") {
            let event: String = pending.drain(..end + 2).collect();
            let arrived = jiff::Timestamp::now();
            if let Some(sent) = running_at(&event, &flow) {
                let late = arrived.duration_since(sent);
                latencies.push(Duration::try_from(late).unwrap_or_default());
            }
        }
    }
    latencies.sort_unstable();
    Ok(Phase {
        latencies,
        failures: 0,
        first_error: None,
        wall: began.elapsed(),
    })
}

/// The time of an `execution` event saying an execution of `flow` runs.
fn running_at(event: &str, flow: &str) -> Option<jiff::Timestamp> {
    if !event.lines().any(|l| l == "event: execution") {
        return None;
    }
    let data = event.lines().find_map(|l| l.strip_prefix("data: "))?;
    let data: Value = serde_json::from_str(data).ok()?;
    if data["flow"] != flow || data["status"] != "running" {
        return None;
    }
    data["time"].as_str()?.parse().ok()
}
