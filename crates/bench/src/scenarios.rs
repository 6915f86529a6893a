//! The scenarios: the flows they create and the phases they time.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use reqwest::Method;

use crate::BenchArgs;
use crate::client::Client;
use crate::load::{Phase, drive};
use crate::measure::{Meter, Resources, cpu_time, servers_cpu_time};
use crate::report::Row;
use crate::servers::SpawnedServer;

/// Concurrency of the StartExecution phase of `stop` (fixed, as the scenario prescribes).
pub(crate) const STOP_START_CONCURRENCY: usize = 32;
/// Concurrency of the StartExecution phase of `waiting`.
const WAITING_CONCURRENCY: usize = 64;
/// Upper bound on the wall time of one counted phase (10,000 starts, 100,000 starts, …).
pub(crate) const PHASE_LIMIT: Duration = Duration::from_secs(900);

/// What `--scenario` picks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// One Pass state.
    Pass1,
    /// Ten Pass states.
    Pass10,
    /// Ten Task states, each calling the no-op function.
    Http10,
    /// Start executions of a 300 s Wait flow, then stop them.
    Stop,
    /// Start `--list-count` executions, then time first pages of `GET /api/v1/executions`.
    NativeList,
    /// Open `--sse-clients` event streams (their memory), then time state changes reaching one.
    Events,
    /// Start executions of a 1 h Wait flow; report server memory and database size.
    Waiting,
    /// A distributed Map over 10,000 items in batches of 10, 500 children at a time, each
    /// calling the no-op function, run to its end; then another, stopped while its children
    /// run, checking that none is left running.
    DistributedMap,
    /// A one-Pass-state machine started and described to its end over the Step Functions
    /// API (SigV4).
    Sfn,
    /// pass1 for `--duration` against a server keeping finished executions `--retention`,
    /// printing the database's size every second: flat once the purge keeps up.
    Retention,
    /// Every scenario.
    All,
}

/// The order the scenarios run in (`waiting` last: it leaves its executions waiting).
pub(crate) const ORDER: [Scenario; 10] = [
    Scenario::Pass1,
    Scenario::Pass10,
    Scenario::Http10,
    Scenario::Stop,
    Scenario::Sfn,
    Scenario::DistributedMap,
    Scenario::NativeList,
    Scenario::Events,
    Scenario::Retention,
    Scenario::Waiting,
];

/// The distributed-map scenario's items, batch size and concurrency (the figure issue 13 asks
/// for).
const DMAP_ITEMS: usize = 10_000;
const DMAP_BATCH: usize = 10;
const DMAP_CONCURRENCY: usize = 500;

/// One scenario run's shared context.
pub(crate) struct Bench<'a> {
    pub(crate) client: Arc<Client>,
    pub(crate) args: &'a BenchArgs,
    pub(crate) run_id: &'a str,
    pub(crate) server_pids: Vec<u32>,
}

