//! Sales and refunds: request validation, the transactional operations that
//! record them (stock, numbers, rows), and the views the API returns.

use std::collections::BTreeMap;

use axum::http::StatusCode;
use rusqlite::{params, Connection, OptionalExtension as _};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;

use crate::auth::Caller;
use crate::catalog;
use crate::clock;
use crate::idempotency::effect::{Effect, Effectful};
use crate::numbering::{self, Kind};
use crate::problem::Problem;

/// Most lines in one sale or refund.
pub const MAX_LINES: usize = 100;
/// Largest quantity on one line.
pub const MAX_QUANTITY: i64 = 10_000;
/// Most payments on one sale.
pub const MAX_PAYMENTS: usize = 10;

/// One requested line: `{productId, quantity}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LineRequest {
    /// The product.
    pub product_id: i64,
    /// Units; must be 1 to [`MAX_QUANTITY`].
    pub quantity: i64,
}

/// One payment: `{method, amountCents}`.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Payment {
    /// E.g. `cash`, `card`.
    pub method: String,
    /// Amount in cents, at least 1.
    pub amount_cents: i64,
}

/// `POST /api/sales` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewSale {
    /// The till or shop: a string or a non-negative integer, returned as sent.
    pub location_id: Value,
    /// What is sold.
    pub items: Vec<LineRequest>,
    /// How it was paid (optional). When present and not empty, the amounts
    /// must add up to the sale's total exactly: they record what was charged for
    /// this sale (cash handed back as change is not a payment).
    #[serde(default)]
    pub payments: Option<Vec<Payment>>,
}

/// `POST /api/sales/{id}/refund` body.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewRefund {
    /// What is returned.
    pub items: Vec<LineRequest>,
}

/// A validated sale request: lines merged by product (ascending id).
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSale {
    pub(crate) location_id: Value,
    pub(crate) lines: Vec<(i64, i64)>,
    pub(crate) payments: Vec<Payment>,
    /// The sum of the payments; `None` when there are none.
    pub(crate) paid_cents: Option<i64>,
}

/// A write the API records: what a write handler hands the idempotency layer
/// to run in its transaction, on whichever store the server uses.
#[derive(Debug, Clone, PartialEq)]
pub enum Operation {
    /// `POST /api/sales`.
    Sale(ValidSale),
    /// `POST /api/sales/{id}/refund`: the sale's public id and the lines.
    Refund {
        /// The refunded sale's public id.
        sale_id: String,
        /// Validated lines, by product id.
        lines: Vec<(i64, i64)>,
    },
}

/// What an [`Operation`] created, serialised as the 201 body.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum Created {
    /// A sale.
    Sale(Sale),
    /// A refund.
    Refund(Refund),
}

impl Effectful for Created {
    fn effect(&self) -> Effect {
        match self {
            Created::Sale(sale) => sale.effect(),
            Created::Refund(refund) => refund.effect(),
        }
    }
}

impl Operation {
    /// Runs the operation for `caller` on SQLite, inside the write transaction `tx`.
    pub fn run(
        &self,
        tx: &Connection,
        caller: &Caller,
        now: OffsetDateTime,
    ) -> Result<(StatusCode, Created), Problem> {
        match self {
            Operation::Sale(sale) => {
                create(tx, caller, sale, now).map(|(s, sale)| (s, Created::Sale(sale)))
            }
            Operation::Refund { sale_id, lines } => refund(tx, caller, sale_id, lines, now)
                .map(|(s, refund)| (s, Created::Refund(refund))),
        }
    }
}

