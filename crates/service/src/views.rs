//! What the service answers: its own views of flows, executions, versions, aliases,
//! schedules and jobs, built from the store's records and the engine's state, which never
//! leave the service. A dialect renders these and the vocabulary below (ids, names, statuses,
//! times, history events, the queries of listings); it links neither the store nor the engine.

use serde_json::Value;

/// The vocabulary views and queries are written in.
pub use sluice_engine::{
    EventId, EventType, HistoryEvent, Millis, NotRedrivable, Redrives, Status,
};
pub use sluice_ir::TaskError;
pub use sluice_runtime::durable::Progress;
pub use sluice_store::{
    ExecutionCursor, ExecutionFilter, ExecutionId, ExecutionMode, ExecutionName, ExecutionOrder,
    ExecutionQuery, FlowId, FlowName, FlowQuery, FlowSelection, JobFilter, JobId, JobKind,
    JobStatus, NameMatch, Nonce, Page, StartedAs,
};

use sluice_store::{
    AliasRecord, ExecutionRecord, FlowRecord, JobRecord, Route, ScheduleRecord, TenantId,
    VersionRecord,
};

use crate::Dialect;

/// A flow as the dialects show it.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowView {
    pub id: FlowId,
    pub name: FlowName,
    pub description: String,
    /// The definition text as the user sent it.
    pub definition: String,
    pub dialect: Dialect,
    pub role_arn: Option<String>,
    pub mode: ExecutionMode,
    /// Dialect-specific attributes kept verbatim (CloudFlow `Environment`, …).
    pub attributes: Value,
    /// The dialect's grouping of flows (the DataArts workspace).
    pub tag: Option<String>,
    pub revision: i64,
    /// A closed flow refuses new executions.
    pub open: bool,
    pub created_at: Millis,
    pub modified_at: Millis,
    public_id: String,
}

impl FlowView {
    /// The flow's id as every dialect shows it (CloudFlow `Id`, GES `graph_id`, FunctionGraph
    /// `workflow_id`); a flow deleted and created again under its name gets a new one.
    pub fn public_id(&self) -> &str {
        &self.public_id
    }
}

impl From<FlowRecord> for FlowView {
    fn from(flow: FlowRecord) -> Self {
        Self {
            public_id: flow.public_id(),
            id: flow.id,
            name: flow.name,
            description: flow.description,
            definition: flow.definition,
            dialect: flow.dialect,
            role_arn: flow.role_arn,
            mode: flow.mode,
            attributes: flow.attributes,
            tag: flow.tag,
            revision: flow.revision,
            open: flow.open,
            created_at: flow.created_at,
            modified_at: flow.modified_at,
        }
    }
}

/// An execution as the dialects show it: what its state says, not the state.
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionView {
    pub id: ExecutionId,
    pub name: ExecutionName,
    pub flow_id: FlowId,
    pub flow_name: FlowName,
    /// The flow revision it runs.
    pub flow_revision: i64,
    pub status: Status,
    pub input: Option<Value>,
    pub output: Option<Value>,
    pub error: Option<TaskError>,
    pub role_arn: Option<String>,
    pub started_at: Option<Millis>,
    pub stopped_at: Option<Millis>,
    pub created_at: Millis,
    /// The version (and alias) its start named.
    pub started_as: StartedAs,
    pub redrives: Redrives,
    /// Why it cannot be redriven now, if it cannot.
    pub not_redrivable: Option<NotRedrivable>,
    /// Its place in newest-first listings.
    listed_at: Millis,
    tenant: TenantId,
}

impl ExecutionView {
    /// The same execution as a listing shows it.
    pub fn summary(&self) -> ExecutionSummary {
        ExecutionSummary {
            id: self.id,
            flow_id: self.flow_id,
            flow_name: self.flow_name.clone(),
            flow_revision: self.flow_revision,
            name: self.name.clone(),
            status: self.status,
            started_at: self.started_at,
            stopped_at: self.stopped_at,
            error: self.error.clone(),
            created_at: self.created_at,
            started_as: self.started_as.clone(),
            redrives: self.redrives,
            listed_at: self.listed_at,
        }
    }

    pub(crate) fn tenant(&self) -> &TenantId {
        &self.tenant
    }
}

impl From<ExecutionRecord> for ExecutionView {
    fn from(record: ExecutionRecord) -> Self {
        let state = &record.state;
        Self {
            status: state.status(),
            input: state.input().cloned(),
            output: state.output().cloned(),
            error: state.error().cloned(),
            role_arn: state.info().role_arn.clone(),
            started_at: state.started_at(),
            stopped_at: state.stopped_at(),
            redrives: state.redrives(),
            not_redrivable: state
                .redrivable(sluice_runtime::durable::wall_clock_ms())
                .err(),
            listed_at: record.summary().listed_at,
            started_as: record.started_as,
            id: record.id,
            name: record.name,
            flow_id: record.flow_id,
            flow_name: record.flow_name,
            flow_revision: record.flow_revision,
            created_at: record.created_at,
            tenant: record.tenant,
        }
    }
}

