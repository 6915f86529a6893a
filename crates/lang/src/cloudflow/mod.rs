//! CloudFlow definitions: the current `Type: StateMachine` form ([`fdl`]) and the legacy
//! Serverless Workflow `type: flow` steps form ([`legacy`]), both compiled to a [`Flow`].
//!
//! This module holds what the two forms share: form detection, the state arena, field
//! checking with suggestions, state-name scopes, expressions located in the document,
//! retry building, function ARNs and reachability.

mod fdl;
mod legacy;

use std::collections::VecDeque;

use sluice_ir::{
    DataModel, Expr, Flow, FunctionRef, Invocation, Language, Next, Retrier, Scope, ScopeId, State,
    StateId, StateKind, StateName, Template, check_name_rule,
};

use crate::doc::{Key, Loc, Node, NodeKind, parse_document};
use crate::error::{DefinitionError, Problem};
use crate::expr::ExprSyntaxError;

/// The longest retry interval or backoff, in seconds (documented limit: one day).
pub const MAX_RETRY_INTERVAL_SECS: i64 = 86_400;

/// Parses a CloudFlow definition in either form into a [`Flow`].
///
/// The form is chosen by the top-level keys: `Type: StateMachine` selects the current form;
/// `type: flow`, or `version` with `steps`, the legacy one.
pub fn parse(text: &str) -> Result<Flow, DefinitionError> {
    let root = parse_document(text)?;
    match detect_form(&root)? {
        Form::StateMachine => fdl::compile(&root),
        Form::Legacy => legacy::compile(&root),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Form {
    StateMachine,
    Legacy,
}

const ACCEPTED_FORMS: &str = "accepted forms: CloudFlow (`Type: StateMachine`, `SpecVersion: v1`, \
`StartAt`, `States`) or legacy Serverless Workflow (`version: v1`, `type: flow`, `steps`)";

fn detect_form(root: &Node) -> Result<Form, Problem> {
    let NodeKind::Map(_) = &root.kind else {
        return Err(Problem::at(
            root.loc,
            format!(
                "a flow definition must be a map, found {}; {ACCEPTED_FORMS}",
                root.kind_name()
            ),
        ));
    };
    if let Some(ty) = root.get("Type") {
        return match &ty.kind {
            NodeKind::String(s) if s == "StateMachine" => Ok(Form::StateMachine),
            _ => Err(Problem::at(
                ty.loc,
                format!("`Type` must be `StateMachine`; {ACCEPTED_FORMS}"),
            )),
        };
    }
    if let Some(ty) = root.get("type") {
        return match &ty.kind {
            NodeKind::String(s) if s == "flow" => Ok(Form::Legacy),
            _ => Err(Problem::at(
                ty.loc,
                format!("`type` must be `flow`; {ACCEPTED_FORMS}"),
            )),
        };
    }
    if root.get("version").is_some() && root.get("steps").is_some() {
        return Ok(Form::Legacy);
    }
    Err(Problem::at(
        root.loc,
        format!("unrecognized flow definition; {ACCEPTED_FORMS}"),
    ))
}

// ---------------------------------------------------------------------------------------------
// Problems

/// Collects the problems of one definition.
#[derive(Debug, Default)]
pub(crate) struct Problems {
    list: Vec<Problem>,
}

impl Problems {
    pub(crate) fn push(&mut self, problem: Problem) {
        self.list.push(problem);
    }

    pub(crate) fn count(&self) -> usize {
        self.list.len()
    }

    /// Keeps the value, or records the problem.
    pub(crate) fn keep<T>(&mut self, result: Result<T, Problem>) -> Option<T> {
        result.map_err(|p| self.push(p)).ok()
    }

    pub(crate) fn into_result<T>(self, value: T) -> Result<T, DefinitionError> {
        if self.list.is_empty() {
            Ok(value)
        } else {
            Err(DefinitionError::from_problems(self.list))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Fields of a map

/// A map node seen as a set of named fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fields<'a> {
    node: &'a Node,
    entries: &'a [(Key, Node)],
}

impl<'a> Fields<'a> {
    /// `node` as a map; `what` names it in the error ("a state", "a Retry entry").
    pub(crate) fn of(node: &'a Node, what: &str) -> Result<Self, Problem> {
        match &node.kind {
            NodeKind::Map(entries) => Ok(Self { node, entries }),
            _ => Err(node.expected(&format!("{what} (a map)"))),
        }
    }

    pub(crate) fn loc(&self) -> Loc {
        self.node.loc
    }

    pub(crate) fn get(&self, key: &str) -> Option<&'a Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(_, v)| v)
    }

    /// The value of a required field; `owner` names the map in the error ("a Task state").
    pub(crate) fn require(&self, key: &str, owner: &str) -> Result<&'a Node, Problem> {
        self.get(key)
            .ok_or_else(|| Problem::at(self.loc(), format!("{owner} requires the field {key:?}")))
    }

    /// Rejects the first field not in `allowed`, suggesting the closest allowed one.
    pub(crate) fn allow_only(&self, allowed: &[&str], owner: &str) -> Result<(), Problem> {
        let Some((key, _)) = self
            .entries
            .iter()
            .find(|(k, _)| !allowed.contains(&k.text.as_str()))
        else {
            return Ok(());
        };
        let suggestion = closest(&key.text, allowed)
            .map(|s| format!("did you mean {s:?}? "))
            .unwrap_or_default();
        Err(Problem::at(
            key.loc,
            format!(
                "unknown field {:?} in {owner}; {suggestion}allowed fields: {}",
                key.text,
                allowed.join(", ")
            ),
        ))
    }

    pub(crate) fn optional_str(&self, key: &str) -> Result<Option<&'a str>, Problem> {
        self.get(key).map(Node::as_str).transpose()
    }

    /// An optional integer field in `min..=max`.
    pub(crate) fn optional_int(
        &self,
        key: &str,
        min: i64,
        max: i64,
    ) -> Result<Option<i64>, Problem> {
        self.get(key).map(|n| n.as_int_in(min, max)).transpose()
    }

    /// An optional `true`/`false` field.
    pub(crate) fn optional_bool(&self, key: &str) -> Result<Option<bool>, Problem> {
        self.get(key).map(Node::as_bool).transpose()
    }
}

/// The allowed word closest to `word` (same letters ignoring case, or at most two edits).
fn closest<'s>(word: &str, allowed: &[&'s str]) -> Option<&'s str> {
    let lower = word.to_ascii_lowercase();
    allowed
        .iter()
        .map(|a| (edit_distance(&lower, &a.to_ascii_lowercase()), *a))
        .filter(|(d, _)| *d <= 2)
        .min_by_key(|(d, _)| *d)
        .map(|(_, a)| a)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = Vec::with_capacity(b.len() + 1);
        current.push(i + 1);
        for (j, cb) in b.iter().enumerate() {
            let substitute =
                previous.get(j).copied().unwrap_or(usize::MAX) + usize::from(ca != *cb);
            let delete = previous
                .get(j + 1)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            let insert = current
                .get(j)
                .copied()
                .unwrap_or(usize::MAX)
                .saturating_add(1);
            current.push(substitute.min(delete).min(insert));
        }
        previous = current;
    }
    previous.last().copied().unwrap_or(0)
}

