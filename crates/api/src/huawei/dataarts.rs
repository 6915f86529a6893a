//! DataArts Factory jobs (DGC/DLF v1, `/v1/{project}/jobs…`, spec §2).
//!
//! A job is a flow (dialect `dataarts`, its definition the `JobInfo` JSON as sent) of the
//! workspace named by the `workspace` header (`default` when absent; kept in the flow's
//! attributes). An instance is an execution whose name carries the instance id, a number; a
//! rerun of an instance runs as a new execution and the instance shows its latest run.
//! Scheduling is a sluice schedule named `dataarts` on the flow, built from the job's
//! `schedule.cron` (expression, `expressionTimeZone`, `startTime`, `endTime`).

use std::sync::Arc;
use std::time::Duration;

use axum::http::Method;
use jiff::Timestamp;
use serde_json::{Map, Value, json};
use sluice_engine::{Millis, Status};
use sluice_service::{
    Caller, Dialect, FlowChanges, FlowSpec, ScheduleSpec, Service, ServiceError, StartRequest,
    StepRun, StepStatus, step_runs,
};
use sluice_store::{
    ExecutionFilter, ExecutionMode, ExecutionOrder, ExecutionQuery, ExecutionRecord,
    ExecutionSummary, FlowQuery, FlowRecord, FlowSelection, NameMatch, Page,
};

use super::{ErrorShape, HuaweiError, Reply, Routed};

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

