//! How a Task state's events are spelled: what its `Resource` calls (a Lambda function, an
//! activity, a service integration), and the `Lambda…`, `Activity…` or `Task…` event each of
//! the engine's task events becomes.

use serde_json::{Value, json};
use sluice_service::views::EventType;

use super::Details;

/// What a task calls: a Lambda function by its ARN, or a service integration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Resource {
    Lambda(String),
    /// `arn:aws:states:REGION:ACCOUNT:activity:NAME`: `Activity…` events.
    Activity(String),
    /// `arn:aws:states:::lambda:invoke` is `resourceType` `lambda`, `resource` `invoke`.
    Integration {
        kind: String,
        name: String,
    },
}

impl Resource {
    pub(super) fn of(arn: &str) -> Resource {
        if arn.split(':').nth(5) == Some("activity") {
            return Resource::Activity(arn.into());
        }
        let integration = arn
            .split_once(":states:::")
            .and_then(|(_, rest)| rest.split_once(':'));
        match integration {
            Some((kind, name)) => Resource::Integration {
                kind: kind.into(),
                name: name.into(),
            },
            None => Resource::Lambda(arn.into()),
        }
    }
}

pub(super) fn scheduled(
    resource: &Resource,
    d: &Value,
    input: String,
    region: &str,
) -> (String, Details) {
    match resource {
        Resource::Activity(arn) => {
            let mut details =
                json!({"resource": arn, "input": input, "inputDetails": {"truncated": false}});
            for key in ["timeoutInSeconds", "heartbeatInSeconds"] {
                if let Some(secs) = d.get(key) {
                    details[key] = secs.clone();
                }
            }
            (
                "ActivityScheduled".into(),
                Some(("activityScheduledEventDetails", details)),
            )
        }
        Resource::Lambda(arn) => (
            "LambdaFunctionScheduled".into(),
            Some((
                "lambdaFunctionScheduledEventDetails",
                json!({"resource": arn, "input": input, "inputDetails": {"truncated": false}}),
            )),
        ),
        Resource::Integration { kind, name } => (
            "TaskScheduled".into(),
            Some((
                "taskScheduledEventDetails",
                json!({"resourceType": kind, "resource": name, "region": region, "parameters": input}),
            )),
        ),
    }
}

pub(super) fn task_event(
    kind: EventType,
    resource: &Resource,
    d: &Value,
    output: String,
    error: Value,
) -> (String, Details) {
    let (suffix, payload) = match kind {
        EventType::TaskStarted => ("Started", None),
        EventType::TaskSubmitted => (
            "Submitted",
            Some(json!({"output": output, "outputDetails": {"truncated": false}})),
        ),
        EventType::TaskSucceeded => (
            "Succeeded",
            Some(json!({"output": output, "outputDetails": {"truncated": false}})),
        ),
        EventType::TaskSubmitFailed => ("SubmitFailed", Some(error)),
        EventType::TaskTimedOut => ("TimedOut", Some(error)),
        _ => ("Failed", Some(error)),
    };
    match resource {
        Resource::Activity(_) => {
            let payload = match kind {
                // The worker that took it, if it gave its name.
                EventType::TaskStarted => d
                    .get("workerName")
                    .map(|worker| json!({ "workerName": worker })),
                _ => payload,
            };
            let suffix = match suffix {
                "SubmitFailed" => "ScheduleFailed",
                other => other,
            };
            let key = activity_details_key(suffix);
            (format!("Activity{suffix}"), payload.map(|p| (key, p)))
        }
        Resource::Lambda(_) => {
            let kind = format!("LambdaFunction{suffix}");
            let key = lambda_details_key(suffix);
            (kind, payload.map(|p| (key, p)))
        }
        Resource::Integration { kind, name } => {
            let mut details = payload.unwrap_or_else(|| json!({}));
            details["resourceType"] = json!(kind);
            details["resource"] = json!(name);
            (
                format!("Task{suffix}"),
                Some((task_details_key(suffix), details)),
            )
        }
    }
}

pub(super) fn activity_details_key(suffix: &str) -> &'static str {
    match suffix {
        "Started" => "activityStartedEventDetails",
        "Succeeded" => "activitySucceededEventDetails",
        "TimedOut" => "activityTimedOutEventDetails",
        "ScheduleFailed" => "activityScheduleFailedEventDetails",
        _ => "activityFailedEventDetails",
    }
}

pub(super) fn lambda_details_key(suffix: &str) -> &'static str {
    match suffix {
        "Succeeded" => "lambdaFunctionSucceededEventDetails",
        "TimedOut" => "lambdaFunctionTimedOutEventDetails",
        "SubmitFailed" => "lambdaFunctionStartFailedEventDetails",
        _ => "lambdaFunctionFailedEventDetails",
    }
}

pub(super) fn task_details_key(suffix: &str) -> &'static str {
    match suffix {
        "Started" => "taskStartedEventDetails",
        "Submitted" => "taskSubmittedEventDetails",
        "Succeeded" => "taskSucceededEventDetails",
        "SubmitFailed" => "taskSubmitFailedEventDetails",
        "TimedOut" => "taskTimedOutEventDetails",
        _ => "taskFailedEventDetails",
    }
}
