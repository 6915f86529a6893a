//! Deterministic simulation of the engine, in the FoundationDB/TigerBeetle style.
//!
//! Proptest generates random flows (as IR), random inputs and a random schedule of what the
//! outside world does: tasks answer (succeed, fail with codes Retry/Catch name or not),
//! callbacks arrive (also before their submission answered, with stale or unknown tokens),
//! timers fire (in order, out of order, after being cancelled), results for cancelled tasks
//! arrive late, inputs are delivered twice, and Stop comes at any moment. [`support::sim`]
//! checks the invariants after every input; each run is then replayed for determinism.
//! Failures shrink to a small flow and a short schedule.
//!
//! `PROPTEST_CASES` raises the case counts.

mod support;

use proptest::prelude::*;
use proptest::test_runner::Config;
use serde_json::{Value, json};
use sluice_engine::{ExecutionInfo, Input, Limits, Millis, OpId, Status};
use sluice_ir::TaskError;

use support::asl;
use support::echo::{self, Echo};
use support::flows::{self, TASK_ERROR_CODES};
use support::sim::Sim;

/// The simulated clock starts here (any fixed instant: runs must be reproducible).
const EPOCH: Millis = 1_700_000_000_000;

/// After this many scheduled actions, the simulation stops the execution.
const MAX_ACTIONS: usize = 400;

fn cases(default: u32) -> Config {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|c| c.parse().ok())
        .unwrap_or(default);
    Config {
        cases,
        ..Config::default()
    }
}

fn info(seed: u64, limits: Limits) -> ExecutionInfo {
    ExecutionInfo {
        name: "exec".into(),
        flow_name: "sim".into(),
        role_arn: None,
        token_prefix: "tok-".into(),
        seed,
        limits,
        context_ids: None,
    }
}

/// Small history limits make loops end quickly; a short execution timeout sometimes wins
/// against the flow.
fn limits() -> impl Strategy<Value = Limits> {
    let timeout = prop_oneof![
        Just(None),
        Just(Some(8_000)),
        Just(Some(365 * 24 * 3600 * 1000)),
    ];
    (60..400u64, timeout).prop_map(|(max_history_events, execution_timeout_ms)| Limits {
        max_history_events,
        max_payload_bytes: 4 * 1024,
        execution_timeout_ms,
    })
}

// ---- the world's schedule --------------------------------------------------------------

/// One action of the outside world, chosen by a random number; numbers beyond the generated
/// schedule (and every shrunk-away number, 0) pick [`Sim::progress`].
fn act(sim: &mut Sim<'_>, choice: u32) {
    let pick = choice >> 4;
    match choice % 16 {
        0..=4 => complete_task(sim, pick),
        5 => report_callback(sim, pick),
        6 | 7 => fire_earliest_timer(sim),
        8 => fire_any_timer(sim, pick),
        9 => fire_gone_timer(sim, pick),
        10 => complete_gone_task(sim, pick),
        11 => report_stale_token(sim, pick),
        12 => redeliver(sim),
        13 if pick.is_multiple_of(2) => stop(sim),
        _ => progress(sim),
    }
    // Time passes between actions.
    sim.now += Millis::from(pick % 50);
}

fn nth<T: Clone>(items: impl ExactSizeIterator<Item = T>, pick: u32) -> Option<T> {
    let len = items.len();
    let mut items = items;
    (len > 0).then(|| items.nth(pick as usize % len)).flatten()
}

/// What a task answers: usually its input echoed (keeps the shape the flow reads), else
/// another value or an error.
fn task_result(body: &Value, pick: u32) -> Result<Value, TaskError> {
    match (pick >> 3) % 8 {
        0 => Err(TaskError::new(
            TASK_ERROR_CODES[(pick >> 6) as usize % TASK_ERROR_CODES.len()],
            "simulated failure",
        )),
        1 => Ok(json!([1, "two", null])),
        2 => Ok(json!({ "k": (pick >> 6) % 4, "items": [] })),
        3 => Ok(Value::String("x".repeat((pick >> 6) as usize % 5000))),
        _ => Ok(body.clone()),
    }
}

