//! The SQLite store: one file in WAL mode, one writer connection (the process is
//! the single writer, so writes are serialised here rather than by SQLite's busy
//! loop), a small pool of read-only connections, two more reserved for
//! authentication lookups, and the readiness probe's connection. All SQLite work
//! runs off the async workers: on tokio's blocking threads, the probe on its own.

pub mod schema;
pub(crate) mod seed;
pub mod write_probe;

use std::path::Path;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags};

use crate::problem::Problem;
pub use seed::DemoSeed;
use write_probe::WriteProbe;

/// Number of read-only connections in the pool.
const READERS: u32 = 4;

/// Number of read-only connections reserved for authentication lookups, so
/// that slow listings cannot hold up every request at its token check.
const AUTH_READERS: u32 = 2;

/// How long a connection waits for a lock held by another connection (WAL
/// checkpoints, or a second process opening the file) before giving up.
const BUSY_TIMEOUT_MS: u32 = 5_000;

/// Size the WAL file is truncated back to after a checkpoint (64 MiB): a burst
/// of writes (a large purge) can grow it, but not keep it grown.
pub const WAL_SIZE_LIMIT_BYTES: i64 = 64 * 1024 * 1024;

/// SQLite's `synchronous` setting, as `--sqlite-synchronous` spells it
/// (`full`, `normal`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Synchronous {
    // Every commit survives a power cut.
    Full,
    // A commit survives a process crash, the last ones may not survive a power cut.
    Normal,
}

impl Synchronous {
    /// The value of `PRAGMA synchronous`.
    pub fn pragma(self) -> &'static str {
        match self {
            Synchronous::Full => "FULL",
            Synchronous::Normal => "NORMAL",
        }
    }
}

/// Handle to the store; cheap to clone.
#[derive(Clone)]
pub struct Db {
    writer: Arc<Mutex<Connection>>,
    readers: r2d2::Pool<SqliteConnectionManager>,
    auth_readers: r2d2::Pool<SqliteConnectionManager>,
    write_probe: WriteProbe,
}

/// Switches the file to `auto_vacuum = INCREMENTAL`, so the pages the purge
/// frees can be given back to the file system by [`reclaim_free_pages`]. A new
/// file takes the setting at once; a file created without it is rebuilt once
/// with `VACUUM` (logged: it takes a while on a large file).
fn use_incremental_vacuum(conn: &Connection) -> rusqlite::Result<()> {
    const INCREMENTAL: i64 = 2;
    let mode: i64 = conn.query_row("PRAGMA auto_vacuum", [], |r| r.get(0))?;
    if mode == INCREMENTAL {
        return Ok(());
    }
    conn.execute_batch("PRAGMA auto_vacuum = INCREMENTAL")?;
    let tables: i64 = conn.query_row("SELECT COUNT(*) FROM sqlite_schema", [], |r| r.get(0))?;
    if tables > 0 {
        let pages: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
        tracing::warn!("rebuilding the database once ({pages} pages) to enable incremental vacuum");
    }
    // Switching to WAL has already written the file's header: the setting
    // takes effect only through a rebuild, instant while the file is empty.
    conn.execute_batch("VACUUM")
}

/// Returns up to `max_pages` free pages to the file system (the file shrinks);
/// returns how many free pages are left.
pub fn reclaim_free_pages(conn: &Connection, max_pages: u32) -> rusqlite::Result<i64> {
    // The pragma frees one page per step: run it to the end.
    let mut vacuum = conn.prepare(&format!("PRAGMA incremental_vacuum({max_pages})"))?;
    let mut steps = vacuum.raw_query();
    while steps.next()?.is_some() {}
    conn.query_row("PRAGMA freelist_count", [], |r| r.get(0))
}

impl Db {
    /// Opens (creating if needed) the database file, switches it to WAL and
    /// applies pending migrations. With `demo`, a new file is seeded with the
    /// demo businesses, cashiers and products; without it, a file that holds the
    /// demo cashiers (whose tokens are public) is refused.
    pub fn open(
        path: &Path,
        synchronous: Synchronous,
        demo: Option<DemoSeed>,
    ) -> anyhow::Result<Self> {
        let mut writer = open_writer(path, synchronous)?;
        match demo {
            Some(demo) => seed::seed_if_empty(&mut writer, demo.stock)
                .context("seeding the demo data")?,
            None => anyhow::ensure!(
                !seed::has_demo_cashiers(&writer)?,
                "{} holds the demo cashiers, whose tokens are public: start with --demo, or use a database made without it",
                path.display()
            ),
        }
        let readers = read_pool(path, READERS).context("opening the read connections")?;
        let auth_readers =
            read_pool(path, AUTH_READERS).context("opening the authentication read connections")?;
        Ok(Self {
            writer: Arc::new(Mutex::new(writer)),
            readers,
            auth_readers,
            write_probe: WriteProbe::start(path)?,
        })
    }

