//! The native API as the CLI's subcommands call it: the endpoint and credentials every one of
//! them takes, JSON requests, and problem+json answers turned into one-line errors.

use std::process::ExitCode;

use anyhow::{Context, anyhow};
use clap::{Args, ValueEnum};
use serde_json::Value;

/// Where the server is, who is calling, how to print.
#[derive(Debug, Clone, Args)]
pub struct Connection {
    /// The server's base URL.
    #[arg(
        long,
        env = "SLUICE_ENDPOINT",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub endpoint: String,
    /// The access key id (a key of the server's configuration; the development key by default).
    #[arg(
        long,
        env = "SLUICE_ACCESS_KEY_ID",
        default_value = "sluice-dev-key",
        global = true,
        hide_env_values = true
    )]
    pub access_key_id: String,
    /// The access key secret.
    #[arg(
        long,
        env = "SLUICE_ACCESS_KEY_SECRET",
        default_value = "sluice-dev-secret",
        global = true,
        hide_env_values = true,
        hide_default_value = true
    )]
    pub access_key_secret: String,
    /// How to print what the server answered.
    #[arg(long, value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// Columns for a person.
    Table,
    /// The server's JSON, for a program.
    Json,
}

/// An HTTP client of one server with one key.
pub struct Client {
    http: reqwest::Client,
    base: String,
    key: (String, String),
    pub output: Output,
}

impl Client {
    pub fn new(connection: &Connection) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .context("making an HTTP client")?;
        Ok(Client {
            http,
            base: format!("{}/api/v1", connection.endpoint.trim_end_matches('/')),
            key: (
                connection.access_key_id.clone(),
                connection.access_key_secret.clone(),
            ),
            output: connection.output,
        })
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> anyhow::Result<Value> {
        self.send(self.request(reqwest::Method::GET, &with_query(path, query)))
            .await
    }

    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        self.send(self.request(reqwest::Method::POST, path).json(body))
            .await
    }

    /// A streaming GET (the event stream), answered with its body still to read.
    pub async fn open(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> anyhow::Result<reqwest::Response> {
        let response = self
            .request(reqwest::Method::GET, &with_query(path, query))
            .send()
            .await
            .map_err(|e| unreachable_server(&self.base, e))?;
        if response.status().is_success() {
            return Ok(response);
        }
        Err(problem(response).await)
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .basic_auth(&self.key.0, Some(&self.key.1))
    }

    async fn send(&self, request: reqwest::RequestBuilder) -> anyhow::Result<Value> {
        let response = request
            .send()
            .await
            .map_err(|e| unreachable_server(&self.base, e))?;
        if !response.status().is_success() {
            return Err(problem(response).await);
        }
        response
            .json()
            .await
            .context("the server's answer is not JSON")
    }

    /// Prints `value` as JSON, or as `table` makes it.
    pub fn print(&self, value: &Value, table: impl FnOnce(&Value) -> String) {
        match self.output {
            Output::Json => println!("{value:#}"),
            Output::Table => println!("{}", table(value)),
        }
    }
}

/// `path?k=v&…`, the values form-encoded.
fn with_query(path: &str, query: &[(&str, String)]) -> String {
    if query.is_empty() {
        return path.to_string();
    }
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(query)
        .finish();
    format!("{path}?{encoded}")
}

fn unreachable_server(base: &str, e: reqwest::Error) -> anyhow::Error {
    let cause = std::error::Error::source(&e).map_or_else(|| e.to_string(), |s| s.to_string());
    anyhow!("cannot reach {base}: {cause}")
}

/// The one line a problem+json answer says (its detail), or the status when it is not one.
async fn problem(response: reqwest::Response) -> anyhow::Error {
    let status = response.status();
    let body: Option<Value> = response.json().await.ok();
    match body
        .as_ref()
        .and_then(|b| b.get("detail"))
        .and_then(Value::as_str)
    {
        Some(detail) => anyhow!("{detail} ({status})"),
        None => anyhow!("the server answered {status}"),
    }
}

/// Runs a subcommand: its error is one line on stderr and exit code 1.
pub async fn run<F: Future<Output = anyhow::Result<ExitCode>>>(command: F) -> ExitCode {
    match command.await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("Error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// A string field of an answer (empty when absent or null).
pub fn text<'a>(value: &'a Value, field: &str) -> &'a str {
    value.get(field).and_then(Value::as_str).unwrap_or("")
}

/// A table with a header row.
pub fn table(header: &[&str], rows: impl IntoIterator<Item = Vec<String>>) -> String {
    let mut table = comfy_table::Table::new();
    table
        .load_style(comfy_table::presets::NOTHING)
        .set_header(header.to_vec());
    for row in rows {
        table.add_row(row);
    }
    table.to_string()
}