fn complete_task(sim: &mut Sim<'_>, pick: u32) {
    let Some((op, task)) = nth(sim.tasks.iter(), pick) else {
        return progress(sim);
    };
    let result = task_result(&task.call.body, pick);
    let input = match (&task.call.token, task.submitted) {
        (Some(token), true) => Input::CallbackReported {
            token: token.clone(),
            result,
        },
        // Now and then the task's answer comes from a mock configuration instead.
        (_, false) if (pick >> 11).is_multiple_of(5) => Input::TaskMocked { op: *op, result },
        _ => Input::TaskCompleted { op: *op, result },
    };
    sim.deliver(input);
}

/// A callback for a callback-mode task, whether or not its submission answered.
fn report_callback(sim: &mut Sim<'_>, pick: u32) {
    let callbacks = sim.tasks.values().filter(|t| t.call.token.is_some());
    let Some(task) = nth(callbacks.collect::<Vec<_>>().into_iter(), pick) else {
        return progress(sim);
    };
    let input = Input::CallbackReported {
        token: task.call.token.clone().unwrap_or_default(),
        result: task_result(&task.call.body, pick),
    };
    sim.deliver(input);
}

fn fire_earliest_timer(sim: &mut Sim<'_>) {
    let Some((op, fire_at)) = sim.timers.iter().min_by_key(|(op, at)| (**at, **op)) else {
        return progress(sim);
    };
    fire(sim, *op, *fire_at);
}

/// The runtime may fire a later timer first (its clock jumped); earlier ones are then late.
fn fire_any_timer(sim: &mut Sim<'_>, pick: u32) {
    let Some((op, fire_at)) = nth(sim.timers.iter(), pick) else {
        return progress(sim);
    };
    fire(sim, *op, *fire_at);
}

fn fire(sim: &mut Sim<'_>, op: OpId, fire_at: Millis) {
    sim.now = sim.now.max(fire_at);
    sim.deliver(Input::TimerFired { op });
}

/// A timer that fired or was cancelled fires (again): must be rejected as stale.
fn fire_gone_timer(sim: &mut Sim<'_>, pick: u32) {
    let op = nth(sim.gone_timers.iter(), pick)
        .copied()
        .unwrap_or(OpId(u64::MAX));
    sim.deliver(Input::TimerFired { op });
}

/// The answer of a call that completed or was cancelled arrives late.
fn complete_gone_task(sim: &mut Sim<'_>, pick: u32) {
    let Some((op, _)) = nth(sim.gone_tasks.iter(), pick).cloned() else {
        return progress(sim);
    };
    sim.deliver(Input::TaskCompleted {
        op,
        result: Ok(json!("late")),
    });
}

/// A token of a finished task, or one that never existed.
fn report_stale_token(sim: &mut Sim<'_>, pick: u32) {
    let gone = sim.gone_tasks.iter().filter_map(|(_, t)| t.clone());
    let token = nth(gone.collect::<Vec<_>>().into_iter(), pick)
        .unwrap_or_else(|| format!("tok-unknown-{pick}"));
    sim.deliver(Input::CallbackReported {
        token,
        result: Err(TaskError::new("E1", "late")),
    });
}

/// At-least-once delivery: the last accepted input arrives again and must be rejected.
fn redeliver(sim: &mut Sim<'_>) {
    match sim.last_accepted.clone() {
        Some(input) if !matches!(input, Input::Start { .. }) => {
            assert!(!sim.deliver(input), "a duplicate delivery was accepted");
        }
        _ => progress(sim),
    }
}

fn stop(sim: &mut Sim<'_>) {
    sim.deliver(Input::Stop {
        error: Some("Stopped".into()),
        cause: Some("simulation".into()),
    });
}

