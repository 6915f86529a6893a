//! A distributed Map's child executions, kept in the store like any execution and linked to
//! their parent in the same transaction as the step that links them:
//!
//! - the step that starts children (`Effect::StartChild`) creates them, each with its first
//!   step; a child that ends in that first step (a processor of pure states) reports its end
//!   to the parent in the same step, which may start more;
//! - the step that ends a map run or its execution (`Effect::StopChild`) stops every running
//!   child, and through theirs, their own children: one durable stop (DESIGN's stop contract,
//!   item 3);
//! - the step that ends a child reports to its parent (`Input::ChildFinished`), under the
//!   parent's lock, taken after the child's: locks are always taken from child to parent, so
//!   two steps never wait for each other. Reports queue on a gate of the parent before its
//!   lock, so a stop of the parent waits for one report, not for every child that ended.
//!
//! A child is named `<map run>-<index>` in its parent's flow ([`child_name`]); it runs the
//! revision its parent runs.
//!
//! A task's nested execution (`nested.rs`) is a child too, of another flow: created when the
//! step dispatches its call (`Effect::Dispatch` of a `.sync` target), stopped when the step
//! cancels the call (`Effect::CancelTask`), reporting its start and its end to the call
//! (`Input::TaskCompleted`), all in the same transactions and under the same lock order.
//! Each execution is stepped with its own flow's revision.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;
use sluice_engine::{
    ChildStart, Effect, Execution, ExecutionInfo, Input, ParentLink, PendingOp, Status, Step,
};
use sluice_ir::nested::{NestedEnd, TASK_FAILED};
use sluice_ir::{ErrorCode, Flow, ScopeId, TaskError};
use sluice_store::{
    ExecutionCursor, ExecutionId, ExecutionName, ExecutionOrder, ExecutionQuery, ExecutionRecord,
    FlowSelection, LinkedWrite, NewExecution, Page, StartedAs, StepWrite,
};
use tokio::sync::OwnedMutexGuard;

use super::nested::{self, NestedRequest, PreparedChild};
use super::{Runtime, RuntimeError, wall_clock_ms};
use sluice_engine::TaskCall;

/// What became of a nested call's child in the step that dispatched it.
enum Created {
    /// Created, running: by name, with the flow it runs (it may be stopped in the same step),
    /// and its start.
    Running(ExecutionName, Arc<Flow>, NestedEnd),
    /// Created, and ended in its first step: its start and its end.
    Ended(NestedEnd, NestedEnd),
    /// Not created: why, the task's error.
    Refused(TaskError),
}

impl Created {
    /// What the task is answered, in order: the child's start (the task is submitted), then
    /// its end if it has ended.
    fn answers(&self) -> Vec<Result<Value, TaskError>> {
        let json = |end: &NestedEnd| serde_json::to_value(end).expect("a NestedEnd is JSON");
        match self {
            Created::Running(_, _, started) => vec![Ok(json(started))],
            Created::Ended(started, end) => vec![Ok(json(started)), Ok(json(end))],
            Created::Refused(error) => vec![Err(error.clone())],
        }
    }
}

/// The writes a step makes to executions other than its own, and what to do once they
/// committed.
#[derive(Default)]
pub(super) struct Linked {
    writes: Vec<LinkedWrite>,
    /// The effects of each linked write, in the same order.
    effects: Vec<Vec<Effect>>,
    /// The record of each stepped execution as it was read (`None` for a created one).
    stepped: Vec<Option<ExecutionRecord>>,
    /// The locks of the parents a child reported to, held until the commit.
    guards: Vec<OwnedMutexGuard<()>>,
}

/// What is left to do once the linked writes committed.
pub(super) struct AfterCommit {
    /// Each linked execution and its effects.
    effects: Vec<(LinkedTarget, Vec<Effect>)>,
    guards: Vec<OwnedMutexGuard<()>>,
}

/// A linked execution: created (known by name until its id is read back) or stepped (as the
/// step leaves it).
enum LinkedTarget {
    Created(sluice_store::FlowId, ExecutionName),
    Stepped(Box<ExecutionRecord>),
}

impl Linked {
    fn push(&mut self, write: LinkedWrite, effects: Vec<Effect>, stepped: Option<ExecutionRecord>) {
        self.writes.push(write);
        self.effects.push(effects);
        self.stepped.push(stepped);
    }

