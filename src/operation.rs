//! Preparing a call: what the caller passed, validated and turned into one
//! logical operation (method, absolute URL, JSON body, headers, key), or an
//! error message that names the problem.

use wasm_bindgen::prelude::*;

use crate::config::{CallOptions, ClientConfig};
use crate::dedup::dedup_keys;
use crate::error::Error;
use crate::js;
use crate::options::Settings;
use crate::outbox::record::QueuedRequest;

/// One validated logical operation, ready to send.
pub(crate) struct Operation {
    pub method: String,
    pub url: String,
    pub body: Option<String>,
    pub headers: Vec<(String, String)>,
    /// The idempotency key sent on every attempt (`None` for GET/HEAD/OPTIONS).
    pub key: Option<String>,
    pub settings: Settings,
    pub signal: Option<web_sys::AbortSignal>,
}

impl Operation {
    /// Whether this operation may wait in the outbox: a write (it has a key
    /// to replay with), `queueIfOffline` on, and no caller signal (an
    /// abortable call is the caller's to finish, never ours).
    pub fn queueable(&self) -> bool {
        self.key.is_some() && self.settings.queue_if_offline && self.signal.is_none()
    }

    /// The outbox record of this operation. Only the headers `persist`
    /// allows are kept: credentials stay in memory unless listed.
    pub fn record(&self, persist: &[String], owner: Option<&str>, attempts: u32, created_at: f64, next_attempt_at: f64, last_error: Option<&str>) -> QueuedRequest {
        QueuedRequest {
            id: None,
            idempotency_key: self.key.clone().expect("queueable operations have a key"),
            method: self.method.clone(),
            url: self.url.clone(),
            body: self.body.clone(),
            headers: persisted_headers(&self.headers, persist),
            created_at,
            attempts,
            next_attempt_at,
            last_error: last_error.map(str::to_owned),
            owner: owner.map(str::to_owned),
        }
    }
}

/// Whether `method` changes state on the server, so it carries a key.
fn is_write(method: &str) -> bool {
    matches!(method, "POST" | "PUT" | "PATCH" | "DELETE")
}

/// The method, validated and upper-cased; `None` (a `post`) is POST.
fn normalize_method(method: Option<&JsValue>) -> Result<String, String> {
    let Some(method) = method else { return Ok("POST".into()) };
    let m = method.as_string().ok_or("method must be a string such as \"POST\"")?;
    // An RFC 9110 token: letters, digits and !#$%&'*+-.^_`|~.
    let valid = !m.is_empty() && m.bytes().all(|b| matches!(b, b'0'..=b'9' | b'A'..=b'Z' | b'a'..=b'z' | b'!' | b'#'..=b'\'' | b'*' | b'+' | b'-' | b'.' | b'^' | b'_' | b'`' | b'|' | b'~'));
    if !valid {
        return Err(["method is not a valid HTTP method: ", &m].concat());
    }
    Ok(m.to_ascii_uppercase())
}

/// `url` (a string or a `URL`) as an absolute http(s) URL, resolved
/// against `base` (or, without one, the page's location); errors name
/// `field`. One glue call (`absoluteUrl`), which keeps the last result: a
/// till posts to the same endpoint over and over.
pub(crate) fn absolute_url(field: &str, url: &JsValue, base: Option<&str>) -> Result<String, String> {
    js::absolute_url(field, url, base).map_err(|e| e.as_string().unwrap_or_default())
}

/// Validates a call and turns it into an operation, or names the problem.
/// Also returns the dedup keys the call is known by while in flight.
/// `method` `None` is a `post`.
pub(crate) fn prepare(config: &ClientConfig, method: Option<&JsValue>, url: &JsValue, body: &JsValue, options: &JsValue) -> Result<(Operation, Vec<String>), Error> {
    prepare_call(config, method, url, body, options).map_err(Error::InvalidInput)
}

fn prepare_call(config: &ClientConfig, method: Option<&JsValue>, url: &JsValue, body: &JsValue, options: &JsValue) -> Result<(Operation, Vec<String>), String> {
    let method = normalize_method(method)?;
    let url = absolute_url("url", url, config.base_url.as_deref())?;
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
    let settings = opts.overrides.or(&config.defaults).resolve();
    let dedup = dedup_keys(&method, &url, body.as_deref(), opts.dedupe_key.as_deref(), opts.idempotency_key.as_deref());
    let key = if is_write(&method) {
        Some(opts.idempotency_key.unwrap_or_else(js::new_uuid))
    } else {
        None
    };
    let op = Operation { method, url, body, headers: opts.headers, key, settings, signal: opts.signal };
    Ok((op, dedup))
}

/// The call headers allowed into the outbox: `Content-Type`, and the names
/// listed in `persistHeaders`.
fn persisted_headers(headers: &[(String, String)], allowed: &[String]) -> Vec<(String, String)> {
    let mut kept = Vec::new();
    for (name, value) in headers {
        let lower = name.to_ascii_lowercase();
        if lower == "content-type" || allowed.contains(&lower) {
            kept.push((name.clone(), value.clone()));
        }
    }
    kept
}
