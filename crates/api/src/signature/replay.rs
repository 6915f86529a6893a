//! Freshness of signed requests, the same for every signing scheme: the signing time within
//! the allowed skew of the server's clock, and each signed request accepted once.
//!
//! A scheme checks its time with [`within_skew`]; once its signature has verified, it claims
//! what makes the request unique with [`claim`]: Alibaba's `SignatureNonce`. AWS SigV4 has no
//! nonce, and its signature cannot stand for one: identical requests within a second carry
//! one signature, and AWS's API is built on such repeats (`stepfunctions/mod.rs`); it is held
//! to the skew window alone. A claim is remembered in the store,
//! per access key, until the request's time falls out of the skew window (a replay after that
//! is refused for its age), so a replay to another node sharing the database is refused too.
//! A claim is one store write, made only for requests whose signature verified.

use jiff::{SignedDuration, Timestamp};
use sluice_service::Service;
use sluice_service::views::Nonce;

/// The longest nonce remembered: the SDKs send 32 hex digits or a UUID.
pub const MAX_NONCE_CHARS: usize = 128;

/// Whether a request signed at `at` may be served at `now`.
pub fn within_skew(at: Timestamp, now: Timestamp, window: SignedDuration) -> bool {
    now.duration_since(at).abs() <= window
}

/// What a verified request says makes it unique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub key_id: String,
    /// The nonce (or, for a scheme without one, the signature).
    pub nonce: String,
    pub signed_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReplayError {
    #[error("the request was already served (nonce {0} was used)")]
    Replayed(String),
    #[error("remembering the request's nonce failed: {0}")]
    Store(String),
}

/// Accepts the request once: `Replayed` if the same key already used its nonce within the
/// window.
pub async fn claim(
    service: &Service,
    verified: &Verified,
    window: SignedDuration,
) -> Result<(), ReplayError> {
    let expires_at = verified
        .signed_at
        .checked_add(window)
        .unwrap_or(Timestamp::MAX)
        .as_millisecond();
    let nonce = Nonce {
        key_id: verified.key_id.clone(),
        value: verified.nonce.clone(),
        expires_at,
    };
    match service.remember_nonce(nonce).await {
        Ok(true) => Ok(()),
        Ok(false) => Err(ReplayError::Replayed(verified.nonce.clone())),
        Err(e) => Err(ReplayError::Store(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_holds_either_way_inclusive() {
        let now: Timestamp = "2024-01-01T00:15:00Z".parse().unwrap();
        let window = SignedDuration::from_mins(15);
        for (at, within) in [
            ("2024-01-01T00:00:00Z", true),
            ("2024-01-01T00:30:00Z", true),
            ("2023-12-31T23:59:59Z", false),
            ("2024-01-01T00:30:01Z", false),
        ] {
            assert_eq!(
                within_skew(at.parse().unwrap(), now, window),
                within,
                "{at}"
            );
        }
    }
}
