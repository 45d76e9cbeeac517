//! Invoice numbers under concurrency: unique and gapless.

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_concurrent_sales_get_two_hundred_distinct_gapless_numbers() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (cups, stock) = server.product(CASHIER_1, "Paper cups, pack of 50").await;
    assert!(stock >= 200);
    let requests = (0..200)
        .map(|i| {
            // Two cashiers of the same business draw from the same sequence.
            let token = if i % 2 == 0 { CASHIER_1 } else { CASHIER_2 };
            server.post(token, "/api/sales", Some(&new_key()), &sale(cups, 1))
        })
        .collect();
    let mut numbers = Vec::new();
    for r in send_together(requests).await {
        assert_eq!(r.status(), 201);
        numbers.push(invoice_number(r).await);
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
    let listed = server.invoice_numbers(CASHIER_1).await;
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
            .sell(CASHIER_1, Some(&new_key()), &sale(tote, quantity))
            .await;
        if r.status() == 201 {
            numbers.push(invoice_number(r).await);
        } else {
            assert_eq!(r.status(), 409);
        }
    }
    assert_eq!(numbers.len(), 3);
    assert_gapless("INV", &numbers);
    let (flat_white, _) = server.product(CASHIER_3, "Flat white").await;
    let r = server
        .sell(CASHIER_3, Some(&new_key()), &sale(flat_white, 1))
        .await;
    assert_gapless("INV", &[invoice_number(r).await]);
}
