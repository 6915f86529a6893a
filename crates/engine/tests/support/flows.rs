//! Random well-formed flows, generated as IR.
//!
//! Proptest generates a [`ScopeSpec`] tree (so failures shrink to small flows), and
//! [`build`] lowers it into a [`Flow`] that keeps the IR's invariants: every id indexes the
//! arena, scope 0 is the top level, and every `next`, Choice target and Catch target points
//! into the state's own scope.

use proptest::collection::vec;
use proptest::prelude::*;
use serde_json::{Value, json};
use sluice_ir::expr::{BinaryOp, Expr, Function, Root, Segment};
use sluice_ir::{
    Aggregate, Body, Catcher, Choice, ChoiceBranch, Condition, Dag, DagNode, DataModel, ErrorCode,
    Fail, Flow, FunctionRef, ItemInput, Items, Language, Map, Next, NodeFailure, Parallel,
    Recovery, Retrier, Scope, ScopeId, State, StateId, StateKind, StateName, Task, TaskMode,
    TaskTarget, Template, Wait,
};

/// The error codes a Retry or Catch entry may name.
pub const MATCHED_CODES: [&str; 5] = [
    ErrorCode::ALL,
    "E1",
    "E2",
    ErrorCode::TIMEOUT,
    ErrorCode::EXPRESSION,
];

/// The codes simulated tasks fail with: some are named by Retry/Catch entries, one never is.
pub const TASK_ERROR_CODES: [&str; 3] = ["E1", "E2", "E3"];

#[derive(Debug, Clone)]
pub struct ScopeSpec {
    pub data: DataModel,
    pub states: Vec<StateSpec>,
}

#[derive(Debug, Clone)]
pub enum StateSpec {
    Pass {
        input: bool,
        output: OutputSpec,
    },
    Task(TaskSpec),
    Choice {
        branches: Vec<(i64, Target)>,
        default: Target,
    },
    Parallel {
        branches: Vec<ScopeSpec>,
        recovery: RecoverySpec,
    },
    Map {
        processor: Box<ScopeSpec>,
        max_concurrency: u32,
        constructor: bool,
        recovery: RecoverySpec,
    },
    Dag {
        nodes: Vec<DagNodeSpec>,
        recovery: RecoverySpec,
    },
    Wait {
        seconds: u64,
        from_input: bool,
    },
    Succeed,
    Fail {
        code: Option<&'static str>,
    },
}

/// A node of a Dag: its scope, and picks among the nodes before it (so the graph has no
/// cycle) of the nodes it comes after.
#[derive(Debug, Clone)]
pub struct DagNodeSpec {
    pub scope: ScopeSpec,
    pub after: Vec<u8>,
    pub on_failure: NodeFailure,
}

#[derive(Debug, Clone, Copy)]
pub enum OutputSpec {
    None,
    /// Keeps `k` and `items`, adds the raw output and a seeded random number.
    Shape,
    /// Like `Shape`, and reads `$Context` (the state's name).
    WithContext,
}

#[derive(Debug, Clone)]
pub struct TaskSpec {
    pub callback: bool,
    pub timeout_secs: Option<u64>,
    pub body_template: bool,
    pub recovery: RecoverySpec,
}

/// Where a Choice branch goes, relative to the Choice's position in its scope.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Forward(u8),
    /// A loop: the history limit bounds it.
    Back(u8),
    End,
}

#[derive(Debug, Clone, Default)]
pub struct RecoverySpec {
    pub retry: Vec<RetrySpec>,
    pub catch: Vec<CatchSpec>,
}

#[derive(Debug, Clone)]
pub struct RetrySpec {
    pub code: usize,
    pub max_attempts: u32,
    pub interval_secs: u64,
    pub backoff: bool,
}

#[derive(Debug, Clone)]
pub struct CatchSpec {
    pub code: usize,
    pub target: u8,
    pub output: bool,
}

// ---- strategies ------------------------------------------------------------------------

/// A scope nested at most `depth` more levels.
pub fn scope_spec(depth: u32) -> BoxedStrategy<ScopeSpec> {
    let state = if depth == 0 {
        leaf_state().boxed()
    } else {
        prop_oneof![
            6 => leaf_state(),
            1 => parallel_state(depth - 1),
            1 => map_state(depth - 1),
            1 => dag_state(depth - 1),
        ]
        .boxed()
    };
    (data_model(), vec(state, 1..=6))
        .prop_map(|(data, states)| ScopeSpec { data, states })
        .boxed()
}

