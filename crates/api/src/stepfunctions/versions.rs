//! State machine versions: `publish` on a create or an update, `PublishStateMachineVersion`
//! (AWS's idempotency: a version of the current revision is answered again; a `revisionId`
//! that is not the current one is a `ConflictException`), `ListStateMachineVersions`,
//! `DeleteStateMachineVersion` (refused with `ConflictException` while an alias routes to
//! it), and `DescribeStateMachine` of a version ARN. Versions are the service's flow
//! versions (`crates/service/src/versions.rs`); this file only translates.

use serde::Deserialize;
use serde_json::{Value, json};
use sluice_service::views::{FlowView, VersionView};
use sluice_service::{Listing, Publish, ServiceError, page_cursor, page_token};

use super::actions::{Actions, Reply, invalid_token, with_next};
use super::error::SfnError;
use super::render;
use super::request::{Paging, Validate, required};
use crate::paging::page;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishVersion {
    pub state_machine_arn: Option<String>,
    pub revision_id: Option<String>,
    pub description: Option<String>,
}

impl Validate for PublishVersion {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.state_machine_arn, "stateMachineArn")?;
        check_description(self.description.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListVersions {
    pub state_machine_arn: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

impl ListVersions {
    pub fn paging(&self) -> Paging {
        Paging {
            max_results: self.max_results,
            next_token: self.next_token.clone(),
        }
    }
}

impl Validate for ListVersions {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.state_machine_arn, "stateMachineArn")?;
        self.paging().validate()
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VersionRef {
    pub state_machine_version_arn: Option<String>,
}

impl Validate for VersionRef {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.state_machine_version_arn, "stateMachineVersionArn")
    }
}

/// AWS's bound on a version's or an alias's description.
pub fn check_description(description: Option<&str>) -> Result<(), SfnError> {
    match description {
        Some(d) if d.chars().count() > 256 => Err(SfnError::validation(
            "1 validation error detected: the description must be at most 256 characters",
        )),
        _ => Ok(()),
    }
}

/// `versionDescription` of a create or an update: only with `publish`.
pub fn check_publish(publish: Option<bool>, description: Option<&str>) -> Result<(), SfnError> {
    if description.is_some() && publish != Some(true) {
        return Err(SfnError::validation(
            "Version description can only be set when publish is true",
        ));
    }
    check_description(description)
}

impl Actions<'_> {
    /// Publishes the state machine's current revision (`expected`: only if it is that one);
    /// its version's ARN.
    pub(super) async fn publish_current(
        &self,
        machine: &str,
        description: Option<String>,
        expected: Option<i64>,
    ) -> Result<(VersionView, String), ServiceError> {
        let publish = Publish {
            description: description.unwrap_or_default(),
            revision: expected,
            reuse: true,
        };
        let version = self.service.publish(self.caller, machine, publish).await?;
        let arn = self.arns.version(machine, version.version);
        Ok((version, arn))
    }

    pub(super) async fn publish_version(&self, r: PublishVersion) -> Reply {
        let machine = self
            .arns
            .machine_name(r.state_machine_arn.as_deref().unwrap_or(""))?;
        // A revision id this server never handed out is no revision of the state machine.
        let expected = r
            .revision_id
            .as_deref()
            .map(|id| id.parse::<i64>().unwrap_or(-1));
        let (version, arn) = self
            .publish_current(&machine, r.description, expected)
            .await?;
        Ok(json!({
            "creationDate": render::seconds(version.created_at),
            "stateMachineVersionArn": arn,
        }))
    }

    pub(super) async fn list_versions(&self, r: ListVersions) -> Reply {
        let machine = self
            .arns
            .machine_name(r.state_machine_arn.as_deref().unwrap_or(""))?;
        let paging = r.paging();
        let limit = paging.limit();
        let before = match paging.next_token.as_deref() {
            None => None,
            Some(token) => {
                let cursor = page_cursor(Listing::Versions, token).map_err(invalid_token)?;
                Some(
                    cursor
                        .parse::<i64>()
                        .map_err(|_| invalid_token(ServiceError::InvalidArgument(String::new())))?,
                )
            }
        };
        let versions = self
            .service
            .list_versions(self.caller, &machine, before, limit + 1)
            .await?;
        let (versions, next) = page(versions, limit, |v| {
            page_token(Listing::Versions, &v.version.to_string())
        });
        let items: Vec<Value> = versions
            .iter()
            .map(|v| {
                json!({
                    "stateMachineVersionArn": self.arns.version(&machine, v.version),
                    "creationDate": render::seconds(v.created_at),
                })
            })
            .collect();
        Ok(with_next(json!({"stateMachineVersions": items}), next))
    }

    /// Deleting a version that is not there is a success, as deleting a state machine is.
    pub(super) async fn delete_version(&self, r: VersionRef) -> Reply {
        let arn = r.state_machine_version_arn.as_deref().unwrap_or("");
        let (machine, version) = self.arns.version_of(arn)?;
        match self
            .service
            .delete_version(self.caller, &machine, &version.to_string())
            .await
        {
            Ok(()) | Err(ServiceError::NotFound { .. }) => Ok(json!({})),
            Err(e) => Err(e.into()),
        }
    }

    /// `DescribeStateMachine` of a version ARN: the definition it published, its
    /// description, and the version's own ARN.
    pub(super) async fn describe_version(&self, machine: &str, version: &str) -> Reply {
        let flow = self
            .service
            .describe_flow_version(self.caller, machine, version)
            .await
            .map_err(|e| no_such_version(e, self, machine, version))?;
        let published = self
            .service
            .describe_version(self.caller, machine, version)
            .await
            .map_err(|e| no_such_version(e, self, machine, version))?;
        Ok(version_body(&flow, &published, self))
    }
}

fn version_body(flow: &FlowView, version: &VersionView, actions: &Actions<'_>) -> Value {
    let mut body = render::machine(flow, actions.arns);
    body["stateMachineArn"] = json!(actions.arns.version(flow.name.as_str(), version.version));
    body["description"] = json!(version.description);
    body["creationDate"] = json!(render::seconds(version.created_at));
    body["revisionId"] = json!(version.revision.to_string());
    body
}

/// A version that does not exist is a state machine (version) that does not exist.
fn no_such_version(
    e: ServiceError,
    actions: &Actions<'_>,
    machine: &str,
    version: &str,
) -> super::actions::Failure {
    match e {
        ServiceError::NotFound { .. } | ServiceError::InvalidArgument(_) => SfnError::new(
            super::error::Code::StateMachineDoesNotExist,
            format!(
                "State Machine Does Not Exist: '{}:{version}'",
                actions.arns.machine(machine)
            ),
        )
        .into(),
        other => other.into(),
    }
}
