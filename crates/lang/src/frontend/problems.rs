//! The problems of one definition, collected so a front end reports all of them at once.

use super::locate;
use crate::doc::Node;
use crate::error::{DefinitionError, Pointer, Problem};

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

    /// Keeps the value, or records the problem pointed at its field of `node` (which `at`
    /// points at).
    pub(crate) fn keep_at<T>(
        &mut self,
        result: Result<T, Problem>,
        at: &Pointer,
        node: &Node,
    ) -> Option<T> {
        self.keep(result.map_err(|p| locate(p, at, node)))
    }

    pub(crate) fn into_result<T>(self, value: T) -> Result<T, DefinitionError> {
        if self.list.is_empty() {
            Ok(value)
        } else {
            Err(DefinitionError::from_problems(self.list))
        }
    }
}
