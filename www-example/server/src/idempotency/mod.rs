//! The `Idempotency-Key` mechanism, one implementation shared by every write
//! endpoint (IETF draft "The Idempotency-Key HTTP Header Field"; docs/spec.md §3).
//!
//! Two halves:
//! - [`middleware`], in front of every write route: requires a well-formed key
//!   (400; see [`Enforcement`] for writes without one), fingerprints the request
//!   and claims the scope (business, cashier, key) in the in-flight registry.
//!   When the scope is already claimed, the key's answer is looked up on a read
//!   connection: a completed key is replayed (or 422), and only a request that
//!   is really outstanding gets 409 + a jittered `Retry-After`.
//! - [`execute`], called by each write handler with its domain operation: opens
//!   one SQLite write transaction, answers from [`completed`] when the key
//!   already has an answer (replay, or 422 when the fingerprint differs), and
//!   otherwise runs the operation, stamps the row it created with the key
//!   ([`effect`]) and stores the response in `idempotency_keys`, all in that
//!   same transaction, so a sale, its key and its replayable response are
//!   committed together or not at all. 5xx outcomes and 400 (invalid input: the
//!   operation never ran) are not stored, so a retry can proceed.
//!
//! Stored responses expire after the key TTL and are deleted by [`spawn_purge`];
//! the key on the created row does not expire, so a late retry of a sale or a
//! refund is still a replay. [`policy`] publishes these rules.
//!
//! On PostgreSQL (`--database`), where several instances share the database,
//! the same two halves keep their roles but the claim is a `processing` row
//! of `idempotency_keys` with a lease ([`claim`], `postgres`), which every
//! instance sees; the rest is as above, in one PostgreSQL transaction.

pub mod claim;
pub mod completed;
pub mod effect;
pub mod fingerprint;
pub mod inflight;
pub mod key;
pub mod policy;
mod postgres;
pub mod store;

use std::ops::RangeInclusive;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
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
use crate::metrics::Metrics;
use crate::problem::{Problem, PROBLEM_JSON};
use crate::routes::AppState;
use crate::sales::Operation;
use crate::stats::Stats;
use crate::store::Store;
use claim::Claim;
use completed::Completed;
use effect::Effectful;
use fingerprint::Fingerprint;
use inflight::Scope;
use store::{NewResponse, StoredResponse};

/// Response header marking a replayed response.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// Response header of a write processed without a key under
/// `--idempotency warn`.
pub const WARNING_HEADER: &str = "idempotency-warning";

/// Seconds a client is told to wait when its key is in flight, drawn anew for
/// each 409 so that clients refused together do not retry together.
pub const IN_FLIGHT_RETRY_AFTER_SECS: RangeInclusive<u64> = 1..=3;

/// What a write without an `Idempotency-Key` gets (`--idempotency`). A
/// malformed key is refused in every mode: it is a client bug, not an old client.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Enforcement {
    /// 400: every write must carry a key.
    Required,
    /// Processed, and the response carries an `Idempotency-Warning` header.
    Warn,
    /// Processed without a word: a retry of it executes again.
    Optional,
}

impl Enforcement {
    /// The name `--idempotency` takes, also the `mode` metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Enforcement::Required => "required",
            Enforcement::Warn => "warn",
            Enforcement::Optional => "optional",
        }
    }
}

/// Set by [`middleware`] for the write handler: the request's scope, route and
/// fingerprint, and the claim on the scope, held until the operation's
/// transaction has committed (even if the client has gone away).
#[derive(Debug)]
pub struct IdempotencyContext {
    /// (business, cashier, key).
    pub scope: Scope,
    /// The matched route, for the metrics.
    pub route: String,
    /// Hash of method, path and body.
    pub fingerprint: Fingerprint,
    claim: Claim,
}

/// Extractor handing a write handler the request's [`IdempotencyContext`]:
/// `None` when the server runs with `--no-idempotency` or the write came
/// without a key under `--idempotency warn|optional`.
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
    .with_retry_after(rand::random_range(IN_FLIGHT_RETRY_AFTER_SECS))
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

