//! Where task functions live, whether shell scripts may run, and where buckets are kept: the
//! flags `run` and `serve` share.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Context;
use sluice_runtime::{Buckets, FunctionEndpoints};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct FunctionArgs {
    /// URL of every function, with {service}, {function} and {qualifier} filled in,
    /// e.g. http://127.0.0.1:9000/{service}/{function}.
    #[arg(long, env = "SLUICE_FUNCTION_URL", value_name = "TEMPLATE")]
    function_url: Option<String>,
    /// URL of one function, by `service/function` or `function` (repeatable; wins over
    /// --function-url).
    #[arg(long = "function", value_name = "NAME=URL", value_parser = parse_function)]
    functions: Vec<(String, String)>,
    /// Let DataArts `Shell` nodes run scripts on this machine (each in its own process group,
    /// killed on stop and on timeout). Off unless enabled here or in the configuration file.
    #[arg(long, env = "SLUICE_ALLOW_SHELL")]
    allow_shell: bool,
    /// A bucket distributed Maps read items from and write results to, kept in a local
    /// folder (repeatable; wins over the configuration file's `[buckets]`).
    #[arg(long = "bucket", value_name = "NAME=DIR", value_parser = parse_bucket)]
    buckets: Vec<(String, PathBuf)>,
}

impl FunctionArgs {
    /// Lays the flags over `endpoints` (from a configuration file, or empty).
    pub fn apply(&self, endpoints: &mut FunctionEndpoints) {
        if let Some(template) = &self.function_url {
            endpoints.template = Some(template.clone());
        }
        endpoints.functions.extend(self.functions.iter().cloned());
        endpoints.shell |= self.allow_shell;
    }

    /// The buckets of `configured` (a configuration file's, or none) with the flags' laid
    /// over them; each folder must exist.
    pub fn buckets(&self, configured: &HashMap<String, PathBuf>) -> anyhow::Result<Buckets> {
        let mut folders = configured.clone();
        folders.extend(self.buckets.iter().cloned());
        Buckets::new(folders).context("opening the buckets' folders")
    }
}

fn parse_bucket(text: &str) -> Result<(String, PathBuf), String> {
    match text.split_once('=') {
        Some((name, dir)) if !name.is_empty() && !dir.is_empty() => {
            Ok((name.to_string(), dir.into()))
        }
        _ => Err(format!("expected NAME=DIR, got {text:?}")),
    }
}

fn parse_function(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, url)) if !name.is_empty() && !url.is_empty() => {
            Ok((name.to_string(), url.to_string()))
        }
        _ => Err(format!("expected NAME=URL, got {text:?}")),
    }
}
