//! Tags of state machines: `TagResource`, `UntagResource`, `ListTagsForResource`, and the
//! tags a create gives. AWS's limits: at most 50 tags on a resource, keys of 1 to 128
//! characters, values of at most 256; `TooManyTags` past the first, `ResourceNotFound` for an
//! ARN that names nothing. Tags live among the state machine's attributes (`render::TAGS`),
//! changed in place: a tag change makes no new revision.

use serde::Deserialize;
use serde_json::json;
use sluice_service::views::FlowView;
use sluice_service::{FlowChanges, ServiceError};

use super::actions::{Actions, Failure, Reply};
use super::error::{Code, SfnError};
use super::render::{self, TAGS};
use super::request::{ResourceRef, Tag, Validate, required};

/// AWS's most tags on one resource.
const MAX_TAGS: usize = 50;
const MAX_KEY_CHARS: usize = 128;
const MAX_VALUE_CHARS: usize = 256;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TagResource {
    pub resource_arn: Option<String>,
    pub tags: Option<Vec<Tag>>,
}

impl Validate for TagResource {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.resource_arn, "resourceArn")?;
        required(&self.tags, "tags")?;
        check_tags(self.tags.as_deref().unwrap_or_default())
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UntagResource {
    pub resource_arn: Option<String>,
    pub tag_keys: Option<Vec<String>>,
}

impl Validate for UntagResource {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.resource_arn, "resourceArn")?;
        required(&self.tag_keys, "tagKeys")?;
        for (i, key) in self.tag_keys.iter().flatten().enumerate() {
            check_length(key, 1, MAX_KEY_CHARS, &format!("tagKeys.{}.member", i + 1))?;
        }
        Ok(())
    }
}

/// The tags of one request: each key and value within AWS's lengths, at most 50 of them.
pub fn check_tags(tags: &[Tag]) -> Result<(), SfnError> {
    for (i, tag) in tags.iter().enumerate() {
        let at = format!("tags.{}.member", i + 1);
        check_length(&tag.key, 1, MAX_KEY_CHARS, &format!("{at}.key"))?;
        check_length(&tag.value, 0, MAX_VALUE_CHARS, &format!("{at}.value"))?;
    }
    if tags.len() > MAX_TAGS {
        return Err(too_many(None));
    }
    Ok(())
}

fn check_length(text: &str, min: usize, max: usize, member: &str) -> Result<(), SfnError> {
    let chars = text.chars().count();
    if (min..=max).contains(&chars) {
        return Ok(());
    }
    Err(SfnError::validation(format!(
        "1 validation error detected: Value at '{member}' failed to satisfy constraint: Member must have length less than or equal to {max} and greater than or equal to {min}"
    )))
}

fn too_many(arn: Option<&str>) -> SfnError {
    let on = arn.map_or_else(String::new, |a| format!(" on {a}"));
    SfnError::new(
        Code::TooManyTags,
        format!("Too many tags{on}: a resource has at most {MAX_TAGS} tags"),
    )
}

/// `tags` with `added` put in (a key given again takes the new value), in their order.
fn merged(mut tags: Vec<Tag>, added: Vec<Tag>) -> Vec<Tag> {
    for tag in added {
        match tags.iter_mut().find(|t| t.key == tag.key) {
            Some(existing) => existing.value = tag.value,
            None => tags.push(tag),
        }
    }
    tags
}

