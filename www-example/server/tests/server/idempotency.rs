//! One execution per key; replays; 422; 400 without a key; tenant scoping;
//! replays after the stored response expired.

use serde_json::Value;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_requests_with_one_key_make_exactly_one_sale() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (product, stock_before) = server.product(CASHIER_1, "Espresso beans 250 g").await;
    let key = new_key();
    let body = sale(product, 1);
    let requests = (0..50)
        .map(|_| server.post(CASHIER_1, "/api/sales", Some(&key), &body))
        .collect();
    let responses = send_together(requests).await;
    let (mut originals, mut replays, mut in_flight, mut invoices) = (0, 0, 0, Vec::new());
    for r in responses {
        match r.status().as_u16() {
            201 => {
                if replayed(&r) {
                    replays += 1;
                } else {
                    originals += 1;
                }
                invoices.push(invoice_number(r).await);
            }
            409 => {
                assert!(
                    r.headers().get("retry-after").is_some(),
                    "an in-flight 409 carries Retry-After"
                );
                in_flight += 1;
                expect_problem(r, 409, "request-in-flight").await;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!(
        originals, 1,
        "exactly one response is the original execution"
    );
    assert_eq!(originals + replays + in_flight, 50);
    assert!(
        invoices.iter().all(|n| *n == invoices[0]),
        "every 201 carries the same invoice number: {invoices:?}"
    );
    let stats = server.stats(CASHIER_1).await;
    assert_eq!(stats["sales"], 1);
    assert_eq!(stats["replays"], replays);
    assert_eq!(stats["inFlightConflicts"], in_flight);
    assert_eq!(
        server.product(CASHIER_1, "Espresso beans 250 g").await.1,
        stock_before - 1,
        "stock taken once"
    );
}

#[tokio::test]
async fn a_replay_is_byte_identical_and_marked_and_a_changed_payload_is_422() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let key = new_key();
    let first = server.sell(CASHIER_1, Some(&key), &sale(1, 2)).await;
    assert_executed(&first);
    let first_body = first.bytes().await.unwrap();
    // The quoted sf-string form of the same key replays too.
    let again = server
        .sell(CASHIER_1, Some(&format!("\"{key}\"")), &sale(1, 2))
        .await;
    assert_eq!(again.status(), 201);
    assert!(replayed(&again));
    assert_eq!(again.bytes().await.unwrap(), first_body);

    let changed = server.sell(CASHIER_1, Some(&key), &sale(1, 3)).await;
    let problem = expect_problem(changed, 422, "idempotency-key-reused").await;
    assert_detail_mentions(&problem, &key);
    let sold: serde_json::Value = serde_json::from_slice(&first_body).unwrap();
    let refund = serde_json::json!({"items": [{"productId": 1, "quantity": 2}]});
    let other_path = server
        .send_post(
            CASHIER_1,
            &format!("/api/sales/{}/refund", sold["id"].as_str().unwrap()),
            Some(&key),
            &refund,
        )
        .await;
    expect_problem(other_path, 422, "idempotency-key-reused").await;

    let stats = server.stats(CASHIER_1).await;
    assert_eq!(
        (
            stats["sales"].as_i64(),
            stats["replays"].as_i64(),
            stats["keyMismatches"].as_i64()
        ),
        (Some(1), Some(1), Some(2))
    );
}

#[tokio::test]
async fn a_write_without_a_usable_key_is_400_and_writes_nothing() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (product, stock) = server.product(CASHIER_1, "Croissant").await;
    let missing = server.sell(CASHIER_1, None, &sale(product, 1)).await;
    expect_problem(missing, 400, "idempotency-key-missing").await;
    for bad in ["\"unterminated", "two words", "\"\""] {
        let r = server.sell(CASHIER_1, Some(bad), &sale(product, 1)).await;
        expect_problem(r, 400, "idempotency-key-malformed").await;
    }
    let refund = server
        .send_post(
            CASHIER_1,
            "/api/sales/1/refund",
            None,
            &serde_json::json!({"items": []}),
        )
        .await;
    expect_problem(refund, 400, "idempotency-key-missing").await;
    assert_eq!(server.stats(CASHIER_1).await["sales"], 0);
    assert_eq!(server.product(CASHIER_1, "Croissant").await.1, stock);
}

