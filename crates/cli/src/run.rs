//! `sluice run FILE`: one execution, in memory, printed to the terminal.
//!
//! Exit codes: 0 Succeeded, 1 Failed, 2 usage or definition error, 3 TimedOut, 4 Stopped.
//! `docs/sluice-run.md` describes the command for users.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, anyhow, bail};
use clap::Args;
use serde_json::Value;
use sluice_api::cloudflow::render::history_event;
use sluice_api::stepfunctions;
use sluice_engine::Status;
use sluice_ir::{Dialect, Flow};
use sluice_runtime::{FunctionEndpoints, Invoker, LocalRunner, RunOutcome};
use tokio_util::sync::CancellationToken;

use crate::functions::FunctionArgs;

const EXIT_FAILED: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_TIMED_OUT: u8 = 3;
const EXIT_STOPPED: u8 = 4;
/// The region `--history` names in Step Functions events (a run is in no region).
const LOCAL_REGION: &str = "us-east-1";
/// The account and state machine a run's map run ARNs name.
const LOCAL_ACCOUNT: &str = "000000000000";
const LOCAL_MACHINE: &str = "local";

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The flow definition, in any language sluice serves: CloudFlow (`Type: StateMachine` or
    /// legacy `type: flow`), an Amazon States Language state machine (YAML or JSON), a
    /// FunctionGraph v2 workflow or v1.0 `cloud_graphs` definition, a DataArts Factory job
    /// (`JobInfo` JSON).
    file: PathBuf,
    /// The definition's language, when its text should not decide: cloudflow, asl,
    /// functiongraph-v2, functiongraph-v1 or dataarts. Default: told by the text.
    #[arg(long, value_name = "DIALECT", value_parser = parse_dialect)]
    dialect: Option<Dialect>,
    /// The execution input: inline JSON, or @FILE to read it from a file. Default: {}.
    #[arg(long, value_name = "JSON|@FILE")]
    input: Option<String>,
    /// Print the history events to stderr, one JSON object per line, before the result, as
    /// the definition's API writes them (an ASL state machine's as Step Functions does).
    #[arg(long)]
    history: bool,
    #[command(flatten)]
    functions: FunctionArgs,
    /// The execution name ($Context.Execution.Name). Default: run-<milliseconds since epoch>.
    #[arg(long, value_name = "EXECUTION_NAME")]
    name: Option<String>,
    /// The event a FunctionGraph v1.0 EVENT state receives (what the server's `event_test`
    /// delivers): inline JSON or @FILE; repeatable, one per wait, in order.
    #[arg(long = "event", value_name = "JSON|@FILE")]
    events: Vec<String>,
}

fn parse_dialect(text: &str) -> Result<Dialect, String> {
    Dialect::parse(text).ok_or_else(|| {
        let names: Vec<&str> = Dialect::ALL.iter().map(|d| d.as_str()).collect();
        format!("expected one of {}", names.join(", "))
    })
}

