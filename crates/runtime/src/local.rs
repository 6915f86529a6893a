//! Runs one execution in memory, start to finish: `sluice run`.
//!
//! Nothing is stored: the engine's effects are carried out directly (task calls as tokio
//! tasks, timers as tokio sleeps) and their answers are fed back to the engine one at a time
//! through a channel. Time comes from a [`Clock`] built on tokio's clock, so tests with paused
//! time run Wait states and retry backoffs in virtual time.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::Value;
use sluice_engine::{
    ChildStart, ContextIds, Effect, Execution, ExecutionInfo, HistoryEvent, Input, Inspection,
    Limits, Millis, OpId, ParentLink, Rejection, Status, Step, TaskCall,
};
use sluice_ir::{ErrorCode, Flow, StateKind, TaskError, TaskMode, TaskTarget, actions};
use sluice_store::TenantId;
use tokio::sync::mpsc;
use tokio::task::AbortHandle;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::invoke::{CallOrigin, Invoker};

/// The error of an EVENT wait for which no event was given.
const NO_EVENT_LEFT: &str = "Sluice.NoEventLeft";

/// A boxed future: a run starts its children's runs, so the run is recursive.
type BoxFuture<'a, T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send + 'a>>;

/// Maps tokio time to the engine's epoch milliseconds: the wall-clock time at creation plus
/// the tokio time elapsed since.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    origin: Instant,
    origin_ms: Millis,
}

impl Clock {
    pub fn start() -> Self {
        let origin_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        Self {
            origin: Instant::now(),
            origin_ms,
        }
    }

    pub fn now_ms(&self) -> Millis {
        let elapsed = i64::try_from(self.origin.elapsed().as_millis()).unwrap_or(i64::MAX);
        self.origin_ms.saturating_add(elapsed)
    }

    /// The tokio instant of `at`; instants in the past are now. Instants beyond what the
    /// platform can represent (a Wait until the year 9999) become "in a century", which no
    /// local run lives to see, instead of overflowing.
    pub fn instant_at(&self, at: Millis) -> Instant {
        const CENTURY: Duration = Duration::from_secs(100 * 365 * 24 * 3600);
        let offset = u64::try_from(at.saturating_sub(self.origin_ms)).unwrap_or(0);
        let offset = Duration::from_millis(offset).min(CENTURY);
        self.origin.checked_add(offset).unwrap_or(self.origin)
    }
}

/// How an execution ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunOutcome {
    pub status: Status,
    pub output: Option<Value>,
    pub error: Option<TaskError>,
    pub history: Vec<HistoryEvent>,
    /// What an inspected execution recorded of its first state ([`LocalRunner::inspect`]).
    pub inspection: Option<Inspection>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(
        "state {state:?} waits for a custom callback (TaskMode: WaitForCustomCallback): its \
         result arrives through ReportTaskSucceeded/ReportTaskFailed, which only the server \
         (`sluice serve`) receives, so `sluice run` cannot execute this flow"
    )]
    NeedsServer { state: String },
    #[error(
        "state {state:?} waits for an event (a FunctionGraph EVENT state), which the server \
         receives through event_test; give `sluice run` the events with --event JSON, one per \
         wait, in order"
    )]
    NeedsEvent { state: String },
    #[error("the engine refused to start the execution: {0}")]
    NotStarted(Rejection),
}

/// Runs executions in memory, calling functions with its [`Invoker`].
#[derive(Debug, Clone)]
pub struct LocalRunner {
    invoker: Arc<Invoker>,
    name: String,
    tenant: Option<TenantId>,
    limits: Limits,
    stop_error: Option<String>,
    stop_cause: Option<String>,
    context_ids: Option<ContextIds>,
    /// The events fed, in order, to the EVENT states that wait for one.
    events: Vec<Value>,
    /// The test case of the invoker's mock configuration the execution runs under.
    test_case: Option<String>,
    /// The flow's name as its API knows it, when the definition does not name it.
    flow_name: Option<String>,
    /// Whether the execution's first state is inspected, and the variables it starts with.
    inspection: Option<serde_json::Map<String, Value>>,
    role_arn: Option<String>,
}

impl LocalRunner {
    pub fn new(invoker: Invoker) -> Self {
        Self {
            invoker: Arc::new(invoker),
            name: "local".to_string(),
            tenant: None,
            limits: Limits::default(),
            stop_error: None,
            stop_cause: None,
            context_ids: None,
            events: Vec::new(),
            test_case: None,
            flow_name: None,
            inspection: None,
            role_arn: None,
        }
    }

    /// The flow's name as its API knows it (a server's Express execution): the
    /// `X-Sluice-Flow` header, and the flow whose test cases `test_case` names.
    pub fn flow_name(mut self, name: impl Into<String>) -> Self {
        self.flow_name = Some(name.into());
        self
    }

