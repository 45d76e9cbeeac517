//! The `idempotency_keys` table: completed responses kept for replay.

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
    /// When the key stops being replayed (Unix ms).
    pub expires_at_ms: i64,
}

impl StoredResponse {
    /// Whether the record is still replayable at `now_ms`.
    pub fn is_live(&self, now_ms: i64) -> bool {
        self.expires_at_ms > now_ms
    }
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

/// The stored response for `scope`, live or expired.
pub fn find(conn: &Connection, scope: &Scope) -> rusqlite::Result<Option<StoredResponse>> {
    conn.prepare_cached(
        "SELECT fingerprint, status, content_type, body, expires_at_ms FROM idempotency_keys
         WHERE business_id = ?1 AND cashier_id = ?2 AND key = ?3",
    )?
    .query_row(
        params![scope.business_id, scope.cashier_id, scope.key],
        |r| {
            Ok(StoredResponse {
                fingerprint: r.get(0)?,
                status: r.get(1)?,
                content_type: r.get(2)?,
                body: r.get(3)?,
                expires_at_ms: r.get(4)?,
            })
        },
    )
    .optional()
}

/// Stores a completed response. Must run in the transaction that wrote the
/// request's effects. Fails (and so fails that transaction) if the scope already
/// has a record: the unique scope is the last line of defence against a double
/// execution.
pub fn insert(
    conn: &Connection,
    scope: &Scope,
    fingerprint: &Fingerprint,
    response: NewResponse<'_>,
    now_ms: i64,
    ttl_ms: i64,
) -> rusqlite::Result<()> {
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
    Ok(())
}

/// Deletes the record of `scope` (used for an expired record found before the
/// purge task got to it).
pub fn delete(conn: &Connection, scope: &Scope) -> rusqlite::Result<()> {
    conn.execute(
        "DELETE FROM idempotency_keys WHERE business_id = ?1 AND cashier_id = ?2 AND key = ?3",
        params![scope.business_id, scope.cashier_id, scope.key],
    )?;
    Ok(())
}

/// Deletes the records expired at `now_ms` that precede, in insertion order,
/// the oldest live one; returns how many. With one TTL that is every expired
/// record, found without an index on the expiry and without scanning live rows.
/// (After the TTL is shortened, newer records can expire before older ones;
/// they are ignored by [`StoredResponse::is_live`] and deleted once the older
/// ones have expired too.)
pub fn purge_expired(conn: &Connection, now_ms: i64) -> rusqlite::Result<usize> {
    conn.execute(
        "DELETE FROM idempotency_keys WHERE id < COALESCE(
            (SELECT id FROM idempotency_keys WHERE expires_at_ms > ?1 ORDER BY id LIMIT 1),
            (SELECT MAX(id) + 1 FROM idempotency_keys))",
        [now_ms],
    )
}

/// Number of records of a business still in the table (expired ones count
/// until the purge task deletes them).
pub fn count_stored(conn: &Connection, business_id: i64) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT COUNT(*) FROM idempotency_keys WHERE business_id = ?1",
        [business_id],
        |r| r.get(0),
    )
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

    #[test]
    fn insert_find_expire_purge() {
        let conn = db();
        let scope = Scope {
            business_id: 1,
            cashier_id: 2,
            key: "k".into(),
        };
        insert(&conn, &scope, &[7; 32], JSON_201, 1_000, 500).unwrap();
        let found = find(&conn, &scope).unwrap().unwrap();
        assert_eq!(
            (found.status, found.body.as_slice(), found.expires_at_ms),
            (201, &b"{}"[..], 1_500)
        );
        assert!(found.is_live(1_499) && !found.is_live(1_500));
        assert!(
            insert(&conn, &scope, &[7; 32], JSON_201, 1_000, 500).is_err(),
            "one record per scope"
        );
        let other_tenant = Scope {
            business_id: 2,
            ..scope.clone()
        };
        assert!(find(&conn, &other_tenant).unwrap().is_none());
        assert_eq!(count_stored(&conn, 1).unwrap(), 1);
        assert_eq!(purge_expired(&conn, 1_499).unwrap(), 0);
        assert_eq!(purge_expired(&conn, 1_500).unwrap(), 1);
        assert!(find(&conn, &scope).unwrap().is_none());
        assert_eq!(
            purge_expired(&conn, 1_500).unwrap(),
            0,
            "an empty table purges nothing"
        );
    }

    #[test]
    fn purge_deletes_the_expired_prefix_and_keeps_live_records() {
        let conn = db();
        let scope = |k: &str| Scope {
            business_id: 1,
            cashier_id: 1,
            key: k.into(),
        };
        // Inserted at 0, 10, 20 with a TTL of 100, then one with a TTL of 5.
        insert(&conn, &scope("a"), &[1; 32], JSON_201, 0, 100).unwrap();
        insert(&conn, &scope("b"), &[1; 32], JSON_201, 10, 100).unwrap();
        insert(&conn, &scope("c"), &[1; 32], JSON_201, 20, 100).unwrap();
        insert(&conn, &scope("d"), &[1; 32], JSON_201, 30, 5).unwrap();
        assert_eq!(purge_expired(&conn, 111).unwrap(), 2, "a and b expired");
        assert!(find(&conn, &scope("c")).unwrap().is_some());
        assert!(
            find(&conn, &scope("d"))
                .unwrap()
                .is_some_and(|d| !d.is_live(111)),
            "d waits behind live c, ignored meanwhile"
        );
        assert_eq!(
            purge_expired(&conn, 120).unwrap(),
            2,
            "c expired, and d behind it"
        );
        assert_eq!(count_stored(&conn, 1).unwrap(), 0);
    }
}