impl Bench<'_> {
    /// Runs one scenario, adding its rows (and, for `waiting`, the servers' resources before
    /// and after).
    pub(crate) async fn run(
        &self,
        scenario: Scenario,
        servers: &[SpawnedServer],
        rows: &mut Vec<Row>,
        resources: &mut Vec<Resources>,
    ) -> anyhow::Result<()> {
        match scenario {
            Scenario::Pass1 => {
                self.closed_loop("pass1", &|n| pass_flow(n, 1), 1, rows)
                    .await?
            }
            Scenario::Pass10 => {
                self.closed_loop("pass10", &|n| pass_flow(n, 10), 1, rows)
                    .await?
            }
            Scenario::Http10 => {
                self.closed_loop("http10", &|n| task_flow(n, 10), 11, rows)
                    .await?
            }
            Scenario::Stop => self.stop(rows).await?,
            Scenario::Sfn => self.stepfunctions(rows).await?,
            Scenario::NativeList => self.native_list(rows).await?,
            Scenario::Events => self.events(servers, rows, resources).await?,
            Scenario::Waiting => {
                resources.push(Resources::measure("before waiting", servers));
                self.waiting(rows).await?;
                resources.push(Resources::measure(
                    &format!("after {} waiting", self.args.waiting_count),
                    servers,
                ));
            }
            Scenario::DistributedMap => {
                self.distributed_map(rows).await?;
                resources.push(Resources::measure("after distributed-map", servers));
            }
            Scenario::Retention => self.retention(servers, rows).await?,
            Scenario::All => unreachable!("bench() expands All"),
        }
        Ok(())
    }

    pub(crate) async fn meter(&self) -> Meter {
        Meter {
            steps: self.client.steps_committed().await,
            server_pids: self.server_pids.clone(),
            server_cpu: servers_cpu_time(&self.server_pids),
            bench_cpu: cpu_time("self"),
        }
    }

    /// Creates a flow named after the scenario and this run; `definition` gets the name.
    pub(crate) async fn create_flow(
        &self,
        scenario: &str,
        definition: &dyn Fn(&str) -> String,
    ) -> anyhow::Result<Arc<str>> {
        let name = self.create_name(scenario);
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
        let flow: Arc<str> = self.create_flow(scenario, definition).await?;
        let input: Arc<str> = padded_input(self.args.input_bytes).into();
        self.at_each_concurrency(
            (scenario, "start→end"),
            steps_per_execution,
            move |client, i, concurrency| {
                let (flow, input) = (flow.clone(), input.clone());
                async move {
                    client
                        .run_to_end(i, &flow, &format!("c{concurrency}-{i}"), &input)
                        .await
                }
            },
            rows,
        )
        .await;
        Ok(())
    }

    /// retention: pass1 while the database's size is printed every second.
    async fn retention(
        &self,
        servers: &[SpawnedServer],
        rows: &mut Vec<Row>,
    ) -> anyhow::Result<()> {
        let Some(data) = servers.first().filter(|s| !s.external_database) else {
            anyhow::bail!("the retention scenario measures a spawned server on SQLite");
        };
        if self.args.retention.is_none() {
            println!("retention: no --retention given, the server keeps executions 90 days");
        }
        let dir = data.data.path().to_path_buf();
        let sampler = tokio::spawn(async move {
            let started = std::time::Instant::now();
            let size = |name: &str| std::fs::metadata(dir.join(name)).map_or(0, |m| m.len());
            let mib = |bytes: u64| bytes as f64 / 1_048_576.0;
            loop {
                tokio::time::sleep(Duration::from_secs(1)).await;
                let executions = size("sluice.db") + size("sluice.db-wal");
                let all = crate::measure::dir_bytes(&dir).unwrap_or_default();
                println!(
                    "retention: t={:>4}s sluice.db (+WAL) {:>7.2} MiB, data directory {:>7.2} MiB",
                    started.elapsed().as_secs(),
                    mib(executions),
                    mib(all)
                );
            }
        });
        let ran = self
            .closed_loop("retention", &|n| pass_flow(n, 1), 1, rows)
            .await;
        sampler.abort();
        ran
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

    /// distributed-map: one execution of [`dmap_flow`] to its end (row `run`, its wall time the
    /// latency), then one stopped once its first children run (row `stop`); fails if a child
    /// is still running after the stop answered.
    async fn distributed_map(&self, rows: &mut Vec<Row>) -> anyhow::Result<()> {
        let flow = self.create_flow("dmap", &dmap_flow).await?;
        let items: Vec<usize> = (0..DMAP_ITEMS).collect();
        let input: Arc<str> = serde_json::json!({ "items": items }).to_string().into();
        let children = DMAP_ITEMS.div_ceil(DMAP_BATCH) as u64;
        let client = self.client.clone();
        let meter = self.meter().await;
        let (run_flow, run_input) = (flow.clone(), input.clone());
        let phase = drive(1, 1, PHASE_LIMIT, move |_| {
            let (client, flow, input) = (client.clone(), run_flow.clone(), run_input.clone());
            async move { client.run_to_end(0, &flow, "run", &input).await }
        })
        .await;
        let usage = meter.finish(&self.client).await;
        // Per child: its start and its task's answer; per child, a step of the parent.
        rows.push(Row::new(
            "dmap",
            "run",
            DMAP_CONCURRENCY,
            phase,
            3 * children + 1,
            usage,
        ));

        self.client.start_with(0, &flow, "stopped", &input).await?;
        let map_run = self.client.map_run_name(0, &flow, "stopped").await?;
        self.client
            .wait_for_running_children(0, &flow, "stopped", &map_run, DMAP_CONCURRENCY as u64)
            .await?;
        let client = self.client.clone();
        let meter = self.meter().await;
        let phase = drive(1, 1, PHASE_LIMIT, move |_| {
            let (client, flow) = (client.clone(), flow.clone());
            async move { client.stop(0, &flow, "stopped").await }
        })
        .await;
        let usage = meter.finish(&self.client).await;
        rows.push(Row::new("dmap", "stop", 1, phase, 1, usage));
        let running = self
            .client
            .running_children(0, &self.create_name("dmap"), &map_run)
            .await?;
        anyhow::ensure!(running == 0, "{running} children still run after the stop");
        Ok(())
    }

    fn create_name(&self, scenario: &str) -> String {
        format!("bench-{scenario}-{}", self.run_id)
    }

    /// Runs `op` (the client, the operation's index and the concurrency) with each
    /// `--concurrency` for `--duration`, a row per concurrency.
    pub(crate) async fn at_each_concurrency<F, Fut>(
        &self,
        (scenario, phase_name): (&str, &'static str),
        steps_per_op: u64,
        op: F,
        rows: &mut Vec<Row>,
    ) where
        F: Fn(Arc<Client>, usize, u32) -> Fut + Clone + Send + Sync + 'static,
        Fut: Future<Output = anyhow::Result<()>> + Send,
    {
        for &concurrency in &self.args.concurrency {
            let client = self.client.clone();
            let op = op.clone();
            let meter = self.meter().await;
            let phase = drive(
                concurrency as usize,
                usize::MAX,
                Duration::from_secs(self.args.duration),
                move |i| op(client.clone(), i, concurrency),
            )
            .await;
            let usage = meter.finish(&self.client).await;
            rows.push(Row::new(
                scenario,
                phase_name,
                concurrency as usize,
                phase,
                steps_per_op,
                usage,
            ));
        }
    }

    /// Starts executions `{prefix}-0` … `{prefix}-{count - 1}` of `flow`.
    pub(crate) async fn start_many(
        &self,
        flow: &Arc<str>,
        prefix: &str,
        count: usize,
        concurrency: usize,
    ) -> Phase {
        self.start_many_at(None, flow, prefix, count, concurrency)
            .await
    }

    /// [`Self::start_many`], every start sent to node `node`.
    pub(crate) async fn start_many_on(
        &self,
        node: usize,
        flow: &Arc<str>,
        prefix: &str,
        count: usize,
        concurrency: usize,
    ) -> Phase {
        self.start_many_at(Some(node), flow, prefix, count, concurrency)
            .await
    }

    /// Start i goes to `node`, or to node i (mod the nodes) without one.
    async fn start_many_at(
        &self,
        node: Option<usize>,
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
            let to = node.unwrap_or(i);
            async move { client.start(to, &flow, &format!("{prefix}-{i}")).await }
        })
        .await
    }
}

