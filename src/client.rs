//! `ApiClient`: the JavaScript face of the SDK. It validates a call, joins
//! an identical call already in flight, and otherwise runs the retry loop:
//! one attempt, ask the retry policy, wait, send again with the same key.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::classify::{classify_status, StatusClass};
use crate::config::{header_pairs, CallOptions, ClientConfig, HeaderSource};
use crate::dedup::dedup_keys;
use crate::error::ErrorKind;
use crate::events::Events;
use crate::js::{self, api_error, get, invalid_input, set, ErrorFields};
use crate::options::{format_number, Settings};
use crate::retry::{AttemptOutcome, Decision, GiveUp};
use crate::retry_after::parse_retry_after;
use crate::outbox::drain::Drainer;
use crate::outbox::policy::first_replay_delay;
use crate::outbox::queue::Outbox;
use crate::outbox::record::QueuedRequest;
use crate::outbox::store::{storage_error, StorageError};
use crate::transport::{self, Attempt, HttpResponse, Outgoing};

/// A call that is in flight, shared by every identical call made meanwhile.
struct InFlight {
    /// Resolves with the `ApiResponse` object.
    response: Promise,
    /// The same, mapped to the response body (for `post`), made on demand.
    body: RefCell<Option<Promise>>,
}

/// The state behind one `ApiClient` (shared with its running calls and
/// its outbox drains).
pub(crate) struct ClientState {
    pub(crate) config: ClientConfig,
    pub(crate) events: Rc<Events>,
    in_flight: RefCell<HashMap<String, Rc<InFlight>>>,
    /// The last URL resolved: (as given, base, absolute). A till posts to
    /// the same endpoint over and over; this spares a `new URL` per call.
    last_url: RefCell<Option<(String, Option<String>, String)>>,
    /// The global listeners (`online`, `offline`, `visibilitychange`), removed by `close`.
    global_listeners: RefCell<Vec<(web_sys::EventTarget, &'static str, Closure<dyn FnMut()>)>>,
    pub(crate) outbox: Outbox,
    pub(crate) drainer: Drainer,
}

/// One validated logical operation, ready to send.
struct Operation {
    method: String,
    url: String,
    body: Option<String>,
    headers: Vec<(String, String)>,
    /// The idempotency key sent on every attempt (`None` for GET/HEAD/OPTIONS).
    key: Option<String>,
    settings: Settings,
    signal: Option<web_sys::AbortSignal>,
}

/// What one attempt sends; shared by live calls and queue replays.
pub(crate) struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub body: Option<&'a str>,
    pub key: Option<&'a str>,
    /// Headers stored with a queued request (the client's current ones win over them).
    pub stored_headers: &'a [(String, String)],
    /// The call's own headers (they win over the client's).
    pub call_headers: &'a [(String, String)],
}

/// How one attempt ended, as the retry loop and the drain read it.
pub(crate) struct Sent {
    pub outcome: AttemptOutcome,
    pub response: Option<HttpResponse>,
    /// "timeout", "network: …" or "status N".
    pub reason: String,
    /// The caller's signal fired.
    pub aborted: bool,
}

/// A resilient HTTP client: idempotency keys, retries with backoff, per-attempt
/// timeouts, in-flight deduplication and events.
#[wasm_bindgen]
pub struct ApiClient {
    state: Rc<ClientState>,
}

impl Operation {
    /// Whether this operation may wait in the offline queue: a write (it has
    /// a key to replay with), `queueIfOffline` on, and no caller signal
    /// (an abortable call is the caller's to finish, never ours).
    fn queueable(&self) -> bool {
        self.key.is_some() && self.settings.queue_if_offline && self.signal.is_none()
    }
}

fn is_write(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

fn normalize_method(method: &JsValue) -> Result<String, String> {
    let m = method.as_string().ok_or("method must be a string such as \"POST\"")?;
    let valid = !m.is_empty() && m.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b));
    if !valid {
        return Err(["method is not a valid HTTP method: ", &m].concat());
    }
    Ok(m.to_ascii_uppercase())
}

fn global_location() -> Option<String> {
    get(&get(&js_sys::global(), "location"), "href").as_string()
}

/// `navigator.onLine`, true where the platform does not say.
pub fn navigator_online() -> bool {
    get(&get(&js_sys::global(), "navigator"), "onLine").as_bool().unwrap_or(true)
}

