//! Runs of an execution's steps, read off its history: what the Huawei dialects show as
//! "node executions" (FunctionGraph `node_execution_details`, DataArts node statuses).
//!
//! Every step run starts with a `StepEntered` event and ends with the `StepExited` or
//! `StepFailed` that names it as its schedule event; one without an end is still running (or
//! was cut short by a stop, which the execution's status says).

use std::collections::HashMap;

use serde_json::Value;
use sluice_engine::{EventId, EventType, HistoryEvent, Millis};
use sluice_store::Page;

use crate::views::ExecutionView;

use crate::{Caller, Result, Service};

/// Events read per page when collecting a whole history.
const HISTORY_PAGE: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepStatus {
    Running,
    Succeeded,
    Failed,
}

/// One run of one step (a step in a loop or retried by a Catch runs several times).
#[derive(Debug, Clone, PartialEq)]
pub struct StepRun {
    pub step: String,
    pub status: StepStatus,
    pub input: Value,
    pub output: Option<Value>,
    /// `{"error", "cause"}` of a failed run.
    pub error: Option<Value>,
    pub entered_at: Millis,
    pub left_at: Option<Millis>,
    /// Task calls made in this run: 1 for a task called once, more when retried, 0 for a
    /// step that calls nothing.
    pub attempts: u32,
}

/// The step runs of a history, in the order they started.
pub fn step_runs(events: &[HistoryEvent]) -> Vec<StepRun> {
    let mut runs = Vec::new();
    let mut by_entry: HashMap<EventId, usize> = HashMap::new();
    // The latest run of each step: the one its task calls belong to.
    let mut latest: HashMap<&str, usize> = HashMap::new();
    for event in events {
        match event.kind {
            EventType::StepEntered => {
                by_entry.insert(event.id, runs.len());
                if let Some(step) = &event.step {
                    latest.insert(step.as_str(), runs.len());
                }
                runs.push(StepRun {
                    step: event
                        .step
                        .as_ref()
                        .map(|s| s.to_string())
                        .unwrap_or_default(),
                    status: StepStatus::Running,
                    input: event.detail.get("input").cloned().unwrap_or(Value::Null),
                    output: None,
                    error: None,
                    entered_at: event.time,
                    left_at: None,
                    attempts: 0,
                });
            }
            EventType::TaskScheduled => {
                let run = event
                    .step
                    .as_ref()
                    .and_then(|step| latest.get(step.as_str()))
                    .and_then(|i| runs.get_mut(*i))
                    .filter(|run| run.status == StepStatus::Running);
                if let Some(run) = run {
                    run.attempts += 1;
                }
            }
            EventType::StepExited | EventType::StepFailed => {
                let Some(run) = event
                    .schedule_id
                    .and_then(|entry| by_entry.get(&entry))
                    .and_then(|i| runs.get_mut(*i))
                else {
                    continue;
                };
                run.left_at = Some(event.time);
                if event.kind == EventType::StepExited {
                    run.status = StepStatus::Succeeded;
                    run.output = event.detail.get("output").cloned();
                } else {
                    run.status = StepStatus::Failed;
                    run.error = Some(Value::clone(&event.detail));
                }
            }
            _ => {}
        }
    }
    runs
}

impl Service {
    /// Every history event of an execution the caller owns.
    pub async fn full_history(
        &self,
        caller: &Caller,
        execution: &ExecutionView,
    ) -> Result<Vec<HistoryEvent>> {
        if *execution.tenant() != caller.tenant {
            return Ok(Vec::new());
        }
        let mut events: Vec<HistoryEvent> = Vec::new();
        loop {
            let after = events.last().map(|e| e.id);
            let page = self
                .store
                .history(execution.id, Page::after(after, HISTORY_PAGE))
                .await?;
            let last = page.len() < HISTORY_PAGE;
            events.extend(page);
            if last {
                return Ok(events);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use sluice_ir::StateName;

    use super::*;

    fn event(id: u64, kind: EventType, schedule: Option<u64>, detail: Value) -> HistoryEvent {
        HistoryEvent {
            id: EventId(id),
            schedule_id: schedule.map(EventId),
            step: Some(StateName::new("s")),
            time: id as Millis * 10,
            kind,
            detail: detail.into(),
        }
    }

    #[test]
    fn runs_pair_entries_with_their_ends() {
        let events = [
            event(1, EventType::ExecutionStarted, None, json!({})),
            event(2, EventType::StepEntered, None, json!({"input": {"a": 1}})),
            event(
                3,
                EventType::StepExited,
                Some(2),
                json!({"output": {"b": 2}}),
            ),
            event(4, EventType::StepEntered, None, json!({"input": {}})),
            event(41, EventType::TaskScheduled, None, json!({})),
            event(42, EventType::TaskScheduled, None, json!({})),
            event(
                5,
                EventType::StepFailed,
                Some(4),
                json!({"error": "E", "cause": "c"}),
            ),
            event(6, EventType::StepEntered, None, json!({"input": {"c": 3}})),
        ];
        let runs = step_runs(&events);
        assert_eq!(
            runs.iter().map(|r| r.status).collect::<Vec<_>>(),
            [
                StepStatus::Succeeded,
                StepStatus::Failed,
                StepStatus::Running
            ]
        );
        assert_eq!(runs[0].input, json!({"a": 1}));
        assert_eq!(runs[0].output, Some(json!({"b": 2})));
        assert_eq!((runs[0].entered_at, runs[0].left_at), (20, Some(30)));
        assert_eq!(runs[1].error, Some(json!({"error": "E", "cause": "c"})));
        assert_eq!(runs[2].left_at, None);
        assert_eq!(
            runs.iter().map(|r| r.attempts).collect::<Vec<_>>(),
            [0, 2, 0],
            "the retried task's calls count in its run"
        );
    }

    #[test]
    fn an_end_without_its_entry_is_ignored() {
        let events = [event(3, EventType::StepExited, Some(99), json!({}))];
        assert!(step_runs(&events).is_empty());
    }
}
