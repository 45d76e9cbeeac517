//! `ApiClient`: the JavaScript face of the SDK. A call is prepared
//! (`operation`), joins an identical call already in flight, or runs
//! (`call`); the outbox management calls delegate to the outbox.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use js_sys::Promise;
use wasm_bindgen::prelude::*;

use crate::call::{navigator_online, run};
use crate::config::ClientConfig;
use crate::context::Context;
use crate::error::Error;
use crate::events::{Event, Target};
use crate::js::{self, get};
use crate::operation::prepare;

/// A call that is in flight, shared by every identical call made meanwhile.
struct InFlight {
    /// Resolves with the `ApiResponse` object.
    response: Promise,
    /// The same, mapped to the response body (for `post`), made on demand.
    body: RefCell<Option<Promise>>,
}

/// The calls in flight, once per dedup key of each. A list: a till has a
/// few calls in flight at a time, and a hash map's code is larger than a
/// scan of them.
type InFlightCalls = Rc<RefCell<Vec<(String, Rc<InFlight>)>>>;

/// A listener on the global object or the document: where, which event,
/// and the closure (kept alive until `close` removes it).
type GlobalListener = (Target, &'static str, Closure<dyn FnMut()>);

/// A resilient HTTP client: idempotency keys, retries with backoff, per-attempt
/// timeouts, in-flight deduplication, a write-ahead outbox and events.
#[wasm_bindgen]
pub struct ApiClient {
    ctx: Rc<Context>,
    in_flight: InFlightCalls,
    /// The global listeners (`online`, `offline`, `visibilitychange`), removed by `close`.
    global_listeners: RefCell<Vec<GlobalListener>>,
}

impl ApiClient {
    /// Starts (or joins) an operation (`method` `None`: a `post`); `Err` is
    /// an `invalid-input` ApiError.
    fn start(&self, method: Option<&JsValue>, url: &JsValue, body: &JsValue, options: &JsValue) -> Result<Rc<InFlight>, Error> {
        let (op, keys) = prepare(&self.ctx.config, method, url, body, options)?;
        // A call with its own signal neither joins nor is joined: its abort
        // must not cancel somebody else's operation.
        let shareable = op.signal.is_none();
        if shareable {
            let calls = self.in_flight.borrow();
            if let Some((_, existing)) = calls.iter().find(|(k, _)| keys.contains(k)) {
                return Ok(existing.clone());
            }
        }
        // The call's future knows its entry (weakly) and takes it off the
        // list when it ends, under every key it was registered with.
        let entry = Rc::new_cyclic(|me: &Weak<InFlight>| {
            let (ctx, in_flight, me) = (self.ctx.clone(), self.in_flight.clone(), me.clone());
            let response = js::promise(async move {
                let result = run(&ctx, &op).await;
                if shareable {
                    let mut calls = in_flight.borrow_mut();
                    let mut i = 0;
                    while i < calls.len() {
                        if Rc::as_ptr(&calls[i].1) == me.as_ptr() {
                            calls.remove(i);
                        } else {
                            i += 1;
                        }
                    }
                }
                result
            });
            InFlight { response, body: RefCell::new(None) }
        });
        if shareable {
            let mut calls = self.in_flight.borrow_mut();
            for key in keys {
                calls.push((key, entry.clone()));
            }
        }
        Ok(entry)
    }
}

#[wasm_bindgen]
impl ApiClient {
    /// Creates a client. Throws an `invalid-input` ApiError naming the bad
    /// field when `config` is malformed. Starts draining requests an
    /// earlier page left in this namespace's queue.
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_optional_param_type = "ClientConfig")] config: Option<JsValue>) -> Result<ApiClient, JsValue> {
        let config = ClientConfig::from_js(&config.unwrap_or(JsValue::UNDEFINED)).map_err(Error::InvalidInput)?;
        let ctx = Context::new(config);
        let client = ApiClient { ctx, in_flight: Rc::default(), global_listeners: RefCell::new(Vec::new()) };
        client.watch_globals();
        client.ctx.drainer.drain_in_background(true);
        Ok(client)
    }

    /// POSTs `body` as JSON and resolves with the parsed response body
    /// (text when not JSON, `null` on 204). Rejects with an `ApiError`.
    #[wasm_bindgen(unchecked_return_type = "Promise<unknown>")]
    pub fn post(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | URL")] url: JsValue,
        #[wasm_bindgen(unchecked_param_type = "unknown")] body: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "PostOptions")] options: Option<JsValue>,
    ) -> Promise {
        match self.start(None, &url, &body, &options.unwrap_or(JsValue::UNDEFINED)) {
            Ok(entry) => {
                let mut cached = entry.body.borrow_mut();
                cached.get_or_insert_with(|| js::body_of(&entry.response)).clone()
            }
            Err(e) => Promise::reject(&e.into()),
        }
    }

    /// Sends any method and resolves with the full `ApiResponse`
    /// (`status`, `headers`, `body`, `replayed`, `idempotencyKey`, `attempts`).
    #[wasm_bindgen(unchecked_return_type = "Promise<ApiResponse>")]
    pub fn request(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string")] method: JsValue,
        #[wasm_bindgen(unchecked_param_type = "string | URL")] url: JsValue,
        #[wasm_bindgen(unchecked_optional_param_type = "unknown")] body: Option<JsValue>,
        #[wasm_bindgen(unchecked_optional_param_type = "PostOptions")] options: Option<JsValue>,
    ) -> Promise {
        let (body, options) = (body.unwrap_or(JsValue::UNDEFINED), options.unwrap_or(JsValue::UNDEFINED));
        match self.start(Some(&method), &url, &body, &options) {
            Ok(entry) => entry.response.clone(),
            Err(e) => Promise::reject(&e.into()),
        }
    }

    /// Whether the browser reports a network connection (`navigator.onLine`;
    /// only a hint: a failed send is retried or queued either way).
    #[wasm_bindgen(getter)]
    pub fn online(&self) -> bool {
        navigator_online()
    }

    /// What the client knows of its connection to the server: `{state, rtt}`,
    /// `state` one of `"online"`, `"offline"` (the browser reports no
    /// network) and `"unreachable"` (the browser reports one, but the
    /// server did not answer the last health probe; only with `healthUrl`),
    /// `rtt` the last answered probe's round trip in ms, or null.
    #[wasm_bindgen(getter, unchecked_return_type = "Connectivity")]
    pub fn connectivity(&self) -> JsValue {
        self.ctx.monitor.snapshot()
    }

    /// Standard `EventTarget.addEventListener`; events carry data in
    /// `detail`. The event name goes to the target as JavaScript gave it,
    /// not through a Rust string.
    #[wasm_bindgen(js_name = addEventListener, skip_typescript)]
    pub fn add_event_listener_js(&self, kind: &JsValue, listener: &JsValue, options: &JsValue) {
        self.ctx.events.add_listener(kind, listener, options);
    }

    /// Standard `EventTarget.removeEventListener`.
    #[wasm_bindgen(js_name = removeEventListener, skip_typescript)]
    pub fn remove_event_listener_js(&self, kind: &JsValue, listener: &JsValue, options: &JsValue) {
        self.ctx.events.remove_listener(kind, listener, options);
    }

    /// How many requests wait in this namespace's offline queue.
    #[wasm_bindgen(js_name = queueSize, unchecked_return_type = "Promise<number>")]
    pub fn queue_size(&self) -> Promise {
        self.with_outbox(Manage::Size)
    }

    /// The queued requests, oldest (next to be sent) first.
    #[wasm_bindgen(js_name = listQueue, unchecked_return_type = "Promise<QueuedRequest[]>")]
    pub fn list_queue(&self) -> Promise {
        self.with_outbox(Manage::List)
    }

    /// Sends the queued requests now, in order, ignoring their backoff.
    /// Resolves with `{sent, deadLettered, remaining, skipped}`; `skipped`
    /// is true when another tab is draining this queue.
    #[wasm_bindgen(js_name = drainQueue, unchecked_return_type = "Promise<DrainReport>")]
    pub fn drain_queue(&self) -> Promise {
        self.ctx.drainer.drain(true)
    }

    /// The requests that can never be delivered as they are, with the reason.
    #[wasm_bindgen(js_name = deadLetters, unchecked_return_type = "Promise<DeadLetter[]>")]
    pub fn dead_letters(&self) -> Promise {
        self.with_outbox(Manage::DeadLetters)
    }

    /// Puts dead letter `id` back at the tail of the queue, with its original
    /// idempotency key (so a sale the server already has is replayed, not
    /// repeated) and a fresh retention period. Resolves with the new queue id.
    #[wasm_bindgen(js_name = retryDeadLetter, unchecked_return_type = "Promise<number>")]
    pub fn retry_dead_letter(&self, id: f64) -> Promise {
        self.with_outbox(Manage::RetryDeadLetter(id))
    }

    /// Deletes dead letter `id` for good.
    #[wasm_bindgen(js_name = discardDeadLetter, unchecked_return_type = "Promise<void>")]
    pub fn discard_dead_letter(&self, id: f64) -> Promise {
        self.with_outbox(Manage::DiscardDeadLetter(id))
    }

    /// Deletes every queued request (not the dead letters): they will not
    /// be sent. Resolves with how many were removed.
    #[wasm_bindgen(js_name = clearQueue, unchecked_return_type = "Promise<number>")]
    pub fn clear_queue(&self) -> Promise {
        self.with_outbox(Manage::Clear)
    }

    /// Stops listening to the browser (connectivity, visibility, other
    /// tabs) and cancels the drain timer. Calls in flight still finish, and
    /// their records stay theirs until they do; queued requests stay queued
    /// for the next client.
    pub fn close(&self) {
        let listeners = std::mem::take(&mut *self.global_listeners.borrow_mut());
        for (target, kind, closure) in listeners {
            target.remove(&kind.into(), closure.as_ref(), &JsValue::UNDEFINED);
        }
        self.ctx.drainer.stop();
        self.ctx.monitor.stop();
        self.ctx.outbox.close();
        self.ctx.live.close(&self.ctx);
    }
}

