//! CloudFlow actions to service commands, and their results to CloudFlow bodies.

use std::time::Duration;

use serde_json::{Value, json};
use sluice_service::views::EventId;
use sluice_service::views::{ExecutionFilter, ExecutionView, FlowView};
use sluice_service::{
    CallbackResult, Caller, Dialect, FlowChanges, FlowSpec, Listing, ScheduleSpec, Service,
    StartRequest, page_cursor, page_token,
};

use super::error::{CloudFlowError, Code};
use super::render::{self, Body};
use super::request::{self, Page, Request};

type Reply = Result<Value, CloudFlowError>;

/// A `NextToken` this server handed out as a number (event ids, version numbers). Anything
/// else is refused rather than silently restarting the listing from the top.
fn numeric_token<T: std::str::FromStr>(token: Option<&str>) -> Result<Option<T>, CloudFlowError> {
    token
        .map(|t| {
            t.parse().map_err(|_| {
                CloudFlowError::invalid("The NextToken is not valid: it must be a number.")
            })
        })
        .transpose()
}

/// The cursor of a `NextToken` a listing by name handed out (see `page_token`).
fn name_cursor(listing: Listing, token: Option<&str>) -> Result<Option<String>, CloudFlowError> {
    Ok(token.map(|t| page_cursor(listing, t)).transpose()?)
}

/// Runs one decoded request for `caller`; the body carries `request_id`.
pub async fn dispatch(
    service: &Service,
    caller: &Caller,
    request: Request,
    request_id: &str,
) -> Reply {
    let body = Body::new(request_id);
    let (s, c) = (service, caller);
    match request {
        Request::CreateFlow(r) => create_flow(s, c, r, body).await,
        Request::DescribeFlow(r) => describe_flow(s, c, r, body).await,
        Request::UpdateFlow(r) => update_flow(s, c, r, body).await,
        Request::DeleteFlow(r) => {
            s.delete_flow(c, &r.name).await?;
            Ok(body.into_value())
        }
        Request::ListFlows(r) => list_flows(s, c, r, body).await,
        Request::StartExecution(r) => start_execution(s, c, r, body).await,
        Request::StartSyncExecution(r) => start_sync_execution(s, c, r, body).await,
        Request::DescribeExecution(r) => describe_execution(s, c, r, body).await,
        Request::StopExecution(r) => stop_execution(s, c, r, body).await,
        Request::ListExecutions(r) => list_executions(s, c, r, body).await,
        Request::GetExecutionHistory(r) => execution_history(s, c, r, body).await,
        Request::ReportTaskSucceeded(r) => {
            let result = CallbackResult::Succeeded { output: r.output };
            report_task(s, c, &r.task_token, result, body).await
        }
        Request::ReportTaskFailed(r) => {
            let result = CallbackResult::Failed {
                error: r.error,
                cause: r.cause.unwrap_or_default(),
            };
            report_task(s, c, &r.task_token, result, body).await
        }
        Request::CreateSchedule(r) => create_schedule(s, c, r, body).await,
        Request::DescribeSchedule(r) => {
            let schedule = s
                .describe_schedule(c, &r.flow_name, &r.schedule_name)
                .await?;
            Ok(body.merge(render::schedule(&schedule)).into_value())
        }
        Request::UpdateSchedule(r) => update_schedule(s, c, r, body).await,
        Request::DeleteSchedule(r) => {
            s.delete_schedule(c, &r.flow_name, &r.schedule_name).await?;
            Ok(body.into_value())
        }
        Request::ListSchedules(r) => list_schedules(s, c, r, body).await,
        Request::PublishFlowVersion(r) => publish_version(s, c, r, body).await,
        Request::ListFlowVersions(r) => list_versions(s, c, r, body).await,
        Request::DeleteFlowVersion(r) => {
            s.delete_version(c, &r.flow_name, &r.flow_version).await?;
            Ok(body.into_value())
        }
        Request::CreateFlowAlias(r) => create_alias(s, c, r, body).await,
        Request::DescribeFlowAlias(r) => {
            let alias = s.describe_alias(c, &r.flow_name, &r.name).await?;
            Ok(body.with("Alias", render::alias(&alias)).into_value())
        }
        Request::UpdateFlowAlias(r) => update_alias(s, c, r, body).await,
        Request::DeleteFlowAlias(r) => {
            s.delete_alias(c, &r.flow_name, &r.name).await?;
            Ok(body.into_value())
        }
        Request::ListFlowAliases(r) => list_aliases(s, c, r, body).await,
        Request::DescribeRegions(_) => Ok(regions(body)),
        Request::DescribeMapRun(_) | Request::UpdateMapRun(_) => Err(CloudFlowError::new(
            Code::ActionNotSupported,
            "Distributed Map runs are not supported by this server.",
        )),
    }
}

