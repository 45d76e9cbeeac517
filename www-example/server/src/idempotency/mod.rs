//! The `Idempotency-Key` mechanism, one implementation shared by every write
//! endpoint (IETF draft "The Idempotency-Key HTTP Header Field"; CONTRACT §3).
//!
//! Two halves:
//! - [`middleware`], in front of every write route: requires a well-formed key
//!   (400), fingerprints the request and claims the scope (business, cashier,
//!   key) in the in-flight registry: a second concurrent request gets 409 +
//!   `Retry-After`.
//! - [`execute`], called by each write handler with its domain operation: opens
//!   one SQLite write transaction, answers from the store when the key is
//!   already completed (the stored response with `Idempotent-Replayed: true`,
//!   or 422 when the fingerprint differs), and otherwise runs the operation and
//!   writes the response into `idempotency_keys` in that same transaction, so a
//!   sale and its replayable response are committed together or not at all.
//!   5xx outcomes and 400 (invalid input: the operation never ran) are not
//!   stored, so a retry can proceed.
//!
//! Expired keys are ignored on lookup and deleted by [`spawn_purge`].

pub mod fingerprint;
pub mod inflight;
pub mod key;
pub mod store;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rusqlite::{Connection, TransactionBehavior};
use serde::Serialize;

use crate::auth::Caller;
use crate::body::{read_limited, BufferedBody};
use crate::clock;
use crate::db::Db;
use crate::problem::{Problem, PROBLEM_JSON};
use crate::routes::AppState;
use fingerprint::Fingerprint;
use inflight::{InFlightGuard, Scope};
use store::{NewResponse, StoredResponse};

/// Response header marking a replayed response.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Seconds a client is told to wait when its key is in flight.
pub const IN_FLIGHT_RETRY_AFTER_SECS: u64 = 1;

/// Set by [`middleware`] for the write handler: the request's scope and
/// fingerprint, and the claim on the scope, held until the operation's
/// transaction has committed (even if the client has gone away).
#[derive(Debug)]
pub struct IdempotencyContext {
    /// (business, cashier, key).
    pub scope: Scope,
    /// Hash of method, path and body.
    pub fingerprint: Fingerprint,
    _guard: InFlightGuard,
}

/// Extractor handing a write handler the request's [`IdempotencyContext`]:
/// `None` when the server runs with `--no-idempotency`.
#[derive(Debug)]
pub struct Idempotency(pub Option<Arc<IdempotencyContext>>);

impl<S: Send + Sync> FromRequestParts<S> for Idempotency {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Idempotency(
            parts.extensions.remove::<Arc<IdempotencyContext>>(),
        ))
    }
}

fn missing_key() -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "idempotency-key-missing",
        "Idempotency-Key required",
        "this endpoint changes data and requires an Idempotency-Key header (a UUID, the same on every retry of one operation)",
    )
}

fn malformed_key(why: String) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "idempotency-key-malformed",
        "Malformed Idempotency-Key",
        why,
    )
}

fn in_flight(key: &str) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "request-in-flight",
        "A request with this Idempotency-Key is in progress",
        format!("a request with Idempotency-Key {key:?} is still being processed; retry after the delay to get its response"),
    )
    .with_retry_after(IN_FLIGHT_RETRY_AFTER_SECS)
}

fn key_reused(key: &str) -> Problem {
    Problem::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency-key-reused",
        "Idempotency-Key reused for a different request",
        format!("Idempotency-Key {key:?} was already used with a different method, path or body; use a new key for a new operation"),
    )
}

