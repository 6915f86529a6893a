//! `sluice flows list`.

use std::process::ExitCode;

use clap::Subcommand;
use serde_json::Value;

use crate::client::{Client, table, text};

#[derive(Debug, Subcommand)]
pub enum FlowsCommand {
    /// List the flows of every dialect, with their open/closed state.
    List,
}

pub async fn flows(client: &Client, command: FlowsCommand) -> anyhow::Result<ExitCode> {
    match command {
        FlowsCommand::List => list(client).await,
    }
}

async fn list(client: &Client) -> anyhow::Result<ExitCode> {
    let mut flows: Vec<Value> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut query = vec![("limit", "1000".to_string())];
        query.extend(token.take().map(|t| ("page_token", t)));
        let page = client.get("/flows", &query).await?;
        flows.extend(page["flows"].as_array().cloned().unwrap_or_default());
        match page["next_page_token"].as_str() {
            Some(next) => token = Some(next.to_string()),
            None => break,
        }
    }
    client.print(&Value::Array(flows), |flows| {
        let rows = flows.as_array().into_iter().flatten().map(|f| {
            vec![
                text(f, "name").to_string(),
                text(f, "dialect").to_string(),
                if f["open"].as_bool() == Some(true) {
                    "open"
                } else {
                    "closed"
                }
                .to_string(),
                f["revision"].to_string(),
                text(f, "created_at").to_string(),
            ]
        });
        table(&["NAME", "DIALECT", "STATE", "REVISION", "CREATED"], rows)
    });
    Ok(ExitCode::SUCCESS)
}