async fn create_flow(
    service: &Service,
    caller: &Caller,
    r: request::CreateFlow,
    body: Body,
) -> Reply {
    unsupported(
        "ExternalStorageLocation",
        r.external_storage_location.as_deref(),
    )?;
    let spec = FlowSpec {
        name: r.name,
        definition: r.definition,
        dialect: Dialect::CloudFlow,
        description: r.description,
        role_arn: r.role_arn,
        mode: r.execution_mode,
        attributes: environment(r.environment),
        tag: None,
    };
    let flow = service.create_flow(caller, spec).await?;
    Ok(body.merge(render::flow(&flow)).into_value())
}

/// The flow as it is, or as one of its published versions has it.
async fn describe_flow(
    service: &Service,
    caller: &Caller,
    r: request::DescribeFlow,
    body: Body,
) -> Reply {
    let flow = match &r.flow_version {
        Some(version) => {
            service
                .describe_flow_version(caller, &r.name, version)
                .await?
        }
        None => service.describe_flow(caller, &r.name).await?,
    };
    Ok(body.merge(render::flow(&flow)).into_value())
}

async fn update_flow(
    service: &Service,
    caller: &Caller,
    r: request::UpdateFlow,
    body: Body,
) -> Reply {
    let changes = FlowChanges {
        definition: r.definition,
        description: r.description,
        role_arn: r.role_arn,
        attributes: r.environment.map(|e| environment(Some(e))),
    };
    let flow = service.update_flow(caller, &r.name, changes).await?;
    Ok(body.merge(render::flow(&flow)).into_value())
}

/// A tenant is one resource group: `ResourceGroupId` filters nothing out.
async fn list_flows(
    service: &Service,
    caller: &Caller,
    r: request::ListFlows,
    body: Body,
) -> Reply {
    let Page { limit, next_token } = r.page;
    let after = name_cursor(Listing::Flows, next_token.as_deref())?;
    let flows = service
        .list_flows(caller, after.as_deref(), limit + 1)
        .await?;
    let (page, next) = page(flows, limit, |f| {
        page_token(Listing::Flows, f.name.as_str())
    });
    let items: Vec<Value> = page.iter().map(render::flow).collect();
    Ok(with_next(body.with("Flows", items), next))
}

async fn start_execution(
    service: &Service,
    caller: &Caller,
    r: request::StartExecution,
    body: Body,
) -> Reply {
    let start = StartRequest {
        flow: r.flow_name,
        name: r.execution_name,
        input: r.input,
        qualifier: r.qualifier,
    };
    unsupported("CallbackFnFTaskToken", r.callback_fnf_task_token.as_deref())?;
    let (flow, execution) = service.start_execution(caller, start).await?;
    execution_body(service, &flow, &execution, body).await
}

async fn start_sync_execution(
    service: &Service,
    caller: &Caller,
    r: request::StartSyncExecution,
    body: Body,
) -> Reply {
    let start = StartRequest {
        flow: r.flow_name,
        name: r.execution_name,
        input: r.input,
        qualifier: r.qualifier,
    };
    let outcome = service.start_sync_execution(caller, start).await?;
    Ok(body.merge(render::sync_execution(&outcome)).into_value())
}

/// The execution, once it has ended or `WaitTimeSeconds` have passed.
async fn describe_execution(
    service: &Service,
    caller: &Caller,
    r: request::DescribeExecution,
    body: Body,
) -> Reply {
    let wait = Duration::from_secs(r.wait_time_seconds);
    let (flow, execution) = service
        .describe_execution(caller, &r.flow_name, &r.execution_name, wait)
        .await?;
    execution_body(service, &flow, &execution, body).await
}

async fn stop_execution(
    service: &Service,
    caller: &Caller,
    r: request::StopExecution,
    body: Body,
) -> Reply {
    let (flow, execution) = service
        .stop_execution(caller, &r.flow_name, &r.execution_name, r.error, r.cause)
        .await?;
    execution_body(service, &flow, &execution, body).await
}

