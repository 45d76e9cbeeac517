//! The PostgreSQL store, chosen with `--database postgres://…`: several
//! `pos-server` instances share one database, and every exactly-once rule is
//! enforced by it (claims with a lease in [`keys`], the sequence row locked in
//! the sale's transaction in [`sales`], conditional stock updates in
//! [`catalog`]).
//!
//! The driver is tokio-postgres (the rust-postgres project) with a deadpool
//! pool and refinery's versioned migrations. Chosen over sqlx because every
//! statement here is a fixed text with bind parameters, checked by the
//! integration suite rather than at compile time against a live database
//! (which would need one at build time), and because refinery's plain
//! `V1__….sql` files keep the schema readable beside the SQLite one.
//! Connections are plain TCP (`NoTls`): the database is expected on the
//! loopback or a private network.

pub mod admin;
pub mod catalog;
pub mod effect;
pub mod keys;
pub mod numbering;
pub mod sales;
pub mod seed;
pub mod stats;

use std::time::Duration;

use anyhow::Context as _;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::db::DemoSeed;
use crate::problem::Problem;

mod embedded {
    refinery::embed_migrations!("migrations/postgres");
}

/// Connections in the pool of one instance.
pub const POOL_SIZE: usize = 16;

/// How long the readiness probe waits for its connection and its answer.
pub const PROBE_WAIT: Duration = Duration::from_secs(1);

/// The advisory lock held while an instance migrates and seeds, so instances
/// started together do not run the same migration twice.
const MIGRATION_LOCK: i64 = 0x706f_735f_6d69_6772; // "pos_migr"

/// Handle to the PostgreSQL store; cheap to clone.
#[derive(Clone)]
pub struct Pg {
    pool: Pool,
    probe: Pool,
    /// This process's name in the shared outcome counters.
    instance: String,
}

/// Whether `url` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// What [`prepare`] does about the demo data once the schema is up to date.
#[derive(Debug, Clone, Copy)]
enum DemoData {
    /// Seed a new database (`--demo`).
    Seed(DemoSeed),
    /// Refuse a database that holds the demo cashiers (production mode).
    Refuse,
    /// Neither (the admin subcommands).
    Ignore,
}

/// Migrates the database at `url` under an advisory lock, on a connection of
/// its own, and seeds or checks the demo data.
async fn prepare(url: &str, demo: DemoData) -> anyhow::Result<()> {
    let (mut client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .context("connecting to PostgreSQL")?;
    let driver = tokio::spawn(connection);
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await?;
    let report = embedded::migrations::runner()
        .run_async(&mut client)
        .await
        .context("migrating the PostgreSQL schema")?;
    for migration in report.applied_migrations() {
        tracing::info!("database migrated to {migration}");
    }
    match demo {
        DemoData::Seed(demo) => seed::seed_if_empty(&mut client, demo.stock)
            .await
            .context("seeding the demo data")?,
        DemoData::Refuse => anyhow::ensure!(
            !seed::has_demo_cashiers(&client).await?,
            "the database holds the demo cashiers, whose tokens are public: start with --demo, or use a database made without it"
        ),
        DemoData::Ignore => {}
    }
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await?;
    drop(client);
    let _ = driver.await;
    Ok(())
}

/// Brings the schema of the database at `url` up to date (the admin
/// subcommands run this before they write).
pub async fn migrate(url: &str) -> anyhow::Result<()> {
    prepare(url, DemoData::Ignore).await
}

fn pool(url: &str, size: usize, wait: Option<Duration>) -> anyhow::Result<Pool> {
    let config: tokio_postgres::Config = url.parse().context("parsing --database")?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(size)
        .runtime(Runtime::Tokio1)
        .wait_timeout(wait)
        .create_timeout(wait)
        .build()
        .context("building the connection pool")
}

impl Pg {
    /// Connects to `url`, brings the schema up to date and (with `demo`)
    /// seeds a new database; without `demo`, a database holding the demo
    /// cashiers is refused.
    pub async fn open(url: &str, demo: Option<DemoSeed>) -> anyhow::Result<Self> {
        prepare(url, demo.map_or(DemoData::Refuse, DemoData::Seed)).await?;
        Ok(Self {
            pool: pool(url, POOL_SIZE, None)?,
            probe: pool(url, 1, Some(PROBE_WAIT))?,
            instance: uuid::Uuid::new_v4().to_string(),
        })
    }

    /// A connection of the pool (waits for a free one).
    pub async fn client(&self) -> Result<deadpool_postgres::Object, Problem> {
        self.pool
            .get()
            .await
            .map_err(|e| Problem::internal("getting a database connection", e))
    }

    /// This process's name in the shared counters.
    pub fn instance(&self) -> &str {
        &self.instance
    }

    /// Whether a write could start now: on the probe's own connection (never
    /// queued behind sales waiting for the pool), a read-write transaction gets
    /// a transaction id within [`PROBE_WAIT`]; `Err` says why not.
    pub async fn check_writable(&self) -> Result<(), String> {
        let probe = async {
            let mut client = self.probe.get().await.map_err(|e| e.to_string())?;
            let tx = client
                .build_transaction()
                .read_only(false)
                .start()
                .await
                .map_err(|e| e.to_string())?;
            tx.execute("SELECT pg_current_xact_id()", &[])
                .await
                .map_err(|e| e.to_string())?;
            tx.rollback().await.map_err(|e| e.to_string())
        };
        match tokio::time::timeout(PROBE_WAIT * 2, probe).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(format!("cannot start a write on the database: {e}")),
            Err(_) => Err(format!(
                "the database did not answer the write probe within {:?}",
                PROBE_WAIT * 2
            )),
        }
    }
}
