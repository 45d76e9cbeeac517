//! Chaos mode: faults are injected only with --chaos, and exactly-once holds
//! through them.

use std::time::Duration;

use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

const CALM: &[&str] = &[
    "--chaos",
    "--chaos-error503-rate",
    "0",
    "--chaos-drop-before-rate",
    "0",
    "--chaos-drop-after-commit-rate",
    "0",
    "--chaos-latency-rate",
    "0",
];

async fn set_chaos(server: &Server, patch: Value) -> reqwest::Response {
    server
        .http
        .put(server.url("/api/chaos"))
        .bearer_auth(CASHIER_1)
        .json(&patch)
        .send()
        .await
        .unwrap()
}

/// Applies `patch`, which must be accepted.
async fn configure(server: &Server, patch: Value) {
    assert_eq!(set_chaos(server, patch).await.status(), 200);
}

async fn calm(server: &Server) {
    configure(
        server,
        json!({"error503Rate": 0, "dropBeforeRate": 0, "dropAfterCommitRate": 0, "latencyRate": 0}),
    )
    .await;
}

/// `GET /api/chaos`.
async fn chaos_settings(server: &Server) -> Value {
    server
        .send(Method::GET, "/api/chaos", Some(CASHIER_1))
        .await
        .json()
        .await
        .unwrap()
}

#[tokio::test]
async fn commit_then_drop_is_a_network_error_and_the_retry_replays() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, CALM).await;
    let settings = chaos_settings(&server).await;
    assert_eq!(settings["dropAfterCommitRate"], 0.0);

    configure(&server, json!({"dropAfterCommitRate": 1})).await;
    let key = new_key();
    let error = server
        .post(CASHIER_1, "/api/sales", Some(&key), &sale(1, 1))
        .send()
        .await
        .expect_err("no response after the commit");
    assert!(
        !error.is_timeout() && !error.is_status(),
        "a network error, not a status: {error:?}"
    );
    // Still at rate 1: a replay commits nothing, so it is not dropped.
    let retry = server.sell(CASHIER_1, Some(&key), &sale(1, 1)).await;
    assert_eq!(retry.status(), 201);
    assert!(replayed(&retry), "the retry gets the stored response");
    assert_eq!(server.stats(CASHIER_1).await["sales"], 1);
}

#[tokio::test]
async fn injected_503_and_drop_before_execute_nothing() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, CALM).await;
    configure(&server, json!({"error503Rate": 1})).await;
    let r = server.sell(CASHIER_1, Some(&new_key()), &sale(1, 1)).await;
    assert_eq!(r.headers()["retry-after"], "1");
    expect_problem(r, 503, "chaos-unavailable").await;
    calm(&server).await;
    configure(&server, json!({"dropBeforeRate": 1})).await;
    let error = server
        .post(CASHIER_1, "/api/sales", Some(&new_key()), &sale(1, 1))
        .send()
        .await
        .expect_err("dropped");
    assert!(!error.is_status());
    calm(&server).await;
    assert_eq!(server.stats(CASHIER_1).await["sales"], 0);
}

#[tokio::test]
async fn a_timed_out_attempt_retried_with_its_key_is_recorded_once() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, CALM).await;
    configure(&server, json!({"latencyRate": 1, "latencyMs": 400})).await;
    let key = new_key();
    // With latency up to 400 ms, a 1 ms client timeout always fires first.
    let error = server
        .post(CASHIER_1, "/api/sales", Some(&key), &sale(1, 1))
        .timeout(Duration::from_millis(1))
        .send()
        .await
        .expect_err("times out");
    assert!(error.is_timeout(), "{error:?}");
    calm(&server).await;
    // Retry as the SDK does: same key, honour 409 + Retry-After.
    let mut attempts = 0;
    loop {
        attempts += 1;
        assert!(attempts < 50, "never settled");
        let r = server.sell(CASHIER_1, Some(&key), &sale(1, 1)).await;
        match r.status().as_u16() {
            201 => break,
            409 => tokio::time::sleep(Duration::from_millis(100)).await,
            other => panic!("unexpected {other}"),
        }
    }
    // Let a possibly still-delayed first attempt finish: it must replay or 409, never sell again.
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(server.stats(CASHIER_1).await["sales"], 1);
}

#[tokio::test]
async fn chaos_settings_are_validated() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, CALM).await;
    expect_problem(
        set_chaos(&server, json!({"error503Rate": 2})).await,
        400,
        "invalid-input",
    )
    .await;
    expect_problem(
        set_chaos(&server, json!({"nonsense": 1})).await,
        400,
        "invalid-input",
    )
    .await;
    let settings = chaos_settings(&server).await;
    assert_eq!(
        settings["error503Rate"], 0.0,
        "a refused update changes nothing"
    );
}
