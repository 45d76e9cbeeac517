//! Tenants: sale and refund ids say nothing across businesses, only the
//! configured host names are served (DNS rebinding), and the chaos control
//! needs a token.

use reqwest::header::HOST;
use reqwest::Method;
use serde_json::{json, Value};

use crate::harness::*;

/// Whether `id` is a lowercase UUID v4.
fn is_uuid_v4(id: &Value) -> bool {
    id.as_str()
        .and_then(|s| uuid::Uuid::try_parse(s).ok().map(|u| (u, s)))
        .is_some_and(|(u, s)| u.get_version_num() == 4 && s == u.hyphenated().to_string())
}

#[tokio::test]
async fn sale_and_refund_ids_are_random_and_refunds_stay_within_the_business() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (beans, _) = server.product(CASHIER_1, "Espresso beans 250 g").await;
    let (flat_white, _) = server.product(CASHIER_3, "Flat white").await;
    let mut ids = Vec::new();
    for token_and_product in [
        (CASHIER_3, flat_white),
        (CASHIER_1, beans),
        (CASHIER_1, beans),
        (CASHIER_3, flat_white),
    ] {
        let (token, product) = token_and_product;
        let r = server
            .sell(token, Some(&new_key()), &sale(product, 1))
            .await;
        assert_executed(&r);
        let sold: Value = r.json().await.unwrap();
        assert!(is_uuid_v4(&sold["id"]), "sale id {}", sold["id"]);
        ids.push(sold["id"].as_str().unwrap().to_owned());
    }
    let listed = server.get_json(CASHIER_3, "/api/sales").await;
    let listed: Vec<&str> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        listed,
        [ids[3].as_str(), ids[0].as_str()],
        "the listing shows the same ids"
    );

    let refund = json!({"items": [{"productId": beans, "quantity": 1}]});
    let foreign = server
        .send_post(
            CASHIER_3,
            &format!("/api/sales/{}/refund", ids[1]),
            Some(&new_key()),
            &refund,
        )
        .await;
    expect_problem(foreign, 404, "sale-not-found").await;
    let own = server
        .send_post(
            CASHIER_1,
            &format!("/api/sales/{}/refund", ids[1].to_uppercase()),
            Some(&new_key()),
            &refund,
        )
        .await;
    assert_executed(&own);
    let refunded: Value = own.json().await.unwrap();
    assert!(is_uuid_v4(&refunded["id"]), "refund id {}", refunded["id"]);
    assert_eq!(refunded["saleId"], ids[1].as_str());
}

#[tokio::test]
async fn only_configured_host_names_are_served() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &["--allowed-host", "till.example"]).await;
    let port = server.base.rsplit(':').next().unwrap().to_owned();
    let with_host = |host: String| {
        server
            .http
            .get(server.url("/api/products"))
            .bearer_auth(CASHIER_1)
            .header(HOST, host)
            .send()
    };
    for good in [
        format!("127.0.0.1:{port}"),
        format!("localhost:{port}"),
        "till.example".into(),
    ] {
        assert_eq!(
            with_host(good.clone()).await.unwrap().status(),
            200,
            "{good}"
        );
    }
    for bad in [
        format!("rebound.example:{port}"),
        "127.0.0.1.rebound.example".into(),
    ] {
        let p = expect_problem(
            with_host(bad.clone()).await.unwrap(),
            421,
            "host-not-allowed",
        )
        .await;
        assert_detail_mentions(&p, &bad);
    }
}

#[tokio::test]
async fn the_chaos_control_needs_a_cashier_token() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &["--chaos"]).await;
    let calm = json!({"error503Rate": 0});
    let anonymous = server
        .http
        .put(server.url("/api/chaos"))
        .json(&calm)
        .send()
        .await
        .unwrap();
    expect_problem(anonymous, 401, "unauthorized").await;
    expect_problem(
        server.send(Method::GET, "/api/chaos", None).await,
        401,
        "unauthorized",
    )
    .await;
    let r = server
        .http
        .put(server.url("/api/chaos"))
        .bearer_auth(CASHIER_2)
        .json(&calm)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
