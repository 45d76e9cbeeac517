//! Draining the outbox: replay queued requests first in first out, one at a
//! time, one tab at a time, with their stored idempotency key. A record
//! whose live call is still sending it is left to that call.
//!
//! Triggers: the `online` event, client start-up, the page becoming visible,
//! a backoff timer for the head record, and `drainQueue()`.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::{Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::ownership::{claim, Claim, Owner};
use super::policy::{after_replay, delete_run_now, drain_may_start, is_due, is_expired, lease_until, DeadReason, Replay, Step, SKIPPED_RETRY_MS};
use super::record::{DeadLetter, QueuedRequest};
use super::store::{database_name, Ran, Store};
use crate::attempt::{send_once, Request, Sent};
use crate::call::navigator_online;
use crate::connectivity::{puts_server_in_doubt, Connectivity};
use crate::context::Context;
use crate::error::Error;
use crate::events::Event;
use crate::js::{self, get, set};

/// How many records a drain reads ahead in one transaction.
const READ_AHEAD: u32 = 16;


/// How long `queue-size` announcements are coalesced.
const ANNOUNCE_DELAY_MS: u32 = 100;


/// Runs a client's drains: at most one at a time per client, and the timer
/// for the next one.
pub struct Drainer {
    state: RefCell<Weak<Context>>,
    current: RefCell<Option<Promise>>,
    /// This client enqueued since the running drain started: that drain may
    /// have read its last head before the record arrived, so drain again after.
    enqueued_meanwhile: Cell<bool>,
    /// Bumped by `clearQueue()`: a running drain drops what it read ahead.
    pub generation: Cell<u32>,
    timer: RefCell<Option<Timeout>>,
    timer_at: Cell<f64>,
    /// The pending `queue-size` announcement, if one is scheduled.
    announcement: RefCell<Option<Timeout>>,
}

impl Drainer {
    /// A drainer not yet attached to its client (see [`Drainer::attach`]).
    pub fn new() -> Drainer {
        Drainer {
            state: RefCell::new(Weak::new()),
            current: RefCell::new(None),
            enqueued_meanwhile: Cell::new(false),
            generation: Cell::new(0),
            timer: RefCell::new(None),
            timer_at: Cell::new(f64::INFINITY),
            announcement: RefCell::new(None),
        }
    }

    /// Connects the drainer to its client (held weakly: no cycle).
    pub fn attach(&self, state: &Rc<Context>) {
        *self.state.borrow_mut() = Rc::downgrade(state);
    }

    /// Arranges a drain at `at_ms` (ms since the epoch), unless one is
    /// already due sooner.
    pub fn schedule(&self, at_ms: f64) {
        if self.timer.borrow().is_some() && self.timer_at.get() <= at_ms {
            return;
        }
        let weak = self.state.borrow().clone();
        // A timer cannot wait longer than MAX_TIMER_MS: one that fires
        // early finds the head not due and arms the next.
        let delay = (at_ms - js::now_ms()).clamp(0.0, crate::options::MAX_TIMER_MS) as u32;
        let timer = Context::timer(weak, delay, |state| {
            state.drainer.timer.borrow_mut().take();
            state.drainer.timer_at.set(f64::INFINITY);
            state.drainer.drain_in_background(false);
        });
        self.timer_at.set(at_ms);
        *self.timer.borrow_mut() = Some(timer);
    }

