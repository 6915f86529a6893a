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
    /// A task's target (ASL's `Resource`) is not one the language knows.
    Resource,
    /// A state's name is used twice in one scope.
    DuplicateStateName,
    /// `Next`, `Default`, a Choice or Catch target names no state.
    MissingTransitionTarget,
}

impl Problem {
    /// A problem without a location (e.g. the document is too large).
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            line: None,
            column: None,
            state: None,
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
        if let Some(state) = &self.state {
            parts.push(format!("state {state:?}"));
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
