//! A simulated runtime around one [`Execution`], checking the engine's invariants after every
//! input.
//!
//! The simulator keeps its own model of the outstanding task calls and timers, built only
//! from the effects the engine returned and the inputs it delivered. That model is the oracle:
//! it predicts which inputs must be accepted and which rejected (and why), and it must equal
//! the engine's own `pending_ops()` after every step — so an op the engine forgot to cancel,
//! or a cancellation of something not outstanding, is caught.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde_json::Value;
use sluice_engine::{
    Effect, EventType, Execution, ExecutionInfo, HistoryEvent, Input, Millis, NodeStatus, OpId,
    PendingOp, Rejection, Snapshot, Status, Step, TaskCall, dag_node_statuses,
};
use sluice_ir::{Flow, NodeFailure, StateKind, TaskMode};

/// An outstanding task call as the simulator sees it.
#[derive(Debug, Clone)]
pub struct SimTask {
    pub call: TaskCall,
    /// Callback mode: the submitting call answered; the task waits for its token.
    pub submitted: bool,
}

pub struct Sim<'f> {
    flow: &'f Flow,
    info: ExecutionInfo,
    pub ex: Execution,
    pub now: Millis,
    pub tasks: BTreeMap<OpId, SimTask>,
    pub timers: BTreeMap<OpId, Millis>,
    /// Tasks that completed or were cancelled, with their tokens: late deliveries target them.
    pub gone_tasks: Vec<(OpId, Option<String>)>,
    /// Timers that fired or were cancelled.
    pub gone_timers: Vec<OpId>,
    /// The last accepted input, to deliver it twice.
    pub last_accepted: Option<Input>,
    started: bool,
    finished: Option<Status>,
    next_event: u64,
    seen_ops: HashSet<OpId>,
    event_kinds: HashMap<u64, EventType>,
    /// Every input delivered with its time and what `apply` returned, for the replay.
    log: Vec<(Input, Millis, Result<Step, Rejection>)>,
}

impl<'f> Sim<'f> {
    pub fn new(flow: &'f Flow, info: ExecutionInfo, now: Millis) -> Self {
        Self {
            flow,
            ex: Execution::new(info.clone()),
            info,
            now,
            tasks: BTreeMap::new(),
            timers: BTreeMap::new(),
            gone_tasks: Vec::new(),
            gone_timers: Vec::new(),
            last_accepted: None,
            started: false,
            finished: None,
            next_event: 1,
            seen_ops: HashSet::new(),
            event_kinds: HashMap::new(),
            log: Vec::new(),
        }
    }

    pub fn finished(&self) -> Option<Status> {
        self.finished
    }

    /// Delivers `input` at the current time and checks every invariant. Returns whether the
    /// engine accepted it (which the model predicted, or the check failed).
    pub fn deliver(&mut self, input: Input) -> bool {
        let expected = self.expected(&input);
        let before = self.ex.clone();
        let result = self.ex.apply(self.flow, input.clone(), self.now);
        self.log.push((input.clone(), self.now, result.clone()));
        let accepted = match (expected, result) {
            (Err(want), Err(got)) => {
                assert_eq!(got, want, "wrong rejection of {input:?}");
                assert_eq!(
                    self.ex, before,
                    "a rejected {input:?} changed the execution"
                );
                false
            }
            (Ok(()), Ok(step)) => {
                self.check_step(&input, &step, &before);
                self.last_accepted = Some(input);
                true
            }
            (want, got) => {
                panic!("{input:?}: the model expected {want:?}, the engine gave {got:?}")
            }
        };
        self.check_round_trip();
        accepted
    }

