//! What the server says about the work it does: at `info`, one line per execution started or
//! ended (succeeded, failed, timed out, stopped); at `debug`, one line per task call.

use std::time::Duration;

use serde_json::Value;
use sluice_engine::{Status, TaskCall};
use sluice_ir::{TaskError, TaskTarget};
use sluice_store::ExecutionRecord;

use crate::invoke::CallOrigin;

/// Error details are cut to this many characters in a log line.
const DETAIL_CHARS: usize = 300;

pub(super) fn started(record: &ExecutionRecord, dialect: &str) {
    tracing::info!(
        tenant = %record.tenant,
        dialect,
        flow = %record.flow_name,
        execution = %record.name,
        "execution started"
    );
}

pub(super) fn finished(record: &ExecutionRecord, dialect: &str) {
    let state = &record.state;
    let duration_ms = match (state.started_at(), state.stopped_at()) {
        (Some(start), Some(end)) => end.saturating_sub(start),
        _ => 0,
    };
    let error = state.error().map(describe);
    tracing::info!(
        tenant = %record.tenant,
        dialect,
        flow = %record.flow_name,
        execution = %record.name,
        status = state.status().as_str(),
        duration_ms,
        error,
        "execution {}",
        ended(state.status())
    );
}

pub(super) fn task_call(
    origin: &CallOrigin,
    call: &TaskCall,
    result: &Result<Value, TaskError>,
    took: Duration,
) {
    let target = match &call.target {
        TaskTarget::Function(f) => format!("{}/{}", f.service, f.function),
        TaskTarget::Action(action) => action.clone(),
        TaskTarget::Activity(name) => format!("activity:{name}"),
        TaskTarget::Execution(_) => "states:startExecution".into(),
    };
    tracing::debug!(
        flow = %origin.flow,
        execution = %origin.execution,
        state = %call.state,
        attempt = call.attempt,
        target,
        ms = u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        outcome = result.as_ref().map_or_else(describe, |_| "ok".to_string()),
        "task call"
    );
}

fn ended(status: Status) -> &'static str {
    match status {
        Status::Succeeded => "succeeded",
        Status::Failed => "failed",
        Status::TimedOut => "timed out",
        Status::Stopped => "stopped",
        Status::Starting | Status::Running => "running",
    }
}

fn describe(error: &TaskError) -> String {
    let mut text = format!("{}: {}", error.code.as_str(), error.detail);
    if let Some((cut, _)) = text.char_indices().nth(DETAIL_CHARS) {
        text.truncate(cut);
        text.push('…');
    }
    text
}
