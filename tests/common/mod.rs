//! Helpers shared by the browser suites: the test server's address, unique
//! namespaces, JSON and property access, and the server's request log.
#![allow(dead_code)] // each suite uses its own subset

use js_sys::{Array, Function, Promise, Reflect, JSON};
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
