//! `sluice executions list|describe|history|start|stop|watch`.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use serde_json::{Value, json};

use crate::client::{Client, table, text};

#[derive(Debug, Subcommand)]
pub enum ExecutionsCommand {
    /// List executions, newest first.
    List(ListArgs),
    /// Show an execution: status, input, output, error and the runs of each state.
    Describe(Named),
    /// Print an execution's history events.
    History(Named),
    /// Start an execution.
    Start(StartArgs),
    /// Stop an execution.
    Stop(StopArgs),
    /// Print each state as it starts and ends; exit with the execution's outcome: 0
    /// succeeded, 10 failed, 11 timed out, 12 stopped.
    Watch(Named),
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// Only this flow's executions.
    #[arg(long)]
    flow: Option<String>,
    /// running, succeeded, failed, timed_out or stopped.
    #[arg(long)]
    status: Option<String>,
    #[arg(long)]
    name_prefix: Option<String>,
    /// At most this many (newest first).
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

#[derive(Debug, Args)]
pub struct Named {
    flow: String,
    name: String,
}

#[derive(Debug, Args)]
pub struct StartArgs {
    flow: String,
    /// The execution's name (generated when absent).
    #[arg(long)]
    name: Option<String>,
    /// The input: a JSON object, or @FILE to read it from a file.
    #[arg(long)]
    input: Option<String>,
}

#[derive(Debug, Args)]
pub struct StopArgs {
    flow: String,
    name: String,
    #[arg(long)]
    error: Option<String>,
    #[arg(long)]
    cause: Option<String>,
}

pub async fn executions(client: &Client, command: ExecutionsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ExecutionsCommand::List(args) => list(client, args).await,
        ExecutionsCommand::Describe(named) => describe(client, named).await,
        ExecutionsCommand::History(named) => history(client, named).await,
        ExecutionsCommand::Start(args) => start(client, args).await,
        ExecutionsCommand::Stop(args) => stop(client, args).await,
        ExecutionsCommand::Watch(named) => watch(client, named).await,
    }
}

fn path(flow: &str, name: &str) -> String {
    format!("/flows/{flow}/executions/{name}")
}

async fn list(client: &Client, args: ListArgs) -> anyhow::Result<ExitCode> {
    let mut query = vec![("limit", args.limit.to_string())];
    query.extend(args.flow.map(|f| ("flow", f)));
    query.extend(args.status.map(|s| ("status", s)));
    query.extend(args.name_prefix.map(|p| ("name_prefix", p)));
    let page = client.get("/executions", &query).await?;
    client.print(&page["executions"], |executions| {
        let rows = executions.as_array().into_iter().flatten().map(|e| {
            ["flow", "name", "status", "started_at", "stopped_at"]
                .map(|field| text(e, field).to_string())
                .to_vec()
        });
        table(&["FLOW", "NAME", "STATUS", "STARTED", "STOPPED"], rows)
    });
    Ok(ExitCode::SUCCESS)
}

async fn describe(client: &Client, named: Named) -> anyhow::Result<ExitCode> {
    let execution = client.get(&path(&named.flow, &named.name), &[]).await?;
    client.print(&execution, summary);
    Ok(ExitCode::SUCCESS)
}

/// An execution for a person: its fields, then a row per state run.
fn summary(execution: &Value) -> String {
    let mut lines = Vec::new();
    for field in [
        "flow",
        "name",
        "dialect",
        "status",
        "started_at",
        "stopped_at",
    ] {
        lines.push(format!("{field:<11} {}", text(execution, field)));
    }
    for field in ["input", "output"] {
        if !execution[field].is_null() {
            lines.push(format!("{field:<11} {}", execution[field]));
        }
    }
    for field in ["error", "cause"] {
        if !text(execution, field).is_empty() {
            lines.push(format!("{field:<11} {}", text(execution, field)));
        }
    }
    let runs = execution["states"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|state| {
            state["runs"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |run| {
                    vec![
                        text(state, "name").to_string(),
                        text(run, "status").to_string(),
                        run["attempts"].to_string(),
                        text(run, "entered_at").to_string(),
                        text(run, "exited_at").to_string(),
                    ]
                })
        });
    lines.push(String::new());
    lines.push(table(
        &["STATE", "STATUS", "ATTEMPTS", "ENTERED", "EXITED"],
        runs,
    ));
    lines.join("\n")
}

async fn history(client: &Client, named: Named) -> anyhow::Result<ExitCode> {
    let mut events: Vec<Value> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut query = vec![("limit", "1000".to_string())];
        query.extend(token.take().map(|t| ("page_token", t)));
        let page = client
            .get(
                &format!("{}/history", path(&named.flow, &named.name)),
                &query,
            )
            .await?;
        events.extend(page["events"].as_array().cloned().unwrap_or_default());
        match page["next_page_token"].as_str() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    client.print(&Value::Array(events), |events| {
        let rows = events.as_array().into_iter().flatten().map(|e| {
            vec![
                e["id"].to_string(),
                text(e, "time").to_string(),
                text(e, "type").to_string(),
                text(e, "state").to_string(),
            ]
        });
        table(&["ID", "TIME", "TYPE", "STATE"], rows)
    });
    Ok(ExitCode::SUCCESS)
}