impl ApiClient {
    /// `addEventListener` for Rust callers (the tests), with the event name as a `&str`.
    pub fn add_event_listener(&self, kind: &str, listener: &JsValue, options: &JsValue) {
        self.add_event_listener_js(&kind.into(), listener, options);
    }

    /// `removeEventListener` for Rust callers, with the event name as a `&str`.
    pub fn remove_event_listener(&self, kind: &str, listener: &JsValue, options: &JsValue) {
        self.remove_event_listener_js(&kind.into(), listener, options);
    }

    /// Runs an outbox management call as a promise.
    fn with_outbox(&self, call: Manage) -> Promise {
        js::promise(manage(self.ctx.clone(), call))
    }

    /// Listens to the global `online`/`offline` events (re-emitted, and
    /// `online` starts a drain) and to the page becoming visible (a drain of
    /// what is due). The closures hold the context weakly, so an unclosed
    /// client can still be freed.
    fn watch_globals(&self) {
        let global: Target = js_sys::global().unchecked_into();
        // A page has a document; a worker has none.
        let document = get(&js_sys::global(), "document");
        let mut listeners = self.global_listeners.borrow_mut();
        let mut listen = |target: &Target, kind: &'static str, on: fn(&Rc<Context>)| {
            // Not every global object is an EventTarget (a non-browser
            // runtime's): there is nothing to listen to then.
            if !get(target, "addEventListener").is_function() {
                return;
            }
            let weak: Weak<Context> = Rc::downgrade(&self.ctx);
            let closure = Closure::<dyn FnMut()>::new(move || {
                if let Some(ctx) = weak.upgrade() {
                    on(&ctx);
                }
            });
            target.add(&kind.into(), closure.as_ref(), &JsValue::UNDEFINED);
            listeners.push((target.clone(), kind, closure));
        };
        listen(&global, "online", |ctx| {
            ctx.emit(Event::Online);
            ctx.monitor.browser_online(ctx);
            ctx.drainer.drain_in_background(true);
        });
        listen(&global, "offline", |ctx| {
            ctx.emit(Event::Offline);
            ctx.monitor.refresh(ctx);
        });
        if document.is_object() {
            listen(document.unchecked_ref(), "visibilitychange", |ctx| {
                let visible = get(&get(&js_sys::global(), "document"), "visibilityState").as_string();
                if visible.as_deref() == Some("visible") {
                    ctx.drainer.drain_in_background(false);
                }
            });
        }
    }
}

