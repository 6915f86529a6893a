//! Flows: create, describe, update, delete, list.

use serde_json::Value;
use sluice_ir::{Dialect, StateKind, TaskTarget, check_name_rule};
use sluice_lang::{Checked, Problem, check, compile};
use sluice_store::{
    ExecutionMode, FlowName, FlowQuery, FlowRecord, FlowUpdate, JobFilter, JobKind, NewFlow, Page,
    StoreError,
};

use crate::views::{FlowView, views};
use crate::{Caller, Result, Service, ServiceError};

/// A flow to create.
#[derive(Debug, Clone)]
pub struct FlowSpec {
    pub name: String,
    pub definition: String,
    pub dialect: Dialect,
    pub description: String,
    pub role_arn: Option<String>,
    pub mode: ExecutionMode,
    pub attributes: Value,
    /// The dialect's grouping listings filter on (the DataArts workspace).
    pub tag: Option<String>,
}

/// Changes to a flow; `None` keeps what is there.
#[derive(Debug, Clone, Default)]
pub struct FlowChanges {
    pub definition: Option<String>,
    pub description: Option<String>,
    pub role_arn: Option<String>,
    pub attributes: Option<Value>,
}

impl Service {
    pub async fn create_flow(&self, caller: &Caller, spec: FlowSpec) -> Result<FlowView> {
        check_name_in(spec.dialect, &spec.name, "flow name")?;
        self.validate_definition(spec.dialect, &spec.definition, &spec.name)?;
        let new = NewFlow {
            tenant: caller.tenant.clone(),
            name: FlowName::new(spec.name.clone()),
            description: spec.description,
            definition: spec.definition,
            dialect: spec.dialect,
            role_arn: spec.role_arn,
            mode: spec.mode,
            attributes: spec.attributes,
            tag: spec.tag,
            now: sluice_runtime::durable::wall_clock_ms(),
        };
        match self.store.create_flow(new).await {
            Err(StoreError::AlreadyExists(_)) => Err(ServiceError::FlowExists(spec.name)),
            other => Ok(other?.into()),
        }
    }

    /// Creates a flow, or, when one of that name exists with the same definition, dialect,
    /// mode and attributes, answers it (AWS's idempotent `CreateStateMachine`); another flow of
    /// that name is `FlowExists`.
    pub async fn create_flow_once(&self, caller: &Caller, spec: FlowSpec) -> Result<FlowView> {
        let same = |flow: &FlowRecord, spec: &FlowSpec| {
            flow.definition == spec.definition
                && flow.dialect == spec.dialect
                && flow.mode == spec.mode
                && flow.attributes == spec.attributes
        };
        match self.create_flow(caller, spec.clone()).await {
            Err(ServiceError::FlowExists(name)) => match self.flow(caller, &name).await {
                Ok(flow) if same(&flow, &spec) => Ok(flow.into()),
                _ => Err(ServiceError::FlowExists(name)),
            },
            other => other,
        }
    }

    /// Whether a definition compiles in `dialect` (every located problem when it does not),
    /// and what its language warns of.
    pub fn check_definition(&self, dialect: Dialect, definition: &str) -> Checked {
        check(dialect, definition)
    }

    pub async fn describe_flow(&self, caller: &Caller, name: &str) -> Result<FlowView> {
        Ok(self.flow(caller, name).await?.into())
    }

    pub async fn update_flow(
        &self,
        caller: &Caller,
        name: &str,
        changes: FlowChanges,
    ) -> Result<FlowView> {
        let flow = self.flow(caller, name).await?;
        if let Some(definition) = &changes.definition {
            self.validate_definition(flow.dialect, definition, name)?;
        }
        let update = FlowUpdate {
            description: changes.description,
            definition: changes.definition,
            role_arn: changes.role_arn,
            attributes: changes.attributes,
            open: None,
            now: sluice_runtime::durable::wall_clock_ms(),
        };
        match self.store.update_flow(&flow, update).await {
            Err(StoreError::NotFound(_)) => Err(ServiceError::FlowNotFound(name.to_string())),
            other => Ok(other?.into()),
        }
    }