// ---------------------------------------------------------------------------------------------
// Names and scopes

/// A name checked against CloudFlow's name rule (flow names, state names).
pub(crate) fn checked_name(node: &Node, what: &str) -> Result<String, Problem> {
    let name = node.as_str()?;
    check_name_rule(name)
        .map(|()| name.to_string())
        .map_err(|e| Problem::at(node.text_loc(), format!("invalid {what} {name:?}: {e}")))
}

/// A state's name as written. A name breaking the name rule is still registered (so that the
/// states naming it resolve), after its problem was recorded.
pub(crate) fn registered_name(node: &Node, what: &str, problems: &mut Problems) -> Option<String> {
    let name = problems.keep(node.as_str())?;
    let checked = checked_name(node, what);
    problems.keep(checked.map_err(|p| p.in_state(name)));
    Some(name.to_string())
}

/// The state names of one scope, for resolving `Next`, `Default`, `goto`, ….
#[derive(Debug, Default)]
pub(crate) struct ScopeNames {
    entries: Vec<(String, StateId, Loc)>,
}

impl ScopeNames {
    /// Registers a state name; a name already used in this scope is an error.
    pub(crate) fn insert(&mut self, name: &str, id: StateId, loc: Loc) -> Result<(), Problem> {
        if let Some((_, _, first)) = self.entries.iter().find(|(n, _, _)| n == name) {
            return Err(Problem::at(
                loc,
                format!(
                    "duplicate state name {name:?} (first used at {first}); names must be unique within a scope"
                ),
            ));
        }
        self.entries.push((name.to_string(), id, loc));
        Ok(())
    }

