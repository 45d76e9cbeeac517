//! Liveness and readiness: `/livez` is the process, `/readyz` (and `/healthz`)
//! the write path, answered promptly even while every write is stuck.

use std::time::{Duration, Instant};

use reqwest::Method;

use crate::harness::*;

/// The longest a readiness answer may take when the write lock cannot be had.
const PROMPT: Duration = Duration::from_secs(3);

#[tokio::test]
async fn readiness_fails_promptly_while_the_write_lock_is_held_and_liveness_does_not() {
    if skip_on_postgres("it holds SQLite's write lock from another connection; PostgreSQL has no database-wide write lock (the readiness probe is tested in cluster.rs)") {
        return;
    }
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    for path in ["/livez", "/readyz", "/healthz"] {
        assert_eq!(
            server.send(Method::GET, path, None).await.status(),
            200,
            "{path}"
        );
    }
    let (croissant, _) = server.product(CASHIER_1, "Croissant").await;

    // Another process holds SQLite's write lock: every write waits, then fails.
    let blocker = rusqlite::Connection::open(&db).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let stuck: Vec<_> = (0..20)
        .map(|_| {
            let request = server.post(
                CASHIER_1,
                "/api/sales",
                Some(&new_key()),
                &sale(croissant, 1),
            );
            tokio::spawn(request.send())
        })
        .collect();
    for path in ["/readyz", "/healthz"] {
        let started = Instant::now();
        let r = server.send(Method::GET, path, None).await;
        assert!(
            started.elapsed() < PROMPT,
            "{path} took {:?}",
            started.elapsed()
        );
        let p = expect_problem(r, 503, "not-ready").await;
        assert_detail_mentions(&p, "write lock");
    }
    let started = Instant::now();
    assert_eq!(server.send(Method::GET, "/livez", None).await.status(), 200);
    assert!(started.elapsed() < PROMPT);

    blocker.execute_batch("ROLLBACK").unwrap();
    for request in stuck {
        request
            .await
            .unwrap()
            .expect("a response once the lock is released");
    }
    assert_eq!(
        server.send(Method::GET, "/readyz", None).await.status(),
        200
    );
}
