//! Step Functions actions to service commands, and their results to AWS's bodies. A state
//! machine is a flow of dialect `asl` (any flow of the tenant can be described and run here);
//! an execution's name is its name.

use std::time::Duration;

use serde_json::{Value, json};
use sluice_service::views::{
    ExecutionFilter, ExecutionOrder, ExecutionQuery, ExecutionSummary, Page, StartedAs,
};
use sluice_service::{
    Caller, Dialect, FlowChanges, FlowSpec, Listing, Service, ServiceError, StartRequest,
    execution_page_cursor, execution_page_token, page_cursor, page_token,
};

use super::arn::{Arns, ExecutionKind};
use super::error::{Code, SfnError, diagnostic_code};
use super::history::{self, Context};
use super::render;
use super::request::{
    Call, CreateStateMachine, ExecutionRef, GetExecutionHistory, ListExecutions, Paging,
    RedriveFilter, Severity, UpdateStateMachine, ValidateDefinition,
};
use crate::paging::page;

/// A failure on the way: the dialect's own, or the service's (mapped once, at the end).
pub(super) enum Failure {
    Sfn(SfnError),
    Service(ServiceError),
}

impl From<SfnError> for Failure {
    fn from(e: SfnError) -> Self {
        Failure::Sfn(e)
    }
}

impl From<ServiceError> for Failure {
    fn from(e: ServiceError) -> Self {
        Failure::Service(e)
    }
}

pub(super) type Reply = Result<Value, Failure>;

/// Runs a decoded call for `caller`, whose key may make it.
pub async fn run(
    service: &Service,
    caller: &Caller,
    arns: &Arns,
    call: Call,
) -> Result<Value, SfnError> {
    let actions = Actions {
        service,
        caller,
        arns,
    };
    actions.run(call).await.map_err(|failure| match failure {
        Failure::Sfn(e) => e,
        Failure::Service(e) => SfnError::of_service(e, arns),
    })
}

pub(super) struct Actions<'a> {
    pub(super) service: &'a Service,
    pub(super) caller: &'a Caller,
    pub(super) arns: &'a Arns,
}

