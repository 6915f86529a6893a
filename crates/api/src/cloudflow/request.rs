//! CloudFlow's actions as typed requests (spec §2.1, §3). Decoding checks presence, types,
//! ranges and lengths; names and payloads are the service's to judge.

use serde_json::Value;
use sluice_engine::{Millis, Status};
use sluice_store::ExecutionMode;

use super::error::{CloudFlowError, Code};
use super::params::Params;

/// The only API version served.
pub const VERSION: &str = "2019-03-15";

/// `Limit` of every listing: CloudFlow documents 1–1000 with a default of 60.
const LIMIT: (u64, u64, u64) = (1, 1000, 60);

#[derive(Debug, Clone, PartialEq)]
pub enum Request {
    CreateFlow(CreateFlow),
    DescribeFlow(FlowRef),
    UpdateFlow(UpdateFlow),
    DeleteFlow(FlowRef),
    ListFlows(Page),
    StartExecution(Start),
    StartSyncExecution(Start),
    DescribeExecution(DescribeExecution),
    StopExecution(StopExecution),
    ListExecutions(ListExecutions),
    GetExecutionHistory(GetExecutionHistory),
    ReportTaskSucceeded(ReportTaskSucceeded),
    ReportTaskFailed(ReportTaskFailed),
    CreateSchedule(Schedule),
    DescribeSchedule(ScheduleRef),
    UpdateSchedule(Schedule),
    DeleteSchedule(ScheduleRef),
    ListSchedules(FlowPage),
    PublishFlowVersion(PublishFlowVersion),
    ListFlowVersions(FlowPage),
    DeleteFlowVersion(DeleteFlowVersion),
    CreateFlowAlias(Alias),
    DescribeFlowAlias(AliasRef),
    UpdateFlowAlias(Alias),
    DeleteFlowAlias(AliasRef),
    ListFlowAliases(FlowPage),
    DescribeRegions,
    DescribeMapRun,
    UpdateMapRun,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateFlow {
    pub name: String,
    pub definition: String,
    pub description: String,
    pub role_arn: Option<String>,
    pub execution_mode: ExecutionMode,
    pub environment: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct UpdateFlow {
    pub name: String,
    pub definition: Option<String>,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    pub environment: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FlowRef {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub limit: usize,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FlowPage {
    pub flow_name: String,
    pub limit: usize,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Start {
    pub flow_name: String,
    pub execution_name: Option<String>,
    pub input: Option<String>,
    pub qualifier: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DescribeExecution {
    pub flow_name: String,
    pub execution_name: String,
    pub wait_time_seconds: u64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct StopExecution {
    pub flow_name: String,
    pub execution_name: String,
    pub error: Option<String>,
    pub cause: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ListExecutions {
    pub flow_name: String,
    pub limit: usize,
    pub next_token: Option<String>,
    pub status: Option<Status>,
    pub execution_name_prefix: Option<String>,
    pub started_time_begin: Option<Millis>,
    pub started_time_end: Option<Millis>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct GetExecutionHistory {
    pub flow_name: String,
    pub execution_name: String,
    pub limit: usize,
    pub next_token: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReportTaskSucceeded {
    pub task_token: String,
    pub output: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ReportTaskFailed {
    pub task_token: String,
    pub error: String,
    pub cause: Option<String>,
}

/// CreateSchedule (expression required) and UpdateSchedule (everything optional).
#[derive(Debug, Clone, PartialEq)]
pub struct Schedule {
    pub flow_name: String,
    pub schedule_name: String,
    pub cron_expression: Option<String>,
    pub payload: Option<String>,
    pub description: Option<String>,
    pub enable: Option<bool>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleRef {
    pub flow_name: String,
    pub schedule_name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PublishFlowVersion {
    pub flow_name: String,
    pub description: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct DeleteFlowVersion {
    pub flow_name: String,
    pub flow_version: String,
}

/// CreateFlowAlias (routing required) and UpdateFlowAlias.
#[derive(Debug, Clone, PartialEq)]
pub struct Alias {
    pub flow_name: String,
    pub name: String,
    pub description: Option<String>,
    pub routing_configurations: Option<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct AliasRef {
    pub flow_name: String,
    pub name: String,
}

impl Request {
    pub fn decode(p: &Params) -> Result<Request, CloudFlowError> {
        let version = p.required("Version")?;
        if version != VERSION {
            return Err(CloudFlowError::new(
                Code::ApiVersionNotSupported,
                format!(
                    "The requested API version '{version}' is not supported yet. Please check."
                ),
            ));
        }
        let action = p.required("Action")?;
        Ok(match action.as_str() {
            "CreateFlow" => Request::CreateFlow(create_flow(p)?),
            "DescribeFlow" => Request::DescribeFlow(flow_ref(p)?),
            "UpdateFlow" => Request::UpdateFlow(update_flow(p)?),
            "DeleteFlow" => Request::DeleteFlow(flow_ref(p)?),
            "ListFlows" => Request::ListFlows(Page {
                limit: limit(p)?,
                next_token: p.optional("NextToken"),
            }),
            "StartExecution" => Request::StartExecution(start(p)?),
            "StartSyncExecution" => Request::StartSyncExecution(start(p)?),
            "DescribeExecution" => Request::DescribeExecution(DescribeExecution {
                flow_name: p.required("FlowName")?,
                execution_name: p.required("ExecutionName")?,
                wait_time_seconds: p.int_in("WaitTimeSeconds", 0..=60, 0)?,
            }),
            "StopExecution" => Request::StopExecution(StopExecution {
                flow_name: p.required("FlowName")?,
                execution_name: p.required("ExecutionName")?,
                error: p.text_in("Error", 1..=128)?,
                cause: p.text_in("Cause", 1..=4096)?,
            }),
            "ListExecutions" => Request::ListExecutions(list_executions(p)?),
            "GetExecutionHistory" => Request::GetExecutionHistory(GetExecutionHistory {
                flow_name: p.required("FlowName")?,
                execution_name: p.required("ExecutionName")?,
                limit: limit(p)?,
                next_token: p.optional("NextToken"),
            }),
            "ReportTaskSucceeded" => Request::ReportTaskSucceeded(ReportTaskSucceeded {
                task_token: p.required("TaskToken")?,
                output: p.required("Output")?,
            }),
            "ReportTaskFailed" => Request::ReportTaskFailed(ReportTaskFailed {
                task_token: p.required("TaskToken")?,
                error: p
                    .text_in("Error", 1..=128)?
                    .ok_or_else(|| CloudFlowError::missing("Error"))?,
                cause: p.text_in("Cause", 1..=4096)?,
            }),
            "CreateSchedule" => {
                p.required("CronExpression")?;
                Request::CreateSchedule(schedule(p)?)
            }
            "DescribeSchedule" => Request::DescribeSchedule(schedule_ref(p)?),
            "UpdateSchedule" => Request::UpdateSchedule(schedule(p)?),
            "DeleteSchedule" => Request::DeleteSchedule(schedule_ref(p)?),
            "ListSchedules" => Request::ListSchedules(flow_page(p)?),
            "PublishFlowVersion" => Request::PublishFlowVersion(PublishFlowVersion {
                flow_name: p.required("FlowName")?,
                description: p.optional("Description"),
            }),
            "ListFlowVersions" => Request::ListFlowVersions(flow_page(p)?),
            "DeleteFlowVersion" => Request::DeleteFlowVersion(DeleteFlowVersion {
                flow_name: p.required("FlowName")?,
                flow_version: p.required("FlowVersion")?,
            }),
            "CreateFlowAlias" => {
                p.required("RoutingConfigurations")?;
                Request::CreateFlowAlias(alias(p)?)
            }
            "DescribeFlowAlias" => Request::DescribeFlowAlias(alias_ref(p)?),
            "UpdateFlowAlias" => Request::UpdateFlowAlias(alias(p)?),
            "DeleteFlowAlias" => Request::DeleteFlowAlias(alias_ref(p)?),
            "ListFlowAliases" => Request::ListFlowAliases(flow_page(p)?),
            "DescribeRegions" => Request::DescribeRegions,
            "DescribeMapRun" => Request::DescribeMapRun,
            "UpdateMapRun" => Request::UpdateMapRun,
            other => return Err(CloudFlowError::action_not_supported(other)),
        })
    }

    /// The permission a key needs for this request (`fnf:StopExecution`).
    pub fn action(&self) -> &'static str {
        match self {
            Request::CreateFlow(_) => "fnf:CreateFlow",
            Request::DescribeFlow(_) => "fnf:DescribeFlow",
            Request::UpdateFlow(_) => "fnf:UpdateFlow",
            Request::DeleteFlow(_) => "fnf:DeleteFlow",
            Request::ListFlows(_) => "fnf:ListFlows",
            Request::StartExecution(_) => "fnf:StartExecution",
            Request::StartSyncExecution(_) => "fnf:StartSyncExecution",
            Request::DescribeExecution(_) => "fnf:DescribeExecution",
            Request::StopExecution(_) => "fnf:StopExecution",
            Request::ListExecutions(_) => "fnf:ListExecutions",
            Request::GetExecutionHistory(_) => "fnf:GetExecutionHistory",
            Request::ReportTaskSucceeded(_) => "fnf:ReportTaskSucceeded",
            Request::ReportTaskFailed(_) => "fnf:ReportTaskFailed",
            Request::CreateSchedule(_) => "fnf:CreateSchedule",
            Request::DescribeSchedule(_) => "fnf:DescribeSchedule",
            Request::UpdateSchedule(_) => "fnf:UpdateSchedule",
            Request::DeleteSchedule(_) => "fnf:DeleteSchedule",
            Request::ListSchedules(_) => "fnf:ListSchedules",
            Request::PublishFlowVersion(_) => "fnf:PublishFlowVersion",
            Request::ListFlowVersions(_) => "fnf:ListFlowVersions",
            Request::DeleteFlowVersion(_) => "fnf:DeleteFlowVersion",
            Request::CreateFlowAlias(_) => "fnf:CreateFlowAlias",
            Request::DescribeFlowAlias(_) => "fnf:DescribeFlowAlias",
            Request::UpdateFlowAlias(_) => "fnf:UpdateFlowAlias",
            Request::DeleteFlowAlias(_) => "fnf:DeleteFlowAlias",
            Request::ListFlowAliases(_) => "fnf:ListFlowAliases",
            Request::DescribeRegions => "fnf:DescribeRegions",
            Request::DescribeMapRun => "fnf:DescribeMapRun",
            Request::UpdateMapRun => "fnf:UpdateMapRun",
        }
    }
}

fn limit(p: &Params) -> Result<usize, CloudFlowError> {
    let (min, max, default) = LIMIT;
    Ok(usize::try_from(p.int_in("Limit", min..=max, default)?).unwrap_or(60))
}

fn flow_type(p: &Params) -> Result<(), CloudFlowError> {
    match p.optional("Type").as_deref() {
        None | Some("FDL") => Ok(()),
        Some(other) => Err(CloudFlowError::invalid(format!(
            "Type must be FDL, not {other:?}"
        ))),
    }
}

fn create_flow(p: &Params) -> Result<CreateFlow, CloudFlowError> {
    p.required("Type")?;
    flow_type(p)?;
    let execution_mode = match p.optional("ExecutionMode").as_deref() {
        None | Some("") | Some("Standard") => ExecutionMode::Standard,
        Some("Express") => ExecutionMode::Express,
        Some(other) => {
            return Err(CloudFlowError::invalid(format!(
                "ExecutionMode must be Standard or Express, not {other:?}"
            )));
        }
    };
    Ok(CreateFlow {
        name: p.required("Name")?,
        definition: p.required("Definition")?,
        description: p.optional("Description").unwrap_or_default(),
        role_arn: p.optional("RoleArn").filter(|r| !r.is_empty()),
        execution_mode,
        environment: p.json("Environment")?,
    })
}

fn update_flow(p: &Params) -> Result<UpdateFlow, CloudFlowError> {
    flow_type(p)?;
    Ok(UpdateFlow {
        name: p.required("Name")?,
        definition: p.optional("Definition").filter(|d| !d.is_empty()),
        description: p.optional("Description"),
        role_arn: p.optional("RoleArn").filter(|r| !r.is_empty()),
        environment: p.json("Environment")?,
    })
}

fn flow_ref(p: &Params) -> Result<FlowRef, CloudFlowError> {
    Ok(FlowRef {
        name: p.required("Name")?,
    })
}

fn flow_page(p: &Params) -> Result<FlowPage, CloudFlowError> {
    Ok(FlowPage {
        flow_name: p.required("FlowName")?,
        limit: limit(p)?,
        next_token: p.optional("NextToken"),
    })
}

fn start(p: &Params) -> Result<Start, CloudFlowError> {
    Ok(Start {
        flow_name: p.required("FlowName")?,
        execution_name: p.optional("ExecutionName").filter(|n| !n.is_empty()),
        input: p.optional("Input"),
        qualifier: p.optional("Qualifier").filter(|q| !q.is_empty()),
    })
}

fn list_executions(p: &Params) -> Result<ListExecutions, CloudFlowError> {
    let status = match p.optional("Status").filter(|s| !s.is_empty()) {
        None => None,
        Some(text) => Some(status(&text)?),
    };
    Ok(ListExecutions {
        flow_name: p.required("FlowName")?,
        limit: limit(p)?,
        next_token: p.optional("NextToken").filter(|t| !t.is_empty()),
        status,
        execution_name_prefix: p.optional("ExecutionNamePrefix").filter(|t| !t.is_empty()),
        started_time_begin: p.time("StartedTimeBegin")?,
        started_time_end: p.time("StartedTimeEnd")?,
    })
}

fn status(text: &str) -> Result<Status, CloudFlowError> {
    [Status::Starting, Status::Running, Status::Stopped, Status::Succeeded, Status::Failed, Status::TimedOut]
        .into_iter()
        .find(|s| s.as_str() == text)
        .ok_or_else(|| {
            CloudFlowError::invalid(format!(
                "Status must be one of Starting, Running, Stopped, Succeeded, Failed, TimedOut, not {text:?}"
            ))
        })
}

fn schedule(p: &Params) -> Result<Schedule, CloudFlowError> {
    Ok(Schedule {
        flow_name: p.required("FlowName")?,
        schedule_name: p.required("ScheduleName")?,
        cron_expression: p.optional("CronExpression").filter(|c| !c.is_empty()),
        payload: p.optional("Payload"),
        description: p.optional("Description"),
        enable: p.bool("Enable")?,
    })
}

fn schedule_ref(p: &Params) -> Result<ScheduleRef, CloudFlowError> {
    Ok(ScheduleRef {
        flow_name: p.required("FlowName")?,
        schedule_name: p.required("ScheduleName")?,
    })
}

fn alias(p: &Params) -> Result<Alias, CloudFlowError> {
    Ok(Alias {
        flow_name: p.required("FlowName")?,
        name: p.required("Name")?,
        description: p.optional("Description"),
        routing_configurations: p.json("RoutingConfigurations")?,
    })
}

fn alias_ref(p: &Params) -> Result<AliasRef, CloudFlowError> {
    Ok(AliasRef {
        flow_name: p.required("FlowName")?,
        name: p.required("Name")?,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn decode(query: &str) -> Result<Request, CloudFlowError> {
        Request::decode(&Params::decode(Some(query), None, b""))
    }

    #[test]
    fn actions_decode_into_typed_requests() {
        let stop = decode(
            "Version=2019-03-15&Action=StopExecution&FlowName=f&ExecutionName=e&Error=Manual",
        )
        .expect("decodes");
        assert_eq!(
            stop,
            Request::StopExecution(StopExecution {
                flow_name: "f".into(),
                execution_name: "e".into(),
                error: Some("Manual".into()),
                cause: None,
            })
        );
        assert_eq!(stop.action(), "fnf:StopExecution");
        let list =
            decode("Version=2019-03-15&Action=ListExecutions&FlowName=f&Status=Running&Limit=5")
                .expect("list");
        assert!(
            matches!(list, Request::ListExecutions(l) if l.limit == 5 && l.status == Some(Status::Running))
        );
        let create = decode("Version=2019-03-15&Action=CreateFlow&Name=f&Definition=d&Type=FDL&ExecutionMode=Express")
            .expect("create");
        assert!(
            matches!(create, Request::CreateFlow(c) if c.execution_mode == ExecutionMode::Express)
        );
    }

    #[test]
    fn bad_requests_get_the_right_codes() {
        let code = |q: &str| decode(q).expect_err("refused").code;
        assert_eq!(
            code("Version=2020-01-01&Action=ListFlows"),
            Code::ApiVersionNotSupported
        );
        assert_eq!(
            code("Version=2019-03-15&Action=Explode"),
            Code::ActionNotSupported
        );
        assert_eq!(
            code("Version=2019-03-15&Action=StopExecution&FlowName=f"),
            Code::MissingRequiredParams
        );
        assert_eq!(
            code("Version=2019-03-15&Action=ListFlows&Limit=0"),
            Code::InvalidArgument
        );
        assert_eq!(
            code(
                "Version=2019-03-15&Action=DescribeExecution&FlowName=f&ExecutionName=e&WaitTimeSeconds=61"
            ),
            Code::InvalidArgument
        );
        assert_eq!(
            code("Version=2019-03-15&Action=CreateFlow&Name=f&Definition=d&Type=YAML"),
            Code::InvalidArgument
        );
        assert_eq!(
            code("Version=2019-03-15&Action=ListExecutions&FlowName=f&Status=Done"),
            Code::InvalidArgument
        );
        let long_error = format!(
            "Version=2019-03-15&Action=StopExecution&FlowName=f&ExecutionName=e&Error={}",
            "x".repeat(129)
        );
        assert_eq!(code(&long_error), Code::InvalidArgument);
    }

    proptest! {
        #[test]
        fn arbitrary_requests_never_panic(query in ".{0,200}", body in proptest::collection::vec(any::<u8>(), 0..200)) {
            let params = Params::decode(Some(&query), Some("application/x-www-form-urlencoded"), &body);
            let _ = Request::decode(&params);
            let _ = crate::signature::alibaba::verify("POST", params.all(), |_| Some("s".into()), jiff::Timestamp::now());
        }
    }
}
