//! One HTTP attempt and the parsing of its response: the thin layer between
//! the retry loop and `fetch`.

use js_sys::{Object, JSON};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::js::{self, get};

/// A response as the SDK keeps it: status, headers (lowercased names) and
/// the body, read in full under the attempt's timeout and parsed once.
pub struct HttpResponse {
    pub status: u16,
    pub headers: Object,
    /// The body as JavaScript sees it (see [`parse_body`]).
    pub body: JsValue,
}

impl HttpResponse {
    /// The value of header `name` (lowercase), if present.
    pub fn header(&self, name: &str) -> Option<String> {
        get(&self.headers, name).as_string()
    }

    /// Whether the server says this response was replayed from its
    /// idempotency store (`Idempotent-Replayed: true` or `X-Idempotent-Replay: true`).
    pub fn replayed(&self) -> bool {
        ["idempotent-replayed", "x-idempotent-replay"]
            .iter()
            .any(|h| self.header(h).is_some_and(|v| v.trim().eq_ignore_ascii_case("true")))
    }

}

/// The body as JavaScript sees it: parsed JSON when the content type is JSON
/// (`application/json`, `…+json`), `null` for 204/205 or an empty JSON body,
/// text otherwise (also when JSON was promised but malformed).
fn parse_body(status: u16, content_type: Option<String>, text: String) -> JsValue {
    if status == 204 || status == 205 {
        return JsValue::NULL;
    }
    let content_type = content_type.unwrap_or_default().to_ascii_lowercase();
    let media = content_type.split(';').next().unwrap_or("").trim();
    if media == "application/json" || media.ends_with("+json") {
        if text.trim().is_empty() {
            return JsValue::NULL;
        }
        if let Ok(v) = JSON::parse(&text) {
            return v;
        }
    }
    JsValue::from_str(&text)
}

/// How one attempt ended.
pub enum Attempt {
    /// A response arrived (any status).
    Response(HttpResponse),
    /// The per-attempt timeout fired.
    Timeout,
    /// The caller's AbortSignal fired.
    Aborted,
    /// No response: the message from the browser.
    Network(String),
}

/// The request one attempt sends.
pub struct Outgoing<'a> {
    pub url: &'a str,
    pub method: &'a str,
    pub headers: &'a web_sys::Headers,
    pub body: Option<&'a str>,
}

/// Sends one attempt, aborting it after `timeout_ms` or when `signal` fires.
pub async fn send(req: &Outgoing<'_>, timeout_ms: f64, signal: Option<&web_sys::AbortSignal>) -> Attempt {
    let promise = js::fetch_attempt(req.url, req.method, req.headers, req.body.map(str::to_owned), timeout_ms, signal.cloned());
    let result = match JsFuture::from(promise).await {
        Ok(v) => v,
        Err(e) => return Attempt::Network(js::message_of(&e)),
    };
    match get(&result, "outcome").as_string().as_deref() {
        Some("response") => {
            let status = get(&result, "status").as_f64().unwrap_or(0.0) as u16;
            let headers: Object = get(&result, "headers").dyn_into().unwrap_or_default();
            let body = parse_body(status, get(&headers, "content-type").as_string(), get(&result, "text").as_string().unwrap_or_default());
            Attempt::Response(HttpResponse { status, headers, body })
        }
        Some("timeout") => Attempt::Timeout,
        Some("aborted") => Attempt::Aborted,
        _ => Attempt::Network(get(&result, "message").as_string().unwrap_or_else(|| "network error".into())),
    }
}
