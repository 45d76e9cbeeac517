//! The idempotency mechanism's steps on PostgreSQL, where several instances
//! share the database and so the claim must live there too (see
//! [`crate::pg::keys`] for the statements):
//!
//! 1. [`claim`] (from the middleware): claims the scope's row, or answers from
//!    what holds it: the stored response (replay or 422), the row the key
//!    created (after the stored response expired), or 409 + `Retry-After`
//!    while another request — on this instance or another — processes it.
//! 2. [`execute`] (from the handler): one transaction that checks the claim
//!    is still the request's, answers from the created row if the key has
//!    one, else runs the operation, stamps its row with the key and turns the
//!    claim row into the stored response (only while the claim is still the
//!    request's), committed together. It runs in a task of its own, so a
//!    client that goes away cannot interrupt it.

use std::sync::Arc;
use std::time::Instant;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};

use super::claim::DbClaim;
use super::completed::{Completed, Source};
use super::effect::{self, Effectful};
use super::fingerprint::Fingerprint;
use super::inflight::Scope;
use super::store::{NewResponse, StoredResponse};
use super::{in_flight, is_stored_failure, Counting, IdempotencyContext};
use crate::auth::Caller;
use crate::clock;
use crate::metrics::Metrics;
use crate::pg::stats::Outcome;
use crate::pg::{self, keys, Pg};
use crate::problem::{Problem, PROBLEM_JSON};
use crate::routes::AppState;
use crate::sales::Operation;

/// How often a claim is retried when the row that refused it is gone by the
/// time it is read (completed and purged, or released, in between).
const CLAIM_ATTEMPTS: usize = 3;

/// Counts `outcome` of `business_id` in the database (for `GET /api/stats`
/// over every instance); a failure is logged, the answer still goes out.
async fn record(pg: &Pg, business_id: i64, outcome: Outcome) {
    let recorded = match pg.client().await {
        Ok(client) => pg::stats::record(&**client, pg.instance(), business_id, outcome)
            .await
            .map_err(|e| e.to_string()),
        Err(problem) => Err(problem.detail),
    };
    if let Err(e) = recorded {
        tracing::warn!("counting an idempotency outcome failed: {e}");
    }
}

/// The answer to a request whose key already has one (counted in memory,
/// in the metrics and in the database).
async fn answer(
    pg: &Pg,
    counting: &Counting,
    scope: &Scope,
    route: &str,
    fingerprint: &Fingerprint,
    completed: Completed,
) -> Response {
    let outcome = if completed.response.fingerprint == fingerprint[..] {
        Outcome::Replay
    } else {
        Outcome::KeyMismatch
    };
    let response = counting.answer(scope, route, fingerprint, completed);
    record(pg, scope.business_id, outcome).await;
    response
}

/// 409 + `Retry-After` for a key in flight (counted).
async fn conflict(pg: &Pg, counting: &Counting, scope: &Scope, route: &str) -> Response {
    counting.stats.record_in_flight_conflict(scope.business_id);
    counting
        .metrics
        .in_flight_conflicts
        .with_label_values(&[route])
        .inc();
    record(pg, scope.business_id, Outcome::InFlightConflict).await;
    in_flight(&scope.key).into_response()
}

/// The answer rebuilt from the row `scope`'s key created, if it has one.
async fn from_row(
    client: &impl tokio_postgres::GenericClient,
    scope: &Scope,
) -> Result<Option<Completed>, Problem> {
    let Some(recorded) = pg::effect::find(client, scope).await? else {
        return Ok(None);
    };
    Ok(Some(Completed {
        response: StoredResponse {
            body: pg::effect::response_body(client, &recorded.effect).await?,
            fingerprint: recorded.fingerprint,
            status: effect::CREATED.as_u16(),
            content_type: mime::APPLICATION_JSON.to_string(),
        },
        source: Source::Row,
    }))
}

