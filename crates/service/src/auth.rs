//! Tenants, access keys, permissions and rate limits.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::Arc;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sluice_store::TenantId;

use crate::config::{RateLimit, TenantConfig};
use crate::error::ServiceError;

/// Who is calling: the tenant of the access key that signed the request, and what the key may
/// do.
#[derive(Debug, Clone)]
pub struct Caller {
    pub tenant: TenantId,
    pub key_id: String,
    pub account_id: String,
    /// The account id in Step Functions ARNs (`TenantConfig::aws_account_id`).
    pub aws_account_id: String,
    /// Whether its Huawei requests may leave their body unsigned (`UNSIGNED-PAYLOAD`).
    pub allow_unsigned_payload: bool,
    actions: Arc<[String]>,
}

impl Caller {
    /// The server acting for a tenant (a schedule firing): every action allowed.
    pub(crate) fn internal(tenant: TenantId) -> Self {
        Caller {
            tenant,
            key_id: String::new(),
            account_id: String::new(),
            aws_account_id: String::new(),
            allow_unsigned_payload: false,
            actions: vec!["*".to_string()].into(),
        }
    }

    /// Whether the key's action list allows `action` (`fnf:StopExecution`).
    pub fn may(&self, action: &str) -> bool {
        let service = action.split_once(':').map(|(s, _)| s);
        self.actions.iter().any(|allowed| {
            allowed == "*"
                || allowed == action
                || allowed
                    .strip_suffix(":*")
                    .is_some_and(|s| Some(s) == service)
        })
    }
}

struct Key {
    secret: String,
    caller: Caller,
}

/// The tenants of the configuration, indexed by access key.
pub struct Tenants {
    keys: HashMap<String, Key>,
    projects: HashMap<String, TenantId>,
    limits: HashMap<(TenantId, String), Arc<DefaultKeyedRateLimiter<()>>>,
}

impl Tenants {
    pub fn new(tenants: &[TenantConfig]) -> Self {
        let mut keys = HashMap::new();
        let mut projects = HashMap::new();
        let mut limits = HashMap::new();
        for tenant in tenants {
            let id = TenantId::new(tenant.id.clone());
            for key in &tenant.keys {
                let caller = Caller {
                    tenant: id.clone(),
                    key_id: key.id.clone(),
                    account_id: tenant.account_id.clone(),
                    aws_account_id: tenant
                        .aws_account_id
                        .clone()
                        .unwrap_or_else(|| tenant.account_id.clone()),
                    allow_unsigned_payload: key.allow_unsigned_payload,
                    actions: key.actions.clone().into(),
                };
                keys.insert(
                    key.id.clone(),
                    Key {
                        secret: key.secret.clone(),
                        caller,
                    },
                );
            }
            if let Some(project) = &tenant.project_id {
                projects.insert(project.clone(), id.clone());
            }
            for (action, limit) in &tenant.rate_limits {
                limits.insert((id.clone(), action.clone()), Arc::new(limiter(*limit)));
            }
        }
        Self {
            keys,
            projects,
            limits,
        }
    }

    /// The secret of an access key and who it identifies (for signature verification).
    pub fn key(&self, key_id: &str) -> Option<(&str, &Caller)> {
        self.keys
            .get(key_id)
            .map(|k| (k.secret.as_str(), &k.caller))
    }

    /// The tenant owning a Huawei project id.
    pub fn project_tenant(&self, project_id: &str) -> Option<&TenantId> {
        self.projects.get(project_id)
    }

    pub(crate) fn throttle(&self, caller: &Caller, action: &str) -> Result<(), ServiceError> {
        for key in [action, "*"] {
            if let Some(limiter) = self.limits.get(&(caller.tenant.clone(), key.to_string()))
                && limiter.check_key(&()).is_err()
            {
                return Err(ServiceError::Throttled);
            }
        }
        Ok(())
    }
}

fn limiter(limit: RateLimit) -> DefaultKeyedRateLimiter<()> {
    let rate = NonZeroU32::new(limit.per_second).unwrap_or(NonZeroU32::MIN);
    let burst = NonZeroU32::new(limit.burst).unwrap_or(rate);
    RateLimiter::keyed(Quota::per_second(rate).allow_burst(burst))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::KeyConfig;

    fn tenants(actions: &[&str], limits: &[(&str, RateLimit)]) -> Tenants {
        Tenants::new(&[TenantConfig {
            id: "t1".into(),
            account_id: "123".into(),
            aws_account_id: None,
            project_id: Some("p1".into()),
            keys: vec![KeyConfig {
                id: "ak".into(),
                secret: "sk".into(),
                actions: actions.iter().map(|a| a.to_string()).collect(),
                allow_unsigned_payload: false,
            }],
            rate_limits: limits.iter().map(|(a, l)| (a.to_string(), *l)).collect(),
            outbound: None,
        }])
    }

    #[test]
    fn permissions_match_exact_service_and_global_patterns() {
        let t = tenants(&["fnf:DescribeExecution", "dgc:*"], &[]);
        let (secret, caller) = t.key("ak").expect("key");
        assert_eq!(secret, "sk");
        assert!(caller.may("fnf:DescribeExecution"));
        assert!(!caller.may("fnf:StopExecution"));
        assert!(caller.may("dgc:StopInstance"));
        assert!(
            tenants(&["*"], &[])
                .key("ak")
                .expect("key")
                .1
                .may("fnf:StopExecution")
        );
        assert!(t.key("nope").is_none());
        assert_eq!(t.project_tenant("p1"), Some(&TenantId::new("t1")));
    }

    #[test]
    fn rate_limits_throttle_after_the_burst() {
        let t = tenants(
            &["*"],
            &[(
                "fnf:StartExecution",
                RateLimit {
                    burst: 2,
                    per_second: 1,
                },
            )],
        );
        let caller = t.key("ak").expect("key").1.clone();
        assert!(t.throttle(&caller, "fnf:StartExecution").is_ok());
        assert!(t.throttle(&caller, "fnf:StartExecution").is_ok());
        assert!(matches!(
            t.throttle(&caller, "fnf:StartExecution"),
            Err(ServiceError::Throttled)
        ));
        assert!(t.throttle(&caller, "fnf:DescribeExecution").is_ok());
    }
}
