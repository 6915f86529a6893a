//! Distributed Map runs (`ListMapRuns`, `DescribeMapRun`, `UpdateMapRun`, and
//! `ListExecutions` of a run's children) in AWS's shapes, over the service's map runs
//! (`crates/service/src/map_runs.rs`). A run is named by
//! `…:mapRun:MACHINE/LABEL:ID` (`ID` the engine's run name, `LABEL` the Map's `Label`, its
//! state name without one), its children by `…:execution:MACHINE/LABEL:NAME`.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};
use sluice_service::views::ExecutionFilter;
use sluice_service::{
    Listing, MapRunChanges, MapRunStatus, MapRunSummary, page_cursor, page_token,
};

use super::actions::{Actions, Reply, invalid_token, of_execution, with_next};
use super::error::SfnError;
use super::render;
use super::request::{ListExecutions, Paging, Validate, required};
use crate::paging::page;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ListMapRuns {
    pub execution_arn: Option<String>,
    pub max_results: Option<i64>,
    pub next_token: Option<String>,
}

impl ListMapRuns {
    fn paging(&self) -> Paging {
        Paging {
            max_results: self.max_results,
            next_token: self.next_token.clone(),
        }
    }
}

impl Validate for ListMapRuns {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.execution_arn, "executionArn")?;
        self.paging().validate()
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MapRunRef {
    pub map_run_arn: Option<String>,
}

impl Validate for MapRunRef {
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.map_run_arn, "mapRunArn")
    }
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateMapRun {
    pub map_run_arn: Option<String>,
    pub max_concurrency: Option<i64>,
    pub tolerated_failure_percentage: Option<f64>,
    pub tolerated_failure_count: Option<i64>,
}

impl Validate for UpdateMapRun {
    /// AWS's constraints: `maxConcurrency` and `toleratedFailureCount` at least 0, the
    /// percentage from 0 to 100, and something to change.
    fn validate(&self) -> Result<(), SfnError> {
        required(&self.map_run_arn, "mapRunArn")?;
        let negative = |member: &str, value: Option<i64>| match value {
            Some(n) if n < 0 => Err(SfnError::validation(format!(
                "1 validation error detected: Value '{n}' at '{member}' failed to satisfy constraint: Member must have value greater than or equal to 0"
            ))),
            _ => Ok(()),
        };
        negative("maxConcurrency", self.max_concurrency)?;
        negative("toleratedFailureCount", self.tolerated_failure_count)?;
        if let Some(p) = self.tolerated_failure_percentage
            && !(0.0..=100.0).contains(&p)
        {
            return Err(SfnError::validation(format!(
                "1 validation error detected: Value '{p}' at 'toleratedFailurePercentage' failed to satisfy constraint: Member must have value less than or equal to 100 and greater than or equal to 0"
            )));
        }
        if self.max_concurrency.is_none()
            && self.tolerated_failure_percentage.is_none()
            && self.tolerated_failure_count.is_none()
        {
            return Err(SfnError::validation(
                "At least one of maxConcurrency, toleratedFailurePercentage or toleratedFailureCount must be specified",
            ));
        }
        Ok(())
    }
}

/// A map run as a request names it: its state machine, label and run name.
struct RunArn {
    machine: String,
    label: String,
    id: String,
}