/// Claims `scope` for this request in the database: `Ok(claim)` to go on to
/// the handler, or `Err(answer)` when the key is held: its replay (or 422)
/// when it has an answer, else 409 + `Retry-After`.
pub(super) async fn claim(
    state: &AppState,
    pg: &Pg,
    scope: &Scope,
    route: &str,
    fingerprint: &Fingerprint,
) -> Result<Result<DbClaim, Response>, Problem> {
    let counting = Counting::of(state);
    let lease_ms = i64::try_from(state.claim_lease.as_millis()).unwrap_or(i64::MAX);
    let client = pg.client().await?;
    for _ in 0..CLAIM_ATTEMPTS {
        let now_ms = clock::unix_ms(clock::now());
        if let Some(token) = keys::claim(&**client, scope, fingerprint, now_ms, lease_ms).await? {
            return Ok(Ok(DbClaim::new(pg.clone(), scope.clone(), token)));
        }
        match keys::held(&**client, scope).await? {
            Some(keys::Held::Completed(stored)) => {
                let completed = Completed {
                    response: stored,
                    source: Source::Stored,
                };
                drop(client);
                return Ok(Err(answer(
                    pg,
                    &counting,
                    scope,
                    route,
                    fingerprint,
                    completed,
                )
                .await));
            }
            Some(keys::Held::Processing) => {
                // The holder may be a retry on its way to a replay from the row.
                let row = from_row(&**client, scope).await?;
                drop(client);
                return Ok(Err(match row {
                    Some(completed) => {
                        answer(pg, &counting, scope, route, fingerprint, completed).await
                    }
                    None => conflict(pg, &counting, scope, route).await,
                }));
            }
            None => continue,
        }
    }
    drop(client);
    Ok(Err(conflict(pg, &counting, scope, route).await))
}

/// Runs `operation` for `caller` (see the module docs); the claim in
/// `context` is given up when the task ends, after the commit.
pub(super) async fn execute(
    state: &AppState,
    pg: &Pg,
    caller: &Caller,
    context: Option<Arc<IdempotencyContext>>,
    operation: Operation,
) -> Response {
    let task = Transaction {
        pg: pg.clone(),
        counting: Counting::of(state),
        caller: caller.clone(),
        ttl_ms: i64::try_from(state.key_ttl.as_millis()).unwrap_or(i64::MAX),
    };
    match tokio::spawn(async move { task.run(context, operation).await }).await {
        Ok(Ok(response)) => response,
        Ok(Err(problem)) => problem.into_response(),
        Err(e) => Problem::internal("write task", e).into_response(),
    }
}

/// What one write transaction needs.
struct Transaction {
    pg: Pg,
    counting: Counting,
    caller: Caller,
    ttl_ms: i64,
}

/// How a write transaction ended.
enum Done {
    /// With this response (the operation's outcome).
    Answered(Response),
    /// The key had created a row already: answered from it.
    FromRow(Completed),
    /// The claim was no longer the request's: another request holds the key.
    LostClaim,
}

impl Transaction {
    /// Runs the transaction, then counts and answers; the database
    /// connection is given back before the outcome is counted (which takes
    /// one of its own), so requests never hold two connections at once.
    async fn run(
        self,
        context: Option<Arc<IdempotencyContext>>,
        operation: Operation,
    ) -> Result<Response, Problem> {
        let done = self.transact(context.as_deref(), operation).await?;
        let ctx = || {
            context
                .as_deref()
                .expect("only a request with a key is answered so")
        };
        Ok(match done {
            Done::Answered(response) => response,
            Done::FromRow(completed) => {
                let ctx = ctx();
                answer(
                    &self.pg,
                    &self.counting,
                    &ctx.scope,
                    &ctx.route,
                    &ctx.fingerprint,
                    completed,
                )
                .await
            }
            Done::LostClaim => {
                let ctx = ctx();
                conflict(&self.pg, &self.counting, &ctx.scope, &ctx.route).await
            }
        })
    }

