//! The stored shape of a queued request, read and written with
//! `js_sys::Reflect` (no serde: smaller code, and a foreign or corrupt
//! record is reported, not trusted).

use js_sys::Object;
use wasm_bindgen::prelude::*;

use super::policy::DeadReason;
use crate::config::header_pairs;
use crate::js::{get, set, text_or_null};

/// The schema version written into each record (`v`). Version 1 records
/// (no `nextAttemptAt`, no `v`) and version 2 records (no `owner`) are
/// still read.
pub const RECORD_VERSION: u32 = 3;

/// A request waiting in the offline queue.
#[derive(Clone, Debug, PartialEq)]
pub struct QueuedRequest {
    /// The auto-increment key: the FIFO position. `None` before insertion.
    pub id: Option<f64>,
    /// The key every attempt and replay of this operation carries.
    pub idempotency_key: String,
    pub method: String,
    /// Absolute URL.
    pub url: String,
    /// JSON text, if the request has a body.
    pub body: Option<String>,
    /// Only the headers `persistHeaders` allows (and Content-Type).
    pub headers: Vec<(String, String)>,
    /// When the operation was first attempted (ms since the epoch).
    pub created_at: f64,
    /// Sends so far, live attempts included.
    pub attempts: u32,
    /// Not replayed before this time, except by a forced drain.
    pub next_attempt_at: f64,
    /// Why the last send failed.
    pub last_error: Option<String>,
    /// The client whose live call is sending it (written ahead of the
    /// call's first attempt); `None` once it waits for the drains.
    pub owner: Option<String>,
}

impl QueuedRequest {
    /// The JavaScript object stored in IndexedDB and shown by `listQueue()`.
    pub fn to_js(&self) -> JsValue {
        let o = Object::new();
        if let Some(id) = self.id {
            set(&o, "id", id);
        }
        set(&o, "v", RECORD_VERSION);
        set(&o, "idempotencyKey", self.idempotency_key.as_str());
        set(&o, "method", self.method.as_str());
        set(&o, "url", self.url.as_str());
        set(&o, "body", text_or_null(self.body.as_deref()));
        let headers = Object::new();
        for (name, value) in &self.headers {
            set(&headers, name, value.as_str());
        }
        set(&o, "headers", headers);
        set(&o, "createdAt", self.created_at);
        set(&o, "attempts", self.attempts);
        set(&o, "nextAttemptAt", self.next_attempt_at);
        set(&o, "lastError", text_or_null(self.last_error.as_deref()));
        set(&o, "owner", text_or_null(self.owner.as_deref()));
        o.into()
    }

    /// Reads a stored record; `Err` names the first field that is missing or
    /// of the wrong type (the record then goes to the dead-letter store).
    pub fn from_js(v: &JsValue) -> Result<QueuedRequest, &'static str> {
        if !v.is_object() {
            return Err("record is not an object");
        }
        let text = |name: &'static str| get(v, name).as_string().ok_or(name);
        let id = get(v, "id").as_f64();
        let body = match get(v, "body") {
            b if b.is_null() || b.is_undefined() => None,
            b => Some(b.as_string().ok_or("body")?),
        };
        let headers_value = get(v, "headers");
        let headers = if headers_value.is_null() {
            Vec::new()
        } else {
            header_pairs("headers", &headers_value).map_err(|_| "headers")?
        };
        let created_at = get(v, "createdAt").as_f64().ok_or("createdAt")?;
        let number_or = |name: &'static str, default: f64| -> Result<f64, &'static str> {
            let x = get(v, name);
            if x.is_undefined() || x.is_null() {
                Ok(default)
            } else {
                x.as_f64().ok_or(name)
            }
        };
        Ok(QueuedRequest {
            id,
            idempotency_key: text("idempotencyKey")?,
            method: text("method")?,
            url: text("url")?,
            body,
            headers,
            created_at,
            attempts: number_or("attempts", 0.0)? as u32,
            next_attempt_at: number_or("nextAttemptAt", 0.0)?,
            last_error: get(v, "lastError").as_string(),
            owner: get(v, "owner").as_string(),
        })
    }
}

/// A request that can never be delivered as it is, kept in the dead-letter
/// store with the reason, until the app retries or discards it.
pub struct DeadLetter<'a> {
    /// Why it was taken out of the queue.
    pub reason: DeadReason,
    /// What went wrong, in words (the failed attempt, the malformed field).
    pub detail: &'a str,
    /// Its id in the queue when it was taken out.
    pub queue_id: &'a JsValue,
    /// The key it was sent with, if the stored record had a readable one.
    pub idempotency_key: Option<String>,
    /// The status and body of the answer that condemned it, if any.
    pub response: Option<(u16, &'a JsValue)>,
    /// The stored record as it was (it may be the unreadable one).
    pub request: &'a JsValue,
}

impl DeadLetter<'_> {
    /// The JavaScript object stored in the dead-letter store and shown by
    /// `deadLetters()` and the `dead-letter` event (`id` is added once stored).
    pub fn to_js(&self, dead_at: f64) -> Object {
        let o = Object::new();
        set(&o, "reason", self.reason.as_str());
        set(&o, "detail", self.detail);
        set(&o, "deadAt", dead_at);
        set(&o, "queueId", self.queue_id);
        set(&o, "idempotencyKey", text_or_null(self.idempotency_key.as_deref()));
        if let Some((status, body)) = &self.response {
            set(&o, "status", *status);
            set(&o, "body", *body);
        }
        set(&o, "request", self.request);
        o
    }

    /// The request of a stored dead letter, ready to go back to the queue;
    /// `Err` names the field that keeps it from being replayed.
    pub fn replayable(stored: &JsValue) -> Result<QueuedRequest, &'static str> {
        QueuedRequest::from_js(&get(stored, "request"))
    }
}