fn data_model() -> impl Strategy<Value = DataModel> {
    prop_oneof![3 => Just(DataModel::Pipe), 1 => Just(DataModel::Merge)]
}

fn leaf_state() -> impl Strategy<Value = StateSpec> {
    prop_oneof![
        3 => (any::<bool>(), output_spec())
            .prop_map(|(input, output)| StateSpec::Pass { input, output }),
        4 => task_spec().prop_map(StateSpec::Task),
        2 => (vec((0..4i64, target()), 0..3), target())
            .prop_map(|(branches, default)| StateSpec::Choice { branches, default }),
        1 => (0..4u64, any::<bool>())
            .prop_map(|(seconds, from_input)| StateSpec::Wait { seconds, from_input }),
        1 => Just(StateSpec::Succeed),
        1 => prop::option::of(prop::sample::select(vec!["E1", "E2", "Boom"]))
            .prop_map(|code| StateSpec::Fail { code }),
    ]
}

fn output_spec() -> impl Strategy<Value = OutputSpec> {
    prop_oneof![
        3 => Just(OutputSpec::None),
        1 => Just(OutputSpec::Shape),
        1 => Just(OutputSpec::WithContext),
    ]
}

fn task_spec() -> impl Strategy<Value = TaskSpec> {
    (
        any::<bool>(),
        prop::option::of(1..20u64),
        any::<bool>(),
        recovery_spec(),
    )
        .prop_map(
            |(callback, timeout_secs, body_template, recovery)| TaskSpec {
                callback,
                timeout_secs,
                body_template,
                recovery,
            },
        )
}

fn target() -> impl Strategy<Value = Target> {
    prop_oneof![
        6 => any::<u8>().prop_map(Target::Forward),
        1 => any::<u8>().prop_map(Target::Back),
        2 => Just(Target::End),
    ]
}

fn recovery_spec() -> impl Strategy<Value = RecoverySpec> {
    let retry = (0..MATCHED_CODES.len(), 0..3u32, 0..3u64, any::<bool>()).prop_map(
        |(code, max_attempts, interval_secs, backoff)| RetrySpec {
            code,
            max_attempts,
            interval_secs,
            backoff,
        },
    );
    let catch =
        (0..MATCHED_CODES.len(), any::<u8>(), any::<bool>()).prop_map(|(code, target, output)| {
            CatchSpec {
                code,
                target,
                output,
            }
        });
    (vec(retry, 0..3), vec(catch, 0..3)).prop_map(|(retry, catch)| RecoverySpec { retry, catch })
}

fn parallel_state(depth: u32) -> impl Strategy<Value = StateSpec> {
    (vec(scope_spec(depth), 1..=4), recovery_spec())
        .prop_map(|(branches, recovery)| StateSpec::Parallel { branches, recovery })
}

fn map_state(depth: u32) -> impl Strategy<Value = StateSpec> {
    (scope_spec(depth), 0..=3u32, any::<bool>(), recovery_spec()).prop_map(
        |(processor, max_concurrency, constructor, recovery)| StateSpec::Map {
            processor: Box::new(processor),
            max_concurrency,
            constructor,
            recovery,
        },
    )
}

fn dag_state(depth: u32) -> impl Strategy<Value = StateSpec> {
    let failure = prop::sample::select(vec![
        NodeFailure::Fail,
        NodeFailure::Continue,
        NodeFailure::Drain,
    ]);
    let node = (scope_spec(depth), vec(any::<u8>(), 0..3), failure).prop_map(
        |(scope, after, on_failure)| DagNodeSpec {
            scope,
            after,
            on_failure,
        },
    );
    (vec(node, 0..=5), recovery_spec())
        .prop_map(|(nodes, recovery)| StateSpec::Dag { nodes, recovery })
}

/// An execution input shaped like what the generated states read: `k` (Choice and Wait)
/// and `items` (Map), whose items have the same shape one level down.
pub fn execution_input() -> impl Strategy<Value = Value> {
    let leaf = (0..4i64).prop_map(|k| json!({ "k": k, "items": [] }));
    let item = (0..4i64, vec(leaf, 0..3)).prop_map(|(k, items)| json!({ "k": k, "items": items }));
    prop_oneof![
        8 => (0..4i64, vec(item, 0..5)).prop_map(|(k, items)| json!({ "k": k, "items": items })),
        1 => Just(json!({})),
        1 => Just(json!("not an object")),
    ]
}

// ---- lowering to IR --------------------------------------------------------------------

