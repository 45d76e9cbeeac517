//! Products and their stock.

use rusqlite::{params, Connection, OptionalExtension as _};
use serde::Serialize;

/// A product as `GET /api/products` lists it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Product {
    /// Product id (unique across businesses).
    pub id: i64,
    /// Display name.
    pub name: String,
    /// Unit price in cents.
    pub price_cents: i64,
    /// Units in stock; never negative.
    pub stock: i64,
}

fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Product> {
    Ok(Product {
        id: r.get(0)?,
        name: r.get(1)?,
        price_cents: r.get(2)?,
        stock: r.get(3)?,
    })
}

/// The products of a business, by id.
pub fn list(conn: &Connection, business_id: i64) -> rusqlite::Result<Vec<Product>> {
    let mut stmt = conn.prepare_cached(
        "SELECT id, name, price_cents, stock FROM products WHERE business_id = ?1 ORDER BY id",
    )?;
    let products = stmt.query_map([business_id], row)?.collect();
    products
}

/// One product of a business, if it exists there.
pub fn find(
    conn: &Connection,
    business_id: i64,
    product_id: i64,
) -> rusqlite::Result<Option<Product>> {
    conn.prepare_cached(
        "SELECT id, name, price_cents, stock FROM products WHERE business_id = ?1 AND id = ?2",
    )?
    .query_row(params![business_id, product_id], row)
    .optional()
}

/// Takes `quantity` units out of stock if that many are there; returns whether
/// it did. Call inside the sale's transaction.
pub fn take(
    tx: &Connection,
    business_id: i64,
    product_id: i64,
    quantity: i64,
) -> rusqlite::Result<bool> {
    let changed = tx
        .prepare_cached("UPDATE products SET stock = stock - ?3 WHERE business_id = ?1 AND id = ?2 AND stock >= ?3")?
        .execute(params![business_id, product_id, quantity])?;
    Ok(changed == 1)
}

/// Puts `quantity` units back into stock (a refund). Call inside the refund's
/// transaction.
pub fn restock(
    tx: &Connection,
    business_id: i64,
    product_id: i64,
    quantity: i64,
) -> rusqlite::Result<()> {
    tx.prepare_cached("UPDATE products SET stock = stock + ?3 WHERE business_id = ?1 AND id = ?2")?
        .execute(params![business_id, product_id, quantity])?;
    Ok(())
}
