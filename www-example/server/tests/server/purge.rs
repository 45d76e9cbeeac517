//! The purge of expired stored responses: bounded batches, space given back.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::harness::*;

fn pragma(db: &Path, name: &str) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_large_purge_runs_in_batches_and_gives_the_space_back() {
    if skip_on_postgres("it fills and measures the SQLite file (pages, free list); the PostgreSQL purge is tested in cluster.rs") {
        return;
    }
    let (_dir, db) = temp_db();
    assert!(Server::start(&db, &[]).await.terminate().success());
    let keys = 20_000;
    rusqlite::Connection::open(&db)
        .unwrap()
        .execute(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?1)
             INSERT INTO idempotency_keys
               (business_id, cashier_id, key, fingerprint, status, content_type, body, created_at_ms, expires_at_ms)
             SELECT 1, 1, printf('expired-%d', i), randomblob(32), 201, 'application/json', randomblob(300), 0, 1 FROM n",
            [keys],
        )
        .unwrap();
    let pages_before = pragma(&db, "page_count");

    let server = Server::start(&db, &FAST_PURGE).await;
    server.wait_stored_keys(CASHIER_1, 0).await;
    let deadline = Instant::now() + Duration::from_secs(15);
    while pragma(&db, "freelist_count") > 0 {
        assert!(
            Instant::now() < deadline,
            "the freed pages were never given back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_purged_in_batches(&server.metrics(METRICS_TOKEN).await, keys);
    assert!(server.log().contains(&format!(
        "purged {keys} expired idempotency keys in 41 batches"
    )));
    assert!(
        pragma(&db, "page_count") < pages_before / 4,
        "the file shrank from {pages_before} pages"
    );
    assert_executed(&server.sell(CASHIER_1, Some(&new_key()), &sale(1, 1)).await);
}