/// Validates lines: 1 to [`MAX_LINES`], positive product ids, quantities of 1
/// to [`MAX_QUANTITY`]; lines of the same product are added up.
pub fn validate_lines(items: &[LineRequest]) -> Result<Vec<(i64, i64)>, Problem> {
    if items.is_empty() {
        return Err(Problem::invalid_input(
            "items: at least one line is required",
        ));
    }
    if items.len() > MAX_LINES {
        return Err(Problem::invalid_input(format!(
            "items: at most {MAX_LINES} lines are allowed, got {}",
            items.len()
        )));
    }
    let mut merged = BTreeMap::<i64, i64>::new();
    for (i, line) in items.iter().enumerate() {
        if line.product_id <= 0 {
            return Err(Problem::invalid_input(format!(
                "items[{i}].productId must be a positive product id, got {}",
                line.product_id
            )));
        }
        if !(1..=MAX_QUANTITY).contains(&line.quantity) {
            return Err(Problem::invalid_input(format!(
                "items[{i}].quantity must be a whole number from 1 to {MAX_QUANTITY}, got {}",
                line.quantity
            )));
        }
        let total = merged.entry(line.product_id).or_default();
        *total += line.quantity;
        if *total > MAX_QUANTITY {
            return Err(Problem::invalid_input(format!(
                "product {} appears on several lines adding up to more than {MAX_QUANTITY} units",
                line.product_id
            )));
        }
    }
    Ok(merged.into_iter().collect())
}

impl NewSale {
    /// Checks everything that can be checked without the database.
    pub fn validate(self) -> Result<ValidSale, Problem> {
        match &self.location_id {
            Value::String(s) if !s.trim().is_empty() && s.chars().count() <= 64 => {}
            Value::Number(n) if n.as_u64().is_some() => {}
            other => {
                return Err(Problem::invalid_input(format!(
                    "locationId must be a non-empty string of at most 64 characters or a non-negative integer, got {other}"
                )))
            }
        }
        let lines = validate_lines(&self.items)?;
        let payments = self.payments.unwrap_or_default();
        if payments.len() > MAX_PAYMENTS {
            return Err(Problem::invalid_input(format!(
                "payments: at most {MAX_PAYMENTS} are allowed, got {}",
                payments.len()
            )));
        }
        for (i, p) in payments.iter().enumerate() {
            if p.method.trim().is_empty() || p.method.chars().count() > 32 {
                return Err(Problem::invalid_input(format!(
                    "payments[{i}].method must be a non-empty name of at most 32 characters"
                )));
            }
            if p.amount_cents < 1 {
                return Err(Problem::invalid_input(format!(
                    "payments[{i}].amountCents must be at least 1, got {}",
                    p.amount_cents
                )));
            }
        }
        let paid_cents = match payments.as_slice() {
            [] => None,
            _ => Some(
                payments
                    .iter()
                    .try_fold(0i64, |sum, p| sum.checked_add(p.amount_cents))
                    .ok_or_else(|| {
                        Problem::invalid_input(
                            "payments: the amounts add up to more than any sale can total",
                        )
                    })?,
            ),
        };
        Ok(ValidSale {
            location_id: self.location_id,
            lines,
            payments,
            paid_cents,
        })
    }
}

/// A line of a recorded sale or refund.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Line {
    /// The product.
    pub product_id: i64,
    /// Its name at the time of the sale.
    pub name: String,
    /// Units.
    pub quantity: i64,
    /// Unit price at the time of the sale, in cents.
    pub unit_price_cents: i64,
    /// `quantity × unitPriceCents`.
    pub line_total_cents: i64,
}

impl Line {
    /// A line being sold or refunded now: its total is `quantity ×
    /// unit_price_cents`, or 400 when that overflows (quantities and prices
    /// that large are not a sale).
    pub fn priced(product_id: i64, name: String, quantity: i64, unit_price_cents: i64) -> Result<Line, Problem> {
        let line_total_cents = quantity.checked_mul(unit_price_cents).ok_or_else(|| {
            Problem::invalid_input("a line total overflows; quantities and prices are too large")
        })?;
        Ok(Line { product_id, name, quantity, unit_price_cents, line_total_cents })
    }

    /// A line read back from the database: its total was checked for
    /// overflow when it was sold, so it is simply recomputed.
    pub fn stored(product_id: i64, name: String, quantity: i64, unit_price_cents: i64) -> Line {
        Line { product_id, name, quantity, unit_price_cents, line_total_cents: quantity * unit_price_cents }
    }
}

