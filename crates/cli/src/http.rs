//! The HTTP server's own settings (the `[http]` section and its flags): how long a client may
//! take to send a request, how many may be connected, and the key `/metrics` asks for.

use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use sluice_api::http::Limits;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct HttpArgs {
    /// How long a client may take to send a request's headers, counted from its connecting
    /// or from its previous answer (so also how long a kept-alive connection may sit idle)
    /// [default: 10s].
    #[arg(long, env = "SLUICE_HEADER_TIMEOUT", value_name = "DURATION")]
    header_timeout: Option<String>,
    /// How long a client may take to send a request's body after its headers [default: 20s].
    #[arg(long, env = "SLUICE_BODY_TIMEOUT", value_name = "DURATION")]
    body_timeout: Option<String>,
    /// Connections served at once; more wait to be accepted [default: 1024].
    #[arg(long, env = "SLUICE_MAX_CONNECTIONS", value_name = "N")]
    max_connections: Option<usize>,
    /// Put /metrics behind this key: a scrape sends `Authorization: Bearer <KEY>`.
    #[arg(
        long,
        env = "SLUICE_METRICS_KEY",
        value_name = "KEY",
        hide_env_values = true
    )]
    metrics_key: Option<String>,
}

/// The `[http]` section of the configuration file; the flags win over it.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    header_timeout: Option<String>,
    body_timeout: Option<String>,
    max_connections: Option<usize>,
    metrics_key: Option<String>,
}

/// The settings in force: the flags laid over the file's section, over the defaults.
pub struct HttpSettings {
    pub limits: Limits,
    pub metrics_key: Option<String>,
}

impl HttpArgs {
    pub fn settings(&self, file: &HttpSection) -> anyhow::Result<HttpSettings> {
        let defaults = Limits::default();
        let timeout = |name: &str, flag: &Option<String>, file: &Option<String>, default| match flag
            .as_deref()
            .or(file.as_deref())
        {
            Some(text) => duration(name, text, Duration::from_millis(100)),
            None => Ok(default),
        };
        let max_connections = self
            .max_connections
            .or(file.max_connections)
            .unwrap_or(defaults.max_connections);
        anyhow::ensure!(max_connections > 0, "max_connections must be at least 1");
        let metrics_key = self.metrics_key.clone().or(file.metrics_key.clone());
        anyhow::ensure!(
            metrics_key.as_ref().is_none_or(|k| !k.is_empty()),
            "metrics_key must not be empty (leave it out for an open /metrics)"
        );
        Ok(HttpSettings {
            limits: Limits {
                header_timeout: timeout(
                    "header_timeout",
                    &self.header_timeout,
                    &file.header_timeout,
                    defaults.header_timeout,
                )?,
                body_timeout: timeout(
                    "body_timeout",
                    &self.body_timeout,
                    &file.body_timeout,
                    defaults.body_timeout,
                )?,
                max_connections,
            },
            metrics_key,
        })
    }
}

/// `10s`, `1500ms`, `1m`: a friendly duration of at least `least`.
pub fn duration(setting: &str, text: &str, least: Duration) -> anyhow::Result<Duration> {
    let parsed: jiff::SignedDuration = text
        .parse()
        .with_context(|| format!("{setting} {text:?} is not a duration like 10s"))?;
    Duration::try_from(parsed)
        .ok()
        .filter(|d| *d >= least)
        .with_context(|| format!("{setting} {text:?} must be at least {least:?}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_the_defaults() {
        let file: HttpSection = toml::from_str(
            "header_timeout = \"3s\"\nbody_timeout = \"4s\"\nmax_connections = 50\nmetrics_key = \"k\"",
        )
        .expect("valid");
        let args = HttpArgs {
            header_timeout: Some("500ms".into()),
            ..Default::default()
        };
        let settings = args.settings(&file).expect("valid");
        assert_eq!(
            settings.limits,
            Limits {
                header_timeout: Duration::from_millis(500),
                body_timeout: Duration::from_secs(4),
                max_connections: 50,
            }
        );
        assert_eq!(settings.metrics_key.as_deref(), Some("k"));
        let defaults = HttpArgs::default()
            .settings(&HttpSection::default())
            .expect("valid");
        assert_eq!(defaults.limits, Limits::default());
        assert_eq!(defaults.metrics_key, None);
    }

    #[test]
    fn nonsense_is_refused_with_the_setting_named() {
        for toml in [
            "header_timeout = \"soon\"",
            "body_timeout = \"1ms\"",
            "max_connections = 0",
            "metrics_key = \"\"",
        ] {
            let file: HttpSection = toml::from_str(toml).expect("valid TOML");
            let error = HttpArgs::default().settings(&file).err().expect("refused");
            let setting = toml.split(' ').next().expect("a key");
            assert!(error.to_string().contains(setting), "{toml}: {error}");
        }
        assert!(toml::from_str::<HttpSection>("idle = \"1s\"").is_err());
    }
}
