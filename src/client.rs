//! `ApiClient`: the JavaScript face of the SDK. It validates a call, joins
//! an identical call already in flight, and otherwise runs the retry loop:
//! one attempt, ask the retry policy, wait, send again with the same key.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

use js_sys::{Function, Object, Promise};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{future_to_promise, JsFuture};

use crate::config::{header_pairs, CallOptions, ClientConfig, HeaderSource};
use crate::dedup::dedup_keys;
use crate::error::ErrorKind;
use crate::events::Events;
use crate::js::{self, api_error, get, invalid_input, set, ErrorFields};
use crate::options::Settings;
use crate::retry::{AttemptOutcome, Decision, GiveUp};
use crate::retry_after::parse_retry_after;
use crate::transport::{self, Attempt, HttpResponse, Outgoing};

/// A call that is in flight, shared by every identical call made meanwhile.
struct InFlight {
    /// Resolves with the `ApiResponse` object.
    response: Promise,
    /// The same, mapped to the response body (for `post`), made on demand.
    body: RefCell<Option<Promise>>,
}

/// The state behind one `ApiClient` (shared with its running calls).
struct ClientState {
    config: ClientConfig,
    events: Events,
    in_flight: RefCell<HashMap<String, Rc<InFlight>>>,
    /// The `online`/`offline` listeners on the global object, removed by `close`.
    connectivity_listeners: RefCell<Vec<(&'static str, Closure<dyn FnMut()>)>>,
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

/// A resilient HTTP client: idempotency keys, retries with backoff, per-attempt
/// timeouts, in-flight deduplication and events.
#[wasm_bindgen]
pub struct ApiClient {
    state: Rc<ClientState>,
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
        let parsed = match &base {
            Some(b) => web_sys::Url::new_with_base(&text, b),
            None => web_sys::Url::new(&text),
        }
        .map_err(|_| ["url is not a valid URL: ", &text].concat())?;
        let protocol = parsed.protocol();
        if protocol != "http:" && protocol != "https:" {
            return Err(["url must use http or https, got ", &protocol, " in ", &text].concat());
        }
        Ok(parsed.href())
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

    /// The headers of one attempt: the client's (calling its function anew),
    /// the call's, `Content-Type` for JSON, and the operation's key last so
    /// nothing can overwrite it.
    async fn attempt_headers(&self, op: &Operation) -> Result<web_sys::Headers, JsValue> {
        let headers = web_sys::Headers::new()?;
        let client_pairs = match &self.config.headers {
            HeaderSource::None => Vec::new(),
            HeaderSource::Fixed(pairs) => pairs.clone(),
            HeaderSource::Function(f) => call_header_function(f).await?,
        };
        for (name, value) in client_pairs.iter().chain(op.headers.iter()) {
            headers.set(name, value).map_err(|_| invalid_input(&["invalid header: ", name].concat()))?;
        }
        if op.body.is_some() && !headers.has("content-type").unwrap_or(false) {
            headers.set("content-type", "application/json")?;
        }
        if let Some(key) = &op.key {
            headers.set("idempotency-key", key)?;
        }
        Ok(headers)
    }

    fn emit(&self, kind: &str, detail: &JsValue) {
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
    let o = Object::new();
    set(&o, "status", resp.status);
    set(&o, "headers", resp.headers.clone());
    set(&o, "body", resp.body());
    set(&o, "replayed", resp.replayed());
    set(&o, "idempotencyKey", op.key.clone().map(JsValue::from).unwrap_or(JsValue::NULL));
    set(&o, "attempts", attempts);
    o.into()
}

fn describe_status(resp: &HttpResponse) -> String {
    let body = resp.body();
    let detail = get(&body, "detail").as_string().or_else(|| get(&body, "title").as_string());
    match detail {
        Some(d) => ["answered ", &resp.status.to_string(), ": ", &d].concat(),
        None => ["answered ", &resp.status.to_string()].concat(),
    }
}

/// The error a finished operation rejects with.
fn failure(kind: ErrorKind, op: &Operation, what: &str, attempts: u32, resp: Option<&HttpResponse>) -> JsValue {
    let plural = if attempts == 1 { " attempt)" } else { " attempts)" };
    let message = [op.method.as_str(), " ", &op.url, " ", what, " (", &attempts.to_string(), plural].concat();
    api_error(
        kind,
        &message,
        ErrorFields {
            status: resp.map(|r| r.status),
            body: resp.map(HttpResponse::body),
            idempotency_key: op.key.clone(),
            attempts: Some(attempts),
            ..ErrorFields::default()
        },
    )
}

fn aborted(op: &Operation, attempts: u32) -> JsValue {
    failure(ErrorKind::Aborted, op, "was aborted by the caller's signal", attempts, None)
}

/// Runs one operation to its end: attempts, retry decisions, waits.
async fn run(state: &ClientState, op: &Operation) -> Result<JsValue, JsValue> {
    let started = js::now_ms();
    let remaining = || op.settings.total_timeout_ms.map(|t| t - (js::now_ms() - started));
    let mut attempts = 0u32;
    loop {
        attempts += 1;
        let headers = state.attempt_headers(op).await?;
        let left = remaining();
        if left.is_some_and(|l| l <= 0.0) {
            return Err(failure(ErrorKind::Timeout, op, "ran out of its totalTimeout", attempts - 1, None));
        }
        let timeout = left.map_or(op.settings.timeout_ms, |l| l.min(op.settings.timeout_ms));
        let outgoing = Outgoing { url: &op.url, method: &op.method, headers: &headers, body: op.body.as_deref() };
        let (outcome, response, reason) = match transport::send(&outgoing, timeout, op.signal.as_ref()).await {
            Attempt::Aborted => return Err(aborted(op, attempts)),
            Attempt::Timeout => (AttemptOutcome::Timeout, None, "timeout".to_string()),
            Attempt::Network(message) => (AttemptOutcome::Network, None, ["network: ", &message].concat()),
            Attempt::Response(resp) => {
                let header = resp.header("retry-after");
                let outcome = AttemptOutcome::Response {
                    status: resp.status,
                    has_retry_after: header.is_some(),
                    retry_after_ms: header.as_deref().and_then(|h| parse_retry_after(h, js::now_ms())),
                };
                let reason = ["status ", &resp.status.to_string()].concat();
                (outcome, Some(resp), reason)
            }
        };
        match op.settings.retry.decide(attempts, &outcome, js::random(), remaining()) {
            Decision::Finish => {
                let resp = response.expect("only responses finish");
                return if (200..300).contains(&resp.status) {
                    Ok(response_object(&resp, op, attempts))
                } else {
                    Err(failure(ErrorKind::Http, op, &describe_status(&resp), attempts, Some(&resp)))
                };
            }
            Decision::RetryAfter(delay) => {
                let detail = Object::new();
                set(&detail, "attempt", attempts);
                set(&detail, "delay", delay);
                set(&detail, "reason", reason);
                set(&detail, "url", op.url.clone());
                set(&detail, "idempotencyKey", op.key.clone().map(JsValue::from).unwrap_or(JsValue::NULL));
                if let Some(r) = &response {
                    set(&detail, "status", r.status);
                }
                state.emit("retry", &detail.into());
                if js::sleep(delay, op.signal.as_ref()).await.is_err() {
                    return Err(aborted(op, attempts));
                }
            }
            Decision::GiveUp(why) => {
                let (kind, what) = match (why, &outcome) {
                    (GiveUp::TotalTimeout, _) => (ErrorKind::Timeout, "ran out of its totalTimeout".to_string()),
                    (_, AttemptOutcome::Timeout) => (ErrorKind::Timeout, ["timed out after ", &op.settings.timeout_ms.to_string(), " ms"].concat()),
                    (_, AttemptOutcome::Network) => (ErrorKind::Network, ["failed: ", &reason].concat()),
                    (_, AttemptOutcome::Response { .. }) => (ErrorKind::Http, describe_status(response.as_ref().expect("a response"))),
                };
                return Err(failure(kind, op, &what, attempts, response.as_ref()));
            }
        }
    }
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
        let response = future_to_promise(async move {
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
    /// field when `config` is malformed.
    #[wasm_bindgen(constructor)]
    pub fn new(#[wasm_bindgen(unchecked_param_type = "ClientConfig")] config: JsValue) -> Result<ApiClient, JsValue> {
        let config = ClientConfig::from_js(&config).map_err(|m| invalid_input(&m))?;
        let state = Rc::new(ClientState {
            config,
            events: Events::new(),
            in_flight: RefCell::new(HashMap::new()),
            connectivity_listeners: RefCell::new(Vec::new()),
        });
        watch_connectivity(&state);
        Ok(ApiClient { state })
    }

    /// POSTs `body` as JSON and resolves with the parsed response body
    /// (text when not JSON, `null` on 204). Rejects with an `ApiError`.
    #[wasm_bindgen(unchecked_return_type = "Promise<unknown>")]
    pub fn post(
        &self,
        #[wasm_bindgen(unchecked_param_type = "string | URL")] url: JsValue,
        #[wasm_bindgen(unchecked_param_type = "unknown")] body: JsValue,
        #[wasm_bindgen(unchecked_param_type = "PostOptions")] options: JsValue,
    ) -> Promise {
        match self.start(&JsValue::from_str("POST"), &url, &body, &options) {
            Ok(entry) => {
                let mut cached = entry.body.borrow_mut();
                cached
                    .get_or_insert_with(|| {
                        let response = entry.response.clone();
                        future_to_promise(async move { Ok(get(&JsFuture::from(response).await?, "body")) })
                    })
                    .clone()
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
        #[wasm_bindgen(unchecked_param_type = "unknown")] body: JsValue,
        #[wasm_bindgen(unchecked_param_type = "PostOptions")] options: JsValue,
    ) -> Promise {
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

    /// Stops listening to the browser's connectivity events. Calls in
    /// flight still finish.
    pub fn close(&self) {
        let target: web_sys::EventTarget = js_sys::global().unchecked_into();
        for (kind, closure) in self.state.connectivity_listeners.borrow_mut().drain(..) {
            let _ = target.remove_event_listener_with_callback(kind, closure.as_ref().unchecked_ref());
        }
    }
}

/// Re-emits the global `online`/`offline` events on the client. The
/// closures hold the client weakly, so an unclosed client can still be freed.
fn watch_connectivity(state: &Rc<ClientState>) {
    let target: web_sys::EventTarget = js_sys::global().unchecked_into();
    let mut listeners = state.connectivity_listeners.borrow_mut();
    for kind in ["online", "offline"] {
        let weak: Weak<ClientState> = Rc::downgrade(state);
        let closure = Closure::<dyn FnMut()>::new(move || {
            if let Some(s) = weak.upgrade() {
                s.emit(kind, &JsValue::NULL);
            }
        });
        if target.add_event_listener_with_callback(kind, closure.as_ref().unchecked_ref()).is_ok() {
            listeners.push((kind, closure));
        }
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
    #[wasm_bindgen(unchecked_param_type = "PostOptions")] options: JsValue,
) -> Promise {
    DEFAULT_CLIENT.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.is_none() {
            match ApiClient::new(JsValue::UNDEFINED) {
                Ok(c) => *slot = Some(c),
                Err(e) => return Promise::reject(&e),
            }
        }
        slot.as_ref().expect("just set").post(url, body, options)
    })
}