impl Actions<'_> {
    pub(super) async fn list_map_runs(&self, r: ListMapRuns) -> Reply {
        let (machine, name) = self
            .arns
            .execution_names(r.execution_arn.as_deref().unwrap_or(""))?;
        let paging = r.paging();
        let limit = paging.limit();
        let after = paging
            .next_token
            .as_deref()
            .map(|t| page_cursor(Listing::MapRuns, t).map_err(invalid_token))
            .transpose()?;
        let (execution, runs) = self
            .service
            .list_map_runs(self.caller, &machine, &name, after.as_deref(), limit + 1)
            .await
            .map_err(|e| of_execution(e, &machine, &name))?;
        let labels = self.labels(&machine, &name).await;
        let (runs, next) = page(runs, limit, |run| page_token(Listing::MapRuns, &run.name));
        let execution_arn = self.arns.execution(&machine, execution.name.as_str());
        let items: Vec<Value> = runs
            .iter()
            .map(|run| {
                let label = label_of(&labels, run);
                let mut item = json!({
                    "executionArn": execution_arn,
                    "mapRunArn": self.arns.map_run(&machine, label, &run.name),
                    "stateMachineArn": self.arns.machine(&format!("{machine}/{label}")),
                    "startDate": render::seconds(run.started_at),
                });
                if let Some(stopped) = run.stopped_at {
                    item["stopDate"] = json!(render::seconds(stopped));
                }
                item
            })
            .collect();
        Ok(with_next(json!({"mapRuns": items}), next))
    }

    pub(super) async fn describe_map_run(&self, r: MapRunRef) -> Reply {
        let arn = r.map_run_arn.unwrap_or_default();
        let run = self.arns.map_run_of(&arn).map(run_arn)?;
        let execution = self
            .service
            .map_run_execution(self.caller, &run.machine, &run.id)
            .await?;
        let (parent, summary) = self
            .service
            .describe_map_run(self.caller, &run.machine, &execution, &run.id)
            .await?;
        let execution_arn = self.arns.execution(&run.machine, parent.name.as_str());
        Ok(map_run_body(&arn, &execution_arn, &summary))
    }

    /// AWS answers an update with an empty body.
    pub(super) async fn update_map_run(&self, r: UpdateMapRun) -> Reply {
        let run = self
            .arns
            .map_run_of(r.map_run_arn.as_deref().unwrap_or(""))
            .map(run_arn)?;
        let execution = self
            .service
            .map_run_execution(self.caller, &run.machine, &run.id)
            .await?;
        // In range, checked by `validate`.
        let bound = |n: i64| u32::try_from(n).unwrap_or(u32::MAX);
        let changes = MapRunChanges {
            max_concurrency: r.max_concurrency.map(bound),
            tolerated_count: r.tolerated_failure_count.map(bound),
            tolerated_percentage: r.tolerated_failure_percentage,
        };
        self.service
            .update_map_run(self.caller, &run.machine, &execution, &run.id, changes)
            .await?;
        Ok(json!({}))
    }

    /// `ListExecutions` with `mapRunArn`: the run's child executions, newest first.
    pub(super) async fn list_children(&self, r: &ListExecutions, arn: &str) -> Reply {
        let run = self.arns.map_run_of(arn).map(run_arn)?;
        // The run must exist: an unknown one is not an empty listing.
        self.service
            .map_run_execution(self.caller, &run.machine, &run.id)
            .await?;
        let filter = ExecutionFilter {
            map_run: Some(run.id.clone()),
            ..ExecutionFilter::default()
        };
        let (children, next) = self.execution_listing(r, &run.machine, filter).await?;
        let path = format!("{}/{}", run.machine, run.label);
        let items: Vec<Value> = children
            .iter()
            .map(|child| {
                let mut item = render::execution_item(child, self.arns);
                item["executionArn"] = json!(self.arns.execution(&path, child.name.as_str()));
                item["stateMachineArn"] = json!(self.arns.machine(&path));
                item["mapRunArn"] = json!(arn);
                item
            })
            .collect();
        Ok(with_next(json!({"executions": items}), next))
    }

    /// The labels of the distributed Maps of the definition execution `name` runs (none if
    /// it has gone since its runs were read: each run is then named by its state).
    async fn labels(&self, machine: &str, name: &str) -> HashMap<String, String> {
        let described = self
            .service
            .describe_execution(self.caller, machine, name, std::time::Duration::ZERO)
            .await;
        let Ok((flow, execution)) = described else {
            return HashMap::new();
        };
        let definition = self.service.execution_definition(&flow, &execution).await;
        labels(&definition.unwrap_or_default())
    }
}

fn run_arn((machine, label, id): (String, String, String)) -> RunArn {
    RunArn { machine, label, id }
}

/// The label of `run` in its map run ARN.
pub(super) fn label_of<'a>(labels: &'a HashMap<String, String>, run: &'a MapRunSummary) -> &'a str {
    labels
        .get(run.state.as_str())
        .map_or(run.state.as_str(), String::as_str)
}

/// Each Map state's `Label`, by state name, at any depth of `definition`.
pub(super) fn labels(definition: &str) -> HashMap<String, String> {
    fn collect(scope: &Value, labels: &mut HashMap<String, String>) {
        let Some(states) = scope.get("States").and_then(Value::as_object) else {
            return;
        };
        for (name, state) in states {
            if let Some(label) = state.get("Label").and_then(Value::as_str) {
                labels.insert(name.clone(), label.to_string());
            }
            let branches = state.get("Branches").and_then(Value::as_array);
            for scope in branches.into_iter().flatten() {
                collect(scope, labels);
            }
            for key in ["ItemProcessor", "Iterator"] {
                if let Some(scope) = state.get(key) {
                    collect(scope, labels);
                }
            }
        }
    }
    let mut labels = HashMap::new();
    if let Ok(root) = serde_json::from_str::<Value>(definition) {
        collect(&root, &mut labels);
    }
    labels
}

