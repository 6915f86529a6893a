//! Page tokens of listings that page by name: the cursor (the last name of a page) with a
//! check, so that a token this server did not hand out is refused instead of being read as a
//! cursor, which would list from wherever that text sorts (for most garbage: from the top).

use sha2::{Digest, Sha256};

use crate::{Result, ServiceError};

/// The listing a token belongs to: a token of one listing is not a cursor of another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    Flows,
    Executions,
    Schedules,
    Aliases,
}

impl Listing {
    fn tag(self) -> &'static str {
        match self {
            Listing::Flows => "flows",
            Listing::Executions => "executions",
            Listing::Schedules => "schedules",
            Listing::Aliases => "aliases",
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
}