    /// Stops the child `name` (of `flow`) this same step creates, if it has not ended
    /// already: its first write ends stopped, and of its effects only the ends remain (its
    /// children, created in this step too, are not stopped: a first step that starts children
    /// has not ended).
    fn stop_created(&mut self, flow: &Flow, name: &ExecutionName, stop: &Input) {
        let found = self.writes.iter().position(
            |write| matches!(write, LinkedWrite::Create { new, .. } if &new.name == name),
        );
        let Some(at) = found else {
            return;
        };
        let LinkedWrite::Create { first, .. } = &mut self.writes[at] else {
            return;
        };
        let Ok(stopped) = first.state.apply(flow, stop.clone(), wall_clock_ms()) else {
            return;
        };
        first.events.extend(stopped.events);
        let pending: Vec<_> = first.state.pending_ops().map(op_of).collect();
        first.tasks_added.retain(|call| pending.contains(&call.op));
        first
            .timers_added
            .retain(|timer| pending.contains(&timer.op));
        self.effects[at]
            .retain(|effect| !matches!(effect, Effect::Dispatch(_) | Effect::StartTimer { .. }));
        self.effects[at].extend(
            stopped
                .effects
                .into_iter()
                .filter(|e| matches!(e, Effect::Finish(_))),
        );
    }

    fn append(&mut self, other: Linked) {
        self.writes.extend(other.writes);
        self.effects.extend(other.effects);
        self.stepped.extend(other.stepped);
        self.guards.extend(other.guards);
    }

    /// The writes, for the step's [`StepWrite::linked`], and what to do after the commit.
    pub(super) fn split(self) -> (Vec<LinkedWrite>, AfterCommit) {
        let targets = self
            .writes
            .iter()
            .zip(self.stepped)
            .map(|(write, stepped)| match write {
                LinkedWrite::Create { new, .. } => {
                    LinkedTarget::Created(new.flow_id, new.name.clone())
                }
                LinkedWrite::Step(write) => LinkedTarget::Stepped(Box::new(ExecutionRecord {
                    state: write.state.clone(),
                    version: write.expected_version + 1,
                    ..stepped.expect("a stepped write keeps its record")
                })),
            });
        let effects = targets.zip(self.effects).collect();
        let after = AfterCommit {
            effects,
            guards: self.guards,
        };
        (self.writes, after)
    }
}

/// A child's name: its map run's and its place in it.
pub fn child_name(start: &ChildStart) -> ExecutionName {
    ExecutionName::new(format!("{}-{}", start.map_run, start.index))
}

impl Runtime {
    /// Carries out in the store the children effects of `step`, which took `record` to
    /// `state`: starts and stops children (as linked writes), folds the ends of children that
    /// end at once into the step, and reports the end of a child to its parent. Returns the
    /// step as it then is.
    pub(super) async fn link(
        &self,
        flow: &Flow,
        record: &ExecutionRecord,
        state: &mut Execution,
        mut step: Step,
        linked: &mut Linked,
    ) -> Result<Step, RuntimeError> {
        let mut running = RunningChildren::default();
        // The children this step creates, by op, with their flow unless it is this one's: one
        // may be stopped in the same step.
        let mut created = HashMap::new();
        let mut at = 0;
        while at < step.effects.len() {
            match step.effects[at].clone() {
                Effect::Dispatch(call) if nested::waits(&call) => {
                    let op = call.op;
                    let child = self.create_nested(record, state, &call, linked).await?;
                    for result in child.answers() {
                        let input = Input::TaskCompleted { op, result };
                        if let Ok(more) = state.apply(flow, input, wall_clock_ms()) {
                            step.events.extend(more.events);
                            step.effects.extend(more.effects);
                        }
                    }
                    if let Created::Running(name, child_flow, _) = child {
                        created.insert(op, (name, Some(child_flow)));
                    }
                }
                Effect::CancelTask(op) => {
                    match (created.get(&op), nested::waiting_call(record, op)) {
                        (Some((name, child_flow)), _) => {
                            let child_flow = child_flow.as_deref().unwrap_or(flow);
                            linked.stop_created(child_flow, name, &parent_gone(record));
                        }
                        (None, Some(call)) => {
                            let call = call.clone();
                            Box::pin(self.stop_nested(record, &call, linked)).await?;
                        }
                        (None, None) => {}
                    }
                }
                Effect::StartChild(start) => {
                    created.insert(start.op, (child_name(&start), None));
                    let end = self
                        .create_child(flow, record, state, &start, linked)
                        .await?;
                    if let Some(end) = end {
                        let input = Input::ChildFinished {
                            op: start.op,
                            result: end,
                        };
                        if let Ok(more) = state.apply(flow, input, wall_clock_ms()) {
                            step.events.extend(more.events);
                            step.effects.extend(more.effects);
                        }
                    }
                }
                Effect::StopChild(op) => {
                    let start = record
                        .state
                        .pending_ops()
                        .find_map(|pending| match pending {
                            PendingOp::Child(start) if start.op == op => Some(start.clone()),
                            _ => None,
                        });
                    match (start, created.get(&op)) {
                        (_, Some((name, _))) => {
                            linked.stop_created(flow, name, &parent_gone(record));
                        }
                        (Some(start), None) => {
                            if let Some(child) = running.child(self, record, &start).await? {
                                Box::pin(self.stop_child(record, child, linked)).await?;
                            }
                        }
                        (None, None) => {}
                    }
                }
                _ => {}
            }
            at += 1;
        }
        if state.status().is_terminal()
            && let Some(parent) = state.parent().cloned()
        {
            Box::pin(self.report_to_parent(record, state, parent, linked)).await?;
        }
        Ok(step)
    }

