//! Flow versions (immutable snapshots) and aliases (weighted routing over versions).

use serde_json::Value;
use sluice_runtime::durable::wall_clock_ms;
use sluice_store::{AliasRecord, NewVersion, Page, StoreError, VersionRecord};

use crate::flows::check_name;
use crate::{Caller, Result, Service, ServiceError};

impl Service {
    pub async fn publish_version(
        &self,
        caller: &Caller,
        flow: &str,
        description: &str,
    ) -> Result<VersionRecord> {
        let flow = self.flow(caller, flow).await?;
        let version = NewVersion {
            flow_id: flow.id,
            description: description.to_string(),
            now: wall_clock_ms(),
        };
        Ok(self.store.publish_version(version).await?)
    }

    /// A published version of the caller's flow; the version is its decimal number.
    pub async fn describe_version(
        &self,
        caller: &Caller,
        flow: &str,
        version: &str,
    ) -> Result<VersionRecord> {
        let flow = self.flow(caller, flow).await?;
        let number = parse_version(version)?;
        self.store
            .get_version(flow.id, number)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                kind: "flow version",
                name: version.to_string(),
            })
    }

    pub async fn list_versions(
        &self,
        caller: &Caller,
        flow: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<VersionRecord>> {
        let flow = self.flow(caller, flow).await?;
        let page = Page::after(before, limit);
        Ok(self.store.list_versions(flow.id, page).await?)
    }

    pub async fn delete_version(&self, caller: &Caller, flow: &str, version: &str) -> Result<()> {
        let record = self.describe_version(caller, flow, version).await?;
        Ok(self
            .store
            .delete_version(record.flow_id, record.version)
            .await?)
    }

    /// Creates an alias routing to existing versions (weights must add up to 100).
    pub async fn create_alias(
        &self,
        caller: &Caller,
        flow: &str,
        name: &str,
        description: &str,
        routing: Value,
    ) -> Result<AliasRecord> {
        let flow = self.flow(caller, flow).await?;
        check_name(name, "alias name")?;
        self.check_routing(caller, flow.name.as_str(), &routing)
            .await?;
        let now = wall_clock_ms();
        let alias = AliasRecord {
            flow_id: flow.id,
            name: name.to_string(),
            description: description.to_string(),
            routing,
            created_at: now,
            modified_at: now,
        };
        match self.store.create_alias(alias).await {
            Err(StoreError::AlreadyExists(_)) => Err(ServiceError::Exists {
                kind: "flow alias",
                name: name.to_string(),
            }),
            other => Ok(other?),
        }
    }

    pub async fn describe_alias(
        &self,
        caller: &Caller,
        flow: &str,
        name: &str,
    ) -> Result<AliasRecord> {
        let flow = self.flow(caller, flow).await?;
        self.store
            .get_alias(flow.id, name)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                kind: "flow alias",
                name: name.to_string(),
            })
    }

    pub async fn update_alias(
        &self,
        caller: &Caller,
        flow: &str,
        name: &str,
        description: Option<String>,
        routing: Option<Value>,
    ) -> Result<AliasRecord> {
        let mut alias = self.describe_alias(caller, flow, name).await?;
        if let Some(routing) = routing {
            self.check_routing(caller, flow, &routing).await?;
            alias.routing = routing;
        }
        if let Some(description) = description {
            alias.description = description;
        }
        alias.modified_at = wall_clock_ms();
        Ok(self.store.update_alias(alias).await?)
    }

    pub async fn delete_alias(&self, caller: &Caller, flow: &str, name: &str) -> Result<()> {
        let alias = self.describe_alias(caller, flow, name).await?;
        Ok(self.store.delete_alias(alias.flow_id, name).await?)
    }

    pub async fn list_aliases(
        &self,
        caller: &Caller,
        flow: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AliasRecord>> {
        let flow = self.flow(caller, flow).await?;
        let page = Page::after(after.map(str::to_string), limit);
        Ok(self.store.list_aliases(flow.id, page).await?)
    }

    /// `[{"Version": "1", "Weight": 100}, …]`: existing versions, weights adding up to 100.
    async fn check_routing(&self, caller: &Caller, flow: &str, routing: &Value) -> Result<()> {
        let invalid =
            |m: String| ServiceError::InvalidArgument(format!("RoutingConfigurations: {m}"));
        let entries = routing
            .as_array()
            .filter(|a| !a.is_empty())
            .ok_or_else(|| invalid("expected a non-empty list".into()))?;
        let mut total = 0;
        for entry in entries {
            let version = entry
                .get("Version")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("each entry needs a Version string".into()))?;
            let weight = entry
                .get("Weight")
                .and_then(Value::as_i64)
                .filter(|w| (0..=100).contains(w));
            total +=
                weight.ok_or_else(|| invalid("each entry needs a Weight from 0 to 100".into()))?;
            self.describe_version(caller, flow, version).await?;
        }
        if total != 100 {
            return Err(invalid(format!("the weights add up to {total}, not 100")));
        }
        Ok(())
    }
}

fn parse_version(version: &str) -> Result<i64> {
    version.parse().map_err(|_| {
        ServiceError::InvalidArgument(format!("the flow version {version:?} is not a number"))
    })
}
