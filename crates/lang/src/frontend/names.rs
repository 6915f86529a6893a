//! State names: the name rule, and the names of one scope that transitions resolve against.

use sluice_ir::{StateId, check_name_rule};

use super::Problems;
use super::suggest::closest;
use crate::doc::{Loc, Node};
use crate::error::{Problem, ProblemKind};

/// A name checked against the name rule of flows and states ([`check_name_rule`]).
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
            )
            .kind(ProblemKind::DuplicateStateName));
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
            .kind(ProblemKind::MissingTransitionTarget)
        })
    }
}

/// A state whose name has been registered, waiting to be compiled.
pub(crate) struct Slot<'a> {
    pub(crate) id: StateId,
    pub(crate) name: String,
    pub(crate) node: &'a Node,
}
