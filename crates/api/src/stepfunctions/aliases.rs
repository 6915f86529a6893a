//! State machine aliases: `Create`/`Describe`/`Update`/`Delete`/`ListStateMachineAliases`,
//! weighted routing over one or two versions (`routingConfiguration`, weights adding up to
//! 100). Aliases are the service's flow aliases (`crates/service/src/versions.rs`: the routing
//! checked there, the versions it names checked by the store); this file translates AWS's
//! shapes to them and back.

use serde::Deserialize;
use serde_json::{Value, json};
use sluice_service::views::AliasView;
use sluice_service::{Listing, ServiceError, page_cursor, page_token};

use super::actions::{Actions, Reply, invalid_token, with_next};
use super::error::SfnError;
use super::render;
use super::request::{Paging, Validate, required};
use super::versions::check_description;
use crate::paging::page;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Route {
    pub state_machine_version_arn: String,
    pub weight: i64,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateAlias {
    pub name: Option<String>,
    pub description: Option<String>,
    pub routing_configuration: Option<Vec<Route>>,
}

impl Validate for CreateAlias {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.name, "name")?;
        required(&self.routing_configuration, "routingConfiguration")?;
        check_description(self.description.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AliasRef {
    pub state_machine_alias_arn: Option<String>,
}

impl Validate for AliasRef {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.state_machine_alias_arn, "stateMachineAliasArn")
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateAlias {
    pub state_machine_alias_arn: Option<String>,
    pub description: Option<String>,
    pub routing_configuration: Option<Vec<Route>>,
}

impl Validate for UpdateAlias {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.state_machine_alias_arn, "stateMachineAliasArn")?;
        if self.description.is_none() && self.routing_configuration.is_none() {
            return Err(SfnError::validation(
                "Either the description or the routingConfiguration must be specified",
            ));
        }
        check_description(self.description.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListAliases {
    pub state_machine_arn: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

impl ListAliases {
    pub fn paging(&self) -> Paging {
        Paging {
            max_results: self.max_results,
            next_token: self.next_token.clone(),
        }
    }
}

impl Validate for ListAliases {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.state_machine_arn, "stateMachineArn")?;
        self.paging().validate()
    }
}

impl Actions<'_> {
    /// The state machine is the one every routed version belongs to (they must agree).
    /// AWS's idempotency: an alias of that name with the same description and routing is
    /// answered again; with others it is a `ConflictException`.
    pub(super) async fn create_alias(&self, r: CreateAlias) -> Reply {
        let routes = r.routing_configuration.unwrap_or_default();
        let (machine, routing) = self.routing(&routes, None)?;
        let name = r.name.unwrap_or_default();
        let description = r.description.unwrap_or_default();
        let created = self
            .service
            .create_alias(self.caller, &machine, &name, &description, routing)
            .await;
        let alias = match created {
            Err(ServiceError::Exists { kind, name: taken }) => {
                let existing = self
                    .service
                    .describe_alias(self.caller, &machine, &name)
                    .await?;
                let wanted: Vec<(i64, u32)> = routes
                    .iter()
                    .filter_map(|r| self.arns.version_of(&r.state_machine_version_arn).ok())
                    .map(|(_, v)| v)
                    .zip(
                        routes
                            .iter()
                            .map(|r| u32::try_from(r.weight).unwrap_or(u32::MAX)),
                    )
                    .collect();
                let has: Vec<(i64, u32)> = existing
                    .routing
                    .iter()
                    .map(|r| (r.version, r.weight))
                    .collect();
                if existing.description != description || wanted != has {
                    return Err(ServiceError::Exists { kind, name: taken }.into());
                }
                existing
            }
            other => other?,
        };
        Ok(json!({
            "stateMachineAliasArn": self.arns.alias(&machine, &alias.name),
            "creationDate": render::seconds(alias.created_at),
        }))
    }

    pub(super) async fn describe_alias(&self, r: AliasRef) -> Reply {
        let (machine, name) = self
            .arns
            .alias_of(r.state_machine_alias_arn.as_deref().unwrap_or(""))?;
        let alias = self
            .service
            .describe_alias(self.caller, &machine, &name)
            .await?;
        Ok(self.alias_body(&machine, &alias))
    }

    pub(super) async fn update_alias(&self, r: UpdateAlias) -> Reply {
        let (machine, name) = self
            .arns
            .alias_of(r.state_machine_alias_arn.as_deref().unwrap_or(""))?;
        let routing = match &r.routing_configuration {
            Some(routes) => Some(self.routing(routes, Some(&machine))?.1),
            None => None,
        };
        let alias = self
            .service
            .update_alias(self.caller, &machine, &name, r.description, routing)
            .await?;
        Ok(json!({"updateDate": render::seconds(alias.modified_at)}))
    }

    pub(super) async fn delete_alias(&self, r: AliasRef) -> Reply {
        let (machine, name) = self
            .arns
            .alias_of(r.state_machine_alias_arn.as_deref().unwrap_or(""))?;
        self.service
            .delete_alias(self.caller, &machine, &name)
            .await?;
        Ok(json!({}))
    }

    pub(super) async fn list_aliases(&self, r: ListAliases) -> Reply {
        let machine = self
            .arns
            .machine_name(r.state_machine_arn.as_deref().unwrap_or(""))?;
        let paging = r.paging();
        let limit = paging.limit();
        let after = paging
            .next_token
            .as_deref()
            .map(|t| page_cursor(Listing::Aliases, t).map_err(invalid_token))
            .transpose()?;
        let aliases = self
            .service
            .list_aliases(self.caller, &machine, after.as_deref(), limit + 1)
            .await?;
        let (aliases, next) = page(aliases, limit, |a| page_token(Listing::Aliases, &a.name));
        let items: Vec<Value> = aliases
            .iter()
            .map(|a| {
                json!({
                    "stateMachineAliasArn": self.arns.alias(&machine, &a.name),
                    "creationDate": render::seconds(a.created_at),
                })
            })
            .collect();
        Ok(with_next(json!({"stateMachineAliases": items}), next))
    }

    fn alias_body(&self, machine: &str, alias: &AliasView) -> Value {
        let routing: Vec<Value> = alias
            .routing
            .iter()
            .map(|r| {
                json!({
                    "stateMachineVersionArn": self.arns.version(machine, r.version),
                    "weight": r.weight,
                })
            })
            .collect();
        json!({
            "stateMachineAliasArn": self.arns.alias(machine, &alias.name),
            "name": alias.name,
            "description": alias.description,
            "routingConfiguration": routing,
            "creationDate": render::seconds(alias.created_at),
            "updateDate": render::seconds(alias.modified_at),
        })
    }

    /// AWS's routing as the service's (`[{"Version": "1", "Weight": 90}]`), and the state
    /// machine its versions belong to (`machine`, if the alias's is known already).
    fn routing(
        &self,
        routes: &[Route],
        machine: Option<&str>,
    ) -> Result<(String, Value), SfnError> {
        let mut owner = machine.map(str::to_string);
        let mut routing = Vec::with_capacity(routes.len());
        for route in routes {
            let (of, version) = self.arns.version_of(&route.state_machine_version_arn)?;
            if owner.as_deref().is_some_and(|m| m != of) {
                return Err(SfnError::validation(
                    "Every version an alias routes to must be a version of the alias's state machine",
                ));
            }
            owner = Some(of);
            routing.push(json!({"Version": version.to_string(), "Weight": route.weight}));
        }
        let owner = owner.ok_or_else(|| {
            SfnError::validation(
                "1 validation error detected: the routingConfiguration must name 1 or 2 versions",
            )
        })?;
        Ok((owner, Value::Array(routing)))
    }
}