/// An execution's body: its fields and the definition it runs.
async fn execution_body(
    service: &Service,
    flow: &FlowView,
    execution: &ExecutionView,
    body: Body,
) -> Reply {
    let definition = service.execution_definition(flow, execution).await?;
    Ok(body
        .merge(render::execution(flow, &definition, execution))
        .into_value())
}

async fn list_executions(
    service: &Service,
    caller: &Caller,
    r: request::ListExecutions,
    body: Body,
) -> Reply {
    unsupported("Qualifier", r.qualifier.as_deref())?;
    unsupported("MapRunName", r.map_run_name.as_deref())?;
    let Page { limit, next_token } = r.page;
    let after = name_cursor(Listing::Executions, next_token.as_deref())?;
    let filter = ExecutionFilter {
        status: r.status,
        name_prefix: r.execution_name_prefix,
        started_from: r.started_time_begin,
        started_to: r.started_time_end,
    };
    let (flow, executions) = service
        .list_executions(caller, &r.flow_name, &filter, after.as_deref(), limit + 1)
        .await?;
    let (page, next) = page(executions, limit, |e| {
        page_token(Listing::Executions, e.name.as_str())
    });
    let mut items = Vec::with_capacity(page.len());
    for execution in &page {
        let definition = service.execution_definition(&flow, execution).await?;
        let mut item = render::execution(&flow, &definition, execution);
        if r.metadata_only {
            strip_payloads(&mut item);
        }
        items.push(item);
    }
    Ok(with_next(body.with("Executions", items), next))
}

async fn execution_history(
    service: &Service,
    caller: &Caller,
    r: request::GetExecutionHistory,
    body: Body,
) -> Reply {
    let Page { limit, next_token } = r.page;
    let after = EventId(numeric_token(next_token.as_deref())?.unwrap_or(0));
    let events = service
        .execution_history(caller, &r.flow_name, &r.execution_name, after, limit + 1)
        .await?;
    let (page, next) = page(events, limit, |e| e.id.0.to_string());
    let items: Vec<Value> = page.iter().map(render::history_event).collect();
    Ok(with_next(body.with("Events", items), next))
}

/// `ReportTaskSucceeded` and `ReportTaskFailed`: the callback task's result.
async fn report_task(
    service: &Service,
    caller: &Caller,
    task_token: &str,
    result: CallbackResult,
    body: Body,
) -> Reply {
    let event = service.report_task(caller, task_token, result).await?;
    Ok(body.with("EventId", event.0).into_value())
}

async fn create_schedule(
    service: &Service,
    caller: &Caller,
    r: request::CreateSchedule,
    body: Body,
) -> Reply {
    let spec = ScheduleSpec {
        flow: r.flow_name,
        name: r.schedule_name,
        cron: r.cron_expression,
        payload: r.payload,
        description: r.description,
        enabled: r.enable,
    };
    let schedule = service.create_schedule(caller, spec).await?;
    Ok(body.merge(render::schedule(&schedule)).into_value())
}

async fn update_schedule(
    service: &Service,
    caller: &Caller,
    r: request::UpdateSchedule,
    body: Body,
) -> Reply {
    let spec = ScheduleSpec {
        flow: r.flow_name,
        name: r.schedule_name,
        cron: r.cron_expression.unwrap_or_default(),
        payload: r.payload,
        description: r.description,
        enabled: r.enable,
    };
    let schedule = service.update_schedule(caller, spec).await?;
    Ok(body.merge(render::schedule(&schedule)).into_value())
}

async fn list_schedules(
    service: &Service,
    caller: &Caller,
    r: request::ListSchedules,
    body: Body,
) -> Reply {
    let Page { limit, next_token } = r.page;
    let after = name_cursor(Listing::Schedules, next_token.as_deref())?;
    let schedules = service
        .list_schedules(caller, &r.flow_name, after.as_deref(), limit + 1)
        .await?;
    let (page, next) = page(schedules, limit, |s| {
        page_token(Listing::Schedules, &s.name)
    });
    let items: Vec<Value> = page.iter().map(render::schedule).collect();
    Ok(with_next(body.with("Schedules", items), next))
}