/// A recorded sale, as `POST /api/sales` and `GET /api/sales` return it.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Sale {
    /// Sale id: a random UUID, which says nothing about other sales.
    pub id: String,
    /// `INV-YYYYMM-NNNN`.
    pub invoice_number: String,
    /// As sent by the client.
    pub location_id: Value,
    /// The cashier who made the sale.
    pub cashier_id: i64,
    /// Sum of the lines, in cents.
    pub total_cents: i64,
    /// The lines, by product id.
    pub items: Vec<Line>,
    /// The payments, in the order sent.
    pub payments: Vec<Payment>,
    /// Amount refunded so far, in cents.
    pub refunded_cents: i64,
    /// RFC 3339, UTC.
    pub created_at: String,
}

/// A recorded refund, as `POST /api/sales/{id}/refund` returns it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Refund {
    /// Refund id: a random UUID, which says nothing about other refunds.
    pub id: String,
    /// `RET-YYYYMM-NNNN`.
    pub return_number: String,
    /// The refunded sale's id.
    pub sale_id: String,
    /// The refunded sale's invoice number.
    pub invoice_number: String,
    /// Sum of the lines, in cents.
    pub total_cents: i64,
    /// The lines, by product id.
    pub items: Vec<Line>,
    /// RFC 3339, UTC.
    pub created_at: String,
}


/// The sum of the line totals; 400 if it overflows (a refund's cannot: its
/// lines are part of a sale, whose total did not).
pub(crate) fn total(items: &[Line]) -> Result<i64, Problem> {
    items
        .iter()
        .try_fold(0i64, |sum, l| sum.checked_add(l.line_total_cents))
        .ok_or_else(|| Problem::invalid_input("the sale total overflows"))
}

/// 400 for a product that is not the business's.
pub(crate) fn unknown_product(product_id: i64) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "unknown-product",
        "Unknown product",
        format!("product {product_id} does not exist in this business"),
    )
}

/// 409 for a line whose product has fewer than `quantity` units in stock.
pub(crate) fn insufficient_stock(product: &catalog::Product, quantity: i64) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "insufficient-stock",
        "Not enough stock",
        format!(
            "{} (product {}): {quantity} requested, {} in stock",
            product.name, product.id, product.stock
        ),
    )
}

/// 400 when the sale has payments that do not add up to `total_cents`.
pub(crate) fn check_payments(sale: &ValidSale, total_cents: i64) -> Result<(), Problem> {
    match sale.paid_cents.filter(|&paid| paid != total_cents) {
        Some(paid_cents) => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "payments-do-not-match-total",
            "Payments do not match the total",
            format!("payments add up to {paid_cents} cents, but the sale totals {total_cents} cents; send payments that add up to the total, or none"),
        )),
        None => Ok(()),
    }
}

/// 404 for a refund of a sale that is not the business's.
pub(crate) fn sale_not_found(sale_public_id: &str) -> Problem {
    Problem::not_found(
        "sale-not-found",
        format!("sale {sale_public_id} does not exist in this business"),
    )
}

/// 400 for a refund line of a product the sale did not have.
pub(crate) fn product_not_in_sale(product_id: i64, invoice_number: &str) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        "product-not-in-sale",
        "Product not in this sale",
        format!("product {product_id} is not part of sale {invoice_number}"),
    )
}

/// 409 for a refund line beyond what the sale sold minus earlier refunds.
pub(crate) fn refund_exceeds_sale(
    name: &str,
    product_id: i64,
    quantity: i64,
    invoice_number: &str,
    sold: i64,
    refunded: i64,
) -> Problem {
    Problem::new(
        StatusCode::CONFLICT,
        "refund-exceeds-sale",
        "Refund exceeds what was sold",
        format!("{name} (product {product_id}): {quantity} to refund, but sale {invoice_number} sold {sold} and {refunded} were already refunded"),
    )
}

