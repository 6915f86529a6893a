//! Where task functions live, and whether shell scripts may run: the flags `run` and `serve`
//! share.

use sluice_runtime::FunctionEndpoints;

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
}

fn parse_function(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, url)) if !name.is_empty() && !url.is_empty() => {
            Ok((name.to_string(), url.to_string()))
        }
        _ => Err(format!("expected NAME=URL, got {text:?}")),
    }
}
