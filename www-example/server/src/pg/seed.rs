//! The `--demo` data on PostgreSQL: the same businesses, cashiers and
//! products as [`crate::db::seed`], inserted once into a new database.

use tokio_postgres::Client;

use crate::auth::token_sha256;
use crate::db::seed::{BUSINESSES, DEMO_TOKENS, PRODUCTS};

/// Whether the database holds any of the demo cashiers, whose tokens are public.
pub async fn has_demo_cashiers(client: &Client) -> Result<bool, tokio_postgres::Error> {
    let hashes: Vec<String> = DEMO_TOKENS
        .iter()
        .map(|(t, _, _)| token_sha256(t))
        .collect();
    Ok(client
        .query_opt(
            "SELECT 1 FROM cashiers WHERE token_sha256 = ANY($1) LIMIT 1",
            &[&hashes],
        )
        .await?
        .is_some())
}

/// Inserts the demo data if the database has no business yet, in one
/// transaction. `stock` overrides every product's seeded stock. The caller
/// holds the migration lock, so instances started together seed once.
pub async fn seed_if_empty(
    client: &mut Client,
    stock: Option<i64>,
) -> Result<(), tokio_postgres::Error> {
    let tx = client.transaction().await?;
    let count: i64 = tx
        .query_one("SELECT COUNT(*) FROM businesses", &[])
        .await?
        .get(0);
    if count > 0 {
        return Ok(());
    }
    for (id, name) in BUSINESSES {
        tx.execute(
            "INSERT INTO businesses (id, name) VALUES ($1, $2)",
            &[id, name],
        )
        .await?;
    }
    tx.execute(
        "SELECT setval(pg_get_serial_sequence('businesses', 'id'), (SELECT MAX(id) FROM businesses))",
        &[],
    )
    .await?;
    for (token, business, name) in DEMO_TOKENS {
        tx.execute(
            "INSERT INTO cashiers (business_id, name, token_sha256) VALUES ($1, $2, $3)",
            &[business, name, &token_sha256(token)],
        )
        .await?;
    }
    for (business, name, price, seeded) in PRODUCTS {
        tx.execute(
            "INSERT INTO products (business_id, name, price_cents, stock) VALUES ($1, $2, $3, $4)",
            &[business, name, price, &stock.unwrap_or(*seeded)],
        )
        .await?;
    }
    tx.commit().await?;
    tracing::info!("new database seeded with {} demo products", PRODUCTS.len());
    Ok(())
}
