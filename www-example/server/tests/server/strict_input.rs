//! Strict input and uniform errors: unknown JSON fields, payments that do not
//! match the total, keys that are not UUIDs are refused with a 400 naming the
//! problem; errors that no handler wrote are problem+json too.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde_json::json;

use crate::harness::*;

#[tokio::test]
async fn unknown_fields_are_refused_naming_the_field() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (beans, stock) = server.product(CASHIER_1, "Espresso beans 250 g").await;
    let mut body = sale(beans, 1);
    body["totalCents"] = json!(1);
    let r = server.sell(CASHIER_1, Some(&new_key()), &body).await;
    assert_detail_mentions(&expect_problem(r, 400, "invalid-input").await, "totalCents");
    let body = json!({"locationId": 1, "items": [{"productId": beans, "quantity": 1, "price": 0}]});
    let r = server.sell(CASHIER_1, Some(&new_key()), &body).await;
    assert_detail_mentions(&expect_problem(r, 400, "invalid-input").await, "price");
    let r = server
        .send_post(
            CASHIER_1,
            "/api/sales/1/refund",
            Some(&new_key()),
            &json!({"items": [], "all": true}),
        )
        .await;
    assert_detail_mentions(&expect_problem(r, 400, "invalid-input").await, "all");
    assert_eq!(
        server.product(CASHIER_1, "Espresso beans 250 g").await.1,
        stock
    );
}

#[tokio::test]
async fn payments_must_add_up_to_the_total() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (beans, stock) = server.product(CASHIER_1, "Espresso beans 250 g").await;
    let with_payments = |payments: serde_json::Value| {
        let mut body = sale(beans, 1);
        body["payments"] = payments;
        body
    };
    let huge: Vec<_> = (0..10)
        .map(|_| json!({"method": "card", "amountCents": i64::MAX}))
        .collect();
    let r = server
        .sell(CASHIER_1, Some(&new_key()), &with_payments(json!(huge)))
        .await;
    assert_detail_mentions(&expect_problem(r, 400, "invalid-input").await, "payments");
    let short =
        json!([{"method": "cash", "amountCents": 500}, {"method": "card", "amountCents": 300}]);
    let r = server
        .sell(CASHIER_1, Some(&new_key()), &with_payments(short))
        .await;
    let p = expect_problem(r, 400, "payments-do-not-match-total").await;
    assert_detail_mentions(&p, "800");
    assert_detail_mentions(&p, "899");
    assert_eq!(
        server.product(CASHIER_1, "Espresso beans 250 g").await.1,
        stock,
        "nothing sold"
    );
    let exact =
        json!([{"method": "cash", "amountCents": 500}, {"method": "card", "amountCents": 399}]);
    let r = server
        .sell(CASHIER_1, Some(&new_key()), &with_payments(exact))
        .await;
    assert_executed(&r);
    let r = server
        .sell(CASHIER_1, Some(&new_key()), &sale(beans, 1))
        .await;
    assert_executed(&r);
}

#[tokio::test]
async fn only_uuid_keys_are_accepted_bare_or_quoted_in_either_case() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (croissant, _) = server.product(CASHIER_1, "Croissant").await;
    let long = "k".repeat(255);
    for bad in [
        "1",
        "order-42",
        long.as_str(),
        "0f8fad5bd9cb469fa16570867728950e",
    ] {
        let r = server.sell(CASHIER_1, Some(bad), &sale(croissant, 1)).await;
        let p = expect_problem(r, 400, "idempotency-key-malformed").await;
        assert_detail_mentions(&p, "UUID");
    }
    let key = new_key();
    assert_executed(
        &server
            .sell(CASHIER_1, Some(&key), &sale(croissant, 1))
            .await,
    );
    for same in [key.to_uppercase(), format!("\"{}\"", key.to_uppercase())] {
        let r = server
            .sell(CASHIER_1, Some(&same), &sale(croissant, 1))
            .await;
        assert_eq!(r.status(), 201);
        assert!(replayed(&r), "{same} is the same key as {key}");
    }
}

#[tokio::test]
async fn errors_no_handler_wrote_are_problem_json() {
    let (_dir, db) = temp_db();
    let www = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let server = Server::start(&db, &["--www", www]).await;
    let missing = server.send(Method::GET, "/missing.js", None).await;
    assert_detail_mentions(
        &expect_problem(missing, 404, "not-found").await,
        "/missing.js",
    );
    let missing = server.send(Method::GET, "/pkg/missing.js", None).await;
    expect_problem(missing, 404, "not-found").await;
    let post = server.send(Method::POST, "/app.js", None).await;
    let allow = post.headers().get("allow").cloned();
    expect_problem(post, 405, "method-not-allowed").await;
    assert!(allow.is_some(), "the Allow header is kept");
    let r = server
        .http
        .post(server.url("/api/sales/%FF/refund"))
        .header(AUTHORIZATION, format!("Bearer {CASHIER_1}"))
        .header(CONTENT_TYPE, "application/json")
        .header("Idempotency-Key", new_key())
        .body(r#"{"items":[{"productId":1,"quantity":1}]}"#)
        .send()
        .await
        .unwrap();
    expect_problem(r, 400, "invalid-input").await;
}