    /// Creates the child execution the nested call `call` of `parent` asks for, started.
    async fn create_nested(
        &self,
        parent: &ExecutionRecord,
        parent_state: &Execution,
        call: &TaskCall,
        linked: &mut Linked,
    ) -> Result<Created, RuntimeError> {
        let Some(starter) = self.nested_starter() else {
            let refused = TaskError::new(TASK_FAILED, "nested executions are not served here");
            return Ok(Created::Refused(refused));
        };
        let (start, name) = match nested::start_of(parent_state.info(), call) {
            Ok(start) => start,
            Err(error) => return Ok(Created::Refused(error)),
        };
        let request = NestedRequest {
            tenant: &parent.tenant,
            parent: parent_state.info(),
            start: &start,
            name: name.clone(),
        };
        let prepared = match starter.prepare(request).await {
            Ok(prepared) => prepared,
            Err(error) => return Ok(Created::Refused(error)),
        };
        let PreparedChild { new, info, flow } = prepared;
        let link = ParentLink {
            execution: parent.name.to_string(),
            op: call.op,
            flow: Some(parent.flow_id.0),
        };
        let fresh = Execution::child(info, ScopeId::ROOT, link);
        let mut state = fresh.clone();
        let input = Input::Start {
            input: start.input.clone(),
        };
        let step = match state.apply(&flow, input, wall_clock_ms()) {
            Ok(step) => step,
            Err(r) => return Ok(Created::Refused(TaskError::new(TASK_FAILED, r.to_string()))),
        };
        let record = ExecutionRecord {
            id: ExecutionId(0),
            tenant: new.tenant.clone(),
            flow_id: new.flow_id,
            flow_name: new.flow_name.clone(),
            flow_revision: new.flow_revision,
            name: name.clone(),
            started_as: new.started_as.clone(),
            state: fresh.clone(),
            version: 0,
            created_at: new.now,
        };
        let mut nested = Linked::default();
        let step =
            Box::pin(self.link_created(&flow, &record, &mut state, step, &mut nested)).await?;
        let ended = state.status().is_terminal();
        let end = nested::nested_end(&name, &state);
        let started = nested::started(&end);
        let first = StepWrite::new(ExecutionId(0), 0, &fresh, state, &step);
        linked.push(LinkedWrite::Create { new, first }, step.effects, None);
        linked.append(nested);
        Ok(match ended {
            true => Created::Ended(started, end),
            false => Created::Running(name, flow, started),
        })
    }

    /// Stops the child execution the nested call `call` of `parent` waits for, in this step.
    async fn stop_nested(
        &self,
        parent: &ExecutionRecord,
        call: &TaskCall,
        linked: &mut Linked,
    ) -> Result<(), RuntimeError> {
        let Ok((start, name)) = nested::start_of(parent.state.info(), call) else {
            return Ok(());
        };
        let flow_name = nested::flow_name(&start);
        let Some(flow) = self.store.get_flow(&parent.tenant, &flow_name).await? else {
            return Ok(());
        };
        let Some(child) = self.store.find_execution(flow.id, &name).await? else {
            return Ok(());
        };
        // Only the child this call started: an execution of that name may be another's.
        let ours = child.state.parent().is_some_and(|link| {
            link.op == call.op
                && link.flow == Some(parent.flow_id.0)
                && link.execution == parent.name.as_str()
        });
        if ours && !child.state.status().is_terminal() {
            self.stop_child(parent, child, linked).await?;
        }
        Ok(())
    }

