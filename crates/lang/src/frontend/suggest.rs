//! Suggestions for misspelt words: field names, state names, state types.

use crate::doc::Node;
use crate::error::Problem;

/// The one of `choices` the string `node` names; otherwise an error suggesting the closest
/// choice and listing all (`what`: "state Type", `listed`: "state types").
pub(crate) fn one_of(
    node: &Node,
    choices: &[&'static str],
    what: &str,
    listed: &str,
) -> Result<&'static str, Problem> {
    let word = node.as_str()?;
    choices.iter().copied().find(|c| *c == word).ok_or_else(|| {
        Problem::at(
            node.text_loc(),
            format!(
                "unknown {what} {word:?}; {}{listed}: {}",
                did_you_mean(word, choices),
                choices.join(", ")
            ),
        )
    })
}

/// "did you mean …? " when one of `allowed` is close to `word`, or nothing.
pub(super) fn did_you_mean(word: &str, allowed: &[&str]) -> String {
    closest(word, allowed)
        .map(|s| format!("did you mean {s:?}? "))
        .unwrap_or_default()
}

/// The allowed word closest to `word` (same letters ignoring case, or at most two edits).
pub(super) fn closest<'s>(word: &str, allowed: &[&'s str]) -> Option<&'s str> {
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

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn suggestions() {
        assert_eq!(closest("Nxt", &["Next", "End"]), Some("Next"));
        assert_eq!(closest("next", &["Next", "End"]), Some("Next"));
        assert_eq!(closest("Zebra", &["Next", "End"]), None);
    }
}
