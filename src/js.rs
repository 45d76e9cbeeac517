//! Bindings to the JavaScript side: the helpers in `js/glue.js` and the few
//! platform calls the SDK makes (clock, randomness, property access).

use js_sys::{Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::error::{CallError, Error, ErrorKind};
use crate::options::Raw;

#[wasm_bindgen(module = "/js/glue.js")]
extern "C" {
    /// `makeApiError(kind, message, fields)` from glue.js.
    #[wasm_bindgen(js_name = makeApiError)]
    fn make_api_error(kind: &str, message: &str, fields: &JsValue) -> JsValue;

    /// `url` (a string or a `URL`) resolved to an absolute http(s) URL;
    /// throws the message naming `field` when it is not one.
    #[wasm_bindgen(js_name = absoluteUrl, catch)]
    pub fn absolute_url(field: &str, url: &JsValue, base: Option<&str>) -> Result<String, JsValue>;

    /// Whether `text` parses as an absolute URL (any scheme).
    #[wasm_bindgen(js_name = isAbsoluteUrl)]
    pub fn is_absolute_url(text: &str) -> bool;

    /// Calls `f` with no arguments: a promise of its result (awaited when it
    /// is a promise itself), rejected when it throws.
    #[wasm_bindgen(js_name = callAsync)]
    pub fn call_async(f: &js_sys::Function) -> js_sys::Promise;

    /// One fetch attempt under a timeout, its headers built from
    /// `headers` (names and values, alternating) and `key`; never rejects.
    #[wasm_bindgen(js_name = attempt)]
    pub fn fetch_attempt(url: &str, method: &str, headers: &js_sys::Array, body: Option<&str>, key: Option<&str>, timeout_ms: f64, signal: Option<web_sys::AbortSignal>) -> js_sys::Promise;

    /// The `ApiResponse` object (its `headers` copied from `Headers` on first read).
    #[wasm_bindgen(js_name = apiResponse)]
    pub fn api_response(status: u16, headers: &web_sys::Headers, body: &JsValue, replayed: bool, idempotency_key: Option<&str>, attempts: u32) -> JsValue;

    /// `response.then(r => r.body)`: `post()`'s result, without a Rust future per call.
    #[wasm_bindgen(js_name = bodyOf)]
    pub fn body_of(response: &js_sys::Promise) -> js_sys::Promise;

    /// JSON text of a body, or throws a TypeError naming the offending part.
    #[wasm_bindgen(js_name = serializeBody, catch)]
    pub fn serialize_body(body: &JsValue) -> Result<JsValue, JsValue>;

    /// Resolves after `ms`, rejects when `signal` aborts first.
    #[wasm_bindgen(js_name = sleep)]
    fn sleep_promise(ms: f64, signal: Option<web_sys::AbortSignal>) -> js_sys::Promise;

    /// Whether `navigator.locks` (Web Locks) is available.
    #[wasm_bindgen(js_name = hasWebLocks)]
    pub fn has_web_locks() -> bool;

    /// Runs `callback` under the exclusive Web Lock `name` if it is free;
    /// resolves with its result, or `null` when another holder has it.
    #[wasm_bindgen(js_name = withLock)]
    pub fn with_lock(name: &str, callback: &JsValue) -> js_sys::Promise;

    /// Takes Web Lock `name` until released; resolves with the release function once held.
    #[wasm_bindgen(js_name = holdLock)]
    pub fn hold_lock(name: &str) -> js_sys::Promise;

    /// Releases a lock taken with `hold_lock` (given its promise).
    #[wasm_bindgen(js_name = releaseLock)]
    pub fn release_lock(holding: &js_sys::Promise);

    /// Resolves with the names of the Web Locks held in this origin.
    #[wasm_bindgen(js_name = heldLockNames)]
    pub fn held_lock_names() -> js_sys::Promise;

    /// Asks for Background Sync `tag`; resolves with whether it was registered.
    #[wasm_bindgen(js_name = registerSync)]
    pub fn register_sync(tag: &str) -> js_sys::Promise;

    /// One health probe of `url`: resolves with the round trip in ms, or -1.
    pub fn probe(url: &str, timeout_ms: f64) -> js_sys::Promise;

    /// Resolves once Web Lock `name` is free.
    #[wasm_bindgen(js_name = whenLockFree)]
    pub fn when_lock_free(name: &str) -> js_sys::Promise;
}

/// Waits `ms` milliseconds; `Err(())` when the caller's signal aborts first.
pub async fn sleep(ms: f64, signal: Option<&web_sys::AbortSignal>) -> Result<(), ()> {
    wasm_bindgen_futures::JsFuture::from(sleep_promise(ms, signal.cloned())).await.map(|_| ()).map_err(|_| ())
}

/// Handles `promise`'s rejection by ignoring it, for a promise nobody may
/// await whose failure is reported another way. The handler is the
/// platform's `Boolean`, which takes any value and never throws: no
/// closure of our own.
pub fn ignore_rejection(promise: &js_sys::Promise) {
    promise.unchecked_ref::<Rejectable>().catch_with(&get(&js_sys::global(), "Boolean"));
}

#[wasm_bindgen]
extern "C" {
    /// A promise, with `catch` taking any function (js-sys takes only a
    /// Rust closure).
    type Rejectable;
    #[wasm_bindgen(method, js_name = catch)]
    fn catch_with(this: &Rejectable, handler: &JsValue) -> JsValue;
}

/// Milliseconds since the Unix epoch (`Date.now()`).
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// A new random (version 4) UUID in lowercase hyphenated form, from the
/// CSPRNG: idempotency keys and the ids of live-write owners.
pub fn new_uuid() -> String {
    let mut buf = [0u8; uuid::fmt::Hyphenated::LENGTH];
    uuid::Uuid::new_v4().hyphenated().encode_lower(&mut buf).to_owned()
}

/// A uniform number in `[0, 1)` for jitter (not for keys: those come from
/// the CSPRNG through `uuid`).
pub fn random() -> f64 {
    js_sys::Math::random()
}

/// Property `name` of `obj`, `undefined` when absent or `obj` is not an object.
pub fn get(obj: &JsValue, name: &str) -> JsValue {
    if obj.is_object() {
        Reflect::get(obj, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
    } else {
        JsValue::UNDEFINED
    }
}

/// `values` as a JavaScript array (a plain loop: `collect` would add an
/// iterator specialisation per source type).
pub fn array(values: Vec<JsValue>) -> JsValue {
    let array = js_sys::Array::new();
    for value in values {
        array.push(&value);
    }
    array.into()
}

/// `text` as a JavaScript string, or `null`.
pub fn text_or_null(text: Option<&str>) -> JsValue {
    text.map(JsValue::from).unwrap_or(JsValue::NULL)
}

/// Sets property `name` on `obj` (a plain object we created).
pub fn set(obj: &Object, name: &str, value: impl Into<JsValue>) {
    set_value(obj, name, value.into());
}

/// [`set`] once the value is converted: one copy, whatever the value's type.
#[inline(never)]
fn set_value(obj: &Object, name: &str, value: JsValue) {
    let _ = Reflect::set(obj, &JsValue::from_str(name), &value);
}

/// Classifies a JavaScript value for option validation.
pub fn raw(value: &JsValue) -> Raw {
    if value.is_undefined() {
        Raw::Missing
    } else if let Some(n) = value.as_f64() {
        Raw::Number(n)
    } else if let Some(b) = value.as_bool() {
        Raw::Bool(b)
    } else if let Some(s) = value.as_string() {
        Raw::Text(s)
    } else if value.is_null() {
        Raw::Other("null")
    } else if value.is_function() {
        Raw::Other("function")
    } else if value.is_bigint() {
        Raw::Other("bigint")
    } else if value.is_symbol() {
        Raw::Other("symbol")
    } else {
        Raw::Other("object")
    }
}

/// The message of a thrown JavaScript value.
pub fn message_of(thrown: &JsValue) -> String {
    get(thrown, "message").as_string().or_else(|| thrown.as_string()).unwrap_or_else(|| "unknown error".into())
}

/// The one place an [`Error`] becomes what JavaScript sees: an `ApiError`
/// (a real `Error` subclass, defined in glue.js) with its kind, message and
/// the call's details; a value the app's code threw stays as it was.
impl From<Error> for JsValue {
    fn from(e: Error) -> JsValue {
        let fields = Object::new();
        let (kind, message) = match e {
            Error::InvalidInput(m) => (ErrorKind::InvalidInput, m),
            Error::Storage(m) => (ErrorKind::Storage, m),
            Error::Js(thrown) => return thrown,
            Error::Call(call) => {
                let CallError { kind, message, idempotency_key, attempts, queue_id, response } = *call;
                if let Some((status, body)) = response {
                    set(&fields, "status", status);
                    set(&fields, "body", body);
                }
                if let Some(key) = idempotency_key {
                    set(&fields, "idempotencyKey", key);
                }
                set(&fields, "attempts", attempts);
                if let Some(id) = queue_id {
                    set(&fields, "queueId", id);
                }
                (kind, message)
            }
        };
        make_api_error(kind.as_str(), &message, &fields)
    }
}

/// Runs a future as a JavaScript Promise. Every caller goes through this one
/// boxed instantiation of `future_to_promise`, instead of a copy of the task
/// machinery per future type (several KB of wasm each).
/// A rejection is the [`Error`] turned into its `ApiError` here.
pub fn promise(fut: impl std::future::Future<Output = Result<JsValue, Error>> + 'static) -> js_sys::Promise {
    let boxed: std::pin::Pin<Box<dyn std::future::Future<Output = Result<JsValue, Error>>>> = Box::pin(fut);
    wasm_bindgen_futures::future_to_promise(settle(boxed))
}

/// The one wrapper that turns every promise's error into its `ApiError`.
async fn settle(fut: std::pin::Pin<Box<dyn std::future::Future<Output = Result<JsValue, Error>>>>) -> Result<JsValue, JsValue> {
    fut.await.map_err(JsValue::from)
}
