//! One call from start to end: its write-ahead to the outbox, its attempts
//! under the retry policy, and what becomes of its record and its promise
//! when it ends.

use std::rc::Rc;

use wasm_bindgen::prelude::*;

use crate::attempt::{send_once, Request, Sent};
use crate::classify::{classify_status, StatusClass};
use crate::connectivity::{puts_server_in_doubt, queue_without_trying, stop_retrying};
use crate::context::Context;
use crate::error::{CallError, Error, ErrorKind};
use crate::events::Event;
use crate::js::{self, get};
use crate::operation::Operation;
use crate::options::{decimal, format_number};
use crate::outbox::ownership::{fate, CallEnd, RecordFate};
use crate::outbox::policy::first_replay_delay;
use crate::retry::{AttemptOutcome, Decision, GiveUp};
use crate::transport::HttpResponse;

/// `navigator.onLine`, true where the platform does not say.
pub fn navigator_online() -> bool {
    get(&get(&js_sys::global(), "navigator"), "onLine").as_bool().unwrap_or(true)
}

/// How the attempts of a call ended.
enum Ended {
    /// The caller gets this result; the server has answered for the operation
    /// (or nothing was sent: bad headers, an abort).
    Final(Result<JsValue, Error>),
    /// Transient failures used up the attempts (or the total timeout) after
    /// `attempts` sends; the last failed because of `sent`.
    GaveUp { attempts: u32, why: GiveUp, sent: Sent },
}

/// Runs one operation to its end and returns what its promise settles with.
///
/// A queueable write is committed to the outbox before its first attempt
/// (unless `writeAhead` is off), owned by this client while the call runs;
/// a final answer removes the record, giving up releases it to the drains
/// and rejects with `queued`. If the write-ahead fails, the call still goes
/// to the network and `write-ahead-failed` tells the app.
pub(crate) async fn run(ctx: &Rc<Context>, op: &Operation) -> Result<JsValue, Error> {
    let queueable = op.queueable();
    let connection = ctx.monitor.now();
    let created_at = js::now_ms();
    let persist = &ctx.config.persist_headers;
    let (record, reason) = if queueable && queue_without_trying(connection) {
        let reason = connection.as_str();
        (op.record(persist, None, 0, created_at, created_at, Some(reason)), reason.to_owned())
    } else {
        let written = if queueable && op.settings.write_ahead {
            let record = op.record(persist, Some(&ctx.live.id), 0, created_at, created_at, None);
            match ctx.live.write_ahead(ctx, &record).await {
                Ok(id) => Some(id),
                Err(e) => {
                    write_ahead_failed(ctx, op, &e);
                    None
                }
            }
        } else {
            None
        };
        match attempt_until_final(ctx, op).await {
            Ended::Final(result) => {
                if let (Some(id), RecordFate::Remove) = (written, fate(CallEnd::Final)) {
                    ctx.live.finish(ctx, id);
                }
                return result;
            }
            Ended::GaveUp { attempts, sent, .. } if queueable => {
                let next = js::now_ms() + first_replay_delay(attempts, js::random());
                let mut record = op.record(persist, None, attempts, created_at, next, Some(&sent.reason));
                record.id = written;
                (record, sent.reason)
            }
            Ended::GaveUp { attempts, why, sent } => return Err(gave_up(op, attempts, why, &sent)),
        }
    };
    Err(store_for_later(ctx, op, record, &reason).await)
}

/// Sends attempts until one is final or the retry policy gives up.
async fn attempt_until_final(ctx: &Rc<Context>, op: &Operation) -> Ended {
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
        let sent = match send_once(&ctx.config.headers, &req, timeout, op.signal.as_ref()).await {
            Ok(sent) => sent,
            Err(headers_failed) => return Ended::Final(Err(headers_failed)),
        };
        if sent.aborted {
            return Ended::Final(Err(aborted(op, attempts)));
        }
        if puts_server_in_doubt(&sent.outcome, navigator_online()) {
            ctx.monitor.doubt(ctx);
        }
        match op.settings.retry.decide(attempts, &sent.outcome, js::random(), remaining()) {
            Decision::Finish => {
                let resp = sent.response.expect("only responses finish");
                return Ended::Final(if classify_status(resp.status, false) == StatusClass::Success {
                    Ok(js::api_response(resp.status, &resp.headers, &resp.body, resp.replayed(), op.key.as_deref(), attempts))
                } else {
                    Err(failure(ErrorKind::Http, op, &describe_status(&resp), attempts, Some(&resp)))
                });
            }
            Decision::RetryAfter(_) if stop_retrying(ctx.monitor.now(), op.queueable()) => {
                return Ended::GaveUp { attempts, why: GiveUp::ServerUnreachable, sent };
            }
            Decision::RetryAfter(delay) => {
                ctx.emit(Event::Retry {
                    attempt: attempts,
                    delay,
                    reason: &sent.reason,
                    url: &op.url,
                    idempotency_key: op.key.as_deref(),
                    status: sent.response.as_ref().map(|r| r.status),
                });
                if js::sleep(delay, op.signal.as_ref()).await.is_err() {
                    return Ended::Final(Err(aborted(op, attempts)));
                }
            }
            Decision::GiveUp(why) => return Ended::GaveUp { attempts, why, sent },
        }
    }
}