/// Records a sale: checks and takes the stock of every line, draws the invoice
/// number, writes the rows. Must run inside a write transaction: any error
/// leaves the caller to roll everything back.
pub fn create(
    tx: &Connection,
    caller: &Caller,
    sale: &ValidSale,
    now: OffsetDateTime,
) -> Result<(StatusCode, Sale), Problem> {
    let mut items = Vec::with_capacity(sale.lines.len());
    for &(product_id, quantity) in &sale.lines {
        let product = catalog::find(tx, caller.business_id, product_id)?
            .ok_or_else(|| unknown_product(product_id))?;
        if !catalog::take(tx, caller.business_id, product_id, quantity)? {
            return Err(insufficient_stock(&product, quantity));
        }
        items.push(Line::priced(product_id, product.name, quantity, product.price_cents)?);
    }
    let total_cents = total(&items)?;
    check_payments(sale, total_cents)?;

    let period = clock::period(now);
    let seq = numbering::draw(tx, caller.business_id, Kind::Invoice, &period)?;
    let invoice_number = numbering::format(Kind::Invoice, &period, seq);
    let created_at = clock::rfc3339(now);
    let public_id = uuid::Uuid::new_v4().to_string();
    tx.prepare_cached(
        "INSERT INTO sales (business_id, cashier_id, location_id, period, seq, invoice_number, total_cents, created_at, public_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![caller.business_id, caller.cashier_id, sale.location_id.to_string(), period, seq, invoice_number, total_cents, created_at, public_id])?;
    let id = tx.last_insert_rowid();
    for l in &items {
        tx.prepare_cached("INSERT INTO sale_items (sale_id, product_id, name, quantity, unit_price_cents) VALUES (?1, ?2, ?3, ?4, ?5)")?
            .execute(params![id, l.product_id, l.name, l.quantity, l.unit_price_cents])?;
    }
    for (position, p) in sale.payments.iter().enumerate() {
        tx.prepare_cached("INSERT INTO payments (sale_id, position, method, amount_cents) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![id, position as i64, p.method, p.amount_cents])?;
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

/// Records a refund of lines of a sale (by its public id) of the caller's
/// business: never more of a product than the sale had, counting earlier
/// refunds; restocks; draws the return number. Must run inside a write
/// transaction.
pub fn refund(
    tx: &Connection,
    caller: &Caller,
    sale_public_id: &str,
    lines: &[(i64, i64)],
    now: OffsetDateTime,
) -> Result<(StatusCode, Refund), Problem> {
    let (sale_id, invoice_number): (i64, String) = tx
        .query_row(
            "SELECT id, invoice_number FROM sales WHERE public_id = ?1 AND business_id = ?2",
            params![sale_public_id, caller.business_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()?
        .ok_or_else(|| sale_not_found(sale_public_id))?;
    let mut items = Vec::with_capacity(lines.len());
    for &(product_id, quantity) in lines {
        let (name, sold, unit_price_cents): (String, i64, i64) = tx
            .prepare_cached("SELECT name, quantity, unit_price_cents FROM sale_items WHERE sale_id = ?1 AND product_id = ?2")?
            .query_row(params![sale_id, product_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?
            .ok_or_else(|| product_not_in_sale(product_id, &invoice_number))?;
        let refunded: i64 = tx
            .prepare_cached(
                "SELECT COALESCE(SUM(ri.quantity), 0) FROM refund_items ri JOIN refunds r ON r.id = ri.refund_id
                 WHERE r.sale_id = ?1 AND ri.product_id = ?2",
            )?
            .query_row(params![sale_id, product_id], |r| r.get(0))?;
        if refunded + quantity > sold {
            return Err(refund_exceeds_sale(
                &name,
                product_id,
                quantity,
                &invoice_number,
                sold,
                refunded,
            ));
        }
        catalog::restock(tx, caller.business_id, product_id, quantity)?;
        items.push(Line::priced(product_id, name, quantity, unit_price_cents)?);
    }
    let total_cents = total(&items)?;
    let period = clock::period(now);
    let seq = numbering::draw(tx, caller.business_id, Kind::Return, &period)?;
    let return_number = numbering::format(Kind::Return, &period, seq);
    let created_at = clock::rfc3339(now);
    let public_id = uuid::Uuid::new_v4().to_string();
    tx.prepare_cached(
        "INSERT INTO refunds (business_id, sale_id, cashier_id, period, seq, return_number, total_cents, created_at, public_id)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![caller.business_id, sale_id, caller.cashier_id, period, seq, return_number, total_cents, created_at, public_id])?;
    let id = tx.last_insert_rowid();
    for l in &items {
        tx.prepare_cached("INSERT INTO refund_items (refund_id, product_id, quantity, unit_price_cents) VALUES (?1, ?2, ?3, ?4)")?
            .execute(params![id, l.product_id, l.quantity, l.unit_price_cents])?;
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

/// The columns [`sale_from_row`] reads, in its order, from `sales s`.
const SALE_COLUMNS: &str =
    "s.public_id, s.invoice_number, s.location_id, s.cashier_id, s.total_cents, s.created_at, s.id";

/// A sale and its row id from a row of [`SALE_COLUMNS`] followed by the
/// refunded amount; its lines and payments are read by [`load_lines`].
fn sale_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(i64, Sale)> {
    let location: String = r.get(2)?;
    Ok((
        r.get(6)?,
        Sale {
            id: r.get(0)?,
            invoice_number: r.get(1)?,
            location_id: serde_json::from_str(&location).unwrap_or(Value::String(location)),
            cashier_id: r.get(3)?,
            total_cents: r.get(4)?,
            created_at: r.get(5)?,
            refunded_cents: r.get(7)?,
            items: Vec::new(),
            payments: Vec::new(),
        },
    ))
}

/// Fills the lines (by product id) and payments (in the order sent) of the
/// sale in row `row_id`.
fn load_lines(conn: &Connection, row_id: i64, sale: &mut Sale) -> rusqlite::Result<()> {
    sale.items = conn
        .prepare_cached("SELECT product_id, name, quantity, unit_price_cents FROM sale_items WHERE sale_id = ?1 ORDER BY product_id")?
        .query_map([row_id], |r| Ok(Line::stored(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    sale.payments = conn
        .prepare_cached(
            "SELECT method, amount_cents FROM payments WHERE sale_id = ?1 ORDER BY position",
        )?
        .query_map([row_id], |r| {
            Ok(Payment {
                method: r.get(0)?,
                amount_cents: r.get(1)?,
            })
        })?
        .collect::<rusqlite::Result<_>>()?;
    Ok(())
}

/// The newest `limit` sales of a business, newest first.
pub fn list(conn: &Connection, business_id: i64, limit: i64) -> rusqlite::Result<Vec<Sale>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {SALE_COLUMNS},
                (SELECT COALESCE(SUM(r.total_cents), 0) FROM refunds r WHERE r.sale_id = s.id)
         FROM sales s WHERE s.business_id = ?1 ORDER BY s.id DESC LIMIT ?2"
    ))?;
    let mut sales = stmt
        .query_map(params![business_id, limit], sale_from_row)?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    for (row_id, sale) in &mut sales {
        load_lines(conn, *row_id, sale)?;
    }
    Ok(sales.into_iter().map(|(_, sale)| sale).collect())
}

/// The sale with public id `id` as [`create`] returned it (nothing refunded
/// yet), byte for byte once serialised: what a replay answers after the stored
/// response expired.
pub fn sale_as_created(conn: &Connection, id: &str) -> rusqlite::Result<Sale> {
    let (row_id, mut sale) = conn
        .prepare_cached(&format!(
            "SELECT {SALE_COLUMNS}, 0 FROM sales s WHERE s.public_id = ?1"
        ))?
        .query_row([id], sale_from_row)?;
    load_lines(conn, row_id, &mut sale)?;
    Ok(sale)
}

/// The refund with public id `id` as [`refund`] returned it, byte for byte
/// once serialised.
pub fn refund_as_created(conn: &Connection, id: &str) -> rusqlite::Result<Refund> {
    let (row_id, sale_row_id, mut refund) = conn
        .prepare_cached(
            "SELECT r.public_id, r.return_number, s.public_id, s.invoice_number, r.total_cents, r.created_at, r.id, s.id
             FROM refunds r JOIN sales s ON s.id = r.sale_id WHERE r.public_id = ?1",
        )?
        .query_row([id], |r| {
            Ok((
                r.get::<_, i64>(6)?,
                r.get::<_, i64>(7)?,
                Refund {
                    id: r.get(0)?,
                    return_number: r.get(1)?,
                    sale_id: r.get(2)?,
                    invoice_number: r.get(3)?,
                    total_cents: r.get(4)?,
                    created_at: r.get(5)?,
                    items: Vec::new(),
                },
            ))
        })?;
    refund.items = conn
        .prepare_cached(
            "SELECT ri.product_id, si.name, ri.quantity, ri.unit_price_cents
             FROM refund_items ri JOIN sale_items si ON si.sale_id = ?2 AND si.product_id = ri.product_id
             WHERE ri.refund_id = ?1 ORDER BY ri.product_id",
        )?
        .query_map(params![row_id, sale_row_id], |r| Ok(Line::stored(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(refund)
}

impl Effectful for Sale {
    fn effect(&self) -> Effect {
        Effect::Sale(self.id.clone())
    }
}

impl Effectful for Refund {
    fn effect(&self) -> Effect {
        Effect::Refund(self.id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn line(product_id: i64, quantity: i64) -> LineRequest {
        LineRequest {
            product_id,
            quantity,
        }
    }

    fn store() -> Connection {
        let mut conn = Connection::open_in_memory().unwrap();
        crate::db::schema::migrate(&mut conn).unwrap();
        conn.execute_batch(
            "INSERT INTO businesses VALUES (1, 'a'), (2, 'b');
             INSERT INTO cashiers VALUES (1, 1, 'c1', 'h1'), (2, 2, 'c2', 'h2');
             INSERT INTO products VALUES (1, 1, 'Mug', 1000, 3), (2, 1, 'Cup', 250, 10), (3, 2, 'Other', 100, 10);",
        )
        .unwrap();
        conn
    }

    fn caller(business_id: i64) -> Caller {
        Caller {
            business_id,
            cashier_id: business_id,
            name: "c".into(),
        }
    }

    fn valid(lines: &[(i64, i64)]) -> ValidSale {
        NewSale {
            location_id: Value::from("till-1"),
            items: lines.iter().map(|&(p, q)| line(p, q)).collect(),
            payments: None,
        }
        .validate()
        .unwrap()
    }

    #[test]
    fn lines_are_validated_and_merged() {
        assert_eq!(
            validate_lines(&[line(2, 1), line(1, 2), line(2, 3)]).unwrap(),
            vec![(1, 2), (2, 4)]
        );
        assert!(validate_lines(&[])
            .unwrap_err()
            .detail
            .contains("at least one"));
        assert!(validate_lines(&[line(1, 0)])
            .unwrap_err()
            .detail
            .contains("items[0].quantity"));
        assert!(validate_lines(&[line(1, 1), line(1, -2)])
            .unwrap_err()
            .detail
            .contains("items[1].quantity"));
        assert!(validate_lines(&[line(0, 1)])
            .unwrap_err()
            .detail
            .contains("productId"));
        assert!(validate_lines(&[line(1, MAX_QUANTITY), line(1, 1)]).is_err());
    }

    #[test]
    fn location_and_payments_are_validated() {
        let sale = |location: Value, payments| {
            NewSale {
                location_id: location,
                items: vec![line(1, 1)],
                payments,
            }
            .validate()
        };
        assert!(sale(Value::from(3), None).is_ok());
        assert!(sale(Value::from(""), None).is_err());
        assert!(sale(Value::from(-1), None).is_err());
        assert!(sale(Value::Null, None).is_err());
        assert!(sale(
            Value::from("t"),
            Some(vec![Payment {
                method: "cash".into(),
                amount_cents: 0
            }])
        )
        .is_err());
        assert!(sale(
            Value::from("t"),
            Some(vec![Payment {
                method: "cash".into(),
                amount_cents: 10
            }])
        )
        .is_ok());
    }

    #[test]
    fn a_sale_takes_stock_and_numbers_itself() {
        let conn = store();
        let now = datetime!(2025-03-07 10:00 UTC);
        let (status, sale) = create(&conn, &caller(1), &valid(&[(1, 2), (2, 1)]), now).unwrap();
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(sale.invoice_number, "INV-202503-0001");
        assert_eq!(sale.total_cents, 2 * 1000 + 250);
        assert_eq!(catalog::find(&conn, 1, 1).unwrap().unwrap().stock, 1);
        let (_, second) = create(&conn, &caller(1), &valid(&[(2, 1)]), now).unwrap();
        assert_eq!(second.invoice_number, "INV-202503-0002");
        let listed = list(&conn, 1, 10).unwrap();
        assert_eq!(
            listed.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
            vec![second.id, sale.id]
        );
        assert_eq!(listed[1].items, sale.items);
    }

    #[test]
    fn short_stock_and_foreign_products_are_refused() {
        let conn = store();
        let now = datetime!(2025-03-07 10:00 UTC);
        let e = create(&conn, &caller(1), &valid(&[(1, 4)]), now).unwrap_err();
        assert_eq!(
            (e.status, e.slug),
            (StatusCode::CONFLICT, "insufficient-stock")
        );
        let e = create(&conn, &caller(1), &valid(&[(3, 1)]), now).unwrap_err();
        assert_eq!(
            (e.status, e.slug),
            (StatusCode::BAD_REQUEST, "unknown-product")
        );
    }

    #[test]
    fn refunds_restock_and_never_exceed_the_sale() {
        let conn = store();
        let now = datetime!(2025-03-07 10:00 UTC);
        let (_, sale) = create(&conn, &caller(1), &valid(&[(1, 2)]), now).unwrap();
        let (_, r) = refund(&conn, &caller(1), &sale.id, &[(1, 1)], now).unwrap();
        assert_eq!(
            (r.return_number.as_str(), r.total_cents),
            ("RET-202503-0001", 1000)
        );
        assert_eq!(catalog::find(&conn, 1, 1).unwrap().unwrap().stock, 2);
        assert_eq!(
            refund(&conn, &caller(1), &sale.id, &[(1, 2)], now)
                .unwrap_err()
                .slug,
            "refund-exceeds-sale"
        );
        assert_eq!(
            refund(&conn, &caller(1), &sale.id, &[(2, 1)], now)
                .unwrap_err()
                .slug,
            "product-not-in-sale"
        );
        assert_eq!(
            refund(&conn, &caller(2), &sale.id, &[(1, 1)], now)
                .unwrap_err()
                .slug,
            "sale-not-found"
        );
        assert_eq!(list(&conn, 1, 1).unwrap()[0].refunded_cents, 1000);
    }

    #[test]
    fn a_sale_and_a_refund_read_back_as_created() {
        let conn = store();
        let now = datetime!(2025-03-07 10:00 UTC);
        let mut sale = valid(&[(2, 3), (1, 1)]);
        sale.payments = vec![Payment {
            method: "card".into(),
            amount_cents: 1750,
        }];
        let (_, created) = create(&conn, &caller(1), &sale, now).unwrap();
        let (_, refunded) = refund(&conn, &caller(1), &created.id, &[(2, 1)], now).unwrap();
        assert_eq!(
            sale_as_created(&conn, &created.id).unwrap(),
            created,
            "refundedCents stays as first answered"
        );
        assert_eq!(refund_as_created(&conn, &refunded.id).unwrap(), refunded);
    }
}
