//! Production mode: no demo data or tokens without `--demo`, businesses and
//! cashiers made with `pos-server admin`, no credentials in error text, and
//! wrong tokens throttled.

use std::path::Path;

use reqwest::header::AUTHORIZATION;
use reqwest::Method;

use crate::harness::*;

/// Runs `pos-server admin ARGS` on `db`; returns its stdout (panics on failure).
fn admin(db: &Path, args: &[&str]) -> String {
    let out = pos_server(db)
        .arg("--db")
        .arg(db)
        .arg("admin")
        .args(args)
        .output()
        .expect("run pos-server admin");
    assert!(
        out.status.success(),
        "admin {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[tokio::test]
async fn without_demo_there_are_no_demo_tokens_and_admin_makes_working_cashiers() {
    let (_dir, db) = temp_db();
    let created = admin(&db, &["add-business", "--name", "Night Market"]);
    assert!(created.starts_with("business 1 created"), "{created}");
    admin(
        &db,
        &[
            "add-product",
            "--business",
            "1",
            "--name",
            "Lantern",
            "--price-cents",
            "1250",
            "--stock",
            "3",
        ],
    );
    let cashier = admin(&db, &["add-cashier", "--business", "1", "--name", "Dee"]);
    let token = cashier.lines().last().unwrap().trim().to_owned();
    assert!(token.starts_with("pos_") && token.len() == 68, "{cashier}");
    let stored = query_text(&db, "SELECT token_sha256 FROM cashiers");
    assert_ne!(stored, token, "only the hash is stored");

    let server = Server::start_production(&db, &[]).await;
    for demo in [CASHIER_1, CASHIER_3] {
        let r = server.send(Method::GET, "/api/products", Some(demo)).await;
        let p = expect_problem(r, 401, "unauthorized").await;
        assert!(!p.to_string().contains("demo-cashier"), "{p}");
    }
    let p = expect_problem(
        server.send(Method::GET, "/api/products", None).await,
        401,
        "unauthorized",
    )
    .await;
    assert!(
        !p.to_string().contains("demo-cashier"),
        "no token named in {p}"
    );
    let (lantern, stock) = server.product(&token, "Lantern").await;
    assert_eq!(stock, 3);
    assert_executed(
        &server
            .sell(&token, Some(&new_key()), &sale(lantern, 2))
            .await,
    );
    assert_eq!(
        server
            .get_json(&token, "/api/products")
            .await
            .as_array()
            .unwrap()
            .len(),
        1,
        "no demo products"
    );
}

#[tokio::test]
async fn a_demo_database_is_refused_without_demo() {
    let (_dir, db) = temp_db();
    Server::start(&db, &[]).await.terminate();
    let out = pos_server(&db)
        .args(["--port", "0"])
        .arg("--db")
        .arg(&db)
        .output()
        .expect("run pos-server");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--demo"), "{stderr}");
}

#[tokio::test]
async fn wrong_tokens_are_throttled_per_client_and_then_not_even_checked() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let mut statuses = Vec::new();
    for i in 0..12 {
        let r = server
            .send(Method::GET, "/api/products", Some(&format!("guess-{i}")))
            .await;
        statuses.push(r.status().as_u16());
        if r.status() == 429 {
            let retry_after: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=6).contains(&retry_after), "Retry-After {retry_after}");
            expect_problem(r, 429, "authentication-throttled").await;
        }
    }
    assert_eq!(statuses, [[401; 10].as_slice(), &[429, 429]].concat());
    let r = server
        .http
        .get(server.url("/api/products"))
        .header(AUTHORIZATION, format!("Bearer {CASHIER_1}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        429,
        "a right token is not checked while the client waits"
    );
    assert_eq!(
        server.send(Method::GET, "/readyz", None).await.status(),
        200
    );
}