    /// Runs the execution under `case` of the invoker's mock configuration (`crate::mocks`).
    pub fn test_case(mut self, case: Option<String>) -> Self {
        self.test_case = case;
        self
    }

    /// Runs the execution's first state alone, recording what it does with its data (AWS's
    /// `TestState`; see the engine's `Inspection`).
    pub fn inspect(mut self, variables: serde_json::Map<String, Value>) -> Self {
        self.inspection = Some(variables);
        self
    }

    /// The role the execution runs as (`$$.Execution.RoleArn`).
    pub fn role_arn(mut self, role_arn: Option<String>) -> Self {
        self.role_arn = role_arn;
        self
    }

    /// The events the execution's EVENT states receive, one per wait, in order: what the
    /// server's `event_test` delivers.
    pub fn events(mut self, events: Vec<Value>) -> Self {
        self.events = events;
        self
    }

    /// The execution name (`$Context.Execution.Name`, the `X-Sluice-Execution` header; the
    /// flow's own name is the `X-Sluice-Flow` header).
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// The tenant whose definition runs (a server's Express execution): its outbound allowlist
    /// applies to the targets the definition names.
    pub fn tenant(mut self, tenant: TenantId) -> Self {
        self.tenant = Some(tenant);
        self
    }

    /// How the API names the execution and its flow to the definition (a top-level execution
    /// only: a distributed Map's children are named by their own names).
    pub fn context_ids(mut self, ids: Option<ContextIds>) -> Self {
        self.context_ids = ids;
        self
    }

    /// Overrides the engine's limits, e.g. the execution timeout.
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The error and cause recorded when the execution is stopped.
    pub fn stop_reason(mut self, error: impl Into<String>, cause: impl Into<String>) -> Self {
        self.stop_error = Some(error.into());
        self.stop_cause = Some(cause.into());
        self
    }

    /// Runs `flow` with `input` to a terminal status. Cancelling `stop` stops the execution:
    /// in-flight calls are aborted and the outcome is `Stopped`.
    pub async fn run(
        &self,
        flow: &Flow,
        input: Value,
        stop: CancellationToken,
    ) -> Result<RunOutcome, RunError> {
        refuse_custom_callbacks(flow, !self.events.is_empty())?;
        let clock = Clock::start();
        let info = ExecutionInfo {
            context_ids: self.context_ids.clone(),
            role_arn: self.role_arn.clone(),
            ..self.execution_info(flow, &self.name, &clock)
        };
        let execution = match &self.inspection {
            Some(variables) => Execution::inspected(info, variables.clone()),
            None => Execution::new(info),
        };
        let flow = Arc::new(flow.clone());
        self.run_execution(flow, execution, input, clock, stop)
            .await
    }

    /// Runs `execution` (a top-level one, or a distributed Map's child) to a terminal status;
    /// its children run the same way, each in its own task.
    fn run_execution(
        &self,
        flow: Arc<Flow>,
        mut execution: Execution,
        input: Value,
        clock: Clock,
        stop: CancellationToken,
    ) -> BoxFuture<'static, Result<RunOutcome, RunError>> {
        let runner = self.clone();
        Box::pin(async move {
            let (inputs, answers) = mpsc::unbounded_channel();
            let info = execution.info();
            let origin = CallOrigin {
                flow: runner
                    .flow_name
                    .clone()
                    .unwrap_or_else(|| info.flow_name.clone()),
                execution: info.name.clone(),
                key: info.name.clone(),
                tenant: runner.tenant.clone(),
                test_case: runner.test_case.clone(),
            };
            let mut effects = Effects::new(runner.invoker.clone(), origin, clock, inputs);
            effects.events = runner.events.iter().cloned().collect();
            effects.children = Some(Children {
                runner: runner.clone(),
                flow: flow.clone(),
                running: HashMap::new(),
            });
            let first = execution
                .apply(&flow, Input::Start { input }, clock.now_ms())
                .map_err(RunError::NotStarted)?;
            runner
                .drive(&flow, execution, first, effects, answers, stop)
                .await
        })
    }

    /// Feeds the execution its answers (and the stop, first) until it is terminal.
    async fn drive(
        &self,
        flow: &Flow,
        mut execution: Execution,
        first: Step,
        mut effects: Effects,
        mut answers: mpsc::UnboundedReceiver<Input>,
        stop: CancellationToken,
    ) -> Result<RunOutcome, RunError> {
        let clock = effects.clock;
        let mut history = Vec::new();
        let mut finished = effects.perform(first, &mut history, &execution);
        let mut stop_requested = false;
        while !finished {
            let next = tokio::select! {
                // A stop outranks answers already queued: they lose the race, as the stop
                // contract requires.
                biased;
                () = stop.cancelled(), if !stop_requested => {
                    stop_requested = true;
                    Input::Stop { error: self.stop_error.clone(), cause: self.stop_cause.clone() }
                }
                // `effects` holds a sender until the loop ends, so `recv` never yields None.
                Some(input) = answers.recv() => {
                    effects.forget(&input);
                    input
                }
            };
            match execution.apply(flow, next, clock.now_ms()) {
                Ok(step) => finished = effects.perform(step, &mut history, &execution),
                // A late answer for a task or timer that was already settled: nothing to do.
                Err(Rejection::Stale) => {}
                Err(rejection) => {
                    tracing::warn!(%rejection, "the engine refused an input of a local run");
                }
            }
        }
        Ok(RunOutcome {
            status: execution.status(),
            output: execution.output().cloned(),
            error: execution.error().cloned(),
            history,
            inspection: execution.inspection().cloned(),
        })
    }

    fn execution_info(&self, flow: &Flow, name: &str, clock: &Clock) -> ExecutionInfo {
        ExecutionInfo {
            name: name.to_string(),
            flow_name: flow.name.clone().unwrap_or_else(|| "local".to_string()),
            role_arn: None,
            // Custom callbacks are refused up front, so no token ever leaves this process.
            token_prefix: format!("{name}-"),
            seed: u64::try_from(clock.now_ms()).unwrap_or_default(),
            limits: self.limits,
            context_ids: None,
        }
    }
}

