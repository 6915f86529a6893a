//! Flow versions (immutable snapshots) and aliases (weighted routing over versions), and what
//! a start's `Qualifier` runs: a version's definition, or the version an alias routes it to.

use rand::Rng;
use serde_json::Value;
use sluice_ir::check_name_rule;
use sluice_runtime::durable::wall_clock_ms;
use sluice_store::{AliasRecord, FlowRecord, NewVersion, Page, StoreError, VersionRecord};

use crate::flows::check_name;
use crate::{Caller, Result, Service, ServiceError};

/// How many versions an alias may route to: "one or two flow versions" (CreateFlowAlias).
const MAX_ROUTES: usize = 2;
/// Aliases read per round when looking for the ones routing to a version.
const ALIAS_PAGE: usize = 1000;

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
        self.version_of(&flow, version).await
    }

    /// The flow as that version published it: its definition is the version's
    /// (`DescribeFlow` with `FlowVersion`).
    pub async fn describe_flow_version(
        &self,
        caller: &Caller,
        flow: &str,
        version: &str,
    ) -> Result<FlowRecord> {
        let mut flow = self.flow(caller, flow).await?;
        let version = self.version_of(&flow, version).await?;
        flow.definition = self.revision_text(&flow, version.revision).await?;
        Ok(flow)
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

    /// Deletes a version no alias routes to; executions running it keep running it.
    pub async fn delete_version(&self, caller: &Caller, flow: &str, version: &str) -> Result<()> {
        let flow = self.flow(caller, flow).await?;
        let record = self.version_of(&flow, version).await?;
        let users = self.aliases_routing_to(&flow, record.version).await?;
        if !users.is_empty() {
            return Err(ServiceError::InvalidArgument(format!(
                "flow version {} of flow {} cannot be deleted: alias {} routes to it; update or \
                 delete the alias first",
                record.version,
                flow.name,
                users.join(", ")
            )));
        }
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
        self.check_routing(&flow, &routing).await?;
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
        self.alias_of(&flow, name).await
    }

    pub async fn update_alias(
        &self,
        caller: &Caller,
        flow: &str,
        name: &str,
        description: Option<String>,
        routing: Option<Value>,
    ) -> Result<AliasRecord> {
        let flow = self.flow(caller, flow).await?;
        let mut alias = self.alias_of(&flow, name).await?;
        if let Some(routing) = routing {
            self.check_routing(&flow, &routing).await?;
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

    /// The revision a start runs: the flow's current one without a qualifier; with one, the
    /// revision of that version (a number) or of the version the alias (a name) routes this
    /// start to.
    pub(crate) async fn revision_to_run(
        &self,
        flow: &FlowRecord,
        qualifier: Option<&str>,
    ) -> Result<i64> {
        let Some(qualifier) = qualifier else {
            return Ok(flow.revision);
        };
        let version = if is_version_number(qualifier) {
            qualifier.to_string()
        } else {
            // Not quoted back unless it could be an alias name, which bounds its length.
            check_name_rule(qualifier).map_err(|_| {
                ServiceError::InvalidArgument(
                    "the Qualifier is neither a flow version (a number) nor an alias name".into(),
                )
            })?;
            let alias = self.alias_of(flow, qualifier).await?;
            let roll = rand::rng().random_range(0..100);
            Routing::parse(&alias.routing)?.pick(roll).to_string()
        };
        Ok(self.version_of(flow, &version).await?.revision)
    }

    async fn version_of(&self, flow: &FlowRecord, version: &str) -> Result<VersionRecord> {
        let number = parse_version(version)?;
        self.store
            .get_version(flow.id, number)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                kind: "flow version",
                name: version.to_string(),
            })
    }

    async fn alias_of(&self, flow: &FlowRecord, name: &str) -> Result<AliasRecord> {
        self.store
            .get_alias(flow.id, name)
            .await?
            .ok_or_else(|| ServiceError::NotFound {
                kind: "flow alias",
                name: name.to_string(),
            })
    }

    /// The definition text of a revision of the flow.
    pub(crate) async fn revision_text(&self, flow: &FlowRecord, revision: i64) -> Result<String> {
        if revision == flow.revision {
            return Ok(flow.definition.clone());
        }
        let definition = self.store.flow_definition(flow.id, revision).await?;
        Ok(definition.map(|d| d.text).unwrap_or_default())
    }

    /// The names of the flow's aliases that route to `version`.
    async fn aliases_routing_to(&self, flow: &FlowRecord, version: i64) -> Result<Vec<String>> {
        let mut users = Vec::new();
        let mut after: Option<String> = None;
        loop {
            let page = self
                .store
                .list_aliases(flow.id, Page::after(after.clone(), ALIAS_PAGE))
                .await?;
            for alias in &page {
                if Routing::parse(&alias.routing)?.routes_to(version) {
                    users.push(alias.name.clone());
                }
            }
            if page.len() < ALIAS_PAGE {
                return Ok(users);
            }
            after = page.last().map(|a| a.name.clone());
        }
    }

    /// Routing onto existing versions of the flow.
    async fn check_routing(&self, flow: &FlowRecord, routing: &Value) -> Result<()> {
        for route in Routing::parse(routing)?.routes {
            self.version_of(flow, &route.version.to_string()).await?;
        }
        Ok(())
    }
}

/// An alias's routing, as CloudFlow's `RoutingConfigurations` write it:
/// `[{"Version": "1", "Weight": 90}, {"Version": "2", "Weight": 10}]`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Routing {
    routes: Vec<Route>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Route {
    version: i64,
    /// Percent of the starts, 0 to 100; the routes' weights add up to 100.
    weight: u32,
}