fn replay_response(stored: StoredResponse) -> Response {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let content_type = HeaderValue::from_str(&stored.content_type)
        .unwrap_or(HeaderValue::from_static("application/json"));
    let mut response =
        (status, [(header::CONTENT_TYPE, content_type)], stored.body).into_response();
    response
        .headers_mut()
        .insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

/// Whether a request with `method` is a write, which needs an `Idempotency-Key`:
/// any method but GET, HEAD and OPTIONS.
pub fn is_write(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Middleware in front of every write route (see the module docs): key, body
/// (read once, and handed on as a [`BufferedBody`] too), fingerprint, in-flight
/// claim. Safe methods pass through untouched.
pub async fn middleware(
    State(state): State<AppState>,
    caller: Caller,
    request: Request,
    next: Next,
) -> Result<Response, Problem> {
    if !is_write(request.method()) {
        return Ok(next.run(request).await);
    }
    let key = match key::from_headers(request.headers()) {
        Ok(key) => key,
        Err(key::KeyError::Missing) => return Err(missing_key()),
        Err(key::KeyError::Malformed(why)) => return Err(malformed_key(why)),
    };
    let (mut parts, body) = request.into_parts();
    let bytes = read_limited(&parts.headers, body, state.max_body_bytes).await?;
    let path = parts
        .uri
        .path_and_query()
        .map_or_else(|| parts.uri.path(), |p| p.as_str());
    let fingerprint = fingerprint::of(parts.method.as_str(), path, &bytes);
    let scope = Scope {
        business_id: caller.business_id,
        cashier_id: caller.cashier_id,
        key,
    };

    let Some(guard) = state.inflight.try_acquire(scope.clone()) else {
        state.stats.record_in_flight_conflict(scope.business_id);
        return Err(in_flight(&scope.key));
    };
    // The store is consulted by `execute`, inside the write transaction: one
    // trip to the database per request, and a replay can never race a commit.
    parts.extensions.insert(Arc::new(IdempotencyContext {
        scope,
        fingerprint,
        _guard: guard,
    }));
    parts.extensions.insert(BufferedBody(bytes.clone()));
    Ok(next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await)
}

/// Whether an operation's error outcome is stored for replay: every outcome of
/// an operation that ran (404, 409, …) except 400 (the input was refused before
/// anything was decided) and 5xx (the server failed; a retry must be able to
/// proceed).
pub fn is_stored_failure(status: StatusCode) -> bool {
    status.is_client_error() && status != StatusCode::BAD_REQUEST
}

/// Runs a write handler's domain operation `op` in one immediate SQLite
/// transaction on the writer connection. With an idempotency context, a
/// completed key is answered from the store (replay or 422) without running
/// `op`; otherwise the response is stored in the same transaction as `op`'s
/// effects. Because the lookup is inside the write transaction, even a second
/// process on the same file could not execute a key twice.
///
/// `op` returns the success status and body, or a [`Problem`]; on a problem its
/// effects are rolled back and, if [`is_stored_failure`], the problem response is
/// stored in a fresh transaction.
pub async fn execute<T, F>(state: &AppState, idempotency: Idempotency, op: F) -> Response
where
    T: Serialize,
    F: FnOnce(&rusqlite::Transaction<'_>) -> Result<(StatusCode, T), Problem> + Send + 'static,
{
    let ttl_ms = i64::try_from(state.key_ttl.as_millis()).unwrap_or(i64::MAX);
    let context = idempotency.0;
    let stats = Arc::clone(&state.stats);
    let outcome = state
        .db
        .write(move |conn| {
            let now_ms = clock::unix_ms(clock::now());
            // Stores a response for replay under `ctx`'s key, in `tx`.
            let remember = |tx: &Connection,
                            ctx: &IdempotencyContext,
                            status: StatusCode,
                            content_type: &str,
                            body: &[u8]| {
                let response = NewResponse {
                    status: status.as_u16(),
                    content_type,
                    body,
                };
                store::insert(tx, &ctx.scope, &ctx.fingerprint, response, now_ms, ttl_ms)
            };
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(ctx) = &context {
                if let Some(stored) = store::find(&tx, &ctx.scope)? {
                    if stored.is_live(now_ms) {
                        let business_id = ctx.scope.business_id;
                        return Ok(if stored.fingerprint == ctx.fingerprint[..] {
                            stats.record_replay(business_id);
                            replay_response(stored)
                        } else {
                            stats.record_key_mismatch(business_id);
                            key_reused(&ctx.scope.key).into_response()
                        });
                    }
                    store::delete(&tx, &ctx.scope)?;
                }
            }
            match op(&tx) {
                Ok((status, value)) => {
                    let body = serde_json::to_vec(&value)
                        .map_err(|e| Problem::internal("serialising the response", e))?;
                    if let Some(ctx) = &context {
                        remember(&tx, ctx, status, "application/json", &body)?;
                    }
                    tx.commit()?;
                    let response = (
                        status,
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        body,
                    )
                        .into_response();
                    Ok(response)
                }
                Err(problem) => {
                    tx.rollback()?;
                    if let Some(ctx) = &context {
                        if is_stored_failure(problem.status) {
                            let tx =
                                conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                            let body = problem.body_bytes();
                            remember(&tx, ctx, problem.status, PROBLEM_JSON, &body)?;
                            tx.commit()?;
                        }
                    }
                    Ok(problem.into_response())
                }
            }
            // `context`, and with it the in-flight claim, is dropped here: after
            // the commit, whether or not the client is still waiting.
        })
        .await;
    outcome.unwrap_or_else(IntoResponse::into_response)
}

/// Starts the background task that deletes expired keys every `interval`.
pub fn spawn_purge(db: Db, interval: Duration) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            match db
                .write(|conn| Ok(store::purge_expired(conn, clock::unix_ms(clock::now()))?))
                .await
            {
                Ok(0) => {}
                Ok(n) => tracing::info!("purged {n} expired idempotency keys"),
                Err(problem) => {
                    tracing::warn!("purging expired idempotency keys failed: {problem}")
                }
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn which_failures_are_stored() {
        assert!(is_stored_failure(StatusCode::CONFLICT));
        assert!(is_stored_failure(StatusCode::NOT_FOUND));
        assert!(!is_stored_failure(StatusCode::BAD_REQUEST));
        assert!(!is_stored_failure(StatusCode::INTERNAL_SERVER_ERROR));
        assert!(!is_stored_failure(StatusCode::SERVICE_UNAVAILABLE));
    }

    #[test]
    fn replay_keeps_status_type_and_body_and_marks_it() {
        let stored = StoredResponse {
            fingerprint: vec![1; 32],
            status: 201,
            content_type: "application/json".into(),
            body: b"{\"id\":1}".to_vec(),
            expires_at_ms: i64::MAX,
        };
        let r = replay_response(stored);
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers()[REPLAYED_HEADER], "true");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    }
}
