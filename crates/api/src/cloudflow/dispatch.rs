//! CloudFlow actions to service commands, and their results to CloudFlow bodies.

use std::time::Duration;

use serde_json::{Value, json};
use sluice_service::views::EventId;
use sluice_service::views::{ExecutionFilter, ExecutionView, FlowView};
use sluice_service::{
    CallbackResult, Caller, Dialect, FlowChanges, FlowSpec, Listing, MapRunChanges, ScheduleSpec,
    Service, StartRequest, page_cursor, page_token,
};

use super::error::CloudFlowError;
use super::render::{self, Body};
use super::request::{self, Page, Request};
use crate::paging::page;

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
    let action = Action {
        service,
        caller,
        body: Body::new(request_id),
    };
    match request {
        Request::CreateFlow(r) => action.create_flow(r).await,
        Request::DescribeFlow(r) => action.describe_flow(r).await,
        Request::UpdateFlow(r) => action.update_flow(r).await,
        Request::DeleteFlow(r) => {
            service.delete_flow(caller, &r.name).await?;
            Ok(action.body.into_value())
        }
        Request::ListFlows(r) => action.list_flows(r).await,
        Request::StartExecution(r) => action.start_execution(r).await,
        Request::StartSyncExecution(r) => action.start_sync_execution(r).await,
        Request::DescribeExecution(r) => action.describe_execution(r).await,
        Request::StopExecution(r) => action.stop_execution(r).await,
        Request::ListExecutions(r) => action.list_executions(r).await,
        Request::GetExecutionHistory(r) => action.execution_history(r).await,
        Request::ReportTaskSucceeded(r) => {
            let result = CallbackResult::Succeeded { output: r.output };
            action.report_task(&r.task_token, result).await
        }
        Request::ReportTaskFailed(r) => {
            let result = CallbackResult::Failed {
                error: r.error,
                cause: r.cause.unwrap_or_default(),
            };
            action.report_task(&r.task_token, result).await
        }
        Request::CreateSchedule(r) => action.create_schedule(r).await,
        Request::DescribeSchedule(r) => {
            let schedule = service
                .describe_schedule(caller, &r.flow_name, &r.schedule_name)
                .await?;
            Ok(action.body.merge(render::schedule(&schedule)).into_value())
        }
        Request::UpdateSchedule(r) => action.update_schedule(r).await,
        Request::DeleteSchedule(r) => {
            service
                .delete_schedule(caller, &r.flow_name, &r.schedule_name)
                .await?;
            Ok(action.body.into_value())
        }
        Request::ListSchedules(r) => action.list_schedules(r).await,
        Request::PublishFlowVersion(r) => action.publish_version(r).await,
        Request::ListFlowVersions(r) => action.list_versions(r).await,
        Request::DeleteFlowVersion(r) => {
            service
                .delete_version(caller, &r.flow_name, &r.flow_version)
                .await?;
            Ok(action.body.into_value())
        }
        Request::CreateFlowAlias(r) => action.create_alias(r).await,
        Request::DescribeFlowAlias(r) => {
            let alias = service
                .describe_alias(caller, &r.flow_name, &r.name)
                .await?;
            Ok(action
                .body
                .with("Alias", render::alias(&alias))
                .into_value())
        }
        Request::UpdateFlowAlias(r) => action.update_alias(r).await,
        Request::DeleteFlowAlias(r) => {
            service.delete_alias(caller, &r.flow_name, &r.name).await?;
            Ok(action.body.into_value())
        }
        Request::ListFlowAliases(r) => action.list_aliases(r).await,
        Request::DescribeRegions(_) => Ok(regions(action.body)),
        Request::DescribeMapRun(r) => action.describe_map_run(r).await,
        Request::UpdateMapRun(r) => action.update_map_run(r).await,
    }
}

/// What one action runs with: the service, the caller, and the body its answer goes in.
struct Action<'a> {
    service: &'a Service,
    caller: &'a Caller,
    body: Body,
}

