//! Invoice (`INV-YYYYMM-NNNN`) and return (`RET-YYYYMM-NNNN`) numbers, drawn
//! from per-business, per-month sequences inside the transaction that writes
//! the sale or refund: a rolled-back transaction gives its number back, so the
//! numbers are gapless; the unique constraints on the tables make them unique.

use rusqlite::{params, Connection};

/// Which sequence a number comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Sales: `INV-…`.
    Invoice,
    /// Refunds: `RET-…`.
    Return,
}

impl Kind {
    /// The number prefix, also the `sequences.kind` value.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Invoice => "INV",
            Kind::Return => "RET",
        }
    }
}

/// `INV-202503-0042`: prefix, `YYYYMM` period, sequence number with at least
/// four digits (more once a month passes 9999).
pub fn format(kind: Kind, period: &str, seq: i64) -> String {
    format!("{}-{}-{:04}", kind.prefix(), period, seq)
}

/// Draws the next number of (business, kind, period). Call it only inside the
/// write transaction that stores the number, so the draw commits or rolls back
/// with it.
pub fn draw(tx: &Connection, business_id: i64, kind: Kind, period: &str) -> rusqlite::Result<i64> {
    tx.prepare_cached(
        "INSERT INTO sequences (business_id, kind, period, last_value) VALUES (?1, ?2, ?3, 1)
         ON CONFLICT (business_id, kind, period) DO UPDATE SET last_value = last_value + 1
         RETURNING last_value",
    )?
    .query_row(params![business_id, kind.prefix(), period], |r| r.get(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_with_at_least_four_digits() {
        assert_eq!(format(Kind::Invoice, "202503", 1), "INV-202503-0001");
        assert_eq!(format(Kind::Return, "202512", 42), "RET-202512-0042");
        assert_eq!(format(Kind::Invoice, "202503", 12345), "INV-202503-12345");
    }

    #[test]
    fn sequences_are_per_business_kind_and_month_and_rollback_gives_the_number_back() {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::schema::migrate(&mut conn).unwrap();
        conn.execute_batch("INSERT INTO businesses VALUES (1, 'a'), (2, 'b');")
            .unwrap();
        let tx = conn.transaction().unwrap();
        assert_eq!(draw(&tx, 1, Kind::Invoice, "202503").unwrap(), 1);
        assert_eq!(draw(&tx, 1, Kind::Invoice, "202503").unwrap(), 2);
        assert_eq!(draw(&tx, 2, Kind::Invoice, "202503").unwrap(), 1);
        assert_eq!(draw(&tx, 1, Kind::Return, "202503").unwrap(), 1);
        assert_eq!(draw(&tx, 1, Kind::Invoice, "202504").unwrap(), 1);
        tx.commit().unwrap();
        let tx = conn.transaction().unwrap();
        assert_eq!(draw(&tx, 1, Kind::Invoice, "202503").unwrap(), 3);
        tx.rollback().unwrap();
        let tx = conn.transaction().unwrap();
        assert_eq!(
            draw(&tx, 1, Kind::Invoice, "202503").unwrap(),
            3,
            "a rolled-back draw leaves no gap"
        );
    }
}
