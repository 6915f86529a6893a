//! The decisions every backend makes alike, as pure functions: a backend reads what they need,
//! asks, and writes what they answer, in its own transaction.

use serde_json::Value;
use sluice_engine::Execution;

use crate::encode::to_json;
use crate::{
    AliasRecord, ExecutionId, ExecutionRecord, FlowId, FlowName, FlowRecord, FlowUpdate, JobRecord,
    NewExecution, NewVersion, Result, Route, StoreError, VersionRecord,
};

/// What a flow's row becomes under an update (see [`flow_change`]).
pub(crate) struct FlowChange {
    pub id: FlowId,
    /// A changed definition makes a new revision: its number and text.
    pub new_revision: Option<(i64, String)>,
    pub revision: i64,
    pub description: String,
    pub role_arn: Option<String>,
    /// JSON text.
    pub attributes: String,
    pub open: bool,
}

/// Compare-and-set on the revision, then the merge: `None` fields keep the current value, and
/// only a definition change makes a new revision (other changes are made in place; the
/// revision still detects a concurrent definition change).
pub(crate) fn flow_change(
    current: FlowRecord,
    expected_revision: i64,
    update: FlowUpdate,
) -> Result<FlowChange> {
    if current.revision != expected_revision {
        return Err(StoreError::Conflict(format!(
            "flow {} (revision {expected_revision} expected, {} found)",
            current.name, current.revision
        )));
    }
    let new_revision = update
        .definition
        .map(|definition| (current.revision + 1, definition));
    Ok(FlowChange {
        id: current.id,
        revision: new_revision.as_ref().map_or(current.revision, |(r, _)| *r),
        new_revision,
        description: update.description.unwrap_or(current.description),
        role_arn: update.role_arn.or(current.role_arn),
        attributes: to_json(
            &merged_attributes(current.attributes, update.attributes),
            "flow attributes",
        )?,
        open: update.open.unwrap_or(current.open),
    })
}

/// The attributes after an update: each member the update gives replaces the current one,
/// the others are kept. Merged here, inside the update's transaction, so two updates of
/// different members (a state machine's logging and its tracing) both hold.
fn merged_attributes(current: Value, update: Option<Value>) -> Value {
    match (current, update) {
        (Value::Object(mut current), Some(Value::Object(update))) => {
            current.extend(update);
            Value::Object(current)
        }
        (_, Some(update)) => update,
        (current, None) => current,
    }
}

pub(crate) fn no_flow(name: &FlowName) -> StoreError {
    StoreError::NotFound(format!("flow {name}"))
}

/// Whether a flow whose `open` flag reads so (`None`: no such flow) takes a new execution.
pub(crate) fn open_to_new(open: Option<bool>, new: &NewExecution) -> Result<()> {
    match open {
        Some(true) => Ok(()),
        Some(false) => Err(StoreError::Closed(new.flow_name.to_string())),
        None => Err(no_flow(&new.flow_name)),
    }
}

/// Whether a job moving a flow ([`crate::JobKind::moves_flow`]) may be recorded: the flow
/// exists (`flow_open`, its `open` flag, is `Some`), is `open` as wanted (either, if `None`),
/// and no other job moving it is unfinished (`busy`).
pub(crate) fn flow_job_allowed(
    job: &JobRecord,
    flow_open: Option<bool>,
    open: Option<bool>,
    busy: bool,
) -> Result<()> {
    let flow_open = flow_open.ok_or_else(|| no_flow(&job.flow_name))?;
    if open.is_some_and(|wanted| wanted != flow_open) {
        return Err(StoreError::Conflict(format!(
            "flow {} is {}",
            job.flow_name,
            if flow_open { "open" } else { "closed" }
        )));
    }
    if busy {
        return Err(StoreError::Conflict(format!(
            "flow {} is being moved by another job",
            job.flow_name
        )));
    }
    Ok(())
}

/// The record of an execution just created under `id` at version 1, built rather than read
/// back: what was written need not be decoded again.
pub(crate) fn created_execution(
    id: ExecutionId,
    new: NewExecution,
    state: Execution,
) -> ExecutionRecord {
    ExecutionRecord {
        id,
        tenant: new.tenant,
        flow_id: new.flow_id,
        flow_name: new.flow_name,
        flow_revision: new.flow_revision,
        name: new.name,
        started_as: new.started_as,
        state,
        version: 1,
        created_at: new.now,
    }
}

/// The record of a version just published as number `version` of the flow's `revision`.
/// Whether a version of the flow's `revision` may be published as `new` asks: the flow is
/// at the revision it expects, if it expects one.
pub(crate) fn publishable(new: &NewVersion, revision: i64) -> Result<()> {
    match new.expected_revision {
        Some(expected) if expected != revision => Err(StoreError::Conflict(format!(
            "flow {} is at revision {revision}, not {expected}",
            new.flow_id.0
        ))),
        _ => Ok(()),
    }
}

pub(crate) fn published(new: NewVersion, version: i64, revision: i64) -> VersionRecord {
    VersionRecord {
        flow_id: new.flow_id,
        version,
        revision,
        description: new.description,
        created_at: new.now,
    }
}

/// Why a step's compare-and-set changed no row: the execution is at another version (`found`)
/// or does not exist.
pub(crate) fn step_refused(id: ExecutionId, expected: i64, found: Option<i64>) -> StoreError {
    match found {
        Some(found) => StoreError::Conflict(format!(
            "execution {id} (version {expected} expected, {found} found)"
        )),
        None => StoreError::NotFound(format!("execution {id}")),
    }
}

/// `NotFound` when a change by key touched no row.
pub(crate) fn found(changed: u64, what: impl FnOnce() -> String) -> Result<()> {
    if changed == 0 {
        return Err(StoreError::NotFound(what()));
    }
    Ok(())
}

/// A version's delete is refused while aliases route to it (`aliases`: all of the flow's).
pub(crate) fn unrouted(aliases: Vec<AliasRecord>, version: i64) -> Result<()> {
    let routed_to: Vec<String> = aliases
        .into_iter()
        .filter(|alias| alias.routes_to(version))
        .map(|alias| alias.name)
        .collect();
    if routed_to.is_empty() {
        Ok(())
    } else {
        Err(StoreError::RoutedTo(routed_to))
    }
}

/// An alias may route only to versions the flow has (`present`: those of its routes found).
pub(crate) fn routes_present(routes: &[Route], present: &[i64]) -> Result<()> {
    match routes
        .iter()
        .find(|route| !present.contains(&route.version))
    {
        Some(missing) => Err(StoreError::NoSuchVersion(missing.version)),
        None => Ok(()),
    }
}