pub fn build(root: &ScopeSpec) -> Flow {
    let mut builder = Builder::default();
    builder.scope(root);
    Flow {
        language: Language::CloudFlow,
        name: Some("sim".into()),
        timeout_secs: None,
        states: builder.states,
        scopes: builder.scopes,
    }
}

#[derive(Default)]
struct Builder {
    states: Vec<State>,
    scopes: Vec<Scope>,
}

impl Builder {
    /// Allocates the scope and its states' ids first, so that targets can be resolved while
    /// nested scopes are appended after them.
    fn scope(&mut self, spec: &ScopeSpec) -> ScopeId {
        let id = ScopeId(self.scopes.len() as u32);
        let first = self.states.len() as u32;
        let ids: Vec<StateId> = (0..spec.states.len() as u32)
            .map(|i| StateId(first + i))
            .collect();
        self.scopes.push(Scope {
            start: ids[0],
            states: ids.clone(),
            data: spec.data,
            input: None,
            output: None,
        });
        self.states
            .extend(ids.iter().map(|state| placeholder(*state, id)));
        for (position, state) in spec.states.iter().enumerate() {
            let lowered = self.state(id, spec.data, &ids, position, state);
            self.states[ids[position].0 as usize] = lowered;
        }
        id
    }

    fn state(
        &mut self,
        scope: ScopeId,
        data: DataModel,
        ids: &[StateId],
        position: usize,
        spec: &StateSpec,
    ) -> State {
        let next = match ids.get(position + 1) {
            Some(id) => Next::State(*id),
            None => Next::End,
        };
        let mut state = placeholder(ids[position], scope);
        state.next = next;
        state.kind = match spec {
            StateSpec::Pass { input, output } => {
                state.input = input.then(|| pass_input(data));
                state.output = output_template(*output);
                StateKind::Pass
            }
            StateSpec::Task(task) => StateKind::Task(Task {
                target: TaskTarget::Function(FunctionRef {
                    service: "svc".into(),
                    qualifier: None,
                    function: "echo".into(),
                    invocation: sluice_ir::Invocation::Sync,
                }),
                resource: "acs:fc:::services/svc/functions/echo".into(),
                mode: if task.callback {
                    TaskMode::WaitForCustomCallback
                } else {
                    TaskMode::RequestComplete
                },
                body: if task.body_template {
                    Body::Template(task_body(task.callback))
                } else {
                    Body::StateInput
                },
                timeout_secs: task.timeout_secs,
                heartbeat_secs: None,
                recovery: recovery(&task.recovery, ids),
            }),
            StateSpec::Choice { branches, default } => StateKind::Choice(Choice {
                branches: branches
                    .iter()
                    .map(|(value, target)| ChoiceBranch {
                        condition: Condition::Expr(k_equals(*value)),
                        next: resolve(*target, ids, position),
                        asl: None,
                    })
                    .collect(),
                default: Some(resolve(*default, ids, position)),
            }),
            StateSpec::Parallel {
                branches,
                recovery: r,
            } => StateKind::Parallel(Parallel {
                branches: branches.iter().map(|b| self.scope(b)).collect(),
                result: Aggregate::BranchKeys,
                recovery: recovery(r, ids),
            }),
            StateSpec::Map {
                processor,
                max_concurrency,
                constructor,
                recovery: r,
            } => StateKind::Map(Map {
                items: Items::Expr(input_field("items")),
                processor: self.scope(processor),
                max_concurrency: *max_concurrency,
                item_input: if *constructor {
                    ItemInput::Constructor(item_constructor())
                } else {
                    ItemInput::Item
                },
                result: Aggregate::ItemsField,
                recovery: recovery(r, ids),
                distributed: None,
                asl_limits: None,
            }),
            StateSpec::Dag { nodes, recovery: r } => StateKind::Dag(Dag {
                nodes: nodes
                    .iter()
                    .enumerate()
                    .map(|(i, node)| DagNode {
                        name: format!("N{i}"),
                        scope: self.scope(&node.scope),
                        after: predecessors(i, &node.after),
                        on_failure: node.on_failure,
                    })
                    .collect(),
                recovery: recovery(r, ids),
            }),
            StateSpec::Wait {
                seconds,
                from_input,
            } => StateKind::Wait(if *from_input {
                Wait::SecondsExpr(input_field("k"))
            } else {
                Wait::Seconds(*seconds)
            }),
            StateSpec::Succeed => StateKind::Succeed,
            StateSpec::Fail { code } => StateKind::Fail(Fail {
                code: code.map(str::to_string),
                detail: Some("generated".into()),
                code_from: None,
                detail_from: None,
            }),
        };
        state
    }
}

