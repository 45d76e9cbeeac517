//! `GET /api/stats`: per-business counts kept in memory. Sales, refunds, stored
//! keys and duplicate numbers are counted in the database once at start-up and
//! then moved by each write as it commits, so a call reads a few integers
//! instead of counting a business's sales; replays, in-flight conflicts and key
//! mismatches count since the process started. Each business sees only its own.

use std::collections::HashMap;
use std::sync::Mutex;

use rusqlite::Connection;
use serde::Serialize;

use crate::idempotency::effect::Effect;
use crate::idempotency::store::{self, Purged};

/// One business's counts; the `GET /api/stats` body.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BusinessStats {
    /// Sales recorded.
    pub sales: u64,
    /// Refunds recorded.
    pub refunds: u64,
    /// Responses replayed since the server started.
    pub replays: u64,
    /// 409s for a key in flight since the server started.
    pub in_flight_conflicts: u64,
    /// 422s for a reused key since the server started.
    pub key_mismatches: u64,
    /// Invoice and return numbers used more than once. Always 0: the unique
    /// constraints make it impossible; the database is checked at start-up,
    /// not assumed.
    pub duplicate_invoice_numbers: u64,
    /// Idempotency keys stored, including expired ones the purge has not
    /// deleted yet.
    pub stored_keys: u64,
}

/// Per-business [`BusinessStats`].
#[derive(Debug, Default)]
pub struct Stats {
    by_business: Mutex<HashMap<i64, BusinessStats>>,
}

/// Per-business counts from a `SELECT business_id, COUNT(…)` query.
fn counts(conn: &Connection, sql: &str) -> rusqlite::Result<Vec<(i64, u64)>> {
    conn.prepare(sql)?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

impl Stats {
    /// Counts what the database already holds, per business.
    pub fn load(conn: &Connection) -> rusqlite::Result<Self> {
        let stats = Stats::default();
        for (business_id, n) in counts(
            conn,
            "SELECT business_id, COUNT(*) FROM sales GROUP BY business_id",
        )? {
            stats.bump(business_id, |c| c.sales = n);
        }
        for (business_id, n) in counts(
            conn,
            "SELECT business_id, COUNT(*) FROM refunds GROUP BY business_id",
        )? {
            stats.bump(business_id, |c| c.refunds = n);
        }
        for (business_id, n) in counts(
            conn,
            "SELECT business_id, SUM(n - 1) FROM (
               SELECT business_id, COUNT(*) AS n FROM sales GROUP BY business_id, invoice_number HAVING n > 1
               UNION ALL
               SELECT business_id, COUNT(*) AS n FROM refunds GROUP BY business_id, return_number HAVING n > 1)
             GROUP BY business_id",
        )? {
            stats.bump(business_id, |c| c.duplicate_invoice_numbers = n);
        }
        for (business_id, n) in store::count_stored(conn)? {
            stats.bump(business_id, |c| c.stored_keys = n);
        }
        Ok(stats)
    }

    fn bump(&self, business_id: i64, f: impl FnOnce(&mut BusinessStats)) {
        f(self
            .by_business
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(business_id)
            .or_default());
    }

    /// Counts a committed sale or refund.
    pub fn record_effect(&self, business_id: i64, effect: &Effect) {
        self.bump(business_id, |c| match effect {
            Effect::Sale(_) => c.sales += 1,
            Effect::Refund(_) => c.refunds += 1,
        });
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

    /// Counts a committed response record; `replaced_expired` when it took the
    /// place of an expired one of the same key.
    pub fn record_key_stored(&self, business_id: i64, replaced_expired: bool) {
        if !replaced_expired {
            self.bump(business_id, |c| c.stored_keys += 1);
        }
    }

    /// Counts the records a purge deleted.
    pub fn record_purged(&self, purged: &Purged) {
        for (&business_id, &n) in purged {
            self.bump(business_id, |c| {
                c.stored_keys = c.stored_keys.saturating_sub(n)
            });
        }
    }

    /// The counts of a business.
    pub fn of(&self, business_id: i64) -> BusinessStats {
        self.by_business
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&business_id)
            .copied()
            .unwrap_or_default()
    }

    /// Duplicate invoice and return numbers over every business (the metric).
    pub fn duplicate_invoice_numbers(&self) -> u64 {
        self.by_business
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .values()
            .map(|c| c.duplicate_invoice_numbers)
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_per_business() {
        let stats = Stats::default();
        stats.record_replay(1);
        stats.record_replay(1);
        stats.record_in_flight_conflict(1);
        stats.record_effect(1, &Effect::Sale("7".into()));
        stats.record_key_stored(1, false);
        stats.record_key_stored(1, true);
        stats.record_key_mismatch(2);
        stats.record_effect(2, &Effect::Refund("3".into()));
        assert_eq!(
            stats.of(1),
            BusinessStats {
                sales: 1,
                replays: 2,
                in_flight_conflicts: 1,
                stored_keys: 1,
                ..BusinessStats::default()
            }
        );
        assert_eq!(
            stats.of(2),
            BusinessStats {
                refunds: 1,
                key_mismatches: 1,
                ..BusinessStats::default()
            }
        );
        stats.record_purged(&Purged::from([(1, 1)]));
        assert_eq!(stats.of(1).stored_keys, 0);
        assert_eq!(stats.of(3), BusinessStats::default());
    }

    #[test]
    fn load_counts_what_the_database_holds() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::schema::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO businesses VALUES (1, 'a'), (2, 'b');
             INSERT INTO cashiers VALUES (1, 1, 'c1', 'h1'), (2, 2, 'c2', 'h2');
             INSERT INTO sales (business_id, cashier_id, location_id, period, seq, invoice_number, total_cents, created_at)
               VALUES (1, 1, '1', '202503', 1, 'INV-202503-0001', 1, 't'), (1, 1, '1', '202503', 2, 'INV-202503-0002', 1, 't'),
                      (2, 2, '1', '202503', 1, 'INV-202503-0001', 1, 't');",
        )
        .unwrap();
        let stats = Stats::load(&conn).unwrap();
        assert_eq!((stats.of(1).sales, stats.of(2).sales), (2, 1));
        assert_eq!(
            stats.duplicate_invoice_numbers(),
            0,
            "same number in two businesses is no duplicate"
        );
    }
}
