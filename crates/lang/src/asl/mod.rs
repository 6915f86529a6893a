//! The Amazon States Language (JSON, or YAML as AWS's tools accept it) compiled to the IR.
//!
//! A state machine is `{StartAt, States}` with `States` a map of named states; each Parallel
//! branch and Map processor is another such map, a scope of its own. Every state type and
//! field of the specification is compiled, under both query languages: JSONPath (the
//! default; `InputPath`, `Parameters`, `ResultSelector`, `ResultPath`, `OutputPath`, `…Path`
//! fields) and JSONata (`Arguments`, `Output`, `{% … %}` strings), chosen at the top and per
//! state (`QueryLanguage`). What moves a state's data is an [`sluice_ir::AslData`] beside the
//! state; Choice Rules are [`sluice_ir::expr::asl::Rule`]s.
//!
//! `fields.rs` says which fields each state type takes under each query language; `data.rs`
//! compiles the data fields; `choice.rs` the Choice Rules; `task.rs` the Task resources.

mod choice;
mod data;
mod fields;
mod lint;
mod objects;
mod single;
mod task;

pub use single::{SingleState, single_state};

use std::collections::HashMap;

use sluice_ir::{
    Aggregate, ChildMode, DataModel, Distributed, Fail, Flow, ItemInput, Items, Language, Map,
    MapLimits, Next, Parallel, QueryLanguage, ScopeId, StateKind, ToleratedFailures, Wait,
};

use crate::dialect::Checked;
use crate::doc::{Loc, Node, NodeKind, parse_document};
use crate::error::{DefinitionError, Pointer, Problem, ProblemKind};
use crate::frontend::{Arena, Fields, Problems, ScopeNames, Slot, StateBody, locate, one_of};
use data::{Values, optional_template, state_data};
use fields::{StateType, Transition, allowed_fields};

/// The longest state name (ValidateStateMachineDefinition: 1 to 80 characters).
pub const MAX_STATE_NAME_CHARS: usize = 80;
/// The most branches of a Parallel state sluice runs (AWS documents no lower bound).
pub const MAX_PARALLEL_BRANCHES: usize = 1_000;

const TOP_LEVEL_FIELDS: &[&str] = &[
    "Comment",
    "StartAt",
    "States",
    "Version",
    "TimeoutSeconds",
    "QueryLanguage",
];
const BRANCH_FIELDS: &[&str] = &["Comment", "StartAt", "States", "QueryLanguage"];
const PROCESSOR_FIELDS: &[&str] = &["Comment", "StartAt", "States", "ProcessorConfig"];
/// The longest execution (one year, AWS's limit for Standard workflows).
const MAX_TIMEOUT_SECS: i64 = 31_536_000;

/// Compiles an ASL definition.
pub fn parse(text: &str) -> Result<Flow, DefinitionError> {
    check(text).flow
}

/// Compiles an ASL definition, with the warnings AWS's validation gives for what it accepts
/// (`NO_DOLLAR`, `NO_PATH`, `PASS_RESULT_IS_STATIC`, see `lint.rs`).
pub fn check(text: &str) -> Checked {
    let root = match parse_document(text) {
        Ok(root) => root,
        Err(problem) => {
            return Checked {
                flow: Err(problem.into()),
                warnings: Vec::new(),
            };
        }
    };
    let mut compiler = Compiler::default();
    let timeout = compiler.top_level(&root);
    let Compiler {
        arena,
        problems,
        mut warnings,
        ..
    } = compiler;
    warnings.sort_by_key(|w| (w.line, w.column));
    let mut flow = arena.into_flow(Language::Asl, None);
    flow.timeout_secs = timeout;
    Checked {
        flow: problems.into_result(flow),
        warnings,
    }
}

#[derive(Default)]
struct Compiler {
    arena: Arena,
    problems: Problems,
    warnings: Vec<Problem>,
    /// Every Map `Label` so far, in any scope, and where it was written: a label names its
    /// map runs (`…:mapRun:MACHINE/LABEL:ID`), so it is unique in the machine.
    labels: Vec<(String, Loc)>,
    /// Every state name so far, in any scope, and where it was written: ASL's state names
    /// are unique in the whole machine, not only in their scope.
    state_names: HashMap<String, Loc>,
}

