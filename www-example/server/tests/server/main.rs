//! Integration tests: each starts the real `pos-server` binary on a temporary
//! SQLite file (or, with `POS_TEST_DATABASE_URL`, a new PostgreSQL database)
//! and talks HTTP to it on 127.0.0.1.

mod harness;

mod chaos;
mod cluster;
mod connections;
mod crash;
mod enforcement;
mod headers;
mod health;
mod idempotency;
mod input;
mod metrics;
mod numbering;
mod production;
mod purge;
mod stock;
mod strict_input;
mod tenants;
