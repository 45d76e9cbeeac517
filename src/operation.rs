//! Preparing a call: what the caller passed, validated and turned into one
//! logical operation (method, absolute URL, JSON body, headers, key), or an
//! error message that names the problem.

use std::cell::RefCell;

use wasm_bindgen::prelude::*;

use crate::config::{CallOptions, ClientConfig};
use crate::dedup::dedup_keys;
use crate::error::Error;
use crate::js::{self, get};
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

/// Resolves URLs against the client's base. A till posts to the same
/// endpoint over and over, so the last result is kept: that spares a
/// `new URL` per call.
#[derive(Default)]
pub(crate) struct UrlResolver {
    /// (as given, base, absolute)
    last: RefCell<Option<(String, Option<String>, String)>>,
}

impl UrlResolver {
    /// The absolute http(s) URL of `url` (a string or a `URL`).
    fn resolve(&self, url: &JsValue, base: Option<String>) -> Result<String, String> {
        let text = if url.is_string() {
            url.as_string().unwrap_or_default()
        } else if url.is_instance_of::<web_sys::Url>() {
            url.unchecked_ref::<web_sys::Url>().href()
        } else {
            return Err("url must be a string or a URL".into());
        };
        if let Some((t, b, resolved)) = self.last.borrow().as_ref() {
            if *t == text && *b == base {
                return Ok(resolved.clone());
            }
        }
        let resolved = absolute_url("url", &text, base.as_deref())?;
        *self.last.borrow_mut() = Some((text, base, resolved.clone()));
        Ok(resolved)
    }
}

/// Whether `method` changes state on the server, so it carries a key.
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

/// The page's (or worker's) location, if it has one.
fn global_location() -> Option<String> {
    get(&get(&js_sys::global(), "location"), "href").as_string()
}

/// `text` as an absolute http(s) URL, resolved against `base` (or, without
/// one, the page's location); errors name `field`.
pub(crate) fn absolute_url(field: &str, text: &str, base: Option<&str>) -> Result<String, String> {
    let location;
    let base = match base {
        Some(b) => Some(b),
        None => {
            location = global_location();
            location.as_deref()
        }
    };
    let parsed = match base {
        Some(b) => web_sys::Url::new_with_base(text, b),
        None => web_sys::Url::new(text),
    }
    .map_err(|_| [field, " is not a valid URL: ", text].concat())?;
    let protocol = parsed.protocol();
    if protocol != "http:" && protocol != "https:" {
        return Err([field, " must use http or https, got ", &protocol, " in ", text].concat());
    }
    Ok(parsed.href())
}

/// Validates a call and turns it into an operation, or names the problem.
/// Also returns the dedup keys the call is known by while in flight.
pub(crate) fn prepare(config: &ClientConfig, urls: &UrlResolver, method: &JsValue, url: &JsValue, body: &JsValue, options: &JsValue) -> Result<(Operation, Vec<String>), Error> {
    prepare_call(config, urls, method, url, body, options).map_err(Error::InvalidInput)
}

fn prepare_call(config: &ClientConfig, urls: &UrlResolver, method: &JsValue, url: &JsValue, body: &JsValue, options: &JsValue) -> Result<(Operation, Vec<String>), String> {
    let method = normalize_method(method)?;
    let url = urls.resolve(url, config.base_url.clone().or_else(global_location))?;
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
        Some(opts.idempotency_key.unwrap_or_else(|| js::new_uuid()))
    } else {
        None
    };
    let op = Operation { method, url, body, headers: opts.headers, key, settings, signal: opts.signal };
    Ok((op, dedup))
}

/// The call headers allowed into the outbox: `Content-Type`, and the names
/// listed in `persistHeaders`.
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
