//! The connectivity probe in a real browser against the real test server:
//! a server that stops answering while the browser stays "online" is found
//! out, sales made meanwhile are queued without waiting out a timeout, and
//! they drain when it answers again; a healthy server is never probed.
#![cfg(target_arch = "wasm32")]

use js_sys::Promise;
use pos_resilience::ApiClient;
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::*;

/// A client of a fresh namespace that probes the test server's switchable
/// health endpoint, with short timeouts.
async fn probing_client(ns: &str) -> ApiClient {
    set_online(true);
    let health = url(ns, "health");
    let config = format!(r#"{{"namespace": "{ns}", "healthUrl": "{health}", "probeTimeout": 200, "retryDelay": 5, "jitter": false}}"#);
    let c = ApiClient::new(Some(json(&config))).expect("valid config");
    settle(c.drain_queue()).await.expect("start-up drain");
    c
}

/// Resolves with the `detail` of the next `connectivity` event whose state
/// is `state` (bounded: 15 s).
fn connectivity_becomes(c: &ApiClient, state: &'static str) -> Promise {
    let (resolve, p) = resolver();
    let listener = Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |e: web_sys::CustomEvent| {
        if get(&e.detail(), "state").as_string().as_deref() == Some(state) {
            let _ = resolve.call1(&JsValue::NULL, &e.detail());
        }
    });
    c.add_event_listener("connectivity", listener.as_ref(), &JsValue::UNDEFINED);
    listener.forget();
    within(&p, 15_000, &format!("a connectivity event with state {state}"))
}

fn state(c: &ApiClient) -> String {
    get(&c.connectivity(), "state").as_string().unwrap_or_default()
}

/// The requests the test server received under `ns` at `path` (a suffix).
async fn received(ns: &str, path: &str) -> usize {
    log(ns).await.iter().filter(|r| get(r, "path").as_string().is_some_and(|p| p.ends_with(path))).count()
}

#[wasm_bindgen_test]
async fn a_server_that_stops_answering_is_unreachable_sales_queue_at_once_and_drain_when_it_is_back() {
    let ns = unique_ns("probe-down");
    let c = probing_client(&ns).await;
    assert_eq!(state(&c), "online");
    put(&url(&ns, "health/down")).await;

    // A sale times out: the server is in doubt, the probe finds it silent.
    let unreachable = connectivity_becomes(&c, "unreachable");
    let first = settle(c.post(url(&ns, "hang?times=1").into(), json(r#"{"sale": 1}"#), Some(json(r#"{"timeout": 300, "maxRetries": 0}"#)))).await.unwrap_err();
    assert_eq!(kind(&first), "queued");
    let detail = settle(unreachable).await.expect("the probe finds the server silent");
    assert_eq!(get(&detail, "previous").as_string().as_deref(), Some("online"));
    assert_eq!(state(&c), "unreachable");

    // While unreachable, a sale goes straight to the outbox: no attempt.
    let second = settle(c.post(url(&ns, "echo").into(), json(r#"{"sale": 2}"#), None)).await.unwrap_err();
    assert_eq!(kind(&second), "queued");
    assert_eq!(num(&second, "attempts"), 0.0, "queued without waiting out a timeout");
    assert!(get(&second, "message").as_string().unwrap().contains("unreachable"));
    assert_eq!(received(&ns, "/echo").await, 0);

    // The server answers again: the next probe finds it, and the queue drains.
    let online = connectivity_becomes(&c, "online");
    put(&url(&ns, "health/up")).await;
    let detail = settle(online).await.expect("a probe finds the server back");
    assert!(get(&detail, "rtt").as_f64().is_some(), "the round trip is reported");
    assert!(get(&c.connectivity(), "rtt").as_f64().is_some());
    settle(c.drain_queue()).await.unwrap();
    assert_eq!(settle(c.queue_size()).await.unwrap().as_f64(), Some(0.0));
    assert_eq!(received(&ns, "/echo").await, 1, "the queued sale was sent once");
    assert_eq!(received(&ns, "/hang").await, 2, "the timed-out sale was replayed once");
    c.close();
}

#[wasm_bindgen_test]
async fn a_healthy_server_is_never_probed() {
    let ns = unique_ns("probe-idle");
    let c = probing_client(&ns).await;
    for i in 0..5 {
        settle(c.post(url(&ns, "echo").into(), json(&format!(r#"{{"sale": {i}}}"#)), None)).await.expect("delivered");
    }
    assert_eq!(received(&ns, "/echo").await, 5);
    assert_eq!(received(&ns, "/health").await, 0, "no probe while every request is answered");
    assert_eq!(state(&c), "online");
    c.close();
}

#[wasm_bindgen_test]
async fn a_bad_health_url_is_refused_with_a_message_naming_it() {
    let err = ApiClient::new(Some(json(r#"{"healthUrl": "ftp://example.invalid/health"}"#))).err().expect("refused");
    assert_eq!(kind(&err), "invalid-input");
    assert!(get(&err, "message").as_string().unwrap().contains("config.healthUrl"));
    let err = ApiClient::new(Some(json(r#"{"probeTimeout": 0}"#))).err().expect("refused");
    assert!(get(&err, "message").as_string().unwrap().contains("config.probeTimeout"));
}