    /// Starts a drain, or returns the one running. `forced` replays the
    /// head now even when its backoff has not run out. Resolves with the
    /// `DrainReport`; rejects with a `storage` ApiError.
    pub fn drain(&self, forced: bool) -> Promise {
        if let Some(p) = self.current.borrow().as_ref() {
            return p.clone();
        }
        let Some(state) = self.state.borrow().upgrade() else {
            return Promise::resolve(&JsValue::NULL);
        };
        // A timer or the page becoming visible does not drain while the
        // server cannot be reached: the monitor drains when it can (the
        // `online` event, its rechecks of the browser, its probes).
        if !drain_may_start(forced, state.monitor.now() == Connectivity::Online) {
            state.monitor.refresh(&state);
            return Promise::resolve(&JsValue::NULL);
        }
        self.enqueued_meanwhile.set(false);
        let promise = js::promise(async move {
            let result = drain_exclusively(state.clone(), forced).await;
            state.drainer.current.borrow_mut().take();
            if state.drainer.enqueued_meanwhile.take() {
                state.drainer.drain_in_background(false);
            }
            result
        });
        *self.current.borrow_mut() = Some(promise.clone());
        promise
    }

    /// Starts a drain for a trigger (start-up, `online`, a timer, the page
    /// becoming visible …) that nobody awaits: a failure is reported by the
    /// `drain-end` event, never as an unhandled rejection.
    pub fn drain_in_background(&self, forced: bool) {
        js::ignore_rejection(&self.drain(forced));
    }

    /// Notes that this client just added a record to the queue: every tab's
    /// counter is told, and a running drain will be followed by another.
    pub fn enqueued(&self) {
        if self.current.borrow().is_some() {
            self.enqueued_meanwhile.set(true);
        }
        self.announce_soon();
    }

    /// Announces the queue size (`queue-size`, here and in every tab) within
    /// 100 ms: a burst of changes costs one count and one broadcast.
    pub fn announce_soon(&self) {
        if self.announcement.borrow().is_some() {
            return;
        }
        let weak = self.state.borrow().clone();
        let timer = Context::timer(weak, ANNOUNCE_DELAY_MS, |state| {
            state.drainer.announcement.borrow_mut().take();
            let state = state.clone();
            let _ = js::promise(async move {
                state.outbox.announce_size(&state.events).await;
                Ok(JsValue::UNDEFINED)
            });
        });
        *self.announcement.borrow_mut() = Some(timer);
    }

    /// Cancels the timers.
    pub fn stop(&self) {
        self.timer.borrow_mut().take();
        self.timer_at.set(f64::INFINITY);
        self.announcement.borrow_mut().take();
    }
}

/// Drains while holding the origin-wide lock; when another tab (or client)
/// holds it, reports what remains without sending anything.
async fn drain_exclusively(state: Rc<Context>, forced: bool) -> Result<JsValue, Error> {
    let store = match state.outbox.store().await {
        Ok(store) => store,
        Err(e) => return Err(failed_to_start(&state, "cannot open the offline queue", e)),
    };
    if js::has_web_locks() {
        let lock_name = database_name(&state.config.namespace);
        let (st, sto) = (state.clone(), store.clone());
        let callback = Closure::once_into_js(move || -> Promise { js::promise(drain_pass(st, sto, forced, None)) });
        let result = JsFuture::from(js::with_lock(&lock_name, &callback)).await.map_err(Error::Js)?;
        if !result.is_null() {
            return Ok(result);
        }
    } else {
        // Fallback: a lease in IndexedDB, renewed before every replay and
        // long enough to cover one; a crashed tab's lease simply expires.
        let owner = state.live.id.clone();
        let now = js::now_ms();
        let until = lease_until(now, state.config.defaults.resolve().timeout_ms);
        let taken = match store.take_lease(&owner, now, until).await {
            Ok(taken) => taken.wrote(),
            Err(e) => return Err(failed_to_start(&state, "cannot take the drain lease", e)),
        };
        if taken {
            let result = drain_pass(state.clone(), store.clone(), forced, Some(owner.clone())).await;
            let _ = store.release_lease(&owner).await;
            return result;
        }
    }
    // Another tab is draining. It may be finishing just as this tab's
    // records arrived: look again shortly while any remain.
    let remaining = store.count().await.map_err(|e| e.doing("cannot count the offline queue"))?.count();
    if remaining > 0 {
        state.drainer.schedule(js::now_ms() + SKIPPED_RETRY_MS);
    }
    Ok(report(0, 0, remaining, true))
}