impl Compiler {
    fn top_level(&mut self, root: &Node) -> Option<u64> {
        let at = Pointer::default();
        let problems = &mut self.problems;
        let fields = problems.keep_at(Fields::of(root, "a state machine"), &at, root)?;
        problems.keep_at(
            fields.allow_only(TOP_LEVEL_FIELDS, "the state machine"),
            &at,
            root,
        );
        if let Some(version) = fields.get("Version") {
            problems.keep_at(version_field(version), &at, root);
        }
        let query = problems
            .keep_at(
                query_language(&fields, QueryLanguage::JsonPath, true),
                &at,
                root,
            )
            .unwrap_or_default();
        let timeout = problems.keep_at(
            fields
                .get("TimeoutSeconds")
                .map(|n| n.as_int_in(1, MAX_TIMEOUT_SECS))
                .transpose(),
            &at,
            root,
        );
        self.compile_scope(&fields, "the state machine", query, &at);
        timeout.flatten().and_then(|t| u64::try_from(t).ok())
    }

    /// Compiles a `{StartAt, States}` map (which `at` points at) into a new scope.
    fn compile_scope(
        &mut self,
        fields: &Fields<'_>,
        owner: &str,
        query: QueryLanguage,
        at: &Pointer,
    ) -> ScopeId {
        let scope = self.arena.new_scope(DataModel::Pipe);
        let problems_before = self.problems.count();
        let node = fields.node();
        let start = self
            .problems
            .keep_at(fields.require("StartAt", owner), at, node);
        let states = self.problems.keep_at(
            fields.require("States", owner).and_then(states_map),
            at,
            node,
        );
        let (names, slots) = self.reserve_states(scope, states.unwrap_or_default(), at);
        let start =
            start.and_then(|s| self.problems.keep_at(names.resolve(s, "StartAt"), at, node));
        if let Some(start) = start {
            self.arena.set_start(scope, start);
        }
        for slot in &slots {
            let state_at = state_pointer(at, &slot.name);
            if let Err(problem) = self.compile_state(slot, &names, query, &state_at) {
                self.problems
                    .push(locate(problem, &state_at, slot.node).in_state(&slot.name));
            }
        }
        let terminal = slots.iter().any(|slot| is_terminal(slot.node));
        if !slots.is_empty() && !terminal {
            // Unlocated, as AWS gives it, and so listed after the states' problems.
            self.problems.push(
                Problem::new(format!(
                    "{owner} has no terminal state (End: true, Succeed or Fail)"
                ))
                .kind(ProblemKind::MissingEndState)
                .at_pointer(at.clone()),
            );
        } else if start.is_some() && self.problems.count() == problems_before {
            // AWS calls a state no transition reaches a missing transition.
            for (name, loc) in self.arena.unreachable_states(scope) {
                self.problems.push(
                    Problem::at(loc, format!("state {name:?} is not reachable from StartAt"))
                        .kind(ProblemKind::MissingTransitionTarget)
                        .at_pointer(state_pointer(at, name.as_str()))
                        .in_state(name.as_str()),
                );
            }
        }
        scope
    }

