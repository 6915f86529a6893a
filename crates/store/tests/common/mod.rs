//! What the store's tests share: the backends they run on, and records to store.
//!
//! Each contract test runs on both backends ([`contract!`]): on SQLite in a fresh directory,
//! and on PostgreSQL in a fresh database of the server `SLUICE_TEST_POSTGRES` names
//! (`./scripts/test` starts a throwaway one); without it the PostgreSQL half says it is
//! skipped and why.

#![allow(dead_code)] // each test binary uses its own part

mod fixtures;

use sluice_engine::CallSnapshot;
use sluice_store::postgres::PostgresStore;
use sluice_store::sqlite::SqliteStore;
use sluice_store::{ExecutionId, Store, TaskRow};

pub use fixtures::*;

/// Instantiates each contract test `async fn name(backend: &Backend)` once per backend, as
/// `sqlite::name` and `postgres::name`.
#[macro_export]
macro_rules! contract {
    ($($test:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test]
                async fn $test() {
                    super::$test(&$crate::common::Backend::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test]
                async fn $test() {
                    if let Some(backend) = $crate::common::Backend::postgres().await {
                        super::$test(&backend).await;
                    }
                }
            )*
        }
    };
}

/// Where a test's database lives.
pub enum Backend {
    Sqlite(tempfile::TempDir),
    Postgres(String),
}

impl Backend {
    pub fn sqlite() -> Self {
        Backend::Sqlite(tempfile::tempdir().expect("tempdir"))
    }

    /// A fresh database on the test server, or `None` (with the reason printed) without one.
    pub async fn postgres() -> Option<Self> {
        postgres_database().await.map(Backend::Postgres)
    }

    /// The store on this database: opened (again), connected (as another node).
    pub async fn open(&self) -> Box<dyn Store> {
        match self {
            Backend::Sqlite(dir) => {
                let path = dir.path().join("nested").join("sluice.db");
                Box::new(SqliteStore::open(&path).expect("open"))
            }
            Backend::Postgres(url) => Box::new(
                PostgresStore::connect(url)
                    .await
                    .expect("connect and migrate"),
            ),
        }
    }

    /// The task rows, read past the store, in order.
    pub async fn task_rows(&self) -> Vec<TaskRow> {
        let sql = "SELECT execution_id, call FROM tasks ORDER BY execution_id, op";
        let rows: Vec<(i64, String)> = match self {
            Backend::Sqlite(dir) => {
                let path = dir.path().join("nested").join("sluice.db");
                let conn = rusqlite::Connection::open(path).expect("raw");
                let mut statement = conn.prepare(sql).expect("prepare");
                let rows = statement
                    .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
                    .expect("query");
                rows.map(|r| r.expect("row")).collect()
            }
            Backend::Postgres(url) => {
                let client = raw_postgres(url).await;
                let rows = client.query(sql, &[]).await.expect("query");
                rows.iter().map(|r| (r.get(0), r.get(1))).collect()
            }
        };
        rows.into_iter()
            .map(|(execution, call)| TaskRow {
                execution: ExecutionId(execution),
                call: serde_json::from_str::<CallSnapshot>(&call)
                    .expect("a task call")
                    .into(),
            })
            .collect()
    }
}
