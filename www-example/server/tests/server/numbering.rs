//! Invoice numbers under concurrency: unique and gapless.

use futures::future::join_all;
use serde_json::Value;

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_sales_get_two_hundred_distinct_gapless_numbers() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (cups, stock) = server.product(CASHIER_1, "Paper cups, pack of 50").await;
    assert!(stock >= 200);
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(200));
    let requests = (0..200).map(|i| {
        // Two cashiers of the same business draw from the same sequence.
        let token = if i % 2 == 0 { CASHIER_1 } else { CASHIER_2 };
        let request = server.post(token, "/api/sales", Some(&new_key()), &sale(cups, 1));
        let barrier = barrier.clone();
        async move {
            barrier.wait().await;
            request.send().await.expect("response")
        }
    });
    let mut numbers = Vec::new();
    for r in join_all(requests).await {
        assert_eq!(r.status(), 201);
        numbers.push(
            r.json::<Value>().await.unwrap()["invoiceNumber"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let distinct: std::collections::HashSet<_> = numbers.iter().collect();
    assert_eq!(distinct.len(), 200, "200 distinct invoice numbers");
    assert_gapless("INV", &numbers);
    let stats = server.stats(CASHIER_1).await;
    assert_eq!(stats["sales"], 200);
    assert_eq!(stats["duplicateInvoiceNumbers"], 0);
    assert_eq!(
        server.product(CASHIER_1, "Paper cups, pack of 50").await.1,
        stock - 200
    );
    // The listing agrees, newest first.
    let listed = server.get_json(CASHIER_1, "/api/sales?limit=200").await;
    let listed: Vec<String> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["invoiceNumber"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed.len(), 200);
    let mut sorted = listed.clone();
    sorted.sort();
    sorted.reverse();
    assert_eq!(listed, sorted);
}

#[tokio::test]
async fn failed_sales_leave_no_gap_and_businesses_count_separately() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (tote, stock) = server.product(CASHIER_1, "Limited-edition tote bag").await;
    let mut numbers = Vec::new();
    for quantity in [1, stock + 10, 1, 9_999, 1] {
        let r = server
            .post(
                CASHIER_1,
                "/api/sales",
                Some(&new_key()),
                &sale(tote, quantity),
            )
            .send()
            .await
            .unwrap();
        if r.status() == 201 {
            numbers.push(
                r.json::<Value>().await.unwrap()["invoiceNumber"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        } else {
            assert_eq!(r.status(), 409);
        }
    }
    assert_eq!(numbers.len(), 3);
    assert_gapless("INV", &numbers);
    let (flat_white, _) = server.product(CASHIER_3, "Flat white").await;
    let r = server
        .post(
            CASHIER_3,
            "/api/sales",
            Some(&new_key()),
            &sale(flat_white, 1),
        )
        .send()
        .await
        .unwrap();
    let n = r.json::<Value>().await.unwrap()["invoiceNumber"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_gapless("INV", &[n]);
}
