//! Flow versions (immutable snapshots) and aliases (weighted routing over versions), and what
//! a start's `Qualifier` runs: a version's definition, or the version an alias routes it to.

use rand::Rng;
use serde_json::Value;
use sluice_ir::check_name_rule;
use sluice_runtime::durable::wall_clock_ms;
use sluice_store::{
    AliasRecord, AliasUpdate, FlowId, FlowRecord, NewVersion, Page, Route, StartedAs, StoreError,
    VersionRecord,
};

use crate::flows::check_name;
use crate::views::{AliasView, FlowView, VersionView, views};
use crate::{Caller, Result, Service, ServiceError};

/// How a version is published (see [`Service::publish`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Publish {
    pub description: String,
    /// Only if the flow is at this revision (`ConcurrentUpdate` otherwise).
    pub revision: Option<i64>,
    /// An existing version of the flow's current revision is the answer, if there is one.
    pub reuse: bool,
}

/// How many versions an alias may route to: "one or two flow versions" (CreateFlowAlias).
const MAX_ROUTES: usize = 2;

impl Service {
    pub async fn publish_version(
        &self,
        caller: &Caller,
        flow: &str,
        description: &str,
    ) -> Result<VersionView> {
        let publish = Publish {
            description: description.to_string(),
            ..Publish::default()
        };
        self.publish(caller, flow, publish).await
    }

    /// Publishes the flow's current revision as a version, as `publish` asks: only if the
    /// flow is at the revision it names, and answering an existing version of that revision
    /// if it says so; both checked in the store's transaction that numbers the version.
    pub async fn publish(
        &self,
        caller: &Caller,
        flow: &str,
        publish: Publish,
    ) -> Result<VersionView> {
        let flow = self.flow(caller, flow).await?;
        let version = NewVersion {
            flow_id: flow.id,
            description: publish.description,
            expected_revision: publish.revision,
            reuse: publish.reuse,
            now: wall_clock_ms(),
        };
        match self.store.publish_version(version).await {
            Err(StoreError::Conflict(_)) => Err(ServiceError::ConcurrentUpdate),
            Err(StoreError::NotFound(_)) => Err(ServiceError::FlowNotFound(flow.name.to_string())),
            other => Ok(other?.into()),
        }
    }

    /// A published version of the caller's flow; the version is its decimal number.
    pub async fn describe_version(
        &self,
        caller: &Caller,
        flow: &str,
        version: &str,
    ) -> Result<VersionView> {
        let flow = self.flow(caller, flow).await?;
        Ok(self.version_of(&flow, version).await?.into())
    }

    /// The flow as that version published it: its definition is the version's
    /// (`DescribeFlow` with `FlowVersion`).
    pub async fn describe_flow_version(
        &self,
        caller: &Caller,
        flow: &str,
        version: &str,
    ) -> Result<FlowView> {
        let mut flow = self.flow(caller, flow).await?;
        let version = self.version_of(&flow, version).await?;
        let current = (flow.revision, flow.definition.as_str());
        flow.definition = self
            .revision_text(flow.id, current, version.revision)
            .await?;
        Ok(flow.into())
    }

    pub async fn list_versions(
        &self,
        caller: &Caller,
        flow: &str,
        before: Option<i64>,
        limit: usize,
    ) -> Result<Vec<VersionView>> {
        let flow = self.flow(caller, flow).await?;
        let page = Page::after(before, limit);
        Ok(views(self.store.list_versions(flow.id, page).await?))
    }

    /// Deletes a version no alias routes to; executions running it keep running it. The
    /// store checks the aliases in the transaction that deletes.
    pub async fn delete_version(&self, caller: &Caller, flow: &str, version: &str) -> Result<()> {
        let flow = self.flow(caller, flow).await?;
        let number = parse_version(version)?;
        match self.store.delete_version(flow.id, number).await {
            Err(StoreError::RoutedTo(aliases)) => Err(ServiceError::VersionInUse {
                flow: flow.name.to_string(),
                version: number,
                aliases,
            }),
            Err(StoreError::NotFound(_)) => Err(no_version(number)),
            other => Ok(other?),
        }
    }

    /// Creates an alias routing to existing versions (weights must add up to 100).
    pub async fn create_alias(
        &self,
        caller: &Caller,
        flow: &str,
        name: &str,
        description: &str,
        routing: Value,
    ) -> Result<AliasView> {
        let flow = self.flow(caller, flow).await?;
        check_name(name, "alias name")?;
        let now = wall_clock_ms();
        let alias = AliasRecord {
            flow_id: flow.id,
            name: name.to_string(),
            description: description.to_string(),
            routing: parse_routing(&routing)?,
            created_at: now,
            modified_at: now,
        };
        match self.store.create_alias(alias).await {
            Err(StoreError::AlreadyExists(_)) => Err(ServiceError::Exists {
                kind: "flow alias",
                name: name.to_string(),
            }),
            Err(StoreError::NoSuchVersion(version)) => Err(no_version(version)),
            other => Ok(other?.into()),
        }
    }

    pub async fn describe_alias(
        &self,
        caller: &Caller,
        flow: &str,
        name: &str,
    ) -> Result<AliasView> {
        let flow = self.flow(caller, flow).await?;
        Ok(self.alias_of(&flow, name).await?.into())
    }

    /// Changes what is given, in one store write that checks the routed versions exist.
    pub async fn update_alias(
        &self,
        caller: &Caller,
        flow: &str,
        name: &str,
        description: Option<String>,
        routing: Option<Value>,
    ) -> Result<AliasView> {
        let flow = self.flow(caller, flow).await?;
        let update = AliasUpdate {
            description,
            routing: routing.as_ref().map(parse_routing).transpose()?,
            modified_at: wall_clock_ms(),
        };
        match self.store.update_alias(flow.id, name, update).await {
            Err(StoreError::NotFound(_)) => Err(no_alias(name)),
            Err(StoreError::NoSuchVersion(version)) => Err(no_version(version)),
            other => Ok(other?.into()),
        }
    }