#[tokio::test]
async fn a_key_of_one_business_or_cashier_never_replays_for_another() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let key = new_key();
    let (b1_product, _) = server.product(CASHIER_1, "Croissant").await;
    let first = server
        .sell(CASHIER_1, Some(&key), &sale(b1_product, 1))
        .await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();

    // Business 2, same key, same body: not a replay; business 1's product is unknown there.
    let r = server
        .sell(CASHIER_3, Some(&key), &sale(b1_product, 1))
        .await;
    assert!(!replayed(&r));
    expect_problem(r, 400, "unknown-product").await;
    // Business 2, same key, its own product: a new sale with business 2's first number.
    let (b2_product, _) = server.product(CASHIER_3, "Flat white").await;
    let r = server
        .sell(CASHIER_3, Some(&key), &sale(b2_product, 1))
        .await;
    assert_executed(&r);
    let b2: Value = r.json().await.unwrap();
    assert_ne!(b2["id"], first["id"]);
    assert!(
        b2["invoiceNumber"].as_str().unwrap().ends_with("-0001"),
        "business 2 numbers its own sales: {b2}"
    );
    // Another cashier of business 1, same key and body: the scope includes the user.
    let r = server
        .sell(CASHIER_2, Some(&key), &sale(b1_product, 1))
        .await;
    assert_executed(&r);
    let b1_second: Value = r.json().await.unwrap();
    assert_ne!(b1_second["invoiceNumber"], first["invoiceNumber"]);
    assert_eq!(server.stats(CASHIER_1).await["sales"], 2);
    assert_eq!(server.stats(CASHIER_3).await["sales"], 1);
    assert_eq!(server.stats(CASHIER_3).await["replays"], 0);
}

#[tokio::test]
async fn business_conflicts_are_stored_and_replayed_but_invalid_input_is_not() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (tote, stock) = server.product(CASHIER_1, "Limited-edition tote bag").await;
    let key = new_key();
    let r = server
        .sell(CASHIER_1, Some(&key), &sale(tote, stock + 1))
        .await;
    assert!(
        r.headers().get("retry-after").is_none(),
        "a business 409 has no Retry-After"
    );
    let original = expect_problem(r, 409, "insufficient-stock").await;
    let r = server
        .sell(CASHIER_1, Some(&key), &sale(tote, stock + 1))
        .await;
    assert!(replayed(&r));
    assert_eq!(expect_problem(r, 409, "insufficient-stock").await, original);

    // An unknown product is invalid input: not stored, so the key is still free.
    let key = new_key();
    let r = server.sell(CASHIER_1, Some(&key), &sale(9_999, 1)).await;
    expect_problem(r, 400, "unknown-product").await;
    let r = server.sell(CASHIER_1, Some(&key), &sale(tote, 1)).await;
    assert_executed(&r);
}

#[tokio::test]
async fn refunds_are_idempotent_too() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (mug, stock) = server.product(CASHIER_1, "Ceramic mug").await;
    let r = server
        .sell(CASHIER_1, Some(&new_key()), &sale(mug, 3))
        .await;
    let sold: Value = r.json().await.unwrap();
    let path = format!("/api/sales/{}/refund", sold["id"].as_str().unwrap());
    let body = serde_json::json!({ "items": [{ "productId": mug, "quantity": 2 }] });
    let key = new_key();
    let first = server.send_post(CASHIER_1, &path, Some(&key), &body).await;
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    assert!(first["returnNumber"].as_str().unwrap().starts_with("RET-"));
    let again = server.send_post(CASHIER_1, &path, Some(&key), &body).await;
    assert!(replayed(&again));
    assert_eq!(
        again.json::<Value>().await.unwrap()["returnNumber"],
        first["returnNumber"]
    );
    assert_eq!(
        server.product(CASHIER_1, "Ceramic mug").await.1,
        stock - 3 + 2,
        "restocked once"
    );
    // Two more would exceed what was sold (3, of which 2 refunded).
    let r = server
        .send_post(CASHIER_1, &path, Some(&new_key()), &body)
        .await;
    expect_problem(r, 409, "refund-exceeds-sale").await;
    assert_eq!(server.stats(CASHIER_1).await["refunds"], 1);
}