    /// Deletes a flow and stops its running executions before answering (CloudFlow lets
    /// them finish their current step; stopping them at once is what a user deleting a flow
    /// wants). The stopping is a job recorded before the delete, so a crash in between
    /// resumes it instead of leaving executions of a deleted flow running.
    pub async fn delete_flow(&self, caller: &Caller, name: &str) -> Result<FlowView> {
        let flow = self.flow(caller, name).await?;
        let job = self
            .record_job(caller, &flow, JobKind::DeleteFlow, JobFilter::default())
            .await?;
        let deleted = match self.store.delete_flow(&caller.tenant, &flow.name).await {
            Err(StoreError::NotFound(_)) => {
                self.run_job(job).await?;
                return Err(ServiceError::FlowNotFound(name.to_string()));
            }
            other => other?,
        };
        self.run_job(job).await?;
        Ok(deleted.into())
    }

    pub async fn list_flows(
        &self,
        caller: &Caller,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<FlowView>> {
        let page = Page::after(after.map(FlowName::new), limit);
        let query = FlowQuery::all(&caller.tenant);
        Ok(views(self.store.list_flows(&query, page).await?))
    }

    /// The caller's flow with that public id ([`FlowView::public_id`]).
    pub async fn flow_by_public_id(&self, caller: &Caller, public_id: &str) -> Result<FlowView> {
        let not_found = || ServiceError::FlowNotFound(public_id.to_string());
        let (id, name) = FlowRecord::parse_public_id(public_id).ok_or_else(not_found)?;
        match self.store.get_flow(&caller.tenant, &name).await? {
            Some(flow) if flow.id == id => Ok(flow.into()),
            _ => Err(not_found()),
        }
    }

    /// Compiles the definition (all located problems reported), checks that a name written
    /// in it matches the flow's, and that this server can perform every action it calls
    /// (only for DataArts jobs: CloudFlow accepts any action and fails the task at run time,
    /// as the vendor does).
    fn validate_definition(
        &self,
        dialect: Dialect,
        definition: &str,
        flow_name: &str,
    ) -> Result<()> {
        let flow = compile(dialect, definition).map_err(ServiceError::InvalidDefinition)?;
        if let Some(written) = &flow.name
            && written != flow_name
        {
            return Err(invalid_definition(format!(
                "the definition's name {written:?} must equal the flow name {flow_name:?}"
            )));
        }
        if dialect == Dialect::DataArts {
            let invoker = self.runtime.invoker();
            if let Some(action) = actions_of(&flow).find(|a| !invoker.supports(a)) {
                return Err(invalid_definition(format!(
                    "{action} cannot run on this server: enable Shell nodes (allow_shell) or \
                     map the node type to an endpoint in the configuration's [functions]"
                )));
            }
        }
        Ok(())
    }

    /// The caller's flow of that name.
    pub(crate) async fn flow(&self, caller: &Caller, name: &str) -> Result<FlowRecord> {
        self.store
            .get_flow(&caller.tenant, &FlowName::new(name))
            .await?
            .ok_or_else(|| ServiceError::FlowNotFound(name.to_string()))
    }
}

/// A definition refused for a reason the language cannot locate in it.
fn invalid_definition(message: String) -> ServiceError {
    ServiceError::InvalidDefinition(Problem::new(message).into())
}

pub(crate) fn check_name(name: &str, what: &str) -> Result<()> {
    check_name_rule(name).map_err(|e| invalid_name(name, what, e))
}

/// A flow's or execution's name, by the rule of the flow's dialect ([`Dialect::check_name`]).
pub(crate) fn check_name_in(dialect: Dialect, name: &str, what: &str) -> Result<()> {
    dialect
        .check_name(name)
        .map_err(|e| invalid_name(name, what, e))
}

fn invalid_name(name: &str, what: &str, why: sluice_ir::NameRuleViolation) -> ServiceError {
    ServiceError::InvalidName(format!("the {what} {name:?} is invalid: {why}"))
}

/// The actions (non-function task targets) a flow calls.
fn actions_of(flow: &sluice_ir::Flow) -> impl Iterator<Item = &str> {
    flow.states.iter().filter_map(|state| match &state.kind {
        StateKind::Task(task) => match &task.target {
            TaskTarget::Action(action) => Some(action.as_str()),
            TaskTarget::Function(_) | TaskTarget::Activity(_) | TaskTarget::Execution(_) => None,
        },
        _ => None,
    })
}