    /// Creates the child `start` asks for, started; returns its end if it ended at once.
    async fn create_child(
        &self,
        flow: &Flow,
        parent: &ExecutionRecord,
        parent_state: &Execution,
        start: &ChildStart,
        linked: &mut Linked,
    ) -> Result<Option<Result<Value, TaskError>>, RuntimeError> {
        let name = child_name(start);
        let info = child_info(parent_state.info(), &name, start.index);
        let link = ParentLink {
            execution: parent.name.to_string(),
            op: start.op,
            flow: None,
        };
        let fresh = Execution::child(info, start.scope, link);
        let mut state = fresh.clone();
        let input = Input::Start {
            input: start.input.clone(),
        };
        let step =
            state
                .apply(flow, input, wall_clock_ms())
                .map_err(|r| RuntimeError::Definition {
                    flow: parent.flow_id,
                    revision: parent.flow_revision,
                    reason: r.to_string(),
                })?;
        // A child's own children are created and stopped in the same transaction; its end is
        // folded into its parent's step by the caller, not reported.
        let record = ExecutionRecord {
            id: ExecutionId(0),
            name: name.clone(),
            state: fresh.clone(),
            version: 0,
            ..parent.clone()
        };
        let mut nested = Linked::default();
        let step =
            Box::pin(self.link_created(flow, &record, &mut state, step, &mut nested)).await?;
        let end = state.status().is_terminal().then(|| child_end(&state));
        let new = NewExecution {
            tenant: parent.tenant.clone(),
            flow_id: parent.flow_id,
            flow_name: parent.flow_name.clone(),
            flow_revision: parent.flow_revision,
            name,
            reruns: None,
            map_run: Some(start.map_run.clone()),
            // Under its parent's test case: its own invocations counted in its own history.
            started_as: StartedAs {
                test_case: parent.started_as.test_case.clone(),
                ..StartedAs::default()
            },
            now: wall_clock_ms(),
        };
        let first = StepWrite::new(ExecutionId(0), 0, &fresh, state, &step);
        linked.push(LinkedWrite::Create { new, first }, step.effects, None);
        linked.append(nested);
        Ok(end)
    }

    /// [`Runtime::link`] for a child being created: it can only start children of its own
    /// (nothing of it runs yet to stop, and it reports its end through its creator).
    async fn link_created(
        &self,
        flow: &Flow,
        record: &ExecutionRecord,
        state: &mut Execution,
        mut step: Step,
        linked: &mut Linked,
    ) -> Result<Step, RuntimeError> {
        let mut at = 0;
        while at < step.effects.len() {
            let inputs: Vec<Input> = match step.effects[at].clone() {
                Effect::StartChild(start) => {
                    Box::pin(self.create_child(flow, record, state, &start, linked))
                        .await?
                        .map(|end| Input::ChildFinished {
                            op: start.op,
                            result: end,
                        })
                        .into_iter()
                        .collect()
                }
                Effect::Dispatch(call) if nested::waits(&call) => {
                    let child = self.create_nested(record, state, &call, linked).await?;
                    child
                        .answers()
                        .into_iter()
                        .map(|result| Input::TaskCompleted {
                            op: call.op,
                            result,
                        })
                        .collect()
                }
                _ => Vec::new(),
            };
            for input in inputs {
                if let Ok(more) = state.apply(flow, input, wall_clock_ms()) {
                    step.events.extend(more.events);
                    step.effects.extend(more.effects);
                }
            }
            at += 1;
        }
        Ok(step)
    }

