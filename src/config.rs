//! Reading `ClientConfig` and per-call `PostOptions` from JavaScript objects,
//! with the validation rules of `options` applied and errors that name the
//! offending field.

use js_sys::{Array, Function, Object};
use wasm_bindgen::prelude::*;

use crate::defaults;
use crate::js::{get, raw};
use crate::operation::absolute_url;
use crate::options::{header_token, Overrides, Raw};

/// Where the client's headers come from before every attempt and replay.
pub enum HeaderSource {
    /// No client-wide headers.
    None,
    /// A fixed object of header names to string values.
    Fixed(Vec<(String, String)>),
    /// A function returning such an object, or a Promise of one; called
    /// before every attempt so an expired token can be refreshed.
    Function(Function),
}

/// The client's configuration (`new ApiClient(config)`).
pub struct ClientConfig {
    /// Base for relative URLs; default the page's location.
    pub base_url: Option<String>,
    /// Separates offline queues per tenant/user (default `"default"`).
    pub namespace: String,
    /// Headers sent with every request.
    pub headers: HeaderSource,
    /// Lowercased header names allowed into the offline queue.
    pub persist_headers: Vec<String>,
    /// Defaults of the per-call options.
    pub defaults: Overrides,
    /// How long a queued request may wait before it is dead-lettered (ms).
    pub max_retention_ms: f64,
    /// The URL the client probes to know whether the server answers
    /// (`healthUrl`, absolute or relative to the base); none: the browser's
    /// `navigator.onLine` alone decides.
    pub health_url: Option<String>,
    /// How long a probe may take (`probeTimeout`, ms).
    pub probe_timeout_ms: f64,
    /// Whether a queued write asks the Service Worker for a Background Sync
    /// (`backgroundSync`), so the queue drains with no page open.
    pub background_sync: bool,
}


/// An object that is neither an array nor a function.
fn is_plain_object(value: &JsValue) -> bool {
    value.is_object() && !Array::is_array(value) && !value.is_function()
}

fn require_object(field: &str, value: &JsValue) -> Result<(), String> {
    if value.is_undefined() || is_plain_object(value) {
        Ok(())
    } else {
        Err([field, " must be an object"].concat())
    }
}

/// Reads an object of header names to string values.
pub fn header_pairs(field: &str, value: &JsValue) -> Result<Vec<(String, String)>, String> {
    if value.is_undefined() {
        return Ok(Vec::new());
    }
    if !is_plain_object(value) {
        return Err([field, " must be an object of header names to string values"].concat());
    }
    let mut pairs = Vec::new();
    let entries = Object::entries(value.unchecked_ref());
    for i in 0..entries.length() {
        let entry: Array = entries.get(i).unchecked_into();
        let name = entry.get(0).as_string().unwrap_or_default();
        match entry.get(1).as_string() {
            Some(v) => pairs.push((name, v)),
            None => return Err([field, ".", &name, " must be a string"].concat()),
        }
    }
    Ok(pairs)
}