impl ClientState {
    fn resolve_url(&self, url: &JsValue) -> Result<String, String> {
        let text = if url.is_string() {
            url.as_string().unwrap_or_default()
        } else if url.is_instance_of::<web_sys::Url>() {
            url.unchecked_ref::<web_sys::Url>().href()
        } else {
            return Err("url must be a string or a URL".into());
        };
        let base = self.config.base_url.clone().or_else(global_location);
        if let Some((t, b, resolved)) = self.last_url.borrow().as_ref() {
            if *t == text && *b == base {
                return Ok(resolved.clone());
            }
        }
        let parsed = match &base {
            Some(b) => web_sys::Url::new_with_base(&text, b),
            None => web_sys::Url::new(&text),
        }
        .map_err(|_| ["url is not a valid URL: ", &text].concat())?;
        let protocol = parsed.protocol();
        if protocol != "http:" && protocol != "https:" {
            return Err(["url must use http or https, got ", &protocol, " in ", &text].concat());
        }
        let resolved = parsed.href();
        *self.last_url.borrow_mut() = Some((text, base, resolved.clone()));
        Ok(resolved)
    }

    /// Validates a call and turns it into an operation, or names the problem.
    /// Also returns the dedup keys the call is known by while in flight.
    fn prepare(&self, method: &JsValue, url: &JsValue, body: &JsValue, options: &JsValue) -> Result<(Operation, Vec<String>), String> {
        let method = normalize_method(method)?;
        let url = self.resolve_url(url)?;
        let opts = CallOptions::from_js(options)?;
        let body = if body.is_undefined() {
            None
        } else {
            if method == "GET" || method == "HEAD" {
                return Err([&method, " requests cannot have a body"].concat());
            }
            let text = js::serialize_body(body).map_err(|e| js::message_of(&e))?;
            Some(text.as_string().ok_or("body cannot be represented as JSON")?)
        };
        let settings = opts.overrides.or(&self.config.defaults).resolve();
        let dedup = dedup_keys(&method, &url, body.as_deref(), opts.dedupe_key.as_deref(), opts.idempotency_key.as_deref());
        let key = if is_write(&method) {
            Some(opts.idempotency_key.unwrap_or_else(|| uuid::Uuid::new_v4().to_string()))
        } else {
            None
        };
        let op = Operation { method, url, body, headers: opts.headers, key, settings, signal: opts.signal };
        Ok((op, dedup))
    }

    /// The headers of one attempt, layered: the stored ones, then the
    /// client's (its function is called anew each time), then the call's;
    /// `Content-Type` for a JSON body; the operation's key last, so nothing
    /// overwrites it.
    async fn attempt_headers(&self, req: &Request<'_>) -> Result<web_sys::Headers, JsValue> {
        let headers = web_sys::Headers::new()?;
        let client_pairs = match &self.config.headers {
            HeaderSource::None => Vec::new(),
            HeaderSource::Fixed(pairs) => pairs.clone(),
            HeaderSource::Function(f) => call_header_function(f).await?,
        };
        for (name, value) in req.stored_headers.iter().chain(client_pairs.iter()).chain(req.call_headers.iter()) {
            headers.set(name, value).map_err(|_| invalid_input(&["invalid header: ", name].concat()))?;
        }
        if req.body.is_some() && !headers.has("content-type").unwrap_or(false) {
            headers.set("content-type", "application/json")?;
        }
        if let Some(key) = req.key {
            headers.set("idempotency-key", key)?;
        }
        Ok(headers)
    }

    /// Sends one attempt of `req` and reads what came back. `Err` only when
    /// the headers function failed (nothing was sent).
    pub(crate) async fn send_once(&self, req: &Request<'_>, timeout_ms: f64, signal: Option<&web_sys::AbortSignal>) -> Result<Sent, JsValue> {
        let headers = self.attempt_headers(req).await?;
        let outgoing = Outgoing { url: req.url, method: req.method, headers: &headers, body: req.body };
        Ok(match transport::send(&outgoing, timeout_ms, signal).await {
            Attempt::Aborted => Sent { outcome: AttemptOutcome::Network, response: None, reason: "aborted".into(), aborted: true },
            Attempt::Timeout => Sent { outcome: AttemptOutcome::Timeout, response: None, reason: "timeout".into(), aborted: false },
            Attempt::Network(message) => Sent { outcome: AttemptOutcome::Network, response: None, reason: ["network: ", &message].concat(), aborted: false },
            Attempt::Response(resp) => {
                let header = resp.header("retry-after");
                let outcome = AttemptOutcome::Response {
                    status: resp.status,
                    has_retry_after: header.is_some(),
                    retry_after_ms: header.as_deref().and_then(|h| parse_retry_after(h, js::now_ms())),
                };
                let reason = ["status ", &resp.status.to_string()].concat();
                Sent { outcome, response: Some(resp), reason, aborted: false }
            }
        })
    }

