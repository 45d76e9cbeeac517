//! One attempt of a request, shared by live calls and outbox replays: its
//! headers (layered, the key last), the send, and what came back as the
//! retry policy reads it.

use js_sys::{Array, Function};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

use crate::config::{header_pairs, HeaderSource};
use crate::error::Error;
use crate::js;
use crate::retry::AttemptOutcome;
use crate::retry_after::parse_retry_after;
use crate::transport::{self, Attempt, HttpResponse, Outgoing};

/// What one attempt sends.
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

/// Sends one attempt of `req` with the client's `headers` and reads what
/// came back. `Err` only when the headers were refused (the headers
/// function failed, or a name or value is not a valid header): nothing was sent.
pub(crate) async fn send_once(headers: &HeaderSource, req: &Request<'_>, timeout_ms: f64, signal: Option<&web_sys::AbortSignal>) -> Result<Sent, Error> {
    let headers = attempt_headers(headers, req).await?;
    let outgoing = Outgoing { url: req.url, method: req.method, headers: &headers, body: req.body, key: req.key };
    let (attempt, reason) = transport::send(&outgoing, timeout_ms, signal).await;
    Ok(match attempt {
        Attempt::InvalidHeader => return Err(Error::InvalidInput(reason)),
        Attempt::Aborted => Sent { outcome: AttemptOutcome::Network, response: None, reason, aborted: true },
        Attempt::Timeout => Sent { outcome: AttemptOutcome::Timeout, response: None, reason, aborted: false },
        Attempt::Network => Sent { outcome: AttemptOutcome::Network, response: None, reason, aborted: false },
        Attempt::Response(resp) => {
            let header = resp.retry_after.as_deref();
            let outcome = AttemptOutcome::Response {
                status: resp.status,
                has_retry_after: header.is_some(),
                retry_after_ms: header.and_then(|h| parse_retry_after(h, js::now_ms())),
            };
            Sent { outcome, response: Some(resp), reason, aborted: false }
        }
    })
}

/// The headers of one attempt as the name, value list glue.js `attempt`
/// sets in order: the stored ones, then the client's (its function is
/// called anew each time), then the call's. The glue adds `Content-Type`
/// for a JSON body and the operation's key last, so nothing overwrites it.
async fn attempt_headers(source: &HeaderSource, req: &Request<'_>) -> Result<Array, Error> {
    let fetched;
    let client_pairs: &[(String, String)] = match source {
        HeaderSource::None => &[],
        HeaderSource::Fixed(pairs) => pairs,
        HeaderSource::Function(f) => {
            fetched = call_header_function(f).await?;
            &fetched
        }
    };
    let list = Array::new();
    for layer in [req.stored_headers, client_pairs, req.call_headers] {
        for (name, value) in layer {
            list.push(&JsValue::from_str(name));
            list.push(&JsValue::from_str(value));
        }
    }
    Ok(list)
}

/// Calls the client's headers function and awaits its result when it is a
/// Promise. A throw or a bad result rejects the call with `invalid-input`.
async fn call_header_function(f: &Function) -> Result<Vec<(String, String)>, Error> {
    let fail = |detail: String| Error::InvalidInput(["config.headers function failed: ", &detail].concat());
    let value = JsFuture::from(js::call_async(f)).await.map_err(|e| fail(js::message_of(&e)))?;
    header_pairs("the object returned by config.headers", &value).map_err(Error::InvalidInput)
}
