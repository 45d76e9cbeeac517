//! The SDK in a dedicated Worker against the real test server: a post, the
//! outbox, and a write queued offline that reaches the server once the
//! network is back, with no `drainQueue()` call and no `online` event
//! (Chromium fires none on a worker's global scope).
#![cfg(target_arch = "wasm32")]

use js_sys::Promise;
use pos_resilience::ApiClient;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

mod common;
use common::*;

#[wasm_bindgen(module = "/tests/support/browser-faults.js")]
extern "C" {
    #[wasm_bindgen(js_name = setOnline)]
    fn set_online(online: bool);
    fn within(promise: &Promise, ms: u32, what: &str) -> Promise;
}

fn client_in(ns: &str) -> ApiClient {
    ApiClient::new(Some(json(&format!(r#"{{"namespace": "{ns}", "retryDelay": 5, "jitter": false}}"#)))).expect("valid config")
}

/// Resolves with the `detail` of the next `kind` event on `c`.
fn next_event(c: &ApiClient, kind: &str) -> Promise {
    let (resolve, p) = resolver();
    let listener = Closure::once_into_js(move |e: web_sys::CustomEvent| {
        let _ = resolve.call1(&JsValue::NULL, &e.detail());
    });
    c.add_event_listener(kind, &listener, &json(r#"{"once": true}"#));
    p
}

#[wasm_bindgen_test]
async fn a_worker_posts_with_a_key_and_leaves_nothing_queued() {
    set_online(true);
    let ns = unique_ns("worker-post");
    let c = client_in(&ns);
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
    let c = client_in(&ns);
    settle(c.drain_queue()).await.expect("start-up drain");
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
