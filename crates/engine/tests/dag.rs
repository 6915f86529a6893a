//! Dag states driven through `Execution::apply` with made-up task answers: the order nodes
//! start in, each failure policy, retries, timeouts, and a stop in the middle. The graphs
//! are DataArts jobs (every node a task or a Pass); one is built by hand to nest scopes.

use serde_json::{Value, json};
use sluice_engine::{
    Effect, EventType, Execution, ExecutionInfo, HistoryEvent, Input, Limits, Millis, NodeStatus,
    OpId, Snapshot, Status, Step, dag_node_statuses,
};
use sluice_ir::{
    Aggregate, Body, Dag, DagNode, DataModel, ErrorCode, Flow, FunctionRef, Language, Next,
    NodeFailure, Parallel, Recovery, Scope, ScopeId, State, StateId, StateKind, StateName, Task,
    TaskError, TaskMode, TaskTarget, Wait,
};

use NodeStatus::{Cancelled, Failed, Running, Skipped, Succeeded, Waiting};

const T0: Millis = 1_700_000_000_000;

/// A RESTAPI node after `after`, with extra fields (`failPolicy`, `retryTimes`, …).
fn node(name: &str, after: &[&str], extra: Value) -> Value {
    let mut node = json!({
        "name": name,
        "type": "RESTAPI",
        "preNodeName": after,
        "properties": [{"name": "url", "value": format!("http://127.0.0.1:9/{name}")}],
    });
    if let (Some(node), Value::Object(extra)) = (node.as_object_mut(), extra) {
        node.extend(extra);
    }
    node
}

fn job(nodes: Vec<Value>) -> Flow {
    let text = json!({"name": "job", "nodes": nodes}).to_string();
    sluice_lang::dataarts::parse(&text).unwrap_or_else(|e| panic!("{e}"))
}

/// One execution of a flow, checking after every step that event ids stay dense and that a
/// terminal event comes last.
struct Run {
    flow: Flow,
    ex: Execution,
    now: Millis,
    history: Vec<HistoryEvent>,
}

impl Run {
    fn start(flow: Flow) -> (Self, Step) {
        let info = ExecutionInfo {
            name: "e".into(),
            flow_name: "job".into(),
            role_arn: None,
            token_prefix: "t.".into(),
            seed: 1,
            limits: Limits::default(),
            context_ids: None,
        };
        let mut run = Self {
            flow,
            ex: Execution::new(info),
            now: T0,
            history: Vec::new(),
        };
        let step = run.apply(Input::Start {
            input: json!({"day": 1}),
        });
        (run, step)
    }

    fn apply(&mut self, input: Input) -> Step {
        let step = self
            .ex
            .apply(&self.flow, input.clone(), self.now)
            .unwrap_or_else(|e| panic!("{input:?} was rejected: {e}"));
        for event in &step.events {
            assert_eq!(event.id.0, self.history.len() as u64 + 1, "ids are dense");
            assert!(
                self.history.last().is_none_or(|e| !e.kind.is_terminal()),
                "{event:?} after the terminal event"
            );
            self.history.push(event.clone());
        }
        step
    }

    /// The in-flight call of node `name`.
    fn op(&self, name: &str) -> OpId {
        self.ex
            .task_in_flight(name)
            .unwrap_or_else(|| panic!("{name} has no call in flight"))
    }

    fn succeed(&mut self, name: &str, output: Value) -> Step {
        let op = self.op(name);
        self.apply(Input::TaskCompleted {
            op,
            result: Ok(output),
        })
    }

    fn fail(&mut self, name: &str) -> Step {
        let op = self.op(name);
        self.apply(Input::TaskCompleted {
            op,
            result: Err(TaskError::new("Http.Status500", format!("{name} broke"))),
        })
    }

    fn fire(&mut self, op: OpId, at: Millis) -> Step {
        self.now = self.now.max(at);
        self.apply(Input::TimerFired { op })
    }

    fn statuses(&self) -> Vec<(String, NodeStatus)> {
        dag_node_statuses(&self.flow, &self.ex)
            .into_iter()
            .map(|s| (s.node.to_string(), s.status))
            .collect()
    }

    fn assert_statuses(&self, want: &[(&str, NodeStatus)]) {
        let want: Vec<(String, NodeStatus)> =
            want.iter().map(|(n, s)| (n.to_string(), *s)).collect();
        assert_eq!(self.statuses(), want);
    }

