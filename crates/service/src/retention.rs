//! Retention: finished executions (with their history and a distributed Map's children) are
//! deleted once they are older than their dialect keeps them, by a background loop that
//! deletes in small batches (`Store::purge_finished`), each its own short transaction, so
//! writers never wait long behind it.
//!
//! The defaults are the vendors' documented figures where they document one
//! ([`Dialect::documented_retention`]); `[retention]` in the configuration changes them.

use std::sync::Arc;
use std::time::Duration;

use serde::Deserialize;
use sluice_lang::Dialect;
use sluice_runtime::durable::wall_clock_ms;
use sluice_store::Purge;

use crate::Service;

/// Executions one batch deletes at most (plus the roots of the children it deletes).
const DEFAULT_BATCH: usize = 200;

/// How often the loop looks for expired executions, at most; shorter keeps look more often.
const MOST_EVERY: Duration = Duration::from_secs(60);
const LEAST_EVERY: Duration = Duration::from_millis(100);

/// The pause between two batches of one round, in which writers have the database.
const PAUSE: Duration = Duration::from_millis(5);

/// `[retention]` of the configuration file: how long each dialect's finished executions are
/// kept (`"90d"`, `"12h"`, `"2s"`, or `"forever"`), how often the purge looks, and its batch.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RetentionConfig {
    pub cloudflow: Option<String>,
    #[serde(rename = "functiongraph-v2")]
    pub functiongraph_v2: Option<String>,
    #[serde(rename = "functiongraph-v1")]
    pub functiongraph_v1: Option<String>,
    pub dataarts: Option<String>,
    pub asl: Option<String>,
    pub every: Option<String>,
    pub batch: Option<usize>,
}

/// What the purge loop does: each dialect's keep (`None`: forever), how often, how much.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Retention {
    pub keep: Vec<(Dialect, Option<Duration>)>,
    pub every: Duration,
    pub batch: usize,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("retention {setting} = {text:?}: {why}")]
pub struct RetentionError {
    setting: String,
    text: String,
    why: String,
}

impl RetentionConfig {
    fn setting(&self, dialect: Dialect) -> Option<&str> {
        match dialect {
            Dialect::CloudFlow => self.cloudflow.as_deref(),
            Dialect::FunctionGraphV2 => self.functiongraph_v2.as_deref(),
            Dialect::FunctionGraphV1 => self.functiongraph_v1.as_deref(),
            Dialect::DataArts => self.dataarts.as_deref(),
            Dialect::Asl => self.asl.as_deref(),
        }
    }

    /// The settings checked, each dialect's default where it sets none.
    pub fn retention(&self) -> Result<Retention, RetentionError> {
        let mut keep = Vec::new();
        for dialect in Dialect::ALL {
            let kept = match self.setting(dialect) {
                None => Some(dialect.documented_retention()),
                Some("forever") => None,
                Some(text) => Some(duration(dialect.as_str(), text)?),
            };
            keep.push((dialect, kept));
        }
        let shortest = keep.iter().filter_map(|(_, k)| *k).min();
        let every = match self.every.as_deref() {
            Some(text) => duration("every", text)?,
            None => shortest.map_or(MOST_EVERY, |s| (s / 2).clamp(LEAST_EVERY, MOST_EVERY)),
        };
        let batch = self.batch.unwrap_or(DEFAULT_BATCH);
        if batch == 0 {
            return Err(RetentionError {
                setting: "batch".into(),
                text: "0".into(),
                why: "a batch deletes at least one execution".into(),
            });
        }
        Ok(Retention { keep, every, batch })
    }
}

/// `90d`, `36h`, `2s`, `1500ms`: days are 24 hours.
fn duration(setting: &str, text: &str) -> Result<Duration, RetentionError> {
    let refuse = |why: String| RetentionError {
        setting: setting.to_string(),
        text: text.to_string(),
        why,
    };
    let span: jiff::Span = text
        .parse()
        .map_err(|e| refuse(format!("not a duration like 90d or 2s ({e})")))?;
    let signed = span
        .to_duration(jiff::SpanRelativeTo::days_are_24_hours())
        .map_err(|e| refuse(e.to_string()))?;
    Duration::try_from(signed)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| refuse("must be more than zero".into()))
}

impl Retention {
    /// What a purge at `now` deletes.
    fn purge_at(&self, now: i64) -> Purge {
        let cutoffs = self
            .keep
            .iter()
            .filter_map(|(dialect, keep)| {
                let keep = i64::try_from((*keep)?.as_millis()).unwrap_or(i64::MAX);
                Some((*dialect, now.saturating_sub(keep)))
            })
            .collect();
        Purge {
            cutoffs,
            limit: self.batch,
        }
    }
}

impl Service {
    /// Purges expired executions every `retention.every` until the service is dropped. On
    /// PostgreSQL every node does it; their batches skip each other's.
    pub fn start_retention(self: &Arc<Self>, retention: Retention) {
        if retention.keep.iter().all(|(_, keep)| keep.is_none()) {
            return;
        }
        let service = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(retention.every).await;
                let Some(service) = service.upgrade() else {
                    return;
                };
                service.purge_expired(&retention).await;
            }
        });
    }

    /// One round: batches until none is due.
    async fn purge_expired(&self, retention: &Retention) {
        let purge = retention.purge_at(wall_clock_ms());
        let mut purged = 0;
        loop {
            match self.store.purge_finished(&purge).await {
                Ok(0) => break,
                Ok(n) => purged += n,
                Err(e) => {
                    tracing::warn!(error = %e, "purging expired executions failed; tried again next round");
                    break;
                }
            }
            tokio::time::sleep(PAUSE).await;
        }
        if purged > 0 {
            tracing::debug!(purged, "purged expired executions");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_dialect_keeps_its_vendors_figure_unless_configured() {
        let retention = RetentionConfig::default().retention().expect("valid");
        let days = |d: u64| Some(Duration::from_secs(d * 86_400));
        assert!(retention.keep.contains(&(Dialect::Asl, days(90))));
        assert!(retention.keep.contains(&(Dialect::DataArts, days(180))));
        assert_eq!(retention.every, MOST_EVERY);
        let configured: RetentionConfig =
            toml::from_str("cloudflow = \"2s\"\nasl = \"forever\"\ndataarts = \"1d\"\nbatch = 5")
                .expect("parses");
        let retention = configured.retention().expect("valid");
        assert!(
            retention
                .keep
                .contains(&(Dialect::CloudFlow, Some(Duration::from_secs(2))))
        );
        assert!(retention.keep.contains(&(Dialect::Asl, None)));
        assert!(retention.keep.contains(&(Dialect::DataArts, days(1))));
        assert_eq!(retention.every, Duration::from_secs(1), "half the shortest");
        assert_eq!(retention.batch, 5);
        let purge = retention.purge_at(10_000);
        assert!(purge.cutoffs.contains(&(Dialect::CloudFlow, 8_000)));
        assert!(!purge.cutoffs.iter().any(|(d, _)| *d == Dialect::Asl));
    }

    #[test]
    fn bad_settings_are_refused_with_their_name() {
        for bad in [
            "cloudflow = \"soon\"",
            "asl = \"0s\"",
            "batch = 0",
            "every = \"-1s\"",
        ] {
            let config: RetentionConfig = toml::from_str(bad).expect("parses");
            let refused = config.retention().expect_err(bad).to_string();
            assert!(refused.starts_with("retention "), "{refused}");
        }
        assert!(toml::from_str::<RetentionConfig>("cloudflw = \"1d\"").is_err());
    }
}