impl Routing {
    /// One or two distinct versions, each with a weight from 0 to 100, adding up to 100.
    fn parse(routing: &Value) -> Result<Routing> {
        let invalid =
            |m: String| ServiceError::InvalidArgument(format!("RoutingConfigurations: {m}"));
        let entries = routing
            .as_array()
            .filter(|a| (1..=MAX_ROUTES).contains(&a.len()))
            .ok_or_else(|| invalid(format!("expected a list of 1 to {MAX_ROUTES} versions")))?;
        let mut routes: Vec<Route> = Vec::with_capacity(entries.len());
        for entry in entries {
            let version = entry
                .get("Version")
                .and_then(Value::as_str)
                .ok_or_else(|| invalid("each entry needs a Version string".into()))?;
            let weight = entry
                .get("Weight")
                .and_then(Value::as_u64)
                .and_then(|w| u32::try_from(w).ok())
                .filter(|w| *w <= 100)
                .ok_or_else(|| invalid("each entry needs a Weight from 0 to 100".into()))?;
            let version = parse_version(version)?;
            if routes.iter().any(|r| r.version == version) {
                return Err(invalid(format!("version {version} is listed twice")));
            }
            routes.push(Route { version, weight });
        }
        let total: u32 = routes.iter().map(|r| r.weight).sum();
        if total != 100 {
            return Err(invalid(format!("the weights add up to {total}, not 100")));
        }
        Ok(Routing { routes })
    }

    /// The version a start whose random roll (0 to 99) is `roll` runs: each route takes as
    /// many of the 100 rolls as its weight, in order.
    fn pick(&self, roll: u32) -> i64 {
        let mut ceiling = 0;
        for route in &self.routes {
            ceiling += route.weight;
            if roll < ceiling {
                return route.version;
            }
        }
        // The weights add up to 100, so only a roll out of range gets here.
        self.routes
            .iter()
            .rfind(|r| r.weight > 0)
            .map_or(self.routes[0].version, |r| r.version)
    }

    fn routes_to(&self, version: i64) -> bool {
        self.routes.iter().any(|r| r.version == version)
    }
}

/// Versions are numbers; alias names start with a letter or `_` (the name rule), so a
/// qualifier is one or the other.
fn is_version_number(qualifier: &str) -> bool {
    !qualifier.is_empty() && qualifier.bytes().all(|b| b.is_ascii_digit())
}

/// A version number; what is not one is not quoted back (it may be of any length).
fn parse_version(version: &str) -> Result<i64> {
    version
        .parse()
        .map_err(|_| ServiceError::InvalidArgument("the flow version is not a number".into()))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn routing(value: Value) -> Routing {
        Routing::parse(&value).expect("valid routing")
    }

    fn refusal(value: Value) -> String {
        Routing::parse(&value).unwrap_err().to_string()
    }

    #[test]
    fn each_version_takes_as_many_rolls_as_its_weight() {
        let canary = routing(json!([
            {"Version": "1", "Weight": 90},
            {"Version": "2", "Weight": 10},
        ]));
        assert_eq!(canary.pick(0), 1);
        assert_eq!(canary.pick(89), 1);
        assert_eq!(canary.pick(90), 2);
        assert_eq!(canary.pick(99), 2);
        let ones = (0..100).filter(|roll| canary.pick(*roll) == 1).count();
        assert_eq!(ones, 90);
    }

    #[test]
    fn a_weight_of_zero_is_never_picked() {
        let all_on_two = routing(json!([
            {"Version": "1", "Weight": 0},
            {"Version": "2", "Weight": 100},
        ]));
        assert!((0..100).all(|roll| all_on_two.pick(roll) == 2));
        assert_eq!(
            all_on_two.pick(1000),
            2,
            "an out-of-range roll still lands somewhere"
        );
        let only = routing(json!([{"Version": "7", "Weight": 100}]));
        assert_eq!(only.pick(42), 7);
    }

    #[test]
    fn routing_is_one_or_two_distinct_versions_weighing_100() {
        assert!(refusal(json!([])).contains("1 to 2 versions"));
        assert!(refusal(json!({"Version": "1"})).contains("1 to 2 versions"));
        assert!(
            refusal(json!([
                {"Version": "1", "Weight": 30},
                {"Version": "2", "Weight": 30},
                {"Version": "3", "Weight": 40},
            ]))
            .contains("1 to 2 versions")
        );
        assert!(
            refusal(json!([
                {"Version": "1", "Weight": 50},
                {"Version": "1", "Weight": 50},
            ]))
            .contains("listed twice")
        );
        assert!(refusal(json!([{"Version": "1", "Weight": 90}])).contains("add up to 90"));
        assert!(refusal(json!([{"Version": "1", "Weight": 101}])).contains("0 to 100"));
        assert!(refusal(json!([{"Version": "1", "Weight": -1}])).contains("0 to 100"));
        assert!(refusal(json!([{"Version": 1, "Weight": 100}])).contains("Version string"));
        assert!(refusal(json!([{"Version": "one", "Weight": 100}])).contains("not a number"));
    }

    #[test]
    fn a_qualifier_is_a_version_number_or_an_alias_name() {
        assert!(is_version_number("12"));
        assert!(!is_version_number("prod"));
        assert!(!is_version_number("v1"));
        assert!(!is_version_number(""));
    }

    #[test]
    fn routes_to_names_the_routed_versions() {
        let canary = routing(json!([
            {"Version": "1", "Weight": 90},
            {"Version": "2", "Weight": 10},
        ]));
        assert!(canary.routes_to(1) && canary.routes_to(2));
        assert!(!canary.routes_to(3));
    }
}
