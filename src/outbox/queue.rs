//! The outbox of one client: its database handle, enqueueing, the
//! management calls (size, list, dead letters, retry, discard, clear: each
//! sees the queue as this client's answered calls left it), and the
//! `queue-size` count shared by every tab.

use std::cell::RefCell;
use std::future::Future;
use std::pin::pin;
use std::rc::Rc;
use std::task::Poll;

use js_sys::Object;
use wasm_bindgen::prelude::*;

use super::record::{DeadLetter, QueuedRequest};
use super::store::{database_name, Ran, Store};
use crate::context::Context;
use crate::error::Error;
use crate::events::{Event, Events};
use crate::js::{self, set};
use crate::options::format_number;

/// How long opening the database may take before it counts as blocked.
const OPEN_TIMEOUT_MS: f64 = 10_000.0;

/// One client's view of its namespace's queue.
pub struct Outbox {
    namespace: String,
    /// The open database, and the open under way: concurrent callers share
    /// one open, and one that stops waiting does not cancel it.
    opened: Rc<Opened>,
    /// Tells the other tabs (and other clients of this page) the queue size.
    channel: Option<web_sys::BroadcastChannel>,
    /// The channel's listener (detached by `close`).
    _on_message: Option<Closure<dyn FnMut(web_sys::MessageEvent)>>,
}

