//! The offline outbox: requests that could not be delivered wait in
//! IndexedDB and are replayed, first in first out, with their original
//! idempotency key.
//!
//! `policy` holds the decisions (pure, tested natively); the rest is the
//! browser glue: `record` (the stored shape), `store` (IndexedDB), `queue`
//! (one client's outbox and its `queue-size` broadcasts), `drain` (the
//! replay loop, its triggers, and one drainer per origin).

pub mod ownership;
pub mod policy;
#[cfg(target_arch = "wasm32")]
pub(crate) mod drain;
#[cfg(target_arch = "wasm32")]
pub(crate) mod queue;
#[cfg(target_arch = "wasm32")]
pub(crate) mod record;
#[cfg(target_arch = "wasm32")]
pub(crate) mod store;
