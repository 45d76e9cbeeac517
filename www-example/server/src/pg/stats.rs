//! `GET /api/stats` on PostgreSQL, correct however many instances share the
//! database: sales, refunds and stored keys are counted in the database at each
//! call, and replays, in-flight conflicts and key mismatches are counters in
//! `idempotency_outcomes`, one row per business and instance (so instances
//! never wait on each other's counter), summed at each call.

use tokio_postgres::GenericClient;

use super::keys;
use crate::stats::BusinessStats;

/// An idempotency outcome counted per business.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A response replayed.
    Replay,
    /// A 409 for a key in flight.
    InFlightConflict,
    /// A 422 for a key reused with another request.
    KeyMismatch,
}

/// Counts one `outcome` of `business_id` in `instance`'s row.
pub async fn record(
    client: &impl GenericClient,
    instance: &str,
    business_id: i64,
    outcome: Outcome,
) -> Result<(), tokio_postgres::Error> {
    let (replays, conflicts, mismatches): (i64, i64, i64) = match outcome {
        Outcome::Replay => (1, 0, 0),
        Outcome::InFlightConflict => (0, 1, 0),
        Outcome::KeyMismatch => (0, 0, 1),
    };
    client
        .execute(
            "INSERT INTO idempotency_outcomes (business_id, instance, replays, in_flight_conflicts, key_mismatches)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (business_id, instance) DO UPDATE SET
               replays = idempotency_outcomes.replays + EXCLUDED.replays,
               in_flight_conflicts = idempotency_outcomes.in_flight_conflicts + EXCLUDED.in_flight_conflicts,
               key_mismatches = idempotency_outcomes.key_mismatches + EXCLUDED.key_mismatches",
            &[&business_id, &instance, &replays, &conflicts, &mismatches],
        )
        .await?;
    Ok(())
}

/// The counts of a business, over every instance. `duplicate_invoice_numbers`
/// is left 0: the unique constraints make duplicates impossible, and
/// [`duplicate_numbers`] checks the whole database at start.
pub async fn of(
    client: &impl GenericClient,
    business_id: i64,
) -> Result<BusinessStats, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT
               (SELECT COUNT(*) FROM sales WHERE business_id = $1),
               (SELECT COUNT(*) FROM refunds WHERE business_id = $1),
               COALESCE(SUM(replays), 0)::BIGINT,
               COALESCE(SUM(in_flight_conflicts), 0)::BIGINT,
               COALESCE(SUM(key_mismatches), 0)::BIGINT
             FROM idempotency_outcomes WHERE business_id = $1",
            &[&business_id],
        )
        .await?;
    let n = |i: usize| row.get::<_, i64>(i) as u64;
    Ok(BusinessStats {
        sales: n(0),
        refunds: n(1),
        replays: n(2),
        in_flight_conflicts: n(3),
        key_mismatches: n(4),
        duplicate_invoice_numbers: 0,
        stored_keys: keys::count_stored(client, business_id).await?,
    })
}

/// Invoice and return numbers used more than once, over every business.
pub async fn duplicate_numbers(client: &impl GenericClient) -> Result<u64, tokio_postgres::Error> {
    let n: i64 = client
        .query_one(
            "SELECT COALESCE(SUM(n - 1), 0)::BIGINT FROM (
               SELECT COUNT(*) AS n FROM sales GROUP BY business_id, invoice_number HAVING COUNT(*) > 1
               UNION ALL
               SELECT COUNT(*) AS n FROM refunds GROUP BY business_id, return_number HAVING COUNT(*) > 1) d",
            &[],
        )
        .await?
        .get(0);
    Ok(n as u64)
}
