//! Bad input: 400/401/404/405/413/415 problem+json, nothing written.

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

/// A new sale of `body` must be refused: a 400 problem of type `slug`.
async fn refused_sale(server: &Server, body: Value, slug: &str) -> Value {
    let r = server.sell(CASHIER_1, Some(&new_key()), &body).await;
    expect_problem(r, 400, slug).await
}

#[tokio::test]
async fn bad_sales_are_refused_with_a_problem_naming_it_and_write_nothing() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (beans, stock) = server.product(CASHIER_1, "Espresso beans 250 g").await;
    let raw = |body: Vec<u8>, content_type: &str| {
        server
            .http
            .post(server.url("/api/sales"))
            .header(AUTHORIZATION, format!("Bearer {CASHIER_1}"))
            .header(CONTENT_TYPE, content_type)
            .header("Idempotency-Key", new_key())
            .body(body)
    };
    let p = expect_problem(
        raw(
            b"{\"locationId\": 1, \"items\": [".to_vec(),
            "application/json",
        )
        .send()
        .await
        .unwrap(),
        400,
        "invalid-input",
    )
    .await;
    assert_detail_mentions(&p, "not valid JSON");
    let refused = |body: Value, slug| refused_sale(&server, body, slug);
    let p = refused(sale(424_242, 1), "unknown-product").await;
    assert_detail_mentions(&p, "424242");
    for quantity in [0, -3] {
        let p = refused(sale(beans, quantity), "invalid-input").await;
        assert_detail_mentions(&p, "items[0].quantity");
    }
    let p = refused(
        json!({"locationId": 1, "items": [{"productId": beans, "quantity": 1.5}]}),
        "invalid-input",
    )
    .await;
    assert_detail_mentions(&p, "items[0].quantity");
    let p = refused(
        json!({"items": [{"productId": beans, "quantity": 1}]}),
        "invalid-input",
    )
    .await;
    assert_detail_mentions(&p, "locationId");
    refused(json!({"locationId": 1, "items": []}), "invalid-input").await;

    let mut big = serde_json::to_vec(&sale(beans, 1)).unwrap();
    big.splice(
        1..1,
        format!("\"padding\": \"{}\",", "x".repeat(70 * 1024)).into_bytes(),
    );
    expect_problem(
        raw(big, "application/json").send().await.unwrap(),
        413,
        "body-too-large",
    )
    .await;
    let p = expect_problem(
        raw(serde_json::to_vec(&sale(beans, 1)).unwrap(), "text/plain")
            .send()
            .await
            .unwrap(),
        415,
        "unsupported-media-type",
    )
    .await;
    assert_detail_mentions(&p, "text/plain");

    let stats = server.stats(CASHIER_1).await;
    assert_eq!(stats["sales"], 0, "nothing written");
    assert_eq!(stats["storedKeys"], 0, "no key stored for refused input");
    assert_eq!(
        server.product(CASHIER_1, "Espresso beans 250 g").await.1,
        stock
    );
}

#[tokio::test]
async fn authentication_routing_and_listing_errors_are_problems_too() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let r = server.send(Method::GET, "/api/products", None).await;
    assert!(r.headers().get("www-authenticate").is_some());
    expect_problem(r, 401, "unauthorized").await;
    let r = server
        .send(Method::GET, "/api/products", Some("nobody"))
        .await;
    expect_problem(r, 401, "unauthorized").await;
    let r = server.send(Method::GET, "/api/nothing-here", None).await;
    expect_problem(r, 404, "not-found").await;
    let r = server
        .send(Method::DELETE, "/api/sales", Some(CASHIER_1))
        .await;
    expect_problem(r, 405, "method-not-allowed").await;
    let r = server
        .send(Method::GET, "/api/sales?limit=0", Some(CASHIER_1))
        .await;
    expect_problem(r, 400, "invalid-input").await;
    let r = server
        .send_post(
            CASHIER_1,
            "/api/sales/12345/refund",
            Some(&new_key()),
            &json!({"items": [{"productId": 1, "quantity": 1}]}),
        )
        .await;
    expect_problem(r, 404, "sale-not-found").await;
    // Without --chaos there is no chaos control.
    let r = server.send(Method::GET, "/api/chaos", None).await;
    expect_problem(r, 404, "not-found").await;
}

#[tokio::test]
async fn products_are_per_business_with_integer_cents_and_seeded_stock() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let one = server.get_json(CASHIER_1, "/api/products").await;
    let two = server.get_json(CASHIER_3, "/api/products").await;
    for p in one
        .as_array()
        .unwrap()
        .iter()
        .chain(two.as_array().unwrap())
    {
        assert!(
            p["id"].is_i64() && p["name"].is_string() && p["priceCents"].is_i64(),
            "{p}"
        );
        assert!((5..=500).contains(&p["stock"].as_i64().unwrap()), "{p}");
    }
    let ids = |v: &serde_json::Value| {
        v.as_array()
            .unwrap()
            .iter()
            .map(|p| p["id"].as_i64().unwrap())
            .collect::<Vec<_>>()
    };
    assert!(
        ids(&one).iter().all(|id| !ids(&two).contains(id)),
        "no product shared across businesses"
    );
}

#[tokio::test]
async fn sigterm_stops_the_server_cleanly() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let status = server.terminate();
    assert!(status.success(), "exit status {status}");
}

#[tokio::test]
async fn the_demo_page_is_served_but_nothing_else_under_its_directory() {
    let (_dir, db) = temp_db();
    let www = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let server = Server::start(&db, &["--www", www]).await;
    let get = |path: &'static str| server.send(Method::GET, path, None);
    let page = get("/").await;
    assert_eq!(page.status(), 200);
    assert!(page.headers()[CONTENT_TYPE]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(get("/app.js").await.status(), 200);
    for hidden in [
        "/server/Cargo.toml",
        "/server%2fCargo.toml",
        "/README.md",
        "/scripts%2Fdemo.sh",
        "/..%2fCargo.toml",
    ] {
        let r = get(hidden).await;
        assert_eq!(r.status(), 404, "{hidden} must not be served");
    }
}
