//! Products and their stock on PostgreSQL. Stock is taken with a conditional
//! update, which PostgreSQL re-checks against the newest row version when
//! another transaction changed the row meanwhile: stock never goes negative
//! however many instances sell at once (`CHECK (stock >= 0)` backs it up).

use tokio_postgres::{GenericClient, Row};

use crate::catalog::Product;

fn product(r: &Row) -> Product {
    Product {
        id: r.get(0),
        name: r.get(1),
        price_cents: r.get(2),
        stock: r.get(3),
    }
}

/// The products of a business, by id.
pub async fn list(
    client: &impl GenericClient,
    business_id: i64,
) -> Result<Vec<Product>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT id, name, price_cents, stock FROM products WHERE business_id = $1 ORDER BY id",
            &[&business_id],
        )
        .await?;
    Ok(rows.iter().map(product).collect())
}

/// One product of a business, if it exists there.
pub async fn find(
    client: &impl GenericClient,
    business_id: i64,
    product_id: i64,
) -> Result<Option<Product>, tokio_postgres::Error> {
    Ok(client
        .query_opt(
            "SELECT id, name, price_cents, stock FROM products WHERE business_id = $1 AND id = $2",
            &[&business_id, &product_id],
        )
        .await?
        .as_ref()
        .map(product))
}

/// Takes `quantity` units out of stock if that many are there; returns whether
/// it did. Call inside the sale's transaction.
pub async fn take(
    tx: &impl GenericClient,
    business_id: i64,
    product_id: i64,
    quantity: i64,
) -> Result<bool, tokio_postgres::Error> {
    let changed = tx
        .execute(
            "UPDATE products SET stock = stock - $3 WHERE business_id = $1 AND id = $2 AND stock >= $3",
            &[&business_id, &product_id, &quantity],
        )
        .await?;
    Ok(changed == 1)
}

/// Puts `quantity` units back into stock (a refund). Call inside the refund's
/// transaction.
pub async fn restock(
    tx: &impl GenericClient,
    business_id: i64,
    product_id: i64,
    quantity: i64,
) -> Result<(), tokio_postgres::Error> {
    tx.execute(
        "UPDATE products SET stock = stock + $3 WHERE business_id = $1 AND id = $2",
        &[&business_id, &product_id, &quantity],
    )
    .await?;
    Ok(())
}
