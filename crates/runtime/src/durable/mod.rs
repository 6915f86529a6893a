//! The durable runtime: executions whose every step is committed to a [`Store`] before its
//! effects are carried out.
//!
//! The cycle for one input to one execution, under that execution's lock:
//! load the execution → `Execution::apply` → commit the step (state, history, timer and task
//! rows, one transaction, compare-and-set on the version) → perform the effects (dispatch or
//! abort HTTP calls, arm or drop timers, wake long-pollers).
//!
//! Because effects run only after the commit, a stop that committed can never be followed by
//! an event of the execution: the engine rejects late results as stale, and the in-flight calls
//! are aborted right after the commit, by this node or, through a [`Signal`], by the node
//! making the call. Because every outstanding timer and task call has a row, the node that
//! takes over after a crash ([`Runtime::take_up`]) re-arms the timers and dispatches the calls
//! again (at-least-once for task calls).
//!
//! What is owed to an accepted execution survives a database that stops answering: a task's
//! result, a timer's firing and an abort's signal are tried again with a bounded backoff
//! ([`retry`]) until they commit; a step whose commit is in doubt is read back, and its effects
//! carried out if it committed ([`settle`]); after missing the other nodes' signals, the calls
//! in flight here are checked against the store ([`Runtime::resync_calls`]).

mod calls;
mod children;
mod lifecycle;
pub mod nested;
mod progress;
mod recent;
mod retry;
mod settle;
mod timers;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use serde_json::Value;
use sluice_engine::{
    Effect, Execution, ExecutionInfo, Input, Millis, OpId, PendingOp, Rejection, Step, TaskCall,
};
use sluice_ir::{Dialect, Flow, TaskTarget};
use sluice_lang::DefinitionError;
use sluice_store::{
    ExecutionId, ExecutionRecord, FlowId, NewExecution, Page, Signal, StepWrite, Store, StoreError,
    TaskRow, TimerRow,
};
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;

use crate::invoke::{CallOrigin, Invoker};
use progress::Announcer;
pub use progress::Progress;
pub use retry::{Backoff, is_transient};
use settle::{Target, Unsettled};
use timers::Timers;

use children::Linked;
pub use children::{child_end, child_name};

/// Compiles a stored definition into the IR, with every located problem when it cannot:
/// [`sluice_lang::compile`], unless a test gives another.
pub type Compiler = dyn Fn(Dialect, &str) -> Result<Flow, DefinitionError> + Send + Sync;

/// The wall clock, in milliseconds since the Unix epoch.
pub fn wall_clock_ms() -> Millis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the definition of flow {flow:?} revision {revision} cannot be loaded: {reason}")]
    Definition {
        flow: FlowId,
        revision: i64,
        reason: String,
    },
    /// A stored definition no longer compiles (it did when it was stored).
    #[error("the definition of flow {flow:?} revision {revision} cannot be loaded: {error}")]
    InvalidDefinition {
        flow: FlowId,
        revision: i64,
        error: DefinitionError,
    },
    #[error("execution {0} does not exist")]
    NoSuchExecution(ExecutionId),
}

/// What became of an input.
#[derive(Debug)]
pub enum Applied {
    /// Committed; the execution as it now is.
    Committed(Box<ExecutionRecord>, Step),
    /// The engine refused it; nothing changed.
    Rejected(Rejection, Box<ExecutionRecord>),
}

/// How often a long-poll looks at the store anyway: for an execution another node finished
/// and whose notice (`NodeStore::published`) did not arrive.
const RECHECK: Duration = Duration::from_secs(1);

/// Attempts at telling the other nodes to abort a call. If the database does not take the
/// signal, their listening connections are down too, and they resync when they are back.
const SIGNAL_ATTEMPTS: u32 = 8;

/// A flow revision compiled, and the dialect that wrote it (for the log).
struct Compiled {
    flow: Arc<Flow>,
    dialect: Dialect,
}

