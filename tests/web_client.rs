//! The SDK core in a real browser against the real test server
//! (`tests/support/test-server.mjs`): idempotency keys, dedup, retries,
//! timeouts, aborts, input validation, response shapes.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, Object, Promise, Reflect};
use pos_resilience::{api_post, ApiClient};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::*;

/// Records `detail[field]` of every `retry` event on `c`, while the
/// returned listener is alive.
fn record_retries(c: &ApiClient, field: &'static str) -> (Array, Closure<dyn FnMut(web_sys::CustomEvent)>) {
    let seen = Array::new();
    let sink = seen.clone();
    let listener = Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |e: web_sys::CustomEvent| {
        sink.push(&get(&e.detail(), field));
    });
    c.add_event_listener("retry", listener.as_ref(), &JsValue::UNDEFINED);
    (seen, listener)
}

fn client(config: &str) -> ApiClient {
    ApiClient::new(Some(json(config))).expect("valid config")
}

/// Fast retries so the suite does not wait on the default 1 s, 2 s, 4 s.
const FAST: &str = r#"{"retryDelay": 5, "jitter": false}"#;

fn is_uuid_v4(s: &str) -> bool {
    let b = s.as_bytes();
    s.len() == 36
        && b[14] == b'4'
        && matches!(b[19], b'8' | b'9' | b'a' | b'b')
        && s.char_indices().all(|(i, c)| if [8, 13, 18, 23].contains(&i) { c == '-' } else { c.is_ascii_digit() || ('a'..='f').contains(&c) })
}

