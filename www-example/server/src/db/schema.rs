//! The schema, as an ordered list of migrations tracked in `PRAGMA user_version`.
//! A migration is never edited once released: add a new one to the end.

use rusqlite::Connection;

/// Migration `i` takes the schema from version `i` to `i + 1`.
const MIGRATIONS: &[&str] = &[
    // 1: businesses, cashiers, products, sales, refunds, sequences, idempotency keys.
    r#"
    CREATE TABLE businesses (
        id   INTEGER PRIMARY KEY,
        name TEXT NOT NULL
    );
    CREATE TABLE cashiers (
        id           INTEGER PRIMARY KEY,
        business_id  INTEGER NOT NULL REFERENCES businesses(id),
        name         TEXT NOT NULL,
        -- SHA-256 of the bearer token, hex; the token itself is never stored.
        token_sha256 TEXT NOT NULL UNIQUE
    );
    CREATE TABLE products (
        id          INTEGER PRIMARY KEY,
        business_id INTEGER NOT NULL REFERENCES businesses(id),
        name        TEXT NOT NULL,
        price_cents INTEGER NOT NULL CHECK (price_cents >= 0),
        stock       INTEGER NOT NULL CHECK (stock >= 0)
    );
    CREATE INDEX products_business ON products(business_id);

    -- Invoice and return numbers: the last number drawn per business, kind
    -- ('INV' or 'RET') and month. Incremented in the transaction that writes the
    -- sale or refund, so a rolled-back sale gives its number back: gapless.
    CREATE TABLE sequences (
        business_id INTEGER NOT NULL REFERENCES businesses(id),
        kind        TEXT NOT NULL CHECK (kind IN ('INV', 'RET')),
        period      TEXT NOT NULL,
        last_value  INTEGER NOT NULL CHECK (last_value > 0),
        PRIMARY KEY (business_id, kind, period)
    ) WITHOUT ROWID;

    CREATE TABLE sales (
        id             INTEGER PRIMARY KEY,
        business_id    INTEGER NOT NULL REFERENCES businesses(id),
        cashier_id     INTEGER NOT NULL REFERENCES cashiers(id),
        location_id    TEXT NOT NULL, -- JSON: the client's string or number, as sent
        period         TEXT NOT NULL,
        seq            INTEGER NOT NULL CHECK (seq > 0),
        invoice_number TEXT NOT NULL,
        total_cents    INTEGER NOT NULL CHECK (total_cents >= 0),
        created_at     TEXT NOT NULL,
        -- The number encodes (period, seq), so this also makes each draw unique.
        UNIQUE (business_id, invoice_number)
    );
    CREATE TABLE sale_items (
        sale_id          INTEGER NOT NULL REFERENCES sales(id),
        product_id       INTEGER NOT NULL REFERENCES products(id),
        name             TEXT NOT NULL,
        quantity         INTEGER NOT NULL CHECK (quantity > 0),
        unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents >= 0),
        PRIMARY KEY (sale_id, product_id)
    ) WITHOUT ROWID;
    CREATE TABLE payments (
        sale_id      INTEGER NOT NULL REFERENCES sales(id),
        position     INTEGER NOT NULL,
        method       TEXT NOT NULL,
        amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
        PRIMARY KEY (sale_id, position)
    ) WITHOUT ROWID;

    CREATE TABLE refunds (
        id            INTEGER PRIMARY KEY,
        business_id   INTEGER NOT NULL REFERENCES businesses(id),
        sale_id       INTEGER NOT NULL REFERENCES sales(id),
        cashier_id    INTEGER NOT NULL REFERENCES cashiers(id),
        period        TEXT NOT NULL,
        seq           INTEGER NOT NULL CHECK (seq > 0),
        return_number TEXT NOT NULL,
        total_cents   INTEGER NOT NULL CHECK (total_cents >= 0),
        created_at    TEXT NOT NULL,
        -- The number encodes (period, seq), so this also makes each draw unique.
        UNIQUE (business_id, return_number)
    );
    CREATE INDEX refunds_sale ON refunds(sale_id);
    CREATE TABLE refund_items (
        refund_id        INTEGER NOT NULL REFERENCES refunds(id),
        product_id       INTEGER NOT NULL REFERENCES products(id),
        quantity         INTEGER NOT NULL CHECK (quantity > 0),
        unit_price_cents INTEGER NOT NULL CHECK (unit_price_cents >= 0),
        PRIMARY KEY (refund_id, product_id)
    ) WITHOUT ROWID;

    -- Completed write requests, replayed for a retry with the same key. The
    -- unique key is the idempotency scope: one tenant's key never matches
    -- another's. Written in the same transaction as the sale or refund. (A
    -- rowid table: rows carry a response body, too large for WITHOUT ROWID.)
    -- Rows are appended in id order, which with one TTL is also expiry order:
    -- the purge deletes a prefix of ids, so no index on the expiry is needed
    -- (one page fewer to write per sale).
    CREATE TABLE idempotency_keys (
        id            INTEGER PRIMARY KEY,
        business_id   INTEGER NOT NULL,
        cashier_id    INTEGER NOT NULL,
        key           TEXT NOT NULL,
        fingerprint   BLOB NOT NULL,
        status        INTEGER NOT NULL,
        content_type  TEXT NOT NULL,
        body          BLOB NOT NULL,
        created_at_ms INTEGER NOT NULL,
        expires_at_ms INTEGER NOT NULL,
        UNIQUE (business_id, cashier_id, key)
    );
    "#,
    // 2: public ids of sales and refunds: random UUIDs, so that the id a
    // business sees says nothing about how many sales other businesses made
    // (the integer ids stay internal, for the foreign keys). Existing rows get
    // a random UUID v4 from SQLite's CSPRNG.
    r#"
    ALTER TABLE sales ADD COLUMN public_id TEXT;
    ALTER TABLE refunds ADD COLUMN public_id TEXT;
    UPDATE sales SET public_id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
    UPDATE refunds SET public_id = lower(hex(randomblob(4)) || '-' || hex(randomblob(2)) || '-4' || substr(hex(randomblob(2)), 2) || '-' || substr('89ab', 1 + (abs(random()) % 4), 1) || substr(hex(randomblob(2)), 2) || '-' || hex(randomblob(6)));
    CREATE UNIQUE INDEX sales_public_id ON sales(public_id);
    CREATE UNIQUE INDEX refunds_public_id ON refunds(public_id);
    "#,
    // 3: every sale and refund keeps the idempotency key and request fingerprint
    // that created it, for as long as the row exists: a retry after its stored
    // response expired is answered from the row, never executed again. The scope
    // is the row's own (business_id, cashier_id); the partial unique index holds
    // only rows written with a key.
    r#"
    ALTER TABLE sales ADD COLUMN idempotency_key TEXT;
    ALTER TABLE sales ADD COLUMN request_fingerprint BLOB;
    CREATE UNIQUE INDEX sales_idempotency_key ON sales(business_id, cashier_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    ALTER TABLE refunds ADD COLUMN idempotency_key TEXT;
    ALTER TABLE refunds ADD COLUMN request_fingerprint BLOB;
    CREATE UNIQUE INDEX refunds_idempotency_key ON refunds(business_id, cashier_id, idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    "#,
];

/// Brings the schema up to date, each migration in its own transaction.
pub fn migrate(conn: &mut Connection) -> rusqlite::Result<()> {
    let current: usize =
        conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))? as usize;
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current) {
        let tx = conn.transaction()?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
        tracing::info!("database migrated to schema version {}", index + 1);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_apply_once_and_are_idempotent() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        migrate(&mut conn).unwrap();
        let v: i64 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v as usize, MIGRATIONS.len());
    }

    #[test]
    fn stock_can_never_be_negative() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        conn.execute_batch("INSERT INTO businesses VALUES (1, 'b'); INSERT INTO products VALUES (1, 1, 'p', 100, 1);").unwrap();
        assert!(conn
            .execute("UPDATE products SET stock = stock - 2 WHERE id = 1", [])
            .is_err());
    }
}
