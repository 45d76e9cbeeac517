//! The SDK's one error type, [`Error`], and the kinds JavaScript sees
//! ([`ErrorKind`], the `kind` of `ApiError`). Errors are built where they
//! happen and turned into a JavaScript `ApiError` once, where a promise
//! settles or a constructor throws (`js::promise`, `From<Error> for JsValue`).

/// What went wrong, as JavaScript sees it in `ApiError.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// No response: connection refused or dropped, DNS, CORS.
    Network,
    /// The per-attempt timeout or the total timeout ran out.
    Timeout,
    /// A response with a non-success status that is not retried (or no
    /// longer). `status` and `body` say more.
    Http,
    /// The caller's AbortSignal fired.
    Aborted,
    /// The arguments were rejected before any network call.
    InvalidInput,
    /// The request was written to the offline queue and will be sent later.
    Queued,
    /// IndexedDB failed (unavailable, blocked, quota).
    Storage,
}

impl ErrorKind {
    /// The string JavaScript sees.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Network => "network",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Http => "http",
            ErrorKind::Aborted => "aborted",
            ErrorKind::InvalidInput => "invalid-input",
            ErrorKind::Queued => "queued",
            ErrorKind::Storage => "storage",
        }
    }
}

/// Everything that can go wrong in the SDK: bad arguments, IndexedDB
/// trouble, a call that ended without success, or an error the app's own
/// code threw.
#[cfg(target_arch = "wasm32")]
#[derive(Debug)]
pub enum Error {
    /// The arguments were rejected before any network call; the message
    /// names the offending field.
    InvalidInput(String),
    /// IndexedDB failed: the browser's message, prefixed with what the SDK
    /// was doing once that is known ([`Error::doing`]).
    Storage(String),
    /// A call ended without success: everything its `ApiError` carries.
    Call(Box<CallError>),
    /// A value already thrown in JavaScript, passed on as it is.
    Js(wasm_bindgen::JsValue),
}

/// The details of a call that ended without success.
#[cfg(target_arch = "wasm32")]
#[derive(Debug)]
pub struct CallError {
    /// Which way it failed.
    pub kind: ErrorKind,
    /// What happened, starting with the method and URL.
    pub message: String,
    /// The operation's key, so the caller can retry safely.
    pub idempotency_key: Option<String>,
    /// Sends so far.
    pub attempts: u32,
    /// The outbox record that now holds the write (`queued`).
    pub queue_id: Option<f64>,
    /// The last response's status and parsed body, if there was one.
    pub response: Option<(u16, wasm_bindgen::JsValue)>,
}

#[cfg(target_arch = "wasm32")]
impl Error {
    /// The `storage` error for a failure while doing `what`, e.g.
    /// `Error::Storage(detail).doing("cannot count the offline queue")`.
    /// Other errors pass through unchanged.
    pub fn doing(self, what: &str) -> Error {
        match self {
            Error::Storage(detail) => Error::Storage([what, ": ", &detail].concat()),
            other => other,
        }
    }

    /// The message, as the `ApiError` (or the thrown value) carries it.
    pub fn message(&self) -> String {
        match self {
            Error::InvalidInput(m) | Error::Storage(m) => m.clone(),
            Error::Call(c) => c.message.clone(),
            Error::Js(thrown) => crate::js::message_of(thrown),
        }
    }
}

#[cfg(target_arch = "wasm32")]
impl From<rexie::Error> for Error {
    fn from(e: rexie::Error) -> Self {
        // rexie's Display says only "idb error"; the source has the
        // browser's message (QuotaExceededError, InvalidStateError, …).
        let detail = match &e {
            rexie::Error::IdbError(inner) => inner.to_string(),
            other => other.to_string(),
        };
        Error::Storage(detail)
    }
}

#[cfg(target_arch = "wasm32")]
impl From<idb::Error> for Error {
    fn from(e: idb::Error) -> Self {
        Error::Storage(e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::ErrorKind::*;

    #[test]
    fn names_match_the_contract() {
        let names: Vec<&str> = [Network, Timeout, Http, Aborted, InvalidInput, Queued, Storage].iter().map(|k| k.as_str()).collect();
        assert_eq!(names, ["network", "timeout", "http", "aborted", "invalid-input", "queued", "storage"]);
    }
}
