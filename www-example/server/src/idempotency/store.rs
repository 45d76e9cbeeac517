//! The `idempotency_keys` table: completed responses kept for replay.

use std::collections::BTreeMap;

use rusqlite::{params, Connection, OptionalExtension as _};

use super::fingerprint::Fingerprint;
use super::inflight::Scope;

/// A completed request's response, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    /// Fingerprint of the request that produced it.
    pub fingerprint: Vec<u8>,
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of the body.
    pub content_type: String,
    /// The body bytes.
    pub body: Vec<u8>,
}

/// A response to store: status, `Content-Type` and body.
#[derive(Debug, Clone, Copy)]
pub struct NewResponse<'a> {
    /// HTTP status.
    pub status: u16,
    /// `Content-Type` of the body.
    pub content_type: &'a str,
    /// The body bytes.
    pub body: &'a [u8],
}

/// The stored response for `scope` if it has not expired at `now_ms`.
pub fn find_live(
    conn: &Connection,
    scope: &Scope,
    now_ms: i64,
) -> rusqlite::Result<Option<StoredResponse>> {
    conn.prepare_cached(
        "SELECT fingerprint, status, content_type, body FROM idempotency_keys
         WHERE business_id = ?1 AND cashier_id = ?2 AND key = ?3 AND expires_at_ms > ?4",
    )?
    .query_row(
        params![scope.business_id, scope.cashier_id, scope.key, now_ms],
        |r| {
            Ok(StoredResponse {
                fingerprint: r.get(0)?,
                status: r.get(1)?,
                content_type: r.get(2)?,
                body: r.get(3)?,
            })
        },
    )
    .optional()
}

/// Stores a completed response; returns whether it replaced an expired record
/// of the same scope that the purge had not reached yet. Must run in the
/// transaction that wrote the request's effects, after [`find_live`] found no
/// live record in it. A live record of the scope makes the insert fail, and
/// so that transaction.
pub fn insert(
    conn: &Connection,
    scope: &Scope,
    fingerprint: &Fingerprint,
    response: NewResponse<'_>,
    now_ms: i64,
    ttl_ms: i64,
) -> rusqlite::Result<bool> {
    let replaced = conn
        .prepare_cached(
            "DELETE FROM idempotency_keys
             WHERE business_id = ?1 AND cashier_id = ?2 AND key = ?3 AND expires_at_ms <= ?4",
        )?
        .execute(params![
            scope.business_id,
            scope.cashier_id,
            scope.key,
            now_ms
        ])?;
    conn.prepare_cached(
        "INSERT INTO idempotency_keys
           (business_id, cashier_id, key, fingerprint, status, content_type, body, created_at_ms, expires_at_ms)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
            scope.business_id,
            scope.cashier_id,
            scope.key,
            &fingerprint[..],
            response.status,
            response.content_type,
            response.body,
            now_ms,
            now_ms.saturating_add(ttl_ms)
    ])?;
    Ok(replaced > 0)
}

/// Keys deleted by a purge, per business.
pub type Purged = BTreeMap<i64, u64>;

/// Deletes up to `limit` records expired at `now_ms` from the head of the
/// table (insertion order), stopping at the first live one; returns how many
/// per business. With one TTL the head is where every expired record is, so a
/// batch reads at most `limit` rows and never scans live ones; call it again
/// while it deletes `limit`. (After the TTL is shortened, newer records can
/// expire before older ones; [`find_live`] ignores them and they are deleted
/// once the older ones have expired too.)
pub fn purge_expired(conn: &Connection, now_ms: i64, limit: u32) -> rusqlite::Result<Purged> {
    let mut purged = Purged::new();
    let mut stmt = conn.prepare_cached(
        "WITH head AS MATERIALIZED (
           SELECT id, expires_at_ms FROM idempotency_keys ORDER BY id LIMIT ?2)
         DELETE FROM idempotency_keys WHERE id IN (
           SELECT id FROM head WHERE id < COALESCE(
             (SELECT MIN(id) FROM head WHERE expires_at_ms > ?1), 9223372036854775807))
         RETURNING business_id",
    )?;
    let mut rows = stmt.query(params![now_ms, limit])?;
    while let Some(row) = rows.next()? {
        *purged.entry(row.get(0)?).or_default() += 1;
    }
    Ok(purged)
}