/// The default of the world: the oldest task succeeds (echoing its input), else the earliest
/// timer fires. Always makes progress, so every schedule ends.
fn progress(sim: &mut Sim<'_>) {
    if let Some((op, task)) = sim.tasks.iter().next() {
        let result = Ok(task.call.body.clone());
        let input = match (&task.call.token, task.submitted) {
            (Some(token), true) => Input::CallbackReported {
                token: token.clone(),
                result,
            },
            _ => Input::TaskCompleted { op: *op, result },
        };
        sim.deliver(input);
    } else {
        fire_earliest_timer_or_stop(sim);
    }
}

fn fire_earliest_timer_or_stop(sim: &mut Sim<'_>) {
    match sim.timers.iter().min_by_key(|(op, at)| (**at, **op)) {
        Some((op, at)) => fire(sim, *op, *at),
        None => stop(sim),
    }
}

/// Runs the execution to its end under `schedule`, then checks that it stays ended.
fn simulate(sim: &mut Sim<'_>, input: Value, stop_first: bool, schedule: &[u32]) {
    assert!(
        !sim.deliver(Input::TimerFired { op: OpId(1) }),
        "accepted before Start"
    );
    if stop_first {
        stop(sim);
    } else {
        assert!(sim.deliver(Input::Start { input }), "Start was rejected");
    }
    let mut actions = schedule.iter().copied().chain(std::iter::repeat(15));
    for _ in 0..MAX_ACTIONS {
        if sim.finished().is_some() {
            break;
        }
        act(sim, actions.next().unwrap_or(15));
    }
    if sim.finished().is_none() {
        stop(sim);
    }
    assert!(sim.finished().is_some(), "Stop did not end the execution");
    after_the_end(sim);
    sim.check_replay();
}

/// Everything after the terminal step is rejected as AlreadyCompleted (the simulator checks
/// the rejection and that nothing changed).
fn after_the_end(sim: &mut Sim<'_>) {
    let gone_task = sim.gone_tasks.first().map_or(OpId(1), |(op, _)| *op);
    let gone_timer = sim.gone_timers.first().copied().unwrap_or(OpId(1));
    let token = sim.gone_tasks.iter().find_map(|(_, t)| t.clone());
    let late = [
        Input::Stop {
            error: None,
            cause: None,
        },
        Input::TaskCompleted {
            op: gone_task,
            result: Ok(json!(1)),
        },
        Input::TimerFired { op: gone_timer },
        Input::CallbackReported {
            token: token.unwrap_or_else(|| "tok-1".into()),
            result: Ok(json!(1)),
        },
        Input::Start { input: json!({}) },
    ];
    for input in late {
        assert!(!sim.deliver(input), "accepted after the end");
    }
}

proptest! {
    #![proptest_config(cases(6000))]

    /// Random flows under random schedules: every invariant after every input.
    #[test]
    fn random_flows_keep_the_invariants(
        spec in flows::scope_spec(3),
        input in flows::execution_input(),
        limits in limits(),
        seed in any::<u64>(),
        stop_first in prop::bool::weighted(0.02),
        schedule in prop::collection::vec(any::<u32>(), 0..120),
    ) {
        let flow = flows::build(&spec);
        let mut sim = Sim::new(&flow, info(seed, limits), EPOCH);
        simulate(&mut sim, input, stop_first, &schedule);
    }
}

proptest! {
    #![proptest_config(cases(1000))]

    /// The same random flows written as Amazon States Language machines (JSONPath and
    /// JSONata states, Retry and Catch, Parallel and Map) and compiled as a user's would be.
    #[test]
    fn random_asl_machines_keep_the_invariants(
        spec in flows::scope_spec(3),
        input in flows::execution_input(),
        limits in limits(),
        seed in any::<u64>(),
        stop_first in prop::bool::weighted(0.02),
        schedule in prop::collection::vec(any::<u32>(), 0..120),
    ) {
        let (_, flow) = asl::build(&spec);
        let mut sim = Sim::new(&flow, info(seed, limits), EPOCH);
        simulate(&mut sim, input, stop_first, &schedule);
    }
}