/// An execution as listings show it (read off summary columns, never off its state).
#[derive(Debug, Clone, PartialEq)]
pub struct ExecutionSummary {
    pub id: ExecutionId,
    pub flow_id: FlowId,
    pub flow_name: FlowName,
    pub flow_revision: i64,
    pub name: ExecutionName,
    pub status: Status,
    pub started_at: Option<Millis>,
    pub stopped_at: Option<Millis>,
    /// Why it failed, if it did.
    pub error: Option<TaskError>,
    pub created_at: Millis,
    /// The version (and alias) its start named.
    pub started_as: StartedAs,
    pub redrives: Redrives,
    listed_at: Millis,
}

impl ExecutionSummary {
    /// Where the page after this execution starts.
    pub fn cursor(&self) -> ExecutionCursor {
        ExecutionCursor {
            name: self.name.clone(),
            listed_at: self.listed_at,
            id: self.id,
        }
    }
}

impl From<sluice_store::ExecutionSummary> for ExecutionSummary {
    fn from(s: sluice_store::ExecutionSummary) -> Self {
        Self {
            id: s.id,
            flow_id: s.flow_id,
            flow_name: s.flow_name,
            flow_revision: s.flow_revision,
            name: s.name,
            status: s.status,
            started_at: s.started_at,
            stopped_at: s.stopped_at,
            error: s.error,
            created_at: s.created_at,
            started_as: s.started_as,
            redrives: s.redrives,
            listed_at: s.listed_at,
        }
    }
}

/// A published version of a flow.
#[derive(Debug, Clone, PartialEq)]
pub struct VersionView {
    /// 1, 2, … per flow; never reused after a delete.
    pub version: i64,
    /// The flow revision it published.
    pub revision: i64,
    pub description: String,
    pub created_at: Millis,
}

impl From<VersionRecord> for VersionView {
    fn from(v: VersionRecord) -> Self {
        Self {
            version: v.version,
            revision: v.revision,
            description: v.description,
            created_at: v.created_at,
        }
    }
}

/// An alias: a weighted routing over versions of a flow.
#[derive(Debug, Clone, PartialEq)]
pub struct AliasView {
    pub name: String,
    pub description: String,
    /// The versions it routes to; serialized in CloudFlow's `RoutingConfigurations` shape.
    pub routing: Vec<Route>,
    pub created_at: Millis,
    pub modified_at: Millis,
}

impl From<AliasRecord> for AliasView {
    fn from(a: AliasRecord) -> Self {
        Self {
            name: a.name,
            description: a.description,
            routing: a.routing,
            created_at: a.created_at,
            modified_at: a.modified_at,
        }
    }
}

/// A cron schedule of a flow.
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduleView {
    pub id: i64,
    pub flow_name: FlowName,
    pub name: String,
    pub cron: String,
    pub payload: String,
    pub description: String,
    pub enabled: bool,
    /// When it fires next; `None` when disabled or exhausted.
    pub next_fire_at: Option<Millis>,
    pub created_at: Millis,
    pub modified_at: Millis,
}

impl From<ScheduleRecord> for ScheduleView {
    fn from(s: ScheduleRecord) -> Self {
        Self {
            id: s.id,
            flow_name: s.flow_name,
            name: s.name,
            cron: s.cron,
            payload: s.payload,
            description: s.description,
            enabled: s.enabled,
            next_fire_at: s.next_fire_at,
            created_at: s.created_at,
            modified_at: s.modified_at,
        }
    }
}

/// A background job (a GES graph stop, start or restart, a batch stop of executions).
#[derive(Debug, Clone, PartialEq)]
pub struct JobView {
    pub id: JobId,
    pub kind: JobKind,
    pub flow_id: FlowId,
    pub flow_name: FlowName,
    pub status: JobStatus,
    /// Executions found to stop so far, and how many of them were dealt with: stopped, found
    /// already completed, or failed to stop (the last two counted apart as well).
    pub total: i64,
    pub done: i64,
    pub already_completed: i64,
    pub failed: i64,
    pub failure: Option<String>,
    pub created_at: Millis,
    pub finished_at: Option<Millis>,
}

impl JobView {
    /// Executions the job stopped itself.
    pub fn stopped(&self) -> i64 {
        self.done - self.already_completed - self.failed
    }
}

impl From<JobRecord> for JobView {
    fn from(j: JobRecord) -> Self {
        Self {
            id: j.id,
            kind: j.kind,
            flow_id: j.flow_id,
            flow_name: j.flow_name,
            status: j.status,
            total: j.total,
            done: j.done,
            already_completed: j.already_completed,
            failed: j.failed,
            failure: j.failure,
            created_at: j.created_at,
            finished_at: j.finished_at,
        }
    }
}

/// Views of each record of a list.
pub(crate) fn views<R, V: From<R>>(records: Vec<R>) -> Vec<V> {
    records.into_iter().map(V::from).collect()
}
