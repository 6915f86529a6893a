//! Dialect-neutral commands.
//!
//! A dialect (crate `sluice-api`) authenticates a request, then calls one method of
//! [`Service`] with typed arguments; the service checks permissions, rate limits, names and
//! payload limits, compiles definitions, and drives the store and the runtime. It knows
//! nothing of HTTP or of any vendor's wire format: its errors ([`ServiceError`]) are mapped to
//! vendor codes in one place per dialect.
//!
//! Start reading at [`Service`], then `executions.rs`.

mod activities;
mod auth;
mod config;
mod error;
mod executions;
mod express;
mod flows;
mod graph;
mod jobs;
mod leases;
mod listings;
mod live;
mod map_runs;
mod nested;
mod paging;
mod redrive;
mod retention;
mod schedules;
mod steps;
mod test_state;
mod versions;
pub mod views;

use std::sync::Arc;

pub use activities::{ACTIVITY, ActivityTask, ActivityView};
pub use auth::{Caller, Tenants};
pub use config::{KeyConfig, LimitsConfig, RateLimit, ServiceConfig, TenantConfig};
pub use error::ServiceError;
pub use executions::{CallbackResult, StartRequest, is_task_token, with_test_case};
pub use express::SyncOutcome;
pub use flows::{FlowChanges, FlowSpec};
pub use graph::{FlowGraph, GraphEdge, GraphNode, flow_graph};
pub use jobs::{FlowState, progress_percent};
pub use leases::{DEFAULT_LEASE, TakenOverWork};
pub use listings::{Listed, NewestPage, PeriodCounts};
pub use live::{Watch, Watched};
pub use map_runs::{MapRunChanges, MapRunStatus, MapRunSummary};
pub use paging::{Listing, execution_page_cursor, execution_page_token, page_cursor, page_token};
pub use retention::{Retention, RetentionConfig, RetentionError};
pub use schedules::{ScheduleSpec, UpcomingSchedule};
/// What a start tells the definition of its ids (`StartRequest::context_ids`).
pub use sluice_engine::ContextIds;
/// What a state tested alone did with its data (`StateTestOutcome::inspection`).
pub use sluice_engine::{Inspection, RetryDetails};
pub use sluice_ir::QueryLanguage;
/// The dialects' vocabulary of definitions: which dialect a flow is, what is wrong with one.
pub use sluice_lang::{Checked, DefinitionError, Dialect, Problem, ProblemKind};
use sluice_runtime::durable::Runtime;
pub use sluice_runtime::http_task::HttpTaskRequest;
/// How the scheduler reads a schedule's expression, for dialects that check one when it is written.
pub use sluice_runtime::scheduler::Cadence;
use sluice_store::Store;
pub use steps::{StepRun, StepStatus, step_runs};
pub use test_state::{HttpExchange, StateTest, StateTestOutcome, StateTestStatus, TestedKind};
pub use versions::Publish;

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

pub struct Service {
    store: Arc<dyn Store>,
    runtime: Arc<Runtime>,
    tenants: Tenants,
    limits: LimitsConfig,
}

impl Service {
    pub fn new(store: Arc<dyn Store>, runtime: Arc<Runtime>, config: &ServiceConfig) -> Self {
        Self {
            store,
            runtime,
            tenants: Tenants::new(&config.tenants),
            limits: config.limits.clone(),
        }
    }

    /// Access keys and their tenants, for the dialects' signature checks.
    pub fn tenants(&self) -> &Tenants {
        &self.tenants
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    /// Remembers a signed request's nonce (the dialects' replay check): `false` if its key
    /// used it already and it has not expired.
    pub async fn remember_nonce(&self, nonce: sluice_store::Nonce) -> Result<bool> {
        let now = sluice_runtime::durable::wall_clock_ms();
        Ok(self.store.remember_nonce(nonce, now).await?)
    }

    /// Checks that the caller's key may call `action` (e.g. `fnf:StopExecution`) and that the
    /// tenant is within its rate limit for it.
    pub fn authorize(&self, caller: &Caller, action: &str) -> Result<()> {
        if !caller.may(action) {
            return Err(ServiceError::AccessDenied {
                action: action.to_string(),
            });
        }
        self.tenants.throttle(caller, action)
    }
}