/// `DescribeMapRun`'s body. A child is an item (or a batch of them): both counts are the
/// children's, the executions' without those not started yet (an ended run keeps one count
/// of aborted children, started or not: both show it); nothing here writes results elsewhere
/// or is redriven apart from its parent.
fn map_run_body(arn: &str, execution_arn: &str, run: &MapRunSummary) -> Value {
    let status = match run.status {
        MapRunStatus::Running => "RUNNING",
        MapRunStatus::Succeeded => "SUCCEEDED",
        MapRunStatus::Failed => "FAILED",
        MapRunStatus::Aborted => "ABORTED",
    };
    let started = run.total.saturating_sub(run.pending);
    let counts = |pending: u32, total: u32, aborted: u32| {
        json!({
            "pending": pending,
            "running": run.running,
            "succeeded": run.succeeded,
            "failed": run.failed,
            "timedOut": 0,
            "aborted": aborted,
            "total": total,
            "resultsWritten": 0,
            "failuresNotRedrivable": 0,
            "pendingRedrive": 0,
        })
    };
    let mut body = json!({
        "mapRunArn": arn,
        "executionArn": execution_arn,
        "status": status,
        "startDate": render::seconds(run.started_at),
        "maxConcurrency": run.max_concurrency,
        "toleratedFailurePercentage": run.tolerated.percentage.unwrap_or(0.0),
        "toleratedFailureCount": run.tolerated.count.unwrap_or(0),
        "itemCounts": counts(run.pending, run.total, run.aborted),
        "executionCounts": counts(0, started, run.aborted),
        "redriveCount": 0,
    });
    if let Some(stopped) = run.stopped_at {
        body["stopDate"] = json!(render::seconds(stopped));
    }
    body
}

#[cfg(test)]
mod tests {
    use sluice_ir::{StateName, ToleratedFailures};

    use super::*;

    #[test]
    fn labels_are_read_at_any_depth_and_default_to_the_state_name() {
        let definition = r#"{"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true,
            "Branches": [{"StartAt": "M", "States": {"M": {"Type": "Map", "Label": "Ship",
            "ItemProcessor": {"StartAt": "N", "States": {"N": {"Type": "Map", "End": true}}},
            "End": true}}}]}}}"#;
        let labels = labels(definition);
        assert_eq!(labels, HashMap::from([("M".into(), "Ship".into())]));
        let mut run = summary(MapRunStatus::Running);
        assert_eq!(label_of(&labels, &run), "Ship");
        run.state = StateName::new("N");
        assert_eq!(label_of(&labels, &run), "N");
        assert!(super::labels("not json").is_empty());
    }

    fn summary(status: MapRunStatus) -> MapRunSummary {
        MapRunSummary {
            name: "0af1".into(),
            state: StateName::new("M"),
            status,
            started_at: 1_500,
            stopped_at: None,
            max_concurrency: 2,
            tolerated: ToleratedFailures {
                count: None,
                percentage: Some(12.5),
            },
            total: 10,
            pending: 6,
            running: 2,
            succeeded: 1,
            failed: 1,
            aborted: 0,
        }
    }

    #[test]
    fn a_running_and_an_aborted_run_in_awss_shape() {
        let body = map_run_body("arn:r", "arn:e", &summary(MapRunStatus::Running));
        assert_eq!(body["status"], "RUNNING");
        assert_eq!(body["startDate"], 1.5);
        assert_eq!(
            (
                &body["maxConcurrency"],
                &body["toleratedFailurePercentage"],
                &body["toleratedFailureCount"]
            ),
            (&json!(2), &json!(12.5), &json!(0))
        );
        assert_eq!(body["itemCounts"]["pending"], 6);
        assert_eq!(body["itemCounts"]["total"], 10);
        assert_eq!(body["executionCounts"]["total"], 4);
        assert_eq!(body["executionCounts"]["running"], 2);
        assert!(body.get("stopDate").is_none());

        let mut stopped = summary(MapRunStatus::Aborted);
        (stopped.pending, stopped.running, stopped.aborted) = (0, 0, 8);
        stopped.stopped_at = Some(3_000);
        let body = map_run_body("arn:r", "arn:e", &stopped);
        assert_eq!(body["status"], "ABORTED");
        assert_eq!(body["stopDate"], 3.0);
        assert_eq!(body["itemCounts"]["aborted"], 8);
        assert_eq!(body["executionCounts"]["total"], 10);
    }

    #[test]
    fn update_map_run_checks_awss_constraints() {
        let update = |body: Value| {
            let r: UpdateMapRun = serde_json::from_value(body).unwrap();
            r.validate().map_err(|e| e.code)
        };
        let arn = "arn:aws:states:r:1:mapRun:m/l:x";
        assert!(update(json!({"mapRunArn": arn, "maxConcurrency": 0})).is_ok());
        for bad in [
            json!({"mapRunArn": arn}),
            json!({"maxConcurrency": 1}),
            json!({"mapRunArn": arn, "maxConcurrency": -1}),
            json!({"mapRunArn": arn, "toleratedFailureCount": -1}),
            json!({"mapRunArn": arn, "toleratedFailurePercentage": 100.5}),
        ] {
            assert_eq!(
                update(bad.clone()),
                Err(super::super::error::Code::ValidationException),
                "{bad}"
            );
        }
    }
}
