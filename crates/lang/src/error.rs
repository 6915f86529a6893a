//! Located definition errors.

use std::fmt;

use crate::doc::Loc;

/// One thing wrong with a definition, located as precisely as the front end could.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line, when known.
    pub line: Option<u64>,
    /// 1-based column (in characters), when known.
    pub column: Option<u64>,
    /// The innermost state (step) the problem belongs to, when there is one.
    pub state: Option<String>,
    /// The field the problem is about, from the document's root, when the language locates
    /// its problems so (ASL: AWS's diagnostic `location`, `/States/P/Branches[0]/States/X/Next`).
    pub pointer: Option<Pointer>,
    pub message: String,
    /// What is wrong, for tools that sort problems (AWS's validation codes).
    pub kind: ProblemKind,
}

/// The kinds of problem a tool may tell apart; everything not named is a definition that does
/// not follow its language's schema.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ProblemKind {
    #[default]
    Schema,
    /// The text is not JSON or YAML.
    Syntax,
    /// The text is empty (or only whitespace).
    Empty,
    /// Lists and maps nest deeper than a definition may ([`crate::doc::MAX_DEPTH`]).
    TooDeeplyNested,
    /// A task's target (ASL's `Resource`) is not one the language knows.
    Resource,
    /// A state's name is used twice in one scope.
    DuplicateStateName,
    /// A state's name breaks the language's rule for names (ASL: 1 to 80 characters).
    InvalidStateName,
    /// Two Map states of one machine have the same `Label` (it names their map runs).
    DuplicateLabelName,
    /// A Map state's `Label` breaks its rule (ASL: at most 40 characters, none forbidden).
    InvalidLabelName,
    /// `Next`, `Default`, a Choice or Catch target names no state, or no transition reaches a
    /// state.
    MissingTransitionTarget,
    /// No state of a scope ends it.
    MissingEndState,
    /// A warning: a payload template's field without `.$` holds what looks like a path or an
    /// intrinsic function.
    NoDollar,
    /// A warning: a field that has a `…Path` form holds what looks like a path.
    NoPath,
    /// A warning: a Pass state's `Result` holds what looks like a path (it is taken as it is).
    PassResultIsStatic,
}

/// The fields leading from a document's root to one of its values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Pointer(Vec<Step>);

/// One step of a [`Pointer`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Step {
    /// A map's field.
    Field(String),
    /// A list's item, from 0.
    Index(usize),
}

impl Pointer {
    /// This pointer followed by `steps`.
    pub fn join(&self, steps: impl IntoIterator<Item = Step>) -> Self {
        let mut joined = self.clone();
        joined.0.extend(steps);
        joined
    }

    /// This pointer's field `name`.
    pub fn field(&self, name: &str) -> Self {
        self.join([Step::Field(name.to_string())])
    }

    /// This pointer's list item `index`.
    pub fn index(&self, index: usize) -> Self {
        self.join([Step::Index(index)])
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }
}

/// AWS's spelling: `/` before each field, `[i]` after a list (`/States/P/Branches[0]`); the
/// root is the empty text.
impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.0 {
            match step {
                Step::Field(name) => write!(f, "/{name}")?,
                Step::Index(index) => write!(f, "[{index}]")?,
            }
        }
        Ok(())
    }
}

impl Problem {
    /// A problem without a location (e.g. the document is too large).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            line: None,
            column: None,
            state: None,
            pointer: None,
            message: message.into(),
            kind: ProblemKind::Schema,
        }
    }

    pub fn kind(mut self, kind: ProblemKind) -> Self {
        self.kind = kind;
        self
    }

    /// A problem at `loc`.
    pub fn at(loc: Loc, message: impl Into<String>) -> Self {
        Self {
            line: Some(loc.line),
            column: Some(loc.column),
            ..Self::new(message)
        }
    }

    /// Attributes the problem to `state` unless an inner state already claimed it.
    pub fn in_state(mut self, state: &str) -> Self {
        if self.state.is_none() {
            self.state = Some(state.to_string());
        }
        self
    }

    /// Points the problem at `pointer` unless it already points somewhere.
    pub fn at_pointer(mut self, pointer: Pointer) -> Self {
        if self.pointer.is_none() {
            self.pointer = Some(pointer);
        }
        self
    }
}

impl ProblemKind {
    /// Whether a problem of this kind leaves the definition accepted.
    pub fn is_warning(self) -> bool {
        matches!(
            self,
            Self::NoDollar | Self::NoPath | Self::PassResultIsStatic
        )
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts = Vec::with_capacity(3);
        if let Some(line) = self.line {
            parts.push(format!("line {line}"));
        }
        if let Some(column) = self.column {
            parts.push(format!("column {column}"));
        }
        // The pointer names the state and more.
        match (&self.pointer, &self.state) {
            (Some(pointer), _) if !pointer.is_root() => parts.push(format!("at {pointer}")),
            (_, Some(state)) => parts.push(format!("state {state:?}")),
            _ => {}
        }
        if parts.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", parts.join(", "), self.message)
        }
    }
}

/// Why a definition was rejected: one or more located problems, in document order.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DefinitionError {
    pub problems: Vec<Problem>,
}

impl DefinitionError {
    pub fn single(problem: Problem) -> Self {
        Self {
            problems: vec![problem],
        }
    }

    /// Sorts the problems by position (unlocated ones last) and drops exact duplicates.
    pub(crate) fn from_problems(mut problems: Vec<Problem>) -> Self {
        problems.sort_by_key(|p| (p.line.is_none(), p.line, p.column));
        problems.dedup();
        Self { problems }
    }
}

impl From<Problem> for DefinitionError {
    fn from(problem: Problem) -> Self {
        Self::single(problem)
    }
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for problem in &self.problems {
            if !first {
                f.write_str("\n")?;
            }
            first = false;
            write!(f, "{problem}")?;
        }
        if first {
            f.write_str("invalid definition")?;
        }
        Ok(())
    }
}