impl Actions<'_> {
    async fn run(&self, call: Call) -> Reply {
        match call {
            Call::CreateStateMachine(r) => self.create(r).await,
            Call::DescribeStateMachine(r) => {
                let arn = r.state_machine_arn.as_deref().unwrap_or("");
                match self.arns.qualified(arn)? {
                    (machine, Some(version)) => {
                        self.arns.version_of(arn)?;
                        self.describe_version(&machine, &version).await
                    }
                    (_, None) => {
                        let flow = self.machine(Some(arn)).await?;
                        Ok(render::machine(&flow, self.arns))
                    }
                }
            }
            Call::UpdateStateMachine(r) => self.update(r).await,
            Call::DeleteStateMachine(r) => {
                let name = self
                    .arns
                    .machine_name(r.state_machine_arn.as_deref().unwrap_or(""))?;
                // AWS answers a delete of a state machine that is not there as a success.
                match self.service.delete_flow(self.caller, &name).await {
                    Ok(_) | Err(ServiceError::FlowNotFound(_)) => Ok(json!({})),
                    Err(e) => Err(e.into()),
                }
            }
            Call::ListStateMachines(r) => self.list_machines(&r).await,
            Call::StartExecution(r) => {
                let (arn, test_case) =
                    sluice_service::with_test_case(r.state_machine_arn.as_deref().unwrap_or(""));
                let (name, qualifier) = self.arns.qualified(arn)?;
                let arn = arn.to_string();
                let context_ids = Some(self.arns.context_ids(&name, ExecutionKind::Standard));
                let start = StartRequest {
                    flow: name,
                    name: r.name,
                    input: r.input,
                    qualifier,
                    context_ids,
                    test_case,
                };
                let (_, execution) = self
                    .service
                    .start_execution(self.caller, start)
                    .await
                    .map_err(|e| no_such_qualifier(e, &arn))?;
                Ok(json!({
                    "executionArn": self.arns.execution(execution.flow_name.as_str(), execution.name.as_str()),
                    "startDate": render::seconds(execution.started_at.unwrap_or(execution.created_at)),
                }))
            }
            Call::DescribeExecution(r) => {
                let (_, execution) = self.execution(&r).await?;
                Ok(render::execution(&execution, self.arns))
            }
            Call::StopExecution(r) => {
                let (machine, name) = self
                    .arns
                    .execution_names(r.execution_arn.as_deref().unwrap_or(""))?;
                let (_, execution) = self
                    .service
                    .stop_execution(self.caller, &machine, &name, r.error, r.cause)
                    .await
                    .map_err(|e| of_execution(e, &machine, &name))?;
                let stopped = execution.stopped_at.unwrap_or(execution.created_at);
                Ok(json!({"stopDate": render::seconds(stopped)}))
            }
            Call::ListExecutions(r) => self.list_executions(&r).await,
            Call::GetExecutionHistory(r) => self.history(&r).await,
            Call::DescribeStateMachineForExecution(r) => {
                let (flow, execution) = self.execution(&r).await?;
                let definition = self.service.execution_definition(&flow, &execution).await?;
                Ok(render::machine_for_execution(&flow, definition, self.arns))
            }
            Call::ValidateStateMachineDefinition(r) => Ok(validate(self.service, &r)),
            Call::ListTagsForResource(r) => self.list_tags(&r).await,
            Call::TagResource(r) => self.tag(r).await,
            Call::UntagResource(r) => self.untag(r).await,
            Call::SendTaskSuccess(r) => self.send_success(r).await,
            Call::SendTaskFailure(r) => self.send_failure(r).await,
            Call::SendTaskHeartbeat(r) => self.send_heartbeat(&r).await,
            Call::StartSyncExecution(r) => self.start_sync(r).await,
            Call::PublishStateMachineVersion(r) => self.publish_version(r).await,
            Call::ListStateMachineVersions(r) => self.list_versions(r).await,
            Call::DeleteStateMachineVersion(r) => self.delete_version(r).await,
            Call::CreateStateMachineAlias(r) => self.create_alias(r).await,
            Call::DescribeStateMachineAlias(r) => self.describe_alias(r).await,
            Call::UpdateStateMachineAlias(r) => self.update_alias(r).await,
            Call::DeleteStateMachineAlias(r) => self.delete_alias(r).await,
            Call::ListStateMachineAliases(r) => self.list_aliases(r).await,
            Call::RedriveExecution(r) => self.redrive(r).await,
            Call::ListMapRuns(r) => self.list_map_runs(r).await,
            Call::DescribeMapRun(r) => self.describe_map_run(r).await,
            Call::UpdateMapRun(r) => self.update_map_run(r).await,
            Call::CreateActivity(r) => self.create_activity(r).await,
            Call::DescribeActivity(r) => self.describe_activity(r).await,
            Call::ListActivities(r) => self.list_activities(r).await,
            Call::DeleteActivity(r) => self.delete_activity(r).await,
            Call::GetActivityTask(r) => self.get_activity_task(r).await,
            Call::TestState(r) => self.test_state(r).await,
        }
    }

    pub(super) async fn machine(
        &self,
        arn: Option<&str>,
    ) -> Result<sluice_service::views::FlowView, Failure> {
        let name = self.arns.machine_name(arn.unwrap_or(""))?;
        Ok(self.service.describe_flow(self.caller, &name).await?)
    }

    async fn execution(
        &self,
        r: &ExecutionRef,
    ) -> Result<
        (
            sluice_service::views::FlowView,
            sluice_service::views::ExecutionView,
        ),
        Failure,
    > {
        let (machine, name) = self
            .arns
            .execution_names(r.execution_arn.as_deref().unwrap_or(""))?;
        self.service
            .describe_execution(self.caller, &machine, &name, Duration::ZERO)
            .await
            .map_err(|e| of_execution(e, &machine, &name).into())
    }

    async fn create(&self, r: CreateStateMachine) -> Reply {
        let spec = FlowSpec {
            name: r.name.unwrap_or_default(),
            definition: r.definition.unwrap_or_default(),
            dialect: Dialect::Asl,
            description: String::new(),
            role_arn: r.role_arn,
            mode: render::mode(r.machine_type),
            attributes: render::attributes(
                r.logging_configuration,
                r.tracing_configuration,
                r.tags,
            ),
            tag: None,
        };
        let flow = self.service.create_flow_once(self.caller, spec).await?;
        let mut body = json!({
            "stateMachineArn": self.arns.machine(flow.name.as_str()),
            "creationDate": render::seconds(flow.created_at),
        });
        if r.publish == Some(true) {
            let (_, arn) = self
                .publish_current(flow.name.as_str(), r.version_description, None)
                .await?;
            body["stateMachineVersionArn"] = json!(arn);
        }
        Ok(body)
    }

    /// One store update: the configuration given replaces its members of the flow's
    /// attributes there, in the update's transaction. With `publish`, the revision the
    /// update made is published (unless another update came in between: `ConflictException`).
    async fn update(&self, r: UpdateStateMachine) -> Reply {
        let machine = self
            .arns
            .machine_name(r.state_machine_arn.as_deref().unwrap_or(""))?;
        let changes = FlowChanges {
            definition: r.definition,
            description: None,
            role_arn: r.role_arn,
            attributes: render::changed_attributes(
                r.logging_configuration,
                r.tracing_configuration,
            ),
        };
        let flow = self
            .service
            .update_flow(self.caller, &machine, changes)
            .await?;
        let mut body = json!({
            "updateDate": render::seconds(flow.modified_at),
            "revisionId": flow.revision.to_string(),
        });
        if r.publish == Some(true) {
            let (_, arn) = self
                .publish_current(&machine, r.version_description, Some(flow.revision))
                .await?;
            body["stateMachineVersionArn"] = json!(arn);
        }
        Ok(body)
    }

    async fn list_machines(&self, r: &Paging) -> Reply {
        let limit = r.limit();
        let after = r
            .next_token
            .as_deref()
            .map(|t| page_cursor(Listing::Flows, t).map_err(invalid_token))
            .transpose()?;
        let flows = self
            .service
            .list_flows(self.caller, after.as_deref(), limit + 1)
            .await?;
        let (flows, next) = page(flows, limit, |f| {
            page_token(Listing::Flows, f.name.as_str())
        });
        let items: Vec<Value> = flows
            .iter()
            .map(|f| render::machine_item(f, self.arns))
            .collect();
        Ok(with_next(json!({"stateMachines": items}), next))
    }

    /// Of a state machine, or of those started as one version or through one alias, or a
    /// map run's children.
    async fn list_executions(&self, r: &ListExecutions) -> Reply {
        if let Some(map_run) = &r.map_run_arn {
            return self.list_children(r, map_run).await;
        }
        let arn = r.state_machine_arn.as_deref().unwrap_or("");
        let (machine, qualifier) = self.arns.qualified(arn)?;
        let started_as = match qualifier {
            None => StartedAs::default(),
            Some(q) if q.bytes().all(|b| b.is_ascii_digit()) => StartedAs {
                version: Some(self.arns.version_of(arn)?.1),
                ..StartedAs::default()
            },
            Some(alias) => StartedAs {
                alias: Some(alias),
                ..StartedAs::default()
            },
        };
        let filter = ExecutionFilter {
            redriven: r.redrive_filter.map(|f| f == RedriveFilter::Redriven),
            started_as,
            ..ExecutionFilter::default()
        };
        let (executions, next) = self.execution_listing(r, &machine, filter).await?;
        let items: Vec<Value> = executions
            .iter()
            .map(|e| render::execution_item(e, self.arns))
            .collect();
        Ok(with_next(json!({"executions": items}), next))
    }

    /// A page of `machine`'s executions within `filter`, newest first, as `r` asks
    /// (`statusFilter`, `maxResults`, `nextToken`), and the next page's token.
    pub(super) async fn execution_listing(
        &self,
        r: &ListExecutions,
        machine: &str,
        filter: ExecutionFilter,
    ) -> Result<(Vec<ExecutionSummary>, Option<String>), Failure> {
        let flow = self.service.describe_flow(self.caller, machine).await?;
        let status = match r.status_filter.map(render::filtered_status) {
            // A status sluice never gives (PENDING_REDRIVE): nothing has it.
            Some(None) => return Ok((Vec::new(), None)),
            status => status.flatten(),
        };
        let paging = r.paging();
        let limit = paging.limit();
        let after = paging
            .next_token
            .as_deref()
            .map(|t| execution_page_cursor(t).map_err(invalid_token))
            .transpose()?;
        let filter = ExecutionFilter { status, ..filter };
        let query = ExecutionQuery {
            order: ExecutionOrder::Newest,
            ..ExecutionQuery::of_flow(&self.caller.tenant, flow.id, &filter)
        };
        let listed = self
            .service
            .execution_page(self.caller, &query, Page::after(after, limit + 1))
            .await?;
        Ok(page(listed.items, limit, |e| {
            execution_page_token(&e.cursor())
        }))
    }

    /// The whole history in AWS's events (their ids are not the engine's: AWS leaves out
    /// some of the engine's events), then the page asked for.
    async fn history(&self, r: &GetExecutionHistory) -> Reply {
        let reference = ExecutionRef {
            execution_arn: r.execution_arn.clone(),
            included_data: None,
        };
        let (flow, execution) = self.execution(&reference).await?;
        let definition = self.service.execution_definition(&flow, &execution).await?;
        let all = self.service.full_history(self.caller, &execution).await?;
        let context = Context {
            definition: &definition,
            role_arn: execution.role_arn.as_deref(),
            region: self.arns.region(),
            account: &self.caller.aws_account_id,
            machine: flow.name.as_str(),
            include_data: r.include_execution_data.unwrap_or(true),
        };
        let mut events = history::events(&all, &context);
        if r.reverse_order {
            events.reverse();
        }
        let paging = r.paging();
        if let Some(token) = paging.next_token.as_deref() {
            let after: u64 = page_cursor(Listing::History, token)
                .map_err(invalid_token)?
                .parse()
                .map_err(|_| invalid_token(ServiceError::InvalidArgument(String::new())))?;
            let at = events
                .iter()
                .position(|e| e["id"].as_u64() == Some(after))
                .ok_or_else(|| invalid_token(ServiceError::InvalidArgument(String::new())))?;
            events.drain(..=at);
        }
        let (events, next) = page(events, paging.limit(), |e| {
            page_token(Listing::History, &e["id"].to_string())
        });
        Ok(with_next(json!({"events": events}), next))
    }
}