    fn reserve_states<'a>(
        &mut self,
        scope: ScopeId,
        states: &'a [(crate::doc::Key, Node)],
        at: &Pointer,
    ) -> (ScopeNames, Vec<Slot<'a>>) {
        let mut names = ScopeNames::default();
        let mut slots = Vec::with_capacity(states.len());
        for (key, node) in states {
            let name = key.text.clone();
            let length = name.chars().count();
            if length == 0 || length > MAX_STATE_NAME_CHARS {
                self.problems.push(
                    Problem::at(
                        key.loc,
                        format!(
                            "a state name has from 1 to {MAX_STATE_NAME_CHARS} characters, {name:?} has {length}"
                        ),
                    )
                    .kind(ProblemKind::InvalidStateName)
                    .at_pointer(state_pointer(at, &name))
                    .in_state(&name),
                );
            }
            let id = self.arena.reserve_state(scope, &name, key.loc);
            let inserted = names
                .insert(&name, id, key.loc)
                .and_then(|()| self.unique_state_name(&name, key.loc));
            self.problems
                .keep(inserted.map_err(|p| p.at_pointer(state_pointer(at, &name)).in_state(&name)));
            slots.push(Slot { id, name, node });
        }
        (names, slots)
    }

    /// Compiles one state (which `at` points at); its inner scopes' problems are recorded
    /// as they are found, its own returned.
    fn compile_state(
        &mut self,
        slot: &Slot<'_>,
        names: &ScopeNames,
        inherited: QueryLanguage,
        at: &Pointer,
    ) -> Result<(), Problem> {
        let fields = Fields::of(slot.node, "a state")?;
        let ty = StateType::of(fields.require("Type", "a state")?)?;
        let query = query_language(&fields, inherited, inherited == QueryLanguage::JsonPath)?;
        let allowed = allowed_fields(ty, query);
        if let Some(problem) = other_language_field(&fields, &allowed, ty, query, at) {
            return Err(problem);
        }
        fields.allow_only(&allowed, &format!("a {} state", ty.name()))?;
        if query == QueryLanguage::JsonPath {
            self.warnings
                .extend(lint::state(&fields, ty, &slot.name, at));
        }
        let values = Values { fields, query };
        let mut next = transition(&fields, ty, names)?;
        let kind = match ty {
            StateType::Pass => StateKind::Pass,
            StateType::Task => StateKind::Task(task::task(&values, names)?),
            StateType::Choice => {
                let choice = choice::choice(&values, names)?;
                next = choice.default.unwrap_or(Next::End);
                StateKind::Choice(choice)
            }
            StateType::Parallel => StateKind::Parallel(self.parallel(&values, names, at)?),
            StateType::Map => StateKind::Map(self.map(&values, names, at)?),
            StateType::Wait => StateKind::Wait(wait(&values)?),
            StateType::Succeed => StateKind::Succeed,
            StateType::Fail => StateKind::Fail(fail(&values)?),
        };
        let data = state_data(&values, ty)?;
        self.arena.fill_state(
            slot.id,
            StateBody {
                kind,
                input: None,
                output: None,
                next,
            },
        );
        self.arena.set_asl(slot.id, data);
        Ok(())
    }

    fn parallel(
        &mut self,
        values: &Values<'_>,
        names: &ScopeNames,
        at: &Pointer,
    ) -> Result<Parallel, Problem> {
        let branches_node = values.fields.require("Branches", "a Parallel state")?;
        let branches = branches_node.as_seq()?;
        if branches.is_empty() || branches.len() > MAX_PARALLEL_BRANCHES {
            return Err(Problem::at(
                branches_node.loc,
                format!(
                    "a Parallel state has from 1 to {MAX_PARALLEL_BRANCHES} branches, found {}",
                    branches.len()
                ),
            ));
        }
        let recovery = task::recovery(values, names)?;
        let mut scopes = Vec::with_capacity(branches.len());
        for (index, branch) in branches.iter().enumerate() {
            let branch = Fields::of(branch, "a Parallel branch")?;
            branch.allow_only(BRANCH_FIELDS, "a Parallel branch")?;
            let query = query_language(
                &branch,
                values.query,
                values.query == QueryLanguage::JsonPath,
            )?;
            let branch_at = at.field("Branches").index(index);
            scopes.push(self.compile_scope(&branch, "a Parallel branch", query, &branch_at));
        }
        Ok(Parallel {
            branches: scopes,
            result: Aggregate::Array,
            recovery,
        })
    }

    fn map(
        &mut self,
        values: &Values<'_>,
        names: &ScopeNames,
        at: &Pointer,
    ) -> Result<Map, Problem> {
        let fields = &values.fields;
        let (processor_field, processor_node) = match (
            fields.get("ItemProcessor").map(|n| ("ItemProcessor", n)),
            fields.get("Iterator").map(|n| ("Iterator", n)),
        ) {
            (Some(_), Some((_, old))) => {
                return Err(Problem::at(
                    old.loc,
                    "give ItemProcessor or its older name Iterator, not both",
                ));
            }
            (Some(given), None) | (None, Some(given)) => given,
            (None, None) => {
                return Err(Problem::at(
                    fields.loc(),
                    "a Map state requires the field \"ItemProcessor\"",
                ));
            }
        };
        let processor = Fields::of(processor_node, "a Map ItemProcessor")?;
        processor.allow_only(PROCESSOR_FIELDS, "a Map ItemProcessor")?;
        let child_mode = match processor.get("ProcessorConfig") {
            Some(config) => processor_config(config)?,
            None => None,
        };
        if child_mode.is_none()
            && let Some((key, node)) = fields::DISTRIBUTED_MAP_FIELDS
                .iter()
                .find_map(|key| fields.get(key).map(|node| (key, node)))
        {
            return Err(Problem::at(
                node.loc,
                format!(
                    "{key} belongs to the DISTRIBUTED Map mode: add ItemProcessor.ProcessorConfig.Mode DISTRIBUTED"
                ),
            ));
        }
        let batcher = match fields.get("ItemBatcher") {
            Some(node) => Some(objects::item_batcher(node)?),
            None => None,
        };
        let reader = match fields.get("ItemReader") {
            Some(node) => Some(Box::new(objects::item_reader(node, values.query)?)),
            None => None,
        };
        let writer = match fields.get("ResultWriter") {
            Some(node) => Some(Box::new(objects::result_writer(node, values.query)?)),
            None => None,
        };
        let items = match values.query {
            QueryLanguage::JsonPath => match fields.get("ItemsPath") {
                Some(node) => sluice_ir::AslValue::Path(data::reference_path(node)?),
                None => sluice_ir::AslValue::Path(data::whole_input()),
            },
            QueryLanguage::Jsonata => match fields.get("Items") {
                // A template: an array literal's items may be expressions.
                Some(node) => sluice_ir::AslValue::Jsonata(data::jsonata_template(node, "Items")?),
                None => sluice_ir::AslValue::Path(data::whole_input()),
            },
        };
        let selector = match (fields.get("ItemSelector"), fields.get("Parameters")) {
            (Some(_), Some(old)) => {
                return Err(Problem::at(
                    old.loc,
                    "give ItemSelector or its older name Parameters, not both",
                ));
            }
            (Some(node), None) => optional_template(values, Some(node), "ItemSelector")?,
            (None, Some(node)) => optional_template(values, Some(node), "Parameters")?,
            (None, None) => None,
        };
        let max_concurrency = values.number("MaxConcurrency", 0, i64::from(u32::MAX))?;
        let tolerated_count = values.number("ToleratedFailureCount", 0, i64::from(u32::MAX))?;
        let tolerated_percentage = values.number("ToleratedFailurePercentage", 0, 100)?;
        let distributed = match child_mode {
            Some(execution_mode) => Some(Distributed {
                execution_mode,
                batcher,
                tolerated: ToleratedFailures {
                    count: tolerated_count
                        .literal
                        .map(|c| u32::try_from(c).unwrap_or(u32::MAX)),
                    percentage: tolerated_percentage.literal.map(|p| p as f64),
                },
                reader,
                writer,
            }),
            // AWS accepts the tolerated failures on an INLINE Map too (recorded:
            // `base_map@TOLERATED_FAILURE_COUNT`), and its guide says such a Map fails with its
            // first failed iteration
            // (https://docs.aws.amazon.com/step-functions/latest/dg/state-map-inline.html): a
            // value read at run time is checked (`asl_tolerated`) and not applied.
            None => None,
        };
        let limits = MapLimits {
            max_concurrency: max_concurrency.dynamic,
            tolerated_count: tolerated_count.dynamic,
            tolerated_percentage: tolerated_percentage.dynamic,
        };
        if let Some((label, loc)) = fields.get("Label").map(label_field).transpose()? {
            self.unique_label(label, loc)?;
        }
        let recovery = task::recovery(values, names)?;
        let processor_query = query_language(
            &processor,
            values.query,
            values.query == QueryLanguage::JsonPath,
        )?;
        let processor = self.compile_scope(
            &processor,
            "a Map ItemProcessor",
            processor_query,
            &at.field(processor_field),
        );
        let has_limits = limits != MapLimits::default();
        Ok(Map {
            items: Items::Asl(items),
            processor,
            max_concurrency: max_concurrency
                .literal
                .and_then(|v| u32::try_from(v).ok())
                .unwrap_or(0),
            item_input: selector.map_or(ItemInput::Item, ItemInput::Selector),
            result: Aggregate::Array,
            recovery,
            distributed,
            asl_limits: has_limits.then(|| Box::new(limits)),
        })
    }

    /// Records a state's name, written at `loc` (its scope has checked it is new there); one
    /// given in another scope is a problem.
    fn unique_state_name(&mut self, name: &str, loc: Loc) -> Result<(), Problem> {
        if let Some(first) = self.state_names.get(name) {
            return Err(Problem::at(
                loc,
                format!(
                    "duplicate state name {name:?} (first used at {first}); names must be unique in the whole state machine, its Parallel branches and Map processors too"
                ),
            )
            .kind(ProblemKind::DuplicateStateName));
        }
        self.state_names.insert(name.to_string(), loc);
        Ok(())
    }

    /// Records a Map's `Label`, written at `loc`; one given before is a problem.
    fn unique_label(&mut self, label: String, loc: Loc) -> Result<(), Problem> {
        if let Some((_, first)) = self.labels.iter().find(|(l, _)| *l == label) {
            return Err(Problem::at(
                loc,
                format!(
                    "duplicate Label {label:?} (first used at {first}); a Label names its Map's map runs and is unique in the state machine"
                ),
            )
            .kind(ProblemKind::DuplicateLabelName));
        }
        self.labels.push((label, loc));
        Ok(())
    }
}