    /// What the model says `apply` must answer.
    fn expected(&self, input: &Input) -> Result<(), Rejection> {
        if let Input::Retry = input {
            panic!("the simulation does not generate retries (tests/retry.rs covers them)");
        }
        if self.finished.is_some() {
            return Err(Rejection::AlreadyCompleted);
        }
        match input {
            Input::Start { .. } if self.started => Err(Rejection::AlreadyStarted),
            Input::Start { .. } | Input::Stop { .. } => Ok(()),
            Input::ChildFinished { .. } | Input::UpdateMapRun { .. } => panic!(
                "the simulation generates no distributed Maps (tests/map_run.rs covers them)"
            ),
            Input::ActivityTaken { .. } | Input::Heartbeat { .. } => {
                panic!("the simulation generates no activities (tests/activities.rs covers them)")
            }
            _ if !self.started => Err(Rejection::NotStarted),
            Input::TaskCompleted { op, .. } | Input::TaskMocked { op, .. } => {
                match self.tasks.get(op) {
                    Some(task) if !task.submitted => Ok(()),
                    _ => Err(Rejection::Stale),
                }
            }
            Input::CallbackReported { token, .. } => match self.task_by_token(token) {
                Some(_) => Ok(()),
                None => Err(Rejection::Stale),
            },
            Input::TimerFired { op } => match self.timers.contains_key(op) {
                true => Ok(()),
                false => Err(Rejection::Stale),
            },
            Input::Retry => Err(Rejection::NotRetryable),
            Input::Redrive => Err(Rejection::NotRedrivable(
                sluice_engine::NotRedrivable::Running,
            )),
        }
    }

    fn task_by_token(&self, token: &str) -> Option<OpId> {
        self.tasks
            .iter()
            .find(|(_, t)| t.call.token.as_deref() == Some(token))
            .map(|(op, _)| *op)
    }

    // ---- the checks of one accepted step ----------------------------------------------

    fn check_step(&mut self, input: &Input, step: &Step, before: &Execution) {
        let outstanding_before: Vec<OpId> = self
            .tasks
            .keys()
            .chain(self.timers.keys())
            .copied()
            .collect();
        let must_cancel = self.consume_input(input);
        self.apply_effects(step);
        if let Some(op) = must_cancel {
            assert!(
                !self.tasks.contains_key(&op),
                "a callback beat the submission of {op:?}, but the call was not cancelled"
            );
        }
        self.check_events(step, before);
        self.check_model_matches_engine();
        self.check_terminal(step);
        self.check_dag_nodes();
        if let Input::Stop { .. } = input {
            assert_eq!(self.ex.status(), Status::Stopped);
            for op in outstanding_before {
                let cancelled = step.effects.iter().any(
                    |e| matches!(e, Effect::CancelTask(o) | Effect::CancelTimer(o) if *o == op),
                );
                assert!(cancelled, "Stop left {op:?} without a cancellation");
            }
        }
        let limit = self.info.limits.max_history_events;
        assert!(
            self.ex.history_len() <= limit,
            "history of {} events exceeds the limit of {limit}",
            self.ex.history_len()
        );
    }

    /// Updates the model for what the input itself resolves. Returns the op that the engine
    /// must cancel in this step (a callback that arrived before its submission answered).
    fn consume_input(&mut self, input: &Input) -> Option<OpId> {
        match input {
            Input::Start { .. } => {
                self.started = true;
                None
            }
            Input::Retry | Input::Redrive => None,
            Input::ChildFinished { .. } | Input::UpdateMapRun { .. } => panic!(
                "the simulation generates no distributed Maps (tests/map_run.rs covers them)"
            ),
            Input::ActivityTaken { .. } | Input::Heartbeat { .. } => {
                panic!("the simulation generates no activities (tests/activities.rs covers them)")
            }
            // A mocked answer is final, whatever the task's mode.
            Input::TaskMocked { op, .. } => {
                self.forget_task(*op);
                None
            }
            Input::TaskCompleted { op, result } => {
                let task = self.tasks.get_mut(op).expect("predicted outstanding");
                if task.call.mode == TaskMode::WaitForCustomCallback && result.is_ok() {
                    task.submitted = true;
                } else {
                    self.forget_task(*op);
                }
                None
            }
            Input::CallbackReported { token, .. } => {
                let op = self.task_by_token(token).expect("predicted outstanding");
                if self.tasks[&op].submitted {
                    self.forget_task(op);
                    None
                } else {
                    Some(op)
                }
            }
            Input::TimerFired { op } => {
                self.timers.remove(op);
                self.gone_timers.push(*op);
                None
            }
            Input::Stop { .. } => None,
        }
    }

    fn forget_task(&mut self, op: OpId) {
        if let Some(task) = self.tasks.remove(&op) {
            self.gone_tasks.push((op, task.call.token));
        }
    }