pub struct Runtime {
    /// This runtime, for the tasks it spawns.
    me: Weak<Runtime>,
    store: Arc<dyn Store>,
    invoker: Arc<Invoker>,
    compiler: Arc<Compiler>,
    flows: Mutex<HashMap<(FlowId, i64), Compiled>>,
    locks: Locks,
    /// The records of the executions this node stepped last (see `recent.rs`).
    recent: recent::Recent,
    /// Per parent execution, the queue of its children's reports (see `report_gate`).
    report_gates: Locks,
    /// The task calls this node is making (see `calls.rs`).
    calls: calls::Calls,
    finished: broadcast::Sender<ExecutionId>,
    progress: Announcer,
    timers: Timers,
    /// Ids of the parents of child executions, by flow and name (see `children.rs`).
    parent_ids: Mutex<HashMap<(FlowId, sluice_store::ExecutionName), ExecutionId>>,
    /// Who resolves and starts the executions tasks start (see `nested.rs`), once given.
    nested: std::sync::OnceLock<Weak<dyn nested::NestedStarter>>,
}

impl Runtime {
    pub fn new(store: Arc<dyn Store>, invoker: Arc<Invoker>, compiler: Arc<Compiler>) -> Arc<Self> {
        Arc::new_cyclic(|weak| Runtime {
            me: weak.clone(),
            store: store.clone(),
            invoker,
            compiler,
            flows: Mutex::default(),
            locks: Mutex::default(),
            recent: recent::Recent::default(),
            report_gates: Mutex::default(),
            calls: calls::Calls::default(),
            finished: broadcast::channel(1024).0,
            progress: Announcer::new(store.clone()),
            timers: Timers::new(store, weak.clone()),
            parent_ids: Mutex::default(),
            nested: std::sync::OnceLock::new(),
        })
    }

    /// Has `starter` resolve and start the executions tasks start (`nested.rs`); the first
    /// one given stays.
    pub fn serve_nested(&self, starter: Weak<dyn nested::NestedStarter>) {
        let _ = self.nested.set(starter);
    }

    fn nested_starter(&self) -> Option<Arc<dyn nested::NestedStarter>> {
        self.nested.get().and_then(Weak::upgrade)
    }

    /// Starts firing this node's timers and hearing the other nodes' signals and steps.
    pub fn start_background_work(self: &Arc<Self>) {
        self.timers.start();
        self.hear_signals();
        self.hear_steps();
    }