    /// Stops the running child `child` of `parent` (and its own children) in this step.
    async fn stop_child(
        &self,
        parent: &ExecutionRecord,
        child: ExecutionRecord,
        linked: &mut Linked,
    ) -> Result<(), RuntimeError> {
        let flow = self.flow(child.flow_id, child.flow_revision).await?;
        let mut running = RunningChildren::default();
        let mut state = child.state.clone();
        let stop = parent_gone(parent);
        let Ok(step) = state.apply(&flow, stop, wall_clock_ms()) else {
            return Ok(());
        };
        let mut nested = Linked::default();
        // The parent is told nothing: it stopped the child and no longer waits for it.
        let mut effects = step.effects.clone();
        for effect in &effects {
            match effect {
                Effect::StopChild(op) => {
                    let grandchild = child.state.pending_ops().find_map(|pending| match pending {
                        PendingOp::Child(start) if start.op == *op => Some(start.clone()),
                        _ => None,
                    });
                    if let Some(grandchild) = grandchild
                        && let Some(grandchild) = running.child(self, &child, &grandchild).await?
                    {
                        Box::pin(self.stop_child(&child, grandchild, &mut nested)).await?;
                    }
                }
                Effect::CancelTask(op) => {
                    if let Some(call) = nested::waiting_call(&child, *op) {
                        let call = call.clone();
                        Box::pin(self.stop_nested(&child, &call, &mut nested)).await?;
                    }
                }
                _ => {}
            }
        }
        effects.retain(|e| !matches!(e, Effect::StartChild(_) | Effect::StopChild(_)));
        let write = StepWrite::new(child.id, child.version, &child.state, state, &step);
        linked.push(LinkedWrite::Step(write), effects, Some(child));
        linked.append(nested);
        Ok(())
    }

    /// Reports the end of the child `record` (now `state`) to its parent, under the parent's
    /// lock, in this step: to its distributed Map (`ChildFinished`), or to the task that
    /// started it (`TaskCompleted` with its [`sluice_ir::nested::NestedEnd`]).
    async fn report_to_parent(
        &self,
        record: &ExecutionRecord,
        state: &Execution,
        parent: ParentLink,
        linked: &mut Linked,
    ) -> Result<(), RuntimeError> {
        let name = ExecutionName::new(parent.execution.clone());
        let parent_flow = parent.flow.map_or(record.flow_id, sluice_store::FlowId);
        let Some(id) = self.parent_id(parent_flow, name).await? else {
            return Ok(());
        };
        // The gate first: the lock then has one report waiting at most, ahead of a stop.
        let gate = self.report_gate(id).lock_owned().await;
        let guard = self.execution_lock(id).lock_owned().await;
        linked.guards.push(gate);
        linked.guards.push(guard);
        let Some(current) = self.store.get_execution(id).await? else {
            return Ok(());
        };
        let flow = self.flow(current.flow_id, current.flow_revision).await?;
        let mut parent_state = current.state.clone();
        let input = match parent.flow {
            Some(_) => Input::TaskCompleted {
                op: parent.op,
                result: Ok(
                    serde_json::to_value(nested::nested_end(&record.name, state))
                        .expect("a NestedEnd is JSON"),
                ),
            },
            None => Input::ChildFinished {
                op: parent.op,
                result: child_end(state),
            },
        };
        // A parent that no longer waits (it stopped the child, or ended) refuses the report.
        let Ok(step) = parent_state.apply(&flow, input, wall_clock_ms()) else {
            return Ok(());
        };
        let mut nested = Linked::default();
        let step = self
            .link(&flow, &current, &mut parent_state, step, &mut nested)
            .await?;
        let write = StepWrite::new(
            current.id,
            current.version,
            &current.state,
            parent_state,
            &step,
        );
        linked.push(LinkedWrite::Step(write), step.effects, Some(current));
        linked.append(nested);
        Ok(())
    }

    /// After the commit: the linked executions' effects (a created child's looked up by name
    /// for its id).
    pub(super) async fn perform_linked(&self, after: AfterCommit) {
        drop(after.guards);
        for (target, effects) in after.effects {
            let record = match target {
                LinkedTarget::Stepped(record) => *record,
                LinkedTarget::Created(flow, name) => {
                    match self.store.find_execution(flow, &name).await {
                        Ok(Some(record)) => {
                            super::lifecycle::started(&record, self.dialect(&record));
                            record
                        }
                        _ => continue,
                    }
                }
            };
            self.perform(&record, effects);
        }
    }
}

/// The running children of the map runs a step stops, read a page at a time by map run
/// (rather than one by one: a stop may stop thousands).
#[derive(Default)]
struct RunningChildren {
    /// By map run, then by name.
    runs: HashMap<String, HashMap<ExecutionName, ExecutionRecord>>,
}

/// Running children read per query.
const CHILDREN_PAGE: usize = 1000;

