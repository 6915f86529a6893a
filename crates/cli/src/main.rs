//! The `sluice` command.

mod functions;
mod run;
mod serve;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "sluice",
    version,
    about = "Self-hosted workflow orchestration, CloudFlow-compatible"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a flow definition locally, in memory, and print its output.
    Run(run::RunArgs),
    /// Serve the CloudFlow API, durably, on the embedded SQLite store.
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