    pub(crate) fn lookup(&self, name: &str) -> Option<StateId> {
        self.entries
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, id, _)| *id)
    }

    /// The state that `target` (a string node, the value of `field`) names.
    pub(crate) fn resolve(&self, target: &Node, field: &str) -> Result<StateId, Problem> {
        let name = target.as_str()?;
        self.lookup(name).ok_or_else(|| {
            let names: Vec<&str> = self.entries.iter().map(|(n, _, _)| n.as_str()).collect();
            let suggestion = closest(name, &names)
                .map(|s| format!(" (did you mean {s:?}?)"))
                .unwrap_or_default();
            Problem::at(
                target.text_loc(),
                format!(
                    "unknown {field} {name:?}{suggestion}; states in this scope: {}",
                    names.join(", ")
                ),
            )
        })
    }
}

// ---------------------------------------------------------------------------------------------
// The arena of states and scopes

/// States and scopes under construction. States are reserved (so that names resolve to ids
/// before the states they name are compiled) and filled in later.
#[derive(Debug, Default)]
pub(crate) struct Arena {
    states: Vec<State>,
    locs: Vec<Loc>,
    scopes: Vec<Scope>,
}

/// A compiled state, minus what the arena already knows (name, scope).
pub(crate) struct StateBody {
    pub kind: StateKind,
    pub input: Option<Template>,
    pub output: Option<Template>,
    pub next: Next,
}

impl Arena {
    pub(crate) fn new_scope(&mut self, data: DataModel) -> ScopeId {
        let id = ScopeId(index_u32(self.scopes.len()));
        self.scopes.push(Scope {
            start: StateId(0),
            states: Vec::new(),
            data,
            input: None,
            output: None,
        });
        id
    }

    /// Adds a placeholder state named `name` to `scope`.
    pub(crate) fn reserve_state(&mut self, scope: ScopeId, name: &str, loc: Loc) -> StateId {
        let id = StateId(index_u32(self.states.len()));
        self.states.push(State {
            name: StateName::new(name),
            scope,
            kind: StateKind::Pass,
            input: None,
            output: None,
            next: Next::End,
        });
        self.locs.push(loc);
        if let Some(s) = self.scopes.get_mut(scope.0 as usize) {
            s.states.push(id);
        }
        id
    }

    pub(crate) fn fill_state(&mut self, id: StateId, body: StateBody) {
        if let Some(state) = self.states.get_mut(id.0 as usize) {
            state.kind = body.kind;
            state.input = body.input;
            state.output = body.output;
            state.next = body.next;
        }
    }

    pub(crate) fn set_start(&mut self, scope: ScopeId, start: StateId) {
        if let Some(s) = self.scopes.get_mut(scope.0 as usize) {
            s.start = start;
        }
    }

    pub(crate) fn set_scope_mappings(
        &mut self,
        scope: ScopeId,
        input: Option<Template>,
        output: Option<Template>,
    ) {
        if let Some(s) = self.scopes.get_mut(scope.0 as usize) {
            s.input = input;
            s.output = output;
        }
    }

    /// The states of `scope` that cannot be reached from its start, with their locations.
    pub(crate) fn unreachable_states(&self, scope: ScopeId) -> Vec<(StateName, Loc)> {
        let Some(s) = self.scopes.get(scope.0 as usize) else {
            return Vec::new();
        };
        let mut reached = vec![false; self.states.len()];
        let mut queue = VecDeque::from([s.start]);
        while let Some(id) = queue.pop_front() {
            let Some(seen) = reached.get_mut(id.0 as usize) else {
                continue;
            };
            if std::mem::replace(seen, true) {
                continue;
            }
            if let Some(state) = self.states.get(id.0 as usize) {
                queue.extend(successors(state));
            }
        }
        s.states
            .iter()
            .filter(|id| !reached.get(id.0 as usize).copied().unwrap_or(true))
            .filter_map(|id| {
                let state = self.states.get(id.0 as usize)?;
                let loc = self.locs.get(id.0 as usize).copied().unwrap_or_default();
                Some((state.name.clone(), loc))
            })
            .collect()
    }

