//! The interpreter: applies one [`Input`] to an [`Execution`].
//!
//! Work inside one `apply` is a queue of small [`Work`] items (enter a state, run it, finish
//! it, start a child, finish a scope) processed until every thread is blocked on something
//! outside the engine (a task, a timer, a callback) or the execution is terminal. The queue
//! keeps long Pass chains and Choice loops iterative, and gives one place to enforce the
//! history limit between items.
//!
//! This file holds the queue and the bookkeeping every part shares (events, ops, threads);
//! each kind of work has its file: `inputs` (what `apply` accepts), `states` (a state entered,
//! run, finished), `tasks`, `recovery` (Retry and Catch), `fanout` (Parallel and Map),
//! `dag_run` (Dag states), `map_run` (distributed Maps: a child execution per item or
//! batch), `end` (aborting threads, terminating), `eval` (expressions).

mod asl;
mod dag_run;
mod end;
mod eval;
mod fanout;
mod inputs;
mod inspect;
mod map_run;
mod objects;
mod recovery;
mod redrive;
mod states;
mod tasks;

use std::collections::VecDeque;

use serde_json::{Map, Value, json};
use sluice_ir::{DataModel, ErrorCode, Flow, Next, ScopeId, StateId, StateName, TaskError};

use crate::Millis;
use crate::data;
use crate::execution::{
    Active, Block, Execution, Op, OpId, Slot, Status, Thread, ThreadId, TimerPurpose,
};
use crate::history::{Detail, EventId, EventType, HistoryEvent};
use crate::input::{Input, Rejection};
use crate::step::{Effect, Step};

/// Events one work item may append besides the terminal event; the history limit keeps
/// this much room so the terminal event always fits.
const HISTORY_RESERVE: u64 = 8;

impl Execution {
    /// Applies `input` at time `now`. On `Err`, nothing changed.
    pub fn apply(&mut self, flow: &Flow, input: Input, now: Millis) -> Result<Step, Rejection> {
        self.check_accepts(&input)?;
        if let Input::Redrive = input {
            self.redrivable(now).map_err(Rejection::NotRedrivable)?;
        }
        let mut machine = Machine {
            flow,
            ex: self,
            now,
            step: Step::default(),
            work: VecDeque::new(),
            refill: None,
            measured: None,
        };
        machine.accept(input)?;
        machine.run();
        Ok(machine.step)
    }

    fn check_accepts(&self, input: &Input) -> Result<(), Rejection> {
        match (self.status, input) {
            (Status::Failed, Input::Retry) if self.retry_point.is_some() => Ok(()),
            (_, Input::Retry) => Err(Rejection::NotRetryable),
            // Checked with the time in `apply`.
            (_, Input::Redrive) => Ok(()),
            (status, _) if status.is_terminal() => Err(Rejection::AlreadyCompleted),
            (Status::Starting, Input::Start { .. } | Input::Stop { .. }) => Ok(()),
            (Status::Starting, _) => Err(Rejection::NotStarted),
            (_, Input::Start { .. }) => Err(Rejection::AlreadyStarted),
            _ => Ok(()),
        }
    }
}

enum Work {
    Enter {
        thread: ThreadId,
        state: StateId,
    },
    Run {
        thread: ThreadId,
    },
    Finish {
        thread: ThreadId,
        outcome: Outcome,
    },
    StartChild {
        parent: ThreadId,
    },
    ScopeDone {
        thread: ThreadId,
        result: Result<Value, TaskError>,
    },
}

enum Outcome {
    /// The state produced `result`; `goto` overrides its `next` (Choice, Succeed).
    Done {
        result: Value,
        goto: Option<Next>,
    },
    /// Like `Done` with the state's own input as the result (Pass, Succeed, Choice, Wait):
    /// `finish` moves it out of the active state instead of copying it.
    PassInput {
        goto: Option<Next>,
    },
    /// An ASL Choice went to `next` by its Choice Rule `rule` (whose `Assign` and `Output`
    /// take the place of the state's), with its input as the result.
    Chose {
        next: Next,
        rule: usize,
    },
    Error(TaskError),
}

struct Machine<'a> {
    flow: &'a Flow,
    ex: &'a mut Execution,
    now: Millis,
    step: Step,
    work: VecDeque<Work>,
    /// A redriven Parallel or Map state's finished branches or iterations, for its fan-out
    /// in this same step (`machine/redrive.rs`).
    refill: Option<redrive::Refill>,
    /// The thread whose data is the output its last state just had checked against the
    /// payload limit: the next state's input, that same value, is not measured again.
    measured: Option<Measured>,
}

/// A thread's data that is the output its last state just recorded and measured.
#[derive(Clone, Copy, PartialEq)]
struct Measured {
    thread: ThreadId,
    /// The `StepExited` event that recorded it, in `Step::events`: the next state's
    /// `StepEntered` holds the same text.
    exited: usize,
}

