//! CloudFlow's 29 actions as typed requests (spec §2.1, §3): one struct per action, fields
//! in snake_case. Decoding checks presence, types, ranges and lengths only; names, definitions
//! and payloads are the service's to judge, so the rules live in one place.

use serde_json::Value;
use sluice_service::views::ExecutionMode;
use sluice_service::views::{Millis, Status};

use super::error::CloudFlowError;
use super::params::Params;

/// The only API version served.
pub const VERSION: &str = "2019-03-15";

/// `Limit` of every listing: the SDK texts and META disagree (1–99, 1–999, 1–1000), so the
/// widest range is accepted (spec §2.2).
const LIMIT_RANGE: std::ops::RangeInclusive<u64> = 1..=1000;
const DEFAULT_LIMIT: u64 = 60;
/// `DescribeExecution` long-polls at most this long.
const MAX_WAIT_SECONDS: u64 = 60;
/// `Error` of StopExecution and ReportTaskFailed, in characters.
const ERROR_LENGTH: std::ops::RangeInclusive<usize> = 1..=128;
/// `Cause` of StopExecution and ReportTaskFailed, in characters.
const CAUSE_LENGTH: std::ops::RangeInclusive<usize> = 1..=4096;

/// A typed request decoded from its parameters.
pub trait FromParams: Sized {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError>;
}

/// Generates [`Request`] from the list of actions, so that a variant, its wire name, its
/// permission and its decoder cannot disagree. Each action's struct has the action's name.
macro_rules! requests {
    ($($action:ident),+ $(,)?) => {
        #[derive(Debug, Clone, PartialEq)]
        pub enum Request {
            $($action($action),)+
        }

        impl Request {
            /// Every action's wire name, in the order of spec §2.1.
            pub const ACTIONS: &[&str] = &[$(stringify!($action)),+];

            /// Every action's permission (`fnf:StopExecution`), in the same order.
            pub const PERMISSIONS: &[&str] = &[$(concat!("fnf:", stringify!($action))),+];

            fn decode_action(action: &str, p: &Params) -> Result<Request, CloudFlowError> {
                match action {
                    $(stringify!($action) => $action::from_params(p).map(Request::$action),)+
                    other => Err(CloudFlowError::action_not_supported(other)),
                }
            }

            /// The action's wire name (`StopExecution`).
            pub fn name(&self) -> &'static str {
                match self {
                    $(Request::$action(_) => stringify!($action),)+
                }
            }

            /// The permission a key needs for this request (`fnf:StopExecution`).
            pub fn permission(&self) -> &'static str {
                match self {
                    $(Request::$action(_) => concat!("fnf:", stringify!($action)),)+
                }
            }
        }
    };
}

requests! {
    CreateFlow,
    DescribeFlow,
    UpdateFlow,
    DeleteFlow,
    ListFlows,
    StartExecution,
    StartSyncExecution,
    DescribeExecution,
    ListExecutions,
    StopExecution,
    GetExecutionHistory,
    ReportTaskSucceeded,
    ReportTaskFailed,
    CreateSchedule,
    DescribeSchedule,
    UpdateSchedule,
    DeleteSchedule,
    ListSchedules,
    PublishFlowVersion,
    ListFlowVersions,
    DeleteFlowVersion,
    CreateFlowAlias,
    DescribeFlowAlias,
    UpdateFlowAlias,
    DeleteFlowAlias,
    ListFlowAliases,
    DescribeMapRun,
    UpdateMapRun,
    DescribeRegions,
}

impl Request {
    /// Checks the API version, then decodes the action's parameters. Signature parameters
    /// and extras (`RegionId`, `RequestId`, `Format`, …) are ignored.
    pub fn decode(p: &Params) -> Result<Request, CloudFlowError> {
        let version = p.required("Version")?;
        if version != VERSION {
            return Err(CloudFlowError::api_version_not_supported(&version));
        }
        Request::decode_action(&p.required("Action")?, p)
    }
}

/// `Limit` and `NextToken` of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub limit: usize,
    pub next_token: Option<String>,
}

