//! The store behind the API, chosen at start: the embedded SQLite file
//! ([`crate::db`], the default) or a PostgreSQL database shared by several
//! instances ([`crate::pg`], `--database postgres://…`). Handlers, the
//! idempotency layer, authentication, stats and readiness go through this
//! one type; each operation is the same on both, with the same answers.

use std::sync::Arc;

use anyhow::Context as _;

use crate::admin::{self, AdminCommand};
use crate::auth::{self, Caller};
use crate::catalog::{self, Product};
use crate::config::Config;
use crate::db::{Db, DemoSeed};
use crate::pg::{self, Pg};
use crate::problem::Problem;
use crate::sales::{self, Sale};
use crate::stats::{BusinessStats, Stats};

/// Runs an `admin` subcommand on the store `config` names (outside any
/// async runtime: PostgreSQL gets one of its own); returns what to print.
pub fn run_admin(config: &Config, command: &AdminCommand) -> anyhow::Result<String> {
    match &config.database {
        Some(url) => tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?
            .block_on(pg::admin::run(url, command)),
        None => admin::run(&config.db, config.sqlite_synchronous, command),
    }
}

/// The store of a running server; cheap to clone.
#[derive(Clone)]
pub enum Store {
    /// One SQLite file, this process its only writer.
    Sqlite(Db),
    /// A PostgreSQL database, possibly shared with other instances.
    Postgres(Pg),
}

impl Store {
    /// Opens the store `config` names: PostgreSQL with `--database`, else the
    /// SQLite file `--db`; migrated, and seeded with `--demo`.
    pub async fn open(config: &Config) -> anyhow::Result<Self> {
        let demo = config.demo.then_some(DemoSeed {
            stock: config.seed_stock,
        });
        if let Some(url) = &config.database {
            return Ok(Store::Postgres(Pg::open(url, demo).await?));
        }
        let path = config.db.clone();
        let synchronous = config.sqlite_synchronous;
        let db = tokio::task::spawn_blocking(move || Db::open(&path, synchronous, demo))
            .await
            .context("opening the database")??;
        Ok(Store::Sqlite(db))
    }

    /// The per-business counts kept in memory ([`Stats`], used by the SQLite
    /// store) and the number of duplicate invoice or return numbers found in
    /// the database (always 0; the server refuses to start otherwise).
    pub async fn load_stats(&self) -> anyhow::Result<(Stats, u64)> {
        match self {
            Store::Sqlite(db) => {
                let stats = db
                    .read(|conn| Ok(Stats::load(conn)?))
                    .await
                    .map_err(|p| anyhow::anyhow!("counting the stored sales: {}", p.detail))?;
                let duplicates = stats.duplicate_invoice_numbers();
                Ok((stats, duplicates))
            }
            Store::Postgres(pg) => {
                let client = pg
                    .client()
                    .await
                    .map_err(|p| anyhow::anyhow!("{}", p.detail))?;
                let duplicates = pg::stats::duplicate_numbers(&**client)
                    .await
                    .context("counting duplicate invoice numbers")?;
                Ok((Stats::default(), duplicates))
            }
        }
    }

    /// The cashier whose token hashes to `token_sha256`, if any.
    pub async fn find_cashier(&self, token_sha256: String) -> Result<Option<Caller>, Problem> {
        match self {
            Store::Sqlite(db) => {
                db.read_for_auth(move |conn| Ok(auth::find_cashier(conn, &token_sha256)?))
                    .await
            }
            Store::Postgres(pg) => {
                let client = pg.client().await?;
                Ok(auth::find_cashier_pg(&**client, &token_sha256).await?)
            }
        }
    }

    /// The products of a business.
    pub async fn products(&self, business_id: i64) -> Result<Vec<Product>, Problem> {
        match self {
            Store::Sqlite(db) => {
                db.read(move |conn| Ok(catalog::list(conn, business_id)?))
                    .await
            }
            Store::Postgres(pg) => {
                let client = pg.client().await?;
                Ok(pg::catalog::list(&**client, business_id).await?)
            }
        }
    }

    /// The newest `limit` sales of a business, newest first.
    pub async fn sales(&self, business_id: i64, limit: i64) -> Result<Vec<Sale>, Problem> {
        match self {
            Store::Sqlite(db) => {
                db.read(move |conn| Ok(sales::list(conn, business_id, limit)?))
                    .await
            }
            Store::Postgres(pg) => {
                let client = pg.client().await?;
                Ok(pg::sales::list(&**client, business_id, limit).await?)
            }
        }
    }

    /// `GET /api/stats` of a business: from the in-memory `stats` on SQLite
    /// (this process is the only writer), from the database on PostgreSQL
    /// (over every instance).
    pub async fn stats(
        &self,
        business_id: i64,
        stats: &Arc<Stats>,
    ) -> Result<BusinessStats, Problem> {
        match self {
            Store::Sqlite(_) => Ok(stats.of(business_id)),
            Store::Postgres(pg) => {
                let client = pg.client().await?;
                Ok(pg::stats::of(&**client, business_id).await?)
            }
        }
    }

    /// Whether a write could start now; `Err` says why not.
    pub async fn check_writable(&self) -> Result<(), String> {
        match self {
            Store::Sqlite(db) => db.check_writable().await,
            Store::Postgres(pg) => pg.check_writable().await,
        }
    }

    /// What the start-up log names as the database.
    pub fn describe(&self, config: &Config) -> String {
        match self {
            Store::Sqlite(_) => format!("SQLite {}", config.db.display()),
            Store::Postgres(_) => "PostgreSQL (--database)".to_owned(),
        }
    }
}
