//! Configuration of tenants, keys and limits (the `[[tenants]]` and `[limits]` tables of the
//! server's TOML file), and the checks that refuse credentials that cannot be served as written.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;
use sluice_ir::Dialect;
use sluice_runtime::outbound::Rule;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceConfig {
    #[serde(default)]
    pub tenants: Vec<TenantConfig>,
    #[serde(default)]
    pub limits: LimitsConfig,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantConfig {
    pub id: String,
    /// The account id shown in ARNs (CloudFlow).
    #[serde(default)]
    pub account_id: String,
    /// The account id in Step Functions ARNs and context objects (AWS's are 12 digits, which
    /// AWS tools expect); absent, `account_id`.
    #[serde(default)]
    pub aws_account_id: Option<String>,
    /// The project id in Huawei paths.
    #[serde(default)]
    pub project_id: Option<String>,
    #[serde(default)]
    pub keys: Vec<KeyConfig>,
    /// Per action (`fnf:StartExecution`, or `*` for every action): a token bucket.
    #[serde(default)]
    pub rate_limits: BTreeMap<String, RateLimit>,
    /// Where the tenant's definitions may send requests they name (DataArts RESTAPI nodes);
    /// absent, nowhere.
    #[serde(default)]
    pub outbound: Option<Vec<Rule>>,
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
    /// Whether Huawei requests signed by this key may leave their body unsigned
    /// (`X-Sdk-Content-Sha256: UNSIGNED-PAYLOAD`).
    #[serde(default)]
    pub allow_unsigned_payload: bool,
}

/// Credentials that cannot be served as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("two tenants have the id {0:?}")]
    DuplicateTenant(String),
    #[error(
        "the key id {key:?} is given twice (tenants {first:?} and {second:?}): key ids must be unique"
    )]
    DuplicateKey {
        key: String,
        first: String,
        second: String,
    },
    #[error("the key {key:?} of tenant {tenant:?} has an empty secret")]
    EmptySecret { key: String, tenant: String },
    #[error("the project id {project:?} is given to two tenants ({first:?} and {second:?})")]
    DuplicateProject {
        project: String,
        first: String,
        second: String,
    },
}

impl ServiceConfig {
    /// Refuses two tenants with one id or one project id, two keys with one id, an empty
    /// secret.
    pub fn check(&self) -> Result<(), ConfigError> {
        let mut tenants = HashMap::new();
        let mut keys = HashMap::new();
        let mut projects = HashMap::new();
        for tenant in &self.tenants {
            if tenants.insert(tenant.id.as_str(), ()).is_some() {
                return Err(ConfigError::DuplicateTenant(tenant.id.clone()));
            }
            if let Some(project) = &tenant.project_id
                && let Some(first) = projects.insert(project.as_str(), tenant.id.as_str())
            {
                return Err(ConfigError::DuplicateProject {
                    project: project.clone(),
                    first: first.to_string(),
                    second: tenant.id.clone(),
                });
            }
            for key in &tenant.keys {
                if key.secret.is_empty() {
                    return Err(ConfigError::EmptySecret {
                        key: key.id.clone(),
                        tenant: tenant.id.clone(),
                    });
                }
                if let Some(first) = keys.insert(key.id.as_str(), tenant.id.as_str()) {
                    return Err(ConfigError::DuplicateKey {
                        key: key.id.clone(),
                        first: first.to_string(),
                        second: tenant.id.clone(),
                    });
                }
            }
        }
        Ok(())
    }
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
    /// State input/output and execution input, for every dialect; unset, each dialect's
    /// documented figure (CloudFlow 64 KiB, Step Functions 256 KiB).
    pub max_payload_bytes: Option<usize>,
    /// History events per execution, for every dialect; unset, each dialect's documented
    /// figure (CloudFlow 5,000, Step Functions 25,000).
    pub max_history_events: Option<u64>,
    /// Standard executions (CloudFlow: one year).
    pub standard_timeout_secs: u64,
    /// Express executions (CloudFlow: five minutes).
    pub express_timeout_secs: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        Self {
            max_payload_bytes: None,
            max_history_events: None,
            standard_timeout_secs: 365 * 24 * 3600,
            express_timeout_secs: 300,
        }
    }
}

impl LimitsConfig {
    /// The largest payload of `dialect`'s executions.
    pub fn payload_bytes(&self, dialect: Dialect) -> usize {
        self.max_payload_bytes
            .unwrap_or(dialect.documented_limits().max_payload_bytes)
    }

    /// The most history events of one of `dialect`'s executions.
    pub fn history_events(&self, dialect: Dialect) -> u64 {
        self.max_history_events
            .unwrap_or(dialect.documented_limits().max_history_events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> ServiceConfig {
        toml::from_str(text).expect("parses")
    }

    const TWO: &str = r#"
[[tenants]]
id = "a"
project_id = "p1"
outbound = ["10.0.0.0/8", "api.example.com:443"]
[[tenants.keys]]
id = "ka"
secret = "sa"
[[tenants]]
id = "b"
project_id = "p2"
[[tenants.keys]]
id = "kb"
secret = "sb"
"#;

    #[test]
    fn limits_are_each_dialects_documented_figures_unless_configured() {
        let default = LimitsConfig::default();
        assert_eq!(default.payload_bytes(Dialect::Asl), 256 * 1024);
        assert_eq!(default.history_events(Dialect::Asl), 25_000);
        assert_eq!(default.payload_bytes(Dialect::CloudFlow), 64 * 1024);
        assert_eq!(default.history_events(Dialect::CloudFlow), 5_000);
        let configured = config("[limits]\nmax_payload_bytes = 1000\nmax_history_events = 50\n");
        for dialect in [Dialect::Asl, Dialect::CloudFlow, Dialect::DataArts] {
            assert_eq!(configured.limits.payload_bytes(dialect), 1000);
            assert_eq!(configured.limits.history_events(dialect), 50);
        }
    }

    #[test]
    fn distinct_tenants_keys_and_projects_pass() {
        let parsed = config(TWO);
        assert_eq!(parsed.check(), Ok(()));
        assert_eq!(
            parsed.tenants[0].outbound.as_ref().map(Vec::len),
            Some(2),
            "the allowlist parses"
        );
        assert_eq!(parsed.tenants[1].outbound, None);
    }

    #[test]
    fn clashes_and_empty_secrets_are_refused() {
        let refused = |text: &str| config(text).check().unwrap_err().to_string();
        let same_key = TWO.replace("\"kb\"", "\"ka\"");
        assert!(refused(&same_key).contains("\"ka\" is given twice (tenants \"a\" and \"b\")"));
        let same_project = TWO.replace("\"p2\"", "\"p1\"");
        assert!(refused(&same_project).contains("project id \"p1\""));
        let same_tenant = TWO.replace("id = \"b\"", "id = \"a\"");
        assert!(refused(&same_tenant).contains("two tenants have the id \"a\""));
        let empty = TWO.replace("\"sb\"", "\"\"");
        assert!(refused(&empty).contains("the key \"kb\" of tenant \"b\" has an empty secret"));
    }

    #[test]
    fn a_bad_allowlist_entry_is_refused_when_read() {
        let bad = TWO.replace("\"10.0.0.0/8\"", "\"10.0.0.0/99\"");
        let error = toml::from_str::<ServiceConfig>(&bad)
            .unwrap_err()
            .to_string();
        assert!(error.contains("10.0.0.0/99"), "{error}");
    }
}
