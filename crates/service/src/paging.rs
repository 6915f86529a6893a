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
    /// Versions of a flow, by number.
    Versions,
    /// History events, by their place in the history.
    History,
    /// Map runs of an execution, by name.
    MapRuns,
    /// A tenant's activities, by name.
    Activities,
}

impl Listing {
    fn tag(self) -> &'static str {
        match self {
            Listing::Flows => "flows",
            Listing::Executions => "executions",
            Listing::Schedules => "schedules",
            Listing::Aliases => "aliases",
            Listing::Versions => "versions",
            Listing::History => "history",
            Listing::MapRuns => "map runs",
            Listing::Activities => "activities",
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

/// The token of the page after `cursor` in any order of executions (newest first, too):
/// every key of the cursor, checked as [`page_token`] checks a name.
pub fn execution_page_token(cursor: &ExecutionCursor) -> String {
    let keys = format!("{}.{}.{}", cursor.listed_at, cursor.id.0, cursor.name);
    page_token(Listing::Executions, &keys)
}

/// The cursor of a token [`execution_page_token`] made; anything else is `InvalidArgument`.
pub fn execution_page_cursor(token: &str) -> Result<ExecutionCursor> {
    let keys = page_cursor(Listing::Executions, token)?;
    let mut parts = keys.splitn(3, '.');
    let (listed_at, id, name) = (parts.next(), parts.next(), parts.next());
    let cursor = listed_at
        .and_then(|t| t.parse().ok())
        .zip(id.and_then(|i| i.parse().ok()))
        .zip(name)
        .map(|((listed_at, id), name)| ExecutionCursor {
            name: ExecutionName::new(name),
            listed_at,
            id: ExecutionId(id),
        });
    cursor.ok_or_else(|| {
        ServiceError::InvalidArgument(
            "the NextToken is not one this executions listing handed out; start without one".into(),
        )
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
    fn an_execution_token_gives_back_every_key_of_its_cursor() {
        let cursor = ExecutionCursor {
            name: ExecutionName::new("run-1"),
            listed_at: 1_700_000_000_123,
            id: ExecutionId(42),
        };
        let token = execution_page_token(&cursor);
        assert_eq!(execution_page_cursor(&token).unwrap(), cursor);
        let name_only = page_token(Listing::Executions, "run-1");
        assert!(execution_page_cursor(&name_only).is_err());
        assert!(execution_page_cursor("1.2.x.0000").is_err());
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
}
