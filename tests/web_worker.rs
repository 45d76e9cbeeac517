//! The SDK in a dedicated Worker against the real test server: a post, the
//! outbox, and a write queued offline that reaches the server once the
//! network is back, with no `drainQueue()` call and no `online` event
//! (Chromium fires none on a worker's global scope).
#![cfg(target_arch = "wasm32")]

use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

mod common;
use common::*;

#[wasm_bindgen_test]
async fn a_worker_posts_with_a_key_and_leaves_nothing_queued() {
    set_online(true);
    let ns = unique_ns("worker-post");
    let c = client_in(&ns, "").await;
    let body = settle(c.post(url(&ns, "echo").into(), json(r#"{"sale": 1}"#), None)).await.expect("delivered");
    assert_eq!(get(&get(&body, "body"), "sale").as_f64(), Some(1.0));
    let records = log(&ns).await;
    assert_eq!(records.len(), 1);
    assert!(header(&records[0], "idempotency-key").is_some_and(|k| k.len() == 36));
    assert_eq!(settle(c.queue_size()).await.unwrap().as_f64(), Some(0.0));
    c.close();
}

#[wasm_bindgen_test]
async fn a_write_queued_offline_in_a_worker_is_sent_when_the_network_returns_by_itself() {
    let ns = unique_ns("worker-offline");
    let c = client_in(&ns, "").await;
    set_online(false);
    let err = settle(c.post(url(&ns, "echo").into(), json(r#"{"sale": "offline"}"#), None)).await.unwrap_err();
    assert_eq!(kind(&err), "queued");
    assert!(log(&ns).await.is_empty(), "nothing is sent while offline");
    // The network returns: no event, no call from the app.
    let sent = next_event(&c, "sent");
    set_online(true);
    let sent = settle(within(&sent, 15_000, "the queued write's sent event")).await.expect("delivered by itself");
    assert_eq!(get(&sent, "idempotencyKey").as_string(), get(&err, "idempotencyKey").as_string());
    let records = log(&ns).await;
    assert_eq!(records.len(), 1, "sent once");
    c.close();
}