    /// Announces the steps other nodes committed, and wakes the long polls of the executions
    /// they finished.
    fn hear_steps(self: &Arc<Self>) {
        let mut steps = self.store.published();
        let runtime = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let step = match steps.recv().await {
                    Ok(step) => step,
                    // The long polls look at the store anyway, within `RECHECK`.
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "fell behind the other nodes' steps");
                        continue;
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let Some(runtime) = runtime.upgrade() else {
                    return;
                };
                if step.status.is_terminal() {
                    runtime.ended(step.id);
                }
                runtime.progress.relay(step);
            }
        });
    }

    /// Takes up work taken over from a node that died (or from the process before a
    /// restart): makes its task calls again and loads its timers.
    pub fn take_up(&self, tasks: Vec<TaskRow>, timers: u64) {
        if timers > 0 {
            self.timers.rescan();
        }
        if tasks.is_empty() {
            return;
        }
        let runtime = self.me.clone();
        tokio::spawn(async move {
            for TaskRow { execution, call } in tasks {
                let Some(runtime) = runtime.upgrade() else {
                    return;
                };
                runtime.take_up_call(execution, call).await;
            }
        });
    }

    /// Makes a call taken over again, if its execution still waits for it (the headers name
    /// the execution, so it is read first).
    async fn take_up_call(&self, id: ExecutionId, call: TaskCall) {
        let mut backoff = Backoff::default();
        let record = loop {
            match self.store.get_execution(id).await {
                Ok(record) => break record,
                Err(e) if is_transient(&e) => backoff.pause().await,
                Err(e) => {
                    return tracing::error!(execution = %id, error = %e, "reading an execution to make its call again failed");
                }
            }
        };
        match record {
            // Its child, created with the step that dispatched it, reports by itself.
            Some(_) if nested::waits(&call) => {}
            Some(record) if awaits(&record.state, &call) => match call.target {
                TaskTarget::Execution(_) => self.start_detached(&record, call),
                _ => self.dispatch(Arc::new(origin(&record)), id, call),
            },
            _ => {
                tracing::debug!(execution = %id, op = call.op.0, "a call taken over is no longer awaited")
            }
        }
    }

    fn hear_signals(self: &Arc<Self>) {
        let mut signals = self.store.signals();
        let runtime = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let signal = match signals.recv().await {
                    Ok(signal) => signal,
                    Err(broadcast::error::RecvError::Lagged(missed)) => {
                        tracing::warn!(missed, "fell behind the other nodes' signals");
                        Signal::Resync
                    }
                    Err(broadcast::error::RecvError::Closed) => return,
                };
                let Some(runtime) = runtime.upgrade() else {
                    return;
                };
                match signal {
                    Signal::AbortCall { execution, op } => runtime.calls.abort((execution, op)),
                    Signal::Resync => {
                        tokio::spawn(async move { runtime.resync_calls().await });
                    }
                }
            }
        });
    }

    /// Aborts the calls in flight here whose task rows are gone: the steps that settled them
    /// committed elsewhere while this node did not hear the signals (see [`Signal::Resync`]).
    pub async fn resync_calls(&self) {
        let calls = self.calls.in_flight();
        if calls.is_empty() {
            return;
        }
        let mut backoff = Backoff::default();
        let open = loop {
            match self.store.open_calls(&calls).await {
                Ok(open) => break open,
                Err(e) if is_transient(&e) && backoff.attempts() < SIGNAL_ATTEMPTS => {
                    backoff.pause().await
                }
                Err(e) => {
                    return tracing::error!(error = %e, "checking the calls in flight against the store failed");
                }
            }
        };
        let mut aborted = 0;
        for call in calls {
            if !open.contains(&call) && self.calls.cancel(call) {
                aborted += 1;
            }
        }
        tracing::info!(
            aborted,
            "checked the calls in flight here against the store after missing signals"
        );
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The task caller, shared with in-memory (Express) executions.
    pub fn invoker(&self) -> &Arc<Invoker> {
        &self.invoker
    }

    /// The IR of a flow revision, compiled once and cached.
    pub async fn flow(&self, flow: FlowId, revision: i64) -> Result<Arc<Flow>, RuntimeError> {
        if let Some(compiled) = lock(&self.flows).get(&(flow, revision)) {
            return Ok(compiled.flow.clone());
        }
        let definition = self
            .store
            .flow_definition(flow, revision)
            .await?
            .ok_or_else(|| RuntimeError::Definition {
                flow,
                revision,
                reason: "no such revision".into(),
            })?;
        let compiled = (self.compiler)(definition.dialect, &definition.text).map_err(|error| {
            RuntimeError::InvalidDefinition {
                flow,
                revision,
                error,
            }
        })?;
        let compiled = Arc::new(compiled);
        let entry = Compiled {
            flow: compiled.clone(),
            dialect: definition.dialect,
        };
        lock(&self.flows).insert((flow, revision), entry);
        Ok(compiled)
    }

    /// The dialect of a flow revision compiled here.
    fn dialect(&self, record: &ExecutionRecord) -> &'static str {
        lock(&self.flows)
            .get(&(record.flow_id, record.flow_revision))
            .map_or("unknown", |c| c.dialect.as_str())
    }

    /// Creates an execution and starts it, in one transaction.
    pub async fn start(
        &self,
        new: NewExecution,
        flow: &Flow,
        info: ExecutionInfo,
        input: Value,
    ) -> Result<ExecutionRecord, RuntimeError> {
        let now = wall_clock_ms();
        let fresh = Execution::new(info);
        let mut state = fresh.clone();
        let step = state
            .apply(flow, Input::Start { input }, now)
            .map_err(|r| RuntimeError::Definition {
                flow: new.flow_id,
                revision: new.flow_revision,
                reason: r.to_string(),
            })?;
        // The record as the store will write it, before (version 0) and after its first step.
        let record_of = |state: Execution, version| ExecutionRecord {
            id: ExecutionId(0),
            tenant: new.tenant.clone(),
            flow_id: new.flow_id,
            flow_name: new.flow_name.clone(),
            flow_revision: new.flow_revision,
            name: new.name.clone(),
            started_as: new.started_as.clone(),
            state,
            version,
            created_at: new.now,
        };
        let creating = record_of(fresh.clone(), 0);
        let mut linked = Linked::default();
        let step = self
            .link(flow, &creating, &mut state, step, &mut linked)
            .await?;
        let (writes, after_commit) = linked.split();
        let mut write = StepWrite::new(ExecutionId(0), 0, &fresh, state.clone(), &step);
        write.linked = writes;
        let target = Target::Creation {
            flow: new.flow_id,
            name: new.name.clone(),
        };
        let after = record_of(state, 1);
        let record = match self.store.create_execution(new, write).await {
            Ok(record) => record,
            Err(e) if settle::in_doubt(&e) => {
                let unsettled = Unsettled {
                    target,
                    after,
                    events: step.events,
                    effects: step.effects,
                };
                return match self.committed(&unsettled).await {
                    Ok(Some(current)) => {
                        lifecycle::started(&current, self.dialect(&current));
                        self.perform_settled(unsettled, &current);
                        self.perform_linked(after_commit).await;
                        Ok(current)
                    }
                    Ok(None) => Err(e.into()),
                    Err(_) => {
                        self.settle_later(unsettled);
                        Err(e.into())
                    }
                };
            }
            Err(e) => return Err(e.into()),
        };
        metrics::counter!("sluice_executions_started_total").increment(1);
        metrics::counter!("sluice_steps_committed_total").increment(1);
        lifecycle::started(&record, self.dialect(&record));
        self.recent.keep(&record);
        self.progress.announce(&record, &step.events);
        self.perform(&record, step.effects);
        self.perform_linked(after_commit).await;
        Ok(record)
    }

    /// Aborts an in-flight task call whose step has committed past it (a stop, or a
    /// FunctionGraph callback that completed its state): here if this node makes it, and by
    /// telling the others, for another node may make it too (one that took it over while this
    /// node's lease had run out, as after a database outage longer than the lease). Its
    /// answer, if it still comes, is refused by the engine.
    ///
    /// An abort may overtake the dispatch it aborts: the dispatching step commits, and the step
    /// that aborts commits (here or on another node) before the dispatching node gets to make
    /// the call. Such aborts are remembered for a while, and the call is then never made.
    pub fn abort_call(&self, id: ExecutionId, op: OpId) {
        self.calls.abort((id, op));
        let store = self.store.clone();
        tokio::spawn(async move {
            let signal = Signal::AbortCall { execution: id, op };
            let mut backoff = Backoff::default();
            while let Err(e) = store.signal(signal).await {
                if !is_transient(&e) || backoff.attempts() == SIGNAL_ATTEMPTS {
                    return tracing::warn!(execution = %id, error = %e, "telling the other nodes to abort a call failed");
                }
                backoff.pause().await;
            }
        });
    }

    /// Applies one input to an execution: commit, then effects.
    pub async fn submit(&self, id: ExecutionId, input: Input) -> Result<Applied, RuntimeError> {
        let guard = self.execution_lock(id);
        let _held = guard.lock().await;
        let mut cached = self.recent.take(id);
        loop {
            let from_cache = cached.is_some();
            let record = match cached.take() {
                Some(record) => record,
                None => self
                    .store
                    .get_execution(id)
                    .await?
                    .ok_or(RuntimeError::NoSuchExecution(id))?,
            };
            let flow = self.flow(record.flow_id, record.flow_revision).await?;
            let mut state = record.state.clone();
            let step = match state.apply(&flow, input.clone(), wall_clock_ms()) {
                Ok(step) => step,
                // The cached record may be behind the stored one, which may take the input.
                Err(_) if from_cache => continue,
                Err(rejection) => return Ok(Applied::Rejected(rejection, Box::new(record))),
            };
            let mut linked = Linked::default();
            let step = self
                .link(&flow, &record, &mut state, step, &mut linked)
                .await?;
            let (writes, after_commit) = linked.split();
            let mut write = StepWrite::new(id, record.version, &record.state, state.clone(), &step);
            write.linked = writes;
            let expected = record.version;
            let committed = ExecutionRecord {
                state,
                version: record.version + 1,
                ..record
            };
            match self.store.commit_step(write).await {
                Ok(()) => {
                    metrics::counter!("sluice_steps_committed_total").increment(1);
                    self.recent.keep(&committed);
                    self.progress.announce(&committed, &step.events);
                    self.perform(&committed, step.effects.clone());
                    self.perform_linked(after_commit).await;
                    return Ok(Applied::Committed(Box::new(committed), step));
                }
                // Another node moved the execution first: apply the input to its new state.
                Err(StoreError::Conflict(_)) => {
                    metrics::counter!("sluice_step_conflicts_total").increment(1);
                    continue;
                }
                Err(e) if settle::in_doubt(&e) => {
                    let unsettled = Unsettled {
                        target: Target::Step { id, expected },
                        after: committed.clone(),
                        events: step.events.clone(),
                        effects: step.effects.clone(),
                    };
                    return match self.committed(&unsettled).await {
                        Ok(Some(current)) => {
                            self.perform_settled(unsettled, &current);
                            self.perform_linked(after_commit).await;
                            Ok(Applied::Committed(Box::new(committed), step))
                        }
                        Ok(None) => Err(e.into()),
                        Err(_) => {
                            self.settle_later(unsettled);
                            Err(e.into())
                        }
                    };
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// The steps committed on this node from now on, as they commit.
    pub fn progress(&self) -> broadcast::Receiver<Arc<Progress>> {
        self.progress.subscribe()
    }

    /// Waits until the execution is terminal or `timeout` passes (long-poll).
    pub async fn wait_terminal(
        &self,
        id: ExecutionId,
        timeout: Duration,
    ) -> Result<Option<ExecutionRecord>, RuntimeError> {
        let mut finished = self.finished.subscribe();
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let record = self.store.get_execution(id).await?;
            match &record {
                Some(r) if !r.status().is_terminal() => {}
                _ => return Ok(record),
            }
            // Another node may finish it: look again at least every `RECHECK`.
            let wake = deadline.min(tokio::time::Instant::now() + RECHECK);
            loop {
                match tokio::time::timeout_at(wake, finished.recv()).await {
                    Err(_) if wake == deadline => return Ok(record),
                    Ok(Ok(done)) if done != id => continue,
                    // Our execution finished, we lagged behind, or it is time: look again.
                    _ => break,
                }
            }
        }
    }

    fn perform(&self, record: &ExecutionRecord, effects: Vec<Effect>) {
        let id = record.id;
        let mut origin = None;
        for effect in effects {
            match effect {
                // A child to wait for was created in the step's transaction (`children.rs`).
                Effect::Dispatch(call) if nested::waits(&call) => {}
                Effect::Dispatch(call) if matches!(call.target, TaskTarget::Execution(_)) => {
                    self.start_detached(record, call)
                }
                Effect::Dispatch(call) => {
                    let origin = origin.get_or_insert_with(|| Arc::new(self::origin(record)));
                    self.dispatch(origin.clone(), id, call)
                }
                Effect::CancelTask(op) => self.abort_call(id, op),
                Effect::StartTimer { op, fire_at } => self.timers.arm(TimerRow {
                    execution: id,
                    op,
                    fire_at,
                }),
                Effect::CancelTimer(op) => self.timers.disarm(id, op),
                // Carried out in the step's own transaction (see `children.rs`).
                Effect::StartChild(_) | Effect::StopChild(_) => {}
                Effect::Finish(status) => {
                    metrics::counter!("sluice_executions_finished_total", "status" => status.as_str()).increment(1);
                    lifecycle::finished(record, self.dialect(record));
                    self.ended(id);
                }
            }
        }
    }

    /// An execution ended, here or on another node: its calls in flight here are closed and
    /// its long polls here woken.
    fn ended(&self, id: ExecutionId) {
        self.calls.end(id);
        // Nobody waiting is fine.
        let _ = self.finished.send(id);
    }

    fn dispatch(&self, origin: Arc<CallOrigin>, id: ExecutionId, call: TaskCall) {
        if call.activity().is_some() {
            // Nothing to call: its worker takes it from the store (`ActivityStore`), and its
            // timers are armed like any.
            return;
        }
        let Some(token) = self.calls.claim((id, call.op)) else {
            return;
        };
        let invoker = self.invoker.clone();
        let runtime = self.me.clone();
        if invoker.mocked(&origin, &call).is_some() {
            tokio::spawn(async move {
                if let Some(runtime) = runtime.upgrade() {
                    runtime.answer_mocked(id, &origin, call, &token).await;
                }
            });
            return;
        }
        tokio::spawn(async move {
            let began = Instant::now();
            let result = invoker.invoke(&origin, &call, &token).await;
            if token.is_cancelled() {
                return;
            }
            lifecycle::task_call(&origin, &call, &result, began.elapsed());
            if let Some(runtime) = runtime.upgrade() {
                runtime.calls.returned((id, call.op));
                runtime.record_result(id, call.op, result).await;
            }
        });
    }

    /// Answers a call of a mocked state from the mock configuration: the invocation is counted
    /// from the stored history, so a take-over or a restart answers alike. A stop that commits
    /// first makes the answer stale (and cancels `token`).
    async fn answer_mocked(
        &self,
        id: ExecutionId,
        origin: &CallOrigin,
        call: TaskCall,
        token: &CancellationToken,
    ) {
        let Some(mocked) = self.invoker.mocked(origin, &call) else {
            return;
        };
        let mut backoff = Backoff::default();
        let index = loop {
            match self.invocation_index(id, &call).await {
                Ok(index) => break index,
                Err(e) if e.is_transient() => backoff.pause().await,
                Err(e) => {
                    self.calls.returned((id, call.op));
                    return tracing::error!(execution = %id, error = %e, "counting a mocked state's invocations failed");
                }
            }
        };
        let Some(index) = index else {
            self.calls.returned((id, call.op));
            return;
        };
        let result = mocked.answer(index);
        if token.is_cancelled() {
            return;
        }
        lifecycle::task_call(origin, &call, &result, Duration::ZERO);
        self.calls.returned((id, call.op));
        self.record_input(
            id,
            Input::TaskMocked {
                op: call.op,
                result,
            },
        )
        .await;
    }

    /// Which invocation of its state `call` is (`None`: the execution no longer waits for it).
    async fn invocation_index(
        &self,
        id: ExecutionId,
        call: &TaskCall,
    ) -> Result<Option<u64>, RuntimeError> {
        let Some(record) = self.store.get_execution(id).await? else {
            return Ok(None);
        };
        let Some(scheduled) = record.state.task_scheduled(call.op) else {
            return Ok(None);
        };
        const PAGE: usize = 1000;
        let mut events = Vec::new();
        let mut after = None;
        loop {
            let page = self.store.history(id, Page::after(after, PAGE)).await?;
            let done = page.len() < PAGE || page.last().is_some_and(|e| e.id >= scheduled);
            after = page.last().map(|e| e.id);
            events.extend(page);
            if done {
                break;
            }
        }
        Ok(Some(crate::mocks::invocation_index(
            &events,
            &call.state,
            scheduled,
        )))
    }

    /// Starts the execution a task asks for that it does not wait for, through the service;
    /// its start is the task's answer.
    fn start_detached(&self, record: &ExecutionRecord, call: TaskCall) {
        let runtime = self.me.clone();
        let (id, tenant, info) = (
            record.id,
            record.tenant.clone(),
            record.state.info().clone(),
        );
        tokio::spawn(async move {
            let Some(runtime) = runtime.upgrade() else {
                return;
            };
            let result = match (runtime.nested_starter(), nested::start_of(&info, &call)) {
                (_, Err(error)) => Err(error),
                (None, _) => Err(sluice_ir::TaskError::new(
                    sluice_ir::nested::TASK_FAILED,
                    "nested executions are not served here",
                )),
                (Some(starter), Ok((start, name))) => {
                    let request = nested::NestedRequest {
                        tenant: &tenant,
                        parent: &info,
                        start: &start,
                        name,
                    };
                    starter
                        .start_detached(request)
                        .await
                        .map(|end| serde_json::to_value(end).expect("a NestedEnd is JSON"))
                }
            };
            runtime.record_result(id, call.op, result).await;
        });
    }

    /// Records a call's result, trying again while the store fails: the call is not made again
    /// by anyone else (its row is this node's), so giving up would leave the execution waiting
    /// forever.
    async fn record_result(
        &self,
        id: ExecutionId,
        op: OpId,
        result: Result<Value, sluice_ir::TaskError>,
    ) {
        self.record_input(id, Input::TaskCompleted { op, result })
            .await;
    }

    /// Submits an answer the execution waits for, trying again while the store fails.
    async fn record_input(&self, id: ExecutionId, input: Input) {
        let mut backoff = Backoff::default();
        loop {
            match self.submit(id, input.clone()).await {
                Ok(_) if backoff.attempts() > 0 => {
                    return tracing::info!(execution = %id, attempts = backoff.attempts() + 1, "recorded a task result after the store came back");
                }
                Ok(_) => return,
                Err(e) if e.is_transient() => {
                    if backoff.attempts() == 0 {
                        tracing::warn!(execution = %id, error = %e, "recording a task result failed; trying again until the store answers");
                    }
                    backoff.pause().await;
                }
                Err(e) => {
                    return tracing::error!(execution = %id, error = %e, "recording a task result failed");
                }
            }
        }
    }

    fn execution_lock(&self, id: ExecutionId) -> Arc<tokio::sync::Mutex<()>> {
        lock_of(&self.locks, id)
    }

    /// What the children reporting to execution `id` queue on before its lock, so that at most
    /// one of them waits for the lock itself: a stop of the parent waits for one report, not
    /// for all of them (see `children.rs`).
    fn report_gate(&self, id: ExecutionId) -> Arc<tokio::sync::Mutex<()>> {
        lock_of(&self.report_gates, id)
    }
}

type Locks = Mutex<HashMap<ExecutionId, Arc<tokio::sync::Mutex<()>>>>;

fn lock_of(locks: &Locks, id: ExecutionId) -> Arc<tokio::sync::Mutex<()>> {
    let mut locks = lock(locks);
    // Drop locks nobody holds so the map stays as small as the work in progress.
    if locks.len() > 4096 {
        locks.retain(|_, l| Arc::strong_count(l) > 1);
    }
    locks.entry(id).or_default().clone()
}

/// Whose call it is, as its headers say.
fn origin(record: &ExecutionRecord) -> CallOrigin {
    CallOrigin {
        flow: record.flow_name.to_string(),
        execution: record.name.to_string(),
        key: record.id.to_string(),
        tenant: Some(record.tenant.clone()),
        test_case: record.started_as.test_case.clone(),
    }
}

/// Whether the execution still waits for the answer of `call` (not only for its callback).
pub(super) fn awaits(state: &Execution, call: &TaskCall) -> bool {
    state.pending_ops().any(|pending| {
        matches!(pending, PendingOp::Task { call: c, submitted: false } if c.op == call.op)
    })
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic while holding one of these maps cannot leave it inconsistent (single inserts
    // and removes), so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}