/// The first field of a state that only the other query language has (`InputPath` in a
/// JSONata state, `Output` in a JSONPath one): AWS points such a problem at the field, not
/// at the state as it does an unknown field.
fn other_language_field(
    fields: &Fields<'_>,
    allowed: &[&str],
    ty: StateType,
    query: QueryLanguage,
    at: &Pointer,
) -> Option<Problem> {
    let (this, other, other_name) = match query {
        QueryLanguage::JsonPath => ("JSONPath", QueryLanguage::Jsonata, "JSONata"),
        QueryLanguage::Jsonata => ("JSONata", QueryLanguage::JsonPath, "JSONPath"),
    };
    let other_fields = allowed_fields(ty, other);
    let (key, _) = fields.node().as_map().ok()?.iter().find(|(key, _)| {
        let name = key.text.as_str();
        !allowed.contains(&name) && other_fields.contains(&name)
    })?;
    Some(
        Problem::at(
            key.loc,
            format!(
                "the field {:?} of a {} state is {other_name}'s only: this state's QueryLanguage is {this}",
                key.text,
                ty.name()
            ),
        )
        .at_pointer(at.field(&key.text)),
    )
}

/// Whether a state ends its scope: `End: true`, or a Succeed or Fail state.
fn is_terminal(state: &Node) -> bool {
    let end = matches!(
        state.get("End").map(|n| &n.kind),
        Some(NodeKind::Bool(true))
    );
    let ty = state.get("Type").and_then(|n| n.as_str().ok());
    end || matches!(ty, Some("Succeed" | "Fail"))
}

