//! Instances: how an execution's name carries the instance id (and the rerun), and the
//! instance and node shapes DataArts answers with.

use serde_json::{Map, Value, json};
use sluice_service::views::{ExecutionSummary, ExecutionView, FlowView, Status};
use sluice_service::{StepRun, StepStatus};

use super::{MANUAL_PREFIX, RERUN, SCHEDULED_PREFIX, definition};
use crate::huawei::StatusWords;

/// Instance ids are numbers, unique per job: the time in microseconds (a run per microsecond
/// is plenty; a collision draws again).
pub(super) fn new_instance_id() -> i64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_micros())
        .unwrap_or_default();
    i64::try_from(now).unwrap_or(i64::MAX)
}

/// The instance id an execution name carries (see the name constants).
pub(super) fn base_id(name: &str) -> &str {
    let name = run_base(name);
    name.strip_prefix(SCHEDULED_PREFIX)
        .or_else(|| name.strip_prefix(MANUAL_PREFIX))
        .unwrap_or(name)
}

/// The execution name of an instance's first run.
pub(super) fn run_base(name: &str) -> &str {
    match name.rsplit_once(RERUN) {
        Some((base, k)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => base,
        _ => name,
    }
}

/// Which rerun an execution is (0 for the first run).
pub(super) fn rerun_number(name: &str) -> u32 {
    name.strip_prefix(run_base(name))
        .and_then(|rest| rest.strip_prefix(RERUN))
        .and_then(|k| k.parse().ok())
        .unwrap_or(0)
}

/// `instanceType`: 0 for a scheduled run, 2 for a manual one.
pub(super) fn instance_type(name: &str) -> u8 {
    if name.starts_with(SCHEDULED_PREFIX) {
        0
    } else {
        2
    }
}

pub(super) fn instance_summary(run: &ExecutionSummary) -> Value {
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
pub(super) fn statuses_of(name: &str) -> Option<Vec<Status>> {
    let named = INSTANCE_STATUSES.named(name);
    (!named.is_empty()).then_some(named)
}

/// DataArts instance statuses (§2.3); a stopped instance is `manual-stop`.
const INSTANCE_STATUSES: StatusWords = StatusWords([
    "waiting",
    "running",
    "success",
    "fail",
    "fail",
    "manual-stop",
]);

pub(super) fn instance_status(status: Status) -> &'static str {
    INSTANCE_STATUSES.word(status)
}

/// Each node of the job with the status of its latest run: `waiting` before it ran (or
/// `skip` if the instance ended first), `running`, `success`, `fail`, and `manual-stop` for
/// a node cut short by a stop.
pub(super) fn node_statuses(flow: &FlowView, run: &ExecutionView, runs: &[StepRun]) -> Vec<Value> {
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
                None if run.status.is_terminal() => "skip",
                None => "waiting",
                Some(StepStatus::Succeeded) => "success",
                Some(StepStatus::Failed) => "fail",
                Some(StepStatus::Running) => match run.status {
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
                    .or(run.stopped_at.filter(|_| latest.is_some()))
                    .into(),
            );
            entry.insert("retryTimes".into(), retries.into());
            Value::Object(entry)
        })
        .collect()
}