    /// Runs `f` on a read-only connection, on a blocking thread.
    pub async fn read<T, F>(&self, f: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Problem> + Send + 'static,
    {
        read_on(self.readers.clone(), f).await
    }

    /// Runs an authentication lookup `f` on a read-only connection of its own
    /// pool, on a blocking thread.
    pub async fn read_for_auth<T, F>(&self, f: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> Result<T, Problem> + Send + 'static,
    {
        read_on(self.auth_readers.clone(), f).await
    }

    /// Whether a write could start now (see [`WriteProbe`]); `Err` says why not.
    pub async fn check_writable(&self) -> Result<(), String> {
        self.write_probe.check().await
    }

    /// Runs `f` with the single writer connection, on a blocking thread. `f` owns
    /// the connection for its whole run, so it can open a transaction, roll it
    /// back and open another without anyone writing in between.
    ///
    /// The closure runs to completion even if the caller's future is dropped (a
    /// client that disconnects cannot interrupt a commit half-way).
    pub async fn write<T, F>(&self, f: F) -> Result<T, Problem>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, Problem> + Send + 'static,
    {
        let writer = self.writer.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock poisons it; the connection itself is
            // still consistent (SQLite rolls back an unfinished transaction when
            // the Transaction guard is dropped), so keep using it.
            let mut conn = writer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            f(&mut conn)
        })
        .await
        .map_err(|e| Problem::internal("write task", e))?
    }
}

/// Opens the read-write connection to `path` (creating the file if needed):
/// WAL, the `synchronous` setting, foreign keys, the busy timeout, the WAL's
/// size limit, incremental vacuum, and the schema brought up to date.
pub fn open_writer(path: &Path, synchronous: Synchronous) -> anyhow::Result<Connection> {
    let mut writer = Connection::open(path)
        .with_context(|| format!("opening SQLite database {}", path.display()))?;
    let mode: String = writer.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
    anyhow::ensure!(
        mode.eq_ignore_ascii_case("wal"),
        "SQLite refused WAL mode (got {mode}) for {}",
        path.display()
    );
    writer.execute_batch(&format!(
        "PRAGMA synchronous = {}; PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {BUSY_TIMEOUT_MS};
         PRAGMA journal_size_limit = {WAL_SIZE_LIMIT_BYTES};",
        synchronous.pragma()
    ))?;
    use_incremental_vacuum(&writer)
        .with_context(|| format!("enabling incremental vacuum on {}", path.display()))?;
    schema::migrate(&mut writer).context("migrating the database schema")?;
    Ok(writer)
}

/// A pool of up to `size` read-only connections to `path`.
fn read_pool(path: &Path, size: u32) -> Result<r2d2::Pool<SqliteConnectionManager>, r2d2::Error> {
    let manager = SqliteConnectionManager::file(path)
        .with_flags(
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )
        .with_init(|c| {
            c.execute_batch(&format!(
                "PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}; PRAGMA query_only = ON;"
            ))
        });
    r2d2::Pool::builder().max_size(size).build(manager)
}

/// Runs `f` on a connection of `pool`, on a blocking thread.
async fn read_on<T, F>(pool: r2d2::Pool<SqliteConnectionManager>, f: F) -> Result<T, Problem>
where
    T: Send + 'static,
    F: FnOnce(&Connection) -> Result<T, Problem> + Send + 'static,
{
    tokio::task::spawn_blocking(move || {
        let conn = pool
            .get()
            .map_err(|e| Problem::internal("getting a read connection", e))?;
        f(&conn)
    })
    .await
    .map_err(|e| Problem::internal("read task", e))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn auto_vacuum(path: &Path) -> i64 {
        Connection::open(path)
            .unwrap()
            .query_row("PRAGMA auto_vacuum", [], |r| r.get(0))
            .unwrap()
    }

    #[test]
    fn files_old_and_new_get_incremental_vacuum_and_give_pages_back() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.db");
        Connection::open(&old)
            .unwrap()
            .execute_batch("CREATE TABLE t(x); INSERT INTO t VALUES (1);")
            .unwrap();
        assert_eq!(auto_vacuum(&old), 0);
        Db::open(&old, Synchronous::Full, None).unwrap();
        assert_eq!(auto_vacuum(&old), 2, "an existing file is converted");
        let new = dir.path().join("new.db");
        Db::open(&new, Synchronous::Full, None).unwrap();
        assert_eq!(auto_vacuum(&new), 2);

        let conn = Connection::open(&new).unwrap();
        conn.execute_batch(
            "CREATE TABLE filler(b BLOB);
             WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 200)
             INSERT INTO filler SELECT randomblob(4000) FROM n;
             DELETE FROM filler;",
        )
        .unwrap();
        let pages =
            |c: &Connection| -> i64 { c.query_row("PRAGMA page_count", [], |r| r.get(0)).unwrap() };
        let before = pages(&conn);
        let left = reclaim_free_pages(&conn, 50).unwrap();
        assert!(left > 0, "at most 50 pages per call");
        assert_eq!(pages(&conn), before - 50);
        while reclaim_free_pages(&conn, 50).unwrap() > 0 {}
        assert!(pages(&conn) < before - 150, "the file shrank");
        let limit: i64 = Db::open(&new, Synchronous::Full, None)
            .unwrap()
            .writer
            .lock()
            .unwrap()
            .query_row("PRAGMA journal_size_limit", [], |r| r.get(0))
            .unwrap();
        assert_eq!(limit, WAL_SIZE_LIMIT_BYTES);
    }
}
