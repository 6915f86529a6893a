//! Signature nonces (see `crate::nonces`), in a file of their own beside the database
//! (`sluice-nonces.db` for `sluice.db`) with a connection of their own.
//!
//! Why not the database's writer: a request's nonce must be remembered before the request is
//! served, and waiting for the database's group commit (an fsync) first would double the
//! latency of every signed request. The nonces have a writer thread of their own, with group
//! commit too (many nonces, one transaction), whose commits do not wait for the disk
//! (`synchronous = NORMAL` in WAL mode): a nonce survives the process being killed, and a
//! power loss can forget only the last moments' nonces. SQLite has one node, so this one file
//! decides every replay.

use std::path::Path;

use rusqlite::{Connection, params};
use sluice_engine::Millis;

use super::codec::failed;
use super::writer;
use crate::nonces::Pruning;
use crate::{Nonce, Result};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS nonces (
    key_id TEXT NOT NULL,
    nonce TEXT NOT NULL,
    expires_at INTEGER NOT NULL,
    PRIMARY KEY (key_id, nonce)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS nonces_by_expiry ON nonces (expires_at);
";

pub(super) struct Nonces {
    writer: writer::Queue,
    pruning: Pruning,
}

impl Nonces {
    /// Opens (or creates) the nonces file of the database at `database`.
    pub(super) fn open(database: &Path) -> Result<Self> {
        let conn = Connection::open(file_of(database)).map_err(failed("opening the nonces"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(failed("setting the busy timeout"))?;
        let _mode: String = conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(failed("enabling WAL for the nonces"))?;
        conn.execute_batch("PRAGMA synchronous = NORMAL;")
            .and_then(|()| conn.execute_batch(SCHEMA))
            .map_err(failed("creating the nonces table"))?;
        Ok(Self {
            writer: writer::spawn(conn)?,
            pruning: Pruning::default(),
        })
    }

    /// Inserts the nonce, or takes over its row if that one has expired; `false` if a live row
    /// has it (a replay). Expired rows are deleted first when it is time to prune.
    pub(super) async fn remember(&self, nonce: Nonce, now: Millis) -> Result<bool> {
        let prune = self.pruning.due(now);
        writer::write(&self.writer, move |c| remember(c, &nonce, now, prune)).await
    }
}

/// `sluice-nonces.db` beside `sluice.db`.
fn file_of(database: &Path) -> std::path::PathBuf {
    let stem = database
        .file_stem()
        .map_or_else(|| "sluice".into(), |s| s.to_string_lossy());
    database.with_file_name(format!("{stem}-nonces.db"))
}

fn remember(conn: &Connection, nonce: &Nonce, now: Millis, prune: bool) -> Result<bool> {
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
