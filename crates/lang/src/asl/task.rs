//! Task states: their `Resource` (Lambda functions, `lambda:invoke`, `http:invoke`,
//! activities), timeout and heartbeat, and the `Retry` and `Catch` that Task, Parallel and Map
//! states share.

use sluice_ir::asl::{invoked_function, lambda_function_arn};
use sluice_ir::{
    AslData, Body, Catcher, FunctionRef, NestedWait, QueryLanguage, Recovery, Task, TaskMode,
    TaskTarget, actions,
};

use super::data::{Values, assign, jsonata_template, result_path};
use crate::doc::{Node, NodeKind};
use crate::error::{Problem, ProblemKind};
use crate::frontend::{Fields, RetrySyntax, ScopeNames, build_retrier};

/// The longest `TimeoutSeconds`/`HeartbeatSeconds` (the specification's 99999999).
pub const MAX_TASK_TIMEOUT_SECS: i64 = 99_999_999;
const STATES_ALL: &str = "States.ALL";
const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";
const HTTP_INVOKE: &str = "arn:aws:states:::http:invoke";
const WAIT_FOR_TOKEN: &str = ".waitForTaskToken";
const START_EXECUTION: &str = "arn:aws:states:::states:startExecution";

const RETRIER: RetrySyntax = RetrySyntax {
    errors: Some("ErrorEquals"),
    max_attempts: "MaxAttempts",
    interval: "IntervalSeconds",
    backoff_rate: "BackoffRate",
    max_backoff: Some("MaxDelaySeconds"),
    ignored: &["Comment"],
    owner: "a Retrier",
    default_backoff_rate: 2.0,
    jitter: Some("JitterStrategy"),
};

pub(super) fn task(values: &Values<'_>, names: &ScopeNames) -> Result<Task, Problem> {
    let fields = &values.fields;
    let resource_node = fields.require("Resource", "a Task state")?;
    let resource = resource_node.as_str()?;
    // TimeoutSecondsPath, HeartbeatSecondsPath or a JSONata TimeoutSeconds/HeartbeatSeconds
    // are read when the state runs (`AslData::timeout`/`heartbeat`, see `data.rs`).
    let timeout_secs = values
        .number("TimeoutSeconds", 1, MAX_TASK_TIMEOUT_SECS)?
        .literal
        .map(i64::unsigned_abs);
    let heartbeat_secs = values
        .number("HeartbeatSeconds", 1, MAX_TASK_TIMEOUT_SECS)?
        .literal
        .map(i64::unsigned_abs);
    if let (Some(heartbeat), Some(timeout)) = (heartbeat_secs, timeout_secs)
        && heartbeat >= timeout
    {
        let node = fields.get("HeartbeatSeconds").unwrap_or(resource_node);
        return Err(Problem::at(
            node.loc,
            format!(
                "HeartbeatSeconds ({heartbeat}) must be smaller than TimeoutSeconds ({timeout})"
            ),
        ));
    }
    let (base, mode) = match resource.strip_suffix(WAIT_FOR_TOKEN) {
        Some(base) => (base, TaskMode::WaitForCustomCallback),
        None => (resource, TaskMode::RequestComplete),
    };
    let (target, body) = target(values, resource_node, base)?;
    // An activity's task waits for its worker's report: a callback without a call.
    let mode = match target {
        TaskTarget::Activity(_) if mode == TaskMode::RequestComplete => {
            TaskMode::WaitForCustomCallback
        }
        TaskTarget::Activity(_) => return Err(unsupported(resource_node, resource)),
        _ if mode == TaskMode::WaitForCustomCallback
            && base != LAMBDA_INVOKE
            && base != HTTP_INVOKE =>
        {
            return Err(unsupported(resource_node, resource));
        }
        _ => mode,
    };
    Ok(Task {
        target,
        resource: resource.to_owned(),
        mode,
        body,
        timeout_secs,
        heartbeat_secs,
        recovery: recovery(values, names)?,
    })
}

