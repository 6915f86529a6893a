//! The `sluice` command.

mod functions;
mod http;
mod run;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const ABOUT: &str = "Self-hosted workflow orchestration: the APIs of Alibaba Cloud CloudFlow, of \
Huawei Cloud FunctionGraph workflows, DataArts Factory jobs and GES graphs, and of AWS Step \
Functions, served wire-compatibly";

const LONG_ABOUT: &str = "Self-hosted workflow orchestration. One server runs the workflows of \
Alibaba Cloud CloudFlow (Serverless Workflow, FDL in both forms), Huawei Cloud FunctionGraph \
(workflows v2 and the legacy v1.0 cloud_graphs), Huawei DataArts Factory job DAGs with their \
schedules, the Huawei GES graph lifecycle, and AWS Step Functions state machines (the Amazon \
States Language), and serves each vendor's API so that its official \
SDKs work against it unchanged, signatures and error codes included. Every run can be stopped, \
immediately and durably. Data is kept in an embedded SQLite file by default, or in PostgreSQL \
for several nodes sharing the work.";

#[derive(Debug, Parser)]
#[command(name = "sluice", version, about = ABOUT, long_about = LONG_ABOUT)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a flow definition locally, in memory, and print its output.
    Run(run::RunArgs),
    /// Serve every API (CloudFlow; Huawei FunctionGraph v2 and v1.0, DataArts Factory, GES; AWS
    /// Step Functions) on one port, durably, on SQLite or PostgreSQL.
    #[command(long_about = serve::LONG_ABOUT)]
    Serve(serve::ServeArgs),
    /// Benchmark a sluice server over HTTP with signed CloudFlow requests.
    Bench(sluice_bench::BenchArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run(args) => run::run(args).await,
        Command::Serve(args) => match serve::serve(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("Error: {error:#}");
                ExitCode::FAILURE
            }
        },
        Command::Bench(args) => match sluice_bench::bench(args).await {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("Error: {error:#}");
                ExitCode::FAILURE
            }
        },
    }
}
