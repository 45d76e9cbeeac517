//! Integration tests: each starts the real `pos-server` binary on a temporary
//! SQLite file and talks HTTP to it on 127.0.0.1.

mod harness;

mod chaos;
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