    pub(crate) fn into_flow(self, language: Language, name: Option<String>) -> Flow {
        Flow {
            language,
            name,
            states: self.states,
            scopes: self.scopes,
        }
    }
}

fn index_u32(index: usize) -> u32 {
    // The document limits bound the number of states far below u32::MAX.
    u32::try_from(index).unwrap_or(u32::MAX)
}

/// The states a state can transfer control to within its scope.
fn successors(state: &State) -> Vec<StateId> {
    let mut next = Vec::new();
    let mut add = |n: &Next| {
        if let Next::State(id) = n {
            next.push(*id);
        }
    };
    add(&state.next);
    if let StateKind::Choice(choice) = &state.kind {
        choice.branches.iter().for_each(|b| add(&b.next));
        add(&choice.default);
    }
    if let Some(recovery) = state.kind.recovery() {
        recovery
            .catch
            .iter()
            .for_each(|c| add(&Next::State(c.next)));
    }
    next
}

// ---------------------------------------------------------------------------------------------
// Expressions and literals

/// An expression parser of one syntax (CloudFlow `$Input`, legacy `$.x`).
pub(crate) type ExprParser = fn(&str) -> Result<Expr, ExprSyntaxError>;

/// Parses the string `node` as an expression; syntax errors point into the string.
pub(crate) fn expr_at(node: &Node, parser: ExprParser) -> Result<Expr, Problem> {
    let source = node.as_str()?;
    parser(source).map_err(|e| {
        // The expression parser counts columns from 1 within the expression text.
        let offset = u64::try_from(e.column.saturating_sub(1)).unwrap_or(0);
        Problem::at(
            node.text_loc().right(offset),
            format!("invalid expression {source:?}: {}", e.message),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Retry

/// How one form spells the fields of a retry rule.
pub(crate) struct RetrySyntax {
    /// `None` when the error names come from an enclosing entry (`OnErrors`).
    pub errors: Option<&'static str>,
    pub max_attempts: &'static str,
    pub interval: &'static str,
    pub backoff_rate: &'static str,
    pub max_backoff: Option<&'static str>,
    /// Fields accepted and ignored (`Description`).
    pub ignored: &'static [&'static str],
    /// How the rule is called in messages.
    pub owner: &'static str,
}

impl RetrySyntax {
    fn allowed(&self) -> Vec<&'static str> {
        let mut allowed: Vec<&'static str> = self.errors.into_iter().collect();
        allowed.extend([self.max_attempts, self.interval, self.backoff_rate]);
        allowed.extend(self.max_backoff);
        allowed.extend(self.ignored);
        allowed
    }
}

/// Attempts after the first when a rule does not say.
pub(crate) const DEFAULT_MAX_ATTEMPTS: i64 = 3;
/// Seconds before the first retry when a rule does not say.
pub(crate) const DEFAULT_INTERVAL_SECS: i64 = 1;
/// Growth of the interval per retry when a rule does not say (a fixed interval).
pub(crate) const DEFAULT_BACKOFF_RATE: f64 = 1.0;

/// Builds a [`Retrier`]; `inherited_errors` are used when the syntax has no errors field.
pub(crate) fn build_retrier(
    node: &Node,
    syntax: &RetrySyntax,
    inherited_errors: &[String],
) -> Result<Retrier, Problem> {
    let fields = Fields::of(node, syntax.owner)?;
    fields.allow_only(&syntax.allowed(), syntax.owner)?;
    let errors = match syntax.errors {
        Some(key) => error_names(fields.require(key, syntax.owner)?)?,
        None => inherited_errors.to_vec(),
    };
    let max_attempts = fields
        .optional_int(syntax.max_attempts, 0, i64::from(u32::MAX))?
        .unwrap_or(DEFAULT_MAX_ATTEMPTS);
    let interval = fields
        .optional_int(syntax.interval, 0, MAX_RETRY_INTERVAL_SECS)?
        .unwrap_or(DEFAULT_INTERVAL_SECS);
    let max_backoff = match syntax.max_backoff {
        Some(key) => fields.optional_int(key, 0, MAX_RETRY_INTERVAL_SECS)?,
        None => None,
    };
    let backoff_rate = backoff_rate(fields.get(syntax.backoff_rate))?;
    Ok(Retrier {
        errors,
        max_attempts: u32::try_from(max_attempts).unwrap_or(u32::MAX),
        interval_secs: u64::try_from(interval).unwrap_or(0),
        backoff_rate,
        max_backoff_secs: max_backoff.and_then(|v| u64::try_from(v).ok()),
    })
}

fn backoff_rate(node: Option<&Node>) -> Result<f64, Problem> {
    let Some(node) = node else {
        return Ok(DEFAULT_BACKOFF_RATE);
    };
    let rate = node.as_f64()?;
    if rate >= 1.0 && rate.is_finite() {
        Ok(rate)
    } else {
        Err(Problem::at(
            node.loc,
            format!("the backoff rate must be at least 1, found {rate}"),
        ))
    }
}

/// Error names of a retry or catch rule: a non-empty list of strings (or one string).
pub(crate) fn error_names(node: &Node) -> Result<Vec<String>, Problem> {
    let names: Vec<String> = match &node.kind {
        NodeKind::String(s) => vec![s.clone()],
        NodeKind::Seq(items) => items
            .iter()
            .map(|n| n.as_str().map(str::to_string))
            .collect::<Result<_, _>>()?,
        _ => return Err(node.expected("a list of error names")),
    };
    if names.is_empty() {
        return Err(Problem::at(
            node.loc,
            "the list of error names is empty; use [\"FnF.ALL\"] to match every error",
        ));
    }
    Ok(names)
}

// ---------------------------------------------------------------------------------------------
// Function Compute ARNs

pub(crate) const FUNCTION_ARN_SHAPE: &str =
    "acs:fc:{region}:{account}:services/{service}[.{qualifier}]/functions/{function}";

/// Parses a Function Compute function ARN. `Ok(None)` when `arn` is not an FC ARN at all;
/// an error when it starts like one but is malformed.
pub(crate) fn function_ref(arn: &str) -> Result<Option<FunctionRef>, String> {
    let Some(rest) = arn.strip_prefix("acs:fc:") else {
        return Ok(None);
    };
    let malformed = || format!("malformed function ARN {arn:?}; expected {FUNCTION_ARN_SHAPE}");
    let mut parts = rest.splitn(3, ':');
    let (Some(_region), Some(_account), Some(resource)) =
        (parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    let segments: Vec<&str> = resource.split('/').collect();
    let ["services", service, "functions", function] = segments.as_slice() else {
        return Err(malformed());
    };
    let (service, qualifier) = match service.split_once('.') {
        Some((s, q)) => (s, Some(q)),
        None => (*service, None),
    };
    if service.is_empty() || function.is_empty() || qualifier.is_some_and(str::is_empty) {
        return Err(malformed());
    }
    Ok(Some(FunctionRef {
        service: service.to_string(),
        qualifier: qualifier.map(str::to_string),
        function: function.to_string(),
        invocation: Invocation::Sync,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn function_arns() {
        let f = function_ref("acs:fc:::services/svc.LATEST/functions/fn")
            .unwrap()
            .unwrap();
        assert_eq!(f.service, "svc");
        assert_eq!(f.qualifier.as_deref(), Some("LATEST"));
        assert_eq!(f.function, "fn");
        let f = function_ref("acs:fc:{region}:{account}:services/s/functions/f")
            .unwrap()
            .unwrap();
        assert_eq!(f.qualifier, None);
        assert!(function_ref("acs:mns:x").unwrap().is_none());
        assert!(function_ref("acs:fc:::services/s/functions/").is_err());
        assert!(function_ref("acs:fc:::functions/f").is_err());
        assert!(function_ref("acs:fc:::services/.q/functions/f").is_err());
    }

    #[test]
    fn suggestions() {
        assert_eq!(closest("Nxt", &["Next", "End"]), Some("Next"));
        assert_eq!(closest("next", &["Next", "End"]), Some("Next"));
        assert_eq!(closest("Zebra", &["Next", "End"]), None);
    }
}