    pub async fn delete_alias(&self, caller: &Caller, flow: &str, name: &str) -> Result<()> {
        let flow = self.flow(caller, flow).await?;
        match self.store.delete_alias(flow.id, name).await {
            Err(StoreError::NotFound(_)) => Err(no_alias(name)),
            other => Ok(other?),
        }
    }

    pub async fn list_aliases(
        &self,
        caller: &Caller,
        flow: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<AliasView>> {
        let flow = self.flow(caller, flow).await?;
        let page = Page::after(after.map(str::to_string), limit);
        Ok(views(self.store.list_aliases(flow.id, page).await?))
    }

    /// The revision a start runs: the flow's current one without a qualifier; with one, the
    /// revision of that version (a number) or of the version the alias (a name) routes this
    /// start to.
    pub(crate) async fn revision_to_run(
        &self,
        flow: &FlowRecord,
        qualifier: Option<&str>,
    ) -> Result<(i64, StartedAs)> {
        let Some(qualifier) = qualifier else {
            return Ok((flow.revision, StartedAs::default()));
        };
        let mut alias = None;
        let version = if is_version_number(qualifier) {
            qualifier.to_string()
        } else {
            // Not quoted back unless it could be an alias name, which bounds its length.
            check_name_rule(qualifier).map_err(|_| {
                ServiceError::InvalidArgument(
                    "the Qualifier is neither a flow version (a number) nor an alias name".into(),
                )
            })?;
            let routing = self.alias_of(flow, qualifier).await?.routing;
            alias = Some(qualifier.to_string());
            let roll = rand::rng().random_range(0..100);
            pick(&routing, roll).to_string()
        };
        let version = self.version_of(flow, &version).await?;
        let started_as = StartedAs {
            version: Some(version.version),
            alias,
            test_case: None,
        };
        Ok((version.revision, started_as))
    }

    async fn version_of(&self, flow: &FlowRecord, version: &str) -> Result<VersionRecord> {
        let number = parse_version(version)?;
        self.store
            .get_version(flow.id, number)
            .await?
            .ok_or_else(|| no_version(number))
    }

    async fn alias_of(&self, flow: &FlowRecord, name: &str) -> Result<AliasRecord> {
        self.store
            .get_alias(flow.id, name)
            .await?
            .ok_or_else(|| no_alias(name))
    }

    /// The definition text of a revision of the flow, which is at `current` (its revision
    /// and text).
    pub(crate) async fn revision_text(
        &self,
        flow: FlowId,
        (revision_now, text_now): (i64, &str),
        revision: i64,
    ) -> Result<String> {
        if revision == revision_now {
            return Ok(text_now.to_string());
        }
        let definition = self.store.flow_definition(flow, revision).await?;
        Ok(definition.map(|d| d.text).unwrap_or_default())
    }
}

fn no_version(version: i64) -> ServiceError {
    ServiceError::NotFound {
        kind: "flow version",
        name: version.to_string(),
    }
}

fn no_alias(name: &str) -> ServiceError {
    ServiceError::NotFound {
        kind: "flow alias",
        name: name.to_string(),
    }
}

/// An alias's routing, as CloudFlow's `RoutingConfigurations` write it:
/// `[{"Version": "1", "Weight": 90}, {"Version": "2", "Weight": 10}]`: one or two distinct
/// versions, each with a weight from 0 to 100, adding up to 100.
fn parse_routing(routing: &Value) -> Result<Vec<Route>> {
    let invalid = |m: String| ServiceError::InvalidArgument(format!("RoutingConfigurations: {m}"));
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
    Ok(routes)
}

/// The version a start whose random roll (0 to 99) is `roll` runs: each route takes as many
/// of the 100 rolls as its weight, in order.
fn pick(routes: &[Route], roll: u32) -> i64 {
    let mut ceiling = 0;
    for route in routes {
        ceiling += route.weight;
        if roll < ceiling {
            return route.version;
        }
    }
    // The weights add up to 100, so only a roll out of range gets here.
    routes
        .iter()
        .rfind(|r| r.weight > 0)
        .or(routes.first())
        .map_or(0, |r| r.version)
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

    fn routing(value: Value) -> Vec<Route> {
        parse_routing(&value).expect("valid routing")
    }

    fn refusal(value: Value) -> String {
        parse_routing(&value).unwrap_err().to_string()
    }

    #[test]
    fn each_version_takes_as_many_rolls_as_its_weight() {
        let canary = routing(json!([
            {"Version": "1", "Weight": 90},
            {"Version": "2", "Weight": 10},
        ]));
        assert_eq!(pick(&canary, 0), 1);
        assert_eq!(pick(&canary, 89), 1);
        assert_eq!(pick(&canary, 90), 2);
        assert_eq!(pick(&canary, 99), 2);
        let ones = (0..100).filter(|roll| pick(&canary, *roll) == 1).count();
        assert_eq!(ones, 90);
    }

    #[test]
    fn a_weight_of_zero_is_never_picked() {
        let all_on_two = routing(json!([
            {"Version": "1", "Weight": 0},
            {"Version": "2", "Weight": 100},
        ]));
        assert!((0..100).all(|roll| pick(&all_on_two, roll) == 2));
        assert_eq!(
            pick(&all_on_two, 1000),
            2,
            "an out-of-range roll still lands somewhere"
        );
        let only = routing(json!([{"Version": "7", "Weight": 100}]));
        assert_eq!(pick(&only, 42), 7);
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
}
