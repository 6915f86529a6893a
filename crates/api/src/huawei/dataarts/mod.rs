//! DataArts Factory jobs (DGC/DLF v1, `/v1/{project}/jobs…`, spec §2).
//!
//! A job is a flow (dialect `dataarts`, its definition the `JobInfo` JSON as sent) of the
//! workspace named by the `workspace` header (`default` when absent; kept in the flow's
//! attributes). An instance is an execution whose name carries the instance id, a number; a
//! rerun of an instance runs as a new execution and the instance shows its latest run.
//! Scheduling is a sluice schedule named `dataarts` on the flow, built from the job's
//! `schedule.cron` (expression, `expressionTimeZone`, `startTime`, `endTime`).

mod instances;
mod schedule;

use axum::http::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sluice_service::views::Millis;
use sluice_service::views::{
    ExecutionFilter, ExecutionMode, ExecutionOrder, ExecutionQuery, ExecutionSummary,
    ExecutionView, FlowQuery, FlowSelection, FlowView, NameMatch,
};
use sluice_service::{Dialect, FlowChanges, FlowSpec, ScheduleSpec, ServiceError, step_runs};

use super::{ErrorShape, Handlers, HuaweiError, Page, Reply, Routed, Window, rendered, start_of};
use instances::{
    base_id, instance_status, instance_summary, new_instance_id, node_statuses, rerun_number,
    run_base, statuses_of,
};
use schedule::{cadence, cadence_of};

const SHAPE: ErrorShape = ErrorShape::Snake;
const DEFAULT_WORKSPACE: &str = "default";
/// The schedule a job's scheduling runs on.
const SCHEDULE: &str = "dataarts";
/// Execution names: `i{id}` for run-immediate, `dataarts-{tick}` for the job's scheduling
/// (the schedule names its executions after the tick), `{name}-r{k}` for the k-th rerun.
const MANUAL_PREFIX: &str = "i";
const SCHEDULED_PREFIX: &str = "dataarts-";
const RERUN: &str = "-r";
const DEFAULT_LIMIT: usize = 10;
/// Runs read to find an instance's latest among those whose names share its prefix.
const INSTANCE_RUNS: usize = 100;
const MAX_LIMIT: usize = 1000;

/// A DataArts request, decoded: the workspace it addresses (the `workspace` header) and what
/// it asks.
#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    pub workspace: String,
    pub call: Call,
}

calls! {
    /// What a DataArts request asks, typed. Each variant carries the permission a key needs for
    /// it ([`Action`]).
    pub enum Call {
        "dlf:job:create" => CreateJob(JobInfo),
        "dlf:job:list" => ListJobs { page: Page, name: Option<String> },
        "dlf:job:get" => ShowJob { job: String },
        "dlf:job:update" => UpdateJob { job: String, info: JobInfo },
        "dlf:job:delete" => DeleteJob { job: String },
        /// Starts the job's scheduling.
        "dlf:job:start" => StartJob { job: String },
        /// Stops the job's scheduling.
        "dlf:job:stop" => StopJob { job: String },
        "dlf:job:run" => RunJob {
            job: String,
            params: Option<Vec<JobParam>>,
        },
        "dlf:instance:list" => ListInstances(InstanceQuery),
        "dlf:instance:get" => ShowInstance { job: String, instance: String },
        "dlf:instance:stop" => StopInstance { job: String, instance: String },
        "dlf:instance:restart" => RerunInstance { job: String, instance: String },
    }
}

/// A `JobInfo` body: the document as sent (it is the job's definition) and what this dialect
/// reads of it.
#[derive(Debug, Clone, PartialEq)]
pub struct JobInfo {
    pub name: String,
    pub description: String,
    /// The sluice cadence of `schedule.cron`, when the job has one; checked when decoded.
    pub cadence: Option<String>,
    pub document: Value,
}

/// The fields of `JobInfo` this dialect reads (spec §2.2); the rest is the language's.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct JobInfoFields {
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    schedule: Option<ScheduleFields>,
}

