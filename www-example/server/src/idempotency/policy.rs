//! `GET /.well-known/idempotency`: the server's idempotency rules as JSON, so
//! a client (or its operator) can check that it retries within them: above all
//! how long a stored response is replayed, and that a sale or refund keeps its
//! key for as long as it exists (so an outbox that holds a write longer than
//! that TTL still gets a replay, not a second sale).

use serde::Serialize;

use super::{key, Enforcement, IN_FLIGHT_RETRY_AFTER_SECS};

/// The published policy.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Policy {
    /// The request header carrying the key.
    pub header: &'static str,
    /// What a write without a key gets: `required`, `warn`, `optional`, or
    /// `off` when the server runs with `--no-idempotency`.
    pub enforcement: &'static str,
    /// The methods that need a key.
    pub methods: [&'static str; 4],
    /// What a key is unique within.
    pub scope: [&'static str; 3],
    /// The accepted key format: `uuid`, in its 36-character hyphenated form,
    /// bare or as a quoted structured-field string, either case.
    pub key_format: &'static str,
    /// How long a completed request's response is stored and replayed.
    pub response_ttl_seconds: u64,
    /// Whether a created sale or refund keeps its key for as long as it exists
    /// (a retry after the TTL is still a replay).
    pub created_rows_keep_their_key: bool,
    /// The response header of a replay.
    pub replayed_header: &'static str,
    /// The `Retry-After` range, in seconds, of a 409 for a key still in flight.
    pub in_flight_retry_after_seconds: [u64; 2],
}

impl Policy {
    /// The policy of a server with `enforcement` (`None`: `--no-idempotency`)
    /// and a stored-response TTL of `response_ttl_seconds`.
    pub fn new(enforcement: Option<Enforcement>, response_ttl_seconds: u64) -> Self {
        Self {
            header: "Idempotency-Key",
            enforcement: enforcement.map_or("off", Enforcement::as_str),
            methods: ["POST", "PUT", "PATCH", "DELETE"],
            scope: ["business", "cashier", "key"],
            key_format: key::FORMAT,
            response_ttl_seconds,
            created_rows_keep_their_key: enforcement.is_some(),
            replayed_header: "Idempotent-Replayed",
            in_flight_retry_after_seconds: [
                *IN_FLIGHT_RETRY_AFTER_SECS.start(),
                *IN_FLIGHT_RETRY_AFTER_SECS.end(),
            ],
        }
    }
}