/// An execution of a state machine that does not exist does not exist either: AWS names the
/// execution, not its state machine.
pub(super) fn of_execution(e: ServiceError, machine: &str, name: &str) -> ServiceError {
    match e {
        ServiceError::FlowNotFound(_) => ServiceError::ExecutionNotFound {
            flow: machine.to_string(),
            execution: name.to_string(),
        },
        other => other,
    }
}

/// A version or alias that is not there is a state machine (ARN) that does not exist.
fn no_such_qualifier(e: ServiceError, arn: &str) -> Failure {
    match e {
        ServiceError::NotFound { .. } => SfnError::new(
            Code::StateMachineDoesNotExist,
            format!("State Machine Does Not Exist: '{arn}'"),
        )
        .into(),
        other => other.into(),
    }
}

/// A `nextToken` no listing here handed out.
pub(super) fn invalid_token(_: ServiceError) -> SfnError {
    SfnError::new(
        Code::InvalidToken,
        "Invalid Token: the nextToken is not one this listing handed out; start without one",
    )
}

pub(super) fn with_next(mut body: Value, next: Option<String>) -> Value {
    if let Some(token) = next {
        body["nextToken"] = json!(token);
    }
    body
}

/// `ValidateStateMachineDefinition`: the compiler's problems as AWS's diagnostics, errors
/// first, then (at `severity` `WARNING`) the warnings; each `location`ed by its pointer
/// (`/States/NAME/FIELD`), its message with line and column. `FAIL` only with an error.
fn validate(service: &Service, r: &ValidateDefinition) -> Value {
    let definition = r.definition.as_deref().unwrap_or("");
    let checked = service.check_definition(Dialect::Asl, definition);
    let errors = checked.flow.err().map(|e| e.problems).unwrap_or_default();
    let warnings = match r.severity.unwrap_or(Severity::Error) {
        Severity::Warning => checked.warnings,
        Severity::Error => Vec::new(),
    };
    let max = match r.max_results {
        None | Some(0) => 100,
        Some(n) => usize::try_from(n).unwrap_or(100),
    };
    let found = errors.len() + warnings.len();
    let diagnostics: Vec<Value> = errors
        .iter()
        .chain(&warnings)
        .take(max)
        .map(|p| {
            let mut d = json!({
                "severity": if p.kind.is_warning() { "WARNING" } else { "ERROR" },
                "code": diagnostic_code(p.kind),
                "message": p.to_string(),
            });
            if let Some(pointer) = p.pointer.as_ref().filter(|p| !p.is_root()) {
                d["location"] = json!(pointer.to_string());
            }
            d
        })
        .collect();
    json!({
        "result": if errors.is_empty() { "OK" } else { "FAIL" },
        "diagnostics": diagnostics,
        "truncated": found > max,
    })
}
