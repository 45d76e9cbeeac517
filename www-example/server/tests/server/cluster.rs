//! Several instances on one PostgreSQL database (only on a PostgreSQL run,
//! `POS_TEST_DATABASE_URL`): one key spread over two instances is one sale,
//! numbers stay gapless and stock never goes negative across them, a killed
//! instance loses nothing and its claim is taken over after the lease, the
//! purge deletes in batches, and readiness follows the database.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use reqwest::Method;
use serde_json::Value;

use crate::harness::*;

/// Concurrent requests of the one-key and the many-keys tests.
const REQUESTS: usize = 200;

/// Two instances on the database of `db`.
async fn two_instances(db: &std::path::Path, args: &[&str]) -> (Server, Server) {
    let a = Server::start(db, args).await;
    let b = Server::start(db, args).await;
    (a, b)
}

/// [`send_together`], bounded: every request must be answered within a minute.
async fn all_answered(requests: Vec<reqwest::RequestBuilder>) -> Vec<reqwest::Response> {
    tokio::time::timeout(Duration::from_secs(60), send_together(requests))
        .await
        .expect("every request is answered within 60 s")
}

fn skip() -> bool {
    if on_postgres() {
        return false;
    }
    eprintln!("skipped on SQLite: cross-instance tests need a shared PostgreSQL database ({TEST_DATABASE_URL})");
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_key_over_two_instances_is_one_sale() {
    if skip() {
        return;
    }
    let (_dir, db) = temp_db();
    let (a, b) = two_instances(&db, &[]).await;
    let (cups, stock) = a.product(CASHIER_1, "Paper cups, pack of 50").await;
    let key = new_key();
    let requests = (0..REQUESTS)
        .map(|i| {
            let server = if i % 2 == 0 { &a } else { &b };
            server.post(CASHIER_1, "/api/sales", Some(&key), &sale(cups, 1))
        })
        .collect();
    let mut executed = 0;
    let mut invoices = HashSet::new();
    let mut conflicts = 0;
    for r in all_answered(requests).await {
        match r.status().as_u16() {
            201 => {
                executed += usize::from(!replayed(&r));
                invoices.insert(invoice_number(r).await);
            }
            409 => {
                assert!(
                    r.headers().contains_key("retry-after"),
                    "a 409 for a key in flight says when to retry"
                );
                expect_problem(r, 409, "request-in-flight").await;
                conflicts += 1;
            }
            other => panic!("unexpected {other}: {}", r.text().await.unwrap()),
        }
    }
    assert!(executed <= 1, "{executed} executions of one key");
    // Every request that was refused meanwhile now gets the one answer.
    for server in [&a, &b] {
        let r = server
            .sell_until_answered(CASHIER_1, &key, &sale(cups, 1))
            .await;
        assert_eq!(r.status(), 201);
        executed += usize::from(!replayed(&r));
        invoices.insert(invoice_number(r).await);
    }
    assert_eq!(executed, 1, "exactly one execution");
    assert_eq!(invoices.len(), 1, "one invoice number: {invoices:?}");
    for server in [&a, &b] {
        assert_eq!(server.invoice_numbers(CASHIER_1).await.len(), 1);
        assert_eq!(
            server.product(CASHIER_1, "Paper cups, pack of 50").await.1,
            stock - 1
        );
        let stats = server.stats(CASHIER_1).await;
        assert_eq!(stats["sales"], 1, "{stats}");
        assert_eq!(
            stats["inFlightConflicts"].as_u64().unwrap(),
            conflicts,
            "the conflicts of both instances, whichever is asked: {stats}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keys_over_two_instances_get_gapless_numbers() {
    if skip() {
        return;
    }
    let (_dir, db) = temp_db();
    let (a, b) = two_instances(&db, &["--seed-stock", "100000"]).await;
    // Sales of different products: nothing but the sequence row orders them.
    let products: Vec<i64> = a
        .get_json(CASHIER_1, "/api/products")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_i64().unwrap())
        .collect();
    assert!(products.len() > 4);
    let requests = (0..REQUESTS)
        .map(|i| {
            let server = if i % 2 == 0 { &a } else { &b };
            let product = products[i % products.len()];
            server.post(CASHIER_1, "/api/sales", Some(&new_key()), &sale(product, 1))
        })
        .collect();
    let mut numbers = Vec::new();
    for r in all_answered(requests).await {
        assert_executed(&r);
        numbers.push(invoice_number(r).await);
    }
    assert_gapless("INV", &numbers);
    let listed = b.invoice_numbers(CASHIER_1).await;
    assert_eq!(listed.len(), REQUESTS);
    assert_gapless("INV", &listed);
    let sold: i64 = a
        .get_json(CASHIER_1, "/api/products")
        .await
        .as_array()
        .unwrap()
        .iter()
        .map(|p| 100_000 - p["stock"].as_i64().unwrap())
        .sum();
    assert_eq!(sold, REQUESTS as i64);
    assert_eq!(a.stats(CASHIER_1).await["sales"], REQUESTS as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stock_never_goes_negative_over_two_instances() {
    if skip() {
        return;
    }
    let (_dir, db) = temp_db();
    let (a, b) = two_instances(&db, &[]).await;
    // Five tote bags, forty buyers on two instances: five sales, no more.
    let (totes, tote_stock) = a.product(CASHIER_1, "Limited-edition tote bag").await;
    assert_eq!(tote_stock, 5);
    let requests = (0..40)
        .map(|i| {
            let server = if i % 2 == 0 { &a } else { &b };
            server.post(CASHIER_1, "/api/sales", Some(&new_key()), &sale(totes, 1))
        })
        .collect();
    let mut statuses = BTreeMap::<u16, usize>::new();
    let mut numbers = Vec::new();
    for r in all_answered(requests).await {
        let status = r.status().as_u16();
        *statuses.entry(status).or_default() += 1;
        if status == 409 {
            assert!(!r.headers().contains_key("retry-after"));
            expect_problem(r, 409, "insufficient-stock").await;
        } else {
            assert_executed(&r);
            numbers.push(invoice_number(r).await);
        }
    }
    assert_eq!(statuses, BTreeMap::from([(201, 5), (409, 35)]));
    assert_eq!(b.product(CASHIER_1, "Limited-edition tote bag").await.1, 0);
    assert_gapless("INV", &numbers);
    assert_eq!(b.stats(CASHIER_1).await["sales"], 5);
}

/// Sends sales with fresh keys to `server` from `workers` tasks until each
/// has sent `per_worker` or met its first failed request; 201s go to
/// `confirmed` (key, invoice), unanswered keys to `unknown`.
fn load(
    server: &Server,
    product: i64,
    workers: usize,
    per_worker: usize,
    confirmed: &Arc<Mutex<Vec<(String, String)>>>,
    unknown: &Arc<Mutex<Vec<String>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let body = serde_json::to_vec(&sale(product, 1)).unwrap();
    (0..workers)
        .map(|_| {
            let (http, url, body) = (server.http.clone(), server.url("/api/sales"), body.clone());
            let (confirmed, unknown) = (confirmed.clone(), unknown.clone());
            tokio::spawn(async move {
                for _ in 0..per_worker {
                    let key = new_key();
                    let sent = http
                        .post(&url)
                        .header(AUTHORIZATION, format!("Bearer {CASHIER_1}"))
                        .header(CONTENT_TYPE, "application/json")
                        .header("Idempotency-Key", &key)
                        .body(body.clone())
                        .send()
                        .await;
                    let answered = match sent {
                        Ok(r) if r.status() == 201 => r.json::<Value>().await.ok(),
                        Ok(r) => panic!("unexpected status {}", r.status()),
                        Err(_) => None,
                    };
                    match answered {
                        Some(v) => confirmed
                            .lock()
                            .unwrap()
                            .push((key, v["invoiceNumber"].as_str().unwrap().to_owned())),
                        None => {
                            unknown.lock().unwrap().push(key);
                            return;
                        }
                    }
                }
            })
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_of_one_instance_loses_nothing_and_its_claim_is_taken_over_after_the_lease() {
    if skip() {
        return;
    }
    const LEASE: Duration = Duration::from_secs(6);
    let (_dir, db) = temp_db();
    let url = database_url(&db).unwrap();
    let (a, b) = two_instances(&db, &["--claim-lease", "6s"]).await;
    let (cups, cup_stock) = a.product(CASHIER_1, "Paper cups, pack of 50").await;
    let (mugs, mug_stock) = a.product(CASHIER_1, "Ceramic mug").await;

    // A sale of a mug on A that is in flight when A dies: the test holds the
    // mug's row, so A's transaction waits on it after A claimed the key.
    let (mut locker, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(connection);
    let lock = locker.transaction().await.unwrap();
    lock.execute("SELECT 1 FROM products WHERE id = $1 FOR UPDATE", &[&mugs])
        .await
        .unwrap();
    let stuck_key = new_key();
    let stuck = tokio::spawn(
        a.post(CASHIER_1, "/api/sales", Some(&stuck_key), &sale(mugs, 1))
            .send(),
    );
    // Once A's claim is in the database, B answers the key with 409.
    let claimed = format!(
        "SELECT COUNT(*) FROM idempotency_keys WHERE key = '{stuck_key}' AND state = 'processing'"
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while psql(&url, &claimed) != "1" {
        assert!(Instant::now() < deadline, "A never claimed the key");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let claimed_at = Instant::now();
    let r = b.sell(CASHIER_1, Some(&stuck_key), &sale(mugs, 1)).await;
    assert!(r.headers().contains_key("retry-after"));
    expect_problem(r, 409, "request-in-flight").await;

    let confirmed = Arc::new(Mutex::new(Vec::new()));
    let unknown = Arc::new(Mutex::new(Vec::new()));
    let workers = load(&a, cups, 8, 20, &confirmed, &unknown);
    let deadline = Instant::now() + Duration::from_secs(60);
    while confirmed.lock().unwrap().len() < 40 {
        assert!(Instant::now() < deadline, "the load never reached 40 sales");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    a.kill_9();
    for w in workers {
        w.await.expect("worker");
    }
    assert!(
        stuck.await.unwrap().is_err(),
        "the stuck sale got no answer"
    );
    let mut unknown = unknown.lock().unwrap().clone();
    let confirmed = confirmed.lock().unwrap().clone();
    assert!(!unknown.is_empty(), "the kill interrupted the load");

    // The killed instance's claim on the stuck key is live until its lease
    // runs out: B answers 409 meanwhile, then takes it over and sells once.
    lock.rollback().await.unwrap();
    let r = b.sell(CASHIER_1, Some(&stuck_key), &sale(mugs, 1)).await;
    if claimed_at.elapsed() < LEASE - Duration::from_secs(1) {
        assert_eq!(r.status(), 409, "the dead instance's claim still holds");
        expect_problem(r, 409, "request-in-flight").await;
    } else {
        eprintln!("the load took longer than the lease: the 409 before it ran out was not checked");
    }
    let r = b
        .sell_until_answered(CASHIER_1, &stuck_key, &sale(mugs, 1))
        .await;
    assert_executed(&r);
    assert_eq!(b.product(CASHIER_1, "Ceramic mug").await.1, mug_stock - 1);

    // Every 201 received exists once; every unanswered key retried on B ends
    // as one sale at most (exactly one, since it is retried to an answer).
    let listed: Vec<String> = b.invoice_numbers(CASHIER_1).await;
    let listed_set: HashSet<&String> = listed.iter().collect();
    assert_eq!(listed.len(), listed_set.len(), "no number twice");
    for (key, invoice) in &confirmed {
        assert!(listed_set.contains(invoice), "{invoice} survived the kill");
        let r = b.sell(CASHIER_1, Some(key), &sale(cups, 1)).await;
        assert!(replayed(&r));
        assert_eq!(invoice_number(r).await, *invoice);
    }
    unknown.push(stuck_key.clone());
    for key in &unknown {
        let r = b
            .sell_until_answered(
                CASHIER_1,
                key,
                &sale(if *key == stuck_key { mugs } else { cups }, 1),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    let sales = b.stats(CASHIER_1).await["sales"].as_u64().unwrap() as usize;
    assert_eq!(sales, confirmed.len() + unknown.len(), "one sale per key");
    let listed = b.invoice_numbers(CASHIER_1).await;
    assert_gapless("INV", &listed);
    assert_eq!(
        b.product(CASHIER_1, "Paper cups, pack of 50").await.1,
        cup_stock - (sales as i64 - 1)
    );
}

#[tokio::test]
async fn the_purge_deletes_expired_responses_and_lapsed_claims_in_batches() {
    if skip() {
        return;
    }
    let (_dir, db) = temp_db();
    let url = database_url(&db).unwrap();
    assert!(Server::start(&db, &[]).await.terminate().success());
    let keys = 20_000;
    psql(
        &url,
        "INSERT INTO idempotency_keys
           (business_id, cashier_id, key, fingerprint, state, status, content_type, body, created_at_ms, expires_at_ms)
         SELECT 1, 1, 'expired-' || i, '\\x00', 'completed', 201, 'application/json', '\\x7b7d', 0, 1
         FROM generate_series(1, 20000) AS i;
         INSERT INTO idempotency_keys
           (business_id, cashier_id, key, fingerprint, state, claim_token, created_at_ms, expires_at_ms)
         VALUES (1, 1, 'lapsed-claim', '\\x00', 'processing', 'dead-instance', 0, 1)",
    );
    let server = Server::start(&db, &FAST_PURGE).await;
    assert_executed(&server.sell(CASHIER_1, Some(&new_key()), &sale(1, 1)).await);
    server.wait_stored_keys(CASHIER_1, 1).await;
    // The purge logs once its last batch is done.
    let done = format!("purged {keys} expired idempotency keys in 41 batches");
    let deadline = Instant::now() + Duration::from_secs(15);
    while !server.log().contains(&done) {
        assert!(
            Instant::now() < deadline,
            "the purge never reported {done:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_purged_in_batches(&server.metrics(METRICS_TOKEN).await, keys);
    assert_eq!(
        psql(
            &url,
            "SELECT COUNT(*) FROM idempotency_keys WHERE state = 'processing'"
        ),
        "0",
        "the lapsed claim is gone too"
    );
}

#[tokio::test]
async fn readiness_follows_the_database_and_liveness_does_not() {
    if skip() {
        return;
    }
    let (_dir, db) = temp_db();
    let url = database_url(&db).unwrap();
    let name = url.rsplit_once('/').unwrap().1.to_owned();
    let server = Server::start(&db, &[]).await;
    assert_eq!(
        server.send(Method::GET, "/readyz", None).await.status(),
        200
    );
    let admin = test_server_url().unwrap();
    psql(
        &admin,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false"),
    );
    psql(
        &admin,
        &format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"),
    );
    let started = Instant::now();
    let p = expect_problem(
        server.send(Method::GET, "/readyz", None).await,
        503,
        "not-ready",
    )
    .await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_detail_mentions(&p, "database");
    assert_eq!(server.send(Method::GET, "/livez", None).await.status(), 200);
    psql(
        &admin,
        &format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true"),
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while server.send(Method::GET, "/readyz", None).await.status() != 200 {
        assert!(Instant::now() < deadline, "readiness never came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
