//! The key on the created row, on PostgreSQL (see
//! [`crate::idempotency::effect`]): stamped in the row's own transaction, under
//! the partial unique indexes on (business, cashier, key), and read back to
//! answer a retry whose stored response has expired.

use tokio_postgres::GenericClient;

use super::sales;
use crate::idempotency::effect::{Effect, Recorded};
use crate::idempotency::fingerprint::Fingerprint;
use crate::idempotency::inflight::Scope;
use crate::problem::Problem;

/// Writes `scope`'s key and the request `fingerprint` into the row of
/// `effect`; a second row with the same scope violates the unique index and
/// fails the transaction.
pub async fn stamp(
    tx: &impl GenericClient,
    effect: &Effect,
    scope: &Scope,
    fingerprint: &Fingerprint,
) -> Result<(), Problem> {
    let (sql, id) = match effect {
        Effect::Sale(id) => (
            "UPDATE sales SET idempotency_key = $1, request_fingerprint = $2
             WHERE public_id = $3 AND business_id = $4 AND cashier_id = $5",
            id,
        ),
        Effect::Refund(id) => (
            "UPDATE refunds SET idempotency_key = $1, request_fingerprint = $2
             WHERE public_id = $3 AND business_id = $4 AND cashier_id = $5",
            id,
        ),
    };
    let fingerprint: &[u8] = &fingerprint[..];
    let updated = tx
        .execute(
            sql,
            &[
                &scope.key,
                &fingerprint,
                id,
                &scope.business_id,
                &scope.cashier_id,
            ],
        )
        .await?;
    if updated == 1 {
        Ok(())
    } else {
        Err(Problem::internal(
            "stamping the created row with its key",
            "the row was not found",
        ))
    }
}

/// The row created with `scope`'s key, in any table, if there is one.
pub async fn find(
    client: &impl GenericClient,
    scope: &Scope,
) -> Result<Option<Recorded>, tokio_postgres::Error> {
    let row = client
        .query_opt(
            "SELECT 0, public_id, request_fingerprint FROM sales
               WHERE business_id = $1 AND cashier_id = $2 AND idempotency_key = $3
             UNION ALL
             SELECT 1, public_id, request_fingerprint FROM refunds
               WHERE business_id = $1 AND cashier_id = $2 AND idempotency_key = $3
             LIMIT 1",
            &[&scope.business_id, &scope.cashier_id, &scope.key],
        )
        .await?;
    Ok(row.map(|r| {
        let id: String = r.get(1);
        Recorded {
            effect: if r.get::<_, i32>(0) == 0 {
                Effect::Sale(id)
            } else {
                Effect::Refund(id)
            },
            fingerprint: r.get(2),
        }
    }))
}

/// The JSON body the write that created `effect` answered with.
pub async fn response_body(
    client: &impl GenericClient,
    effect: &Effect,
) -> Result<Vec<u8>, Problem> {
    let body = match effect {
        Effect::Sale(id) => serde_json::to_vec(&sales::sale_as_created(client, id).await?),
        Effect::Refund(id) => serde_json::to_vec(&sales::refund_as_created(client, id).await?),
    };
    body.map_err(|e| Problem::internal("serialising a replayed response", e))
}