#[tokio::test]
async fn after_the_stored_response_expired_a_retry_is_answered_from_the_sale_or_refund() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &["--key-ttl", "1s", "--purge-interval", "100ms"]).await;
    let (mug, stock) = server.product(CASHIER_1, "Ceramic mug").await;
    let sale_key = new_key();
    let sold = server.sell(CASHIER_1, Some(&sale_key), &sale(mug, 3)).await;
    assert_executed(&sold);
    let sold = sold.bytes().await.unwrap();
    let sold_json: Value = serde_json::from_slice(&sold).unwrap();
    let path = format!("/api/sales/{}/refund", sold_json["id"].as_str().unwrap());
    let refund = serde_json::json!({ "items": [{ "productId": mug, "quantity": 1 }] });
    let refund_key = new_key();
    let refunded = server
        .send_post(CASHIER_1, &path, Some(&refund_key), &refund)
        .await;
    assert_executed(&refunded);
    let refunded = refunded.bytes().await.unwrap();
    server.wait_stored_keys(CASHIER_1, 2).await;
    // Both stored responses expire and are purged.
    server.wait_stored_keys(CASHIER_1, 0).await;
    assert!(server.log().contains("purged"));

    let again = server.sell(CASHIER_1, Some(&sale_key), &sale(mug, 3)).await;
    assert_eq!(again.status(), 201);
    assert!(replayed(&again), "a replay, not a second sale");
    assert_eq!(
        again.bytes().await.unwrap(),
        sold,
        "the sale as first answered"
    );
    let again = server
        .send_post(CASHIER_1, &path, Some(&refund_key), &refund)
        .await;
    assert_eq!(again.status(), 201);
    assert!(replayed(&again), "a replay, not a second refund");
    assert_eq!(
        again.bytes().await.unwrap(),
        refunded,
        "the refund as first answered"
    );

    let changed = server.sell(CASHIER_1, Some(&sale_key), &sale(mug, 1)).await;
    expect_problem(changed, 422, "idempotency-key-reused").await;
    let more = serde_json::json!({ "items": [{ "productId": mug, "quantity": 2 }] });
    let changed = server
        .send_post(CASHIER_1, &path, Some(&refund_key), &more)
        .await;
    expect_problem(changed, 422, "idempotency-key-reused").await;
    let stats = server.stats(CASHIER_1).await;
    assert_eq!(
        (
            &stats["sales"],
            &stats["refunds"],
            &stats["replays"],
            &stats["keyMismatches"]
        ),
        (
            &Value::from(1),
            &Value::from(1),
            &Value::from(2),
            &Value::from(2)
        )
    );
    assert_eq!(
        server.product(CASHIER_1, "Ceramic mug").await.1,
        stock - 3 + 1,
        "stock taken once, restocked once"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_retries_of_a_completed_key_are_all_replays() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let key = new_key();
    let body = sale(1, 1);
    let first = server.sell(CASHIER_1, Some(&key), &body).await;
    assert_executed(&first);
    let invoice = invoice_number(first).await;
    let requests = (0..200)
        .map(|_| server.post(CASHIER_1, "/api/sales", Some(&key), &body))
        .collect();
    let mut statuses = std::collections::BTreeMap::<u16, usize>::new();
    for r in send_together(requests).await {
        *statuses.entry(r.status().as_u16()).or_default() += 1;
        assert!(replayed(&r), "every retry is a replay");
        assert_eq!(invoice_number(r).await, invoice);
    }
    assert_eq!(statuses, [(201, 200)].into(), "200 replays, no 409");
    let stats = server.stats(CASHIER_1).await;
    assert_eq!(
        (
            &stats["sales"],
            &stats["replays"],
            &stats["inFlightConflicts"]
        ),
        (&Value::from(1), &Value::from(200), &Value::from(0))
    );
}

#[tokio::test]
async fn without_the_layer_keys_are_ignored_for_the_overhead_benchmark() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &["--no-idempotency"]).await;
    let key = new_key();
    for _ in 0..2 {
        let r = server.sell(CASHIER_1, Some(&key), &sale(1, 1)).await;
        assert_executed(&r);
    }
    assert_eq!(
        server.stats(CASHIER_1).await["sales"],
        2,
        "without the layer a retry executes twice"
    );
}
