//! The arena of states and scopes a front end fills while it compiles, and the reachability
//! check over it.

use std::collections::VecDeque;

use sluice_ir::{
    AslData, DataModel, Flow, Language, Next, Scope, ScopeId, State, StateId, StateKind, StateName,
    Template,
};

use crate::doc::Loc;

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
            global: None,
            next: Next::End,
            asl: None,
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

    /// Gives an ASL state its data processing.
    pub(crate) fn set_asl(&mut self, id: StateId, data: AslData) {
        if let Some(state) = self.states.get_mut(id.0 as usize) {
            state.asl = Some(Box::new(data));
        }
    }

    /// The state's `GlobalConstructor` (a language with global variables sets it).
    pub(crate) fn set_global(&mut self, id: StateId, global: Option<Template>) {
        if let Some(state) = self.states.get_mut(id.0 as usize) {
            state.global = global;
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
            timeout_secs: None,
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
        choice.default.iter().for_each(&mut add);
    }
    if let Some(recovery) = state.kind.recovery() {
        recovery
            .catch
            .iter()
            .for_each(|c| add(&Next::State(c.next)));
    }
    next
}