#[derive(Debug, Deserialize)]
struct ScheduleFields {
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    cron: Option<CronFields>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct CronFields {
    #[serde(default)]
    expression: Option<String>,
    #[serde(default)]
    expression_time_zone: Option<String>,
    #[serde(default)]
    start_time: Option<String>,
    #[serde(default)]
    end_time: Option<String>,
}

/// A `jobParams` entry of `run-immediate` (spec §2.2 `JobParam`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
pub struct JobParam {
    pub name: String,
    pub value: String,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RunBody {
    #[serde(default)]
    job_params: Option<Vec<JobParam>>,
}

/// The filters of an instance listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceQuery {
    pub page: Page,
    /// `minPlanTime` and `maxPlanTime`.
    pub plan_times: Window,
    pub status: Option<String>,
    pub job_name: Option<String>,
    pub precise: bool,
}

/// Decodes a DataArts request: the route, its query and its body, checked and typed.
pub fn decode(request: &Routed<'_>) -> Result<Request, HuaweiError> {
    let workspace = request
        .header("workspace")
        .unwrap_or(DEFAULT_WORKSPACE)
        .to_string();
    let call = decode_call(request).map_err(error)?;
    Ok(Request { workspace, call })
}

fn decode_call(request: &Routed<'_>) -> JobResult<Call> {
    let m = request.method;
    let owned = |s: &str| s.to_string();
    let call = match request.rest().as_slice() {
        [] if m == Method::POST => Call::CreateJob(job_info(request)?),
        [] if m == Method::GET => Call::ListJobs {
            page: request.offset_page(DEFAULT_LIMIT, MAX_LIMIT)?,
            name: request.query_param("jobName").map(owned),
        },
        ["instances", "detail"] if m == Method::GET => Call::ListInstances(InstanceQuery {
            page: request.offset_page(DEFAULT_LIMIT, MAX_LIMIT)?,
            status: request.query_param("status").map(owned),
            job_name: request.query_param("jobName").map(owned),
            precise: request.query_param("preciseQuery") == Some("true"),
            plan_times: Window {
                from: millis_param(request, "minPlanTime")?,
                to: millis_param(request, "maxPlanTime")?,
            },
        }),
        [job] if m == Method::GET => Call::ShowJob { job: owned(job) },
        [job] if m == Method::PUT => Call::UpdateJob {
            job: owned(job),
            info: job_info(request)?,
        },
        [job] if m == Method::DELETE => Call::DeleteJob { job: owned(job) },
        [job, "start"] if m == Method::POST => Call::StartJob { job: owned(job) },
        [job, "stop"] if m == Method::POST => Call::StopJob { job: owned(job) },
        [job, "run-immediate"] if m == Method::POST => {
            let body: RunBody = request.json().map_err(ServiceError::from)?;
            Call::RunJob {
                job: owned(job),
                params: body.job_params,
            }
        }
        [job, "instances", id] if m == Method::GET => Call::ShowInstance {
            job: owned(job),
            instance: owned(id),
        },
        [job, "instances", id, "stop"] if m == Method::POST => Call::StopInstance {
            job: owned(job),
            instance: owned(id),
        },
        [job, "instances", id, "restart"] if m == Method::POST => Call::RerunInstance {
            job: owned(job),
            instance: owned(id),
        },
        _ => return Err(JobError::NoSuchResource),
    };
    Ok(call)
}

/// Runs a decoded call, which the caller's key may make, in the workspace of `jobs`.
pub async fn run(jobs: Jobs<'_>, call: Call) -> Result<Reply, HuaweiError> {
    let reply = match call {
        Call::CreateJob(info) => jobs.create(info).await,
        Call::ListJobs { page, name } => jobs.list(page, name.as_deref()).await,
        Call::ListInstances(query) => jobs.instances(&query).await,
        Call::ShowJob { job } => jobs.show(&job).await,
        Call::UpdateJob { job, info } => jobs.update(&job, info).await,
        Call::DeleteJob { job } => jobs.delete(&job).await,
        Call::StartJob { job } => jobs.schedule(&job, true).await,
        Call::StopJob { job } => jobs.schedule(&job, false).await,
        Call::RunJob { job, params } => jobs.run(&job, params).await,
        Call::ShowInstance { job, instance } => jobs.show_instance(&job, &instance).await,
        Call::StopInstance { job, instance } => jobs.stop_instance(&job, &instance).await,
        Call::RerunInstance { job, instance } => jobs.rerun(&job, &instance).await,
    };
    reply.map_err(error)
}

/// A project that is not the caller's.
pub fn foreign_project(project: &str) -> HuaweiError {
    HuaweiError::new(
        SHAPE,
        403,
        "DLF.6888",
        format!("account permission invalid: the project {project} is not the access key's"),
    )
}

/// Why a DataArts call failed beyond what the service says, in DataArts' words (§2.4).
#[derive(Debug, thiserror::Error)]
pub(super) enum JobError {
    #[error("The resource to be queried does not exist.")]
    NoSuchResource,
    #[error("The job name cannot be left blank.")]
    BlankName,
    /// `schedule.cron` cannot be scheduled.
    #[error("The job scheduling parameter is invalid: {0}")]
    InvalidSchedule(String),
    #[error("The job does not exist: {0}")]
    JobNotFound(String),
    #[error("Job instance does not exist.")]
    InstanceNotFound,
    #[error(
        "The request parameter is invalid: job instance {instance} is {status}; only a running instance can be stopped and only a finished one rerun"
    )]
    NotRunning { instance: String, status: String },
    #[error(transparent)]
    Service(#[from] ServiceError),
}

