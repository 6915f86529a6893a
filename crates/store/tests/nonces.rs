//! Signature nonces on both stores: remembered once per key until they expire, a replay
//! refused (on PostgreSQL also from another node's connection), expired ones reusable and
//! pruned. PostgreSQL runs when `SLUICE_TEST_POSTGRES` names a throwaway server.

use std::str::FromStr;
use std::sync::Arc;

use sluice_store::postgres::PostgresStore;
use sluice_store::sqlite::SqliteStore;
use sluice_store::{Nonce, NonceStore, Store};

const NOW: i64 = 1_800_000_000_000;
const WINDOW: i64 = 15 * 60 * 1000;

fn nonce(key: &str, value: &str, expires_at: i64) -> Nonce {
    Nonce {
        key_id: key.into(),
        value: value.into(),
        expires_at,
    }
}

async fn remembers_each_nonce_once_per_key(store: &dyn Store) {
    assert!(
        store
            .remember_nonce(nonce("k1", "n1", NOW + WINDOW), NOW)
            .await
            .unwrap()
    );
    assert!(
        !store
            .remember_nonce(nonce("k1", "n1", NOW + WINDOW), NOW + 1)
            .await
            .unwrap(),
        "a replay"
    );
    assert!(
        store
            .remember_nonce(nonce("k2", "n1", NOW + WINDOW), NOW)
            .await
            .unwrap(),
        "another key's nonce is its own"
    );
    // Expired, the nonce may be used again (its request would be refused for its age anyway).
    assert!(
        store
            .remember_nonce(nonce("k1", "n1", NOW + 3 * WINDOW), NOW + WINDOW)
            .await
            .unwrap()
    );
    assert!(
        !store
            .remember_nonce(nonce("k1", "n1", NOW + 3 * WINDOW), NOW + 2 * WINDOW)
            .await
            .unwrap()
    );
}

async fn concurrent_replays_are_refused_all_but_once(store: Arc<dyn Store>) {
    let attempts = (0..32).map(|_| {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .remember_nonce(nonce("k", "race", NOW + WINDOW), NOW)
                .await
        })
    });
    let mut accepted = 0;
    for attempt in attempts {
        accepted += usize::from(attempt.await.unwrap().unwrap());
    }
    assert_eq!(accepted, 1);
}

#[tokio::test]
async fn sqlite_remembers_nonces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.db");
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&path).unwrap());
    remembers_each_nonce_once_per_key(store.as_ref()).await;
    concurrent_replays_are_refused_all_but_once(store.clone()).await;
    // A restarted process still knows them.
    drop(store);
    let reopened = SqliteStore::open(&path).unwrap();
    assert!(
        !reopened
            .remember_nonce(nonce("k", "race", NOW + WINDOW), NOW)
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn sqlite_prunes_expired_nonces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.db");
    let store = SqliteStore::open(&path).unwrap();
    for i in 0..10 {
        assert!(
            store
                .remember_nonce(nonce("k", &format!("old{i}"), NOW), NOW - WINDOW)
                .await
                .unwrap()
        );
    }
    // The first write of this store prunes: the expired rows are gone.
    let fresh = SqliteStore::open(&path).unwrap();
    assert!(
        fresh
            .remember_nonce(nonce("k", "new", NOW + 2 * WINDOW), NOW + WINDOW)
            .await
            .unwrap()
    );
    drop((store, fresh));
    let conn = rusqlite::Connection::open(dir.path().join("sluice-nonces.db")).unwrap();
    let left: i64 = conn
        .query_row("SELECT COUNT(*) FROM nonces", [], |r| r.get(0))
        .unwrap();
    assert_eq!(left, 1);
}

async fn postgres() -> Option<String> {
    let Ok(server) = std::env::var("SLUICE_TEST_POSTGRES") else {
        println!(
            "skipped: SLUICE_TEST_POSTGRES is not set (./scripts/test starts a throwaway PostgreSQL)"
        );
        return None;
    };
    let config = tokio_postgres::Config::from_str(&server).expect("a PostgreSQL URL");
    let (client, connection) = config
        .connect(tokio_postgres::NoTls)
        .await
        .expect("connect");
    tokio::spawn(connection);
    let name = format!("nonces_{}", uuid::Uuid::new_v4().simple());
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("create a database");
    Some(format!(
        "{}/{name}",
        server.rsplit_once('/').expect("a path").0
    ))
}

#[tokio::test]
async fn postgres_remembers_nonces_across_nodes() {
    let Some(url) = postgres().await else {
        return;
    };
    let one: Arc<dyn Store> = Arc::new(PostgresStore::connect(&url).await.unwrap());
    let two = PostgresStore::connect(&url).await.unwrap();
    remembers_each_nonce_once_per_key(one.as_ref()).await;
    concurrent_replays_are_refused_all_but_once(one.clone()).await;
    assert!(
        !two.remember_nonce(nonce("k", "race", NOW + WINDOW), NOW)
            .await
            .unwrap(),
        "the other node knows it"
    );
    assert!(
        two.remember_nonce(nonce("k", "fresh", NOW + WINDOW), NOW)
            .await
            .unwrap()
    );
}
