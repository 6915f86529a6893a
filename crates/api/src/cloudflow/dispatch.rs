//! CloudFlow actions to service commands, and their results to CloudFlow bodies.

use std::time::Duration;

use serde_json::{Value, json};
use sluice_service::views::EventId;
use sluice_service::views::ExecutionFilter;
use sluice_service::{
    CallbackResult, Caller, Dialect, FlowChanges, FlowSpec, Listing, MapRunChanges, ScheduleSpec,
    Service, StartRequest, page_cursor, page_token,
};

use super::error::CloudFlowError;
use super::render::{self, Body};
use super::request::{Page, Request};

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
    match request {
        Request::CreateFlow(r) => {
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
        Request::DescribeFlow(r) => {
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
        Request::UpdateFlow(r) => {
            let changes = FlowChanges {
                definition: r.definition,
                description: r.description,
                role_arn: r.role_arn,
                attributes: r.environment.map(|e| environment(Some(e))),
            };
            let flow = service.update_flow(caller, &r.name, changes).await?;
            Ok(body.merge(render::flow(&flow)).into_value())
        }
        Request::DeleteFlow(r) => {
            service.delete_flow(caller, &r.name).await?;
            Ok(body.into_value())
        }
        // A tenant is one resource group: ResourceGroupId filters nothing out.
        Request::ListFlows(r) => {
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
        Request::StartExecution(r) => {
            let start = StartRequest {
                flow: r.flow_name,
                name: r.execution_name,
                input: r.input,
                qualifier: r.qualifier,
            };
            unsupported("CallbackFnFTaskToken", r.callback_fnf_task_token.as_deref())?;
            let (flow, execution) = service.start_execution(caller, start).await?;
            let definition = service.execution_definition(&flow, &execution).await?;
            Ok(body
                .merge(render::execution(&flow, &definition, &execution))
                .into_value())
        }
        Request::StartSyncExecution(r) => {
            let start = StartRequest {
                flow: r.flow_name,
                name: r.execution_name,
                input: r.input,
                qualifier: r.qualifier,
            };
            let outcome = service.start_sync_execution(caller, start).await?;
            Ok(body.merge(render::sync_execution(&outcome)).into_value())
        }
        Request::DescribeExecution(r) => {
            let wait = Duration::from_secs(r.wait_time_seconds);
            let (flow, execution) = service
                .describe_execution(caller, &r.flow_name, &r.execution_name, wait)
                .await?;
            let definition = service.execution_definition(&flow, &execution).await?;
            Ok(body
                .merge(render::execution(&flow, &definition, &execution))
                .into_value())
        }
        Request::StopExecution(r) => {
            let (flow, execution) = service
                .stop_execution(caller, &r.flow_name, &r.execution_name, r.error, r.cause)
                .await?;
            let definition = service.execution_definition(&flow, &execution).await?;
            Ok(body
                .merge(render::execution(&flow, &definition, &execution))
                .into_value())
        }
        Request::ListExecutions(r) => {
            unsupported("Qualifier", r.qualifier.as_deref())?;
            let Page { limit, next_token } = r.page;
            let after = name_cursor(Listing::Executions, next_token.as_deref())?;
            let filter = ExecutionFilter {
                status: r.status,
                map_run: r.map_run_name,
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
        Request::GetExecutionHistory(r) => {
            let Page { limit, next_token } = r.page;
            let after = EventId(numeric_token(next_token.as_deref())?.unwrap_or(0));
            let events = service
                .execution_history(caller, &r.flow_name, &r.execution_name, after, limit + 1)
                .await?;
            let (page, next) = page(events, limit, |e| e.id.0.to_string());
            let items: Vec<Value> = page.iter().map(render::history_event).collect();
            Ok(with_next(body.with("Events", items), next))
        }
        Request::ReportTaskSucceeded(r) => {
            let result = CallbackResult::Succeeded { output: r.output };
            let event = service.report_task(caller, &r.task_token, result).await?;
            Ok(body.with("EventId", event.0).into_value())
        }
        Request::ReportTaskFailed(r) => {
            let result = CallbackResult::Failed {
                error: r.error,
                cause: r.cause.unwrap_or_default(),
            };
            let event = service.report_task(caller, &r.task_token, result).await?;
            Ok(body.with("EventId", event.0).into_value())
        }
        Request::CreateSchedule(r) => {
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
        Request::DescribeSchedule(r) => {
            let schedule = service
                .describe_schedule(caller, &r.flow_name, &r.schedule_name)
                .await?;
            Ok(body.merge(render::schedule(&schedule)).into_value())
        }
        Request::UpdateSchedule(r) => {
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
        Request::DeleteSchedule(r) => {
            service
                .delete_schedule(caller, &r.flow_name, &r.schedule_name)
                .await?;
            Ok(body.into_value())
        }
        Request::ListSchedules(r) => {
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
        Request::PublishFlowVersion(r) => {
            let version = service
                .publish_version(caller, &r.flow_name, r.description.as_deref().unwrap_or(""))
                .await?;
            // The SDK reads `Version`, `Description` and `CreatedTime` (spec §3).
            Ok(body
                .with("FlowName", r.flow_name)
                .merge(render::version(&version))
                .into_value())
        }
        Request::ListFlowVersions(r) => {
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
        Request::DeleteFlowVersion(r) => {
            service
                .delete_version(caller, &r.flow_name, &r.flow_version)
                .await?;
            Ok(body.into_value())
        }
        Request::CreateFlowAlias(r) => {
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
        Request::DescribeFlowAlias(r) => {
            let alias = service
                .describe_alias(caller, &r.flow_name, &r.name)
                .await?;
            Ok(body.with("Alias", render::alias(&alias)).into_value())
        }
        Request::UpdateFlowAlias(r) => {
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
        Request::DeleteFlowAlias(r) => {
            service.delete_alias(caller, &r.flow_name, &r.name).await?;
            Ok(body.into_value())
        }
        Request::ListFlowAliases(r) => {
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
        // One region, so there is nothing to translate into AcceptLanguage.
        Request::DescribeRegions(_) => Ok(body
            .with(
                "Regions",
                json!({ "Region": [{
                    "RegionId": "local",
                    "LocalName": "sluice",
                    "RegionEndpoint": "",
                }]}),
            )
            .into_value()),
        Request::DescribeMapRun(r) => {
            let (execution, run) = service
                .describe_map_run(caller, &r.flow_name, &r.execution_name, &r.map_run_name)
                .await?;
            let fields = render::map_run(&r.flow_name, execution.name.as_str(), &run);
            Ok(body.merge(fields).into_value())
        }
        Request::UpdateMapRun(r) => {
            let changes = MapRunChanges {
                max_concurrency: r.concurrency.map(saturating_u32),
                tolerated_count: r.tolerated_failed_count.map(saturating_u32),
                tolerated_percentage: r.tolerated_failed_percentage,
            };
            let run = service
                .update_map_run(
                    caller,
                    &r.flow_name,
                    &r.execution_name,
                    &r.map_run_name,
                    changes,
                )
                .await?;
            let fields = render::map_run(&r.flow_name, &r.execution_name, &run);
            let keep = [
                "FlowName",
                "ExecutionName",
                "MapRunName",
                "Concurrency",
                "ToleratedFailedCount",
                "ToleratedFailedPercentage",
            ];
            let mut body = body;
            for key in keep {
                if let Some(value) = fields.get(key) {
                    body = body.with(key, value.clone());
                }
            }
            Ok(body.into_value())
        }
    }
}

/// The request's bounds were checked to fit; larger is "no bound" anyway.
fn saturating_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
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