    pub(crate) fn emit(&self, kind: &str, detail: &JsValue) {
        self.events.emit(kind, detail);
    }

    fn forget(&self, keys: &[String]) {
        let mut map = self.in_flight.borrow_mut();
        for k in keys {
            map.remove(k);
        }
    }
}

/// Calls the client's headers function and awaits its result when it is a
/// Promise. A throw or a bad result rejects the call with `invalid-input`.
async fn call_header_function(f: &Function) -> Result<Vec<(String, String)>, JsValue> {
    let fail = |detail: String| invalid_input(&["config.headers function failed: ", &detail].concat());
    let result = f.call0(&JsValue::UNDEFINED).map_err(|e| fail(js::message_of(&e)))?;
    let value = JsFuture::from(Promise::resolve(&result)).await.map_err(|e| fail(js::message_of(&e)))?;
    header_pairs("the object returned by config.headers", &value).map_err(|m| invalid_input(&m))
}

fn response_object(resp: &HttpResponse, op: &Operation, attempts: u32) -> JsValue {
    js::api_response(resp.status, &resp.headers, &resp.body, resp.replayed(), op.key.as_deref(), attempts)
}

fn describe_status(resp: &HttpResponse) -> String {
    let detail = get(&resp.body, "detail").as_string().or_else(|| get(&resp.body, "title").as_string());
    match detail {
        Some(d) => ["answered ", &resp.status.to_string(), ": ", &d].concat(),
        None => ["answered ", &resp.status.to_string()].concat(),
    }
}

fn message(op: &Operation, what: &str, attempts: u32) -> String {
    let plural = if attempts == 1 { " attempt)" } else { " attempts)" };
    [op.method.as_str(), " ", &op.url, " ", what, " (", &attempts.to_string(), plural].concat()
}

fn failure_fields(op: &Operation, attempts: u32, resp: Option<&HttpResponse>) -> ErrorFields {
    ErrorFields {
        status: resp.map(|r| r.status),
        body: resp.map(|r| r.body.clone()),
        idempotency_key: op.key.clone(),
        attempts: Some(attempts),
        ..ErrorFields::default()
    }
}

/// The error a finished operation rejects with.
fn failure(kind: ErrorKind, op: &Operation, what: &str, attempts: u32, resp: Option<&HttpResponse>) -> JsValue {
    api_error(kind, &message(op, what, attempts), failure_fields(op, attempts, resp))
}

fn aborted(op: &Operation, attempts: u32) -> JsValue {
    failure(ErrorKind::Aborted, op, "was aborted by the caller's signal", attempts, None)
}

