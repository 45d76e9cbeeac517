//! Stock is checked and taken in the sale's transaction: never negative.

use crate::harness::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_concurrent_sales_of_the_last_five_units_sell_exactly_five() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (tote, stock) = server.product(CASHIER_1, "Limited-edition tote bag").await;
    assert_eq!(stock, 5, "the seed has 5 tote bags");
    let requests = (0..20)
        .map(|_| server.post(CASHIER_1, "/api/sales", Some(&new_key()), &sale(tote, 1)))
        .collect();
    let (mut sold, mut refused) = (0, 0);
    for r in send_together(requests).await {
        match r.status().as_u16() {
            201 => sold += 1,
            409 => {
                assert!(
                    r.headers().get("retry-after").is_none(),
                    "short stock is not retryable"
                );
                expect_problem(r, 409, "insufficient-stock").await;
                refused += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((sold, refused), (5, 15));
    assert_eq!(
        server
            .product(CASHIER_1, "Limited-edition tote bag")
            .await
            .1,
        0
    );
    assert_eq!(server.stats(CASHIER_1).await["sales"], 5);
}

#[tokio::test]
async fn a_sale_short_on_one_line_takes_nothing_from_the_others() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (milk, milk_stock) = server.product(CASHIER_1, "Oat milk 1 L").await;
    let (tote, tote_stock) = server.product(CASHIER_1, "Limited-edition tote bag").await;
    let body = serde_json::json!({ "locationId": 7, "items": [
        { "productId": milk, "quantity": 3 }, { "productId": tote, "quantity": tote_stock + 1 } ] });
    let r = server.sell(CASHIER_1, Some(&new_key()), &body).await;
    expect_problem(r, 409, "insufficient-stock").await;
    assert_eq!(
        server.product(CASHIER_1, "Oat milk 1 L").await.1,
        milk_stock,
        "the whole sale rolled back"
    );
    assert_eq!(
        server
            .product(CASHIER_1, "Limited-edition tote bag")
            .await
            .1,
        tote_stock
    );
}