/// Where the idempotency outcomes are counted: per business for
/// `GET /api/stats`, per route for `/metrics`.
#[derive(Clone)]
struct Counting {
    stats: Arc<Stats>,
    metrics: Arc<Metrics>,
}

impl Counting {
    fn of(state: &AppState) -> Self {
        Self {
            stats: Arc::clone(&state.stats),
            metrics: Arc::clone(&state.metrics),
        }
    }

    /// The response to a request whose key already has an answer: the replay,
    /// or 422 when this request is another one; counted.
    fn answer(
        &self,
        scope: &Scope,
        route: &str,
        fingerprint: &Fingerprint,
        completed: Completed,
    ) -> Response {
        if completed.response.fingerprint == fingerprint[..] {
            if completed.source == completed::Source::Row {
                tracing::info!("{route}: replayed from the row the key created (its stored response had expired)");
            }
            self.stats.record_replay(scope.business_id);
            self.metrics
                .replays
                .with_label_values(&[route, completed.source.label()])
                .inc();
            replay_response(completed.response)
        } else {
            self.stats.record_key_mismatch(scope.business_id);
            self.metrics
                .key_mismatches
                .with_label_values(&[route])
                .inc();
            key_reused(&scope.key).into_response()
        }
    }
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
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(String::new, |p| p.as_str().to_owned());
    let key = match key::from_headers(request.headers()) {
        Ok(key) => key,
        Err(key::KeyError::Missing) => return without_key(&state, &route, request, next).await,
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

    let claim = match &state.db {
        Store::Sqlite(db) => match state.inflight.try_acquire(scope.clone()) {
            Some(guard) => Claim::Memory(guard),
            None => return claimed_elsewhere(&state, db, scope, route, fingerprint).await,
        },
        Store::Postgres(pg) => {
            match postgres::claim(&state, pg, &scope, &route, &fingerprint).await? {
                Ok(claim) => Claim::Database(claim),
                Err(answer) => return Ok(answer),
            }
        }
    };
    // The store is consulted by `execute`, inside the write transaction: one
    // trip to the database per request, and a replay can never race a commit.
    let context = Arc::new(IdempotencyContext {
        scope,
        route,
        fingerprint,
        claim,
    });
    // A database claim the handler did not settle (it refused the input, or
    // failed) is deleted before the answer goes out, so a retry finds the key
    // free; a claim in memory is freed when the handler drops the context.
    let unsettled = context
        .claim
        .database()
        .is_some()
        .then(|| Arc::clone(&context));
    parts.extensions.insert(context);
    parts.extensions.insert(BufferedBody(bytes.clone()));
    let response = next
        .run(Request::from_parts(parts, Body::from(bytes)))
        .await;
    if let Some(claim) = unsettled.as_ref().and_then(|c| c.claim.database()) {
        claim.release().await;
    }
    Ok(response)
}

/// A write without a key: 400 under `required`; processed (and counted, and
/// under `warn` marked) otherwise.
async fn without_key(
    state: &AppState,
    route: &str,
    request: Request,
    next: Next,
) -> Result<Response, Problem> {
    let mode = state.enforcement;
    if mode == Enforcement::Required {
        return Err(missing_key());
    }
    state
        .metrics
        .keyless_writes
        .with_label_values(&[route, mode.as_str()])
        .inc();
    let mut response = next.run(request).await;
    if mode == Enforcement::Warn {
        response.headers_mut().insert(
            WARNING_HEADER,
            HeaderValue::from_static(
                "this write came without an Idempotency-Key: a retry of it would be executed again",
            ),
        );
    }
    Ok(response)
}

/// The answer to a request whose scope another request holds. That holder may
/// be a retry on its way to a replay while the key completed long ago, so the
/// store is read first (from a read connection, after the claim failed: any
/// commit of the holder before that is visible): a completed key is answered
/// like any retry; only a key with no answer yet gets 409.
async fn claimed_elsewhere(
    state: &AppState,
    db: &Db,
    scope: Scope,
    route: String,
    fingerprint: Fingerprint,
) -> Result<Response, Problem> {
    let counting = Counting::of(state);
    db.read(move |conn| {
        let now_ms = clock::unix_ms(clock::now());
        Ok(match completed::find(conn, &scope, now_ms)? {
            Some(completed) => counting.answer(&scope, &route, &fingerprint, completed),
            None => {
                counting.stats.record_in_flight_conflict(scope.business_id);
                counting
                    .metrics
                    .in_flight_conflicts
                    .with_label_values(&[route.as_str()])
                    .inc();
                in_flight(&scope.key).into_response()
            }
        })
    })
    .await
}

/// Whether an operation's error outcome is stored for replay: every outcome of
/// an operation that ran (404, 409, …) except 400 (the input was refused before
/// anything was decided) and 5xx (the server failed; a retry must be able to
/// proceed).
pub fn is_stored_failure(status: StatusCode) -> bool {
    status.is_client_error() && status != StatusCode::BAD_REQUEST
}

/// Runs a write handler's `operation` for `caller` in one transaction of the
/// store. On SQLite, one immediate transaction on the writer connection. With an idempotency context, a
/// key that already has an answer is answered from it (replay or 422) without
/// running `op`; otherwise the row `op` created is stamped with the key and
/// the response is stored, in the same transaction as `op`'s effects. Because
/// the lookup is inside the write transaction, even a second process on the
/// same file could not execute a key twice.
///
/// On PostgreSQL the same steps, in one transaction that first locks the
/// request's claim row (see [`postgres`]).
///
/// The operation returns the success status and body, or a [`Problem`]; on a
/// problem its effects are rolled back and, if [`is_stored_failure`], the
/// problem response is stored in a fresh transaction.
pub async fn execute(
    state: &AppState,
    caller: &Caller,
    idempotency: Idempotency,
    operation: Operation,
) -> Response {
    match &state.db {
        Store::Sqlite(db) => execute_sqlite(state, db, caller, idempotency, operation).await,
        Store::Postgres(pg) => postgres::execute(state, pg, caller, idempotency.0, operation).await,
    }
}

/// [`execute`] on SQLite.
async fn execute_sqlite(
    state: &AppState,
    db: &Db,
    caller: &Caller,
    idempotency: Idempotency,
    operation: Operation,
) -> Response {
    let writer = caller.clone();
    let op = move |tx: &rusqlite::Transaction<'_>| operation.run(tx, &writer, clock::now());
    let ttl_ms = i64::try_from(state.key_ttl.as_millis()).unwrap_or(i64::MAX);
    let context = idempotency.0;
    let counting = Counting::of(state);
    let business_id = caller.business_id;
    let outcome = db
        .write(move |conn| {
            let now_ms = clock::unix_ms(clock::now());
            // Stores a response for replay under `ctx`'s key, in `tx`; counted
            // once `tx` commits.
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
            let count_stored = |replaced_expired: bool| {
                counting
                    .stats
                    .record_key_stored(business_id, replaced_expired);
                counting.metrics.keys_stored.inc();
            };
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            if let Some(ctx) = &context {
                if let Some(completed) = completed::find(&tx, &ctx.scope, now_ms)? {
                    return Ok(counting.answer(
                        &ctx.scope,
                        &ctx.route,
                        &ctx.fingerprint,
                        completed,
                    ));
                }
            }
            match op(&tx) {
                Ok((status, value)) => {
                    let body = serde_json::to_vec(&value)
                        .map_err(|e| Problem::internal("serialising the response", e))?;
                    let effect = value.effect();
                    let stored = match &context {
                        Some(ctx) => {
                            effect::stamp(&tx, &effect, &ctx.scope, &ctx.fingerprint)?;
                            Some(remember(&tx, ctx, status, "application/json", &body)?)
                        }
                        None => None,
                    };
                    tx.commit()?;
                    counting.stats.record_effect(business_id, &effect);
                    if let Some(replaced_expired) = stored {
                        count_stored(replaced_expired);
                    }
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
                            let replaced_expired =
                                remember(&tx, ctx, problem.status, PROBLEM_JSON, &body)?;
                            tx.commit()?;
                            count_stored(replaced_expired);
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

/// Free pages given back to the file system per write transaction after a purge.
const RECLAIM_PAGES_PER_STEP: u32 = 2_000;

/// How the purge task runs.
#[derive(Debug, Clone, Copy)]
pub struct PurgeSchedule {
    /// Time between two purges.
    pub interval: Duration,
    /// Most records deleted per write transaction.
    pub batch: u32,
}

/// Starts the background task that deletes expired stored responses every
/// `schedule.interval`, in batches that each take the writer briefly (on
/// SQLite then gives the freed pages back to the file system in steps; on
/// PostgreSQL each batch skips rows that sales hold locked, and lapsed claims
/// go too); counts them in `stats` and `metrics`.
pub fn spawn_purge(
    db: Store,
    schedule: PurgeSchedule,
    stats: Arc<Stats>,
    metrics: Arc<Metrics>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The first purge comes one interval after start, not at once: a
        // server that has just started serves its first sales first.
        let mut ticker = tokio::time::interval_at(
            tokio::time::Instant::now() + schedule.interval,
            schedule.interval,
        );
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let started = Instant::now();
            let purged = match &db {
                Store::Sqlite(db) => purge(db, schedule.batch, &stats, &metrics).await,
                Store::Postgres(pg) => postgres::purge(pg, schedule.batch, &metrics).await,
            };
            match purged {
                Ok((0, _)) => {}
                Ok((n, batches)) => tracing::info!(
                    "purged {n} expired idempotency keys in {batches} batches ({:?})",
                    started.elapsed()
                ),
                Err(problem) => {
                    tracing::warn!("purging expired idempotency keys failed: {problem}")
                }
            }
            metrics
                .purge_seconds
                .observe(started.elapsed().as_secs_f64());
        }
    })
}

/// One purge: batches of at most `batch` records until a batch finds fewer,
/// then the freed pages reclaimed; returns the records deleted and the batches.
async fn purge(
    db: &Db,
    batch: u32,
    stats: &Stats,
    metrics: &Metrics,
) -> Result<(u64, u64), Problem> {
    let now_ms = clock::unix_ms(clock::now());
    let (mut total, mut batches) = (0, 0);
    loop {
        let purged = db
            .write(move |conn| Ok(store::purge_expired(conn, now_ms, batch)?))
            .await?;
        let n: u64 = purged.values().sum();
        stats.record_purged(&purged);
        metrics.keys_purged.inc_by(n);
        metrics.purge_batches.inc();
        total += n;
        batches += 1;
        if n < u64::from(batch) {
            break;
        }
        // Let the writes queued behind this batch go first.
        tokio::task::yield_now().await;
    }
    if total > 0 {
        while db
            .write(|conn| Ok(crate::db::reclaim_free_pages(conn, RECLAIM_PAGES_PER_STEP)?))
            .await?
            > 0
        {
            tokio::task::yield_now().await;
        }
    }
    Ok((total, batches))
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
        };
        let r = replay_response(stored);
        assert_eq!(r.status(), StatusCode::CREATED);
        assert_eq!(r.headers()[REPLAYED_HEADER], "true");
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
    }

    #[test]
    fn an_in_flight_409_waits_a_jittered_while() {
        let waits: std::collections::BTreeSet<String> = (0..200)
            .map(|_| {
                in_flight("k").into_response().headers()[header::RETRY_AFTER]
                    .to_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            waits,
            IN_FLIGHT_RETRY_AFTER_SECS.map(|s| s.to_string()).collect(),
            "every delay of the range is drawn, and no other"
        );
    }
}
