//! The outbox: every write that could wait is committed to IndexedDB before
//! its first attempt, owned by its live call; what is not delivered then
//! (or whose page died mid-call) is replayed, first in first out, with its
//! original idempotency key.
//!
//! `policy` and `ownership` hold the decisions (pure, tested natively); the
//! rest is the browser glue: `record` (the stored shape), `store`
//! (IndexedDB), `queue` (one client's outbox and its `queue-size`
//! broadcasts), `live` (this client's live writes and its proof of life),
//! `drain` (the replay loop, its triggers, and one drainer per origin).

pub mod ownership;
pub mod policy;
#[cfg(target_arch = "wasm32")]
pub(crate) mod drain;
#[cfg(target_arch = "wasm32")]
pub(crate) mod live;
#[cfg(target_arch = "wasm32")]
pub(crate) mod queue;
#[cfg(target_arch = "wasm32")]
pub(crate) mod record;
#[cfg(target_arch = "wasm32")]
pub(crate) mod store;
