//! The offline outbox in a real browser against the real test server:
//! enqueue, drain triggers, FIFO, dead letters, auth refresh, one drainer at
//! a time, expiry, storage faults and the schema upgrade.
#![cfg(target_arch = "wasm32")]

use js_sys::{Array, Function, Object, Promise, Reflect};
use pos_resilience::ApiClient;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::*;

/// Posts while the browser reports offline, and leaves it reporting
/// offline, so that no timer drain sends the record behind the test's back
/// (forced drains, `drainQueue()` and `online`, still run). Returns the
/// `queued` ApiError.
async fn post_offline(c: &ApiClient, target: &str, body: &str, options: JsValue) -> JsValue {
    set_online(false);
    let result = settle(c.post(target.into(), json(body), Some(options))).await;
    let err = result.expect_err("an offline post rejects");
    assert_eq!(kind(&err), "queued", "{:?}", get(&err, "message").as_string());
    err
}

/// Queues (offline) one `{"seq": i}` POST to `target` for each `i` in `seqs`, in order.
async fn queue_seqs(c: &ApiClient, target: &str, seqs: std::ops::Range<u32>) {
    for i in seqs {
        post_offline(c, target, &format!(r#"{{"seq": {i}}}"#), JsValue::UNDEFINED).await;
    }
}

/// The browser comes back online: `navigator.onLine` and the `online` event.
fn go_online() {
    set_online(true);
    let window = web_sys::window().unwrap();
    window.dispatch_event(&web_sys::Event::new("online").unwrap()).unwrap();
}

#[wasm_bindgen_test]
async fn offline_at_send_is_queued_then_sent_once_with_the_same_key_when_online() {
    let ns = fresh("offline");
    let c = client_in(&ns, "").await;
    let queued_event = JsFuture::from(next_event(&c, "queued"));
    let err = post_offline(&c, &url(&ns, "echo"), r#"{"sale": 7}"#, JsValue::UNDEFINED).await;
    let key = get(&err, "idempotencyKey").as_string().unwrap();
    let queue_id = num(&err, "queueId");
    assert!(err.is_instance_of::<js_sys::Error>());
    let queued = queued_event.await.unwrap();
    assert_eq!(num(&queued, "queueId"), queue_id);
    assert_eq!(get(&queued, "reason").as_string().as_deref(), Some("offline"));
    assert_eq!(settle(c.queue_size()).await.unwrap().as_f64(), Some(1.0));
    assert!(log(&ns).await.is_empty(), "nothing is sent while offline");

    let sent = JsFuture::from(next_event(&c, "sent"));
    go_online();
    let sent = sent.await.unwrap();
    assert_eq!(get(&sent, "idempotencyKey").as_string().as_ref(), Some(&key));
    assert_eq!(get(&get(&get(&sent, "body"), "body"), "sale").as_f64(), Some(7.0));
    settle(c.drain_queue()).await.unwrap();
    let records = log(&ns).await;
    assert_eq!(records.len(), 1, "sent exactly once");
    assert_eq!(header(&records[0], "idempotency-key").as_ref(), Some(&key));
    assert_eq!(settle(c.queue_size()).await.unwrap().as_f64(), Some(0.0));
    c.close();
}

#[wasm_bindgen_test]
async fn exhausted_retries_queue_with_the_key_of_the_failed_attempts() {
    let ns = fresh("exhausted");
    let c = client_in(&ns, "").await;
    let err = settle(c.post(url(&ns, "status/503?times=3").into(), json("{}"), Some(json(r#"{"maxRetries": 1}"#)))).await.unwrap_err();
    assert_eq!(kind(&err), "queued");
    assert_eq!(num(&err, "attempts"), 2.0);
    // The third send fails too: the record stays at the head, attempts counted.
    let first = settle(c.drain_queue()).await.unwrap();
    assert_eq!((num(&first, "sent"), num(&first, "remaining")), (0.0, 1.0));
    let listed = settle(c.list_queue()).await.unwrap();
    assert_eq!(num(&Array::from(&listed).get(0), "attempts"), 3.0);
    assert_eq!(get(&Array::from(&listed).get(0), "lastError").as_string().as_deref(), Some("status 503"));
    let second = settle(c.drain_queue()).await.unwrap();
    assert_eq!((num(&second, "sent"), num(&second, "remaining")), (1.0, 0.0));
    let records = log(&ns).await;
    assert_eq!(records.len(), 4);
    let key = get(&err, "idempotencyKey").as_string();
    assert!(records.iter().all(|r| header(r, "idempotency-key") == key));
    c.close();
}

#[wasm_bindgen_test]
async fn the_queue_survives_a_reload_and_a_fresh_client_drains_it() {
    let ns = fresh("reload");
    let first = client_in(&ns, "").await;
    let mut keys = Vec::new();
    // Offline through the "reload", as a till would be.
    for i in 0..3 {
        let err = post_offline(&first, &url(&ns, "echo"), &format!(r#"{{"n": {i}}}"#), JsValue::UNDEFINED).await;
        keys.push(get(&err, "idempotencyKey").as_string().unwrap());
    }
    first.close();
    drop(first);
    set_online(true);
    // A new page: a new client over the same database drains at start-up.
    let second = ApiClient::new(Some(json(&format!(r#"{{"namespace": "{ns}"}}"#)))).unwrap();
    let report = settle(second.drain_queue()).await.unwrap();
    assert_eq!((num(&report, "sent"), num(&report, "remaining")), (3.0, 0.0));
    let sent_keys: Vec<String> = log(&ns).await.iter().map(|r| header(r, "idempotency-key").unwrap()).collect();
    assert_eq!(sent_keys, keys);
    second.close();
}

#[wasm_bindgen_test]
async fn fifty_queued_records_reach_the_server_in_order() {
    let ns = fresh("fifo");
    let c = client_in(&ns, "").await;
    queue_seqs(&c, &url(&ns, "echo"), 0..50).await;
    go_online();
    let report = settle(c.drain_queue()).await.unwrap();
    assert_eq!(num(&report, "remaining"), 0.0);
    let seqs: Vec<f64> = log(&ns).await.iter().map(|r| num(&get(r, "body"), "seq")).collect();
    assert_eq!(seqs, (0..50).map(f64::from).collect::<Vec<_>>());
    c.close();
}

#[wasm_bindgen_test]
async fn delivered_records_are_deleted_in_runs_not_one_transaction_each() {
    let ns = fresh("delete-runs");
    let c = client_in(&ns, "").await;
    queue_seqs(&c, &url(&ns, "echo"), 0..40).await;
    let stop_counting = count_queue_deletes(&format!("pos-resilience:{ns}"));
    set_online(true);
    let report = settle(c.drain_queue()).await.unwrap();
    let deletes = stop_counting.call0(&JsValue::NULL).unwrap().as_f64().unwrap();
    assert_eq!((num(&report, "sent"), num(&report, "remaining")), (40.0, 0.0));
    assert_eq!(settle(c.queue_size()).await.unwrap(), 0.0, "every delivered record is gone once the drain ends");
    // At most 16 records per run: at least 3 deletes; and fewer than one per record.
    assert!((3.0..40.0).contains(&deletes), "{deletes} delete requests for 40 delivered records");
    assert_eq!(log(&ns).await.len(), 40);
    c.close();
}

#[wasm_bindgen_test]
async fn a_drain_that_stops_at_a_waiting_record_has_deleted_those_before_it() {
    let ns = fresh("delete-then-wait");
    let c = client_in(&ns, "").await;
    queue_seqs(&c, &url(&ns, "echo"), 0..5).await;
    post_offline(&c, &url(&ns, "status/503"), r#"{"seq": 5}"#, JsValue::UNDEFINED).await;
    post_offline(&c, &url(&ns, "echo"), r#"{"seq": 6}"#, JsValue::UNDEFINED).await;
    let report = settle(c.drain_queue()).await.unwrap();
    assert_eq!((num(&report, "sent"), num(&report, "remaining")), (5.0, 2.0));
    let left = Array::from(&settle(c.list_queue()).await.unwrap());
    let seqs: Vec<f64> = left.iter().map(|r| num(&json(&get(&r, "body").as_string().unwrap()), "seq")).collect();
    assert_eq!(seqs, [5.0, 6.0], "the waiting head and the record behind it stay; the delivered ones are gone");
    assert_eq!(log(&ns).await.len(), 6, "five delivered, one 503, nothing after the head that must wait");
    c.close();
}

#[wasm_bindgen_test]
async fn a_poison_record_is_dead_lettered_and_the_rest_still_drain() {
    let ns = fresh("poison");
    let c = client_in(&ns, "").await;
    post_offline(&c, &url(&ns, "status/422"), r#"{"bad": true}"#, JsValue::UNDEFINED).await;
    queue_seqs(&c, &url(&ns, "echo"), 0..49).await;
    let dead_event = JsFuture::from(next_event(&c, "dead-letter"));
    let report = settle(c.drain_queue()).await.unwrap();
    assert_eq!((num(&report, "sent"), num(&report, "deadLettered"), num(&report, "remaining")), (49.0, 1.0, 0.0));
    let dead = dead_event.await.unwrap();
    assert_eq!(get(&dead, "reason").as_string().as_deref(), Some("rejected"));
    let letters = Array::from(&settle(c.dead_letters()).await.unwrap());
    assert_eq!(letters.length(), 1);
    let letter = letters.get(0);
    assert_eq!(num(&dead, "id"), num(&letter, "id"), "the event carries the stored dead letter's id");
    assert_eq!(num(&letter, "status"), 422.0);
    assert_eq!(num(&get(&letter, "body"), "status"), 422.0, "the problem+json body is kept");
    assert_eq!(get(&get(&letter, "request"), "body").as_string().as_deref(), Some(r#"{"bad":true}"#));
    assert_eq!(log(&ns).await.len(), 50);

    // Retried by hand it goes back to the queue (and is rejected again);
    // discarded it is gone.
    // Its new queue id comes after the 50 records queued before it.
    let requeued = settle(c.retry_dead_letter(num(&letter, "id"))).await.unwrap().as_f64();
    assert!(requeued.is_some_and(|id| id > 50.0 && id.fract() == 0.0), "retryDeadLetter resolves with the new queue id, not {requeued:?}");
    settle(c.drain_queue()).await.unwrap();
    let again = Array::from(&settle(c.dead_letters()).await.unwrap());
    assert_eq!(again.length(), 1);
    assert_eq!(get(&get(&again.get(0), "request"), "idempotencyKey"), get(&get(&letter, "request"), "idempotencyKey"), "same key on a manual retry");
    settle(c.discard_dead_letter(num(&again.get(0), "id"))).await.unwrap();
    assert_eq!(Array::from(&settle(c.dead_letters()).await.unwrap()).length(), 0);
    c.close();
}

async fn two_drainers_send_each_record_once(ns: &str) {
    let a = client_in(ns, "").await;
    let b = client_in(ns, "").await;
    queue_seqs(&a, &url(ns, "echo?delay=5"), 0..20).await;
    let both = Array::of2(&a.drain_queue(), &b.drain_queue());
    settle(Promise::all(&both)).await.unwrap();
    // Whichever drained, every record went once; drain again to be sure
    // nothing was left behind.
    settle(b.drain_queue()).await.unwrap();
    let keys: Vec<String> = log(ns).await.iter().map(|r| header(r, "idempotency-key").unwrap()).collect();
    assert_eq!(keys.len(), 20, "{keys:?}");
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 20, "a record was sent twice");
    a.close();
    b.close();
}

#[wasm_bindgen_test]
async fn two_clients_draining_at_once_never_send_a_record_twice() {
    two_drainers_send_each_record_once(&fresh("twotabs")).await;
}

#[wasm_bindgen_test]
async fn without_web_locks_the_indexeddb_lease_keeps_one_drainer() {
    let ns = fresh("lease");
    hide_web_locks(true);
    two_drainers_send_each_record_once(&ns).await;
    hide_web_locks(false);
}

#[wasm_bindgen_test]
async fn credentials_are_not_stored_and_are_refreshed_at_replay() {
    let ns = fresh("auth");
    let token = std::rc::Rc::new(std::cell::Cell::new(1u32));
    let t = token.clone();
    let headers_fn = Closure::<dyn FnMut() -> JsValue>::new(move || {
        let h = Object::new();
        Reflect::set(&h, &"Authorization".into(), &format!("Bearer token-{}", t.get()).into()).unwrap();
        h.into()
    });
    let config = json(&format!(r#"{{"namespace": "{ns}"}}"#));
    Reflect::set(&config, &"headers".into(), headers_fn.as_ref()).unwrap();
    let c = ApiClient::new(Some(config)).unwrap();
    settle(c.drain_queue()).await.unwrap();
    post_offline(&c, &url(&ns, "echo"), "{}", json(r#"{"headers": {"Cookie": "s=1", "X-Till": "3"}}"#)).await;
    let stored = Array::from(&settle(c.list_queue()).await.unwrap()).get(0);
    let names: Vec<String> = Object::keys(get(&stored, "headers").unchecked_ref::<Object>()).iter().map(|k| k.as_string().unwrap().to_lowercase()).collect();
    assert!(!names.iter().any(|n| n == "authorization" || n == "cookie"), "credentials persisted: {names:?}");
    token.set(2); // the token expired while the sale was queued
    settle(c.drain_queue()).await.unwrap();
    assert_eq!(header(&log(&ns).await[0], "authorization").as_deref(), Some("Bearer token-2"));
    c.close();

    // Listed in persistHeaders, a call's Authorization is stored.
    let ns2 = fresh("authlisted");
    let listed = client_in(&ns2, r#", "persistHeaders": ["Authorization"]"#).await;
    post_offline(&listed, &url(&ns2, "echo"), "{}", json(r#"{"headers": {"Authorization": "Bearer kept"}}"#)).await;
    let stored = Array::from(&settle(listed.list_queue()).await.unwrap()).get(0);
    assert_eq!(get(&get(&stored, "headers"), "Authorization").as_string().as_deref(), Some("Bearer kept"));
    settle(listed.clear_queue()).await.unwrap();
    listed.close();
}

#[wasm_bindgen_test]
async fn a_401_at_replay_refreshes_once_then_waits_for_auth() {
    let ns = fresh("401");
    let calls = std::rc::Rc::new(std::cell::Cell::new(0u32));
    let c2 = calls.clone();
    let headers_fn = Closure::<dyn FnMut() -> JsValue>::new(move || {
        c2.set(c2.get() + 1);
        Object::new().into()
    });
    let config = json(&format!(r#"{{"namespace": "{ns}"}}"#));
    Reflect::set(&config, &"headers".into(), headers_fn.as_ref()).unwrap();
    let c = ApiClient::new(Some(config)).unwrap();
    settle(c.drain_queue()).await.unwrap();
    post_offline(&c, &url(&ns, "status/401?times=1"), "{}", JsValue::UNDEFINED).await;
    post_offline(&c, &url(&ns, "status/401"), "{}", JsValue::UNDEFINED).await;
    let before = calls.get();
    let auth_event = JsFuture::from(next_event(&c, "auth-required"));
    let report = settle(c.drain_queue()).await.unwrap();
    // First record: 401, fresh headers, 200. Second: 401 twice, then it waits.
    assert_eq!((num(&report, "sent"), num(&report, "remaining")), (1.0, 1.0));
    assert_eq!(calls.get() - before, 4, "headers function called before each of the four sends");
    let detail = auth_event.await.unwrap();
    assert_eq!(num(&detail, "status"), 401.0);
    let waiting = Array::from(&settle(c.list_queue()).await.unwrap()).get(0);
    assert_eq!(num(&waiting, "attempts"), 2.0);
    assert!(Array::from(&settle(c.dead_letters()).await.unwrap()).length() == 0, "a 401 is not a dead letter");
    settle(c.clear_queue()).await.unwrap();
    c.close();
}

#[wasm_bindgen_test]
async fn an_expired_record_goes_to_the_dead_letters_unsent() {
    let ns = fresh("expiry");
    let c = client_in(&ns, r#", "maxRetention": 1"#).await;
    // Stay "offline" until the retention has passed, so that no timer drain
    // can send the record first; the forced drain below ignores the hint.
    let err = post_offline(&c, &url(&ns, "echo"), "{}", JsValue::UNDEFINED).await;
    // Let the 1 ms retention pass (time is the input here, not a guess).
    JsFuture::from(Promise::new(&mut |res, _| {
        web_sys::window().unwrap().set_timeout_with_callback_and_timeout_and_arguments_0(&res, 20).unwrap();
    }))
    .await
    .unwrap();
    let report = settle(c.drain_queue()).await;
    set_online(true);
    let report = report.unwrap();
    assert_eq!((num(&report, "sent"), num(&report, "deadLettered"), num(&report, "remaining")), (0.0, 1.0, 0.0));
    let letters = Array::from(&settle(c.dead_letters()).await.unwrap());
    assert_eq!(letters.length(), 1);
    let letter = letters.get(0);
    assert_eq!(get(&letter, "reason").as_string().as_deref(), Some("expired"));
    assert_eq!(get(&letter, "idempotencyKey"), get(&err, "idempotencyKey"));
    assert!(log(&ns).await.is_empty());
    c.close();
}

#[wasm_bindgen_test]
async fn an_undecodable_record_is_dead_lettered_and_the_queue_goes_on() {
    let ns = fresh("corrupt");
    let c = client_in(&ns, "").await;
    let db = format!("pos-resilience:{ns}");
    settle(add_raw(&db, "queue", &json(r#"{"garbage": true}"#))).await.unwrap();
    post_offline(&c, &url(&ns, "echo"), r#"{"after": 1}"#, JsValue::UNDEFINED).await;
    let report = settle(c.drain_queue()).await.unwrap();
    assert_eq!((num(&report, "sent"), num(&report, "deadLettered"), num(&report, "remaining")), (1.0, 1.0, 0.0));
    let letter = Array::from(&settle(c.dead_letters()).await.unwrap()).get(0);
    assert_eq!(get(&letter, "reason").as_string().as_deref(), Some("undecodable"));
    assert_eq!(get(&get(&letter, "request"), "garbage").as_bool(), Some(true), "the raw record is kept");
    c.close();
}

#[wasm_bindgen_test]
async fn without_indexeddb_an_undeliverable_post_fails_with_a_storage_error() {
    let ns = fresh("noidb");
    hide_indexed_db(true);
    let c = ApiClient::new(Some(json(&format!(r#"{{"namespace": "{ns}"}}"#)))).unwrap();
    set_online(false);
    let err = settle(c.post(url(&ns, "echo").into(), json("{}"), Some(JsValue::UNDEFINED))).await.unwrap_err();
    set_online(true);
    let size = settle(c.queue_size()).await;
    hide_indexed_db(false);
    assert_eq!(kind(&err), "storage");
    assert!(get(&err, "idempotencyKey").is_string(), "the key is returned so the caller can retry safely");
    assert!(get(&err, "message").as_string().unwrap().contains("nor stored in the offline queue"));
    assert_eq!(kind(&size.unwrap_err()), "storage");
    // With IndexedDB back, the same client works.
    post_offline(&c, &url(&ns, "echo"), "{}", JsValue::UNDEFINED).await;
    settle(c.drain_queue()).await.unwrap();
    assert_eq!(log(&ns).await.len(), 1);
    c.close();
}

#[wasm_bindgen_test]
async fn quota_exceeded_is_a_storage_error_naming_it() {
    let ns = fresh("quota");
    let c = client_in(&ns, "").await;
    fail_adds_with_quota(true);
    set_online(false);
    let err = settle(c.post(url(&ns, "echo").into(), json("{}"), Some(JsValue::UNDEFINED))).await.unwrap_err();
    set_online(true);
    fail_adds_with_quota(false);
    assert_eq!(kind(&err), "storage");
    let message = get(&err, "message").as_string().unwrap();
    assert!(message.to_lowercase().contains("quota"), "{message}");
    assert_eq!(settle(c.queue_size()).await.unwrap().as_f64(), Some(0.0));
    c.close();
}

#[wasm_bindgen_test]
async fn a_blocked_upgrade_is_a_storage_error_not_a_hang() {
    let ns = fresh("blocked");
    let db = format!("pos-resilience:{ns}");
    let stale: web_sys::IdbDatabase = settle(hold_open(&db, 1)).await.unwrap().unchecked_into();
    let c = ApiClient::new(Some(json(&format!(r#"{{"namespace": "{ns}"}}"#)))).unwrap();
    let err = settle(c.queue_size()).await.unwrap_err();
    assert_eq!(kind(&err), "storage");
    assert!(get(&err, "message").as_string().unwrap().contains("blocked"));
    stale.close();
    // Once the stale connection is gone, the upgrade goes through.
    assert_eq!(settle(c.queue_size()).await.unwrap().as_f64(), Some(0.0));
    c.close();
}

#[wasm_bindgen_test]
async fn a_version_1_database_is_upgraded_and_its_records_drained() {
    let ns = fresh("upgrade");
    let db = format!("pos-resilience:{ns}");
    let v1 = |n: u32| {
        json(&format!(
            r#"{{"idempotencyKey": "v1-key-{n}", "method": "POST", "url": "{}", "body": "{{\"n\":{n}}}", "headers": {{"content-type": "application/json"}}, "createdAt": {}, "attempts": 1}}"#,
            url(&ns, "echo"),
            js_sys::Date::now()
        ))
    };
    settle(create_v1_database(&db, &Array::of2(&v1(1), &v1(2)))).await.unwrap();
    let c = ApiClient::new(Some(json(&format!(r#"{{"namespace": "{ns}"}}"#)))).unwrap();
    let report = settle(c.drain_queue()).await.unwrap();
    assert_eq!((num(&report, "sent"), num(&report, "remaining")), (2.0, 0.0));
    let keys: Vec<Option<String>> = log(&ns).await.iter().map(|r| header(r, "idempotency-key")).collect();
    assert_eq!(keys, vec![Some("v1-key-1".to_string()), Some("v1-key-2".to_string())]);
    // The new stores exist: dead letters work on the upgraded database.
    assert_eq!(Array::from(&settle(c.dead_letters()).await.unwrap()).length(), 0);
    c.close();
}

#[wasm_bindgen_test]
async fn queue_size_reaches_every_client_of_the_namespace() {
    let ns = fresh("size");
    let a = client_in(&ns, "").await;
    let b = client_in(&ns, "").await;
    let sizes = Array::new();
    let (s2, (resolve, got_one)) = (sizes.clone(), resolver());
    let listener = Closure::<dyn FnMut(web_sys::CustomEvent)>::new(move |e: web_sys::CustomEvent| {
        let size = get(&e.detail(), "size");
        s2.push(&size);
        if size.as_f64() == Some(1.0) {
            let _ = resolve.call0(&JsValue::NULL);
        }
    });
    b.add_event_listener("queue-size", listener.as_ref(), &JsValue::UNDEFINED);
    // Stay "offline" so no timer drain delivers the record before the
    // (coalesced) announcement counts it.
    post_offline(&a, &url(&ns, "echo"), "{}", JsValue::UNDEFINED).await;
    // b may first hear an older count (its own start-up drain's 0); it must
    // then hear a's 1.
    JsFuture::from(got_one).await.unwrap();
    set_online(true);
    assert_eq!(sizes.to_vec().last().and_then(|v| v.as_f64()), Some(1.0));
    let cleared = settle(a.clear_queue()).await.unwrap();
    assert_eq!(cleared.as_f64(), Some(1.0));
    a.close();
    b.close();
}

#[wasm_bindgen_test]
async fn an_abortable_or_opted_out_call_is_never_queued() {
    let ns = fresh("noqueue");
    let c = client_in(&ns, "").await;
    set_online(false);
    let refused = settle(c.post("http://127.0.0.1:9/x".into(), json("{}"), Some(json(r#"{"queueIfOffline": false, "maxRetries": 0}"#)))).await.unwrap_err();
    let controller = web_sys::AbortController::new().unwrap();
    let opts = json(r#"{"maxRetries": 0}"#);
    Reflect::set(&opts, &"signal".into(), &controller.signal()).unwrap();
    let with_signal = settle(c.post("http://127.0.0.1:9/x".into(), json("{}"), Some(opts))).await.unwrap_err();
    set_online(true);
    assert_eq!(kind(&refused), "network");
    assert_eq!(kind(&with_signal), "network");
    assert_eq!(settle(c.queue_size()).await.unwrap().as_f64(), Some(0.0));
    c.close();
}

#[wasm_bindgen_test]
async fn a_drain_skipped_for_another_tab_looks_again_until_the_queue_is_empty() {
    let ns = fresh("skipped");
    let c = client_in(&ns, "").await;
    // Another tab holds the drain lock.
    let release: Function = settle(hold_web_lock(&format!("pos-resilience:{ns}"))).await.unwrap().unchecked_into();
    post_offline(&c, &url(&ns, "echo"), r#"{"late": true}"#, JsValue::UNDEFINED).await;
    let report = settle(c.drain_queue()).await.unwrap();
    assert_eq!(get(&report, "skipped").as_bool(), Some(true));
    assert_eq!(num(&report, "remaining"), 1.0);
    // The other tab finishes without having seen the record; nobody calls
    // drainQueue() again, yet the record is sent.
    let sent = JsFuture::from(next_event(&c, "sent"));
    set_online(true); // the timer's drains wait while the browser says offline
    release.call0(&JsValue::NULL).unwrap();
    let detail = sent.await.unwrap();
    assert_eq!(get(&get(&get(&detail, "body"), "body"), "late").as_bool(), Some(true));
    assert_eq!(log(&ns).await.len(), 1);
    c.close();
}

#[wasm_bindgen_test]
async fn clearing_the_queue_during_a_drain_sends_nothing_more() {
    let ns = fresh("clearmid");
    let c = client_in(&ns, "").await;
    queue_seqs(&c, &url(&ns, "echo?delay=50"), 0..20).await;
    let first_sent = JsFuture::from(next_event(&c, "sent"));
    let drain = c.drain_queue();
    first_sent.await.unwrap();
    settle(c.clear_queue()).await.unwrap();
    let report = settle(drain).await.unwrap();
    // The request on the wire when the queue was cleared may complete; none
    // of what the drain had read ahead is sent after the clear.
    let sent = num(&report, "sent");
    assert!(sent <= 2.0, "{sent} sent after the queue was cleared");
    assert_eq!(log(&ns).await.len() as f64, sent);
    assert_eq!(settle(c.queue_size()).await.unwrap().as_f64(), Some(0.0));
    c.close();
}

#[wasm_bindgen_test]
async fn background_drains_without_indexeddb_report_drain_end_and_never_an_unhandled_rejection() {
    let ns = fresh("bg-noidb");
    hide_indexed_db(true);
    let stop_counting = count_unhandled_rejections();
    let c = ApiClient::new(Some(json(&format!(r#"{{"namespace": "{ns}"}}"#)))).unwrap();
    // The start-up drain, then one started by the `online` event.
    for trigger in ["start-up", "online"] {
        let (resolve, next_end) = resolver();
        let listener = Closure::once_into_js(move |e: web_sys::CustomEvent| {
            let _ = resolve.call1(&JsValue::NULL, &e.detail());
        });
        c.add_event_listener("drain-end", &listener, &json(r#"{"once": true}"#));
        let ended = JsFuture::from(within(&next_end, 10_000, trigger));
        if trigger == "online" {
            go_online();
        }
        let report = ended.await.unwrap_or_else(|e| panic!("no drain-end after {trigger}: {e:?}"));
        assert!(get(&report, "error").as_string().is_some_and(|e| e.contains("cannot open the offline queue")), "{trigger}: {report:?}");
    }
    // Rejection tracking runs after the microtasks of a task: give it one.
    JsFuture::from(pause(50)).await.unwrap();
    let rejections = stop_counting.call0(&JsValue::NULL).unwrap().as_f64();
    hide_indexed_db(false);
    assert_eq!(rejections, Some(0.0), "a background drain left an unhandled rejection");
    c.close();
}

#[wasm_bindgen_test]
async fn background_sync_without_a_service_worker_changes_nothing() {
    let ns = fresh("bgsync-none");
    let stop_counting = count_unhandled_rejections();
    let c = client_in(&ns, r#", "backgroundSync": true"#).await;
    post_offline(&c, &url(&ns, "echo"), r#"{"sale": 1}"#, JsValue::UNDEFINED).await;
    let sent = JsFuture::from(next_event(&c, "sent"));
    go_online();
    sent.await.unwrap();
    assert_eq!(log(&ns).await.len(), 1, "the page's own triggers still drain");
    JsFuture::from(pause(50)).await.unwrap();
    assert_eq!(stop_counting.call0(&JsValue::NULL).unwrap().as_f64(), Some(0.0));
    c.close();
}
