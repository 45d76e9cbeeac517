//! The reference point-of-sale server for `pos-resilience`.
//!
//! It is the other half of exactly-once: the SDK sends every write with an
//! `Idempotency-Key`, and this server honours it (one execution per key, the stored
//! response replayed on every retry), draws invoice numbers that are unique and
//! gapless per business and month, and never lets stock go negative. See
//! `www-example/README.md` for the design and `docs/spec.md` §2–3 for the
//! wire rules it implements.
//!
//! Module map, one concept each:
//! - [`config`]: command-line flags and environment.
//! - [`problem`]: RFC 9457 `application/problem+json` errors.
//! - [`error_bodies`]: problem+json for the error answers no handler wrote.
//! - [`store`]: the store the server runs on, SQLite or PostgreSQL, behind one type.
//! - [`db`]: the SQLite store (one writer, a pool of readers), schema and seed data.
//! - [`pg`]: the PostgreSQL store, shared by several instances.
//! - [`allowed_hosts`]: the `Host` check against DNS rebinding.
//! - [`auth`]: bearer-token cashiers.
//! - [`auth_throttle`]: 429 for clients that send too many wrong tokens.
//! - [`admin`]: the `admin` subcommands (businesses, products, cashiers, tokens).
//! - [`body`]: JSON request bodies (content type, size limit, parse errors).
//! - [`idempotency`]: the `Idempotency-Key` mechanism shared by every write endpoint.
//! - [`numbering`]: per-business, per-month invoice and return numbers.
//! - [`catalog`], [`sales`]: the domain.
//! - [`stats`]: per-business counts (`GET /api/stats`); [`metrics`]: Prometheus
//!   metrics for operators (`GET /metrics`).
//! - [`chaos`]: opt-in fault injection for tests and the demo.
//! - [`routes`]: the HTTP API and the static demo files.
//! - [`security_headers`]: CSP, `nosniff` and anti-framing headers on every response.
//! - [`server`]: the accept loop (connection dropping, graceful shutdown).

pub mod admin;
pub mod allowed_hosts;
pub mod auth;
pub mod auth_throttle;
pub mod body;
pub mod catalog;
pub mod chaos;
pub mod clock;
pub mod config;
pub mod db;
pub mod error_bodies;
pub mod idempotency;
pub mod metrics;
pub mod numbering;
pub mod pg;
pub mod problem;
pub mod routes;
pub mod sales;
pub mod security_headers;
pub mod server;
pub mod stats;
pub mod store;
