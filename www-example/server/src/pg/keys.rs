//! `idempotency_keys` on PostgreSQL: the in-flight claim and the stored
//! response of each scope live in one row, so every instance sees them.
//!
//! - [`claim`]: `INSERT … ON CONFLICT DO UPDATE … WHERE expires_at_ms <= now`
//!   creates a `processing` row holding a random claim token and a lease, or
//!   takes over a row whose lease (a crashed instance's claim) or whose stored
//!   response has expired; a live row is left alone and nothing is returned.
//!   The unique scope makes two claims of one key impossible, on any instance.
//!   The row is not kept locked while the operation runs, so a request with
//!   the same key on any instance is answered 409 at once rather than queued.
//! - [`holds`]: whether the claim is still the request's before it runs the
//!   operation (its lease may have run out and another request taken over).
//! - [`complete`]: turns the row into the stored response, in the operation's
//!   transaction and only if the claim is still the request's, so the effect
//!   and its answer commit together. A request that lost its claim rolls back
//!   (and a second execution that raced it is refused by the unique key on
//!   the created row).
//! - [`release`]: deletes an unfinished claim (400, 5xx, a dropped request).
//! - [`purge_expired`]: deletes expired rows in batches that skip locked rows.

use tokio_postgres::GenericClient;

use crate::idempotency::fingerprint::Fingerprint;
use crate::idempotency::inflight::Scope;
use crate::idempotency::store::{NewResponse, Purged, StoredResponse};

/// What holds a scope that could not be claimed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Held {
    /// A request with the key is being processed (its lease is live).
    Processing,
    /// The key's stored response.
    Completed(StoredResponse),
}

/// Claims `scope` for a request with `fingerprint` until `now_ms + lease_ms`;
/// returns the claim token, or `None` when a live row holds the scope.
pub async fn claim(
    client: &impl GenericClient,
    scope: &Scope,
    fingerprint: &Fingerprint,
    now_ms: i64,
    lease_ms: i64,
) -> Result<Option<String>, tokio_postgres::Error> {
    let token = uuid::Uuid::new_v4().to_string();
    let fingerprint: &[u8] = &fingerprint[..];
    let lease_until = now_ms.saturating_add(lease_ms);
    let row = client
        .query_opt(
            "INSERT INTO idempotency_keys
               (business_id, cashier_id, key, fingerprint, state, claim_token, created_at_ms, expires_at_ms)
             VALUES ($1, $2, $3, $4, 'processing', $5, $6, $7)
             ON CONFLICT (business_id, cashier_id, key) DO UPDATE SET
               fingerprint = EXCLUDED.fingerprint, state = 'processing', claim_token = EXCLUDED.claim_token,
               status = NULL, content_type = NULL, body = NULL,
               created_at_ms = EXCLUDED.created_at_ms, expires_at_ms = EXCLUDED.expires_at_ms
             WHERE idempotency_keys.expires_at_ms <= EXCLUDED.created_at_ms
             RETURNING id",
            &[
                &scope.business_id,
                &scope.cashier_id,
                &scope.key,
                &fingerprint,
                &token,
                &now_ms,
                &lease_until,
            ],
        )
        .await?;
    Ok(row.map(|_| token))
}

/// What holds `scope` now, if anything.
pub async fn held(
    client: &impl GenericClient,
    scope: &Scope,
) -> Result<Option<Held>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT state, fingerprint, status, content_type, body FROM idempotency_keys
             WHERE business_id = $1 AND cashier_id = $2 AND key = $3",
            &[&scope.business_id, &scope.cashier_id, &scope.key],
        )
        .await?;
    Ok(row.map(|r| {
        if r.get::<_, &str>(0) == "processing" {
            Held::Processing
        } else {
            Held::Completed(StoredResponse {
                fingerprint: r.get(1),
                status: u16::try_from(r.get::<_, i32>(2)).unwrap_or(500),
                content_type: r.get(3),
                body: r.get(4),
            })
        }
    }))
}