/// The variables of one evaluation besides `$Context`.
#[derive(Clone, Copy)]
struct Vars<'v> {
    input: &'v Value,
    output: Option<&'v Value>,
    local: Option<&'v Value>,
    item: Option<&'v Value>,
}

impl<'v> Vars<'v> {
    fn input(input: &'v Value) -> Self {
        Self {
            input,
            output: None,
            local: None,
            item: None,
        }
    }
}

impl Machine<'_> {
    fn run(&mut self) {
        while let Some(work) = self.work.pop_front() {
            if self.ex.status.is_terminal() {
                break;
            }
            if self.ex.history_len() + HISTORY_RESERVE > self.ex.info.limits.max_history_events {
                let error = TaskError::new(
                    ErrorCode::EVENT_LIMIT,
                    // AWS's words, for every dialect: the others document none.
                    format!(
                        "The execution reached the maximum number of history events ({}).",
                        self.ex.info.limits.max_history_events
                    ),
                );
                self.terminate(Status::Failed, EventType::ExecutionFailed, Err(error));
                break;
            }
            match work {
                Work::Enter { thread, state } => self.enter(thread, state),
                Work::Run { thread } => self.run_state(thread),
                Work::Finish { thread, outcome } => self.finish(thread, outcome),
                Work::StartChild { parent } => self.start_child(parent),
                Work::ScopeDone { thread, result } => self.scope_done(thread, result),
            }
        }
        self.work.clear();
    }

    fn emit(
        &mut self,
        kind: EventType,
        schedule: Option<EventId>,
        step: Option<StateName>,
        detail: impl Into<Detail>,
    ) -> EventId {
        let id = EventId(self.ex.next_event);
        self.ex.next_event += 1;
        self.step.events.push(HistoryEvent {
            id,
            schedule_id: schedule,
            step,
            time: self.now,
            kind,
            detail: detail.into(),
        });
        id
    }

    fn next_op(&mut self) -> OpId {
        let op = OpId(self.ex.next_op);
        self.ex.next_op += 1;
        op
    }

    fn start_timer(&mut self, fire_at: Millis, purpose: TimerPurpose) -> OpId {
        let op = self.next_op();
        self.ex.ops.insert(op, Op::Timer { fire_at, purpose });
        self.step.effects.push(Effect::StartTimer { op, fire_at });
        op
    }

    fn spawn(&mut self, parent: Option<Slot>, scope: ScopeId, input: Value) -> ThreadId {
        let id = ThreadId(self.ex.next_thread);
        self.ex.next_thread += 1;
        let data = match self.flow.scope(scope).data {
            DataModel::Pipe => input.clone(),
            DataModel::Merge => Value::Object(Map::new()),
        };
        let variables = match parent {
            None => self.preset_variables(),
            Some(_) => Map::new(),
        };
        self.ex.threads.insert(
            id,
            Box::new(Thread {
                parent,
                scope,
                scope_input: input,
                data,
                at: None,
                variables,
            }),
        );
        id
    }

    fn block(&mut self, thread: ThreadId, block: Block) {
        if let Some(active) = self.active_mut(thread) {
            active.block = block;
        }
    }

    fn active(&self, thread: ThreadId) -> Option<&Active> {
        self.ex.threads.get(&thread)?.at.as_ref()
    }

    fn active_mut(&mut self, thread: ThreadId) -> Option<&mut Active> {
        self.ex.threads.get_mut(&thread)?.at.as_mut()
    }

    fn check_size(&self, value: &Value, what: &str) -> Result<(), TaskError> {
        self.check_measured_size(data::json_size(value), what)
    }

    /// [`Self::check_size`] of a value `size` bytes long as JSON text.
    fn check_measured_size(&self, size: usize, what: &str) -> Result<(), TaskError> {
        let limit = self.ex.info.limits.max_payload_bytes;
        if size > limit {
            return Err(TaskError::new(
                ErrorCode::PAYLOAD_TOO_LARGE,
                format!("{what} is {size} bytes, more than the limit of {limit} bytes"),
            ));
        }
        Ok(())
    }
}

/// What `$Context.Current` says about the state being evaluated.
#[derive(Clone, Copy)]
struct Here<'v> {
    name: &'v StateName,
    output: Option<&'v Value>,
    error: Option<&'v TaskError>,
    retry_count: u32,
    token: Option<&'v str>,
}

impl<'v> Here<'v> {
    fn state(name: &'v StateName) -> Self {
        Self {
            name,
            output: None,
            error: None,
            retry_count: 0,
            token: None,
        }
    }
}

fn error_detail(error: &TaskError) -> Detail {
    json!({ "error": error.code.as_str(), "cause": error.detail }).into()
}
