//! Newtypes for the names that appear in definitions and APIs.

use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The name of a state (CloudFlow `Name`, legacy step `name`). Cheap to clone: it is copied into
/// every history event.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StateName(Arc<str>);

impl StateName {
    pub fn new(name: impl Into<Arc<str>>) -> Self {
        Self(name.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for StateName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", &*self.0)
    }
}

/// CloudFlow's name rule N (spec §2.2): 1–128 characters, `[A-Za-z_][A-Za-z0-9_-]*`.
/// Flow, execution and schedule names follow it; state names in definitions do too.
pub fn check_name_rule(name: &str) -> Result<(), NameRuleViolation> {
    const MAX: usize = 128;
    let mut chars = name.chars();
    let Some(first) = chars.next() else {
        return Err(NameRuleViolation::Empty);
    };
    if name.chars().count() > MAX {
        return Err(NameRuleViolation::TooLong { max: MAX });
    }
    if !(first.is_ascii_alphabetic() || first == '_') {
        return Err(NameRuleViolation::BadFirst(first));
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-')) {
        return Err(NameRuleViolation::BadChar(bad));
    }
    Ok(())
}

/// AWS Step Functions' name rule (state machines, executions): 1–80 characters, none of them
/// whitespace, a control character, a bracket, a wildcard or another of AWS's special
/// characters (`FORBIDDEN`).
pub fn check_aws_name_rule(name: &str) -> Result<(), NameRuleViolation> {
    const MAX: usize = 80;
    const FORBIDDEN: &str = "<>{}[]?*\"#%\\^|~`$&,;:/";
    if name.is_empty() {
        return Err(NameRuleViolation::Empty);
    }
    if name.chars().count() > MAX {
        return Err(NameRuleViolation::TooLong { max: MAX });
    }
    match name
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || FORBIDDEN.contains(*c))
    {
        Some(bad) => Err(NameRuleViolation::Forbidden(bad)),
        None => Ok(()),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameRuleViolation {
    #[error("the name is empty")]
    Empty,
    #[error("the name is longer than {max} characters")]
    TooLong { max: usize },
    #[error("the name starts with {0:?}; it must start with a letter or '_'")]
    BadFirst(char),
    #[error("the name contains {0:?}; only letters, digits, '_' and '-' are allowed")]
    BadChar(char),
    #[error("the name contains {0:?}, which it may not")]
    Forbidden(char),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_name_rule() {
        for good in [
            "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
            "my_machine",
            "é-x",
            "a.b",
        ] {
            assert_eq!(check_aws_name_rule(good), Ok(()), "{good}");
        }
        assert_eq!(check_aws_name_rule(""), Err(NameRuleViolation::Empty));
        assert_eq!(
            check_aws_name_rule(&"a".repeat(81)),
            Err(NameRuleViolation::TooLong { max: 80 })
        );
        for (bad, c) in [
            ("a b", ' '),
            ("a:b", ':'),
            ("a/b", '/'),
            ("a\u{7}", '\u{7}'),
        ] {
            assert_eq!(
                check_aws_name_rule(bad),
                Err(NameRuleViolation::Forbidden(c))
            );
        }
    }

    #[test]
    fn name_rule() {
        assert!(check_name_rule("my_flow-1").is_ok());
        assert!(check_name_rule("_x").is_ok());
        assert_eq!(check_name_rule(""), Err(NameRuleViolation::Empty));
        assert_eq!(
            check_name_rule("1abc"),
            Err(NameRuleViolation::BadFirst('1'))
        );
        assert_eq!(check_name_rule("a b"), Err(NameRuleViolation::BadChar(' ')));
        assert!(check_name_rule(&"a".repeat(128)).is_ok());
        assert_eq!(
            check_name_rule(&"a".repeat(129)),
            Err(NameRuleViolation::TooLong { max: 128 })
        );
    }
}
