//! Signature nonces (see `crate::nonces`).

use rusqlite::{Connection, params};
use sluice_engine::Millis;

use super::codec::failed;
use crate::{Nonce, Result};

/// Inserts the nonce, or takes over its row if that one has expired; `false` if a live row
/// has it (a replay). With `prune`, expired rows go first, in the same transaction.
pub(super) fn remember(conn: &Connection, nonce: &Nonce, now: Millis, prune: bool) -> Result<bool> {
    if prune {
        conn.prepare_cached("DELETE FROM nonces WHERE expires_at <= ?1")
            .and_then(|mut s| s.execute([now]))
            .map_err(failed("pruning nonces"))?;
    }
    let changed = conn
        .prepare_cached(
            "INSERT INTO nonces (key_id, nonce, expires_at) VALUES (?1, ?2, ?3) \
             ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = excluded.expires_at \
             WHERE nonces.expires_at <= ?4",
        )
        .and_then(|mut s| s.execute(params![nonce.key_id, nonce.value, nonce.expires_at, now]))
        .map_err(failed("remembering a nonce"))?;
    Ok(changed == 1)
}
