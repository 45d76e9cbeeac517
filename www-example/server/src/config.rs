//! Command-line flags and environment variables of `pos-server`.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;

use crate::admin::AdminCommand;
use crate::db::Synchronous;
use crate::idempotency::Enforcement;

/// How `pos-server` is configured. Every flag has a default that suits a server
/// run from the repository root; `make demo` adds `--demo` and `--chaos`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "pos-server",
    version,
    about = "Reference point-of-sale server for pos-resilience"
)]
pub struct Config {
    /// TCP port to listen on (on 127.0.0.1). 0 picks a free port; the chosen one is
    /// printed on stdout as `pos-server listening on http://127.0.0.1:PORT`.
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// The SQLite database file. Created and migrated if new (and seeded with
    /// demo data with `--demo`).
    #[arg(long = "db", env = "POS_DB", default_value = "pos.db")]
    pub db: PathBuf,

    /// A PostgreSQL database to use instead of the SQLite file, as a URL
    /// (`postgres://user@host:port/dbname`). Several instances may share it:
    /// every exactly-once rule is then enforced by the database. Created
    /// tables are migrated at start (and seeded with `--demo`).
    #[arg(long, env = "POS_DATABASE", value_parser = postgres_url, hide_env_values = true)]
    pub database: Option<String>,

    /// With `--database`: how long a claim on an idempotency key lasts in the
    /// database. A request with the same key on any instance gets 409 while the
    /// claim lives; a claim left by an instance that crashed is taken over by
    /// the first retry after it ran out. Longer than any request takes.
    #[arg(long, env = "POS_CLAIM_LEASE", default_value = "30s", value_parser = positive_duration)]
    pub claim_lease: Duration,

    /// Directory with the demo page, served at `/`.
    #[arg(long, env = "POS_WWW", default_value = "www-example")]
    pub www: PathBuf,

    /// Directory with the built npm package, served at `/pkg/`.
    #[arg(long, env = "POS_PKG", default_value = "pkg")]
    pub pkg: PathBuf,

    /// With `--demo`: stock of every seeded product, for a NEW database only
    /// (default: the demo stock, 5 to 500 per product). The load benchmark uses
    /// a large value.
    #[arg(long, env = "POS_SEED_STOCK", value_parser = clap::value_parser!(i64).range(0..), requires = "demo")]
    pub seed_stock: Option<i64>,

    /// How long a completed request's response is stored and replayed byte for
    /// byte (e.g. `24h`, `90s`). A sale or refund keeps its key beyond that, so a
    /// later retry is still a replay. Published at `GET /.well-known/idempotency`.
    #[arg(long, env = "POS_KEY_TTL", default_value = "24h", value_parser = positive_duration)]
    pub key_ttl: Duration,

    /// How often the background task deletes expired stored responses.
    #[arg(long, env = "POS_PURGE_INTERVAL", default_value = "1m", value_parser = positive_duration)]
    pub purge_interval: Duration,

    /// Most expired stored responses deleted in one write transaction; the
    /// purge releases the writer between batches, so a sale waits for one
    /// batch at most, never for the whole purge.
    #[arg(long, env = "POS_PURGE_BATCH", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub purge_batch: u32,

    /// What a write without an `Idempotency-Key` gets: `required` (400),
    /// `warn` (processed, the response carries an `Idempotency-Warning` header)
    /// or `optional` (processed). A malformed key is a 400 in every mode.
    #[arg(long, env = "POS_IDEMPOTENCY", value_enum, default_value = "required")]
    pub idempotency: Enforcement,

    /// Serve Prometheus metrics at `GET /metrics` to requests with
    /// `Authorization: Bearer <this token>` (at least 16 characters). Without
    /// it `/metrics` is 404: the metrics cover every business.
    #[arg(long, env = "POS_METRICS_TOKEN", value_parser = metrics_token, hide_env_values = true)]
    pub metrics_token: Option<String>,

    /// Largest request body accepted, in bytes; a larger one gets 413.
    #[arg(long, default_value_t = 64 * 1024)]
    pub max_body_bytes: usize,