/// Runs one operation to its end: attempts, retry decisions, waits, and
/// the offline queue when it cannot be delivered now.
async fn run(state: &ClientState, op: &Operation) -> Result<JsValue, JsValue> {
    if op.queueable() && !navigator_online() {
        return Err(enqueue(state, op, 0, "offline").await);
    }
    let started = js::now_ms();
    let remaining = || op.settings.total_timeout_ms.map(|t| t - (js::now_ms() - started));
    let req = Request {
        method: &op.method,
        url: &op.url,
        body: op.body.as_deref(),
        key: op.key.as_deref(),
        stored_headers: &[],
        call_headers: &op.headers,
    };
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let timeout = remaining().map_or(op.settings.timeout_ms, |l| l.min(op.settings.timeout_ms));
        let sent = state.send_once(&req, timeout, op.signal.as_ref()).await?;
        if sent.aborted {
            return Err(aborted(op, attempts));
        }
        match op.settings.retry.decide(attempts, &sent.outcome, js::random(), remaining()) {
            Decision::Finish => {
                let resp = sent.response.expect("only responses finish");
                return if classify_status(resp.status, false) == StatusClass::Success {
                    Ok(response_object(&resp, op, attempts))
                } else {
                    Err(failure(ErrorKind::Http, op, &describe_status(&resp), attempts, Some(&resp)))
                };
            }
            Decision::RetryAfter(delay) => {
                let detail = Object::new();
                set(&detail, "attempt", attempts);
                set(&detail, "delay", delay);
                set(&detail, "reason", sent.reason.clone());
                set(&detail, "url", op.url.clone());
                set(&detail, "idempotencyKey", op.key.clone().map(JsValue::from).unwrap_or(JsValue::NULL));
                if let Some(r) = &sent.response {
                    set(&detail, "status", r.status);
                }
                state.emit("retry", &detail.into());
                if js::sleep(delay, op.signal.as_ref()).await.is_err() {
                    return Err(aborted(op, attempts));
                }
            }
            Decision::GiveUp(why) => {
                if op.queueable() {
                    return Err(enqueue(state, op, attempts, &sent.reason).await);
                }
                let (kind, what) = match (why, &sent.outcome) {
                    (GiveUp::TotalTimeout, _) => (ErrorKind::Timeout, "ran out of its totalTimeout".to_string()),
                    (_, AttemptOutcome::Timeout) => (ErrorKind::Timeout, ["timed out after ", &format_number(op.settings.timeout_ms), " ms"].concat()),
                    (_, AttemptOutcome::Network) => (ErrorKind::Network, ["failed: ", &sent.reason].concat()),
                    (_, AttemptOutcome::Response { .. }) => (ErrorKind::Http, describe_status(sent.response.as_ref().expect("a response"))),
                };
                return Err(failure(kind, op, &what, attempts, sent.response.as_ref()));
            }
        }
    }
}

/// Writes an operation that cannot be delivered now to the offline queue
/// and returns the error its promise rejects with: `queued` once the record
/// is committed, `storage` (with the key, so the caller can retry safely)
/// when IndexedDB failed.
async fn enqueue(state: &ClientState, op: &Operation, attempts: u32, reason: &str) -> JsValue {
    let now = js::now_ms();
    let record = QueuedRequest {
        id: None,
        idempotency_key: op.key.clone().expect("queueable operations have a key"),
        method: op.method.clone(),
        url: op.url.clone(),
        body: op.body.clone(),
        headers: persisted_headers(&op.headers, &state.config.persist_headers),
        created_at: now,
        attempts,
        next_attempt_at: if attempts == 0 { now } else { now + first_replay_delay(attempts, js::random()) },
        last_error: Some(reason.to_string()),
    };
    match state.outbox.enqueue(&record).await {
        Ok(id) => {
            let detail = Object::new();
            set(&detail, "queueId", id);
            set(&detail, "idempotencyKey", record.idempotency_key.clone());
            set(&detail, "method", op.method.clone());
            set(&detail, "url", op.url.clone());
            set(&detail, "reason", reason.to_string());
            state.emit("queued", &detail.into());
            state.drainer.enqueued();
            // No attempt means `run` queued it because the browser said it
            // was offline: the `online` event drains it, and a timer drain
            // would only wait for that.
            if attempts > 0 {
                state.drainer.schedule(record.next_attempt_at);
            }
            let what = ["could not be delivered now (", reason, "); queued as #", &format_number(id), " and will be sent when the connection returns"].concat();
            let mut e = failure_fields(op, attempts, None);
            e.queue_id = Some(id);
            api_error(ErrorKind::Queued, &message(op, &what, attempts), e)
        }
        Err(StorageError(detail)) => {
            let what = ["could not be delivered now (", reason, ") nor stored in the offline queue: ", &detail].concat();
            api_error(ErrorKind::Storage, &message(op, &what, attempts), failure_fields(op, attempts, None))
        }
    }
}

/// The call headers allowed into the queue: `Content-Type`, and the names
/// listed in `persistHeaders`. Credentials stay in memory unless listed.
fn persisted_headers(headers: &[(String, String)], allowed: &[String]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| {
            let lower = name.to_ascii_lowercase();
            lower == "content-type" || allowed.contains(&lower)
        })
        .cloned()
        .collect()
}

