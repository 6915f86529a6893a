//! What an error message may echo back of a request. Messages quote names, tokens and values
//! the client sent; an attacker-supplied value is cut to a few hundred characters where every
//! dialect's errors are rendered, whatever the handler that worded the message.

/// Characters kept from the start and from the end of a message that is too long.
const HEAD_CHARS: usize = 384;
const TAIL_CHARS: usize = 96;

/// `message` if it is short enough, else its start and end around a note of what was cut
/// (the start names the problem, the end finishes the vendor's template).
pub fn bounded(message: String) -> String {
    let total = message.chars().count();
    if total <= HEAD_CHARS + TAIL_CHARS {
        return message;
    }
    let head: String = message.chars().take(HEAD_CHARS).collect();
    let tail: String = message.chars().skip(total - TAIL_CHARS).collect();
    let cut = total - HEAD_CHARS - TAIL_CHARS;
    format!("{head}…({cut} characters cut)…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_messages_are_kept_whole() {
        let message = "Flow f does not exist.".to_string();
        assert_eq!(bounded(message.clone()), message);
        let limit = "é".repeat(HEAD_CHARS + TAIL_CHARS);
        assert_eq!(bounded(limit.clone()), limit);
    }

    #[test]
    fn a_long_value_is_cut_keeping_both_ends_of_the_template() {
        let token = "é".repeat(5000);
        let cut = bounded(format!("Task {token} has already completed."));
        assert!(cut.starts_with("Task éé"), "{cut}");
        assert!(cut.ends_with("éé has already completed."), "{cut}");
        assert!(cut.chars().count() < 600, "{}", cut.chars().count());
        assert!(cut.contains("characters cut)"), "{cut}");
    }
}
