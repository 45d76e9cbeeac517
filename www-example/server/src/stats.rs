//! `GET /api/stats`: per-business counts. Sales, refunds and duplicate numbers
//! are counted in the database; replays, in-flight conflicts and key mismatches
//! are counters kept by this process since it started.

use std::collections::HashMap;
use std::sync::Mutex;

use rusqlite::Connection;
use serde::Serialize;

/// Idempotency outcomes counted in memory.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Counters {
    /// Responses replayed from the store.
    pub replays: u64,
    /// Requests refused with 409 because their key was in flight.
    pub in_flight_conflicts: u64,
    /// Requests refused with 422 because their key had another fingerprint.
    pub key_mismatches: u64,
}

/// Per-business [`Counters`].
#[derive(Debug, Default)]
pub struct Stats {
    by_business: Mutex<HashMap<i64, Counters>>,
}

impl Stats {
    fn bump(&self, business_id: i64, f: impl FnOnce(&mut Counters)) {
        f(self
            .by_business
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(business_id)
            .or_default());
    }

    /// Counts a replayed response.
    pub fn record_replay(&self, business_id: i64) {
        self.bump(business_id, |c| c.replays += 1);
    }

    /// Counts a 409 for a key in flight.
    pub fn record_in_flight_conflict(&self, business_id: i64) {
        self.bump(business_id, |c| c.in_flight_conflicts += 1);
    }

    /// Counts a 422 for a reused key.
    pub fn record_key_mismatch(&self, business_id: i64) {
        self.bump(business_id, |c| c.key_mismatches += 1);
    }

    /// The counters of a business.
    pub fn counters(&self, business_id: i64) -> Counters {
        self.by_business
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&business_id)
            .copied()
            .unwrap_or_default()
    }
}

/// The `GET /api/stats` body.
#[derive(Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct StatsView {
    /// Sales recorded for the business.
    pub sales: i64,
    /// Refunds recorded for the business.
    pub refunds: i64,
    /// Responses replayed since the server started.
    pub replays: u64,
    /// 409s for a key in flight since the server started.
    pub in_flight_conflicts: u64,
    /// 422s for a reused key since the server started.
    pub key_mismatches: u64,
    /// Invoice and return numbers used more than once. Always 0: the unique
    /// constraints make it impossible; it is counted, not assumed.
    pub duplicate_invoice_numbers: i64,
    /// Idempotency keys stored for the business, including expired ones the
    /// purge task has not deleted yet.
    pub stored_keys: i64,
}

/// Reads the database counts of a business and merges the in-memory counters.
pub fn view(
    conn: &Connection,
    business_id: i64,
    counters: Counters,
) -> rusqlite::Result<StatsView> {
    let count = |sql: &str| conn.query_row(sql, [business_id], |r| r.get::<_, i64>(0));
    Ok(StatsView {
        sales: count("SELECT COUNT(*) FROM sales WHERE business_id = ?1")?,
        refunds: count("SELECT COUNT(*) FROM refunds WHERE business_id = ?1")?,
        replays: counters.replays,
        in_flight_conflicts: counters.in_flight_conflicts,
        key_mismatches: counters.key_mismatches,
        duplicate_invoice_numbers: count(
            "SELECT COALESCE(SUM(n - 1), 0) FROM (
               SELECT COUNT(*) AS n FROM sales WHERE business_id = ?1 GROUP BY invoice_number HAVING n > 1
               UNION ALL
               SELECT COUNT(*) AS n FROM refunds WHERE business_id = ?1 GROUP BY return_number HAVING n > 1)",
        )?,
        stored_keys: crate::idempotency::store::count_stored(conn, business_id)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_per_business() {
        let stats = Stats::default();
        stats.record_replay(1);
        stats.record_replay(1);
        stats.record_in_flight_conflict(1);
        stats.record_key_mismatch(2);
        assert_eq!(
            stats.counters(1),
            Counters {
                replays: 2,
                in_flight_conflicts: 1,
                key_mismatches: 0
            }
        );
        assert_eq!(
            stats.counters(2),
            Counters {
                replays: 0,
                in_flight_conflicts: 0,
                key_mismatches: 1
            }
        );
        assert_eq!(stats.counters(3), Counters::default());
    }
}