impl Outbox {
    /// The outbox of `namespace`; `events` receives the `queue-size` events
    /// other tabs broadcast.
    pub fn new(namespace: &str, events: Events) -> Outbox {
        let channel = web_sys::BroadcastChannel::new(&database_name(namespace)).ok();
        let on_message = channel.as_ref().map(|ch| {
            let listener = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
                events.emit(Event::QueueSize(&e.data()));
            });
            ch.set_onmessage(Some(listener.as_ref().unchecked_ref()));
            listener
        });
        Outbox { namespace: namespace.to_string(), opened: Rc::default(), channel, _on_message: on_message }
    }

    /// The open database, opening it on first use. A failed open is not
    /// cached: the next call tries again.
    pub async fn store(&self) -> Result<Rc<Store>, Error> {
        if let Some(s) = self.opened.store.borrow().as_ref() {
            return Ok(s.clone());
        }
        let under_way = self.opened.opening.borrow().clone();
        let opening = match under_way {
            Some(p) => p,
            None => self.start_opening(),
        };
        let ended = wasm_bindgen_futures::JsFuture::from(opening).await;
        match (self.opened.store.borrow().as_ref(), ended) {
            (Some(s), _) => Ok(s.clone()),
            (None, Err(e)) => Err(Error::Storage(js::message_of(&e))),
            (None, Ok(_)) => Err(Error::Storage("the database closed while opening".into())),
        }
    }

    /// The open database, waiting at most `ms` for an open under way (it
    /// goes on for later callers): for a write-ahead, which must not hold a
    /// sale behind a blocked upgrade.
    pub async fn store_within(&self, ms: f64) -> Result<Rc<Store>, Error> {
        race_timeout(self.store(), ms).await.unwrap_or_else(|| {
            Err(Error::Storage(["IndexedDB did not open within ", &format_number(ms), " ms (another tab may hold an older version open, or storage is unresponsive)"].concat()))
        })
    }

    /// Starts opening the database; the promise resolves once it is open
    /// (and cached) or rejects with the reason it is not.
    fn start_opening(&self) -> js_sys::Promise {
        let opened = self.opened.clone();
        let namespace = self.namespace.clone();
        let promise = js::promise(async move {
            let result = race_timeout(Store::open(&namespace), OPEN_TIMEOUT_MS).await.unwrap_or_else(|| {
                Err(Error::Storage("opening IndexedDB took over 10 s: another tab may hold an older version open (blocked), or storage is unresponsive".into()))
            });
            opened.opening.borrow_mut().take();
            *opened.store.borrow_mut() = Some(Rc::new(result?));
            Ok(JsValue::UNDEFINED)
        });
        // Nobody may be waiting any more when it fails: that is not an
        // unhandled rejection, the next caller opens again.
        js::ignore_rejection(&promise);
        *self.opened.opening.borrow_mut() = Some(promise.clone());
        promise
    }

    /// The open database, or the `storage` error the management calls
    /// reject with.
    pub async fn open(&self) -> Result<Rc<Store>, Error> {
        self.store().await.map_err(|e| e.doing("cannot open the offline queue"))
    }

    /// Writes `record` at the tail of the queue and returns its id. The
    /// write is committed when this returns.
    pub async fn enqueue(&self, record: &QueuedRequest) -> Result<f64, Error> {
        let store = self.store().await?;
        store.add(record.to_js()).await.map(Ran::id)
    }

    /// How many requests wait in the queue.
    pub async fn size(&self, ctx: &Rc<Context>) -> Result<u32, Error> {
        let store = ctx.settled_store().await?;
        store.count().await.map(Ran::count).map_err(|e| e.doing("cannot count the offline queue"))
    }

    /// The queued requests, oldest (next to be sent) first.
    pub async fn list(&self, ctx: &Rc<Context>) -> Result<Vec<JsValue>, Error> {
        let store = ctx.settled_store().await?;
        store.queued().await.map(Ran::records).map_err(|e| e.doing("cannot read the offline queue"))
    }

    /// The dead letters, oldest first.
    pub async fn dead_letters(&self, ctx: &Rc<Context>) -> Result<Vec<JsValue>, Error> {
        let store = ctx.settled_store().await?;
        store.dead_letters().await.map(Ran::records).map_err(|e| e.doing("cannot read the dead letters"))
    }

    /// Moves dead letter `id` back to the tail of the queue with its
    /// original key and a fresh retention period, and starts a drain.
    /// Returns its new queue id.
    pub async fn retry_dead_letter(&self, ctx: &Rc<Context>, id: f64) -> Result<f64, Error> {
        let store = ctx.settled_store().await?;
        let letter = store.dead_letter(id).await.map_err(|e| e.doing("cannot read the dead letter"))?.first();
        let letter = letter.ok_or_else(|| Error::InvalidInput(["no dead letter with id ", &format_number(id)].concat()))?;
        let mut record = DeadLetter::replayable(&letter)
            .map_err(|field| Error::InvalidInput(["dead letter ", &format_number(id), " cannot be replayed: its request has a malformed ", field].concat()))?;
        let now = js::now_ms();
        record.id = None;
        record.owner = None;
        record.created_at = now;
        record.next_attempt_at = now;
        let new_id = store.resurrect(id, record.to_js()).await.map_err(|e| e.doing("cannot move the dead letter back"))?.id();
        ctx.drainer.enqueued();
        ctx.drainer.drain_in_background(true);
        Ok(new_id)
    }

    /// Deletes dead letter `id` for good.
    pub async fn discard_dead_letter(&self, ctx: &Rc<Context>, id: f64) -> Result<(), Error> {
        let store = ctx.settled_store().await?;
        store.discard(id).await.map_err(|e| e.doing("cannot delete the dead letter"))?;
        Ok(())
    }

    /// Deletes every queued request (not the dead letters); returns how many.
    /// A drain under way drops what it read ahead.
    pub async fn clear(&self, ctx: &Rc<Context>) -> Result<u32, Error> {
        let store = ctx.settled_store().await?;
        ctx.drainer.generation.set(ctx.drainer.generation.get().wrapping_add(1));
        let n = store.clear_queue().await.map_err(|e| e.doing("cannot clear the offline queue"))?.count();
        ctx.drainer.announce_soon();
        Ok(n)
    }

    /// Counts the queue, then emits `queue-size` here and in every other tab.
    /// Callers go through `Drainer::announce_soon`, which coalesces bursts.
    pub async fn announce_size(&self, events: &Events) {
        let Ok(store) = self.store().await else { return };
        if let Ok(ran) = store.count().await {
            self.announce(ran.count(), events);
        }
    }

    /// Emits `queue-size` with `size` here and broadcasts it to every other tab.
    fn announce(&self, size: u32, events: &Events) {
        let detail = Object::new();
        set(&detail, "size", size);
        events.emit(Event::QueueSize(&detail));
        if let Some(ch) = &self.channel {
            let _ = ch.post_message(&detail);
        }
    }

    /// Stops listening to other tabs.
    pub fn close(&self) {
        if let Some(ch) = &self.channel {
            ch.set_onmessage(None);
            ch.close();
        }
    }
}

/// The database of an outbox once open, and the open under way.
#[derive(Default)]
struct Opened {
    store: RefCell<Option<Rc<Store>>>,
    opening: RefCell<Option<js_sys::Promise>>,
}

/// Runs `fut`, giving up after `ms`: `None` when the time ran out first.
async fn race_timeout<F: Future>(fut: F, ms: f64) -> Option<F::Output> {
    let mut fut = pin!(fut);
    let mut timer = pin!(js::sleep(ms, None));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if timer.as_mut().poll(cx).is_ready() {
            return Poll::Ready(None);
        }
        Poll::Pending
    })
    .await
}