/// A drain that could not start (the database would not open, the lease
/// could not be read): tells the app with a `drain-end` event carrying the
/// error, and returns the `storage` error `drainQueue()` rejects with.
fn failed_to_start(state: &Context, what: &str, e: Error) -> Error {
    let e = e.doing(what);
    let end = report(0, 0, 0, false);
    set(end.unchecked_ref(), "error", e.message());
    state.emit(Event::DrainEnd(&end));
    e
}

fn report(sent: u32, dead_lettered: u32, remaining: u32, skipped: bool) -> JsValue {
    let r = Object::new();
    set(&r, "sent", sent);
    set(&r, "deadLettered", dead_lettered);
    set(&r, "remaining", remaining);
    set(&r, "skipped", skipped);
    r.into()
}

/// One pass over the queue, head first, until it is empty or the head must wait.
async fn drain_pass(state: Rc<Context>, store: Rc<Store>, forced: bool, lease: Option<String>) -> Result<JsValue, Error> {
    state.emit(Event::DrainStart { forced });
    // What this client's calls already answered is not in the queue.
    state.live.settled(&state).await;
    let timeout = state.config.defaults.resolve().timeout_ms;
    let (mut sent, mut dead) = (0u32, 0u32);
    let mut failure: Option<Error> = None;
    let mut deletes = Deletes::default();
    // Records are read ahead in small batches (one transaction per batch,
    // not per record) and still sent one at a time, in order.
    // Kept last first: the next record is popped from the end.
    let mut ahead: Vec<JsValue> = Vec::new();
    let mut last_id: Option<f64> = None;
    let mut generation = state.drainer.generation.get();
    // The foreign owners of the records read ahead that are alive.
    let mut alive: Vec<String> = Vec::new();
    // The pending run's delete starts before the next record is looked at.
    let mut start_deletes = false;
    loop {
        if std::mem::take(&mut start_deletes) {
            if let Err(e) = deletes.start(&store).await {
                failure = Some(e);
                break;
            }
        }
        if generation != state.drainer.generation.get() {
            // clearQueue() ran here: what was read ahead may be gone.
            ahead.clear();
            generation = state.drainer.generation.get();
        }
        if ahead.is_empty() {
            let batch = match store.batch_after(last_id, READ_AHEAD).await {
                Ok(batch) => batch.records(),
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            };
            // Asked after the read: an owner registers its proof of life
            // before it writes, so one not alive now has ended.
            alive = foreign_owners(&batch, &state.live.id);
            if let Err(e) = state.live.retain_alive(&store, &mut alive).await {
                failure = Some(e);
                break;
            }
            ahead = batch;
            ahead.reverse();
        }
        let Some(mut raw) = ahead.pop() else { break };
        let queue_id = get(&raw, "id");
        last_id = queue_id.as_f64().or(last_id);
        if let Some(owner) = get(&raw, "owner").as_string() {
            let id = queue_id.as_f64().unwrap_or(f64::NAN);
            let owner_now = Owner::of(Some(&owner), &state.live.id, || state.live.is_live(id), |o| alive.iter().any(|a| a == o));
            if let Claim::Skip { watch } = claim(owner_now) {
                // A run of deletes never spans a record left in the queue.
                start_deletes = true;
                if watch {
                    state.live.watch(&state, &owner);
                }
                continue;
            }
            // Its call may have ended since the read: read it again.
            match store.get(id).await.map(Ran::first) {
                Ok(Some(current)) => raw = current,
                Ok(None) => continue,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        let mut record = match QueuedRequest::from_js(&raw) {
            Ok(r) => r,
            Err(field) => {
                let detail = ["stored record has a missing or malformed field: ", field].concat();
                if let Err(e) = bury(&state, &store, &raw, &queue_id, DeadReason::Undecodable, &detail, None).await {
                    failure = Some(e);
                    break;
                }
                dead += 1;
                continue;
            }
        };
        let now = js::now_ms();
        if is_expired(record.created_at, now, state.config.max_retention_ms) {
            let detail = "waited longer than maxRetention without a response";
            if let Err(e) = bury(&state, &store, &raw, &queue_id, DeadReason::Expired, detail, None).await {
                failure = Some(e);
                break;
            }
            dead += 1;
            continue;
        }
        // Taken over from a call that ended without releasing it.
        record.owner = None;
        if !is_due(record.next_attempt_at, now, forced) {
            state.drainer.schedule(record.next_attempt_at);
            break;
        }
        if let Some(owner) = &lease {
            match store.take_lease(owner, now, lease_until(now, timeout)).await.map(Ran::wrote) {
                Ok(true) => {}
                Ok(false) => break,
                Err(e) => {
                    failure = Some(e);
                    break;
                }
            }
        }
        match replay(&state, &store, &mut record, &queue_id, timeout).await {
            Ok(Step::Delete) => {
                sent += 1;
                start_deletes = deletes.add(record.id.unwrap_or(f64::NAN), now);
                // Every tab's counter follows the drain, a few times a second.
                state.drainer.announce_soon();
            }
            Ok(Step::DeadLetter(_)) => dead += 1,
            Ok(_) => break,
            Err(e) => {
                failure = Some(e);
                break;
            }
        }
    }
    if let Err(e) = deletes.finish(&store).await {
        failure.get_or_insert(e);
    }
    let remaining = store.count().await.map_or(0, Ran::count);
    let result = report(sent, dead, remaining, false);
    if let Some(e) = &failure {
        set(result.unchecked_ref(), "error", e.message());
    }
    state.emit(Event::DrainEnd(&result));
    state.drainer.announce_soon();
    match failure {
        Some(e) => Err(e.doing("the offline queue failed while draining")),
        None => Ok(result),
    }
}

/// The deletes of delivered records. They run while the next records are
/// sent, in runs of consecutive queue ids (one transaction per run, bounded
/// by [`delete_run_now`]), with at most one delete transaction in flight. A
/// response arrived for every record in a run, so the worst a crash before
/// its delete commits can do is resend those records with their keys, which
/// the server replays.
#[derive(Default)]
struct Deletes {
    /// The delivered records whose delete has not started yet.
    run: Option<Run>,
    in_flight: Option<Promise>,
}

/// Delivered records with consecutive queue ids (as far as the queue is
/// concerned: the records between them went to the dead-letter store).
#[derive(Clone, Copy)]
struct Run {
    first_id: f64,
    last_id: f64,
    count: u32,
    /// When the first of them began its replay.
    first_sent_at_ms: f64,
}

impl Deletes {
    /// Adds delivered record `id`, whose replay began at `sent_at_ms`, to the
    /// run; true when the policy says to start the run's delete now.
    fn add(&mut self, id: f64, sent_at_ms: f64) -> bool {
        let run = self.run.get_or_insert(Run { first_id: id, last_id: id, count: 0, first_sent_at_ms: sent_at_ms });
        run.last_id = id;
        run.count += 1;
        delete_run_now(run.count, run.first_sent_at_ms, js::now_ms())
    }

    /// Starts the pending run's delete once the previous one has finished.
    async fn start(&mut self, store: &Rc<Store>) -> Result<(), Error> {
        let Some(run) = self.run.take() else { return Ok(()) };
        settle(self.in_flight.take()).await?;
        self.in_flight = Some(js::promise(store.clone().remove_run(run.first_id, run.last_id)));
        Ok(())
    }

    /// Deletes whatever is pending and waits until every delete is done.
    async fn finish(&mut self, store: &Rc<Store>) -> Result<(), Error> {
        let started = self.start(store).await;
        started.and(settle(self.in_flight.take()).await)
    }
}

/// Waits for a delete under way, if any.
async fn settle(in_flight: Option<Promise>) -> Result<(), Error> {
    match in_flight {
        Some(p) => JsFuture::from(p).await.map(|_| ()).map_err(|e| Error::Storage(js::message_of(&e))),
        None => Ok(()),
    }
}

/// Replays the head record (twice when the first answer is a 401 and fresh
/// credentials may help) and applies the step the policy decides, except
/// the deletion of a delivered record, which the caller overlaps with the
/// next send. Returns the final step; `Wait` means the drain stops here.
async fn replay(state: &Rc<Context>, store: &Store, record: &mut QueuedRequest, queue_id: &JsValue, timeout: f64) -> Result<Step, Error> {
    let mut refreshed = false;
    loop {
        record.attempts += 1;
        let req = Request {
            method: &record.method,
            url: &record.url,
            body: record.body.as_deref(),
            key: Some(&record.idempotency_key),
            stored_headers: &record.headers,
            call_headers: &[],
        };
        let sent = match send_once(&state.config.headers, &req, timeout, None).await {
            Ok(s) => s,
            Err(e) => Sent {
                outcome: crate::retry::AttemptOutcome::Network,
                response: None,
                reason: e.message(),
                aborted: false,
            },
        };
        if puts_server_in_doubt(&sent.outcome, navigator_online()) {
            state.monitor.doubt(state);
        }
        let step = after_replay(Replay::from_outcome(&sent.outcome), record.attempts, refreshed, js::now_ms(), js::random());
        match step {
            Step::Delete => {
                let resp = sent.response.as_ref().expect("delivered means a response");
                state.emit(Event::Sent {
                    queue_id,
                    idempotency_key: &record.idempotency_key,
                    method: &record.method,
                    url: &record.url,
                    status: resp.status,
                    body: &resp.body,
                    replayed: resp.replayed(),
                });
                return Ok(step);
            }
            Step::DeadLetter(reason) => {
                record.last_error = Some(sent.reason.clone());
                bury(state, store, &record.to_js(), queue_id, reason, &sent.reason, sent.response.as_ref()).await?;
                return Ok(step);
            }
            Step::RefreshAuth => refreshed = true,
            Step::Wait { at_ms, auth } => {
                record.next_attempt_at = at_ms;
                record.last_error = Some(sent.reason.clone());
                store.update(record.to_js()).await?;
                if auth {
                    state.emit(Event::AuthRequired { queue_id, idempotency_key: &record.idempotency_key, url: &record.url });
                }
                state.drainer.schedule(at_ms);
                state.request_background_sync();
                return Ok(step);
            }
        }
    }
}

/// Moves a record to the dead-letter store with its reason and the
/// response that condemned it, and tells the listeners.
async fn bury(state: &Context, store: &Store, request: &JsValue, queue_id: &JsValue, reason: DeadReason, detail: &str, response: Option<&crate::transport::HttpResponse>) -> Result<(), Error> {
    let letter = DeadLetter {
        reason,
        detail,
        queue_id,
        idempotency_key: get(request, "idempotencyKey").as_string(),
        response: response.map(|r| (r.status, &r.body)),
        request,
    };
    let stored = letter.to_js(js::now_ms());
    let id = store.bury(queue_id.clone(), stored.clone().into()).await?.id();
    set(&stored, "id", id);
    state.emit(Event::DeadLetter(&stored));
    state.drainer.announce_soon();
    Ok(())
}

/// The owners of the records in `batch` other than `me`, each once.
fn foreign_owners(batch: &[JsValue], me: &str) -> Vec<String> {
    let mut owners: Vec<String> = Vec::new();
    for owner in batch.iter().filter_map(|r| get(r, "owner").as_string()) {
        if owner != me && !owners.contains(&owner) {
            owners.push(owner);
        }
    }
    owners
}
