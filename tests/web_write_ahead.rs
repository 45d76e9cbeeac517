//! The write-ahead outbox in a real browser against the real test server:
//! a write is in the outbox before its first attempt, owned by its call;
//! no drain sends it while the call runs; a page that dies mid-call leaves
//! it to the next page; a failed write-ahead still delivers.
#![cfg(target_arch = "wasm32")]

use std::cell::Cell;
use std::rc::Rc;

use js_sys::{Array, Function, Promise};
use pos_resilience::ApiClient;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

mod common;
use common::*;

/// A flag that turns true when `p` settles, either way.
fn settled_flag(p: &Promise) -> Rc<Cell<bool>> {
    let flag = Rc::new(Cell::new(false));
    let (f1, f2) = (flag.clone(), flag.clone());
    let on_ok = Closure::<dyn FnMut(JsValue)>::new(move |_| f1.set(true));
    let on_err = Closure::<dyn FnMut(JsValue)>::new(move |_| f2.set(true));
    let _ = p.then2(&on_ok, &on_err);
    // The test outlives neither: let them go with the page.
    on_ok.forget();
    on_err.forget();
    flag
}

/// The idempotency keys the test server received under `ns`, in order.
async fn keys_sent(ns: &str) -> Vec<String> {
    log(ns).await.iter().map(|r| header(r, "idempotency-key").unwrap_or_default()).collect()
}

/// Waits until the test server has received `n` requests under `ns`
/// (bounded: about ten seconds).
async fn until_received(ns: &str, n: usize) {
    for _ in 0..500 {
        if log(ns).await.len() >= n {
            return;
        }
        JsFuture::from(pause(20)).await.unwrap();
    }
    panic!("the server never received {n} requests under {ns}");
}