async fn publish_version(
    service: &Service,
    caller: &Caller,
    r: request::PublishFlowVersion,
    body: Body,
) -> Reply {
    let version = service
        .publish_version(caller, &r.flow_name, r.description.as_deref().unwrap_or(""))
        .await?;
    // The SDK reads `Version`, `Description` and `CreatedTime` (spec §3).
    Ok(body
        .with("FlowName", r.flow_name)
        .merge(render::version(&version))
        .into_value())
}

async fn list_versions(
    service: &Service,
    caller: &Caller,
    r: request::ListFlowVersions,
    body: Body,
) -> Reply {
    let Page { limit, next_token } = r.page;
    let before = numeric_token(next_token.as_deref())?;
    let versions = service
        .list_versions(caller, &r.flow_name, before, limit + 1)
        .await?;
    let (page, next) = page(versions, limit, |v| v.version.to_string());
    let items: Vec<Value> = page.iter().map(render::version).collect();
    Ok(with_next(
        body.with("FlowName", r.flow_name)
            .with("FlowVersions", items),
        next,
    ))
}

async fn create_alias(
    service: &Service,
    caller: &Caller,
    r: request::CreateFlowAlias,
    body: Body,
) -> Reply {
    let alias = service
        .create_alias(
            caller,
            &r.flow_name,
            &r.name,
            r.description.as_deref().unwrap_or(""),
            r.routing_configurations,
        )
        .await?;
    Ok(body
        .with("FlowName", r.flow_name)
        .merge(render::alias(&alias))
        .into_value())
}

async fn update_alias(
    service: &Service,
    caller: &Caller,
    r: request::UpdateFlowAlias,
    body: Body,
) -> Reply {
    let alias = service
        .update_alias(
            caller,
            &r.flow_name,
            &r.name,
            r.description,
            r.routing_configurations,
        )
        .await?;
    // Unlike CreateFlowAlias, the SDK reads the alias as an object (spec §3).
    Ok(body.with("Alias", render::alias(&alias)).into_value())
}

async fn list_aliases(
    service: &Service,
    caller: &Caller,
    r: request::ListFlowAliases,
    body: Body,
) -> Reply {
    let Page { limit, next_token } = r.page;
    let after = name_cursor(Listing::Aliases, next_token.as_deref())?;
    let aliases = service
        .list_aliases(caller, &r.flow_name, after.as_deref(), limit + 1)
        .await?;
    let (page, next) = page(aliases, limit, |a| page_token(Listing::Aliases, &a.name));
    let items: Vec<Value> = page.iter().map(render::alias).collect();
    Ok(with_next(
        body.with("FlowName", r.flow_name).with("Aliases", items),
        next,
    ))
}

/// One region, so there is nothing to translate into `AcceptLanguage`.
fn regions(body: Body) -> Value {
    body.with(
        "Regions",
        json!({ "Region": [{
            "RegionId": "local",
            "LocalName": "sluice",
            "RegionEndpoint": "",
        }]}),
    )
    .into_value()
}

/// Parameters for features not served yet (callbacks to a parent task, external storage,
/// listing by qualifier, Map runs): refuse rather than silently act without them.
fn unsupported(name: &str, value: Option<&str>) -> Result<(), CloudFlowError> {
    match value {
        None => Ok(()),
        Some(value) => Err(CloudFlowError::invalid(format!(
            "The parameter '{name}' ({value:?}) is not supported by this server yet; omit it."
        ))),
    }
}

/// `MetadataOnly` listings leave out the definition and the payloads.
fn strip_payloads(execution: &mut Value) {
    if let Value::Object(fields) = execution {
        for key in ["FlowDefinition", "Input", "Output"] {
            fields.remove(key);
        }
    }
}

/// The first `limit` items, and the cursor of the next page if there is more.
fn page<T>(
    mut items: Vec<T>,
    limit: usize,
    cursor: impl Fn(&T) -> String,
) -> (Vec<T>, Option<String>) {
    if items.len() <= limit {
        return (items, None);
    }
    items.truncate(limit);
    let next = items.last().map(cursor);
    (items, next)
}

fn with_next(body: Body, next: Option<String>) -> Value {
    match next {
        Some(token) => body.with("NextToken", token).into_value(),
        None => body.into_value(),
    }
}

/// CloudFlow's `Environment` is kept verbatim among the flow's attributes.
fn environment(environment: Option<Value>) -> Value {
    match environment {
        Some(env) => json!({ "Environment": env }),
        None => json!({}),
    }
}