pub async fn handle(
    service: &Arc<Service>,
    caller: &Caller,
    request: &Routed<'_>,
) -> Result<Reply, HuaweiError> {
    let workspace = request.header("workspace").unwrap_or(DEFAULT_WORKSPACE);
    let jobs = Jobs {
        service,
        caller,
        workspace,
    };
    let m = request.method;
    let reply = match request.rest().as_slice() {
        [] if m == Method::POST => jobs.create(request).await,
        [] if m == Method::GET => jobs.list(request).await,
        ["instances", "detail"] if m == Method::GET => jobs.instances(request).await,
        [job] if m == Method::GET => jobs.show(job).await,
        [job] if m == Method::PUT => jobs.update(job, request).await,
        [job] if m == Method::DELETE => jobs.delete(job).await,
        [job, "start"] if m == Method::POST => jobs.schedule(job, true).await,
        [job, "stop"] if m == Method::POST => jobs.schedule(job, false).await,
        [job, "run-immediate"] if m == Method::POST => jobs.run(job, request).await,
        [job, "instances", id] if m == Method::GET => jobs.show_instance(job, id).await,
        [job, "instances", id, "stop"] if m == Method::POST => jobs.stop_instance(job, id).await,
        [job, "instances", id, "restart"] if m == Method::POST => jobs.rerun(job, id).await,
        _ => {
            return Err(HuaweiError::new(
                SHAPE,
                404,
                "DLF.6241",
                "The resource to be queried does not exist.",
            ));
        }
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

/// Why a DataArts call failed beyond what the service says.
enum JobError {
    JobNotFound(String),
    InstanceNotFound,
    NotRunning { instance: String, status: String },
    Service(ServiceError),
}

impl From<ServiceError> for JobError {
    fn from(e: ServiceError) -> Self {
        JobError::Service(e)
    }
}

type JobResult<T> = Result<T, JobError>;

struct Jobs<'a> {
    service: &'a Arc<Service>,
    caller: &'a Caller,
    workspace: &'a str,
}

impl Jobs<'_> {
    async fn create(&self, request: &Routed<'_>) -> JobResult<Reply> {
        self.service.authorize(self.caller, "dlf:job:create")?;
        let (name, info) = job_info(request)?;
        let spec = FlowSpec {
            name,
            definition: info.to_string(),
            dialect: Dialect::DataArts,
            description: info["description"].as_str().unwrap_or_default().to_string(),
            role_arn: None,
            mode: ExecutionMode::Standard,
            attributes: json!({ "workspace": self.workspace }),
            tag: Some(self.workspace.to_string()),
        };
        self.service.create_flow(self.caller, spec).await?;
        Ok(Reply::empty(204))
    }

    async fn list(&self, request: &Routed<'_>) -> JobResult<Reply> {
        self.service.authorize(self.caller, "dlf:job:list")?;
        let (offset, limit) = request.offset_page(DEFAULT_LIMIT, MAX_LIMIT)?;
        let query = FlowQuery {
            name: request
                .query_param("jobName")
                .map(|n| NameMatch::Contains(n.to_string())),
            tag: Some(self.workspace.to_string()),
            ..FlowQuery::all(&self.caller.tenant)
        };
        let jobs = self
            .service
            .flow_page(self.caller, &query, Page::offset(offset, limit))
            .await?;
        let mut listed = Vec::new();
        for flow in &jobs.items {
            listed.push(self.job_summary(flow).await?);
        }
        Ok(Reply::ok(json!({"total": jobs.total, "jobs": listed})))
    }

    async fn show(&self, name: &str) -> JobResult<Reply> {
        self.service.authorize(self.caller, "dlf:job:get")?;
        let flow = self.job(name).await?;
        let mut body = definition(&flow);
        body["id"] = json!(flow.id.0);
        body["createTime"] = json!(flow.created_at);
        body["version"] = json!(flow.revision);
        Ok(Reply::ok(body))
    }

    async fn update(&self, name: &str, request: &Routed<'_>) -> JobResult<Reply> {
        self.service.authorize(self.caller, "dlf:job:update")?;
        let flow = self.job(name).await?;
        let (written, info) = job_info(request)?;
        if written != flow.name.as_str() || flow.dialect != Dialect::DataArts {
            return Err(ServiceError::InvalidArgument(
                "a job keeps its name, and only jobs created here are updated here".into(),
            )
            .into());
        }
        let changes = FlowChanges {
            definition: Some(info.to_string()),
            ..Default::default()
        };
        self.service.update_flow(self.caller, name, changes).await?;
        Ok(Reply::empty(204))
    }

    async fn delete(&self, name: &str) -> JobResult<Reply> {
        self.service.authorize(self.caller, "dlf:job:delete")?;
        self.job(name).await?;
        self.service.delete_flow(self.caller, name).await?;
        Ok(Reply::empty(204))
    }

    /// Starts or stops the job's scheduling.
    async fn schedule(&self, name: &str, start: bool) -> JobResult<Reply> {
        let action = if start {
            "dlf:job:start"
        } else {
            "dlf:job:stop"
        };
        self.service.authorize(self.caller, action)?;
        let flow = self.job(name).await?;
        let existing = self
            .service
            .describe_schedule(self.caller, name, SCHEDULE)
            .await;
        if !start {
            if existing.is_ok() {
                self.service
                    .delete_schedule(self.caller, name, SCHEDULE)
                    .await?;
            }
            return Ok(Reply::empty(204));
        }
        let cron = cadence_of(&definition(&flow))?;
        let spec = ScheduleSpec {
            flow: name.to_string(),
            name: SCHEDULE.to_string(),
            cron,
            payload: None,
            description: Some("DataArts job scheduling".into()),
            enabled: Some(true),
        };
        match existing {
            Ok(_) => self.service.update_schedule(self.caller, spec).await?,
            Err(_) => self.service.create_schedule(self.caller, spec).await?,
        };
        Ok(Reply::empty(204))
    }

    /// `run-immediate`: a new instance, its id a number.
    async fn run(&self, name: &str, request: &Routed<'_>) -> JobResult<Reply> {
        self.service.authorize(self.caller, "dlf:job:run")?;
        self.job(name).await?;
        let params = request.json_body().map_err(ServiceError::InvalidArgument)?;
        let input = json!({ "jobParams": params["jobParams"] });
        loop {
            let id = new_instance_id();
            let start = StartRequest {
                flow: name.to_string(),
                name: Some(format!("{MANUAL_PREFIX}{id}")),
                input: Some(input.to_string()),
            };
            match self.service.start_execution(self.caller, start).await {
                Ok(_) => return Ok(Reply::ok(json!({ "instanceId": id }))),
                // Two runs drew the same id in the same microsecond: draw again.
                Err(ServiceError::ExecutionExists { .. }) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    async fn instances(&self, request: &Routed<'_>) -> JobResult<Reply> {
        self.service.authorize(self.caller, "dlf:instance:list")?;
        let (offset, limit) = request.offset_page(DEFAULT_LIMIT, MAX_LIMIT)?;
        let statuses = match request.query_param("status") {
            None => Vec::new(),
            Some(wanted) => match statuses_of(wanted) {
                Some(statuses) => statuses,
                // No instance has a status of another name.
                None => return Ok(Reply::ok(json!({"total": 0, "instances": []}))),
            },
        };
        let precise = request.query_param("preciseQuery") == Some("true");
        let name = request.query_param("jobName").map(|w| match precise {
            true => NameMatch::Exact(w.to_string()),
            false => NameMatch::Contains(w.to_string()),
        });
        let query = ExecutionQuery {
            tenant: self.caller.tenant.clone(),
            flows: FlowSelection::Live {
                name,
                tag: Some(self.workspace.to_string()),
            },
            statuses,
            name_prefix: None,
            started_from: millis_param(request, "minPlanTime")?,
            started_to: millis_param(request, "maxPlanTime")?,
            latest_runs: true,
            order: ExecutionOrder::Newest,
        };
        let runs = self
            .service
            .execution_page(self.caller, &query, Page::offset(offset, limit))
            .await?;
        let listed: Vec<Value> = runs.items.iter().map(instance_summary).collect();
        Ok(Reply::ok(json!({"total": runs.total, "instances": listed})))
    }

    async fn show_instance(&self, name: &str, id: &str) -> JobResult<Reply> {
        self.service.authorize(self.caller, "dlf:instance:get")?;
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
        self.service.authorize(self.caller, "dlf:instance:stop")?;
        let flow = self.job(name).await?;
        let run = self.instance(&flow, id).await?;
        if run.status().is_terminal() {
            return Err(JobError::NotRunning {
                instance: id.to_string(),
                status: instance_status(run.status()).to_string(),
            });
        }
        match self
            .service
            .stop_execution(
                self.caller,
                name,
                run.name.as_str(),
                Some("ManualStop".into()),
                Some("stopped through the DataArts API".into()),
            )
            .await
        {
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
        self.service
            .authorize(self.caller, "dlf:instance:restart")?;
        let flow = self.job(name).await?;
        let run = self.instance(&flow, id).await?;
        if !run.status().is_terminal() {
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
    async fn job(&self, name: &str) -> JobResult<FlowRecord> {
        match self.service.describe_flow(self.caller, name).await {
            Ok(flow) if workspace_of(&flow) == self.workspace => Ok(flow),
            Ok(_) | Err(ServiceError::FlowNotFound(_)) => Err(JobError::JobNotFound(name.into())),
            Err(e) => Err(e.into()),
        }
    }

    /// The latest run of instance `id` of the job.
    async fn instance(&self, flow: &FlowRecord, id: &str) -> JobResult<ExecutionRecord> {
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
                .execution_page(self.caller, &query, Page::first(INSTANCE_RUNS))
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
            .service
            .describe_execution(
                self.caller,
                flow.name.as_str(),
                run.name.as_str(),
                Duration::ZERO,
            )
            .await?;
        Ok(record)
    }

    async fn job_summary(&self, flow: &FlowRecord) -> JobResult<Value> {
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

/// The `JobInfo` body: its name and the document as sent.
fn job_info(request: &Routed<'_>) -> Result<(String, Value), ServiceError> {
    let info = request.json_body().map_err(ServiceError::InvalidArgument)?;
    let name = info["name"]
        .as_str()
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ServiceError::InvalidArgument("The job name cannot be left blank.".into()))?
        .to_string();
    Ok((name, info))
}

fn definition(flow: &FlowRecord) -> Value {
    serde_json::from_str(&flow.definition)
        .ok()
        .filter(|_| flow.dialect == Dialect::DataArts)
        .unwrap_or_else(|| json!({"name": flow.name.as_str(), "nodes": []}))
}

fn workspace_of(flow: &FlowRecord) -> &str {
    flow.attributes["workspace"]
        .as_str()
        .unwrap_or(DEFAULT_WORKSPACE)
}

/// The sluice cadence of a job's `schedule.cron`: `FROM=`/`UNTIL=` from `startTime` /
/// `endTime`, `CRON_TZ=` from `expressionTimeZone` (`GMT+8` is the POSIX zone `Etc/GMT-8`).
fn cadence_of(info: &Value) -> Result<String, ServiceError> {
    let cron = &info["schedule"]["cron"];
    let expression = cron["expression"].as_str().ok_or_else(|| {
        ServiceError::InvalidArgument(
            "The job scheduling parameter is invalid: schedule.cron.expression is required".into(),
        )
    })?;
    let mut cadence = String::new();
    for (field, prefix) in [("startTime", "FROM="), ("endTime", "UNTIL=")] {
        if let Some(text) = cron[field].as_str() {
            let at = dataarts_time(text)?;
            cadence.push_str(&format!("{prefix}{at} "));
        }
    }
    if let Some(zone) = cron["expressionTimeZone"].as_str() {
        cadence.push_str(&format!("CRON_TZ={} ", posix_zone(zone)));
    }
    cadence.push_str(expression);
    Ok(cadence)
}

/// `yyyy-MM-dd'T'HH:mm:ssZ` where the zone is `+08` or `+0800` or `Z`.
fn dataarts_time(text: &str) -> Result<Timestamp, ServiceError> {
    let normalised = match text.len() {
        // 2018-10-22T23:59:59+08
        22 => format!("{text}:00"),
        // 2018-10-22T23:59:59+0800
        24 => format!("{}:{}", &text[..22], &text[22..]),
        _ => text.to_string(),
    };
    normalised.parse().map_err(|_| {
        ServiceError::InvalidArgument(format!(
            "The job scheduling parameter is invalid: {text:?} is not a time like 2018-10-22T23:59:59+08"
        ))
    })
}

fn posix_zone(zone: &str) -> String {
    match zone
        .strip_prefix("GMT")
        .or_else(|| zone.strip_prefix("UTC"))
    {
        Some("") => "UTC".into(),
        Some(offset) if offset.starts_with('+') => format!("Etc/GMT-{}", &offset[1..]),
        Some(offset) if offset.starts_with('-') => format!("Etc/GMT+{}", &offset[1..]),
        _ => zone.to_string(),
    }
}

/// Instance ids are numbers, unique per job: the time in microseconds (a run per microsecond
/// is plenty; a collision draws again).
fn new_instance_id() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default();
    i64::try_from(now).unwrap_or(i64::MAX)
}

/// The instance id an execution name carries (see the name constants).
fn base_id(name: &str) -> &str {
    let name = run_base(name);
    name.strip_prefix(SCHEDULED_PREFIX)
        .or_else(|| name.strip_prefix(MANUAL_PREFIX))
        .unwrap_or(name)
}

/// The execution name of an instance's first run.
fn run_base(name: &str) -> &str {
    match name.rsplit_once(RERUN) {
        Some((base, k)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => name,
    }
}

/// Which rerun an execution is (0 for the first run).
fn rerun_number(name: &str) -> u32 {
    name.strip_prefix(run_base(name))
        .and_then(|rest| rest.strip_prefix(RERUN))
        .and_then(|k| k.parse().ok())
        .unwrap_or(0)
}

/// `instanceType`: 0 for a scheduled run, 2 for a manual one.
fn instance_type(name: &str) -> u8 {
    if name.starts_with(SCHEDULED_PREFIX) {
        0
    } else {
        2
    }
}

fn instance_summary(run: &ExecutionSummary) -> Value {
    let start = run.started_at.unwrap_or(run.created_at);
    let id: i64 = base_id(run.name.as_str()).parse().unwrap_or_default();
    json!({
        "jobName": run.flow_name.as_str(),
        "instanceId": id,
        "status": instance_status(run.status),
        "planTime": run.created_at,
        "submitTime": run.created_at,
        "startTime": start,
        "endTime": run.stopped_at,
        "executeTime": run.stopped_at.map(|end| (end - start) / 1000),
        "instanceType": instance_type(run.name.as_str()),
        "jobInstanceName": run.name.as_str(),
        "errorMessage": run.error.as_ref().map(|e| format!("{}: {}", e.code.as_str(), e.detail)),
    })
}

/// The statuses an instance status filter names (`fail` is a failure or a timeout).
fn statuses_of(name: &str) -> Option<Vec<Status>> {
    let all = [
        Status::Starting,
        Status::Running,
        Status::Succeeded,
        Status::Failed,
        Status::TimedOut,
        Status::Stopped,
    ];
    let named: Vec<Status> = all
        .into_iter()
        .filter(|s| instance_status(*s) == name)
        .collect();
    (!named.is_empty()).then_some(named)
}

/// DataArts instance statuses (§2.3); a stopped instance is `manual-stop`.
fn instance_status(status: Status) -> &'static str {
    match status {
        Status::Starting => "waiting",
        Status::Running => "running",
        Status::Succeeded => "success",
        Status::Failed | Status::TimedOut => "fail",
        Status::Stopped => "manual-stop",
    }
}

/// Each node of the job with the status of its latest run: `waiting` before it ran (or
/// `skip` if the instance ended first), `running`, `success`, `fail`, and `manual-stop` for
/// a node cut short by a stop.
fn node_statuses(flow: &FlowRecord, run: &ExecutionRecord, runs: &[StepRun]) -> Vec<Value> {
    let info = definition(flow);
    let empty = Vec::new();
    let nodes = info["nodes"].as_array().unwrap_or(&empty);
    nodes
        .iter()
        .map(|node| {
            let name = node["name"].as_str().unwrap_or_default();
            let latest = runs.iter().rev().find(|r| r.step == name);
            let retries = runs
                .iter()
                .filter(|r| r.step == name)
                .count()
                .saturating_sub(1);
            let status = match latest.map(|r| r.status) {
                None if run.status().is_terminal() => "skip",
                None => "waiting",
                Some(StepStatus::Succeeded) => "success",
                Some(StepStatus::Failed) => "fail",
                Some(StepStatus::Running) => match run.status() {
                    Status::Stopped => "manual-stop",
                    s if s.is_terminal() => "fail",
                    _ => "running",
                },
            };
            let mut entry = Map::new();
            entry.insert("nodeName".into(), name.into());
            entry.insert("type".into(), node["type"].clone());
            entry.insert("status".into(), status.into());
            entry.insert(
                "instanceId".into(),
                base_id(run.name.as_str())
                    .parse::<i64>()
                    .unwrap_or_default()
                    .into(),
            );
            entry.insert("planTime".into(), run.created_at.into());
            entry.insert("startTime".into(), latest.map(|r| r.entered_at).into());
            entry.insert(
                "endTime".into(),
                latest
                    .and_then(|r| r.left_at)
                    .or(run.state.stopped_at.filter(|_| latest.is_some()))
                    .into(),
            );
            entry.insert("retryTimes".into(), retries.into());
            Value::Object(entry)
        })
        .collect()
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
fn error(e: JobError) -> HuaweiError {
    let (status, code, message) = match e {
        JobError::JobNotFound(name) => (400, "DLF.0100", format!("The job does not exist: {name}")),
        JobError::InstanceNotFound => (400, "DLF.0137", "Job instance does not exist.".to_string()),
        JobError::NotRunning { instance, status } => (
            400,
            "DLF.3051",
            format!(
                "The request parameter is invalid: job instance {instance} is {status}; only a running instance can be stopped and only a finished one rerun"
            ),
        ),
        JobError::Service(e) => {
            let (status, code) = match &e {
                ServiceError::FlowNotFound(_) => (400, "DLF.0100"),
                ServiceError::FlowExists(_) => (400, "DLF.0102"),
                ServiceError::ExecutionNotFound { .. } => (400, "DLF.0137"),
                ServiceError::AccessDenied { .. } => (403, "DLF.6888"),
                ServiceError::Throttled => (429, "APIG.0308"),
                ServiceError::Internal(_) => (500, "DLF.0001"),
                ServiceError::InvalidDefinition(_) => (400, "DLF.3051"),
                _ => (400, "DLF.3051"),
            };
            (status, code, e.to_string())
        }
    };
    HuaweiError::new(SHAPE, status, code, message)
}