/// A custom callback can only arrive through the server's API; without it such a task would
/// wait until its timeout, so say so before starting.
fn refuse_custom_callbacks(flow: &Flow, has_events: bool) -> Result<(), RunError> {
    for state in &flow.states {
        let StateKind::Task(task) = &state.kind else {
            continue;
        };
        if task.mode != TaskMode::WaitForCustomCallback {
            continue;
        }
        let name = state.name.to_string();
        if !is_event_wait(&task.target) {
            return Err(RunError::NeedsServer { state: name });
        }
        if !has_events {
            return Err(RunError::NeedsEvent { state: name });
        }
    }
    Ok(())
}

fn is_event_wait(target: &TaskTarget) -> bool {
    matches!(target, TaskTarget::Action(action) if action == actions::EVENT)
}

/// The effects in progress of one execution: task calls and timers, each a tokio task that
/// reports back through `inputs`.
struct Effects {
    invoker: Arc<Invoker>,
    origin: Arc<CallOrigin>,
    clock: Clock,
    inputs: mpsc::UnboundedSender<Input>,
    calls: HashMap<OpId, CancellationToken>,
    timers: HashMap<OpId, AbortHandle>,
    /// What the next EVENT waits receive.
    events: VecDeque<Value>,
    /// How child executions run, and those running.
    children: Option<Children>,
}

/// The child executions of one execution: each runs in its own task with its own stop.
struct Children {
    runner: LocalRunner,
    flow: Arc<Flow>,
    running: HashMap<OpId, CancellationToken>,
}

impl Effects {
    fn new(
        invoker: Arc<Invoker>,
        origin: CallOrigin,
        clock: Clock,
        inputs: mpsc::UnboundedSender<Input>,
    ) -> Self {
        Self {
            invoker,
            origin: Arc::new(origin),
            clock,
            inputs,
            calls: HashMap::new(),
            timers: HashMap::new(),
            events: VecDeque::new(),
            children: None,
        }
    }

    /// Records the step's events and carries out its effects (`execution` as the step left
    /// it); true when the execution finished.
    fn perform(
        &mut self,
        step: Step,
        history: &mut Vec<HistoryEvent>,
        execution: &Execution,
    ) -> bool {
        history.extend(step.events);
        let mut finished = false;
        for effect in step.effects {
            match effect {
                Effect::Dispatch(call) => {
                    if !self.answer_mocked(&call, history, execution) {
                        self.dispatch(call)
                    }
                }
                Effect::CancelTask(op) => {
                    if let Some(token) = self.calls.remove(&op) {
                        token.cancel();
                    }
                }
                Effect::StartTimer { op, fire_at } => self.start_timer(op, fire_at),
                Effect::CancelTimer(op) => {
                    if let Some(timer) = self.timers.remove(&op) {
                        timer.abort();
                    }
                }
                Effect::StartChild(start) => self.start_child(start),
                Effect::StopChild(op) => {
                    if let Some(stop) = self.children.as_mut().and_then(|c| c.running.remove(&op)) {
                        stop.cancel();
                    }
                }
                Effect::Finish(_) => finished = true,
            }
        }
        finished
    }

    /// Answers `call` from the mock configuration instead of calling it, if its state is
    /// mocked; false if it is not.
    fn answer_mocked(
        &self,
        call: &TaskCall,
        history: &[HistoryEvent],
        execution: &Execution,
    ) -> bool {
        let (Some(mocked), Some(scheduled)) = (
            self.invoker.mocked(&self.origin, call),
            execution.task_scheduled(call.op),
        ) else {
            return false;
        };
        let index = crate::mocks::invocation_index(history, &call.state, scheduled);
        // Queued behind a stop already asked for, which then makes it stale.
        let _ = self.inputs.send(Input::TaskMocked {
            op: call.op,
            result: mocked.answer(index),
        });
        true
    }