    async fn transact(
        &self,
        context: Option<&IdempotencyContext>,
        operation: Operation,
    ) -> Result<Done, Problem> {
        let claimed = context.and_then(|ctx| ctx.claim.database().map(|claim| (ctx, claim)));
        let mut client = self.pg.client().await?;
        let client: &mut tokio_postgres::Client = &mut client;
        let now = clock::now();
        let now_ms = clock::unix_ms(now);
        let tx = client.transaction().await?;
        if let Some((ctx, claim)) = claimed {
            if !keys::holds(&tx, &ctx.scope, claim.token()).await? {
                // The lease ran out before this transaction began, and another
                // request holds the key now.
                return Ok(Done::LostClaim);
            }
            if let Some(completed) = from_row(&tx, &ctx.scope).await? {
                keys::release(&tx, &ctx.scope, claim.token()).await?;
                tx.commit().await?;
                claim.settle();
                return Ok(Done::FromRow(completed));
            }
        }
        let business_id = self.caller.business_id;
        match pg::sales::run(&tx, &self.caller, &operation, now).await {
            Ok((status, value)) => {
                let body = serde_json::to_vec(&value)
                    .map_err(|e| Problem::internal("serialising the response", e))?;
                let effect = value.effect();
                if let Some((ctx, claim)) = claimed {
                    pg::effect::stamp(&tx, &effect, &ctx.scope, &ctx.fingerprint).await?;
                    let response = NewResponse {
                        status: status.as_u16(),
                        content_type: "application/json",
                        body: &body,
                    };
                    let ours = keys::complete(
                        &tx,
                        &ctx.scope,
                        claim.token(),
                        response,
                        now_ms,
                        self.ttl_ms,
                    )
                    .await?;
                    if !ours {
                        // The lease ran out while the operation ran and another
                        // request holds the key: it, not this one, answers.
                        tx.rollback().await?;
                        return Ok(Done::LostClaim);
                    }
                }
                tx.commit().await?;
                self.counting.stats.record_effect(business_id, &effect);
                if let Some((_, claim)) = claimed {
                    claim.settle();
                    self.counting.stats.record_key_stored(business_id, false);
                    self.counting.metrics.keys_stored.inc();
                }
                Ok(Done::Answered(
                    (
                        status,
                        [(
                            header::CONTENT_TYPE,
                            HeaderValue::from_static("application/json"),
                        )],
                        body,
                    )
                        .into_response(),
                ))
            }
            Err(problem) => {
                tx.rollback().await?;
                if let Some((ctx, claim)) = claimed {
                    if is_stored_failure(problem.status) {
                        let body = problem.body_bytes();
                        let response = NewResponse {
                            status: problem.status.as_u16(),
                            content_type: PROBLEM_JSON,
                            body: &body,
                        };
                        let scope = &ctx.scope;
                        if keys::complete(
                            &*client,
                            scope,
                            claim.token(),
                            response,
                            now_ms,
                            self.ttl_ms,
                        )
                        .await?
                        {
                            claim.settle();
                            self.counting.stats.record_key_stored(business_id, false);
                            self.counting.metrics.keys_stored.inc();
                        }
                    }
                }
                Ok(Done::Answered(problem.into_response()))
            }
        }
    }
}

/// One purge on PostgreSQL: batches of at most `batch` expired rows until a
/// batch finds fewer; returns the stored responses deleted and the batches.
pub(super) async fn purge(pg: &Pg, batch: u32, metrics: &Metrics) -> Result<(u64, u64), Problem> {
    let now_ms = clock::unix_ms(clock::now());
    let (mut total, mut batches) = (0, 0);
    loop {
        let started = Instant::now();
        let (purged, rows) = {
            let client = pg.client().await?;
            keys::purge_expired(&**client, now_ms, batch).await?
        };
        let n: u64 = purged.values().sum();
        metrics.keys_purged.inc_by(n);
        metrics.purge_batches.inc();
        total += n;
        batches += 1;
        tracing::debug!("purge batch of {rows} rows in {:?}", started.elapsed());
        if rows < u64::from(batch) {
            break;
        }
        tokio::task::yield_now().await;
    }
    Ok((total, batches))
}