    /// The node names of the history's events of one kind, in order.
    fn events(&self, kind: EventType) -> Vec<String> {
        self.history
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| match kind {
                EventType::BranchEntered | EventType::BranchExited => {
                    e.detail["node"].as_str().unwrap_or_default().to_string()
                }
                _ => e.step.as_ref().map(|s| s.to_string()).unwrap_or_default(),
            })
            .collect()
    }
}

/// The states whose calls a step dispatched, with their attempt numbers.
fn dispatched(step: &Step) -> Vec<(String, u32)> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::Dispatch(call) => Some((call.state.to_string(), call.attempt)),
            _ => None,
        })
        .collect()
}

fn started_timers(step: &Step) -> Vec<(OpId, Millis)> {
    step.effects
        .iter()
        .filter_map(|e| match e {
            Effect::StartTimer { op, fire_at } => Some((*op, *fire_at)),
            _ => None,
        })
        .collect()
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

fn diamond(extra_b: Value) -> Flow {
    job(vec![
        node("A", &[], json!({})),
        node("B", &["A"], extra_b),
        node("C", &["A"], json!({})),
        node("D", &["B", "C"], json!({})),
    ])
}

#[test]
fn a_diamond_s_join_waits_for_both_sides() {
    let (mut run, step) = Run::start(diamond(json!({})));
    assert_eq!(dispatched(&step), [("A".into(), 0)]);
    run.assert_statuses(&[
        ("A", Running),
        ("B", Waiting),
        ("C", Waiting),
        ("D", Waiting),
    ]);

    let step = run.succeed("A", json!("a"));
    assert_eq!(dispatched(&step), [("B".into(), 0), ("C".into(), 0)]);
    // Every node is called with the Dag's input.
    for effect in &step.effects {
        if let Effect::Dispatch(call) = effect {
            assert_eq!(
                call.body["url"],
                format!("http://127.0.0.1:9/{}", call.state)
            );
        }
    }

    let step = run.succeed("C", json!("c"));
    assert!(dispatched(&step).is_empty(), "D waits for B");
    run.assert_statuses(&[
        ("A", Succeeded),
        ("B", Running),
        ("C", Succeeded),
        ("D", Waiting),
    ]);

    let step = run.succeed("B", json!("b"));
    assert_eq!(dispatched(&step), [("D".into(), 0)]);
    let step = run.succeed("D", json!({"rows": 3}));
    assert_eq!(
        step.effects.last(),
        Some(&Effect::Finish(Status::Succeeded))
    );
    assert_eq!(
        run.ex.output().cloned(),
        Some(json!({"A": "a", "B": "b", "C": "c", "D": {"rows": 3}}))
    );
    run.assert_statuses(&[
        ("A", Succeeded),
        ("B", Succeeded),
        ("C", Succeeded),
        ("D", Succeeded),
    ]);
    assert_eq!(
        run.events(EventType::BranchEntered),
        names(&["A", "B", "C", "D"])
    );
    assert_eq!(
        run.events(EventType::BranchExited),
        names(&["A", "C", "B", "D"])
    );
    assert_eq!(
        run.events(EventType::StepExited),
        names(&["A", "C", "B", "D", "#job"])
    );
}

#[test]
fn nodes_without_predecessors_start_together_and_dummies_take_no_step() {
    let flow = job(vec![
        json!({"name": "begin", "type": "Dummy"}),
        node("x", &["begin"], json!({})),
        node("y", &[], json!({})),
        json!({"name": "end", "type": "Dummy", "preNodeName": ["x", "y"]}),
    ]);
    let (mut run, step) = Run::start(flow);
    // `begin` and `y` start together; `begin` finishes inside the same step, so `x` follows.
    assert_eq!(dispatched(&step), [("y".into(), 0), ("x".into(), 0)]);
    run.succeed("y", json!(2));
    let step = run.succeed("x", json!(1));
    assert_eq!(
        step.effects.last(),
        Some(&Effect::Finish(Status::Succeeded))
    );
    assert_eq!(
        run.ex.output().cloned(),
        Some(json!({"begin": {"day": 1}, "x": 1, "y": 2, "end": {"day": 1}}))
    );
}

#[test]
fn fail_ends_the_dag_and_cancels_the_running_nodes_in_the_same_step() {
    let flow = job(vec![
        node("slow", &[], json!({})),
        node("flaky", &[], json!({"failPolicy": "FAIL"})),
        node("after", &["slow"], json!({})),
    ]);
    let (mut run, _) = Run::start(flow);
    let slow = run.op("slow");
    let step = run.fail("flaky");
    assert!(step.effects.contains(&Effect::CancelTask(slow)));
    assert_eq!(step.effects.last(), Some(&Effect::Finish(Status::Failed)));
    assert!(run.ex.pending_ops().next().is_none());
    assert_eq!(
        run.ex.error().map(|e| e.code.as_str()),
        Some("Http.Status500")
    );
    run.assert_statuses(&[("slow", Cancelled), ("flaky", Failed), ("after", Skipped)]);
    assert_eq!(
        run.history.last().map(|e| e.kind),
        Some(EventType::ExecutionFailed)
    );
}

#[test]
fn ignore_lets_the_successors_run_with_the_error_as_the_node_s_output() {
    let (mut run, _) = Run::start(diamond(json!({"failPolicy": "IGNORE"})));
    run.succeed("A", json!("a"));
    run.fail("B");
    run.assert_statuses(&[
        ("A", Succeeded),
        ("B", Failed),
        ("C", Running),
        ("D", Waiting),
    ]);
    let step = run.succeed("C", json!("c"));
    assert_eq!(dispatched(&step), [("D".into(), 0)]);
    run.succeed("D", json!("d"));
    assert_eq!(run.ex.status(), Status::Succeeded);
    let output = run.ex.output().cloned().unwrap_or_default();
    assert_eq!(output["B"]["Code"], "Http.Status500");
    assert_eq!(output["D"], "d");
    run.assert_statuses(&[
        ("A", Succeeded),
        ("B", Failed),
        ("C", Succeeded),
        ("D", Succeeded),
    ]);
    assert_eq!(run.events(EventType::StepFailed), names(&["B"]));
}

#[test]
fn suspend_starts_nothing_more_lets_running_nodes_finish_then_fails() {
    let flow = job(vec![
        node("a", &[], json!({"failPolicy": "SUSPEND"})),
        node("b", &[], json!({})),
        node("after_a", &["a"], json!({})),
        node("after_b", &["b"], json!({})),
    ]);
    let (mut run, _) = Run::start(flow);
    let step = run.fail("a");
    assert!(
        !step
            .effects
            .iter()
            .any(|e| matches!(e, Effect::CancelTask(_))),
        "b keeps running"
    );
    assert_eq!(run.ex.status(), Status::Running);
    let step = run.succeed("b", json!("b"));
    assert!(dispatched(&step).is_empty(), "after_b does not start");
    assert_eq!(step.effects.last(), Some(&Effect::Finish(Status::Failed)));
    assert_eq!(run.ex.error().map(|e| e.detail.as_str()), Some("a broke"));
    run.assert_statuses(&[
        ("a", Failed),
        ("b", Succeeded),
        ("after_a", Skipped),
        ("after_b", Skipped),
    ]);
}

#[test]
fn a_node_retries_after_its_interval_then_succeeds() {
    let flow = job(vec![
        node("flaky", &[], json!({"retryTimes": 2, "retryInterval": 5})),
        node("next", &["flaky"], json!({})),
    ]);
    let (mut run, _) = Run::start(flow);
    let step = run.fail("flaky");
    let [(backoff, at)] = started_timers(&step).try_into().expect("one backoff timer");
    assert_eq!(at, T0 + 5_000);
    run.assert_statuses(&[("flaky", Running), ("next", Waiting)]);

    let step = run.fire(backoff, at);
    assert_eq!(dispatched(&step), [("flaky".into(), 1)]);
    let step = run.succeed("flaky", json!("ok"));
    assert_eq!(dispatched(&step), [("next".into(), 0)]);
    run.succeed("next", json!("done"));
    assert_eq!(run.ex.status(), Status::Succeeded);
    assert_eq!(run.events(EventType::TaskFailed), names(&["flaky"]));
    assert_eq!(
        run.events(EventType::StepEntered).len(),
        3,
        "one run per node"
    );
}

#[test]
fn a_node_that_spends_its_retries_fails_the_job() {
    let flow = job(vec![node(
        "flaky",
        &[],
        json!({"retryTimes": 1, "retryInterval": 0}),
    )]);
    let (mut run, _) = Run::start(flow);
    let step = run.fail("flaky");
    let [(backoff, at)] = started_timers(&step).try_into().expect("one backoff timer");
    run.fire(backoff, at);
    run.fail("flaky");
    assert_eq!(run.ex.status(), Status::Failed);
    run.assert_statuses(&[("flaky", Failed)]);
}

#[test]
fn max_execution_time_times_the_node_out() {
    let flow = job(vec![
        node("stuck", &[], json!({"maxExecutionTime": 2})),
        node("next", &["stuck"], json!({})),
    ]);
    let (mut run, step) = Run::start(flow);
    let stuck = run.op("stuck");
    let timeout = started_timers(&step)
        .into_iter()
        .find(|(_, at)| *at == T0 + 120_000)
        .expect("a 2-minute timeout");
    let step = run.fire(timeout.0, timeout.1);
    assert!(step.effects.contains(&Effect::CancelTask(stuck)));
    assert_eq!(run.ex.status(), Status::Failed);
    assert_eq!(
        run.ex.error().map(|e| e.code.as_str()),
        Some(ErrorCode::TIMEOUT)
    );
    assert_eq!(run.events(EventType::TaskTimedOut), names(&["stuck"]));
    run.assert_statuses(&[("stuck", Failed), ("next", Skipped)]);
}

#[test]
fn a_timed_out_node_is_retried_like_any_failure() {
    let flow = job(vec![node(
        "stuck",
        &[],
        json!({"maxExecutionTime": 1, "retryTimes": 1, "retryInterval": 1}),
    )]);
    let (mut run, step) = Run::start(flow);
    let timeout = started_timers(&step)
        .into_iter()
        .find(|(_, at)| *at == T0 + 60_000)
        .expect("a 1-minute timeout");
    let step = run.fire(timeout.0, timeout.1);
    let [(backoff, at)] = started_timers(&step).try_into().expect("one backoff timer");
    let step = run.fire(backoff, at);
    assert_eq!(dispatched(&step), [("stuck".into(), 1)]);
    run.succeed("stuck", json!(1));
    assert_eq!(run.ex.status(), Status::Succeeded);
}

#[test]
fn a_stop_mid_dag_cancels_every_call_and_timer_in_one_step() {
    let flow = job(vec![
        node("a", &[], json!({})),
        node("b", &[], json!({"retryTimes": 3, "retryInterval": 60})),
        node("c", &[], json!({"maxExecutionTime": 5})),
        node("d", &["a", "b"], json!({})),
        node("e", &["a"], json!({})),
    ]);
    let (mut run, _) = Run::start(flow);
    run.succeed("a", json!(1));
    run.fail("b");
    let outstanding: Vec<OpId> = run
        .ex
        .pending_ops()
        .map(|op| match op {
            sluice_engine::PendingOp::Task { call, .. } => call.op,
            sluice_engine::PendingOp::Timer { op, .. } => op,
            sluice_engine::PendingOp::Child(start) => start.op,
        })
        .collect();
    // e's call, c's call and its timeout, b's backoff, the execution deadline.
    assert_eq!(outstanding.len(), 5);
    let history_before = run.history.len();
    let step = run.apply(Input::Stop {
        error: Some("Stopped".into()),
        cause: Some("operator".into()),
    });
    for op in &outstanding {
        assert!(
            step.effects
                .iter()
                .any(|e| matches!(e, Effect::CancelTask(o) | Effect::CancelTimer(o) if o == op)),
            "{op:?} was not cancelled"
        );
    }
    assert!(run.ex.pending_ops().next().is_none());
    assert_eq!(step.effects.last(), Some(&Effect::Finish(Status::Stopped)));
    assert_eq!(run.history.len(), history_before + 1, "only the stop event");
    assert_eq!(
        run.history.last().map(|e| e.kind),
        Some(EventType::ExecutionStopped)
    );
    run.assert_statuses(&[
        ("a", Succeeded),
        ("b", Cancelled),
        ("c", Cancelled),
        ("d", Skipped),
        ("e", Cancelled),
    ]);
    // Late answers change nothing.
    let late = run.ex.apply(
        &run.flow,
        Input::TaskCompleted {
            op: outstanding[0],
            result: Ok(json!(1)),
        },
        run.now,
    );
    assert!(late.is_err());
}

#[test]
fn node_statuses_survive_the_store_s_json() {
    let (mut run, _) = Run::start(diamond(json!({})));
    run.fail("A");
    let text = serde_json::to_string(&Snapshot::of(&run.ex)).expect("serializes");
    let back: Execution = serde_json::from_str::<Snapshot>(&text)
        .expect("deserializes")
        .into();
    assert_eq!(back, run.ex);
    let statuses: Vec<NodeStatus> = dag_node_statuses(&run.flow, &back)
        .iter()
        .map(|s| s.status)
        .collect();
    assert_eq!(statuses, [Failed, Skipped, Skipped, Skipped]);
    // An execution without a Dag stores what it always stored.
    let plain = Execution::new(run.ex.info().clone());
    let text = serde_json::to_string(&Snapshot::of(&plain)).expect("serializes");
    assert!(!text.contains("dag_runs"), "{text}");
}

// ---- a Dag built by hand: nodes that are nested scopes -------------------------------------

struct Builder {
    states: Vec<State>,
    scopes: Vec<Scope>,
}

impl Builder {
    fn scope(&mut self, kinds: Vec<(&str, StateKind)>) -> ScopeId {
        let id = ScopeId(self.scopes.len() as u32);
        let first = self.states.len() as u32;
        let ids: Vec<StateId> = (first..first + kinds.len() as u32).map(StateId).collect();
        for (i, (name, kind)) in kinds.into_iter().enumerate() {
            self.states.push(State {
                name: StateName::new(name),
                scope: id,
                kind,
                input: None,
                output: None,
                global: None,
                next: ids.get(i + 1).map_or(Next::End, |n| Next::State(*n)),
                asl: None,
            });
        }
        self.scopes.push(Scope {
            start: ids[0],
            states: ids,
            data: DataModel::Pipe,
            input: None,
            output: None,
        });
        id
    }
}

fn call(function: &str) -> StateKind {
    StateKind::Task(Task {
        target: TaskTarget::Function(FunctionRef {
            service: "s".into(),
            qualifier: None,
            function: function.into(),
            invocation: sluice_ir::Invocation::Sync,
        }),
        resource: format!("acs:fc:::services/s/functions/{function}"),
        mode: TaskMode::RequestComplete,
        body: Body::StateInput,
        timeout_secs: None,
        heartbeat_secs: None,
        recovery: Recovery::default(),
    })
}

/// `wait_then_call` (a Wait, then a task) and `fan` (a Parallel of two tasks), then `join`.
fn nested() -> Flow {
    let mut b = Builder {
        states: Vec::new(),
        scopes: Vec::new(),
    };
    // The root scope first: its Dag state is filled in once the node scopes exist.
    let root = b.scope(vec![("graph", StateKind::Pass)]);
    let first = b.scope(vec![
        ("pause", StateKind::Wait(Wait::Seconds(10))),
        ("w", call("w")),
    ]);
    let left = b.scope(vec![("l", call("l"))]);
    let right = b.scope(vec![("r", call("r"))]);
    let parallel = StateKind::Parallel(Parallel {
        branches: vec![left, right],
        result: Aggregate::Array,
        recovery: Recovery::default(),
    });
    let fan = b.scope(vec![("fan", parallel)]);
    let join = b.scope(vec![("join", call("join"))]);
    let node = |name: &str, scope, after: Vec<u32>| DagNode {
        name: name.into(),
        scope,
        after,
        on_failure: NodeFailure::Fail,
    };
    let start = b.scopes[root.0 as usize].start;
    b.states[start.0 as usize].kind = StateKind::Dag(Dag {
        nodes: vec![
            node("wait_then_call", first, vec![]),
            node("fan", fan, vec![]),
            node("join", join, vec![0, 1]),
        ],
        recovery: Recovery::default(),
    });
    Flow {
        language: Language::CloudFlow,
        name: None,
        timeout_secs: None,
        states: b.states,
        scopes: b.scopes,
    }
}

#[test]
fn a_node_may_be_a_nested_scope() {
    let (mut run, step) = Run::start(nested());
    assert_eq!(dispatched(&step), [("l".into(), 0), ("r".into(), 0)]);
    let [(_, _), (wait, at)] = started_timers(&step).try_into().expect("deadline and wait");
    run.succeed("l", json!("L"));
    run.succeed("r", json!("R"));
    run.assert_statuses(&[
        ("wait_then_call", Running),
        ("fan", Succeeded),
        ("join", Waiting),
    ]);
    let step = run.fire(wait, at);
    assert_eq!(dispatched(&step), [("w".into(), 0)]);
    let step = run.succeed("w", json!("W"));
    assert_eq!(dispatched(&step), [("join".into(), 0)]);
    run.succeed("join", json!("J"));
    assert_eq!(
        run.ex.output().cloned(),
        Some(json!({"wait_then_call": "W", "fan": ["L", "R"], "join": "J"}))
    );
}

#[test]
fn a_stop_reaches_calls_nested_inside_nodes() {
    let (mut run, _) = Run::start(nested());
    let calls = [run.op("l"), run.op("r")];
    let step = run.apply(Input::Stop {
        error: None,
        cause: None,
    });
    for op in calls {
        assert!(step.effects.contains(&Effect::CancelTask(op)));
    }
    assert!(run.ex.pending_ops().next().is_none());
    run.assert_statuses(&[
        ("wait_then_call", Cancelled),
        ("fan", Cancelled),
        ("join", Skipped),
    ]);
}