fn placeholder(id: StateId, scope: ScopeId) -> State {
    State {
        name: StateName::new(format!("S{}", id.0)),
        scope,
        kind: StateKind::Pass,
        input: None,
        output: None,
        global: None,
        next: Next::End,
        asl: None,
    }
}

/// The nodes before node `index` that `picks` name, each once.
fn predecessors(index: usize, picks: &[u8]) -> Vec<u32> {
    let mut after: Vec<u32> = Vec::new();
    if index > 0 {
        for pick in picks {
            let p = (*pick as usize % index) as u32;
            if !after.contains(&p) {
                after.push(p);
            }
        }
    }
    after
}

fn resolve(target: Target, ids: &[StateId], position: usize) -> Next {
    let after = ids.len() - position - 1;
    match target {
        Target::Forward(_) | Target::End if after == 0 => Next::End,
        Target::Forward(offset) => Next::State(ids[position + 1 + offset as usize % after]),
        Target::Back(offset) => Next::State(ids[offset as usize % (position + 1)]),
        Target::End => Next::End,
    }
}

fn recovery(spec: &RecoverySpec, ids: &[StateId]) -> Recovery {
    Recovery {
        retry: spec
            .retry
            .iter()
            .map(|r| Retrier {
                errors: vec![MATCHED_CODES[r.code].to_string()],
                max_attempts: r.max_attempts,
                interval_secs: r.interval_secs,
                backoff_rate: if r.backoff { 2.0 } else { 1.0 },
                max_backoff_secs: Some(5),
                full_jitter: false,
            })
            .collect(),
        catch: spec
            .catch
            .iter()
            .map(|c| Catcher {
                errors: vec![MATCHED_CODES[c.code].to_string()],
                next: ids[c.target as usize % ids.len()],
                output: c.output.then(catch_output),
                asl: None,
            })
            .collect(),
    }
}

// ---- templates and expressions ---------------------------------------------------------

fn path(root: Root, fields: &[&str]) -> Expr {
    Expr::Path(
        Box::new(Expr::Var(root)),
        fields
            .iter()
            .map(|f| Segment::Field(f.to_string()))
            .collect(),
    )
}

fn input_field(field: &str) -> Expr {
    path(Root::Input, &[field])
}

/// `$Input.k == value`: errors (FnF.ExpressionError) when the input has no `k`, which the
/// simulation wants too.
fn k_equals(value: i64) -> Expr {
    Expr::Binary(
        BinaryOp::Eq,
        Box::new(input_field("k")),
        Box::new(Expr::Literal(json!(value))),
    )
}

fn field(key: &str, expr: Expr) -> (String, Template) {
    (key.to_string(), Template::Expr(expr))
}

/// Pipe scopes read `$Input`; Merge scopes also read the scope's `$local`.
fn pass_input(data: DataModel) -> Template {
    let mut fields = vec![
        field("k", input_field("k")),
        field("items", input_field("items")),
    ];
    if data == DataModel::Merge {
        fields.push(field("local", Expr::Var(Root::Local)));
    }
    Template::Object(fields)
}

fn output_template(spec: OutputSpec) -> Option<Template> {
    let mut fields = vec![
        field("k", input_field("k")),
        field("items", input_field("items")),
        field("out", Expr::Var(Root::Output)),
        field(
            "r",
            Expr::Call(
                Function::RandomInt,
                vec![Expr::Literal(json!(0)), Expr::Literal(json!(1000))],
            ),
        ),
    ];
    match spec {
        OutputSpec::None => return None,
        OutputSpec::Shape => {}
        OutputSpec::WithContext => {
            fields.push(field("name", path(Root::Context, &["Current", "Name"])))
        }
    }
    Some(Template::Object(fields))
}

fn task_body(callback: bool) -> Template {
    let mut fields = vec![
        field("k", input_field("k")),
        field("items", input_field("items")),
        field("attempt", path(Root::Context, &["Current", "RetryCount"])),
    ];
    if callback {
        fields.push(field(
            "token",
            path(Root::Context, &["Current", "TaskToken"]),
        ));
    }
    Template::Object(fields)
}

fn item_constructor() -> Template {
    Template::Object(vec![
        field("k", path(Root::Item, &["k"])),
        field("items", path(Root::Item, &["items"])),
        field("parent", input_field("k")),
    ])
}

fn catch_output() -> Template {
    Template::Object(vec![
        field("k", Expr::Literal(json!(0))),
        field("items", Expr::Literal(json!([]))),
        field("error", path(Root::Context, &["Current", "Error", "Code"])),
    ])
}
