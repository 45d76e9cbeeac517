//! `--idempotency required|warn|optional`, the published policy, and the
//! configurations refused at start-up.

use reqwest::Method;
use serde_json::Value;

use crate::harness::*;

#[tokio::test]
async fn warn_processes_a_keyless_write_and_marks_it() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &["--idempotency", "warn"]).await;
    let r = server.sell(CASHIER_1, None, &sale(1, 1)).await;
    assert_executed(&r);
    assert!(r.headers()["idempotency-warning"]
        .to_str()
        .unwrap()
        .contains("Idempotency-Key"));
    let key = new_key();
    let r = server.sell(CASHIER_1, Some(&key), &sale(1, 1)).await;
    assert_executed(&r);
    assert!(
        r.headers().get("idempotency-warning").is_none(),
        "a keyed write is not marked"
    );
    let r = server.sell(CASHIER_1, Some(&key), &sale(1, 1)).await;
    assert!(replayed(&r), "keys still work");
    let r = server.sell(CASHIER_1, Some("two words"), &sale(1, 1)).await;
    expect_problem(r, 400, "idempotency-key-malformed").await;
    assert_eq!(server.stats(CASHIER_1).await["sales"], 2);
}

#[tokio::test]
async fn optional_processes_keyless_writes_unmarked_and_still_honours_keys() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &["--idempotency", "optional"]).await;
    for _ in 0..2 {
        let r = server.sell(CASHIER_1, None, &sale(1, 1)).await;
        assert_executed(&r);
        assert!(r.headers().get("idempotency-warning").is_none());
    }
    let key = new_key();
    assert_executed(&server.sell(CASHIER_1, Some(&key), &sale(1, 1)).await);
    assert!(replayed(
        &server.sell(CASHIER_1, Some(&key), &sale(1, 1)).await
    ));
    assert_eq!(
        server.stats(CASHIER_1).await["sales"],
        3,
        "two keyless sales and one keyed"
    );
}

#[tokio::test]
async fn required_is_the_default_and_the_policy_is_published() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &["--key-ttl", "36h"]).await;
    let r = server.sell(CASHIER_1, None, &sale(1, 1)).await;
    expect_problem(r, 400, "idempotency-key-missing").await;
    let r = server
        .send(Method::GET, "/.well-known/idempotency", None)
        .await;
    assert_eq!(r.status(), 200);
    let policy: Value = r.json().await.unwrap();
    assert_eq!(policy["header"], "Idempotency-Key");
    assert_eq!(policy["enforcement"], "required");
    assert_eq!(policy["responseTtlSeconds"], 36 * 3600);
    assert_eq!(policy["createdRowsKeepTheirKey"], true);
    assert_eq!(policy["replayedHeader"], "Idempotent-Replayed");
    assert_eq!(policy["keyFormat"], "uuid");
}

#[test]
fn configurations_that_would_switch_idempotency_off_are_refused() {
    let (_dir, db) = temp_db();
    for (args, names) in [
        (&["--key-ttl", "0s"][..], "--key-ttl"),
        (&["--purge-interval", "0s"][..], "--purge-interval"),
        (
            &["--key-ttl", "0ms", "--purge-interval", "1s"][..],
            "--key-ttl",
        ),
        (&["--metrics-token", "short"][..], "--metrics-token"),
        (&["--idempotency", "sometimes"][..], "--idempotency"),
        (
            &["--no-idempotency", "--idempotency", "warn"][..],
            "--no-idempotency",
        ),
    ] {
        let stderr = start_refused(&db, args);
        assert!(
            stderr.contains(names),
            "{args:?}: the error names {names}: {stderr}"
        );
    }
    assert!(start_refused(&db, &["--key-ttl", "0s"]).contains("longer than zero"));
}
