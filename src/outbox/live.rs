//! This client's live writes: the records it committed to the outbox ahead
//! of their first attempt and is still sending, and the proof, for drains in
//! other tabs, that their owner is alive (the rules are in `ownership`).
//!
//! The proof is a Web Lock named after the client, held from its creation
//! until it is closed and its last live write has ended; the browser
//! releases it when the page dies. Without Web Locks, a heartbeat in the
//! `meta` store, renewed while the client has live writes, stands in for it.

use std::cell::{Cell, RefCell};
use std::rc::{Rc, Weak};

use gloo_timers::callback::Timeout;
use js_sys::{Array, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use super::ownership::{heartbeat_alive, heartbeat_due, HEARTBEAT_INTERVAL_MS, HEARTBEAT_TTL_MS};
use super::policy::{delete_run_now, DELETE_RUN_MAX_MS};
use super::record::QueuedRequest;
use super::store::Store;
use crate::context::Context;
use crate::error::Error;
use crate::js;

/// How long a write-ahead waits for the database to open before the call
/// goes to the network without it (a blocked upgrade must not hold a sale).
const OPEN_WAIT_MS: f64 = 2_000.0;

/// The Web Lock whose holder proves client `id` alive.
fn owner_lock(id: &str) -> String {
    ["pos-resilience-owner:", id].concat()
}

/// The records one client wrote ahead and is sending.
pub struct LiveWrites {
    /// The owner id stored in this client's records (also its identity for
    /// the drain lease).
    pub id: String,
    /// Queue ids of the records whose call is running, or whose removal
    /// after a final answer has not committed yet.
    ids: RefCell<Vec<f64>>,
    /// Write-aheads under way: their ids are not known yet.
    writing: Cell<u32>,
    /// Resolves with the function that releases the owner lock, once held.
    lock: RefCell<Option<Promise>>,
    /// When the heartbeat was last written (browsers without Web Locks).
    heartbeat_at: Cell<Option<f64>>,
    heartbeat_timer: RefCell<Option<Timeout>>,
    /// Records whose call has its final answer, to be removed together:
    /// (ids, when the first of them was answered).
    answered: RefCell<(Vec<f64>, f64)>,
    /// Removes the answered records once the first has waited long enough.
    answered_timer: RefCell<Option<Timeout>>,
    /// The last removal started; each one waits for the one before it.
    removals: RefCell<Option<Promise>>,
    removals_pending: Cell<u32>,
    /// Foreign owners whose end will start a drain.
    watched: RefCell<Vec<String>>,
    /// `close()` was called: give up the proof once no write is live.
    closing: Cell<bool>,
}

impl LiveWrites {
    /// A client's live writes; starts taking its owner lock at once, so the
    /// first write-ahead finds it held.
    pub fn new() -> LiveWrites {
        let id = js::new_uuid();
        let lock = js::has_web_locks().then(|| js::hold_lock(&owner_lock(&id)));
        LiveWrites {
            id,
            ids: RefCell::new(Vec::new()),
            writing: Cell::new(0),
            lock: RefCell::new(lock),
            heartbeat_at: Cell::new(None),
            heartbeat_timer: RefCell::new(None),
            answered: RefCell::new((Vec::new(), 0.0)),
            answered_timer: RefCell::new(None),
            removals: RefCell::new(None),
            removals_pending: Cell::new(0),
            watched: RefCell::new(Vec::new()),
            closing: Cell::new(false),
        }
    }

    /// Commits `record` (owned by this client) to the outbox and returns its
    /// queue id; from then on no drain sends it until the call ends.
    pub async fn write_ahead(&self, ctx: &Rc<Context>, record: &QueuedRequest) -> Result<f64, Error> {
        self.writing.set(self.writing.get() + 1);
        let result = self.commit_owned(ctx, record).await;
        self.writing.set(self.writing.get() - 1);
        let id = result?;
        self.ids.borrow_mut().push(id);
        Ok(id)
    }

    async fn commit_owned(&self, ctx: &Rc<Context>, record: &QueuedRequest) -> Result<f64, Error> {
        let lock = self.lock.borrow().clone();
        if let Some(held) = lock {
            JsFuture::from(held).await.map_err(|e| Error::Storage(["cannot take the owner lock: ", &js::message_of(&e)].concat()))?;
        }
        let store = ctx.outbox.store_within(OPEN_WAIT_MS).await?;
        let now = js::now_ms();
        let heartbeat = (self.lock.borrow().is_none() && heartbeat_due(self.heartbeat_at.get(), now)).then_some(now + HEARTBEAT_TTL_MS);
        let id = store.add_owned(&record.to_js(), heartbeat.map(|until| (self.id.as_str(), until))).await?;
        if heartbeat.is_some() {
            self.heartbeat_at.set(Some(now));
            self.keep_heartbeat(ctx);
        }
        Ok(id)
    }

    /// Renews the heartbeat every few seconds while writes are live.
    fn keep_heartbeat(&self, ctx: &Rc<Context>) {
        if self.heartbeat_timer.borrow().is_some() {
            return;
        }
        // Each renewal arms the next one.
        let timer = Context::timer(Rc::downgrade(ctx), HEARTBEAT_INTERVAL_MS as u32, |ctx| {
            ctx.live.heartbeat_timer.borrow_mut().take();
            ctx.live.keep_heartbeat(ctx);
            let ctx = ctx.clone();
            let _ = js::promise(async move {
                if let Ok(store) = ctx.outbox.store().await {
                    let now = js::now_ms();
                    if store.put_heartbeat(&ctx.live.id, now + HEARTBEAT_TTL_MS).await.is_ok() {
                        ctx.live.heartbeat_at.set(Some(now));
                    }
                }
                Ok(JsValue::UNDEFINED)
            });
        });
        *self.heartbeat_timer.borrow_mut() = Some(timer);
    }

    /// Whether a record stored with this client as owner is still being
    /// sent by its call. While a write-ahead is under way its id is not
    /// known yet, so every record of ours counts as live.
    pub fn is_live(&self, id: f64) -> bool {
        self.writing.get() > 0 || self.ids.borrow().contains(&id)
    }

    /// The call of record `id` ended with a final answer: its record is
    /// removed in the background (the caller already has its result), with
    /// those of the calls answered around it, in one transaction: as the
    /// drain deletes its delivered records (`delete_run_now`: at most 16, or
    /// a quarter second after the first). Until the removal commits, the
    /// record stays live, so no drain resends it; a page that dies before
    /// leaves it to the next page, which resends it with its key, and the
    /// server answers with a replay.
    pub fn finish(&self, ctx: &Rc<Context>, id: f64) {
        let now = js::now_ms();
        let count = {
            let mut answered = self.answered.borrow_mut();
            if answered.0.is_empty() {
                answered.1 = now;
            }
            answered.0.push(id);
            answered.0.len() as u32
        };
        if delete_run_now(count, self.answered.borrow().1, now) {
            self.remove_answered(ctx);
        } else if self.answered_timer.borrow().is_none() {
            let timer = Context::timer(Rc::downgrade(ctx), DELETE_RUN_MAX_MS as u32, |ctx| {
                ctx.live.answered_timer.borrow_mut().take();
                ctx.live.remove_answered(ctx);
            });
            *self.answered_timer.borrow_mut() = Some(timer);
        }
    }

    /// Starts removing the answered records, after the removal before it.
    fn remove_answered(&self, ctx: &Rc<Context>) {
        self.answered_timer.borrow_mut().take();
        let ids = std::mem::take(&mut self.answered.borrow_mut().0);
        if ids.is_empty() {
            return;
        }
        let before = self.removals.borrow_mut().take();
        self.removals_pending.set(self.removals_pending.get() + 1);
        let ctx2 = ctx.clone();
        let removal = js::promise(async move {
            if let Some(p) = before {
                let _ = JsFuture::from(p).await;
            }
            // A failed removal leaves the records, ours and no longer live:
            // our next drain sends them again with their keys, and the
            // server answers with replays. Nothing is lost.
            if let Ok(store) = ctx2.outbox.store().await {
                if store.remove_all(&ids).await.is_ok() {
                    // Another tab's counter may have counted these records
                    // while they were on the wire: tell every tab.
                    ctx2.drainer.announce_soon();
                }
            }
            ctx2.live.removals_pending.set(ctx2.live.removals_pending.get() - 1);
            for id in ids {
                ctx2.live.forget(id);
            }
            Ok(JsValue::UNDEFINED)
        });
        *self.removals.borrow_mut() = Some(removal);
    }

    /// Removes the answered records now and waits until every removal has
    /// committed (or failed), so that what this client reads of the outbox
    /// matches the answers its calls already returned.
    pub async fn settled(&self, ctx: &Rc<Context>) {
        self.remove_answered(ctx);
        while self.removals_pending.get() > 0 {
            let last = self.removals.borrow().clone();
            match last {
                Some(p) => {
                    let _ = JsFuture::from(p).await;
                }
                None => break,
            }
        }
    }

    /// The call of `record` gave up: stores it without an owner, with its
    /// attempts and schedule, for the drains, if it is still in the outbox
    /// (a drain that took it over after a missed heartbeat, or
    /// `clearQueue()`, may have removed it). Should that write fail, the
    /// record is still there as this client wrote it ahead, and no longer
    /// live, so this client's drains send it.
    pub async fn release(&self, ctx: &Context, record: &QueuedRequest) {
        let id = record.id.unwrap_or(f64::NAN);
        if let Ok(store) = ctx.outbox.store().await {
            let _ = store.update_if_present(record.to_js(), id).await;
        }
        self.forget(id);
    }

    /// Record `id` is no longer live here.
    fn forget(&self, id: f64) {
        let mut ids = self.ids.borrow_mut();
        if let Some(i) = ids.iter().position(|x| *x == id) {
            ids.swap_remove(i);
        }
        drop(ids);
        if self.ids.borrow().is_empty() {
            self.heartbeat_timer.borrow_mut().take();
            if self.closing.get() {
                self.give_up_proof();
            }
        }
    }

    /// Keeps those of the foreign `owners` that are alive, by their Web
    /// Locks or, without Web Locks, their heartbeats in `store`.
    pub async fn retain_alive(&self, store: &Store, owners: &mut Vec<String>) -> Result<(), Error> {
        if owners.is_empty() {
            return Ok(());
        }
        // The names of the Web Locks held, with Web Locks.
        let held = if js::has_web_locks() {
            // Should the query fail, every owner counts as alive: a record
            // left for later is safe, one sent twice at once is not.
            let Ok(names) = JsFuture::from(js::held_lock_names()).await else { return Ok(()) };
            Some(Array::from(&names))
        } else {
            None
        };
        let now = js::now_ms();
        let mut i = 0;
        while i < owners.len() {
            let alive = match &held {
                Some(held) => held.includes(&owner_lock(&owners[i]).into(), 0),
                None => heartbeat_alive(store.heartbeat(&owners[i]).await?.first().and_then(|v| js::get(&v, "until").as_f64()), now),
            };
            if alive {
                i += 1;
            } else {
                owners.swap_remove(i);
            }
        }
        Ok(())
    }

    /// Starts a drain when foreign owner `owner` ends (its page dies or its
    /// client closes): at once with Web Locks, by waiting for its lock;
    /// otherwise when its heartbeat could have expired.
    pub fn watch(&self, ctx: &Rc<Context>, owner: &str) {
        if !js::has_web_locks() {
            ctx.drainer.schedule(js::now_ms() + HEARTBEAT_TTL_MS);
            return;
        }
        if self.watched.borrow().iter().any(|o| o == owner) {
            return;
        }
        self.watched.borrow_mut().push(owner.to_string());
        let ended = js::when_lock_free(&owner_lock(owner));
        let weak: Weak<Context> = Rc::downgrade(ctx);
        let owner = owner.to_string();
        let _ = js::promise(async move {
            let _ = JsFuture::from(ended).await;
            if let Some(ctx) = weak.upgrade() {
                let mut watched = ctx.live.watched.borrow_mut();
                if let Some(i) = watched.iter().position(|o| *o == owner) {
                    watched.swap_remove(i);
                }
                drop(watched);
                ctx.drainer.drain_in_background(false);
            }
            Ok(JsValue::UNDEFINED)
        });
    }

    /// The client is closing: the answered records are removed now, and its
    /// proof of life goes once no write is live.
    pub fn close(&self, ctx: &Rc<Context>) {
        self.remove_answered(ctx);
        self.closing.set(true);
        if self.ids.borrow().is_empty() && self.writing.get() == 0 {
            self.give_up_proof();
        }
    }

    fn give_up_proof(&self) {
        if let Some(lock) = self.lock.borrow_mut().take() {
            js::release_lock(&lock);
        }
        self.heartbeat_timer.borrow_mut().take();
    }
}