/// The name of the activity `arn:PARTITION:states:REGION:ACCOUNT:activity:NAME` names.
fn activity_name(resource: &str) -> Option<&str> {
    let parts: Vec<&str> = resource.splitn(7, ':').collect();
    match parts[..] {
        ["arn", _, "states", region, account, "activity", name]
            if !region.is_empty() && !account.is_empty() && !name.is_empty() =>
        {
            Some(name)
        }
        _ => None,
    }
}

fn target(values: &Values<'_>, node: &Node, resource: &str) -> Result<(TaskTarget, Body), Problem> {
    if let Some(name) = activity_name(resource) {
        return Ok((TaskTarget::Activity(name.to_owned()), Body::StateInput));
    }
    if resource.starts_with("arn:") && resource.split(':').nth(2) == Some("lambda") {
        let function = lambda_function_arn(resource).ok_or_else(|| {
            Problem::at(
                node.text_loc(),
                format!("Resource {resource:?} is no function ARN arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]"),
            )
            .kind(ProblemKind::Resource)
        })?;
        return Ok((TaskTarget::Function(function), Body::StateInput));
    }
    match resource {
        LAMBDA_INVOKE => Ok((
            TaskTarget::Function(invoked_function_field(values)?),
            Body::LambdaPayload,
        )),
        HTTP_INVOKE => Ok((
            TaskTarget::Action(actions::HTTP_TASK.into()),
            Body::StateInput,
        )),
        _ => match nested_wait(resource) {
            Some(wait) => Ok((TaskTarget::Execution(wait), Body::StateInput)),
            None => Err(unsupported(node, resource)),
        },
    }
}

/// How `states:startExecution[.sync[:2]]` waits for the execution it starts.
fn nested_wait(resource: &str) -> Option<NestedWait> {
    match resource.strip_prefix(START_EXECUTION)? {
        "" => Some(NestedWait::Started),
        ".sync" => Some(NestedWait::OutputText),
        ".sync:2" => Some(NestedWait::OutputJson),
        _ => None,
    }
}

fn unsupported(node: &Node, resource: &str) -> Problem {
    let what = if resource.contains(":activity:") {
        "an activity ARN is arn:aws:states:REGION:ACCOUNT:activity:NAME, without a suffix"
            .to_owned()
    } else if let Some(service) = resource.strip_prefix("arn:aws:states:::") {
        format!("the service integration {service:?} is not supported")
    } else {
        "a Resource is a Lambda function ARN or an arn:aws:states::: service integration".to_owned()
    };
    Problem::at(
        node.text_loc(),
        format!(
            "Resource {resource:?}: {what}; supported: arn:aws:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER], arn:aws:states:REGION:ACCOUNT:activity:NAME, {LAMBDA_INVOKE}[{WAIT_FOR_TOKEN}], {HTTP_INVOKE}, {START_EXECUTION}[.sync[:2]]"
        ),
    )
    .kind(ProblemKind::Resource)
}

/// `lambda:invoke`'s function when its `FunctionName` is written literally in `Parameters`
/// (JSONPath) or `Arguments` (JSONata): a name, `NAME:QUALIFIER`, or a function ARN. Given
/// by a path (`FunctionName.$`) or an expression, the engine reads it from the effective
/// input when the state runs ([`Body::LambdaPayload`]); the IR's function is then unnamed.
fn invoked_function_field(values: &Values<'_>) -> Result<FunctionRef, Problem> {
    let dynamic = FunctionRef::lambda("", None);
    let key = match values.query {
        QueryLanguage::JsonPath => "Parameters",
        QueryLanguage::Jsonata => "Arguments",
    };
    let missing = || {
        Problem::at(
            values.fields.loc(),
            format!("{LAMBDA_INVOKE} requires {key}.FunctionName, the function's name or ARN"),
        )
    };
    let parameters = values.fields.get(key).ok_or_else(missing)?;
    if matches!(parameters.kind, NodeKind::String(_)) || parameters.get("FunctionName.$").is_some()
    {
        // Arguments as one expression, or a FunctionName read by a path.
        return Ok(dynamic);
    }
    let node = parameters.get("FunctionName").ok_or_else(missing)?;
    let name = node.as_str()?;
    if name.starts_with("{%") {
        return Ok(dynamic);
    }
    invoked_function(name).ok_or_else(|| {
        Problem::at(
            node.text_loc(),
            format!("FunctionName {name:?} is no function name, NAME:QUALIFIER or function ARN"),
        )
    })
}

