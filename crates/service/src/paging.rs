//! Page tokens of listings that page by name: the cursor (the last name of a page) with a
//! check, so that a token this server did not hand out is refused instead of being read as a
//! cursor, which would list from wherever that text sorts (for most garbage: from the top).

use sha2::{Digest, Sha256};
use sluice_store::{ExecutionCursor, ExecutionId, ExecutionName};

use crate::{Result, ServiceError};

/// The listing a token belongs to: a token of one listing is not a cursor of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Flows,
    Executions,
    Schedules,
    Aliases,
    /// Executions newest first (the cursor is an execution's place and id).
    RecentExecutions,
    /// An execution's history (the cursor is an event id).
    History,
}

impl Listing {
    fn tag(self) -> &'static str {
        match self {
            Listing::Flows => "flows",
            Listing::Executions => "executions",
            Listing::Schedules => "schedules",
            Listing::Aliases => "aliases",
            Listing::RecentExecutions => "recent executions",
            Listing::History => "history",
        }
    }
}

/// Hex digits of the check: enough that a guess or a typo is not taken for a token.
const CHECK_CHARS: usize = 16;

/// The token of the page after `cursor`: `{cursor}.{check}`.
pub fn page_token(listing: Listing, cursor: &str) -> String {
    format!("{cursor}.{}", check(listing, cursor))
}

/// The cursor of a token [`page_token`] made for `listing`; anything else is
/// `InvalidArgument`. The token is not quoted back: it is the caller's, of any length.
pub fn page_cursor(listing: Listing, token: &str) -> Result<String> {
    token
        .rsplit_once('.')
        .filter(|(cursor, sum)| *sum == check(listing, cursor))
        .map(|(cursor, _)| cursor.to_string())
        .ok_or_else(|| {
            ServiceError::InvalidArgument(format!(
                "the NextToken is not one this {} listing handed out; start without one",
                listing.tag()
            ))
        })
}

/// The token of the page after `cursor` in a newest-first listing of executions.
pub(crate) fn newest_token(cursor: &ExecutionCursor) -> String {
    page_token(
        Listing::RecentExecutions,
        &format!("{}:{}", cursor.listed_at, cursor.id.0),
    )
}

/// Where the page a [`newest_token`] stands for starts.
pub(crate) fn newest_cursor(token: &str) -> Result<ExecutionCursor> {
    let cursor = page_cursor(Listing::RecentExecutions, token)?;
    let (listed_at, id) = cursor
        .split_once(':')
        .and_then(|(at, id)| Some((at.parse().ok()?, id.parse().ok()?)))
        .ok_or_else(|| ServiceError::Internal(format!("a checked page token {cursor:?}")))?;
    Ok(ExecutionCursor {
        // Newest first pages by place and id alone.
        name: ExecutionName::new(""),
        listed_at,
        id: ExecutionId(id),
    })
}

fn check(listing: Listing, cursor: &str) -> String {
    let mut hash = Sha256::new();
    hash.update(listing.tag().as_bytes());
    hash.update([0]);
    hash.update(cursor.as_bytes());
    hex::encode(&hash.finalize()[..CHECK_CHARS / 2])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_gives_back_its_cursor() {
        for cursor in ["exec-1", "with.dots.in.it", "名前", ""] {
            let token = page_token(Listing::Executions, cursor);
            assert_eq!(
                page_cursor(Listing::Executions, &token).unwrap(),
                cursor,
                "{token}"
            );
        }
    }

    #[test]
    fn garbage_and_other_listings_tokens_are_refused() {
        let token = page_token(Listing::Flows, "orders");
        for bad in [
            "garbage",
            "orders",
            "",
            ".",
            &token[..token.len() - 1],
            &format!("{token}0"),
            &token.replace("orders", "orderz"),
        ] {
            let refused = page_cursor(Listing::Flows, bad).unwrap_err();
            assert!(
                matches!(&refused, ServiceError::InvalidArgument(m) if m.contains("NextToken")),
                "{bad:?}: {refused}"
            );
        }
        assert!(page_cursor(Listing::Schedules, &token).is_err());
    }

    #[test]
    fn a_newest_first_token_gives_back_its_place_and_id() {
        let cursor = ExecutionCursor {
            name: ExecutionName::new("any"),
            listed_at: -5,
            id: ExecutionId(42),
        };
        let back = newest_cursor(&newest_token(&cursor)).unwrap();
        assert_eq!((back.listed_at, back.id), (-5, ExecutionId(42)));
        assert!(newest_cursor(&page_token(Listing::Executions, "-5:42")).is_err());
    }
}