impl Actions<'_> {
    /// A state machine's tags, or an activity's.
    pub(super) async fn list_tags(&self, r: &ResourceRef) -> Reply {
        let arn = r.resource_arn.as_deref().unwrap_or("");
        if let Some(name) = self.activity_of(arn) {
            let tags = self.activity_tags(&name, arn).await?;
            return Ok(json!({ "tags": tags }));
        }
        let (_, tags) = self.tagged(Some(arn)).await?;
        Ok(json!({ "tags": tags }))
    }

    pub(super) async fn tag(&self, r: TagResource) -> Reply {
        let arn = r.resource_arn.as_deref();
        let added = r.tags.unwrap_or_default();
        if let Some(name) = arn.and_then(|arn| self.activity_of(arn)) {
            let tags = merged(self.activity_tags(&name, arn.unwrap_or("")).await?, added);
            if tags.len() > MAX_TAGS {
                return Err(too_many(arn).into());
            }
            return self.retag_activity(&name, arn.unwrap_or(""), tags).await;
        }
        let (flow, tags) = self.tagged(arn).await?;
        let tags = merged(tags, added);
        if tags.len() > MAX_TAGS {
            return Err(too_many(arn).into());
        }
        self.write_tags(&flow, tags).await
    }

    pub(super) async fn untag(&self, r: UntagResource) -> Reply {
        let arn = r.resource_arn.as_deref().unwrap_or("");
        let keys = r.tag_keys.unwrap_or_default();
        if let Some(name) = self.activity_of(arn) {
            let mut tags = self.activity_tags(&name, arn).await?;
            tags.retain(|t| !keys.contains(&t.key));
            return self.retag_activity(&name, arn, tags).await;
        }
        let (flow, mut tags) = self.tagged(Some(arn)).await?;
        tags.retain(|t| !keys.contains(&t.key));
        self.write_tags(&flow, tags).await
    }

    /// The caller's activity an activity ARN names (`None` for an ARN of another kind).
    fn activity_of(&self, arn: &str) -> Option<String> {
        self.arns.activity_name(arn).ok()
    }

    /// An activity's tags; `ResourceNotFound` if there is none.
    async fn activity_tags(&self, name: &str, arn: &str) -> Result<Vec<Tag>, Failure> {
        let activity = self
            .service
            .describe_activity(self.caller, name)
            .await
            .map_err(|e| not_found(e.into(), arn))?;
        Ok(activity
            .tags
            .into_iter()
            .map(|(key, value)| Tag { key, value })
            .collect())
    }

    async fn retag_activity(&self, name: &str, arn: &str, tags: Vec<Tag>) -> Reply {
        let tags = tags.into_iter().map(|t| (t.key, t.value)).collect();
        self.service
            .retag_activity(self.caller, name, tags)
            .await
            .map_err(|e| not_found(e.into(), arn))?;
        Ok(json!({}))
    }

    /// The state machine an ARN names and its tags; `ResourceNotFound` if there is none.
    async fn tagged(&self, arn: Option<&str>) -> Result<(FlowView, Vec<Tag>), Failure> {
        let arn = arn.unwrap_or("");
        let flow = self
            .machine(Some(arn))
            .await
            .map_err(|e| not_found(e, arn))?;
        let tags = serde_json::from_value(render::tags(&flow)).unwrap_or_default();
        Ok((flow, tags))
    }

    async fn write_tags(&self, flow: &FlowView, tags: Vec<Tag>) -> Reply {
        // Only the tags member: the store merges it into what the flow keeps inside its
        // update, so a concurrent logging or tracing update is not overwritten.
        let changes = FlowChanges {
            definition: None,
            description: None,
            role_arn: None,
            attributes: Some(json!({ TAGS: tags })),
        };
        let name = flow.name.as_str();
        self.service
            .update_flow(self.caller, name, changes)
            .await
            .map_err(|e| not_found(e.into(), name))?;
        Ok(json!({}))
    }
}

/// A resource that is not there is AWS's `ResourceNotFound` in the tagging actions.
fn not_found(failure: Failure, arn: &str) -> Failure {
    let gone = matches!(
        &failure,
        Failure::Service(ServiceError::FlowNotFound(_) | ServiceError::NotFound { .. })
            | Failure::Sfn(SfnError {
                code: Code::StateMachineDoesNotExist,
                ..
            })
    );
    if gone {
        return SfnError::new(
            Code::ResourceNotFound,
            format!("Resource not found: '{arn}'"),
        )
        .into();
    }
    failure
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(key: &str, value: &str) -> Tag {
        Tag {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn a_tag_given_again_takes_its_new_value_in_its_place() {
        let tags = merged(
            vec![tag("team", "a"), tag("cost", "1")],
            vec![tag("team", "b"), tag("env", "prod")],
        );
        assert_eq!(
            tags,
            vec![tag("team", "b"), tag("cost", "1"), tag("env", "prod")]
        );
    }

    #[test]
    fn awss_limits_are_checked() {
        assert!(check_tags(&[tag(&"k".repeat(128), &"v".repeat(256))]).is_ok());
        let long_key = check_tags(&[tag(&"k".repeat(129), "")]).unwrap_err();
        assert_eq!(long_key.code, Code::ValidationException);
        let long_value = check_tags(&[tag("k", &"v".repeat(257))]).unwrap_err();
        assert_eq!(long_value.code, Code::ValidationException);
        assert_eq!(
            check_tags(&[tag("", "v")]).unwrap_err().code,
            Code::ValidationException
        );
        let many: Vec<Tag> = (0..51).map(|i| tag(&format!("k{i}"), "")).collect();
        assert_eq!(check_tags(&many).unwrap_err().code, Code::TooManyTags);
    }
}