/// Number of records per business still in the table (expired ones count
/// until the purge deletes them).
pub fn count_stored(conn: &Connection) -> rusqlite::Result<BTreeMap<i64, u64>> {
    conn.prepare("SELECT business_id, COUNT(*) FROM idempotency_keys GROUP BY business_id")?
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::schema::migrate(&mut conn).unwrap();
        conn
    }

    const JSON_201: NewResponse<'static> = NewResponse {
        status: 201,
        content_type: "application/json",
        body: b"{}",
    };

    fn scope(business_id: i64, key: &str) -> Scope {
        Scope {
            business_id,
            cashier_id: 2,
            key: key.into(),
        }
    }

    fn purged(conn: &Connection, now_ms: i64) -> Vec<(i64, u64)> {
        purge_expired(conn, now_ms, 100)
            .unwrap()
            .into_iter()
            .collect()
    }

    #[test]
    fn insert_find_expire_purge() {
        let conn = db();
        let scope = scope(1, "k");
        assert!(!insert(&conn, &scope, &[7; 32], JSON_201, 1_000, 500).unwrap());
        let found = find_live(&conn, &scope, 1_499).unwrap().unwrap();
        assert_eq!((found.status, found.body.as_slice()), (201, &b"{}"[..]));
        assert!(
            find_live(&conn, &scope, 1_500).unwrap().is_none(),
            "expired"
        );
        assert!(
            insert(&conn, &scope, &[7; 32], JSON_201, 1_000, 500).is_err(),
            "one live record per scope"
        );
        let other_tenant = Scope {
            business_id: 2,
            ..scope.clone()
        };
        assert!(find_live(&conn, &other_tenant, 0).unwrap().is_none());
        assert_eq!(count_stored(&conn).unwrap().get(&1), Some(&1));
        assert_eq!(purged(&conn, 1_499), vec![]);
        assert_eq!(purged(&conn, 1_500), vec![(1, 1)]);
        assert!(count_stored(&conn).unwrap().is_empty());
        assert_eq!(
            purged(&conn, 1_500),
            vec![],
            "an empty table purges nothing"
        );
    }

    #[test]
    fn an_expired_record_is_replaced() {
        let conn = db();
        insert(&conn, &scope(1, "k"), &[7; 32], JSON_201, 0, 10).unwrap();
        assert!(insert(&conn, &scope(1, "k"), &[8; 32], JSON_201, 10, 10).unwrap());
        let found = find_live(&conn, &scope(1, "k"), 10).unwrap().unwrap();
        assert_eq!(found.fingerprint, vec![8; 32]);
    }

    #[test]
    fn purge_deletes_the_expired_prefix_and_keeps_live_records() {
        let conn = db();
        // Inserted at 0, 10, 20 with a TTL of 100, then one with a TTL of 5.
        insert(&conn, &scope(1, "a"), &[1; 32], JSON_201, 0, 100).unwrap();
        insert(&conn, &scope(2, "b"), &[1; 32], JSON_201, 10, 100).unwrap();
        insert(&conn, &scope(1, "c"), &[1; 32], JSON_201, 20, 100).unwrap();
        insert(&conn, &scope(1, "d"), &[1; 32], JSON_201, 30, 5).unwrap();
        assert_eq!(purged(&conn, 111), vec![(1, 1), (2, 1)], "a and b expired");
        assert!(find_live(&conn, &scope(1, "c"), 111).unwrap().is_some());
        assert!(
            find_live(&conn, &scope(1, "d"), 111).unwrap().is_none(),
            "d waits behind live c, ignored meanwhile"
        );
        assert_eq!(
            purged(&conn, 120),
            vec![(1, 2)],
            "c expired, and d behind it"
        );
        assert!(count_stored(&conn).unwrap().is_empty());
    }
}
