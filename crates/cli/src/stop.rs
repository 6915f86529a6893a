//! `sluice stop --flow F`: a bulk stop job, followed to its end (a progress bar on a
//! terminal, a line per change when piped).

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::Duration;

use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use crate::client::{Client, text};

#[derive(Debug, Args)]
pub struct StopArgs {
    /// The flow whose executions to stop.
    #[arg(long)]
    flow: String,
    /// Only `running` can be stopped.
    #[arg(long, default_value = "running")]
    status: String,
    /// Only executions whose name starts with this.
    #[arg(long)]
    name_prefix: Option<String>,
    #[arg(long)]
    error: Option<String>,
    #[arg(long)]
    cause: Option<String>,
}

/// How often the job's progress is read.
const POLL: Duration = Duration::from_millis(200);

pub async fn stop(client: &Client, args: StopArgs) -> anyhow::Result<ExitCode> {
    let body = json!({
        "filter": {"flow": args.flow, "status": args.status, "name_prefix": args.name_prefix},
        "error": args.error,
        "cause": args.cause,
    });
    let mut job = client.post("/stop-jobs", &body).await?;
    let id = text(&job, "id").to_string();
    let mut progress = Progress::new(&id);
    loop {
        progress.show(&job);
        if matches!(text(&job, "status"), "succeeded" | "failed") {
            break;
        }
        tokio::time::sleep(POLL).await;
        job = client.get(&format!("/jobs/{id}"), &[]).await?;
    }
    progress.finish();
    client.print(&job, |job| {
        format!(
            "job {} {}: matched {}, stopped {}, already completed {}, failed {}",
            id,
            text(job, "status"),
            job["matched"],
            job["stopped"],
            job["already_completed"],
            job["failed"]
        )
    });
    if text(&job, "status") == "failed" || job["failed"].as_i64().unwrap_or(0) > 0 {
        return Ok(ExitCode::FAILURE);
    }
    Ok(ExitCode::SUCCESS)
}

/// A bar on a terminal; otherwise a line whenever the status or the counts change (the job
/// may end after its last execution was handled, with the same counts).
enum Progress {
    Bar(ProgressBar),
    Lines { last: Option<(String, i64, i64)> },
}

impl Progress {
    fn new(id: &str) -> Self {
        if !std::io::stderr().is_terminal() {
            return Progress::Lines { last: None };
        }
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.set_message(format!("job {id}"));
        Progress::Bar(bar)
    }

    fn show(&mut self, job: &Value) {
        let matched = job["matched"].as_i64().unwrap_or(0);
        let handled = job["stopped"].as_i64().unwrap_or(0)
            + job["already_completed"].as_i64().unwrap_or(0)
            + job["failed"].as_i64().unwrap_or(0);
        match self {
            Progress::Bar(bar) => {
                bar.set_length(u64::try_from(matched).unwrap_or(0));
                bar.set_position(u64::try_from(handled).unwrap_or(0));
            }
            Progress::Lines { last } => {
                let now = (text(job, "status").to_string(), matched, handled);
                if last.as_ref() != Some(&now) {
                    eprintln!("{} {handled}/{matched}", now.0);
                    *last = Some(now);
                }
            }
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish();
        }
    }
}
