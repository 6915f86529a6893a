//! Signature nonces: what a request's signer said makes it unique, remembered per access key
//! for as long as the request could be replayed (its signing time plus the allowed skew), so
//! that the same signed request is accepted once, on whichever node it arrives.

use std::sync::atomic::{AtomicI64, Ordering};

use sluice_engine::Millis;

/// How often a node deletes the nonces that have expired (correctness does not depend on it:
/// an expired nonce is reusable whether or not its row is still there).
const PRUNE_EVERY_MS: Millis = 60_000;

/// A nonce to remember.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Nonce {
    pub key_id: String,
    pub value: String,
    /// After this, a request carrying it is refused for its age anyway.
    pub expires_at: Millis,
}

/// When a backend last pruned expired nonces.
#[derive(Debug, Default)]
pub(crate) struct Pruning(AtomicI64);

impl Pruning {
    /// Whether to prune now; `true` at most once every [`PRUNE_EVERY_MS`] per store.
    pub(crate) fn due(&self, now: Millis) -> bool {
        let last = self.0.load(Ordering::Relaxed);
        now >= last + PRUNE_EVERY_MS
            && self
                .0
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pruning_is_due_once_a_minute() {
        let pruning = Pruning::default();
        let now = 10 * PRUNE_EVERY_MS;
        assert!(pruning.due(now));
        assert!(!pruning.due(now + 1));
        assert!(!pruning.due(now + PRUNE_EVERY_MS - 1));
        assert!(pruning.due(now + PRUNE_EVERY_MS));
    }
}
