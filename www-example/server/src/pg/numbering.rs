//! Invoice and return numbers on PostgreSQL: the per-(business, kind, month)
//! row of `sequences` is incremented with `INSERT … ON CONFLICT DO UPDATE …
//! RETURNING` inside the sale's transaction. The update locks the row until
//! that transaction ends, so a concurrent sale of the same business on any
//! instance waits for it and then reads the committed value; a rolled-back
//! sale gives its number back. Unique and gapless across instances.

use tokio_postgres::GenericClient;

use crate::numbering::Kind;

/// Draws the next number of (business, kind, period). Call it only inside the
/// transaction that stores the number.
pub async fn draw(
    tx: &impl GenericClient,
    business_id: i64,
    kind: Kind,
    period: &str,
) -> Result<i64, tokio_postgres::Error> {
    let row = tx
        .query_one(
            "INSERT INTO sequences (business_id, kind, period, last_value) VALUES ($1, $2, $3, 1)
             ON CONFLICT (business_id, kind, period) DO UPDATE SET last_value = sequences.last_value + 1
             RETURNING last_value",
            &[&business_id, &kind.prefix(), &period],
        )
        .await?;
    Ok(row.get(0))
}