#[wasm_bindgen_test]
async fn a_write_is_in_the_outbox_while_on_the_wire_and_leaves_with_its_answer() {
    let ns = fresh("wa-inflight");
    let c = client_in(&ns, "").await;
    let call = c.post(url(&ns, "hang?times=1").into(), json(r#"{"sale": 1}"#), Some(json(r#"{"timeout": 300, "maxRetries": 1}"#)));
    until_received(&ns, 1).await;
    let listed = Array::from(&settle(c.list_queue()).await.unwrap());
    assert_eq!(listed.length(), 1, "the write is in the outbox before its answer");
    let record = listed.get(0);
    assert!(get(&record, "owner").is_string(), "owned by its live call");
    let response = settle(call).await.expect("the retry is answered");
    assert_eq!(get(&response, "body").is_object(), true);
    assert_eq!(settle(c.queue_size()).await.unwrap().as_f64(), Some(0.0), "a final answer removes it");
    let keys = keys_sent(&ns).await;
    assert_eq!(keys.len(), 2);
    assert_eq!(Some(&keys[0]), get(&record, "idempotencyKey").as_string().as_ref(), "the stored key is the one sent");
    c.close();
}

#[wasm_bindgen_test]
async fn with_write_ahead_off_a_write_on_the_wire_is_in_no_queue() {
    let ns = fresh("wa-off");
    let c = client_in(&ns, "").await;
    let call = c.post(url(&ns, "echo?delay=300").into(), json("{}"), Some(json(r#"{"writeAhead": false}"#)));
    until_received(&ns, 1).await;
    assert_eq!(settle(c.queue_size()).await.unwrap().as_f64(), Some(0.0));
    settle(call).await.unwrap();
    c.close();
}

#[wasm_bindgen_test]
async fn a_permanent_failure_returned_to_the_caller_removes_the_record() {
    let ns = fresh("wa-422");
    let c = client_in(&ns, "").await;
    let err = settle(c.post(url(&ns, "status/422").into(), json("{}"), None)).await.unwrap_err();
    assert_eq!(kind(&err), "http");
    assert_eq!(settle(c.queue_size()).await.unwrap().as_f64(), Some(0.0));
    assert_eq!(Array::from(&settle(c.dead_letters()).await.unwrap()).length(), 0, "the caller has the answer: no dead letter");
    c.close();
}

#[wasm_bindgen_test]
async fn giving_up_keeps_the_written_record_with_its_id_and_key() {
    let ns = fresh("wa-giveup");
    let c = client_in(&ns, "").await;
    let err = settle(c.post(url(&ns, "status/503?times=2").into(), json("{}"), Some(json(r#"{"maxRetries": 1}"#)))).await.unwrap_err();
    assert_eq!(kind(&err), "queued");
    let listed = Array::from(&settle(c.list_queue()).await.unwrap());
    assert_eq!(listed.length(), 1);
    let record = listed.get(0);
    assert_eq!(num(&record, "id"), num(&err, "queueId"), "the written-ahead record is the queued one");
    assert!(get(&record, "owner").is_null(), "released to the drains");
    assert_eq!(num(&record, "attempts"), 2.0);
    let report = settle(c.drain_queue()).await.unwrap();
    assert_eq!(num(&report, "sent"), 1.0);
    let keys = keys_sent(&ns).await;
    assert_eq!(keys.len(), 3);
    assert!(keys.iter().all(|k| Some(k) == get(&err, "idempotencyKey").as_string().as_ref()));
    c.close();
}

/// A slow call in one client while another drains the namespace over and
/// over: the call's request goes out once, from the call.
async fn a_slow_live_call_is_never_sent_by_a_drain(ns: &str) {
    let owner = client_in(ns, "").await;
    let drainer = client_in(ns, "").await;
    let call = owner.post(url(ns, "echo?delay=1500").into(), json(r#"{"sale": "slow"}"#), None);
    let done = settled_flag(&call);
    until_received(ns, 1).await;
    let mut drains = 0;
    while !done.get() && drains < 200 {
        let report = settle(drainer.drain_queue()).await.unwrap();
        assert_eq!(num(&report, "sent"), 0.0, "a drain sent the live call's record");
        drains += 1;
        JsFuture::from(pause(25)).await.unwrap();
    }
    assert!(drains > 5, "the drains ran while the call was live ({drains})");
    settle(call).await.expect("the slow call is answered");
    settle(drainer.drain_queue()).await.unwrap();
    assert_eq!(keys_sent(ns).await.len(), 1, "sent once, by its call");
    // The caller's client reads the outbox as its answers left it.
    assert_eq!(settle(owner.queue_size()).await.unwrap().as_f64(), Some(0.0));
    owner.close();
    drainer.close();
}

#[wasm_bindgen_test]
async fn a_slow_live_call_is_not_sent_by_another_clients_drains_with_web_locks() {
    a_slow_live_call_is_never_sent_by_a_drain(&fresh("wa-slow-locks")).await;
}

#[wasm_bindgen_test]
async fn a_slow_live_call_is_not_sent_by_another_clients_drains_with_the_lease() {
    let ns = fresh("wa-slow-lease");
    hide_web_locks(true);
    a_slow_live_call_is_never_sent_by_a_drain(&ns).await;
    hide_web_locks(false);
}

/// Another client counted a live call's record while it was on the wire;
/// when the answered record leaves the outbox, that client is told
/// (`queue-size` 0), so no counter keeps showing a sale that was sent.
#[wasm_bindgen_test]
async fn a_counter_that_saw_a_live_record_is_told_when_it_leaves() {
    let ns = fresh("wa-count-live");
    let owner = client_in(&ns, "").await;
    let watcher = client_in(&ns, "").await;
    let call = owner.post(url(&ns, "echo?delay=600").into(), json(r#"{"sale": "watched"}"#), None);
    until_received(&ns, 1).await;
    assert_eq!(settle(watcher.queue_size()).await.unwrap().as_f64(), Some(1.0), "the live record is counted");
    let mut next = next_event(&watcher, "queue-size");
    settle(call).await.expect("the call is answered");
    // Bounded: every announcement comes within a second of a change.
    for _ in 0..5 {
        let detail = settle(within(&next, 3000, "queue-size after the removal")).await.expect("a queue-size event");
        if num(&detail, "size") == 0.0 {
            owner.close();
            watcher.close();
            return;
        }
        next = next_event(&watcher, "queue-size");
    }
    panic!("the other client was never told that the queue is empty");
}

#[wasm_bindgen_test]
async fn thirty_sales_with_a_drain_racing_in_another_client_go_out_once_each() {
    let ns = fresh("wa-race");
    let seller = client_in(&ns, "").await;
    let drainer = client_in(&ns, "").await;
    let sales: Vec<Promise> = (0..30).map(|i| seller.post(url(&ns, "echo?delay=10").into(), json(&format!(r#"{{"sale": {i}}}"#)), None)).collect();
    let all = Promise::all(&sales.iter().collect::<Array>());
    let done = settled_flag(&all);
    let mut drains = 0;
    while !done.get() && drains < 200 {
        settle(drainer.drain_queue()).await.unwrap();
        drains += 1;
    }
    settle(all).await.expect("every sale is answered");
    settle(drainer.drain_queue()).await.unwrap();
    let keys = keys_sent(&ns).await;
    assert_eq!(keys.len(), 30, "30 requests");
    let mut unique = keys.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), 30, "30 distinct keys");
    assert_eq!(settle(seller.queue_size()).await.unwrap().as_f64(), Some(0.0), "the outbox is empty after");
    seller.close();
    drainer.close();
}

#[wasm_bindgen_test]
async fn a_page_that_dies_mid_call_leaves_its_write_to_the_next_page_with_its_key() {
    let ns = fresh("wa-death");
    let key = uuid_like(&ns);
    // The first request is held by the server until its page is gone.
    let kill = settle(post_from_page_that_will_die(&ns, &url(&ns, "hang?times=1"), &json(r#"{"sale": "orphan"}"#), &key)).await.expect("the page posts");
    until_received(&ns, 1).await;
    let kill: Function = kill.unchecked_into();
    kill.call0(&JsValue::NULL).unwrap();
    // The next page: its start-up drain replays the orphaned record.
    let next = ApiClient::new(Some(json(&format!(r#"{{"namespace": "{ns}"}}"#)))).unwrap();
    let sent = next_event(&next, "sent");
    let sent = settle(within(&sent, 10_000, "the orphaned write's sent event")).await.unwrap();
    assert_eq!(get(&sent, "idempotencyKey").as_string().as_deref(), Some(key.as_str()));
    let keys = keys_sent(&ns).await;
    assert_eq!(keys, vec![key.clone(), key], "sent by the dead page, then replayed with the same key");
    settle(next.drain_queue()).await.unwrap();
    assert_eq!(settle(next.queue_size()).await.unwrap().as_f64(), Some(0.0));
    next.close();
}

/// A UUID-shaped key unique to this test run.
fn uuid_like(seed: &str) -> String {
    let n = (js_sys::Math::random() * 1e12) as u64;
    format!("00000000-0000-4000-8000-{:012x}", n ^ (seed.len() as u64))
}

/// An online sale while the write-ahead cannot be stored: delivered, and
/// the app is told that it was not durable.
async fn an_online_sale_without_a_write_ahead_is_delivered_and_reported(ns: &str, c: &ApiClient) {
    let reported = next_event(c, "write-ahead-failed");
    // Storage trouble does not hold the sale: it is answered well before
    // IndexedDB's own 10 s open timeout.
    let sale = c.post(url(ns, "echo").into(), json(r#"{"sale": 1}"#), None);
    let body = settle(within(&sale, 5_000, "the sale")).await.expect("delivered");
    assert_eq!(get(&get(&body, "body"), "sale").as_f64(), Some(1.0));
    let detail = settle(within(&reported, 10_000, "the write-ahead-failed event")).await.unwrap();
    assert!(get(&detail, "error").as_string().is_some_and(|e| !e.is_empty()), "the reason is given");
    assert_eq!(keys_sent(ns).await.len(), 1);
}

#[wasm_bindgen_test]
async fn without_indexeddb_an_online_sale_is_delivered_and_the_lost_durability_reported() {
    let ns = fresh("wa-noidb");
    hide_indexed_db(true);
    let c = ApiClient::new(Some(json(&format!(r#"{{"namespace": "{ns}"}}"#)))).unwrap();
    an_online_sale_without_a_write_ahead_is_delivered_and_reported(&ns, &c).await;
    hide_indexed_db(false);
    c.close();
}

#[wasm_bindgen_test]
async fn quota_exceeded_at_write_ahead_still_delivers_and_reports_it() {
    let ns = fresh("wa-quota");
    let c = client_in(&ns, "").await;
    fail_adds_with_quota(true);
    an_online_sale_without_a_write_ahead_is_delivered_and_reported(&ns, &c).await;
    fail_adds_with_quota(false);
    assert_eq!(settle(c.queue_size()).await.unwrap().as_f64(), Some(0.0));
    c.close();
}

#[wasm_bindgen_test]
async fn a_blocked_upgrade_does_not_hold_an_online_sale() {
    let ns = fresh("wa-blocked");
    let stale: web_sys::IdbDatabase = settle(hold_open(&format!("pos-resilience:{ns}"), 1)).await.unwrap().unchecked_into();
    let c = ApiClient::new(Some(json(&format!(r#"{{"namespace": "{ns}"}}"#)))).unwrap();
    an_online_sale_without_a_write_ahead_is_delivered_and_reported(&ns, &c).await;
    stale.close();
    // Once the stale connection is gone, write-aheads work again.
    assert_eq!(settle(c.queue_size()).await.unwrap().as_f64(), Some(0.0));
    c.close();
}

#[wasm_bindgen_test]
async fn answered_records_are_removed_together_not_one_transaction_each() {
    let ns = fresh("wa-runs");
    let c = client_in(&ns, "").await;
    let stop_counting = count_queue_write_transactions(&format!("pos-resilience:{ns}"));
    for i in 0..20 {
        settle(c.post(url(&ns, "echo").into(), json(&format!(r#"{{"sale": {i}}}"#)), None)).await.expect("delivered");
    }
    assert_eq!(settle(c.queue_size()).await.unwrap().as_f64(), Some(0.0), "every answered record is gone");
    let transactions = stop_counting.call0(&JsValue::NULL).unwrap().as_f64().unwrap();
    // 20 write-aheads, and far fewer removals than sales.
    assert!((21.0..40.0).contains(&transactions), "{transactions} read-write transactions for 20 sales");
    c.close();
}

#[wasm_bindgen_test]
async fn the_write_ahead_is_flushed_to_disk_and_the_removal_is_not() {
    let ns = fresh("wa-durability");
    let c = client_in(&ns, "").await;
    let stop_recording = record_queue_durability(&format!("pos-resilience:{ns}"));
    settle(c.post(url(&ns, "echo").into(), json(r#"{"sale": 1}"#), None)).await.expect("delivered");
    assert_eq!(settle(c.queue_size()).await.unwrap().as_f64(), Some(0.0), "the removal has run");
    let asked: Vec<String> = Array::from(&stop_recording.call0(&JsValue::NULL).unwrap()).iter().filter_map(|d| d.as_string()).collect();
    assert_eq!(asked, ["strict", "default"], "the write-ahead's transaction, then the removal's");
    c.close();
}