    /// Applies the effects in order: ids are fresh, cancellations name outstanding ops,
    /// nothing starts after the end, and `Finish` comes once, last.
    fn apply_effects(&mut self, step: &Step) {
        for (index, effect) in step.effects.iter().enumerate() {
            assert!(
                self.finished.is_none(),
                "effect {effect:?} after Finish in {:?}",
                step.effects
            );
            match effect {
                Effect::StartChild(_) | Effect::StopChild(_) => panic!(
                    "the simulation generates no distributed Maps (tests/map_run.rs covers them)"
                ),
                Effect::Dispatch(call) => {
                    self.check_fresh(call.op);
                    let task = SimTask {
                        call: call.clone(),
                        submitted: false,
                    };
                    self.tasks.insert(call.op, task);
                }
                Effect::StartTimer { op, fire_at } => {
                    self.check_fresh(*op);
                    self.timers.insert(*op, *fire_at);
                }
                Effect::CancelTask(op) => {
                    assert!(
                        self.tasks.contains_key(op),
                        "CancelTask({op:?}) of a task not outstanding; effects {:?}",
                        step.effects
                    );
                    self.forget_task(*op);
                }
                Effect::CancelTimer(op) => {
                    assert!(
                        self.timers.remove(op).is_some(),
                        "CancelTimer({op:?}) of a timer not outstanding; effects {:?}",
                        step.effects
                    );
                    self.gone_timers.push(*op);
                }
                Effect::Finish(status) => {
                    assert_eq!(
                        index + 1,
                        step.effects.len(),
                        "Finish is not the last effect"
                    );
                    assert_eq!(*status, self.ex.status());
                    assert!(status.is_terminal());
                    self.finished = Some(*status);
                }
            }
        }
    }

    fn check_fresh(&mut self, op: OpId) {
        assert!(self.seen_ops.insert(op), "op id {op:?} reused");
    }

    fn check_events(&mut self, step: &Step, before: &Execution) {
        let was_terminal = before.status().is_terminal();
        for (index, event) in step.events.iter().enumerate() {
            assert!(!was_terminal, "event after the terminal event: {event:?}");
            assert_eq!(
                event.id.0, self.next_event,
                "event ids not dense: {event:?}"
            );
            self.next_event += 1;
            assert_eq!(event.time, self.now);
            if let Some(scheduled) = event.schedule_id {
                assert!(
                    scheduled < event.id,
                    "ScheduleEventId not earlier: {event:?}"
                );
                let kind = self.event_kinds.get(&scheduled.0).copied();
                check_schedule_kind(event, kind);
            }
            if event.kind.is_terminal() {
                assert_eq!(index + 1, step.events.len(), "terminal event is not last");
                assert_eq!(terminal_event(self.ex.status()), Some(event.kind));
            }
            self.event_kinds.insert(event.id.0, event.kind);
        }
        assert_eq!(self.ex.history_len(), self.next_event - 1);
    }

    /// The model built from effects equals the engine's own outstanding ops.
    fn check_model_matches_engine(&self) {
        let mut tasks = BTreeMap::new();
        let mut timers = BTreeMap::new();
        for op in self.ex.pending_ops() {
            match op {
                PendingOp::Task { call, submitted } => {
                    tasks.insert(call.op, (call.clone(), submitted));
                }
                PendingOp::Timer { op, fire_at } => {
                    timers.insert(op, fire_at);
                }
                PendingOp::Child(_) => panic!(
                    "the simulation generates no distributed Maps (tests/map_run.rs covers them)"
                ),
            }
        }
        let model: BTreeMap<_, _> = self
            .tasks
            .iter()
            .map(|(op, t)| (*op, (t.call.clone(), t.submitted)))
            .collect();
        assert_eq!(
            model, tasks,
            "the effects do not describe the outstanding tasks"
        );
        assert_eq!(
            self.timers, timers,
            "the effects do not describe the outstanding timers"
        );
    }

    fn check_terminal(&self, step: &Step) {
        let terminal_events = step.events.iter().filter(|e| e.kind.is_terminal()).count();
        let finishes = step
            .effects
            .iter()
            .filter(|e| matches!(e, Effect::Finish(_)))
            .count();
        if self.ex.status().is_terminal() {
            assert_eq!(
                terminal_events, 1,
                "the terminal step lacks its terminal event"
            );
            assert_eq!(finishes, 1, "the terminal step lacks Finish");
            assert!(self.tasks.is_empty() && self.timers.is_empty());
        } else {
            assert_eq!(
                terminal_events + finishes,
                0,
                "terminal output, running status"
            );
            // Liveness: a running execution always waits on something that will come.
            assert!(
                !self.tasks.is_empty() || !self.timers.is_empty(),
                "the execution is running but waits for nothing: it would never finish"
            );
        }
    }

