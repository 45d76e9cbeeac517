//! The rows an idempotent write creates (a sale, a refund) keep the key that
//! created them. The stored response in `idempotency_keys` expires; these
//! columns last as long as the row, under a unique index on the scope, so a
//! retry that comes after the response expired is still answered from the row
//! (the same invoice number, marked as a replay) and can never record a second
//! sale.

use axum::http::StatusCode;
use rusqlite::{params, Connection, OptionalExtension as _};

use super::fingerprint::Fingerprint;
use super::inflight::Scope;
use crate::problem::Problem;
use crate::sales;

/// A row created by a write, by table and public id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// A row of `sales`.
    Sale(String),
    /// A row of `refunds`.
    Refund(String),
}

/// A write's success value that names the row it created, so the idempotency
/// layer can stamp that row with its key without knowing the domain.
pub trait Effectful {
    /// The row this value was created as.
    fn effect(&self) -> Effect;
}

/// The status a write that created a row answers with, first and on replay.
pub const CREATED: StatusCode = StatusCode::CREATED;

/// A row found by its key, and the fingerprint of the request that created it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recorded {
    /// The row.
    pub effect: Effect,
    /// Hash of the creating request's method, path and body.
    pub fingerprint: Vec<u8>,
}

/// Writes `scope`'s key and the request `fingerprint` into the row of `effect`.
/// Runs in the transaction that created the row; a second row with the same
/// scope violates the unique index and fails that transaction.
pub fn stamp(
    tx: &Connection,
    effect: &Effect,
    scope: &Scope,
    fingerprint: &Fingerprint,
) -> rusqlite::Result<()> {
    let (sql, id) = match effect {
        Effect::Sale(id) => (
            "UPDATE sales SET idempotency_key = ?1, request_fingerprint = ?2
             WHERE public_id = ?3 AND business_id = ?4 AND cashier_id = ?5",
            id,
        ),
        Effect::Refund(id) => (
            "UPDATE refunds SET idempotency_key = ?1, request_fingerprint = ?2
             WHERE public_id = ?3 AND business_id = ?4 AND cashier_id = ?5",
            id,
        ),
    };
    let updated = tx.prepare_cached(sql)?.execute(params![
        scope.key,
        &fingerprint[..],
        id,
        scope.business_id,
        scope.cashier_id
    ])?;
    if updated == 1 {
        Ok(())
    } else {
        Err(rusqlite::Error::QueryReturnedNoRows)
    }
}

/// The row created with `scope`'s key, in any table, if there is one.
pub fn find(conn: &Connection, scope: &Scope) -> rusqlite::Result<Option<Recorded>> {
    conn.prepare_cached(
        "SELECT 0, public_id, request_fingerprint FROM sales
           WHERE business_id = ?1 AND cashier_id = ?2 AND idempotency_key = ?3
         UNION ALL
         SELECT 1, public_id, request_fingerprint FROM refunds
           WHERE business_id = ?1 AND cashier_id = ?2 AND idempotency_key = ?3
         LIMIT 1",
    )?
    .query_row(
        params![scope.business_id, scope.cashier_id, scope.key],
        |r| {
            let id: String = r.get(1)?;
            Ok(Recorded {
                effect: if r.get::<_, i64>(0)? == 0 {
                    Effect::Sale(id)
                } else {
                    Effect::Refund(id)
                },
                fingerprint: r.get(2)?,
            })
        },
    )
    .optional()
}

/// The JSON body the write that created `effect` answered with.
pub fn response_body(conn: &Connection, effect: &Effect) -> Result<Vec<u8>, Problem> {
    let body = match effect {
        Effect::Sale(id) => serde_json::to_vec(&sales::sale_as_created(conn, id)?),
        Effect::Refund(id) => serde_json::to_vec(&sales::refund_as_created(conn, id)?),
    };
    body.map_err(|e| Problem::internal("serialising a replayed response", e))
}