impl ClientConfig {
    /// Validates and reads `config` (which may be `undefined`).
    pub fn from_js(config: &JsValue) -> Result<ClientConfig, String> {
        require_object("config", config)?;
        let base_url = match raw(&get(config, "baseUrl")) {
            Raw::Missing => None,
            Raw::Text(s) => {
                if !crate::js::is_absolute_url(&s) {
                    return Err(["config.baseUrl is not an absolute URL: ", &s].concat());
                }
                Some(s)
            }
            _ => return Err("config.baseUrl must be a string".into()),
        };
        let namespace = match raw(&get(config, "namespace")) {
            Raw::Missing => defaults::NAMESPACE.to_string(),
            Raw::Text(s) if !s.is_empty() && s.len() <= 128 => s,
            _ => return Err("config.namespace must be a string of 1 to 128 characters".into()),
        };
        let headers_value = get(config, "headers");
        let headers = if headers_value.is_undefined() {
            HeaderSource::None
        } else if headers_value.is_function() {
            HeaderSource::Function(headers_value.unchecked_into())
        } else {
            HeaderSource::Fixed(header_pairs("config.headers", &headers_value)?)
        };
        let persist_value = get(config, "persistHeaders");
        let mut persist_headers = Vec::new();
        if !persist_value.is_undefined() {
            if !Array::is_array(&persist_value) {
                return Err("config.persistHeaders must be an array of header names".into());
            }
            let names: &Array = persist_value.unchecked_ref();
            for i in 0..names.length() {
                match names.get(i).as_string() {
                    Some(n) => persist_headers.push(n.to_ascii_lowercase()),
                    None => return Err("config.persistHeaders must contain only strings".into()),
                }
            }
        }
        let max_retention_ms = crate::options::positive_ms("config.maxRetention", &raw(&get(config, "maxRetention")))?.unwrap_or(defaults::MAX_RETENTION_MS);
        let defaults = Overrides::parse("config", |name| raw(&get(config, name)))?;
        let health_url = match raw(&get(config, "healthUrl")) {
            Raw::Missing => None,
            Raw::Text(s) => Some(absolute_url("config.healthUrl", &JsValue::from_str(&s), base_url.as_deref())?),
            _ => return Err("config.healthUrl must be a string".into()),
        };
        let probe_timeout = crate::options::positive_ms("config.probeTimeout", &raw(&get(config, "probeTimeout")))?;
        let probe_timeout_ms = crate::options::timer_ms("config.probeTimeout", probe_timeout)?.unwrap_or(defaults::PROBE_TIMEOUT_MS);
        let background_sync = crate::options::boolean("config.backgroundSync", &raw(&get(config, "backgroundSync")))?.unwrap_or(defaults::BACKGROUND_SYNC);
        Ok(ClientConfig { base_url, namespace, headers, persist_headers, defaults, max_retention_ms, health_url, probe_timeout_ms, background_sync })
    }
}

/// The per-call options (`PostOptions`).
pub struct CallOptions {
    /// Retry and timeout settings given for this call.
    pub overrides: Overrides,
    /// The caller's idempotency key, used as is.
    pub idempotency_key: Option<String>,
    /// The caller's identity for in-flight deduplication.
    pub dedupe_key: Option<String>,
    /// Extra headers for this call.
    pub headers: Vec<(String, String)>,
    /// The caller's AbortSignal: aborts everything, never queues.
    pub signal: Option<web_sys::AbortSignal>,
}

impl CallOptions {
    /// Validates and reads `options` (which may be `undefined`).
    pub fn from_js(options: &JsValue) -> Result<CallOptions, String> {
        require_object("options", options)?;
        let overrides = Overrides::parse("options", |name| raw(&get(options, name)))?;
        let mut idempotency_key = header_token("options.idempotencyKey", &raw(&get(options, "idempotencyKey")))?;
        let dedupe_key = header_token("options.dedupeKey", &raw(&get(options, "dedupeKey")))?;
        let headers = header_pairs("options.headers", &get(options, "headers"))?;
        // A key given as a header counts as the caller's key too.
        if let Some((_, v)) = headers.iter().find(|(n, _)| n.eq_ignore_ascii_case("idempotency-key")) {
            let from_header = header_token("options.headers[\"Idempotency-Key\"]", &Raw::Text(v.clone()))?;
            match &idempotency_key {
                Some(k) if Some(k) != from_header.as_ref() => {
                    return Err("options.idempotencyKey and the Idempotency-Key header disagree".into())
                }
                _ => idempotency_key = from_header,
            }
        }
        let signal_value = get(options, "signal");
        let signal = if signal_value.is_undefined() {
            None
        } else {
            match signal_value.dyn_into::<web_sys::AbortSignal>() {
                Ok(s) => Some(s),
                Err(_) => return Err("options.signal must be an AbortSignal".into()),
            }
        };
        Ok(CallOptions { overrides, idempotency_key, dedupe_key, headers, signal })
    }
}
