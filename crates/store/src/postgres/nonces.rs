//! Signature nonces (see `crate::nonces`): one row per key and nonce, shared by every node.

use sluice_engine::Millis;

use super::PostgresStore;
use super::codec::{failed, prepared};
use crate::{Nonce, Result};

const REMEMBER: &str = "INSERT INTO nonces (key_id, nonce, expires_at) VALUES ($1, $2, $3) \
     ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at \
     WHERE nonces.expires_at <= $4";
const PRUNE: &str = "DELETE FROM nonces WHERE expires_at <= $1";

impl PostgresStore {
    /// Inserts the nonce, or takes over its row if that one has expired; `false` if a live
    /// row has it (a replay, here or on another node: the primary key decides).
    pub(super) async fn remember(&self, nonce: &Nonce, now: Millis) -> Result<bool> {
        let client = self.client().await?;
        if self.pruning.due(now) {
            let prune = prepared(&client, PRUNE).await?;
            client
                .execute(&prune, &[&now])
                .await
                .map_err(failed(PRUNE))?;
        }
        let remember = prepared(&client, REMEMBER).await?;
        let changed = client
            .execute(
                &remember,
                &[&nonce.key_id, &nonce.value, &nonce.expires_at, &now],
            )
            .await
            .map_err(failed(REMEMBER))?;
        Ok(changed == 1)
    }
}