impl RunningChildren {
    /// The running child `start` of `parent`, if it still runs.
    async fn child(
        &mut self,
        runtime: &Runtime,
        parent: &ExecutionRecord,
        start: &ChildStart,
    ) -> Result<Option<ExecutionRecord>, RuntimeError> {
        if !self.runs.contains_key(&start.map_run) {
            let children = runtime.running_children(parent, &start.map_run).await?;
            self.runs.insert(start.map_run.clone(), children);
        }
        Ok(self
            .runs
            .get_mut(&start.map_run)
            .and_then(|children| children.remove(&child_name(start))))
    }
}

impl Runtime {
    async fn running_children(
        &self,
        parent: &ExecutionRecord,
        map_run: &str,
    ) -> Result<HashMap<ExecutionName, ExecutionRecord>, RuntimeError> {
        let query = ExecutionQuery {
            tenant: parent.tenant.clone(),
            flows: FlowSelection::Flow(parent.flow_id),
            statuses: vec![Status::Starting, Status::Running],
            name_prefix: None,
            started_from: None,
            started_to: None,
            latest_runs: false,
            map_run: Some(map_run.to_string()),
            redriven: None,
            started_as: StartedAs::default(),
            order: ExecutionOrder::Name,
        };
        let mut children = HashMap::new();
        let mut after = None;
        loop {
            let page = Page::after(after.take(), CHILDREN_PAGE);
            let records = self.store.list_executions(&query, page).await?;
            let full = records.len() == CHILDREN_PAGE;
            if let Some(last) = records.last() {
                after = Some(ExecutionCursor::after_name(last.name.clone()));
            }
            children.extend(records.into_iter().map(|r| (r.name.clone(), r)));
            if !full {
                return Ok(children);
            }
        }
    }

    /// The id of a child's parent, read once per parent (every child of a run asks).
    async fn parent_id(
        &self,
        flow: sluice_store::FlowId,
        name: ExecutionName,
    ) -> Result<Option<ExecutionId>, RuntimeError> {
        if let Some(id) = super::lock(&self.parent_ids).get(&(flow, name.clone())) {
            return Ok(Some(*id));
        }
        let Some(found) = self.store.find_execution(flow, &name).await? else {
            return Ok(None);
        };
        let mut ids = super::lock(&self.parent_ids);
        if ids.len() >= PARENT_IDS_KEPT {
            ids.clear();
        }
        ids.insert((flow, name), found.id);
        Ok(Some(found.id))
    }
}

/// Parent ids remembered; past that many, forgotten all at once (they are read again).
const PARENT_IDS_KEPT: usize = 4096;

/// How a child is stopped when its parent ends or stops it.
fn parent_gone(parent: &ExecutionRecord) -> Input {
    Input::Stop {
        error: None,
        cause: Some(format!("its parent execution {} ended", parent.name)),
    }
}

fn op_of(pending: PendingOp<'_>) -> sluice_engine::OpId {
    match pending {
        PendingOp::Task { call, .. } => call.op,
        PendingOp::Timer { op, .. } => op,
        PendingOp::Child(start) => start.op,
    }
}

/// A child's identity, from its parent's: its own name and seed, its parent's limits and
/// token secret (so its callback tokens name it, as the service reads them).
fn child_info(parent: &ExecutionInfo, name: &ExecutionName, index: u32) -> ExecutionInfo {
    let mut parts = parent.token_prefix.splitn(4, '.');
    let token_prefix = match (parts.next(), parts.next(), parts.next()) {
        (Some(flow), Some(_), Some(secret)) => format!("{flow}.{name}.{secret}."),
        _ => format!("{}{name}.", parent.token_prefix),
    };
    ExecutionInfo {
        name: name.to_string(),
        flow_name: parent.flow_name.clone(),
        role_arn: parent.role_arn.clone(),
        token_prefix,
        seed: parent.seed ^ u64::from(index).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        limits: parent.limits,
        context_ids: None,
    }
}

/// A child's end as its parent sees it: its output, or why it did not succeed.
pub fn child_end(state: &Execution) -> Result<Value, TaskError> {
    match (state.status(), state.error()) {
        (Status::Succeeded, _) => Ok(state.output().cloned().unwrap_or(Value::Null)),
        (_, Some(error)) if !error.code.as_str().is_empty() => Err(error.clone()),
        (status, _) => Err(TaskError::new(
            ErrorCode::FAILED,
            format!("the child execution ended {}", status.as_str()),
        )),
    }
}
