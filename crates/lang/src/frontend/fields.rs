//! A map node seen as named fields: required and optional fields, typed values, and unknown
//! fields refused with the closest allowed name suggested.

use super::suggest::did_you_mean;
use crate::doc::{Key, Loc, Node, NodeKind};
use crate::error::Problem;

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

    pub(crate) fn node(&self) -> &'a Node {
        self.node
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
        let suggestion = did_you_mean(&key.text, allowed);
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