impl Action<'_> {
    async fn create_flow(self, r: request::CreateFlow) -> Reply {
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
        let flow = self.service.create_flow(self.caller, spec).await?;
        Ok(self.body.merge(render::flow(&flow)).into_value())
    }

    /// The flow as it is, or as one of its published versions has it.
    async fn describe_flow(self, r: request::DescribeFlow) -> Reply {
        let flow = match &r.flow_version {
            Some(version) => {
                self.service
                    .describe_flow_version(self.caller, &r.name, version)
                    .await?
            }
            None => self.service.describe_flow(self.caller, &r.name).await?,
        };
        Ok(self.body.merge(render::flow(&flow)).into_value())
    }

    async fn update_flow(self, r: request::UpdateFlow) -> Reply {
        let changes = FlowChanges {
            definition: r.definition,
            description: r.description,
            role_arn: r.role_arn,
            attributes: r.environment.map(|e| environment(Some(e))),
        };
        let flow = self
            .service
            .update_flow(self.caller, &r.name, changes)
            .await?;
        Ok(self.body.merge(render::flow(&flow)).into_value())
    }

    /// A tenant is one resource group: `ResourceGroupId` filters nothing out.
    async fn list_flows(self, r: request::ListFlows) -> Reply {
        let Page { limit, next_token } = r.page;
        let after = name_cursor(Listing::Flows, next_token.as_deref())?;
        let flows = self
            .service
            .list_flows(self.caller, after.as_deref(), limit + 1)
            .await?;
        let (page, next) = page(flows, limit, |f| {
            page_token(Listing::Flows, f.name.as_str())
        });
        let items: Vec<Value> = page.iter().map(render::flow).collect();
        Ok(with_next(self.body.with("Flows", items), next))
    }

    async fn start_execution(self, r: request::StartExecution) -> Reply {
        let (flow, test_case) = sluice_service::with_test_case(&r.flow_name);
        let start = StartRequest {
            flow: flow.to_string(),
            name: r.execution_name,
            input: r.input,
            qualifier: r.qualifier,
            context_ids: None,
            test_case,
        };
        unsupported("CallbackFnFTaskToken", r.callback_fnf_task_token.as_deref())?;
        let (flow, execution) = self.service.start_execution(self.caller, start).await?;
        self.execution_body(&flow, &execution).await
    }

    async fn start_sync_execution(self, r: request::StartSyncExecution) -> Reply {
        let (flow, test_case) = sluice_service::with_test_case(&r.flow_name);
        let start = StartRequest {
            flow: flow.to_string(),
            name: r.execution_name,
            input: r.input,
            qualifier: r.qualifier,
            context_ids: None,
            test_case,
        };
        let outcome = self
            .service
            .start_sync_execution(self.caller, start)
            .await?;
        Ok(self
            .body
            .merge(render::sync_execution(&outcome))
            .into_value())
    }

    /// The execution, once it has ended or `WaitTimeSeconds` have passed.
    async fn describe_execution(self, r: request::DescribeExecution) -> Reply {
        let wait = Duration::from_secs(r.wait_time_seconds);
        let (flow, execution) = self
            .service
            .describe_execution(self.caller, &r.flow_name, &r.execution_name, wait)
            .await?;
        self.execution_body(&flow, &execution).await
    }

    async fn stop_execution(self, r: request::StopExecution) -> Reply {
        let (flow, execution) = self
            .service
            .stop_execution(
                self.caller,
                &r.flow_name,
                &r.execution_name,
                r.error,
                r.cause,
            )
            .await?;
        self.execution_body(&flow, &execution).await
    }

    /// An execution's body: its fields and the definition it runs.
    async fn execution_body(self, flow: &FlowView, execution: &ExecutionView) -> Reply {
        let definition = self.service.execution_definition(flow, execution).await?;
        Ok(self
            .body
            .merge(render::execution(flow, &definition, execution))
            .into_value())
    }

    async fn describe_map_run(self, r: request::DescribeMapRun) -> Reply {
        let (execution, run) = self
            .service
            .describe_map_run(
                self.caller,
                &r.flow_name,
                &r.execution_name,
                &r.map_run_name,
            )
            .await?;
        let fields = render::map_run(&r.flow_name, execution.name.as_str(), &run);
        Ok(self.body.merge(fields).into_value())
    }

    /// Answers the run's new bounds, as the UpdateMapRun page lists them.
    async fn update_map_run(self, r: request::UpdateMapRun) -> Reply {
        let changes = MapRunChanges {
            max_concurrency: r.concurrency.map(saturating_u32),
            tolerated_count: r.tolerated_failed_count.map(saturating_u32),
            tolerated_percentage: r.tolerated_failed_percentage,
        };
        let (flow, execution, map_run) = (&r.flow_name, &r.execution_name, &r.map_run_name);
        let run = self
            .service
            .update_map_run(self.caller, flow, execution, map_run, changes)
            .await?;
        let fields = render::map_run(flow, execution, &run);
        let mut body = self.body;
        for key in [
            "FlowName",
            "ExecutionName",
            "MapRunName",
            "Concurrency",
            "ToleratedFailedCount",
            "ToleratedFailedPercentage",
        ] {
            if let Some(value) = fields.get(key) {
                body = body.with(key, value.clone());
            }
        }
        Ok(body.into_value())
    }

    async fn list_executions(self, r: request::ListExecutions) -> Reply {
        unsupported("Qualifier", r.qualifier.as_deref())?;
        let Page { limit, next_token } = r.page;
        let after = name_cursor(Listing::Executions, next_token.as_deref())?;
        let filter = ExecutionFilter {
            status: r.status,
            map_run: r.map_run_name,
            name_prefix: r.execution_name_prefix,
            started_from: r.started_time_begin,
            started_to: r.started_time_end,
            ..ExecutionFilter::default()
        };
        let (flow, executions) = self
            .service
            .list_executions(
                self.caller,
                &r.flow_name,
                &filter,
                after.as_deref(),
                limit + 1,
            )
            .await?;
        let (page, next) = page(executions, limit, |e| {
            page_token(Listing::Executions, e.name.as_str())
        });
        let mut items = Vec::with_capacity(page.len());
        for execution in &page {
            let definition = self.service.execution_definition(&flow, execution).await?;
            let mut item = render::execution(&flow, &definition, execution);
            if r.metadata_only {
                strip_payloads(&mut item);
            }
            items.push(item);
        }
        Ok(with_next(self.body.with("Executions", items), next))
    }

    async fn execution_history(self, r: request::GetExecutionHistory) -> Reply {
        let Page { limit, next_token } = r.page;
        let after = EventId(numeric_token(next_token.as_deref())?.unwrap_or(0));
        let events = self
            .service
            .execution_history(
                self.caller,
                &r.flow_name,
                &r.execution_name,
                after,
                limit + 1,
            )
            .await?;
        let (page, next) = page(events, limit, |e| e.id.0.to_string());
        let items: Vec<Value> = page.iter().map(render::history_event).collect();
        Ok(with_next(self.body.with("Events", items), next))
    }

    /// `ReportTaskSucceeded` and `ReportTaskFailed`: the callback task's result.
    async fn report_task(self, task_token: &str, result: CallbackResult) -> Reply {
        let event = self
            .service
            .report_task(self.caller, task_token, result)
            .await?;
        Ok(self.body.with("EventId", event.0).into_value())
    }

    async fn create_schedule(self, r: request::CreateSchedule) -> Reply {
        let spec = ScheduleSpec {
            flow: r.flow_name,
            name: r.schedule_name,
            cron: r.cron_expression,
            payload: r.payload,
            description: r.description,
            enabled: r.enable,
        };
        let schedule = self.service.create_schedule(self.caller, spec).await?;
        Ok(self.body.merge(render::schedule(&schedule)).into_value())
    }

    async fn update_schedule(self, r: request::UpdateSchedule) -> Reply {
        let spec = ScheduleSpec {
            flow: r.flow_name,
            name: r.schedule_name,
            cron: r.cron_expression.unwrap_or_default(),
            payload: r.payload,
            description: r.description,
            enabled: r.enable,
        };
        let schedule = self.service.update_schedule(self.caller, spec).await?;
        Ok(self.body.merge(render::schedule(&schedule)).into_value())
    }

    async fn list_schedules(self, r: request::ListSchedules) -> Reply {
        let Page { limit, next_token } = r.page;
        let after = name_cursor(Listing::Schedules, next_token.as_deref())?;
        let schedules = self
            .service
            .list_schedules(self.caller, &r.flow_name, after.as_deref(), limit + 1)
            .await?;
        let (page, next) = page(schedules, limit, |s| {
            page_token(Listing::Schedules, &s.name)
        });
        let items: Vec<Value> = page.iter().map(render::schedule).collect();
        Ok(with_next(self.body.with("Schedules", items), next))
    }

    async fn publish_version(self, r: request::PublishFlowVersion) -> Reply {
        let version = self
            .service
            .publish_version(
                self.caller,
                &r.flow_name,
                r.description.as_deref().unwrap_or(""),
            )
            .await?;
        // The SDK reads `Version`, `Description` and `CreatedTime` (spec §3).
        Ok(self
            .body
            .with("FlowName", r.flow_name)
            .merge(render::version(&version))
            .into_value())
    }

    async fn list_versions(self, r: request::ListFlowVersions) -> Reply {
        let Page { limit, next_token } = r.page;
        let before = numeric_token(next_token.as_deref())?;
        let versions = self
            .service
            .list_versions(self.caller, &r.flow_name, before, limit + 1)
            .await?;
        let (page, next) = page(versions, limit, |v| v.version.to_string());
        let items: Vec<Value> = page.iter().map(render::version).collect();
        Ok(with_next(
            self.body
                .with("FlowName", r.flow_name)
                .with("FlowVersions", items),
            next,
        ))
    }

    async fn create_alias(self, r: request::CreateFlowAlias) -> Reply {
        let alias = self
            .service
            .create_alias(
                self.caller,
                &r.flow_name,
                &r.name,
                r.description.as_deref().unwrap_or(""),
                r.routing_configurations,
            )
            .await?;
        Ok(self
            .body
            .with("FlowName", r.flow_name)
            .merge(render::alias(&alias))
            .into_value())
    }

    async fn update_alias(self, r: request::UpdateFlowAlias) -> Reply {
        let alias = self
            .service
            .update_alias(
                self.caller,
                &r.flow_name,
                &r.name,
                r.description,
                r.routing_configurations,
            )
            .await?;
        // Unlike CreateFlowAlias, the SDK reads the alias as an object (spec §3).
        Ok(self.body.with("Alias", render::alias(&alias)).into_value())
    }

    async fn list_aliases(self, r: request::ListFlowAliases) -> Reply {
        let Page { limit, next_token } = r.page;
        let after = name_cursor(Listing::Aliases, next_token.as_deref())?;
        let aliases = self
            .service
            .list_aliases(self.caller, &r.flow_name, after.as_deref(), limit + 1)
            .await?;
        let (page, next) = page(aliases, limit, |a| page_token(Listing::Aliases, &a.name));
        let items: Vec<Value> = page.iter().map(render::alias).collect();
        Ok(with_next(
            self.body
                .with("FlowName", r.flow_name)
                .with("Aliases", items),
            next,
        ))
    }
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
/// The request's bounds were checked to fit; larger is "no bound" anyway.
fn saturating_u32(value: u64) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}

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