pub async fn run(args: RunArgs) -> ExitCode {
    let prepared = match prepare(&args) {
        Ok(prepared) => prepared,
        Err(error) => {
            eprintln!("Error: {error:#}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let stop = stop_on_ctrl_c().await;
    match prepared
        .runner
        .run(&prepared.flow, prepared.input, stop.clone())
        .await
    {
        Ok(outcome) => {
            if args.history {
                prepared.history.print(&outcome.history);
            }
            let exit = report(&outcome);
            finish_async_invocations(&prepared.invoker, &stop).await;
            exit
        }
        Err(refusal) => {
            eprintln!("Error: {refusal}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}

struct Prepared {
    flow: Flow,
    input: Value,
    runner: LocalRunner,
    /// The runner's, kept to wait for its asynchronous invocations at the end.
    invoker: Invoker,
    history: HistoryStyle,
}

fn prepare(args: &RunArgs) -> anyhow::Result<Prepared> {
    let (flow, history) = load_flow(&args.file, args.dialect)?;
    let input = read_object(args.input.as_deref(), "input")?;
    let events = args
        .events
        .iter()
        .map(|event| read_object(Some(event), "event"))
        .collect::<anyhow::Result<Vec<Value>>>()?;
    let name = match &args.name {
        Some(name) => {
            sluice_ir::check_name_rule(name)
                .map_err(|e| anyhow!("--name {name:?} is not a valid execution name: {e}"))?;
            name.clone()
        }
        None => default_name(),
    };
    let mut endpoints = FunctionEndpoints::default();
    args.functions.apply(&mut endpoints);
    let buckets = args.functions.buckets(&Default::default())?;
    let invoker = Invoker::new(endpoints)?.buckets(buckets);
    let runner = LocalRunner::new(invoker.clone())
        .name(name)
        .events(events)
        .stop_reason("Interrupted", "stopped by Ctrl-C");
    Ok(Prepared {
        flow,
        input,
        runner,
        invoker,
        history,
    })
}

/// Reads and compiles the definition; its problems are listed one per line, and so are its
/// warnings, on the standard error, when it compiles. Its language is `dialect`, else told by
/// its text as the server tells it; a text of no known shape is compiled as CloudFlow, whose
/// errors say which forms are accepted.
fn load_flow(path: &Path, dialect: Option<Dialect>) -> anyhow::Result<(Flow, HistoryStyle)> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the definition {}", path.display()))?;
    let dialect = dialect
        .or_else(|| sluice_lang::detect(&text))
        .unwrap_or(Dialect::CloudFlow);
    let checked = sluice_lang::check(dialect, &text);
    if checked.flow.is_ok() {
        for warning in &checked.warnings {
            eprintln!("{}: warning: {warning}", path.display());
        }
    }
    let flow = checked.flow.map_err(|error| {
        let problems: Vec<String> = error
            .problems
            .iter()
            .map(|p| format!("{}: {p}", path.display()))
            .collect();
        anyhow!(
            "{} is not a valid {dialect} definition:\n{}",
            path.display(),
            problems.join("\n")
        )
    })?;
    let style = match dialect {
        Dialect::Asl => HistoryStyle::StepFunctions { definition: text },
        _ => HistoryStyle::CloudFlow,
    };
    Ok((flow, style))
}

/// How `--history` writes the events: as the API of the definition's language answers
/// `GetExecutionHistory`.
enum HistoryStyle {
    /// CloudFlow's `GetExecutionHistory` events.
    CloudFlow,
    /// AWS Step Functions' events, their types named after each state's `Type` in the
    /// definition.
    StepFunctions { definition: String },
}

impl HistoryStyle {
    fn print(&self, history: &[sluice_engine::HistoryEvent]) {
        match self {
            HistoryStyle::CloudFlow => {
                for event in history {
                    eprintln!("{}", history_event(event));
                }
            }
            HistoryStyle::StepFunctions { definition } => {
                let context = stepfunctions::history::Context {
                    definition,
                    role_arn: None,
                    region: LOCAL_REGION,
                    account: LOCAL_ACCOUNT,
                    machine: LOCAL_MACHINE,
                    include_data: true,
                };
                for event in stepfunctions::history::events(history, &context) {
                    eprintln!("{event}");
                }
            }
        }
    }
}

/// A JSON object given inline or as @FILE by the flag `--{what}`; none is `{}`.
fn read_object(arg: Option<&str>, what: &str) -> anyhow::Result<Value> {
    let Some(arg) = arg else {
        return Ok(Value::Object(serde_json::Map::new()));
    };
    let (text, origin) = match arg.strip_prefix('@') {
        Some(file) => (
            std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the {what} file {file}"))?,
            format!("the {what} file {file}"),
        ),
        None => (arg.to_string(), format!("--{what}")),
    };
    let value: Value =
        serde_json::from_str(&text).with_context(|| format!("{origin} is not valid JSON"))?;
    if !value.is_object() {
        bail!("{origin} must be a JSON object");
    }
    Ok(value)
}

fn default_name() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("run-{millis}")
}

/// The first Ctrl-C stops the execution (the engine aborts everything in flight); the run
/// then ends promptly with status Stopped.
async fn stop_on_ctrl_c() -> CancellationToken {
    let stop = CancellationToken::new();
    let trigger = stop.clone();
    let mut ctrl_c = Box::pin(tokio::signal::ctrl_c());
    // Polling once installs the handler now, before the first task call goes out; otherwise
    // an early Ctrl-C would kill the process instead of stopping the execution.
    let pending = tokio::select! {
        biased;
        answer = &mut ctrl_c => {
            if answer.is_ok() {
                trigger.cancel();
            }
            false
        }
        () = std::future::ready(()) => true,
    };
    if pending {
        tokio::spawn(async move {
            // Without a signal handler the run cannot be interrupted; it still completes.
            if ctrl_c.await.is_ok() {
                trigger.cancel();
            }
        });
    }
    stop
}

/// The result is out; asynchronous invocations may still be running. Leaving would hang up on
/// them, which tells a function to give up (the function protocol), so the run waits for their
/// answers, unless Ctrl-C (during the run or now) says to leave.
async fn finish_async_invocations(invoker: &Invoker, stop: &CancellationToken) {
    let running = invoker.async_invocations_running();
    if running == 0 || stop.is_cancelled() {
        return;
    }
    eprintln!("Waiting for {running} asynchronous invocation(s) to finish (Ctrl-C to leave them)");
    tokio::select! {
        () = invoker.finish_async_invocations() => {}
        () = stop.cancelled() => {}
    }
}

fn report(outcome: &RunOutcome) -> ExitCode {
    if outcome.status == Status::Succeeded {
        let output = outcome.output.clone().unwrap_or(Value::Null);
        println!("{output}");
        return ExitCode::SUCCESS;
    }
    match &outcome.error {
        Some(error) if error.detail.is_empty() => eprintln!("Error: {}", error.code),
        Some(error) => eprintln!("Error: {}: {}", error.code, error.detail),
        None => eprintln!("Error: the execution ended {}", outcome.status.as_str()),
    }
    eprintln!("Status: {}", outcome.status.as_str());
    ExitCode::from(exit_code(outcome.status))
}

fn exit_code(status: Status) -> u8 {
    match status {
        Status::Succeeded => 0,
        Status::TimedOut => EXIT_TIMED_OUT,
        Status::Stopped => EXIT_STOPPED,
        // A run only returns in a terminal status; Failed is the honest catch-all.
        Status::Failed | Status::Starting | Status::Running => EXIT_FAILED,
    }
}
