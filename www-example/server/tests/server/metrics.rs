//! `GET /metrics`: off without a token, refused without the right one,
//! Prometheus text whose counters follow what the test does.

use reqwest::Method;

use crate::harness::*;

#[tokio::test]
async fn metrics_are_off_without_a_token() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let r = server.send(Method::GET, "/metrics", Some(CASHIER_1)).await;
    expect_problem(r, 404, "not-found").await;
}

#[tokio::test]
async fn metrics_need_the_token_and_count_what_happens() {
    let (_dir, db) = temp_db();
    let server = Server::start(
        &db,
        &[
            "--metrics-token",
            METRICS_TOKEN,
            "--key-ttl",
            "1s",
            "--purge-interval",
            "100ms",
        ],
    )
    .await;
    for token in [None, Some(CASHIER_1)] {
        let r = server.send(Method::GET, "/metrics", token).await;
        assert_eq!(r.headers()["www-authenticate"], "Bearer");
        expect_problem(r, 401, "unauthorized").await;
    }
    let before = server.metrics(METRICS_TOKEN).await;
    assert_eq!(sample(&before, "pos_duplicate_invoice_numbers", &[]), 0.0);
    assert_eq!(
        sample(&before, "pos_idempotency_keys_stored_total", &[]),
        0.0
    );

    let key = new_key();
    assert_executed(&server.sell(CASHIER_1, Some(&key), &sale(1, 1)).await);
    assert!(replayed(
        &server.sell(CASHIER_1, Some(&key), &sale(1, 1)).await
    ));
    let r = server.sell(CASHIER_1, Some(&key), &sale(1, 2)).await;
    expect_problem(r, 422, "idempotency-key-reused").await;
    server.wait_stored_keys(CASHIER_1, 0).await;
    assert!(replayed(
        &server.sell(CASHIER_1, Some(&key), &sale(1, 1)).await
    ));

    let m = server.metrics(METRICS_TOKEN).await;
    let sales = [("route", "/api/sales"), ("method", "POST")];
    assert_eq!(
        sample(
            &m,
            "pos_http_requests_total",
            &[sales[0], sales[1], ("status", "201")]
        ),
        3.0
    );
    assert_eq!(
        sample(
            &m,
            "pos_http_requests_total",
            &[sales[0], sales[1], ("status", "422")]
        ),
        1.0
    );
    assert_eq!(sample(&m, "pos_http_request_duration_seconds", &sales), 4.0);
    assert_eq!(
        sample(
            &m,
            "pos_idempotency_replays_total",
            &[sales[0], ("source", "stored")]
        ),
        1.0
    );
    assert_eq!(
        sample(
            &m,
            "pos_idempotency_replays_total",
            &[sales[0], ("source", "row")]
        ),
        1.0
    );
    assert_eq!(
        sample(&m, "pos_idempotency_key_mismatches_total", &[sales[0]]),
        1.0
    );
    assert_eq!(sample(&m, "pos_idempotency_keys_stored_total", &[]), 1.0);
    assert_eq!(sample(&m, "pos_idempotency_keys_purged_total", &[]), 1.0);
    assert!(sample(&m, "pos_idempotency_purge_duration_seconds", &[]) >= 1.0);
    assert_eq!(sample(&m, "pos_duplicate_invoice_numbers", &[]), 0.0);
}
