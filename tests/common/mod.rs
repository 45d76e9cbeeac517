//! Helpers shared by the browser suites: the test server's address, unique
//! namespaces, JSON and property access, and the server's request log.
#![allow(dead_code)] // each suite uses its own subset

use js_sys::{Array, Function, Promise, Reflect, JSON};
use pos_resilience::ApiClient;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The test server (`tests/support/test-server.mjs`), fixed at compile time.
pub const SERVER: &str = match option_env!("POS_TEST_SERVER") {
    Some(s) => s,
    None => "http://127.0.0.1:8787",
};

/// A namespace on the test server (and an IndexedDB name) that no other test
/// or run shares.
pub fn unique_ns(name: &str) -> String {
    format!("{name}-{}-{}", js_sys::Date::now() as u64, (js_sys::Math::random() * 1e9) as u64)
}

/// A test-server URL under namespace `ns`.
pub fn url(ns: &str, path: &str) -> String {
    format!("{SERVER}/t/{ns}/{path}")
}

pub fn json(text: &str) -> JsValue {
    JSON::parse(text).expect("test JSON")
}

pub fn get(v: &JsValue, name: &str) -> JsValue {
    Reflect::get(v, &name.into()).unwrap()
}

pub fn num(v: &JsValue, name: &str) -> f64 {
    get(v, name).as_f64().unwrap_or_else(|| panic!("{name} is not a number"))
}

/// The `kind` of an ApiError.
pub fn kind(err: &JsValue) -> String {
    get(err, "kind").as_string().unwrap_or_default()
}

pub async fn settle(p: Promise) -> Result<JsValue, JsValue> {
    JsFuture::from(p).await
}

/// A promise and the function that resolves it.
pub fn resolver() -> (Function, Promise) {
    let mut resolve = None;
    let p = Promise::new(&mut |res, _| resolve = Some(res));
    (resolve.unwrap(), p)
}

#[wasm_bindgen]
extern "C" {
    /// The global `fetch`, in a page and in a worker alike.
    #[wasm_bindgen(js_name = fetch)]
    fn global_fetch(input: &str, init: &JsValue) -> Promise;
}

/// Everything the test server recorded under `ns`, oldest first.
pub async fn log(ns: &str) -> Vec<JsValue> {
    let resp: web_sys::Response = JsFuture::from(global_fetch(&format!("{SERVER}/log/{ns}"), &JsValue::UNDEFINED)).await.unwrap().unchecked_into();
    Array::from(&JsFuture::from(resp.json().unwrap()).await.unwrap()).iter().collect()
}

/// Sends `PUT` to `url` (a test-server switch) and waits for its answer.
pub async fn put(url: &str) {
    let resp: web_sys::Response = JsFuture::from(global_fetch(url, &JSON::parse(r#"{"method": "PUT"}"#).unwrap())).await.unwrap().unchecked_into();
    assert!(resp.ok(), "PUT {url} answered {}", resp.status());
}

/// A request header as the test server recorded it (names lowercased).
pub fn header(record: &JsValue, name: &str) -> Option<String> {
    get(&get(record, "headers"), name).as_string()
}

/// The test-only faults and fixtures of `tests/support/browser-faults.js`.
#[wasm_bindgen(module = "/tests/support/browser-faults.js")]
extern "C" {
    #[wasm_bindgen(js_name = setOnline)]
    pub fn set_online(online: bool);
    #[wasm_bindgen(js_name = hideWebLocks)]
    pub fn hide_web_locks(hidden: bool);
    #[wasm_bindgen(js_name = hideIndexedDB)]
    pub fn hide_indexed_db(hidden: bool);
    #[wasm_bindgen(js_name = failAddsWithQuota)]
    pub fn fail_adds_with_quota(failing: bool);
    #[wasm_bindgen(js_name = createV1Database)]
    pub fn create_v1_database(name: &str, records: &Array) -> Promise;
    #[wasm_bindgen(js_name = addRaw)]
    pub fn add_raw(name: &str, store: &str, value: &JsValue) -> Promise;
    #[wasm_bindgen(js_name = holdWebLock)]
    pub fn hold_web_lock(name: &str) -> Promise;
    #[wasm_bindgen(js_name = holdOpen)]
    pub fn hold_open(name: &str, version: u32) -> Promise;
    #[wasm_bindgen(js_name = countQueueDeletes)]
    pub fn count_queue_deletes(name: &str) -> Function;
    #[wasm_bindgen(js_name = countQueueWriteTransactions)]
    pub fn count_queue_write_transactions(name: &str) -> Function;
    #[wasm_bindgen(js_name = recordQueueDurability)]
    pub fn record_queue_durability(name: &str) -> Function;
    #[wasm_bindgen(js_name = countUnhandledRejections)]
    pub fn count_unhandled_rejections() -> Function;
    #[wasm_bindgen(js_name = postFromPageThatWillDie)]
    pub fn post_from_page_that_will_die(namespace: &str, url: &str, body: &JsValue, key: &str) -> Promise;
    pub fn pause(ms: u32) -> Promise;
    pub fn within(promise: &Promise, ms: u32, what: &str) -> Promise;
}

/// A namespace no other test shares. Every test starts with it, so this
/// also undoes every fault an earlier test may have left on (one that
/// failed half-way): `navigator.onLine` back to the truth, Web Locks,
/// IndexedDB and `IDBObjectStore.add` restored.
pub fn fresh(name: &str) -> String {
    set_online(true);
    hide_web_locks(false);
    hide_indexed_db(false);
    fail_adds_with_quota(false);
    unique_ns(name)
}

/// A client of namespace `ns` (fast retries; `extra` adds config fields,
/// e.g. `, "maxRetries": 0`) whose start-up drain has finished, so the
/// test's own actions do not race it.
pub async fn client_in(ns: &str, extra: &str) -> ApiClient {
    let config = json(&format!(r#"{{"namespace": "{ns}", "retryDelay": 5, "jitter": false {extra}}}"#));
    let c = ApiClient::new(Some(config)).expect("valid config");
    settle(c.drain_queue()).await.expect("start-up drain");
    c
}

/// Resolves with the `detail` of the next `kind` event on `c`.
pub fn next_event(c: &ApiClient, kind: &str) -> Promise {
    let (resolve, p) = resolver();
    let listener = Closure::once_into_js(move |e: web_sys::CustomEvent| {
        let _ = resolve.call1(&JsValue::NULL, &e.detail());
    });
    c.add_event_listener(kind, &listener, &json(r#"{"once": true}"#));
    p
}