#[wasm_bindgen_test]
async fn post_sends_json_with_a_fresh_uuid_v4_key_and_resolves_with_the_body() {
    let ns = unique_ns("basic");
    let body = settle(client("{}").post(url(&ns, "echo").into(), json(r#"{"sale": 1}"#), Some(JsValue::UNDEFINED))).await.unwrap();
    assert_eq!(get(&get(&body, "body"), "sale").as_f64(), Some(1.0));
    let records = log(&ns).await;
    assert_eq!(records.len(), 1);
    let key = header(&records[0], "idempotency-key").unwrap();
    assert!(is_uuid_v4(&key), "{key}");
    assert_eq!(header(&records[0], "content-type").as_deref(), Some("application/json"));
    // Another operation gets another key.
    settle(client("{}").post(url(&ns, "echo").into(), json(r#"{"sale": 1}"#), Some(JsValue::UNDEFINED))).await.unwrap();
    let again = log(&ns).await;
    assert_ne!(header(&again[1], "idempotency-key"), Some(key));
}

#[wasm_bindgen_test]
async fn twenty_concurrent_identical_calls_make_one_request_and_share_one_promise() {
    let ns = unique_ns("dedup");
    let c = client("{}");
    let target = url(&ns, "echo?delay=200");
    let promises: Vec<Promise> = (0..20).map(|_| c.post(target.clone().into(), json(r#"{"cart": [1, 2]}"#), Some(JsValue::UNDEFINED))).collect();
    assert!(promises.iter().all(|p| JsValue::from(p) == JsValue::from(&promises[0])), "the same promise object");
    let all = settle(Promise::all(&promises.iter().cloned().collect::<Array>())).await.unwrap();
    assert_eq!(Array::from(&all).length(), 20);
    assert_eq!(log(&ns).await.len(), 1);
    // Settled calls are forgotten: the next identical call is a new operation.
    settle(c.post(target.into(), json(r#"{"cart": [1, 2]}"#), Some(JsValue::UNDEFINED))).await.unwrap();
    assert_eq!(log(&ns).await.len(), 2);
}

#[wasm_bindgen_test]
async fn different_bodies_or_explicit_keys_are_not_deduplicated() {
    let ns = unique_ns("nodedup");
    let c = client("{}");
    let target = url(&ns, "echo?delay=100");
    let ps: Array = [
        c.post(target.clone().into(), json(r#"{"a": 1}"#), Some(JsValue::UNDEFINED)),
        c.post(target.clone().into(), json(r#"{"a": 2}"#), Some(JsValue::UNDEFINED)),
        c.post(target.clone().into(), json(r#"{"a": 1}"#), Some(json(r#"{"idempotencyKey": "key-one"}"#))),
        c.post(target.clone().into(), json(r#"{"a": 1}"#), Some(json(r#"{"idempotencyKey": "key-two"}"#))),
        c.post(target.clone().into(), json(r#"{"a": 3}"#), Some(json(r#"{"idempotencyKey": "key-two"}"#))),
        c.post(url(&ns, "echo?other").into(), json(r#"{"z": 0}"#), Some(json(r#"{"dedupeKey": "same"}"#))),
        c.post(target.clone().into(), json(r#"{"z": 9}"#), Some(json(r#"{"dedupeKey": "same"}"#))),
    ]
    .into_iter()
    .collect();
    settle(Promise::all(&ps)).await.unwrap();
    // {a:1}, {a:2}, key-one, key-two (joined by the second key-two call), dedupeKey "same" once.
    assert_eq!(log(&ns).await.len(), 5);
}

#[wasm_bindgen_test]
async fn the_same_key_is_sent_on_every_retry() {
    let ns = unique_ns("retrykey");
    let resp = settle(client(FAST).request("POST".into(), url(&ns, "status/503?times=3").into(), Some(json("{}")), Some(JsValue::UNDEFINED))).await.unwrap();
    assert_eq!(get(&resp, "status").as_f64(), Some(200.0));
    assert_eq!(get(&resp, "attempts").as_f64(), Some(4.0));
    let records = log(&ns).await;
    assert_eq!(records.len(), 4);
    let keys: Vec<String> = records.iter().map(|r| header(r, "idempotency-key").unwrap()).collect();
    assert!(keys.iter().all(|k| *k == keys[0]), "{keys:?}");
    assert_eq!(get(&resp, "idempotencyKey").as_string().as_ref(), Some(&keys[0]));
}

#[wasm_bindgen_test]
async fn a_callers_key_is_used_as_is() {
    let ns = unique_ns("callerkey");
    let opts = json(r#"{"idempotencyKey": "Sale-42:till-3"}"#);
    settle(client(FAST).post(url(&ns, "status/503?times=1").into(), json("{}"), Some(opts))).await.unwrap();
    let records = log(&ns).await;
    assert_eq!(records.len(), 2);
    for r in &records {
        assert_eq!(header(r, "idempotency-key").as_deref(), Some("Sale-42:till-3"));
    }
    // Given as a header, it is equally kept.
    let ns2 = unique_ns("callerkeyheader");
    settle(client("{}").post(url(&ns2, "echo").into(), json("{}"), Some(json(r#"{"headers": {"Idempotency-Key": "mine-1"}}"#)))).await.unwrap();
    assert_eq!(header(&log(&ns2).await[0], "idempotency-key").as_deref(), Some("mine-1"));
}

#[wasm_bindgen_test]
async fn retry_after_one_second_is_honoured() {
    let ns = unique_ns("retryafter");
    let c = client(FAST);
    let (delays, _listener) = record_retries(&c, "delay");
    settle(c.post(url(&ns, "status/503?retryAfter=1&times=1").into(), json("{}"), Some(JsValue::UNDEFINED))).await.unwrap();
    let records = log(&ns).await;
    assert_eq!(records.len(), 2);
    let gap = num(&records[1], "time") - num(&records[0], "time");
    assert!(gap >= 1_000.0, "second attempt came {gap} ms after the first");
    assert_eq!(delays.get(0).as_f64(), Some(1_000.0), "Retry-After wins over the 5 ms backoff");
}

#[wasm_bindgen_test]
async fn retry_after_as_an_http_date_is_honoured_on_429() {
    let ns = unique_ns("retrydate");
    let when = js_sys::Date::new(&JsValue::from_f64(js_sys::Date::now() + 2_500.0)).to_utc_string();
    let target = format!("{}?retryAfter={}&times=1", url(&ns, "status/429"), String::from(js_sys::encode_uri_component(&String::from(when))));
    settle(client(FAST).post(target.into(), json("{}"), Some(JsValue::UNDEFINED))).await.unwrap();
    let records = log(&ns).await;
    assert_eq!(records.len(), 2);
    let gap = num(&records[1], "time") - num(&records[0], "time");
    // The date has one-second resolution: at least 1.5 s of the 2.5 s remain.
    assert!(gap >= 1_400.0, "waited only {gap} ms");
}

#[wasm_bindgen_test]
async fn permanent_statuses_are_not_retried() {
    for status in [400u16, 401, 403, 404, 409, 422] {
        let ns = unique_ns("permanent");
        let err = settle(client(FAST).post(url(&ns, &format!("status/{status}")).into(), json("{}"), Some(JsValue::UNDEFINED))).await.unwrap_err();
        assert_eq!(kind(&err), "http");
        assert_eq!(get(&err, "status").as_f64(), Some(status as f64));
        assert_eq!(get(&err, "attempts").as_f64(), Some(1.0));
        assert_eq!(get(&get(&err, "body"), "status").as_f64(), Some(status as f64), "problem+json body parsed");
        assert_eq!(log(&ns).await.len(), 1, "status {status} was retried");
    }
}

#[wasm_bindgen_test]
async fn a_conflict_with_retry_after_is_retried() {
    let ns = unique_ns("inflight409");
    settle(client(FAST).post(url(&ns, "status/409?retryAfter=0&times=2").into(), json("{}"), Some(JsValue::UNDEFINED))).await.unwrap();
    assert_eq!(log(&ns).await.len(), 3);
}

#[wasm_bindgen_test]
async fn retries_end_with_the_last_error() {
    let ns = unique_ns("exhausted");
    let err = settle(client(FAST).post(url(&ns, "status/503").into(), json("{}"), Some(json(r#"{"maxRetries": 2, "queueIfOffline": false}"#)))).await.unwrap_err();
    assert_eq!(kind(&err), "http");
    assert_eq!(get(&err, "status").as_f64(), Some(503.0));
    assert_eq!(get(&err, "attempts").as_f64(), Some(3.0));
    assert_eq!(log(&ns).await.len(), 3);
}

#[wasm_bindgen_test]
async fn a_dropped_connection_is_retried_with_the_same_key() {
    let ns = unique_ns("drop");
    let resp = settle(client(FAST).request("POST".into(), url(&ns, "drop?times=2").into(), Some(json("{}")), Some(JsValue::UNDEFINED))).await.unwrap();
    assert_eq!(get(&resp, "status").as_f64(), Some(200.0));
    // Browsers may themselves resend once on a dropped keep-alive socket, so
    // count on the server's side: three sends, one key.
    let records = log(&ns).await;
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| header(r, "idempotency-key") == header(&records[0], "idempotency-key")));
}

#[wasm_bindgen_test]
async fn a_refused_connection_is_a_network_error_after_the_retries() {
    // Port 9 (discard) has no listener here: every attempt fails below HTTP.
    let c = client(FAST);
    let (retries, _listener) = record_retries(&c, "reason");
    let opts = json(r#"{"maxRetries": 2, "queueIfOffline": false}"#);
    let err = settle(c.post("http://127.0.0.1:9/sales".into(), json("{}"), Some(opts))).await.unwrap_err();
    assert_eq!(kind(&err), "network");
    assert_eq!(get(&err, "attempts").as_f64(), Some(3.0));
    assert!(is_uuid_v4(&get(&err, "idempotencyKey").as_string().unwrap()));
    assert_eq!(retries.length(), 2);
    assert!(retries.get(0).as_string().unwrap().starts_with("network"));
}

#[wasm_bindgen_test]
async fn a_hung_attempt_is_aborted_at_the_timeout_and_retried_with_the_same_key() {
    let ns = unique_ns("hang");
    let c = client(FAST);
    let (reasons, _listener) = record_retries(&c, "reason");
    let started = js_sys::Date::now();
    let resp = settle(c.request("POST".into(), url(&ns, "hang?times=1").into(), Some(json("{}")), Some(json(r#"{"timeout": 300}"#)))).await.unwrap();
    // Measured on the client: the timer also covers a CORS preflight, so
    // the server may see the two requests less than 300 ms apart.
    let elapsed = js_sys::Date::now() - started;
    assert_eq!(get(&resp, "status").as_f64(), Some(200.0));
    assert_eq!(reasons.to_vec().iter().map(|r| r.as_string().unwrap()).collect::<Vec<_>>(), ["timeout"]);
    assert!(elapsed >= 300.0, "finished after {elapsed} ms, before the timeout could fire");
    let records = log(&ns).await;
    assert_eq!(records.len(), 2);
    assert_eq!(header(&records[0], "idempotency-key"), header(&records[1], "idempotency-key"));

    let ns2 = unique_ns("hangforever");
    let err = settle(client(FAST).post(url(&ns2, "hang").into(), json("{}"), Some(json(r#"{"timeout": 100, "maxRetries": 1, "queueIfOffline": false}"#)))).await.unwrap_err();
    assert_eq!(kind(&err), "timeout");
    assert_eq!(get(&err, "attempts").as_f64(), Some(2.0));
}

#[wasm_bindgen_test]
async fn total_timeout_bounds_the_whole_call() {
    let ns = unique_ns("total");
    let opts = json(r#"{"timeout": 10000, "totalTimeout": 400, "retryDelay": 100, "jitter": false, "queueIfOffline": false}"#);
    let started = js_sys::Date::now();
    let err = settle(client("{}").post(url(&ns, "hang").into(), json("{}"), Some(opts))).await.unwrap_err();
    assert_eq!(kind(&err), "timeout");
    assert!(js_sys::Date::now() - started < 5_000.0, "the 10 s attempt timeout was not cut by totalTimeout");
}

#[wasm_bindgen_test]
async fn the_callers_abort_stops_a_pending_backoff_at_once() {
    let ns = unique_ns("abort");
    let c = client(r#"{"retryDelay": 60000, "jitter": false}"#);
    let controller = web_sys::AbortController::new().unwrap();
    let opts = Object::new();
    Reflect::set(&opts, &"signal".into(), &controller.signal()).unwrap();
    let (retried_tx, retried) = resolver();
    let listener = Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |_e| {
        let _ = retried_tx.call0(&JsValue::NULL);
    });
    c.add_event_listener("retry", listener.as_ref(), &JsValue::UNDEFINED);
    let call = c.post(url(&ns, "status/503").into(), json("{}"), Some(opts.into()));
    JsFuture::from(retried).await.unwrap(); // the first attempt failed; a 60 s wait began
    let aborted_at = js_sys::Date::now();
    controller.abort();
    let err = settle(call).await.unwrap_err();
    assert_eq!(kind(&err), "aborted");
    assert!(js_sys::Date::now() - aborted_at < 1_000.0, "the abort waited for the backoff");
    assert_eq!(log(&ns).await.len(), 1);
}

#[wasm_bindgen_test]
async fn an_already_aborted_signal_sends_nothing() {
    let ns = unique_ns("preaborted");
    let controller = web_sys::AbortController::new().unwrap();
    controller.abort();
    let opts = Object::new();
    Reflect::set(&opts, &"signal".into(), &controller.signal()).unwrap();
    let err = settle(client("{}").post(url(&ns, "echo").into(), json("{}"), Some(opts.into()))).await.unwrap_err();
    assert_eq!(kind(&err), "aborted");
    assert!(log(&ns).await.is_empty());
}

#[wasm_bindgen_test]
async fn bad_input_is_rejected_before_any_request_naming_the_problem() {
    let ns = unique_ns("invalid");
    let good = url(&ns, "echo");
    let cyclic = Object::new();
    Reflect::set(&cyclic, &"self".into(), &cyclic).unwrap();
    let with_bigint = Object::new();
    Reflect::set(&with_bigint, &"total".into(), &js_sys::BigInt::from(5u32).into()).unwrap();
    let with_function = Object::new();
    Reflect::set(&with_function, &"price".into(), &Function::new_no_args("return 1").into()).unwrap();
    let cases: Vec<(JsValue, JsValue, JsValue, &str)> = vec![
        (good.clone().into(), with_bigint.into(), JsValue::UNDEFINED, "body.total is a bigint"),
        (good.clone().into(), cyclic.into(), JsValue::UNDEFINED, "cycle"),
        (good.clone().into(), with_function.into(), JsValue::UNDEFINED, "body.price is a function"),
        (good.clone().into(), json(r#"{"n": 1}"#), json(r#"{"maxRetries": -1}"#), "options.maxRetries"),
        (good.clone().into(), json("{}"), json(r#"{"timeout": "soon"}"#), "options.timeout"),
        (good.clone().into(), json("{}"), json(r#"{"retryDelay": -5}"#), "options.retryDelay"),
        (good.clone().into(), json("{}"), json(r#"{"idempotencyKey": ""}"#), "options.idempotencyKey"),
        (good.clone().into(), json("{}"), json(r#"{"headers": {"X-Till": 3}}"#), "options.headers.X-Till"),
        (good.clone().into(), json("{}"), json(r#"{"signal": "stop"}"#), "options.signal"),
        ("http://[not a url".into(), json("{}"), JsValue::UNDEFINED, "url is not a valid URL"),
        ("ftp://127.0.0.1/x".into(), json("{}"), JsValue::UNDEFINED, "http or https"),
        (JsValue::from_f64(42.0), json("{}"), JsValue::UNDEFINED, "url must be a string"),
    ];
    for (u, body, opts, needle) in cases {
        let err = settle(client("{}").post(u, body, Some(opts))).await.unwrap_err();
        assert!(err.is_instance_of::<js_sys::Error>(), "an Error");
        assert_eq!(kind(&err), "invalid-input", "{needle}");
        let message = get(&err, "message").as_string().unwrap();
        assert!(message.contains(needle), "message {message:?} should name {needle:?}");
    }
    assert!(log(&ns).await.is_empty(), "bad input reached the network");
}

#[wasm_bindgen_test]
fn a_bad_config_throws_naming_the_field() {
    for (config, needle) in [
        (r#"{"maxRetries": "3"}"#, "config.maxRetries"),
        (r#"{"baseUrl": "not a url"}"#, "config.baseUrl"),
        (r#"{"namespace": ""}"#, "config.namespace"),
        (r#"{"persistHeaders": "Authorization"}"#, "config.persistHeaders"),
        (r#"{"maxRetention": -1}"#, "config.maxRetention"),
    ] {
        let err = ApiClient::new(Some(json(config))).err().expect(config);
        assert_eq!(kind(&err), "invalid-input");
        assert!(get(&err, "message").as_string().unwrap().contains(needle), "{config}");
    }
}

#[wasm_bindgen_test]
async fn api_error_is_a_real_error() {
    let err = settle(client("{}").post("http://[".into(), json("{}"), Some(JsValue::UNDEFINED))).await.unwrap_err();
    assert!(err.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&err, "name").as_string().as_deref(), Some("ApiError"));
    assert!(get(&err, "stack").is_string());
}

#[wasm_bindgen_test]
async fn success_values_follow_the_content() {
    let ns = unique_ns("values");
    let c = client("{}");
    let none = settle(c.post(url(&ns, "status/204").into(), json("{}"), Some(JsValue::UNDEFINED))).await.unwrap();
    assert!(none.is_null());
    let text = settle(c.post(url(&ns, "text").into(), json("{}"), Some(JsValue::UNDEFINED))).await.unwrap();
    assert_eq!(text.as_string().as_deref(), Some("hello"));
    let replay = settle(c.request("POST".into(), url(&ns, "replay").into(), Some(json("{}")), Some(JsValue::UNDEFINED))).await.unwrap();
    assert_eq!(get(&replay, "replayed").as_bool(), Some(true));
    assert_eq!(get(&replay, "status").as_f64(), Some(201.0));
    // `headers` is a plain object of lowercased names, and stays the same object.
    let headers = get(&replay, "headers");
    assert_eq!(get(&headers, "idempotent-replayed").as_string().as_deref(), Some("true"));
    assert!(get(&headers, "content-type").as_string().unwrap().starts_with("application/json"));
    assert_eq!(JsValue::from(Object::get_prototype_of(&headers)), JsValue::from(Object::get_prototype_of(&Object::new())));
    assert_eq!(get(&replay, "headers"), headers);
    let legacy = settle(c.request("POST".into(), url(&ns, "replay?legacy=1").into(), Some(json("{}")), Some(JsValue::UNDEFINED))).await.unwrap();
    assert_eq!(get(&legacy, "replayed").as_bool(), Some(true));
    let fresh = settle(c.request("POST".into(), url(&ns, "echo").into(), Some(json("{}")), Some(JsValue::UNDEFINED))).await.unwrap();
    assert_eq!(get(&fresh, "replayed").as_bool(), Some(false));
    // GET carries no idempotency key and no body.
    let got = settle(c.request("get".into(), url(&ns, "echo").into(), Some(JsValue::UNDEFINED), Some(JsValue::UNDEFINED))).await.unwrap();
    assert!(get(&got, "idempotencyKey").is_null());
    let records = log(&ns).await;
    assert_eq!(header(records.last().unwrap(), "idempotency-key"), None);
}

#[wasm_bindgen_test]
async fn the_headers_function_is_called_before_every_attempt() {
    let ns = unique_ns("headersfn");
    let calls = Array::new();
    let calls2 = calls.clone();
    let f = Closure::<dyn FnMut() -> Promise>::new(move || {
        calls2.push(&JsValue::NULL);
        let h = Object::new();
        Reflect::set(&h, &"Authorization".into(), &format!("Bearer token-{}", calls2.length()).into()).unwrap();
        Promise::resolve(&JsValue::from(h))
    });
    let config = json(FAST);
    Reflect::set(&config, &"headers".into(), f.as_ref()).unwrap();
    let c = ApiClient::new(Some(config)).unwrap();
    settle(c.post(url(&ns, "status/503?times=2").into(), json("{}"), Some(JsValue::UNDEFINED))).await.unwrap();
    assert_eq!(calls.length(), 3);
    let auth: Vec<Option<String>> = log(&ns).await.iter().map(|r| header(r, "authorization")).collect();
    assert_eq!(auth, vec![Some("Bearer token-1".into()), Some("Bearer token-2".into()), Some("Bearer token-3".into())]);
}

#[wasm_bindgen_test]
fn event_names_lists_every_event_once() {
    let names: Vec<String> = pos_resilience::event_names().iter().map(|v| v.as_string().unwrap()).collect();
    let mut expected = [
        "retry", "online", "offline", "queued", "sent", "dead-letter", "auth-required",
        "drain-start", "drain-end", "queue-size", "connectivity", "write-ahead-failed",
    ];
    let mut sorted = names.clone();
    sorted.sort();
    expected.sort();
    assert_eq!(sorted, expected, "eventNames() is {names:?}");
}

#[wasm_bindgen_test]
async fn online_and_offline_events_are_re_emitted() {
    let c = client("{}");
    let seen = Array::new();
    let s2 = seen.clone();
    let listener = Closure::<dyn FnMut(web_sys::Event)>::new(move |e: web_sys::Event| {
        s2.push(&e.type_().into());
    });
    c.add_event_listener("offline", listener.as_ref(), &JsValue::UNDEFINED);
    c.add_event_listener("online", listener.as_ref(), &JsValue::UNDEFINED);
    let window = web_sys::window().unwrap();
    window.dispatch_event(&web_sys::Event::new("offline").unwrap()).unwrap();
    window.dispatch_event(&web_sys::Event::new("online").unwrap()).unwrap();
    c.close();
    window.dispatch_event(&web_sys::Event::new("offline").unwrap()).unwrap();
    let kinds: Vec<String> = seen.iter().map(|v| v.as_string().unwrap()).collect();
    assert_eq!(kinds, ["offline", "online"]);
}

#[wasm_bindgen_test]
async fn api_post_uses_a_default_client() {
    let ns = unique_ns("apipost");
    let body = settle(api_post(url(&ns, "echo").into(), json(r#"{"x": true}"#), Some(json(r#"{"maxRetries": 0}"#)))).await.unwrap();
    assert_eq!(get(&get(&body, "body"), "x").as_bool(), Some(true));
    assert_eq!(log(&ns).await.len(), 1);
}