/// The pointer of the state `name` of the scope `scope` points at.
fn state_pointer(scope: &Pointer, name: &str) -> Pointer {
    scope.field("States").field(name)
}

/// `Version`: the ASL version, "1.0" (the only one).
fn version_field(node: &Node) -> Result<(), Problem> {
    match node.as_str()? {
        "1.0" => Ok(()),
        other => Err(Problem::at(
            node.text_loc(),
            format!("unsupported Version {other:?}; the Amazon States Language version is \"1.0\""),
        )),
    }
}

/// A `QueryLanguage` field, else `inherited`. A state may switch a JSONPath machine to
/// JSONata, never the other way (`may_choose_jsonpath` is false under JSONata).
fn query_language(
    fields: &Fields<'_>,
    inherited: QueryLanguage,
    may_choose_jsonpath: bool,
) -> Result<QueryLanguage, Problem> {
    let Some(node) = fields.get("QueryLanguage") else {
        return Ok(inherited);
    };
    match one_of(
        node,
        &["JSONPath", "JSONata"],
        "QueryLanguage",
        "query languages",
    )? {
        "JSONata" => Ok(QueryLanguage::Jsonata),
        _ if may_choose_jsonpath => Ok(QueryLanguage::JsonPath),
        _ => Err(Problem::at(
            node.text_loc(),
            "a state cannot use JSONPath when the state machine's QueryLanguage is JSONata",
        )),
    }
}

fn states_map(node: &Node) -> Result<&[(crate::doc::Key, Node)], Problem> {
    let states = node
        .as_map()
        .map_err(|_| node.expected("States as a map of state names to states"))?;
    if states.is_empty() {
        return Err(Problem::at(node.loc, "States must hold at least one state"));
    }
    Ok(states)
}

/// `Next` or `End: true`, by the state type's rule.
fn transition(fields: &Fields<'_>, ty: StateType, names: &ScopeNames) -> Result<Next, Problem> {
    match ty.transition() {
        Transition::None => Ok(Next::End),
        Transition::NextOrEnd => {
            let next = fields.get("Next");
            let end = fields.optional_bool("End")?.unwrap_or(false);
            match (next, end) {
                (Some(next), true) => Err(Problem::at(
                    next.loc,
                    "a state has either Next or End: true, not both",
                )),
                (Some(next), false) => names.resolve(next, "Next").map(Next::State),
                (None, true) => Ok(Next::End),
                (None, false) => Err(Problem::at(
                    fields.loc(),
                    format!(
                        "a {} state needs Next (the state that follows) or End: true",
                        ty.name()
                    ),
                )),
            }
        }
    }
}