/// `Retry` and `Catch`. `States.ALL` must be alone in its `ErrorEquals` and in the last
/// Retrier or Catcher.
pub(super) fn recovery(values: &Values<'_>, names: &ScopeNames) -> Result<Recovery, Problem> {
    let mut recovery = Recovery::default();
    let retriers = optional_list(values.fields.get("Retry"))?;
    for (i, node) in retriers.iter().enumerate() {
        check_error_names(node, i + 1 == retriers.len(), "Retrier")?;
        if let Some(interval) = node.get("IntervalSeconds") {
            interval.as_int_in(1, MAX_TASK_TIMEOUT_SECS)?;
        }
        if let Some(delay) = node.get("MaxDelaySeconds") {
            delay.as_int_in(1, 31_622_400)?;
        }
        recovery.retry.push(build_retrier(node, &RETRIER, &[])?);
    }
    let catchers = optional_list(values.fields.get("Catch"))?;
    for (i, node) in catchers.iter().enumerate() {
        check_error_names(node, i + 1 == catchers.len(), "Catcher")?;
        recovery.catch.push(catcher(values, node, names)?);
    }
    Ok(recovery)
}

fn optional_list(node: Option<&Node>) -> Result<&[Node], Problem> {
    node.map_or(Ok(&[][..]), Node::as_seq)
}

fn check_error_names(node: &Node, last: bool, what: &str) -> Result<(), Problem> {
    let Some(errors) = node.get("ErrorEquals") else {
        return Ok(());
    };
    let list = errors.as_seq()?;
    if list.is_empty() {
        return Err(Problem::at(
            errors.loc,
            "ErrorEquals is a non-empty list of error names; [\"States.ALL\"] matches every error",
        ));
    }
    let all = list
        .iter()
        .find(|n| n.as_str().is_ok_and(|s| s == STATES_ALL));
    if let Some(all) = all {
        if list.len() > 1 {
            return Err(Problem::at(
                all.loc,
                "States.ALL must appear alone in ErrorEquals",
            ));
        }
        if !last {
            return Err(Problem::at(
                all.loc,
                format!("a {what} with States.ALL must be the last {what}"),
            ));
        }
    }
    Ok(())
}

fn catcher(values: &Values<'_>, node: &Node, names: &ScopeNames) -> Result<Catcher, Problem> {
    let owner = "a Catcher";
    let fields = Fields::of(node, owner)?;
    let allowed: &[&str] = match values.query {
        QueryLanguage::JsonPath => &["ErrorEquals", "Next", "ResultPath", "Assign", "Comment"],
        QueryLanguage::Jsonata => &["ErrorEquals", "Next", "Output", "Assign", "Comment"],
    };
    fields.allow_only(allowed, owner)?;
    let errors = fields.require("ErrorEquals", owner)?;
    let errors = errors
        .as_seq()?
        .iter()
        .map(|n| n.as_str().map(str::to_owned))
        .collect::<Result<_, _>>()?;
    let next = names.resolve(fields.require("Next", owner)?, "Next")?;
    let catch_values = Values {
        fields,
        query: values.query,
    };
    let result_path = result_path(fields.get("ResultPath"))?;
    let output = fields
        .get("Output")
        .map(|n| jsonata_template(n, "Output"))
        .transpose()?;
    Ok(Catcher {
        errors,
        next,
        output: None,
        asl: Some(Box::new(AslData {
            query: values.query,
            result_path,
            output,
            assign: assign(&catch_values, fields.get("Assign"))?,
            ..AslData::default()
        })),
    })
}
