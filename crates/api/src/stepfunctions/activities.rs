//! Activities: `CreateActivity`, `DescribeActivity`, `ListActivities`, `DeleteActivity` and a
//! worker's `GetActivityTask`, AWS's shapes over the service's activities
//! (`crates/service/src/activities.rs`: the queue, the pickup and its long poll). A worker
//! reports with `SendTask*` (`tasks.rs`), the same commands a `.waitForTaskToken` task's
//! callback uses.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};
use sluice_service::views::Millis;
use sluice_service::{Listing, page_cursor, page_token};

use super::actions::{Actions, Reply, invalid_token, with_next};
use super::error::SfnError;
use super::render;
use super::request::{Paging, Tag, Validate, required};
use crate::paging::page;

/// How long `GetActivityTask` holds a poll with nothing to hand out: AWS's 60 seconds (its
/// SDKs' read timeouts, 65 s for boto3, are set to outlast it).
pub const POLL: Duration = Duration::from_secs(60);

/// AWS's longest `workerName`.
const MAX_WORKER_CHARS: usize = 80;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CreateActivity {
    pub name: Option<String>,
    pub tags: Option<Vec<Tag>>,
    pub encryption_configuration: Option<Value>,
}

impl Validate for CreateActivity {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.name, "name")?;
        super::tags::check_tags(self.tags.as_deref().unwrap_or_default())?;
        super::request::unencrypted(&self.encryption_configuration)
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActivityRef {
    pub activity_arn: Option<String>,
}

impl Validate for ActivityRef {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.activity_arn, "activityArn")
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetActivityTask {
    pub activity_arn: Option<String>,
    pub worker_name: Option<String>,
}

impl Validate for GetActivityTask {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.activity_arn, "activityArn")?;
        match &self.worker_name {
            Some(worker) if worker.chars().count() > MAX_WORKER_CHARS => {
                Err(SfnError::validation(format!(
                    "1 validation error detected: Value at 'workerName' failed to satisfy constraint: Member must have length less than or equal to {MAX_WORKER_CHARS}"
                )))
            }
            _ => Ok(()),
        }
    }
}

impl Actions<'_> {
    /// AWS's idempotent create: an activity of that name is answered as it is.
    pub(super) async fn create_activity(&self, r: CreateActivity) -> Reply {
        let tags = r
            .tags
            .unwrap_or_default()
            .into_iter()
            .map(|t| (t.key, t.value))
            .collect();
        let name = r.name.unwrap_or_default();
        let activity = self
            .service
            .create_activity(self.caller, &name, tags)
            .await?;
        Ok(json!({
            "activityArn": self.arns.activity(&activity.name),
            "creationDate": render::seconds(activity.created_at),
        }))
    }

    pub(super) async fn describe_activity(&self, r: ActivityRef) -> Reply {
        let name = self.activity_name(&r)?;
        let activity = self.service.describe_activity(self.caller, &name).await?;
        Ok(self.listed(&activity.name, activity.created_at))
    }

    pub(super) async fn delete_activity(&self, r: ActivityRef) -> Reply {
        let name = self.activity_name(&r)?;
        self.service.delete_activity(self.caller, &name).await?;
        Ok(json!({}))
    }

    pub(super) async fn list_activities(&self, paging: Paging) -> Reply {
        let limit = paging.limit();
        let after = paging
            .next_token
            .as_deref()
            .map(|t| page_cursor(Listing::Activities, t).map_err(invalid_token))
            .transpose()?;
        let activities = self
            .service
            .list_activities(self.caller, after.as_deref(), limit + 1)
            .await?;
        let (activities, next) = page(activities, limit, |a| {
            page_token(Listing::Activities, &a.name)
        });
        let items: Vec<Value> = activities
            .iter()
            .map(|a| self.listed(&a.name, a.created_at))
            .collect();
        Ok(with_next(json!({ "activities": items }), next))
    }

    /// The long poll: a task's token and input, or `{}` when none came within [`POLL`].
    pub(super) async fn get_activity_task(&self, r: GetActivityTask) -> Reply {
        let name = self
            .arns
            .activity_name(r.activity_arn.as_deref().unwrap_or(""))?;
        let task = self
            .service
            .take_activity_task(self.caller, &name, r.worker_name.as_deref(), POLL)
            .await?;
        Ok(match task {
            Some(task) => json!({"taskToken": task.token, "input": task.input}),
            None => json!({}),
        })
    }

    fn activity_name(&self, r: &ActivityRef) -> Result<String, SfnError> {
        self.arns
            .activity_name(r.activity_arn.as_deref().unwrap_or(""))
    }

    /// An activity as `DescribeActivity` and `ListActivities` answer it.
    fn listed(&self, name: &str, created_at: Millis) -> Value {
        json!({
            "activityArn": self.arns.activity(name),
            "name": name,
            "creationDate": render::seconds(created_at),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_name_is_at_most_80_characters() {
        let get = |worker: &str| GetActivityTask {
            activity_arn: Some("arn:aws:states:r:1:activity:a".into()),
            worker_name: Some(worker.into()),
        };
        assert!(get(&"w".repeat(80)).validate().is_ok());
        assert!(get(&"w".repeat(81)).validate().is_err());
        let missing = GetActivityTask {
            activity_arn: None,
            worker_name: None,
        };
        assert!(missing.validate().is_err());
    }
}
