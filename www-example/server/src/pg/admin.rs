//! The `admin` subcommands on PostgreSQL (`--database postgres://…`): the
//! same businesses, products and cashiers as [`crate::admin`] makes in a
//! SQLite file, safe while instances serve.

use anyhow::Context as _;
use tokio_postgres::NoTls;

use crate::admin::{new_token, AdminCommand};
use crate::auth::token_sha256;

/// Runs `command` on the database at `url` (migrating it first); returns what
/// to print.
pub async fn run(url: &str, command: &AdminCommand) -> anyhow::Result<String> {
    super::migrate(url).await?;
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .context("connecting to PostgreSQL")?;
    tokio::spawn(connection);
    let ensure_business = |id: i64| {
        let client = &client;
        async move {
            let exists = client
                .query_opt("SELECT 1 FROM businesses WHERE id = $1", &[&id])
                .await?
                .is_some();
            anyhow::ensure!(
                exists,
                "there is no business {id}; create it with `admin add-business`"
            );
            Ok(())
        }
    };
    match command {
        AdminCommand::AddBusiness { name } => {
            let id: i64 = client
                .query_one(
                    "INSERT INTO businesses (name) VALUES ($1) RETURNING id",
                    &[name],
                )
                .await?
                .get(0);
            Ok(format!("business {id} created: {name}"))
        }
        AdminCommand::AddProduct {
            business,
            name,
            price_cents,
            stock,
        } => {
            ensure_business(*business).await?;
            let id: i64 = client
                .query_one(
                    "INSERT INTO products (business_id, name, price_cents, stock) VALUES ($1, $2, $3, $4) RETURNING id",
                    &[business, name, price_cents, stock],
                )
                .await?
                .get(0);
            Ok(format!(
                "product {id} created in business {business}: {name}"
            ))
        }
        AdminCommand::AddCashier { business, name } => {
            ensure_business(*business).await?;
            let token = new_token()?;
            let id: i64 = client
                .query_one(
                    "INSERT INTO cashiers (business_id, name, token_sha256) VALUES ($1, $2, $3) RETURNING id",
                    &[business, name, &token_sha256(&token)],
                )
                .await?
                .get(0);
            Ok(format!(
                "cashier {id} created in business {business}: {name}\ntoken (shown only now; send it as Authorization: Bearer <token>):\n{token}"
            ))
        }
    }
}