    /// Each Dag's nodes as reported: a node ran only after its predecessors let it, a node
    /// failing under `Fail` left nothing running or waiting, and nothing runs or waits once
    /// the execution is over.
    fn check_dag_nodes(&self) {
        let statuses = dag_node_statuses(self.flow, &self.ex);
        let mut reported = statuses.iter().map(|s| s.status);
        for state in &self.flow.states {
            let StateKind::Dag(dag) = &state.kind else {
                continue;
            };
            let run: Vec<NodeStatus> = reported.by_ref().take(dag.nodes.len()).collect();
            assert_eq!(run.len(), dag.nodes.len(), "a Dag's nodes are missing");
            let unfinished = run.iter().any(|s| !s.is_final());
            assert!(
                !(unfinished && self.ex.status().is_terminal()),
                "{}: nodes {run:?} after the end",
                state.name
            );
            for (node, status) in dag.nodes.iter().zip(&run) {
                if matches!(status, NodeStatus::Waiting | NodeStatus::Skipped) {
                    continue;
                }
                let allowed = node.after.iter().all(|p| match run[*p as usize] {
                    NodeStatus::Succeeded => true,
                    NodeStatus::Failed => {
                        dag.nodes[*p as usize].on_failure == NodeFailure::Continue
                    }
                    _ => false,
                });
                assert!(
                    allowed,
                    "{}: {} ran too early: {run:?}",
                    state.name, node.name
                );
                let failed_the_dag =
                    *status == NodeStatus::Failed && node.on_failure == NodeFailure::Fail;
                assert!(
                    !(failed_the_dag && unfinished),
                    "{}: {} failed the Dag, yet {run:?}",
                    state.name,
                    node.name
                );
            }
        }
        assert!(reported.next().is_none(), "statuses of nodes of no Dag");
    }

    /// The store persists the execution as JSON: it must come back equal.
    fn check_round_trip(&self) {
        let text =
            serde_json::to_string(&Snapshot::of(&self.ex)).expect("the execution serializes");
        let back: Execution = serde_json::from_str::<Snapshot>(&text)
            .expect("the execution deserializes")
            .into();
        assert_eq!(
            back, self.ex,
            "the execution does not round-trip through JSON"
        );
    }

    /// Replays every input on a fresh execution: the same answers, the same final state.
    pub fn check_replay(&self) {
        let mut ex = Execution::new(self.info.clone());
        for (input, now, recorded) in &self.log {
            let replayed = ex.apply(self.flow, input.clone(), *now);
            assert_eq!(&replayed, recorded, "replaying {input:?} diverged");
        }
        assert_eq!(ex, self.ex, "the replay ended in another state");
    }

    /// The output or the error of the finished execution.
    pub fn output(&self) -> Option<&Value> {
        self.ex.output()
    }
}

fn terminal_event(status: Status) -> Option<EventType> {
    match status {
        Status::Succeeded => Some(EventType::ExecutionSucceeded),
        Status::Failed => Some(EventType::ExecutionFailed),
        Status::TimedOut => Some(EventType::ExecutionTimedOut),
        Status::Stopped => Some(EventType::ExecutionStopped),
        Status::Starting | Status::Running => None,
    }
}

/// A task event answers its TaskScheduled; a step's end answers its StepEntered.
fn check_schedule_kind(event: &HistoryEvent, scheduled: Option<EventType>) {
    let want = match event.kind {
        EventType::TaskStarted
        | EventType::TaskSubmitted
        | EventType::TaskSubmitFailed
        | EventType::TaskSucceeded
        | EventType::TaskFailed
        | EventType::TaskTimedOut => EventType::TaskScheduled,
        EventType::StepExited | EventType::StepFailed => EventType::StepEntered,
        other => panic!("{other:?} should not name a scheduling event"),
    };
    assert_eq!(
        scheduled,
        Some(want),
        "wrong ScheduleEventId target: {event:?}"
    );
}
