//! A server killed with SIGKILL mid-load keeps every committed sale and, once
//! restarted on the same file, replays their keys.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, CONTENT_TYPE};
use serde_json::Value;

use crate::harness::*;

const WORKERS: usize = 8;
const KILL_AFTER: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_mid_load_loses_no_committed_sale_and_replays_every_key() {
    let (_dir, db) = temp_db();
    let server = Server::start(&db, &[]).await;
    let (cups, stock) = server.product(CASHIER_1, "Paper cups, pack of 50").await;
    let body = serde_json::to_vec(&sale(cups, 1)).unwrap();
    let confirmed = Arc::new(Mutex::new(Vec::<(String, String)>::new()));
    let unknown = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut workers = Vec::new();
    for _ in 0..WORKERS {
        let (http, url, body) = (server.http.clone(), server.url("/api/sales"), body.clone());
        let (confirmed, unknown) = (confirmed.clone(), unknown.clone());
        workers.push(tokio::spawn(async move {
            // Bounded: each worker stops at its first failed request (the kill).
            for _ in 0..(stock as usize / WORKERS) {
                let key = new_key();
                let sent = http
                    .post(&url)
                    .header(AUTHORIZATION, format!("Bearer {CASHIER_1}"))
                    .header(CONTENT_TYPE, "application/json")
                    .header("Idempotency-Key", &key)
                    .body(body.clone())
                    .send()
                    .await;
                match sent {
                    Ok(r) if r.status() == 201 => match r.json::<Value>().await {
                        Ok(v) => confirmed
                            .lock()
                            .unwrap()
                            .push((key, v["invoiceNumber"].as_str().unwrap().to_owned())),
                        Err(_) => {
                            unknown.lock().unwrap().push(key);
                            return;
                        }
                    },
                    Ok(r) => panic!("unexpected status {}", r.status()),
                    Err(_) => {
                        unknown.lock().unwrap().push(key);
                        return;
                    }
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while confirmed.lock().unwrap().len() < KILL_AFTER {
        assert!(
            Instant::now() < deadline,
            "the load never reached {KILL_AFTER} sales"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill_9();
    for w in workers {
        w.await.expect("worker");
    }
    let confirmed = confirmed.lock().unwrap().clone();
    let unknown = unknown.lock().unwrap().clone();
    assert!(!unknown.is_empty(), "the kill interrupted the load");

    let server = Server::start(&db, &[]).await;
    let listed: HashSet<String> = server
        .invoice_numbers(CASHIER_1)
        .await
        .into_iter()
        .collect();
    for (key, invoice) in &confirmed {
        assert!(
            listed.contains(invoice),
            "committed sale {invoice} survived the kill"
        );
        let r = server.sell(CASHIER_1, Some(key), &sale(cups, 1)).await;
        assert_eq!(r.status(), 201);
        assert!(replayed(&r), "key of {invoice} replays after the restart");
        assert_eq!(invoice_number(r).await, *invoice);
    }
    // Requests whose outcome the client never learnt: retried with their key,
    // each ends as exactly one sale (replayed if it had committed).
    // (On PostgreSQL a claim the killed server left answers 409 until its
    // lease runs out.)
    for key in &unknown {
        let r = server
            .sell_until_answered(CASHIER_1, key, &sale(cups, 1))
            .await;
        assert_eq!(r.status(), 201);
    }
    let stats = server.stats(CASHIER_1).await;
    assert_eq!(
        stats["sales"].as_u64().unwrap() as usize,
        confirmed.len() + unknown.len(),
        "one sale per key"
    );
    assert_eq!(stats["duplicateInvoiceNumbers"], 0);
    let numbers = server.invoice_numbers(CASHIER_1).await;
    assert_gapless("INV", &numbers);
    assert_eq!(
        server.product(CASHIER_1, "Paper cups, pack of 50").await.1,
        stock - numbers.len() as i64
    );
}