/// Completes the outstanding tasks of an echo flow in the order `schedule` picks, each
/// answering its own input (callbacks sometimes before their submission answered).
fn complete_in_random_order(sim: &mut Sim<'_>, schedule: &[u32]) {
    let mut picks = schedule.iter().copied().chain(std::iter::repeat(0));
    while sim.finished().is_none() {
        let pick = picks.next().unwrap_or(0);
        let Some((op, task)) = nth(sim.tasks.iter(), pick) else {
            panic!("the echo flow waits for nothing");
        };
        let result = Ok(task.call.body.clone());
        let input = match &task.call.token {
            Some(token) if task.submitted || pick % 5 == 1 => Input::CallbackReported {
                token: token.clone(),
                result,
            },
            _ => Input::TaskCompleted { op: *op, result },
        };
        assert!(sim.deliver(input), "an echo task's answer was rejected");
    }
}

fn run_echo(tree: &Echo, input: Value, schedule: &[u32]) {
    let flow = echo::build(tree);
    let limits = Limits {
        max_history_events: 1_000_000,
        max_payload_bytes: 1 << 20,
        execution_timeout_ms: None,
    };
    let mut sim = Sim::new(&flow, info(7, limits), EPOCH);
    assert!(sim.deliver(Input::Start {
        input: input.clone()
    }));
    complete_in_random_order(&mut sim, schedule);
    assert_eq!(sim.finished(), Some(Status::Succeeded));
    assert_eq!(sim.output(), Some(&echo::expected(tree, &input)));
    sim.check_replay();
}

proptest! {
    #![proptest_config(cases(1500))]

    /// Parallel outputs are keyed `Branch{i}` in branch order and Map outputs are in item
    /// order, whatever order the tasks inside them complete in.
    #[test]
    fn fan_out_results_keep_their_order(
        tree in echo::echo_tree(),
        k in 0..100i64,
        schedule in prop::collection::vec(any::<u32>(), 0..200),
    ) {
        run_echo(&tree, json!({ "k": k }), &schedule);
    }
}

/// The case the brief names: a Map of a Task echoing its item, tasks completed last-first.
#[test]
fn map_items_stay_in_input_order_when_tasks_complete_in_reverse() {
    let tree = Echo::Map {
        items: 6,
        max_concurrency: 0,
        body: Box::new(Echo::Task { callback: false }),
    };
    let reverse: Vec<u32> = (0..6).map(|i| 5 - i).collect();
    run_echo(&tree, json!({}), &reverse);
}

/// Regression (found by this simulation): when a task's timeout fired, the engine also
/// emitted `CancelTimer` for that very timer, which had already fired and was no longer
/// outstanding.
#[test]
fn a_task_timeout_cancels_the_task_but_not_its_own_fired_timer() {
    let spec = flows::ScopeSpec {
        data: sluice_ir::DataModel::Pipe,
        states: vec![flows::StateSpec::Task(flows::TaskSpec {
            callback: false,
            timeout_secs: Some(1),
            body_template: false,
            recovery: flows::RecoverySpec::default(),
        })],
    };
    let flow = flows::build(&spec);
    let limits = Limits {
        execution_timeout_ms: None,
        ..Limits::default()
    };
    let mut sim = Sim::new(&flow, info(1, limits), EPOCH);
    assert!(sim.deliver(Input::Start { input: json!({}) }));
    let (&timer, &fire_at) = sim.timers.iter().next().expect("the timeout timer");
    let task = *sim.tasks.keys().next().expect("the dispatched task");
    sim.now = fire_at;
    let step = sim
        .ex
        .clone()
        .apply(&flow, Input::TimerFired { op: timer }, fire_at)
        .expect("the timeout fires");
    assert_eq!(
        step.effects,
        vec![
            sluice_engine::Effect::CancelTask(task),
            sluice_engine::Effect::Finish(Status::Failed)
        ]
    );
    // The simulator checks the same through its model of outstanding ops.
    assert!(sim.deliver(Input::TimerFired { op: timer }));
    assert_eq!(sim.finished(), Some(Status::Failed));
}
