//! Sales and refunds on PostgreSQL: the same operations and views as
//! [`crate::sales`] (whose validation and problems they share), as
//! statements with bind parameters run in the caller's transaction.

use axum::http::StatusCode;
use serde_json::Value;
use time::OffsetDateTime;
use tokio_postgres::{GenericClient, Row};

use super::{catalog, numbering};
use crate::auth::Caller;
use crate::clock;
use crate::numbering::{format as number, Kind};
use crate::problem::Problem;
use crate::sales::{self as domain, Created, Line, Operation, Payment, Refund, Sale, ValidSale};

/// Runs `operation` for `caller` inside the transaction `tx`.
pub async fn run(
    tx: &impl GenericClient,
    caller: &Caller,
    operation: &Operation,
    now: OffsetDateTime,
) -> Result<(StatusCode, Created), Problem> {
    match operation {
        Operation::Sale(sale) => create(tx, caller, sale, now)
            .await
            .map(|(s, sale)| (s, Created::Sale(sale))),
        Operation::Refund { sale_id, lines } => refund(tx, caller, sale_id, lines, now)
            .await
            .map(|(s, refund)| (s, Created::Refund(refund))),
    }
}

/// Records a sale: takes the stock of every line (in product id order, so
/// two sales never wait on each other in a cycle), draws the invoice number,
/// writes the rows.
pub async fn create(
    tx: &impl GenericClient,
    caller: &Caller,
    sale: &ValidSale,
    now: OffsetDateTime,
) -> Result<(StatusCode, Sale), Problem> {
    let mut items = Vec::with_capacity(sale.lines.len());
    for &(product_id, quantity) in &sale.lines {
        let product = catalog::find(tx, caller.business_id, product_id)
            .await?
            .ok_or_else(|| domain::unknown_product(product_id))?;
        if !catalog::take(tx, caller.business_id, product_id, quantity).await? {
            let now_in_stock = catalog::find(tx, caller.business_id, product_id)
                .await?
                .unwrap_or(product);
            return Err(domain::insufficient_stock(&now_in_stock, quantity));
        }
        items.push(Line::priced(product_id, product.name, quantity, product.price_cents)?);
    }
    let total_cents = domain::total(&items)?;
    domain::check_payments(sale, total_cents)?;

    let period = clock::period(now);
    let seq = numbering::draw(tx, caller.business_id, Kind::Invoice, &period).await?;
    let invoice_number = number(Kind::Invoice, &period, seq);
    let created_at = clock::rfc3339(now);
    let public_id = uuid::Uuid::new_v4().to_string();
    let id: i64 = tx
        .query_one(
            "INSERT INTO sales (business_id, cashier_id, location_id, period, seq, invoice_number, total_cents, created_at, public_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            &[&caller.business_id, &caller.cashier_id, &sale.location_id.to_string(), &period, &seq, &invoice_number, &total_cents, &created_at, &public_id],
        )
        .await?
        .get(0);
    for l in &items {
        tx.execute(
            "INSERT INTO sale_items (sale_id, product_id, name, quantity, unit_price_cents) VALUES ($1, $2, $3, $4, $5)",
            &[&id, &l.product_id, &l.name, &l.quantity, &l.unit_price_cents],
        )
        .await?;
    }
    for (position, p) in sale.payments.iter().enumerate() {
        tx.execute(
            "INSERT INTO payments (sale_id, position, method, amount_cents) VALUES ($1, $2, $3, $4)",
            &[&id, &(position as i64), &p.method, &p.amount_cents],
        )
        .await?;
    }
    Ok((
        StatusCode::CREATED,
        Sale {
            id: public_id,
            invoice_number,
            location_id: sale.location_id.clone(),
            cashier_id: caller.cashier_id,
            total_cents,
            items,
            payments: sale.payments.clone(),
            refunded_cents: 0,
            created_at,
        },
    ))
}

/// Records a refund of lines of a sale of the caller's business: never more
/// of a product than the sale had, counting earlier refunds (the sale's row is
/// locked first, so two refunds of one sale are counted one after the other);
/// restocks; draws the return number.
pub async fn refund(
    tx: &impl GenericClient,
    caller: &Caller,
    sale_public_id: &str,
    lines: &[(i64, i64)],
    now: OffsetDateTime,
) -> Result<(StatusCode, Refund), Problem> {
    let row = tx
        .query_opt(
            "SELECT id, invoice_number FROM sales WHERE public_id = $1 AND business_id = $2 FOR UPDATE",
            &[&sale_public_id, &caller.business_id],
        )
        .await?
        .ok_or_else(|| domain::sale_not_found(sale_public_id))?;
    let (sale_id, invoice_number): (i64, String) = (row.get(0), row.get(1));
    let mut items = Vec::with_capacity(lines.len());
    for &(product_id, quantity) in lines {
        let line = tx
            .query_opt(
                "SELECT name, quantity, unit_price_cents FROM sale_items WHERE sale_id = $1 AND product_id = $2",
                &[&sale_id, &product_id],
            )
            .await?
            .ok_or_else(|| domain::product_not_in_sale(product_id, &invoice_number))?;
        let (name, sold, unit_price_cents): (String, i64, i64) =
            (line.get(0), line.get(1), line.get(2));
        let refunded: i64 = tx
            .query_one(
                "SELECT COALESCE(SUM(ri.quantity), 0)::BIGINT FROM refund_items ri JOIN refunds r ON r.id = ri.refund_id
                 WHERE r.sale_id = $1 AND ri.product_id = $2",
                &[&sale_id, &product_id],
            )
            .await?
            .get(0);
        if refunded + quantity > sold {
            return Err(domain::refund_exceeds_sale(
                &name,
                product_id,
                quantity,
                &invoice_number,
                sold,
                refunded,
            ));
        }
        catalog::restock(tx, caller.business_id, product_id, quantity).await?;
        items.push(Line::priced(product_id, name, quantity, unit_price_cents)?);
    }
    let total_cents = domain::total(&items)?;
    let period = clock::period(now);
    let seq = numbering::draw(tx, caller.business_id, Kind::Return, &period).await?;
    let return_number = number(Kind::Return, &period, seq);
    let created_at = clock::rfc3339(now);
    let public_id = uuid::Uuid::new_v4().to_string();
    let id: i64 = tx
        .query_one(
            "INSERT INTO refunds (business_id, sale_id, cashier_id, period, seq, return_number, total_cents, created_at, public_id)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            &[&caller.business_id, &sale_id, &caller.cashier_id, &period, &seq, &return_number, &total_cents, &created_at, &public_id],
        )
        .await?
        .get(0);
    for l in &items {
        tx.execute(
            "INSERT INTO refund_items (refund_id, product_id, quantity, unit_price_cents) VALUES ($1, $2, $3, $4)",
            &[&id, &l.product_id, &l.quantity, &l.unit_price_cents],
        )
        .await?;
    }
    Ok((
        StatusCode::CREATED,
        Refund {
            id: public_id,
            return_number,
            sale_id: sale_public_id.to_owned(),
            invoice_number,
            total_cents,
            items,
            created_at,
        },
    ))
}

