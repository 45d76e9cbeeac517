//! One HTTP attempt and what came back: the thin layer between the retry
//! loop and `fetch` (glue.js `attempt`, which also reads the body).

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::js::{self, get};

/// A response as the SDK keeps it: status, headers and the body, read in
/// full under the attempt's timeout and parsed once (JSON when the content
/// type says so, `null` for 204/205, text otherwise), and the two headers
/// the SDK reads itself, read by glue.js `attempt`.
pub struct HttpResponse {
    pub status: u16,
    pub headers: web_sys::Headers,
    pub body: JsValue,
    /// The `Retry-After` header, if present.
    pub retry_after: Option<String>,
    replayed: bool,
}

impl HttpResponse {
    /// Whether the server says this response was replayed from its
    /// idempotency store (`Idempotent-Replayed: true` or `X-Idempotent-Replay: true`).
    pub fn replayed(&self) -> bool {
        self.replayed
    }
}

/// How one attempt ended.
pub enum Attempt {
    /// A response arrived (any status).
    Response(HttpResponse),
    /// The per-attempt timeout fired.
    Timeout,
    /// The caller's AbortSignal fired.
    Aborted,
    /// No response.
    Network,
    /// Nothing was sent: a header name or value is not a valid header.
    InvalidHeader,
}

/// The request one attempt sends.
pub struct Outgoing<'a> {
    pub url: &'a str,
    pub method: &'a str,
    /// Header names and values, alternating, set in this order.
    pub headers: &'a js_sys::Array,
    pub body: Option<&'a str>,
    /// The idempotency key, set after every other header.
    pub key: Option<&'a str>,
}

/// Sends one attempt, aborting it after `timeout_ms` or when `signal` fires.
/// Returns how it ended and why, as the retry loop and the errors tell it:
/// "timeout", "aborted", "network: …" (the browser's message), "status N",
/// or "invalid header: NAME".
pub async fn send(req: &Outgoing<'_>, timeout_ms: f64, signal: Option<&web_sys::AbortSignal>) -> (Attempt, String) {
    let promise = js::fetch_attempt(req.url, req.method, req.headers, req.body, req.key, timeout_ms, signal.cloned());
    let result = match JsFuture::from(promise).await {
        Ok(v) => v,
        Err(e) => return (Attempt::Network, ["network: ", &js::message_of(&e)].concat()),
    };
    // glue.js `attempt`'s outcomes, in its order.
    let attempt = match get(&result, "outcome").as_f64().unwrap_or(0.0) as u8 {
        1 => Attempt::Response(HttpResponse {
            status: get(&result, "status").as_f64().unwrap_or(0.0) as u16,
            headers: get(&result, "headers").unchecked_into(),
            body: get(&result, "body"),
            retry_after: get(&result, "retryAfter").as_string(),
            replayed: get(&result, "replayed").is_truthy(),
        }),
        2 => Attempt::Timeout,
        3 => Attempt::Aborted,
        4 => Attempt::InvalidHeader,
        _ => Attempt::Network,
    };
    (attempt, get(&result, "reason").as_string().unwrap_or_default())
}