    /// The call or timer that produced `answer` is over; stop tracking it.
    fn forget(&mut self, answer: &Input) {
        match answer {
            Input::TaskCompleted { op, .. } => {
                self.calls.remove(op);
            }
            Input::TimerFired { op } => {
                self.timers.remove(op);
            }
            Input::ChildFinished { op, .. } => {
                if let Some(children) = &mut self.children {
                    children.running.remove(op);
                }
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, call: TaskCall) {
        let event = match (&call.token, is_event_wait(&call.target)) {
            (Some(token), true) => Some((token.clone(), self.next_event(&call))),
            _ => None,
        };
        let cancel = CancellationToken::new();
        self.calls.insert(call.op, cancel.clone());
        let (invoker, origin, inputs) = (
            self.invoker.clone(),
            self.origin.clone(),
            self.inputs.clone(),
        );
        // WaitForSystemCallback needs nothing special here: the function's answer is the
        // system's callback.
        tokio::spawn(async move {
            let result = invoker.invoke(&origin, &call, &cancel).await;
            if !cancel.is_cancelled() {
                // The run may have ended meanwhile; its answer is then of no use to anyone.
                let submitted = result.is_ok();
                let _ = inputs.send(Input::TaskCompleted {
                    op: call.op,
                    result,
                });
                if let (true, Some((token, result))) = (submitted, event) {
                    let _ = inputs.send(Input::CallbackReported { token, result });
                }
            }
        });
    }

    /// The event of an EVENT wait: the next one given, or a failure once they ran out.
    fn next_event(&mut self, call: &TaskCall) -> Result<Value, TaskError> {
        self.events.pop_front().ok_or_else(|| {
            TaskError::new(
                NO_EVENT_LEFT,
                format!(
                    "state {:?} waits for an event and every --event was used",
                    call.state.as_str()
                ),
            )
        })
    }

    /// Runs the child execution `start` asks for, named after its parent, state and index;
    /// its end is reported unless it was stopped by its parent meanwhile.
    fn start_child(&mut self, start: ChildStart) {
        let Some(children) = &mut self.children else {
            return;
        };
        let stop = CancellationToken::new();
        children.running.insert(start.op, stop.clone());
        let name = format!("{}:{}:{}", self.origin.execution, start.state, start.index);
        let runner = &children.runner;
        let info = runner.execution_info(&children.flow, &name, &self.clock);
        let parent = ParentLink {
            execution: self.origin.execution.clone(),
            op: start.op,
            flow: None,
        };
        let child = Execution::child(info, start.scope, parent);
        let run = runner.run_execution(
            children.flow.clone(),
            child,
            start.input,
            self.clock,
            stop.clone(),
        );
        let inputs = self.inputs.clone();
        tokio::spawn(async move {
            let result = match run.await {
                Ok(outcome) => child_result(outcome),
                Err(refusal) => Err(TaskError::new(ErrorCode::FAILED, refusal.to_string())),
            };
            if !stop.is_cancelled() {
                let _ = inputs.send(Input::ChildFinished {
                    op: start.op,
                    result,
                });
            }
        });
    }

    fn start_timer(&mut self, op: OpId, fire_at: Millis) {
        let deadline = self.clock.instant_at(fire_at);
        let inputs = self.inputs.clone();
        let timer = tokio::spawn(async move {
            tokio::time::sleep_until(deadline).await;
            // As for task answers: a run that ended no longer listens.
            let _ = inputs.send(Input::TimerFired { op });
        });
        self.timers.insert(op, timer.abort_handle());
    }
}

impl Drop for Effects {
    /// Nothing of a finished run may outlive it: calls still in flight (the engine has
    /// cancelled them already, this is the safety net) are aborted and timers dropped.
    fn drop(&mut self) {
        for token in self.calls.values() {
            token.cancel();
        }
        for timer in self.timers.values() {
            timer.abort();
        }
        for child in self.children.iter().flat_map(|c| c.running.values()) {
            child.cancel();
        }
    }
}

/// A child's end as its parent sees it: its output, or why it did not succeed.
fn child_result(outcome: RunOutcome) -> Result<Value, TaskError> {
    match (outcome.status, outcome.output, outcome.error) {
        (Status::Succeeded, output, _) => Ok(output.unwrap_or(Value::Null)),
        (_, _, Some(error)) => Err(error),
        (status, _, None) => Err(TaskError::new(
            ErrorCode::FAILED,
            format!("the child execution ended {}", status.as_str()),
        )),
    }
}