/// Whether `token` still holds its claim on `scope`; `false` when its lease
/// ran out and another request took the scope over, or the purge deleted it.
pub async fn holds(
    tx: &impl GenericClient,
    scope: &Scope,
    token: &str,
) -> Result<bool, tokio_postgres::Error> {
    Ok(tx
        .query_opt(
            "SELECT id FROM idempotency_keys
             WHERE business_id = $1 AND cashier_id = $2 AND key = $3 AND claim_token = $4",
            &[&scope.business_id, &scope.cashier_id, &scope.key, &token],
        )
        .await?
        .is_some())
}

/// Stores `response` as the answer of the claim `token` holds on `scope`,
/// replayed until `now_ms + ttl_ms`; returns whether the claim was still
/// this token's (when not, nothing is written and the caller rolls back).
pub async fn complete(
    tx: &impl GenericClient,
    scope: &Scope,
    token: &str,
    response: NewResponse<'_>,
    now_ms: i64,
    ttl_ms: i64,
) -> Result<bool, tokio_postgres::Error> {
    let status = i32::from(response.status);
    let expires = now_ms.saturating_add(ttl_ms);
    let updated = tx
        .execute(
            "UPDATE idempotency_keys SET state = 'completed', claim_token = NULL,
               status = $5, content_type = $6, body = $7, created_at_ms = $8, expires_at_ms = $9
             WHERE business_id = $1 AND cashier_id = $2 AND key = $3 AND claim_token = $4",
            &[
                &scope.business_id,
                &scope.cashier_id,
                &scope.key,
                &token,
                &status,
                &response.content_type,
                &response.body,
                &now_ms,
                &expires,
            ],
        )
        .await?;
    Ok(updated == 1)
}

/// Deletes the claim `token` holds on `scope`, if it still does.
pub async fn release(
    client: &impl GenericClient,
    scope: &Scope,
    token: &str,
) -> Result<u64, tokio_postgres::Error> {
    client
        .execute(
            "DELETE FROM idempotency_keys
             WHERE business_id = $1 AND cashier_id = $2 AND key = $3 AND claim_token = $4",
            &[&scope.business_id, &scope.cashier_id, &scope.key, &token],
        )
        .await
}

/// Deletes up to `limit` rows expired at `now_ms` (stored responses past the
/// TTL, claims past their lease), oldest expiry first, skipping rows another
/// transaction has locked (a sale holding its claim is never waited for);
/// returns how many stored responses per business. Call it again while it
/// deletes `limit`.
pub async fn purge_expired(
    client: &impl GenericClient,
    now_ms: i64,
    limit: u32,
) -> Result<(Purged, u64), tokio_postgres::Error> {
    let limit = i64::from(limit);
    let rows = client
        .query(
            "DELETE FROM idempotency_keys WHERE id IN (
               SELECT id FROM idempotency_keys WHERE expires_at_ms <= $1
               ORDER BY expires_at_ms LIMIT $2 FOR UPDATE SKIP LOCKED)
             RETURNING business_id, state",
            &[&now_ms, &limit],
        )
        .await?;
    let mut purged = Purged::new();
    for row in &rows {
        if row.get::<_, &str>(1) == "completed" {
            *purged.entry(row.get(0)).or_default() += 1;
        }
    }
    Ok((purged, rows.len() as u64))
}

/// Number of stored responses per business (expired ones count until the
/// purge deletes them; claims in progress do not count).
pub async fn count_stored(
    client: &impl GenericClient,
    business_id: i64,
) -> Result<u64, tokio_postgres::Error> {
    let n: i64 = client
        .query_one(
            "SELECT COUNT(*) FROM idempotency_keys WHERE business_id = $1 AND state = 'completed'",
            &[&business_id],
        )
        .await?
        .get(0);
    Ok(n as u64)
}
