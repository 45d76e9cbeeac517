//! pos-resilience: exactly-once writes for browser point-of-sale apps.
//!
//! The policy modules (`backoff`, `retry_after`, `classify`, `retry`,
//! `dedup`, `options`, `error`) are pure Rust and tested with plain
//! `cargo test`; the browser glue is compiled for `wasm32` only.

pub mod backoff;
pub mod classify;
pub mod connectivity;
pub mod dedup;
#[macro_use]
pub mod defaults;
pub mod error;
pub mod options;
pub mod outbox;
pub mod retry;
pub mod retry_after;

#[cfg(target_arch = "wasm32")]
mod attempt;
#[cfg(target_arch = "wasm32")]
mod call;
#[cfg(target_arch = "wasm32")]
mod client;
#[cfg(target_arch = "wasm32")]
mod config;
#[cfg(target_arch = "wasm32")]
mod context;
#[cfg(target_arch = "wasm32")]
mod events;
#[cfg(target_arch = "wasm32")]
mod js;
#[cfg(target_arch = "wasm32")]
mod monitor;
#[cfg(target_arch = "wasm32")]
mod operation;
#[cfg(target_arch = "wasm32")]
mod transport;
#[cfg(target_arch = "wasm32")]
mod typescript;

#[cfg(target_arch = "wasm32")]
pub use client::{api_post, ApiClient};
#[cfg(target_arch = "wasm32")]
pub use events::event_names;

/// The wasm module's allocator: talc, a maintained drop-in replacement for
/// the standard library's dlmalloc that is smaller and faster on wasm.
#[cfg(target_arch = "wasm32")]
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();