impl ApiClient {
    /// Starts (or joins) an operation; `Err` is an `invalid-input` ApiError.
    fn start(&self, method: &JsValue, url: &JsValue, body: &JsValue, options: &JsValue) -> Result<Rc<InFlight>, JsValue> {
        let (op, keys) = self.state.prepare(method, url, body, options).map_err(|m| invalid_input(&m))?;
        // A call with its own signal neither joins nor is joined: its abort
        // must not cancel somebody else's operation.
        let shareable = op.signal.is_none();
        if shareable {
            let map = self.state.in_flight.borrow();
            if let Some(existing) = keys.iter().find_map(|k| map.get(k)) {
                return Ok(existing.clone());
            }
        }
        let state = self.state.clone();
        let registered = keys.clone();
        let response = js::promise(async move {
            let result = run(&state, &op).await;
            if shareable {
                state.forget(&registered);
            }
            result
        });
        let entry = Rc::new(InFlight { response, body: RefCell::new(None) });
        if shareable {
            let mut map = self.state.in_flight.borrow_mut();
            for k in keys {
                map.insert(k, entry.clone());
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
        let config = ClientConfig::from_js(&config.unwrap_or(JsValue::UNDEFINED)).map_err(|m| invalid_input(&m))?;
        let events = Rc::new(Events::new());
        let state = Rc::new(ClientState {
            outbox: Outbox::new(&config.namespace, events.clone()),
            config,
            events,
            in_flight: RefCell::new(HashMap::new()),
            last_url: RefCell::new(None),
            global_listeners: RefCell::new(Vec::new()),
            drainer: Drainer::new(),
        });
        state.drainer.attach(&state);
        watch_globals(&state);
        let _ = state.drainer.drain(true);
        Ok(ApiClient { state })
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
        match self.start(&JsValue::from_str("POST"), &url, &body, &options.unwrap_or(JsValue::UNDEFINED)) {
            Ok(entry) => {
                let mut cached = entry.body.borrow_mut();
                cached.get_or_insert_with(|| js::body_of(&entry.response)).clone()
            }
            Err(e) => Promise::reject(&e),
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
        match self.start(&method, &url, &body, &options) {
            Ok(entry) => entry.response.clone(),
            Err(e) => Promise::reject(&e),
        }
    }

    /// Whether the browser reports a network connection (`navigator.onLine`;
    /// only a hint: a failed send is retried or queued either way).
    #[wasm_bindgen(getter)]
    pub fn online(&self) -> bool {
        navigator_online()
    }

    /// Standard `EventTarget.addEventListener`; events carry data in `detail`.
    #[wasm_bindgen(js_name = addEventListener, skip_typescript)]
    pub fn add_event_listener(&self, kind: &str, listener: &JsValue, options: &JsValue) {
        self.state.events.add_listener(kind, listener, options);
    }

    /// Standard `EventTarget.removeEventListener`.
    #[wasm_bindgen(js_name = removeEventListener, skip_typescript)]
    pub fn remove_event_listener(&self, kind: &str, listener: &JsValue, options: &JsValue) {
        self.state.events.remove_listener(kind, listener, options);
    }

    /// How many requests wait in this namespace's offline queue.
    #[wasm_bindgen(js_name = queueSize, unchecked_return_type = "Promise<number>")]
    pub fn queue_size(&self) -> Promise {
        let state = self.state.clone();
        js::promise(async move {
            let store = state.outbox.open().await?;
            let n = store.count().await.map_err(|e| storage_error("cannot count the offline queue", e))?;
            Ok(n.into())
        })
    }

    /// The queued requests, oldest (next to be sent) first.
    #[wasm_bindgen(js_name = listQueue, unchecked_return_type = "Promise<QueuedRequest[]>")]
    pub fn list_queue(&self) -> Promise {
        let state = self.state.clone();
        js::promise(async move {
            let store = state.outbox.open().await?;
            let all = store.queued().await.map_err(|e| storage_error("cannot read the offline queue", e))?;
            Ok(all.into_iter().collect::<js_sys::Array>().into())
        })
    }

    /// Sends the queued requests now, in order, ignoring their backoff.
    /// Resolves with `{sent, deadLettered, remaining, skipped}`; `skipped`
    /// is true when another tab is draining this queue.
    #[wasm_bindgen(js_name = drainQueue, unchecked_return_type = "Promise<DrainReport>")]
    pub fn drain_queue(&self) -> Promise {
        self.state.drainer.drain(true)
    }

    /// The requests that can never be delivered as they are, with the reason.
    #[wasm_bindgen(js_name = deadLetters, unchecked_return_type = "Promise<DeadLetter[]>")]
    pub fn dead_letters(&self) -> Promise {
        let state = self.state.clone();
        js::promise(async move {
            let store = state.outbox.open().await?;
            let all = store.dead_letters().await.map_err(|e| storage_error("cannot read the dead letters", e))?;
            Ok(all.into_iter().collect::<js_sys::Array>().into())
        })
    }

    /// Puts dead letter `id` back at the tail of the queue, with its original
    /// idempotency key (so a sale the server already has is replayed, not
    /// repeated) and a fresh retention period. Resolves with the new queue id.
    #[wasm_bindgen(js_name = retryDeadLetter, unchecked_return_type = "Promise<number>")]
    pub fn retry_dead_letter(&self, id: f64) -> Promise {
        let state = self.state.clone();
        js::promise(async move {
            let store = state.outbox.open().await?;
            let letter = store.dead_letter(id).await.map_err(|e| storage_error("cannot read the dead letter", e))?;
            let letter = letter.ok_or_else(|| invalid_input(&["no dead letter with id ", &format_number(id)].concat()))?;
            let mut record = QueuedRequest::from_js(&get(&letter, "request"))
                .map_err(|field| invalid_input(&["dead letter ", &format_number(id), " cannot be replayed: its request has a malformed ", field].concat()))?;
            let now = js::now_ms();
            record.id = None;
            record.created_at = now;
            record.next_attempt_at = now;
            let new_id = store.resurrect(id, &record.to_js()).await.map_err(|e| storage_error("cannot move the dead letter back", e))?;
            state.drainer.enqueued();
            let _ = state.drainer.drain(true);
            Ok(new_id.into())
        })
    }

    /// Deletes dead letter `id` for good.
    #[wasm_bindgen(js_name = discardDeadLetter, unchecked_return_type = "Promise<void>")]
    pub fn discard_dead_letter(&self, id: f64) -> Promise {
        let state = self.state.clone();
        js::promise(async move {
            let store = state.outbox.open().await?;
            store.discard(id).await.map_err(|e| storage_error("cannot delete the dead letter", e))?;
            Ok(JsValue::UNDEFINED)
        })
    }

    /// Deletes every queued request (not the dead letters): they will not
    /// be sent. Resolves with how many were removed.
    #[wasm_bindgen(js_name = clearQueue, unchecked_return_type = "Promise<number>")]
    pub fn clear_queue(&self) -> Promise {
        let state = self.state.clone();
        js::promise(async move {
            let store = state.outbox.open().await?;
            state.drainer.generation.set(state.drainer.generation.get().wrapping_add(1));
            let n = store.clear_queue().await.map_err(|e| storage_error("cannot clear the offline queue", e))?;
            state.drainer.announce_soon();
            Ok(n.into())
        })
    }

    /// Stops listening to the browser (connectivity, visibility, other
    /// tabs) and cancels the drain timer. Calls in flight still finish;
    /// queued requests stay queued for the next client.
    pub fn close(&self) {
        for (target, kind, closure) in self.state.global_listeners.borrow_mut().drain(..) {
            let _ = target.remove_event_listener_with_callback(kind, closure.as_ref().unchecked_ref());
        }
        self.state.drainer.stop();
        self.state.outbox.close();
    }
}

/// Listens to the global `online`/`offline` events (re-emitted, and
/// `online` starts a drain) and to the page becoming visible (a drain of
/// what is due). The closures hold the client weakly, so an unclosed
/// client can still be freed.
fn watch_globals(state: &Rc<ClientState>) {
    let global: web_sys::EventTarget = js_sys::global().unchecked_into();
    let document: Option<web_sys::EventTarget> = get(&js_sys::global(), "document").dyn_into().ok();
    let mut listeners = state.global_listeners.borrow_mut();
    let mut listen = |target: &web_sys::EventTarget, kind: &'static str, on: fn(&Rc<ClientState>)| {
        let weak: Weak<ClientState> = Rc::downgrade(state);
        let closure = Closure::<dyn FnMut()>::new(move || {
            if let Some(s) = weak.upgrade() {
                on(&s);
            }
        });
        if target.add_event_listener_with_callback(kind, closure.as_ref().unchecked_ref()).is_ok() {
            listeners.push((target.clone(), kind, closure));
        }
    };
    listen(&global, "online", |s| {
        s.emit("online", &JsValue::NULL);
        let _ = s.drainer.drain(true);
    });
    listen(&global, "offline", |s| s.emit("offline", &JsValue::NULL));
    if let Some(doc) = document {
        listen(&doc, "visibilitychange", |s| {
            let visible = get(&get(&js_sys::global(), "document"), "visibilityState").as_string();
            if visible.as_deref() == Some("visible") {
                let _ = s.drainer.drain(false);
            }
        });
    }
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
