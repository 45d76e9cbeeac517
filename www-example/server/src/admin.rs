//! The administration subcommands: create businesses, their products and
//! cashiers on the database file, for a server outside demo mode. A cashier's
//! token is drawn from the operating system's CSPRNG, printed once and stored
//! only as its SHA-256 hash. Safe while the server runs (SQLite serialises the
//! writes).

use std::path::Path;

use anyhow::Context as _;
use rand::TryRngCore as _;
use rusqlite::{params, Connection, OptionalExtension as _};

use crate::auth::token_sha256;
use crate::db::{self, Synchronous};

/// `pos-server admin …`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum AdminCommand {
    /// Creates a business; prints its id.
    AddBusiness {
        /// Its display name.
        #[arg(long)]
        name: String,
    },
    /// Creates a product of a business; prints its id.
    AddProduct {
        /// The business id.
        #[arg(long)]
        business: i64,
        /// Its display name.
        #[arg(long)]
        name: String,
        /// Price in cents.
        #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
        price_cents: i64,
        /// Units in stock.
        #[arg(long, value_parser = clap::value_parser!(i64).range(0..))]
        stock: i64,
    },
    /// Creates a cashier of a business with a new random token, printed once:
    /// only its hash is stored, so it cannot be shown again.
    AddCashier {
        /// The business id.
        #[arg(long)]
        business: i64,
        /// The cashier's display name.
        #[arg(long)]
        name: String,
    },
}

/// Random bytes in a cashier token (256 bits).
const TOKEN_BYTES: usize = 32;

/// A new cashier token: `pos_` and 64 hex digits from the OS CSPRNG.
pub fn new_token() -> anyhow::Result<String> {
    let mut bytes = [0u8; TOKEN_BYTES];
    rand::rngs::OsRng
        .try_fill_bytes(&mut bytes)
        .context("reading the operating system's random source")?;
    Ok(format!("pos_{}", hex::encode(bytes)))
}

/// Runs `command` on the database at `path`; returns what to print.
pub fn run(
    path: &Path,
    synchronous: Synchronous,
    command: &AdminCommand,
) -> anyhow::Result<String> {
    let conn = db::open_writer(path, synchronous)?;
    match command {
        AdminCommand::AddBusiness { name } => {
            conn.execute("INSERT INTO businesses (name) VALUES (?1)", [name])?;
            Ok(format!(
                "business {} created: {name}",
                conn.last_insert_rowid()
            ))
        }
        AdminCommand::AddProduct {
            business,
            name,
            price_cents,
            stock,
        } => {
            ensure_business(&conn, *business)?;
            conn.execute(
                "INSERT INTO products (business_id, name, price_cents, stock) VALUES (?1, ?2, ?3, ?4)",
                params![business, name, price_cents, stock],
            )?;
            Ok(format!(
                "product {} created in business {business}: {name}",
                conn.last_insert_rowid()
            ))
        }
        AdminCommand::AddCashier { business, name } => {
            ensure_business(&conn, *business)?;
            let token = new_token()?;
            conn.execute(
                "INSERT INTO cashiers (business_id, name, token_sha256) VALUES (?1, ?2, ?3)",
                params![business, name, token_sha256(&token)],
            )?;
            Ok(format!(
                "cashier {} created in business {business}: {name}\ntoken (shown only now; send it as Authorization: Bearer <token>):\n{token}",
                conn.last_insert_rowid()
            ))
        }
    }
}

fn ensure_business(conn: &Connection, id: i64) -> anyhow::Result<()> {
    let exists = conn
        .query_row("SELECT 1 FROM businesses WHERE id = ?1", [id], |_| Ok(()))
        .optional()?
        .is_some();
    anyhow::ensure!(
        exists,
        "there is no business {id}; create it with `admin add-business`"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_long_random_and_distinct() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_eq!(a.len(), 4 + 2 * TOKEN_BYTES);
        assert!(a.starts_with("pos_"));
        assert_ne!(a, b);
    }
}
