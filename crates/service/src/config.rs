//! Configuration of tenants, keys and limits (the `[[tenants]]` and `[limits]` tables of the
//! server's TOML file).

use std::collections::BTreeMap;

use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
    #[serde(default)]
    pub limits: LimitsConfig,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    pub id: String,
    /// The account id shown in ARNs (CloudFlow).
    #[serde(default)]
    pub account_id: String,
    /// The project id in Huawei paths.
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// Per action (`fnf:StartExecution`, or `*` for every action): a token bucket.
    #[serde(default)]
    pub rate_limits: BTreeMap<String, RateLimit>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyConfig {
    pub id: String,
    pub secret: String,
    /// Actions this key may call: exact names (`fnf:StopExecution`), a service wildcard
    /// (`fnf:*`) or `*`.
    #[serde(default = "all_actions")]
    pub actions: Vec<String>,
}

fn all_actions() -> Vec<String> {
    vec!["*".to_string()]
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    /// Bucket size: requests allowed at once.
    pub burst: u32,
    /// Refill rate.
    pub per_second: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    /// State input/output and execution input (CloudFlow: 64 KiB).
    pub max_payload_bytes: usize,
    /// History events per execution (CloudFlow: 5,000).
    pub max_history_events: u64,
    /// Standard executions (CloudFlow: one year).
    pub standard_timeout_secs: u64,
    /// Express executions (CloudFlow: five minutes).
    pub express_timeout_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_payload_bytes: 64 * 1024,
            max_history_events: 5_000,
            standard_timeout_secs: 365 * 24 * 3600,
            express_timeout_secs: 300,
        }
    }
}
