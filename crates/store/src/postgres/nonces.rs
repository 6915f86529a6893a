//! Signature nonces (see `crate::nonces`): one row per key and nonce, shared by every node.
//!
//! A nonce commits without waiting for its WAL flush (`synchronous_commit` off for its
//! transaction): every node sees it at once all the same, and whatever the request then writes
//! commits durably after it, which flushes the WAL up to and including the nonce. So only the
//! nonce of a request that wrote nothing (a read) can be lost, to a crash of the database in
//! the fraction of a second before the WAL writer flushes it; such a read could then be
//! replayed once. A stop so costs one WAL flush, not two.

use sluice_engine::Millis;

use tokio_postgres::types::ToSql;

use super::PostgresStore;
use super::codec::{Flying, failed, fly, landed, prepared, simple};
use crate::{Nonce, Result};

const REMEMBER: &str = "INSERT INTO nonces (key_id, nonce, expires_at) VALUES ($1, $2, $3) \
     ON CONFLICT (key_id, nonce) DO UPDATE SET expires_at = EXCLUDED.expires_at \
     WHERE nonces.expires_at <= $4 RETURNING 1";
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
        let args: [&(dyn ToSql + Sync); 4] = [&nonce.key_id, &nonce.value, &nonce.expires_at, &now];
        // Committed without waiting for the WAL flush (see the module comment).
        let flight: Vec<Flying<'_>> = vec![
            simple(&client, "BEGIN; SET LOCAL synchronous_commit TO off"),
            Box::pin(async {
                client
                    .query(&remember, &args)
                    .await
                    .map_err(failed(REMEMBER))
            }),
            simple(&client, "COMMIT"),
        ];
        let answers = fly(flight).await;
        if answers.iter().any(Result::is_err) {
            drop(deadpool_postgres::Object::take(client));
        }
        let changed = landed(answers)?.get(1).is_some_and(|rows| !rows.is_empty());
        Ok(changed)
    }
}