impl FromParams for Page {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        let limit = p.int_in("Limit", LIMIT_RANGE, DEFAULT_LIMIT)?;
        Ok(Page {
            // At most 1000, so it fits every usize.
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            next_token: p.non_empty("NextToken"),
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateFlow {
    pub name: String,
    pub definition: String,
    /// Required by META, but clients omit it: absent is empty.
    pub description: String,
    pub execution_mode: ExecutionMode,
    pub role_arn: Option<String>,
    pub environment: Option<Value>,
    pub external_storage_location: Option<String>,
    pub resource_group_id: Option<String>,
}

impl FromParams for CreateFlow {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        p.required("Type")?;
        check_type(p)?;
        Ok(CreateFlow {
            name: p.required("Name")?,
            definition: p.required("Definition")?,
            description: p.optional("Description").unwrap_or_default(),
            execution_mode: execution_mode(p)?,
            role_arn: p.non_empty("RoleArn"),
            environment: p.json("Environment")?,
            external_storage_location: p.non_empty("ExternalStorageLocation"),
            resource_group_id: p.non_empty("ResourceGroupId"),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeFlow {
    pub name: String,
    pub flow_version: Option<String>,
}

impl FromParams for DescribeFlow {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(DescribeFlow {
            name: p.required("Name")?,
            flow_version: p.non_empty("FlowVersion"),
        })
    }
}

/// Absent fields are left unchanged; an empty `Description` clears it.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateFlow {
    pub name: String,
    pub definition: Option<String>,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    pub environment: Option<Value>,
}

impl FromParams for UpdateFlow {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        check_type(p)?;
        Ok(UpdateFlow {
            name: p.required("Name")?,
            definition: p.non_empty("Definition"),
            description: p.optional("Description"),
            role_arn: p.non_empty("RoleArn"),
            environment: p.json("Environment")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteFlow {
    pub name: String,
}

impl FromParams for DeleteFlow {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(DeleteFlow {
            name: p.required("Name")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFlows {
    pub page: Page,
    pub resource_group_id: Option<String>,
}

impl FromParams for ListFlows {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(ListFlows {
            page: Page::from_params(p)?,
            resource_group_id: p.non_empty("ResourceGroupId"),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartExecution {
    pub flow_name: String,
    pub execution_name: Option<String>,
    pub input: Option<String>,
    pub qualifier: Option<String>,
    pub callback_fnf_task_token: Option<String>,
}

impl FromParams for StartExecution {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(StartExecution {
            flow_name: p.required("FlowName")?,
            execution_name: p.non_empty("ExecutionName"),
            input: p.non_empty("Input"),
            qualifier: p.non_empty("Qualifier"),
            callback_fnf_task_token: p.non_empty("CallbackFnFTaskToken"),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartSyncExecution {
    pub flow_name: String,
    pub execution_name: Option<String>,
    pub input: Option<String>,
    pub qualifier: Option<String>,
}

impl FromParams for StartSyncExecution {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(StartSyncExecution {
            flow_name: p.required("FlowName")?,
            execution_name: p.non_empty("ExecutionName"),
            input: p.non_empty("Input"),
            qualifier: p.non_empty("Qualifier"),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeExecution {
    pub flow_name: String,
    pub execution_name: String,
    /// 0 answers at once; more long-polls until the execution ends.
    pub wait_time_seconds: u64,
}

impl FromParams for DescribeExecution {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(DescribeExecution {
            flow_name: p.required("FlowName")?,
            execution_name: p.required("ExecutionName")?,
            wait_time_seconds: p.int_in("WaitTimeSeconds", 0..=MAX_WAIT_SECONDS, 0)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListExecutions {
    pub flow_name: String,
    pub page: Page,
    pub status: Option<Status>,
    pub execution_name_prefix: Option<String>,
    pub started_time_begin: Option<Millis>,
    pub started_time_end: Option<Millis>,
    pub map_run_name: Option<String>,
    /// Leave out the large fields (definition, input, output).
    pub metadata_only: bool,
    pub qualifier: Option<String>,
}

impl FromParams for ListExecutions {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(ListExecutions {
            flow_name: p.required("FlowName")?,
            page: Page::from_params(p)?,
            status: status(p)?,
            execution_name_prefix: p.non_empty("ExecutionNamePrefix"),
            started_time_begin: p.time("StartedTimeBegin")?,
            started_time_end: p.time("StartedTimeEnd")?,
            map_run_name: p.non_empty("MapRunName"),
            metadata_only: p.bool("MetadataOnly")?.unwrap_or(false),
            qualifier: p.non_empty("Qualifier"),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StopExecution {
    pub flow_name: String,
    pub execution_name: String,
    pub error: Option<String>,
    pub cause: Option<String>,
}

impl FromParams for StopExecution {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(StopExecution {
            flow_name: p.required("FlowName")?,
            execution_name: p.required("ExecutionName")?,
            error: p.len_in("Error", ERROR_LENGTH)?,
            cause: p.len_in("Cause", CAUSE_LENGTH)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetExecutionHistory {
    pub flow_name: String,
    pub execution_name: String,
    pub page: Page,
}

impl FromParams for GetExecutionHistory {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(GetExecutionHistory {
            flow_name: p.required("FlowName")?,
            execution_name: p.required("ExecutionName")?,
            page: Page::from_params(p)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportTaskSucceeded {
    pub task_token: String,
    pub output: String,
}

impl FromParams for ReportTaskSucceeded {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(ReportTaskSucceeded {
            task_token: p.required("TaskToken")?,
            output: p.required("Output")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportTaskFailed {
    pub task_token: String,
    pub error: String,
    pub cause: Option<String>,
}

impl FromParams for ReportTaskFailed {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(ReportTaskFailed {
            task_token: p.required("TaskToken")?,
            error: p.required_len_in("Error", ERROR_LENGTH)?,
            cause: p.len_in("Cause", CAUSE_LENGTH)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateSchedule {
    pub flow_name: String,
    pub schedule_name: String,
    pub cron_expression: String,
    pub description: Option<String>,
    pub enable: Option<bool>,
    pub payload: Option<String>,
}

impl FromParams for CreateSchedule {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(CreateSchedule {
            flow_name: p.required("FlowName")?,
            schedule_name: p.required("ScheduleName")?,
            cron_expression: p.required("CronExpression")?,
            description: p.optional("Description"),
            enable: p.bool("Enable")?,
            payload: p.non_empty("Payload"),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeSchedule {
    pub flow_name: String,
    pub schedule_name: String,
}

impl FromParams for DescribeSchedule {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(DescribeSchedule {
            flow_name: p.required("FlowName")?,
            schedule_name: p.required("ScheduleName")?,
        })
    }
}

/// Absent fields are left unchanged; an empty `Description` or `Payload` clears it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateSchedule {
    pub flow_name: String,
    pub schedule_name: String,
    pub cron_expression: Option<String>,
    pub description: Option<String>,
    pub enable: Option<bool>,
    pub payload: Option<String>,
}

impl FromParams for UpdateSchedule {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(UpdateSchedule {
            flow_name: p.required("FlowName")?,
            schedule_name: p.required("ScheduleName")?,
            cron_expression: p.non_empty("CronExpression"),
            description: p.optional("Description"),
            enable: p.bool("Enable")?,
            payload: p.optional("Payload"),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteSchedule {
    pub flow_name: String,
    pub schedule_name: String,
}

impl FromParams for DeleteSchedule {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(DeleteSchedule {
            flow_name: p.required("FlowName")?,
            schedule_name: p.required("ScheduleName")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListSchedules {
    pub flow_name: String,
    pub page: Page,
}

impl FromParams for ListSchedules {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(ListSchedules {
            flow_name: p.required("FlowName")?,
            page: Page::from_params(p)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishFlowVersion {
    pub flow_name: String,
    pub description: Option<String>,
}

impl FromParams for PublishFlowVersion {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(PublishFlowVersion {
            flow_name: p.required("FlowName")?,
            description: p.optional("Description"),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFlowVersions {
    pub flow_name: String,
    pub page: Page,
}

impl FromParams for ListFlowVersions {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(ListFlowVersions {
            flow_name: p.required("FlowName")?,
            page: Page::from_params(p)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteFlowVersion {
    pub flow_name: String,
    pub flow_version: String,
}

impl FromParams for DeleteFlowVersion {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(DeleteFlowVersion {
            flow_name: p.required("FlowName")?,
            flow_version: p.required("FlowVersion")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CreateFlowAlias {
    pub flow_name: String,
    pub name: String,
    pub description: Option<String>,
    /// `[{"Version":"1","Weight":100}]`, judged by the service.
    pub routing_configurations: Value,
}

impl FromParams for CreateFlowAlias {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(CreateFlowAlias {
            flow_name: p.required("FlowName")?,
            name: p.required("Name")?,
            description: p.optional("Description"),
            routing_configurations: p
                .json("RoutingConfigurations")?
                .ok_or_else(|| CloudFlowError::missing("RoutingConfigurations"))?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeFlowAlias {
    pub flow_name: String,
    pub name: String,
}

impl FromParams for DescribeFlowAlias {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(DescribeFlowAlias {
            flow_name: p.required("FlowName")?,
            name: p.required("Name")?,
        })
    }
}

/// Absent fields are left unchanged.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateFlowAlias {
    pub flow_name: String,
    pub name: String,
    pub description: Option<String>,
    pub routing_configurations: Option<Value>,
}

impl FromParams for UpdateFlowAlias {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(UpdateFlowAlias {
            flow_name: p.required("FlowName")?,
            name: p.required("Name")?,
            description: p.optional("Description"),
            routing_configurations: p.json("RoutingConfigurations")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteFlowAlias {
    pub flow_name: String,
    pub name: String,
}

impl FromParams for DeleteFlowAlias {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(DeleteFlowAlias {
            flow_name: p.required("FlowName")?,
            name: p.required("Name")?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListFlowAliases {
    pub flow_name: String,
    pub page: Page,
}

impl FromParams for ListFlowAliases {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(ListFlowAliases {
            flow_name: p.required("FlowName")?,
            page: Page::from_params(p)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeMapRun {
    pub flow_name: String,
    pub execution_name: String,
    pub map_run_name: String,
}

impl FromParams for DescribeMapRun {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(DescribeMapRun {
            flow_name: p.required("FlowName")?,
            execution_name: p.required("ExecutionName")?,
            map_run_name: p.required("MapRunName")?,
        })
    }
}

/// Absent tuning values are left unchanged. The SDK sends this as a GET.
#[derive(Debug, Clone, PartialEq)]
pub struct UpdateMapRun {
    pub flow_name: String,
    pub execution_name: String,
    pub map_run_name: String,
    pub concurrency: Option<u64>,
    pub tolerated_failed_count: Option<u64>,
    pub tolerated_failed_percentage: Option<f64>,
}

impl FromParams for UpdateMapRun {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(UpdateMapRun {
            flow_name: p.required("FlowName")?,
            execution_name: p.required("ExecutionName")?,
            map_run_name: p.required("MapRunName")?,
            concurrency: p.optional_int_in("Concurrency", 1..=u64::from(u32::MAX))?,
            tolerated_failed_count: p
                .optional_int_in("ToleratedFailedCount", 0..=u64::from(u32::MAX))?,
            tolerated_failed_percentage: p
                .optional_number_in("ToleratedFailedPercentage", 0.0..=100.0)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DescribeRegions {
    pub accept_language: Option<String>,
}

impl FromParams for DescribeRegions {
    fn from_params(p: &Params) -> Result<Self, CloudFlowError> {
        Ok(DescribeRegions {
            accept_language: p.non_empty("AcceptLanguage"),
        })
    }
}

/// `Type` may be omitted on UpdateFlow, but when sent it must be `FDL`.
fn check_type(p: &Params) -> Result<(), CloudFlowError> {
    match p.non_empty("Type") {
        None => Ok(()),
        Some(t) if t == "FDL" => Ok(()),
        Some(other) => Err(CloudFlowError::invalid(format!(
            "The parameter 'Type' must be FDL, not {other:?}."
        ))),
    }
}

/// An empty `ExecutionMode` means Standard, for compatibility (spec §2.2).
fn execution_mode(p: &Params) -> Result<ExecutionMode, CloudFlowError> {
    match p.non_empty("ExecutionMode") {
        None => Ok(ExecutionMode::Standard),
        Some(text) => ExecutionMode::parse(&text).ok_or_else(|| {
            CloudFlowError::invalid(format!(
                "The parameter 'ExecutionMode' must be Standard or Express, not {text:?}."
            ))
        }),
    }
}

const STATUSES: [Status; 6] = [
    Status::Starting,
    Status::Running,
    Status::Stopped,
    Status::Succeeded,
    Status::Failed,
    Status::TimedOut,
];

fn status(p: &Params) -> Result<Option<Status>, CloudFlowError> {
    let Some(text) = p.non_empty("Status") else {
        return Ok(None);
    };
    STATUSES
        .into_iter()
        .find(|s| s.as_str() == text)
        .map(Some)
        .ok_or_else(|| {
            CloudFlowError::invalid(format!(
                "The parameter 'Status' must be one of Starting, Running, Stopped, Succeeded, Failed, TimedOut, not {text:?}."
            ))
        })
}

#[cfg(test)]
mod tests;
