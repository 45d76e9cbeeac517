//! What a key has already produced: its stored response while that lives,
//! otherwise the sale or refund row it created (see [`super::effect`]).

use rusqlite::Connection;

use super::effect;
use super::inflight::Scope;
use super::store::{self, StoredResponse};
use crate::problem::Problem;

/// Where a completed key's answer was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The stored response, within the key TTL.
    Stored,
    /// Rebuilt from the row the request created, after the stored response expired.
    Row,
}

impl Source {
    /// The label of the replay metrics.
    pub fn label(self) -> &'static str {
        match self {
            Source::Stored => "stored",
            Source::Row => "row",
        }
    }
}

/// A completed request's answer (with that request's fingerprint) and where
/// it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Completed {
    /// The answer, as stored or as rebuilt from the row.
    pub response: StoredResponse,
    /// Where it was found.
    pub source: Source,
}

/// The answer `scope`'s key already has at `now_ms`, if any.
pub fn find(conn: &Connection, scope: &Scope, now_ms: i64) -> Result<Option<Completed>, Problem> {
    if let Some(stored) = store::find_live(conn, scope, now_ms)? {
        return Ok(Some(Completed {
            response: stored,
            source: Source::Stored,
        }));
    }
    let Some(recorded) = effect::find(conn, scope)? else {
        return Ok(None);
    };
    Ok(Some(Completed {
        response: StoredResponse {
            body: effect::response_body(conn, &recorded.effect)?,
            fingerprint: recorded.fingerprint,
            status: effect::CREATED.as_u16(),
            content_type: mime::APPLICATION_JSON.to_string(),
        },
        source: Source::Row,
    }))
}