/// An outbox management call. They all run in [`manage`], one future type
/// for all of them instead of one per call.
enum Manage {
    Size,
    List,
    DeadLetters,
    RetryDeadLetter(f64),
    DiscardDeadLetter(f64),
    Clear,
}

/// Runs management call `call` on the outbox of `ctx`; resolves with what
/// its JavaScript method returns.
async fn manage(ctx: Rc<Context>, call: Manage) -> Result<JsValue, Error> {
    let outbox = &ctx.outbox;
    Ok(match call {
        Manage::Size => outbox.size(&ctx).await?.into(),
        Manage::List => js::array(outbox.list(&ctx).await?),
        Manage::DeadLetters => js::array(outbox.dead_letters(&ctx).await?),
        Manage::RetryDeadLetter(id) => outbox.retry_dead_letter(&ctx, id).await?.into(),
        Manage::DiscardDeadLetter(id) => {
            outbox.discard_dead_letter(&ctx, id).await?;
            JsValue::UNDEFINED
        }
        Manage::Clear => outbox.clear(&ctx).await?.into(),
    })
}

thread_local! {
    static DEFAULT_CLIENT: RefCell<Option<ApiClient>> = const { RefCell::new(None) };
}

/// `post` on a default client (created on first use with the default config).
#[wasm_bindgen(js_name = apiPost, unchecked_return_type = "Promise<unknown>")]
pub fn api_post(
    #[wasm_bindgen(unchecked_param_type = "string | URL")] url: JsValue,
    #[wasm_bindgen(unchecked_param_type = "unknown")] body: JsValue,
    #[wasm_bindgen(unchecked_optional_param_type = "PostOptions")] options: Option<JsValue>,
) -> Promise {
    DEFAULT_CLIENT.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            match ApiClient::new(None) {
                Ok(c) => *slot = Some(c),
                Err(e) => return Promise::reject(&e),
            }
        }
        slot.as_ref().expect("just set").post(url, body, options)
    })
}