pub(crate) fn pass_flow(name: &str, states: usize) -> String {
    let mut text =
        format!("Type: StateMachine\nName: {name}\nSpecVersion: v1\nStartAt: S1\nStates:\n");
    for i in 1..=states {
        text.push_str(&format!("  - Type: Pass\n    Name: S{i}\n"));
        text.push_str(&next_or_end("S", i, states));
    }
    text
}

pub(crate) fn task_flow(name: &str, states: usize) -> String {
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

/// A distributed Map over `$Input.items`: batches of [`DMAP_BATCH`], [`DMAP_CONCURRENCY`]
/// children at a time, each calling the no-op function once (its small answer keeps the Map's
/// output within the payload limit).
pub(crate) fn dmap_flow(name: &str) -> String {
    format!(
        "Type: StateMachine\nName: {name}\nSpecVersion: v1\nStartAt: Each\nStates:\n  \
         - Type: Map\n    Name: Each\n    ProcessorConfig:\n      Mode: Distributed\n    \
         ItemsPath: $Input.items\n    ItemBatcher:\n      MaxItemsPerBatch: {DMAP_BATCH}\n    \
         MaxConcurrency: {DMAP_CONCURRENCY}\n    Processor:\n      StartAt: Call\n      \
         States:\n        - Type: Task\n          Name: Call\n          \
         Action: FC:InvokeFunction\n          Parameters:\n            \
         resourceArn: acs:fc:::services/bench/functions/noop\n            body:\n              \
         first.$: $Input.Items[0]\n          OutputConstructor:\n            n: 1\n          \
         End: true\n    End: true\n"
    )
}

pub(crate) fn wait_flow(name: &str, seconds: u64) -> String {
    format!(
        "Type: StateMachine\nName: {name}\nSpecVersion: v1\nStartAt: Sleep\nStates:\n  \
         - Type: Wait\n    Name: Sleep\n    Seconds: {seconds}\n    End: true\n"
    )
}

/// `{}`, or an object of about `bytes` bytes of JSON (`--input-bytes`).
fn padded_input(bytes: u64) -> String {
    match bytes {
        0 => "{}".into(),
        n => serde_json::json!({ "pad": "x".repeat(n.saturating_sub(10) as usize) }).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_definitions_compile() {
        for text in [
            pass_flow("p", 1),
            pass_flow("p", 10),
            task_flow("t", 10),
            wait_flow("w", 300),
            dmap_flow("d"),
        ] {
            assert!(sluice_lang::cloudflow::parse(&text).is_ok(), "{text}");
        }
    }
}