async fn start(client: &Client, args: StartArgs) -> anyhow::Result<ExitCode> {
    let mut body = json!({});
    if let Some(name) = args.name {
        body["name"] = json!(name);
    }
    if let Some(input) = args.input {
        body["input"] = read_input(&input)?;
    }
    let started = client
        .post(&format!("/flows/{}/executions", args.flow), &body)
        .await?;
    client.print(&started, |e| {
        format!(
            "started {} of {} ({})",
            text(e, "name"),
            text(e, "flow"),
            text(e, "status")
        )
    });
    Ok(ExitCode::SUCCESS)
}

/// `--input`: JSON text, or `@file` holding it.
fn read_input(input: &str) -> anyhow::Result<Value> {
    let text = match input.strip_prefix('@') {
        Some(file) => std::fs::read_to_string(file)
            .with_context(|| format!("reading the input file {file}"))?,
        None => input.to_string(),
    };
    serde_json::from_str(&text).context("the input is not JSON")
}

async fn stop(client: &Client, args: StopArgs) -> anyhow::Result<ExitCode> {
    let body = json!({ "error": args.error, "cause": args.cause });
    let stopped = client
        .post(&format!("{}/stop", path(&args.flow, &args.name)), &body)
        .await?;
    client.print(&stopped, |e| {
        format!(
            "{} of {}: {}",
            text(e, "name"),
            text(e, "flow"),
            text(e, "status")
        )
    });
    Ok(ExitCode::SUCCESS)
}

/// How often `watch` reads the execution again besides its event stream (which only shows
/// the steps committed on the node it is connected to).
const RECHECK: Duration = Duration::from_secs(2);

async fn watch(client: &Client, named: Named) -> anyhow::Result<ExitCode> {
    let query = [
        ("flow", named.flow.clone()),
        ("execution", named.name.clone()),
    ];
    let mut stream = client.open("/events", &query).await?;
    let mut printed = Printed::default();
    let mut pending = String::new();
    loop {
        let execution = client.get(&path(&named.flow, &named.name), &[]).await?;
        printed.runs(&execution);
        if let Some(code) = outcome(text(&execution, "status")) {
            let at = text(&execution, "stopped_at");
            println!(
                "{at} {} {}",
                text(&execution, "name"),
                text(&execution, "status")
            );
            return Ok(code);
        }
        let deadline = tokio::time::Instant::now() + RECHECK;
        while let Ok(chunk) = tokio::time::timeout_at(deadline, stream.chunk()).await {
            let Some(chunk) = chunk.context("reading the event stream")? else {
                bail!("the server closed the event stream");
            };
            pending.push_str(&String::from_utf8_lossy(&chunk));
            while let Some(end) = pending.find("\n\n") {
                let event: String = pending.drain(..end + 2).collect();
                if let Some(code) = printed.event(&event) {
                    return Ok(code);
                }
            }
        }
    }
}

/// The state changes `watch` printed, so that one seen both in a describe and on the stream
/// is printed once.
#[derive(Default)]
struct Printed(std::collections::HashSet<(String, String, String)>);

impl Printed {
    fn line(&mut self, time: &str, state: &str, change: &str) {
        if self.0.insert((time.into(), state.into(), change.into())) {
            println!("{time} {state} {change}");
        }
    }

    /// The entries and exits of the runs a describe shows.
    fn runs(&mut self, execution: &Value) {
        for state in execution["states"].as_array().into_iter().flatten() {
            let name = text(state, "name");
            for run in state["runs"].as_array().into_iter().flatten() {
                self.line(text(run, "entered_at"), name, "entered");
                let change = match text(run, "status") {
                    "succeeded" => "exited",
                    "failed" => "failed",
                    _ => continue,
                };
                self.line(text(run, "exited_at"), name, change);
            }
        }
    }

    /// Prints one server-sent event; the exit code once it says the execution ended.
    fn event(&mut self, event: &str) -> Option<ExitCode> {
        let field = |name: &str| {
            event
                .lines()
                .find_map(|line| line.strip_prefix(name).map(str::trim))
        };
        let data: Value = serde_json::from_str(field("data:")?).ok()?;
        match field("event:")? {
            "state" => {
                self.line(
                    text(&data, "time"),
                    text(&data, "state"),
                    text(&data, "change"),
                );
                None
            }
            "execution" => {
                let status = text(&data, "status");
                let code = outcome(status);
                if code.is_some() {
                    println!(
                        "{} {} {status}",
                        text(&data, "time"),
                        text(&data, "execution")
                    );
                }
                code
            }
            _ => None,
        }
    }
}

/// The exit code of a completed execution's status; `None` while it runs.
fn outcome(status: &str) -> Option<ExitCode> {
    match status {
        "succeeded" => Some(ExitCode::SUCCESS),
        "failed" => Some(ExitCode::from(10)),
        "timed_out" => Some(ExitCode::from(11)),
        "stopped" => Some(ExitCode::from(12)),
        _ => None,
    }
}