/// A sale and its row id from a row of `public_id, invoice_number,
/// location_id, cashier_id, total_cents, created_at, id, refunded`.
fn sale_from_row(r: &Row) -> (i64, Sale) {
    let location: String = r.get(2);
    (
        r.get(6),
        Sale {
            id: r.get(0),
            invoice_number: r.get(1),
            location_id: serde_json::from_str(&location).unwrap_or(Value::String(location)),
            cashier_id: r.get(3),
            total_cents: r.get(4),
            created_at: r.get(5),
            refunded_cents: r.get(7),
            items: Vec::new(),
            payments: Vec::new(),
        },
    )
}

/// Fills the lines (by product id) and payments (in the order sent) of the
/// sale in row `row_id`.
async fn load_lines(
    client: &impl GenericClient,
    row_id: i64,
    sale: &mut Sale,
) -> Result<(), tokio_postgres::Error> {
    sale.items = client
        .query(
            "SELECT product_id, name, quantity, unit_price_cents FROM sale_items WHERE sale_id = $1 ORDER BY product_id",
            &[&row_id],
        )
        .await?
        .iter()
        .map(|r| Line::stored(r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    sale.payments = client
        .query(
            "SELECT method, amount_cents FROM payments WHERE sale_id = $1 ORDER BY position",
            &[&row_id],
        )
        .await?
        .iter()
        .map(|r| Payment {
            method: r.get(0),
            amount_cents: r.get(1),
        })
        .collect();
    Ok(())
}

/// The newest `limit` sales of a business, newest first.
pub async fn list(
    client: &impl GenericClient,
    business_id: i64,
    limit: i64,
) -> Result<Vec<Sale>, tokio_postgres::Error> {
    let rows = client
        .query(
            "SELECT s.public_id, s.invoice_number, s.location_id, s.cashier_id, s.total_cents, s.created_at, s.id,
                    (SELECT COALESCE(SUM(r.total_cents), 0)::BIGINT FROM refunds r WHERE r.sale_id = s.id)
             FROM sales s WHERE s.business_id = $1 ORDER BY s.id DESC LIMIT $2",
            &[&business_id, &limit],
        )
        .await?;
    let mut sales = Vec::with_capacity(rows.len());
    for row in &rows {
        let (row_id, mut sale) = sale_from_row(row);
        load_lines(client, row_id, &mut sale).await?;
        sales.push(sale);
    }
    Ok(sales)
}

/// The sale with public id `id` as [`create`] returned it, byte for byte once
/// serialised: what a replay answers after the stored response expired.
pub async fn sale_as_created(
    client: &impl GenericClient,
    id: &str,
) -> Result<Sale, tokio_postgres::Error> {
    let row = client
        .query_one(
            "SELECT s.public_id, s.invoice_number, s.location_id, s.cashier_id, s.total_cents, s.created_at, s.id, 0::BIGINT
             FROM sales s WHERE s.public_id = $1",
            &[&id],
        )
        .await?;
    let (row_id, mut sale) = sale_from_row(&row);
    load_lines(client, row_id, &mut sale).await?;
    Ok(sale)
}

/// The refund with public id `id` as [`refund`] returned it, byte for byte
/// once serialised.
pub async fn refund_as_created(
    client: &impl GenericClient,
    id: &str,
) -> Result<Refund, tokio_postgres::Error> {
    let r = client
        .query_one(
            "SELECT r.public_id, r.return_number, s.public_id, s.invoice_number, r.total_cents, r.created_at, r.id, s.id
             FROM refunds r JOIN sales s ON s.id = r.sale_id WHERE r.public_id = $1",
            &[&id],
        )
        .await?;
    let (row_id, sale_row_id): (i64, i64) = (r.get(6), r.get(7));
    let items = client
        .query(
            "SELECT ri.product_id, si.name, ri.quantity, ri.unit_price_cents
             FROM refund_items ri JOIN sale_items si ON si.sale_id = $2 AND si.product_id = ri.product_id
             WHERE ri.refund_id = $1 ORDER BY ri.product_id",
            &[&row_id, &sale_row_id],
        )
        .await?
        .iter()
        .map(|r| Line::stored(r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect();
    Ok(Refund {
        id: r.get(0),
        return_number: r.get(1),
        sale_id: r.get(2),
        invoice_number: r.get(3),
        total_cents: r.get(4),
        created_at: r.get(5),
        items,
    })
}
