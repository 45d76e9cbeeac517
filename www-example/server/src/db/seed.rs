//! Demo data for a new database, with `--demo` only: two businesses, three
//! cashiers with the public demo tokens of docs/spec.md §3, and products with stock
//! between 5 and 500.

use rusqlite::{params, Connection};

use crate::auth::token_sha256;

/// The seeded demo cashiers: (token, business id, cashier name).
pub const DEMO_TOKENS: &[(&str, i64, &str)] = &[
    ("demo-cashier-1", 1, "Ana (Corner Shop)"),
    ("demo-cashier-2", 1, "Ben (Corner Shop)"),
    ("demo-cashier-3", 2, "Chloé (Harbour Café)"),
];

pub(crate) const BUSINESSES: &[(i64, &str)] = &[(1, "Corner Shop"), (2, "Harbour Café")];

/// (business id, name, price in cents, stock).
pub(crate) const PRODUCTS: &[(i64, &str, i64, i64)] = &[
    (1, "Espresso beans 250 g", 899, 120),
    (1, "Oat milk 1 L", 249, 200),
    (1, "Croissant", 180, 60),
    (1, "Sourdough loaf", 450, 40),
    (1, "Ceramic mug", 1299, 25),
    (1, "Limited-edition tote bag", 1999, 5),
    (1, "Paper cups, pack of 50", 599, 500),
    (2, "Flat white", 380, 300),
    (2, "Banana bread", 320, 45),
    (2, "Harbour blend 1 kg", 2499, 18),
    (2, "Reusable cup", 1100, 5),
];

/// What `--demo` seeds into a new database.
#[derive(Debug, Clone, Copy, Default)]
pub struct DemoSeed {
    /// Overrides every product's stock.
    pub stock: Option<i64>,
}

/// Whether the database holds any of the demo cashiers, whose tokens are public.
pub fn has_demo_cashiers(conn: &Connection) -> rusqlite::Result<bool> {
    let mut stmt = conn.prepare("SELECT 1 FROM cashiers WHERE token_sha256 = ?1")?;
    for (token, _, _) in DEMO_TOKENS {
        if stmt.exists([token_sha256(token)])? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Inserts the demo data if the database has no business yet, in one
/// transaction. `stock` overrides every product's seeded stock.
pub fn seed_if_empty(conn: &mut Connection, stock: Option<i64>) -> rusqlite::Result<()> {
    let tx = conn.transaction()?;
    let count: i64 = tx.query_row("SELECT COUNT(*) FROM businesses", [], |r| r.get(0))?;
    if count > 0 {
        return Ok(());
    }
    for (id, name) in BUSINESSES {
        tx.execute(
            "INSERT INTO businesses (id, name) VALUES (?1, ?2)",
            params![id, name],
        )?;
    }
    for (token, business, name) in DEMO_TOKENS {
        tx.execute(
            "INSERT INTO cashiers (business_id, name, token_sha256) VALUES (?1, ?2, ?3)",
            params![business, name, token_sha256(token)],
        )?;
    }
    let stock_override = stock;
    for (business, name, price, stock) in PRODUCTS {
        tx.execute(
            "INSERT INTO products (business_id, name, price_cents, stock) VALUES (?1, ?2, ?3, ?4)",
            params![business, name, price, stock_override.unwrap_or(*stock)],
        )?;
    }
    tx.commit()?;
    tracing::info!("new database seeded with {} demo products", PRODUCTS.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeded_stock_is_between_5_and_500() {
        assert!(PRODUCTS.iter().all(|p| (5..=500).contains(&p.3)));
    }

    #[test]
    fn seeding_twice_inserts_once() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        seed_if_empty(&mut conn, None).unwrap();
        seed_if_empty(&mut conn, Some(7)).unwrap();
        let n: i64 = conn
            .query_row("SELECT COUNT(*) FROM products", [], |r| r.get(0))
            .unwrap();
        assert_eq!(n as usize, PRODUCTS.len());
        let min: i64 = conn
            .query_row("SELECT MIN(stock) FROM products", [], |r| r.get(0))
            .unwrap();
        assert_eq!(min, 5, "the second call changed nothing");
    }

    #[test]
    fn stock_can_be_overridden_for_a_new_database() {
        let mut conn = Connection::open_in_memory().unwrap();
        super::super::schema::migrate(&mut conn).unwrap();
        seed_if_empty(&mut conn, Some(1_000_000)).unwrap();
        let (min, max): (i64, i64) = conn
            .query_row("SELECT MIN(stock), MAX(stock) FROM products", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((min, max), (1_000_000, 1_000_000));
    }
}