/// The error of a call that gave up and may not wait in the outbox.
fn gave_up(op: &Operation, attempts: u32, why: GiveUp, sent: &Sent) -> Error {
    let built;
    let (kind, what) = match (why, &sent.outcome) {
        (GiveUp::TotalTimeout, _) => (ErrorKind::Timeout, "ran out of its totalTimeout"),
        (GiveUp::ServerUnreachable, _) => (ErrorKind::Network, "gave up: the server does not answer its health probe"),
        (_, AttemptOutcome::Timeout) => {
            built = ["timed out after ", &format_number(op.settings.timeout_ms), " ms"].concat();
            (ErrorKind::Timeout, built.as_str())
        }
        (_, AttemptOutcome::Network) => {
            built = ["failed: ", &sent.reason].concat();
            (ErrorKind::Network, built.as_str())
        }
        (_, AttemptOutcome::Response { .. }) => {
            built = describe_status(sent.response.as_ref().expect("a response"));
            (ErrorKind::Http, built.as_str())
        }
    };
    failure(kind, op, what, attempts, sent.response.as_ref())
}

/// Tells the app that a write is not durable: it goes to the network, but
/// if its page dies before the answer, no outbox record remembers it.
fn write_ahead_failed(ctx: &Context, op: &Operation, e: &Error) {
    let error = e.message();
    ctx.emit(Event::WriteAheadFailed { idempotency_key: op.key.as_deref(), method: &op.method, url: &op.url, error: &error });
}

/// Hands an operation that cannot be delivered now to the outbox and
/// returns the error its promise rejects with: `queued` once it is there,
/// `storage` (with the key, so the caller can retry safely) when IndexedDB
/// failed. A record written ahead (it has its id) is committed already and
/// only released to the drains: even when that update fails, it stays in
/// the outbox and this client's drain sends it. Any other is enqueued.
async fn store_for_later(ctx: &Rc<Context>, op: &Operation, record: crate::outbox::record::QueuedRequest, reason: &str) -> Error {
    let stored = match record.id {
        Some(id) => {
            ctx.live.release(ctx, &record).await;
            Ok(id)
        }
        None => ctx.outbox.enqueue(&record).await,
    };
    match stored {
        Ok(id) => queued(ctx, op, id, record.attempts, record.next_attempt_at, reason),
        Err(e) => {
            let what = ["could not be delivered now (", reason, ") nor stored in the offline queue: ", &e.message()].concat();
            failure(ErrorKind::Storage, op, &what, record.attempts, None)
        }
    }
}

/// Announces record `id` as queued (`queued` event, a drain scheduled) and
/// builds the `queued` error its call rejects with.
fn queued(ctx: &Rc<Context>, op: &Operation, id: f64, attempts: u32, next_attempt_at: f64, reason: &str) -> Error {
    ctx.emit(Event::Queued { queue_id: id, idempotency_key: op.key.as_deref(), method: &op.method, url: &op.url, reason });
    ctx.drainer.enqueued();
    ctx.request_background_sync();
    // No attempt means it was queued because the server cannot be reached
    // now: the monitor drains it when it can (the `online` event, its
    // rechecks, its probes), and a timer drain would only wait for that.
    if attempts > 0 {
        ctx.drainer.schedule(next_attempt_at);
    } else {
        ctx.monitor.refresh(ctx);
    }
    let what = ["could not be delivered now (", reason, "); queued as #", &format_number(id), " and will be sent when the connection returns"].concat();
    let mut e = call_error(ErrorKind::Queued, op, &what, attempts, None);
    e.queue_id = Some(id);
    Error::Call(Box::new(e))
}

fn describe_status(resp: &HttpResponse) -> String {
    let detail = get(&resp.body, "detail").as_string().or_else(|| get(&resp.body, "title").as_string());
    match detail {
        Some(d) => ["answered ", &decimal(resp.status.into()), ": ", &d].concat(),
        None => ["answered ", &decimal(resp.status.into())].concat(),
    }
}

fn message(op: &Operation, what: &str, attempts: u32) -> String {
    let plural = if attempts == 1 { " attempt)" } else { " attempts)" };
    [op.method.as_str(), " ", &op.url, " ", what, " (", &decimal(attempts.into()), plural].concat()
}

fn call_error(kind: ErrorKind, op: &Operation, what: &str, attempts: u32, resp: Option<&HttpResponse>) -> CallError {
    CallError {
        kind,
        message: message(op, what, attempts),
        idempotency_key: op.key.clone(),
        attempts,
        queue_id: None,
        response: resp.map(|r| (r.status, r.body.clone())),
    }
}

/// The error a finished operation rejects with.
fn failure(kind: ErrorKind, op: &Operation, what: &str, attempts: u32, resp: Option<&HttpResponse>) -> Error {
    Error::Call(Box::new(call_error(kind, op, what, attempts, resp)))
}

fn aborted(op: &Operation, attempts: u32) -> Error {
    failure(ErrorKind::Aborted, op, "was aborted by the caller's signal", attempts, None)
}