/// `ProcessorConfig`: `Mode` `INLINE` (the default), or `DISTRIBUTED` with the
/// `ExecutionType` of its child executions (`STANDARD` or `EXPRESS`); `None` for INLINE.
fn processor_config(node: &Node) -> Result<Option<ChildMode>, Problem> {
    let config = Fields::of(node, "a ProcessorConfig")?;
    config.allow_only(&["Mode", "ExecutionType"], "a ProcessorConfig")?;
    let distributed = match config.get("Mode") {
        Some(mode) => one_of(mode, &["INLINE", "DISTRIBUTED"], "Mode", "modes")? == "DISTRIBUTED",
        None => false,
    };
    let kind = config.get("ExecutionType");
    match (distributed, kind) {
        (false, Some(kind)) => Err(Problem::at(
            kind.loc,
            "ExecutionType belongs to the DISTRIBUTED Map mode: add Mode DISTRIBUTED",
        )),
        (false, None) => Ok(None),
        (true, None) => Ok(Some(ChildMode::Standard)),
        (true, Some(kind)) => Ok(Some(
            match one_of(
                kind,
                &["STANDARD", "EXPRESS"],
                "ExecutionType",
                "execution types",
            )? {
                "EXPRESS" => ChildMode::Express,
                _ => ChildMode::Standard,
            },
        )),
    }
}

/// `Label`: up to 40 characters, none of whitespace, brackets, wildcards, special characters
/// or control characters (Developer Guide, "Map state in Distributed mode"); the label and
/// where its text is.
fn label_field(node: &Node) -> Result<(String, Loc), Problem> {
    let label = node.as_str()?;
    let bad = label.chars().find(|c| is_forbidden_name_char(*c));
    if label.chars().count() > 40 || bad.is_some() {
        return Err(Problem::at(
            node.text_loc(),
            format!(
                "a Label has at most 40 characters and none of whitespace, < > {{ }} [ ] ? * \" # % \\ ^ | ~ ` $ & , ; : / or control characters; found {label:?}"
            ),
        )
        .kind(ProblemKind::InvalidLabelName));
    }
    Ok((label.to_string(), node.text_loc()))
}

/// The characters AWS forbids in the names of state machines, executions and labels.
pub fn is_forbidden_name_char(c: char) -> bool {
    c.is_whitespace()
        || c.is_control()
        || "<>{}[]?*\"#%\\^|~`$&,;:/".contains(c)
        || ('\u{7f}'..='\u{9f}').contains(&c)
}

fn wait(values: &Values<'_>) -> Result<Wait, Problem> {
    let seconds = values.number("Seconds", 0, MAX_TIMEOUT_SECS)?;
    let timestamp = values.timestamp("Timestamp")?;
    match (seconds.is_given(), timestamp) {
        (true, Some(_)) => Err(Problem::at(
            values.fields.loc(),
            "a Wait state has exactly one of Seconds, SecondsPath, Timestamp and TimestampPath",
        )),
        (true, None) => Ok(match (seconds.literal, seconds.dynamic) {
            (Some(s), _) => Wait::Seconds(u64::try_from(s).unwrap_or(0)),
            (None, Some(dynamic)) => Wait::SecondsAsl(dynamic),
            (None, None) => Wait::Seconds(0),
        }),
        (false, Some(timestamp)) => Ok(timestamp),
        (false, None) => Err(Problem::at(
            values.fields.loc(),
            "a Wait state requires one of Seconds, SecondsPath, Timestamp and TimestampPath",
        )),
    }
}

fn fail(values: &Values<'_>) -> Result<Fail, Problem> {
    let (code, code_from) = values.string("Error")?;
    let (detail, detail_from) = values.string("Cause")?;
    Ok(Fail {
        code,
        detail,
        code_from,
        detail_from,
    })
}

/// Whether a definition's top level has the shape of a state machine: `StartAt`, and
/// `States` as a map.
pub(crate) fn looks_like(root: &Node) -> bool {
    root.get("StartAt").is_some()
        && matches!(root.get("States").map(|n| &n.kind), Some(NodeKind::Map(_)))
}