    /// SQLite `synchronous` setting: `full` makes every committed sale survive a
    /// power cut; `normal` survives a process crash (SIGKILL) but may lose the last
    /// commits on power loss.
    #[arg(
        long,
        env = "POS_SQLITE_SYNCHRONOUS",
        value_enum,
        default_value = "full"
    )]
    pub sqlite_synchronous: Synchronous,

    /// Turn the idempotency layer off. For the overhead benchmark ONLY: without it
    /// a retried sale is recorded twice.
    #[arg(long, conflicts_with = "idempotency")]
    pub no_idempotency: bool,

    /// Enable fault injection and the `GET/PUT /api/chaos` control endpoint.
    /// Without this flag there is no chaos code path and `/api/chaos` is 404.
    #[arg(long)]
    pub chaos: bool,

    /// With `--chaos`: share of API requests answered 503 with `Retry-After`.
    #[arg(long, default_value_t = 0.1, requires = "chaos")]
    pub chaos_error503_rate: f64,

    /// With `--chaos`: share of API requests whose connection is dropped before
    /// they are processed.
    #[arg(long, default_value_t = 0.05, requires = "chaos")]
    pub chaos_drop_before_rate: f64,

    /// With `--chaos`: share of successful writes whose connection is dropped after
    /// the commit, with no response (the client cannot know the sale was recorded).
    #[arg(long, default_value_t = 0.05, requires = "chaos")]
    pub chaos_drop_after_commit_rate: f64,

    /// With `--chaos`: share of API requests delayed by up to `--chaos-latency-ms`.
    #[arg(long, default_value_t = 0.1, requires = "chaos")]
    pub chaos_latency_rate: f64,

    /// With `--chaos`: the largest added delay, in milliseconds (the delay is drawn
    /// uniformly from 0 to this). Set it above the client's timeout to make some
    /// attempts time out.
    #[arg(long, default_value_t = 3000, requires = "chaos")]
    pub chaos_latency_ms: u64,

    /// Host names, besides `localhost`, `127.0.0.1`, `[::1]` and the listening
    /// address, that requests may name in their `Host` header (e.g. the name a
    /// reverse proxy forwards); any other gets 421, which defeats DNS rebinding.
    /// Repeat the flag, or separate names with commas.
    #[arg(
        long = "allowed-host",
        env = "POS_ALLOWED_HOSTS",
        value_delimiter = ','
    )]
    pub allowed_hosts: Vec<String>,

    /// Most client connections open at once; further clients wait in the
    /// kernel's accept queue. Keep it well below the descriptor limit
    /// (`ulimit -n`), which the database files share.
    #[arg(long, env = "POS_MAX_CONNECTIONS", default_value_t = 512, value_parser = clap::value_parser!(u32).range(1..))]
    pub max_connections: u32,

    /// How long a connection may take to send a complete request head,
    /// counted from when it is accepted or its previous response was sent: the
    /// bound on slow (slowloris) and idle keep-alive connections alike.
    #[arg(long, env = "POS_HEADER_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_timeout: Duration,

    /// Demo mode: a new database is seeded with the demo businesses, products
    /// and cashiers, whose tokens (`demo-cashier-1` …) are public. Without it no
    /// demo data exists, and a database holding the demo cashiers is refused.
    #[arg(long, env = "POS_DEMO")]
    pub demo: bool,

    /// Administration instead of serving: create businesses, products, cashiers.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// What `pos-server` does instead of serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Creates businesses, products and cashiers (with their tokens) in `--db`,
    /// or in the PostgreSQL database of `--database`.
    #[command(subcommand)]
    Admin(AdminCommand),
}

/// Parses a duration (`humantime`) that is not zero: a zero key TTL would make
/// every retry a new execution, a zero purge interval cannot tick.
fn positive_duration(text: &str) -> Result<Duration, String> {
    let duration = humantime::parse_duration(text).map_err(|e| e.to_string())?;
    if duration.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(duration)
}

/// Accepts a `postgres://` or `postgresql://` URL that the driver can parse.
fn postgres_url(text: &str) -> Result<String, String> {
    if !crate::pg::is_postgres_url(text) {
        return Err(
            "must be a postgres:// URL (without --database the SQLite file --db is used)".into(),
        );
    }
    text.parse::<tokio_postgres::Config>()
        .map_err(|e| e.to_string())?;
    Ok(text.to_owned())
}

/// Shortest `--metrics-token` accepted.
pub const MIN_METRICS_TOKEN_LEN: usize = 16;

/// Accepts a metrics token of at least [`MIN_METRICS_TOKEN_LEN`] visible ASCII
/// characters (it travels in an `Authorization` header).
fn metrics_token(text: &str) -> Result<String, String> {
    if text.len() < MIN_METRICS_TOKEN_LEN || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "must be at least {MIN_METRICS_TOKEN_LEN} visible ASCII characters, without spaces"
        ));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_must_be_positive() {
        assert_eq!(positive_duration("90s"), Ok(Duration::from_secs(90)));
        assert!(positive_duration("0s")
            .unwrap_err()
            .contains("longer than zero"));
        assert!(positive_duration("0ms").is_err());
        assert!(positive_duration("soon").is_err());
    }

    #[test]
    fn database_urls_are_postgres_urls() {
        assert!(postgres_url("postgres://pos@127.0.0.1:5432/pos").is_ok());
        assert!(postgres_url("postgresql://pos@localhost/pos").is_ok());
        assert!(postgres_url("sqlite:pos.db").is_err());
        assert!(postgres_url("pos.db").is_err());
    }

    #[test]
    fn metrics_tokens_are_long_and_visible() {
        assert!(metrics_token("0123456789abcdef").is_ok());
        assert!(metrics_token("short").is_err());
        assert!(metrics_token("0123456789 abcdef").is_err());
    }
}