type JobResult<T> = Result<T, JobError>;

/// The handlers of DataArts calls; their scope is the request's workspace.
pub type Jobs<'a> = Handlers<'a, Call>;

impl Jobs<'_> {
    async fn create(&self, info: JobInfo) -> JobResult<Reply> {
        let spec = FlowSpec {
            name: info.name,
            definition: info.document.to_string(),
            dialect: Dialect::DataArts,
            description: info.description,
            role_arn: None,
            mode: ExecutionMode::Standard,
            attributes: json!({ "workspace": self.scope }),
            tag: Some(self.scope.to_string()),
        };
        self.service.create_flow(self.caller, spec).await?;
        Ok(Reply::empty(204))
    }

    async fn list(&self, page: Page, name: Option<&str>) -> JobResult<Reply> {
        let query = FlowQuery {
            name: name.map(|n| NameMatch::Contains(n.to_string())),
            tag: Some(self.scope.to_string()),
            ..FlowQuery::all(&self.caller.tenant)
        };
        let jobs = self.flow_page(&query, page).await?;
        let mut listed = Vec::new();
        for flow in &jobs.items {
            listed.push(self.job_summary(flow).await?);
        }
        Ok(Reply::ok(json!({"total": jobs.total, "jobs": listed})))
    }

    async fn show(&self, name: &str) -> JobResult<Reply> {
        let flow = self.job(name).await?;
        let mut body = definition(&flow);
        body["id"] = json!(flow.id.0);
        body["createTime"] = json!(flow.created_at);
        body["version"] = json!(flow.revision);
        Ok(Reply::ok(body))
    }

    async fn update(&self, name: &str, info: JobInfo) -> JobResult<Reply> {
        let flow = self.job(name).await?;
        if info.name != flow.name.as_str() || flow.dialect != Dialect::DataArts {
            return Err(ServiceError::InvalidArgument(
                "a job keeps its name, and only jobs created here are updated here".into(),
            )
            .into());
        }
        let changes = FlowChanges {
            definition: Some(info.document.to_string()),
            ..Default::default()
        };
        self.service.update_flow(self.caller, name, changes).await?;
        Ok(Reply::empty(204))
    }

    async fn delete(&self, name: &str) -> JobResult<Reply> {
        self.job(name).await?;
        self.service.delete_flow(self.caller, name).await?;
        Ok(Reply::empty(204))
    }

    /// Starts or stops the job's scheduling.
    async fn schedule(&self, name: &str, start: bool) -> JobResult<Reply> {
        let flow = self.job(name).await?;
        if !start {
            self.service
                .remove_schedule(self.caller, name, SCHEDULE)
                .await?;
            return Ok(Reply::empty(204));
        }
        let cron = cadence_of(&definition(&flow))?.ok_or_else(|| {
            JobError::InvalidSchedule("the job has no schedule.cron.expression".into())
        })?;
        let spec = ScheduleSpec {
            flow: name.to_string(),
            name: SCHEDULE.to_string(),
            cron,
            payload: None,
            description: Some("DataArts job scheduling".into()),
            enabled: Some(true),
        };
        self.service.put_schedule(self.caller, spec).await?;
        Ok(Reply::empty(204))
    }

    /// `run-immediate`: a new instance, its id a number.
    async fn run(&self, name: &str, params: Option<Vec<JobParam>>) -> JobResult<Reply> {
        self.job(name).await?;
        let input = json!({ "jobParams": params });
        loop {
            let id = new_instance_id();
            let start = start_of(
                name,
                Some(format!("{MANUAL_PREFIX}{id}")),
                Some(input.to_string()),
            );
            match self.service.start_execution(self.caller, start).await {
                Ok(_) => return Ok(Reply::ok(json!({ "instanceId": id }))),
                // Two runs drew the same id in the same microsecond: draw again.
                Err(ServiceError::ExecutionExists { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn instances(&self, query: &InstanceQuery) -> JobResult<Reply> {
        let statuses = match query.status.as_deref() {
            None => Vec::new(),
            Some(wanted) => match statuses_of(wanted) {
                Some(statuses) => statuses,
                // No instance has a status of another name.
                None => return Ok(Reply::ok(json!({"total": 0, "instances": []}))),
            },
        };
        let name = query.job_name.as_ref().map(|w| match query.precise {
            true => NameMatch::Exact(w.clone()),
            false => NameMatch::Contains(w.clone()),
        });
        let runs = ExecutionQuery {
            tenant: self.caller.tenant.clone(),
            flows: FlowSelection::Live {
                name,
                tag: Some(self.scope.to_string()),
            },
            statuses,
            name_prefix: None,
            started_from: query.plan_times.from,
            started_to: query.plan_times.to,
            latest_runs: true,
            map_run: None,
            redriven: None,
            started_as: Default::default(),
            order: ExecutionOrder::Newest,
        };
        let runs = self.execution_page(runs, query.page).await?;
        let listed = rendered(&runs, instance_summary);
        Ok(Reply::ok(json!({"total": runs.total, "instances": listed})))
    }

    async fn show_instance(&self, name: &str, id: &str) -> JobResult<Reply> {
        let flow = self.job(name).await?;
        let run = self.instance(&flow, id).await?;
        let history = self.service.full_history(self.caller, &run).await?;
        let mut body = instance_summary(&run.summary());
        let nodes = node_statuses(&flow, &run, &step_runs(&history));
        body["total"] = json!(nodes.len());
        body["nodes"] = Value::Array(nodes);
        Ok(Reply::ok(body))
    }

    /// Stops a running instance: 204, or `DLF.0137` for an unknown one.
    async fn stop_instance(&self, name: &str, id: &str) -> JobResult<Reply> {
        let flow = self.job(name).await?;
        let run = self.instance(&flow, id).await?;
        if run.status.is_terminal() {
            return Err(JobError::NotRunning {
                instance: id.to_string(),
                status: instance_status(run.status).to_string(),
            });
        }
        let why = ("ManualStop", "stopped through the DataArts API");
        match self.stop_execution(name, run.name.as_str(), why).await {
            Ok(_) => Ok(Reply::empty(204)),
            Err(ServiceError::ExecutionCompleted { .. }) => Err(JobError::NotRunning {
                instance: id.to_string(),
                status: "finished".into(),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Reruns a finished instance (success, fail or manual-stop) from its first node, with
    /// the input it had.
    async fn rerun(&self, name: &str, id: &str) -> JobResult<Reply> {
        let flow = self.job(name).await?;
        let run = self.instance(&flow, id).await?;
        if !run.status.is_terminal() {
            return Err(JobError::NotRunning {
                instance: id.to_string(),
                status: "running".into(),
            });
        }
        let attempt = rerun_number(run.name.as_str()) + 1;
        let again = format!("{}{RERUN}{attempt}", run_base(run.name.as_str()));
        self.service
            .rerun_execution(self.caller, name, run.name.as_str(), again)
            .await?;
        Ok(Reply::empty(204))
    }

    /// The job of that name in this workspace.
    async fn job(&self, name: &str) -> JobResult<FlowView> {
        match self.service.describe_flow(self.caller, name).await {
            Ok(flow) if workspace_of(&flow) == self.scope => Ok(flow),
            Ok(_) | Err(ServiceError::FlowNotFound(_)) => Err(JobError::JobNotFound(name.into())),
            Err(e) => Err(e.into()),
        }
    }

    /// The latest run of instance `id` of the job.
    async fn instance(&self, flow: &FlowView, id: &str) -> JobResult<ExecutionView> {
        let not_found = || JobError::InstanceNotFound;
        if id.parse::<i64>().is_err() {
            return Err(not_found());
        }
        let mut latest: Option<ExecutionSummary> = None;
        for prefix in [
            format!("{MANUAL_PREFIX}{id}"),
            format!("{SCHEDULED_PREFIX}{id}"),
        ] {
            let filter = ExecutionFilter {
                name_prefix: Some(prefix),
                ..Default::default()
            };
            let query = ExecutionQuery {
                latest_runs: true,
                ..ExecutionQuery::of_flow(&self.caller.tenant, flow.id, &filter)
            };
            let runs = self
                .service
                .execution_page(
                    self.caller,
                    &query,
                    sluice_service::views::Page::first(INSTANCE_RUNS),
                )
                .await?
                .items;
            // Runs of other instances share the prefix (`i12` of `i123`); a run rerun before
            // reruns replaced their runs is its instance's latest by time.
            for run in runs.into_iter().filter(|r| base_id(r.name.as_str()) == id) {
                if latest
                    .as_ref()
                    .is_none_or(|l| l.created_at <= run.created_at)
                {
                    latest = Some(run);
                }
            }
        }
        let run = latest.ok_or_else(not_found)?;
        let (_, record) = self
            .describe_execution(flow.name.as_str(), run.name.as_str())
            .await?;
        Ok(record)
    }

    async fn job_summary(&self, flow: &FlowView) -> JobResult<Value> {
        let scheduled = self
            .service
            .describe_schedule(self.caller, flow.name.as_str(), SCHEDULE)
            .await
            .is_ok();
        Ok(json!({
            "name": flow.name.as_str(),
            "jobType": "BATCH",
            "status": if scheduled { "SCHEDULING" } else { "STOPPED" },
            "createTime": flow.created_at,
            "lastUpdateTime": flow.modified_at,
            "path": format!("/{}", flow.name),
            "singleNodeJobFlag": false,
        }))
    }
}

/// A `JobInfo` body, its schedule checked: a job that could not be scheduled is refused when
/// it is written, not when its scheduling starts.
fn job_info(request: &Routed<'_>) -> JobResult<JobInfo> {
    let document: Value = request.json().map_err(ServiceError::from)?;
    let fields = JobInfoFields::deserialize(&document)
        .map_err(|e| ServiceError::InvalidArgument(format!("the body is not a JobInfo: {e}")))?;
    if fields.name.is_empty() {
        return Err(JobError::BlankName);
    }
    let cadence = match &fields.schedule {
        Some(schedule) => cadence(schedule)?,
        None => None,
    };
    Ok(JobInfo {
        name: fields.name,
        description: fields.description.unwrap_or_default(),
        cadence,
        document,
    })
}

fn definition(flow: &FlowView) -> Value {
    serde_json::from_str(&flow.definition)
        .ok()
        .filter(|_| flow.dialect == Dialect::DataArts)
        .unwrap_or_else(|| json!({"name": flow.name.as_str(), "nodes": []}))
}

fn workspace_of(flow: &FlowView) -> &str {
    flow.attributes["workspace"]
        .as_str()
        .unwrap_or(DEFAULT_WORKSPACE)
}

fn millis_param(request: &Routed<'_>, name: &str) -> Result<Option<Millis>, ServiceError> {
    request
        .query_param(name)
        .map(|t| {
            t.parse::<Millis>().map_err(|_| {
                ServiceError::InvalidArgument(format!("{name} must be epoch milliseconds"))
            })
        })
        .transpose()
}

/// The one mapping to DataArts codes (§2.4): every listed code is HTTP 400.
pub(super) fn error(e: JobError) -> HuaweiError {
    let (status, code) = match &e {
        JobError::NoSuchResource => (404, "DLF.6241"),
        JobError::BlankName => (400, "DLF.3004"),
        JobError::InvalidSchedule(_) => (400, "DLF.3025"),
        JobError::JobNotFound(_) => (400, "DLF.0100"),
        JobError::InstanceNotFound => (400, "DLF.0137"),
        JobError::NotRunning { .. } => (400, "DLF.3051"),
        JobError::Service(e) => match e {
            ServiceError::FlowNotFound(_) => (400, "DLF.0100"),
            ServiceError::FlowExists(_) => (400, "DLF.0102"),
            ServiceError::ExecutionNotFound { .. } => (400, "DLF.0137"),
            ServiceError::AccessDenied { .. } => (403, "DLF.6888"),
            ServiceError::Throttled => (429, "APIG.0308"),
            ServiceError::Internal(_) => (500, "DLF.0001"),
            ServiceError::InvalidDefinition(_) => (400, "DLF.3051"),
            _ => (400, "DLF.3051"),
        },
    };
    HuaweiError::new(SHAPE, status, code, e.to_string())
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderMap;

    use super::*;
    use sluice_service::Cadence;

    fn create(body: &Value) -> Result<Request, HuaweiError> {
        let headers = HeaderMap::new();
        let body = body.to_string();
        let routed = Routed {
            method: &Method::POST,
            rest: Vec::new(),
            query: Vec::new(),
            headers: &headers,
            signed_headers: Vec::new(),
            body: body.as_bytes(),
        };
        decode(&routed)
    }

    fn job(cron: Value) -> Value {
        json!({"name": "j", "nodes": [], "schedule": {"type": "CRON", "cron": cron}})
    }

    fn cadence_of_created(cron: Value) -> Result<String, HuaweiError> {
        match create(&job(cron))?.call {
            Call::CreateJob(info) => Ok(info.cadence.expect("a cadence")),
            other => panic!("not a create: {other:?}"),
        }
    }

    fn refusal(cron: Value) -> (u16, String) {
        let e = cadence_of_created(cron).expect_err("refused");
        (e.status, e.code)
    }

    /// A daily cron whose `field` is each of `values` in turn is refused as a schedule.
    fn each_refused(field: &str, values: &[&str]) {
        for value in values {
            let mut cron = json!({"expression": "0 0 2 * * ?"});
            cron[field] = json!(value);
            assert_eq!(refusal(cron), (400, "DLF.3025".into()), "{field}: {value}");
        }
    }

    #[test]
    fn a_start_time_that_is_not_a_time_is_refused_not_a_panic() {
        let starts = [
            "2018-10-22T23:59:59+0éx",
            "2018-10-22T23:59:59+0é",
            "2018-éé",
            "",
        ];
        each_refused("startTime", &starts);
    }

    #[test]
    fn start_and_end_times_take_every_documented_zone_form() {
        for start in [
            "2018-10-22T23:59:59+08",
            "2018-10-22T23:59:59+0800",
            "2018-10-22T23:59:59+08:00",
            "2018-10-22T15:59:59Z",
        ] {
            let cron = json!({"expression": "0 0 2 * * ?", "startTime": start, "endTime": start});
            let cadence = cadence_of_created(cron).expect("accepted");
            assert!(
                cadence.starts_with("FROM=2018-10-22T15:59:59Z UNTIL=2018-10-22T15:59:59Z "),
                "{start}: {cadence}"
            );
        }
    }

    #[test]
    fn expression_time_zones_in_every_documented_form() {
        const T0: Millis = 1_767_225_600_000; // 2026-01-01T00:00:00Z
        // 02:00 local time, as the instant after T0 it first fires at.
        let cases = [
            ("GMT+08:00", T0 + 18 * 3_600_000),
            ("GMT+8:00", T0 + 18 * 3_600_000),
            ("GMT+8", T0 + 18 * 3_600_000),
            ("UTC+08:00", T0 + 18 * 3_600_000),
            ("Asia/Shanghai", T0 + 18 * 3_600_000),
            ("GMT+05:30", T0 + 20 * 3_600_000 + 1_800_000),
            ("GMT-03:00", T0 + 5 * 3_600_000),
            ("GMT", T0 + 2 * 3_600_000),
            ("UTC", T0 + 2 * 3_600_000),
        ];
        for (zone, first) in cases {
            let cron = json!({"expression": "0 0 2 * * ?", "expressionTimeZone": zone});
            let cadence = cadence_of_created(cron).expect(zone);
            let parsed = Cadence::parse(&cadence).expect("the scheduler reads it");
            assert_eq!(parsed.next_after(T0), Some(first), "{zone}: {cadence}");
        }
        let zones = [
            "GMT+8x",
            "GMT+99",
            "Mars/Olympus",
            "+08:00",
            "GMT 8",
            "GMT+é",
        ];
        each_refused("expressionTimeZone", &zones);
    }

    #[test]
    fn an_invalid_cron_is_refused_when_the_job_is_written() {
        let expressions = ["every day", "0 0 2 * *", "0 0 25 * * ?", "* * * * * ?"];
        each_refused("expression", &expressions);
        let no_expression = json!({"name": "j", "schedule": {"type": "CRON", "cron": {}}});
        assert_eq!(
            create(&no_expression).expect_err("refused").code,
            "DLF.3025"
        );
        let once = json!({"name": "j", "schedule": {"type": "EXECUTE_ONCE"}});
        assert!(create(&once).is_ok());
    }

    #[test]
    fn fields_of_the_wrong_type_are_refused_by_name() {
        let e = create(&json!({"name": 5})).expect_err("refused");
        assert_eq!((e.status, e.code.as_str()), (400, "DLF.3051"));
        assert!(e.message.contains("string"), "{}", e.message);
        let e = create(&json!({"nodes": []})).expect_err("refused");
        assert_eq!(e.code, "DLF.3004");
    }
}
