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
        // rexie's own words say only "idb error"; idb's error has the
        // browser's (QuotaExceededError, InvalidStateError, …).
        match e {
            rexie::Error::IdbError(e) => e.into(),
            rexie::Error::TransactionAbortFailed => Error::Storage("couldn't abort a transaction".into()),
            rexie::Error::TransactioncommitFailed => Error::Storage("couldn't commit a transaction".into()),
            _ => Error::Storage("idb error".into()),
        }
    }
}

#[cfg(target_arch = "wasm32")]
impl From<idb::Error> for Error {
    /// idb's message for the failure, with the browser's error where there
    /// is one: the same words as idb's `Display`, built from the variant
    /// without its formatting machinery.
    fn from(e: idb::Error) -> Self {
        if let idb::Error::UnexpectedJsType(expected, found) = &e {
            return Error::Storage(["unexpected JS type. expected: ", expected, ", found: ", &js_words(found)].concat());
        }
        let (what, value) = idb_words(&e);
        Error::Storage(match value {
            Some(value) => [what, ": ", &js_words(value)].concat(),
            None => what.into(),
        })
    }
}

/// What an idb operation failed to do, and the JavaScript value it failed
/// with, if any.
#[cfg(target_arch = "wasm32")]
fn idb_words(e: &idb::Error) -> (&'static str, Option<&wasm_bindgen::JsValue>) {
    use idb::Error as E;
    match e {
        E::AddFailed(x) => ("failed to add a value", Some(x)),
        E::ClearFailed(x) => ("failed to clear object store", Some(x)),
        E::CountFailed(x) => ("failed to get count of records", Some(x)),
        E::DeleteFailed(x) => ("failed to delete a value", Some(x)),
        E::DomException(x) => ("DOM exception", Some(x.as_ref())),
        E::DomExceptionNotFound => ("DOM exception not found", None),
        E::EventTargetNotFound => ("failed to get event target", None),
        E::GetAllFailed(x) => ("failed to get all values", Some(x)),
        E::GetFailed(x) => ("failed to get a value", Some(x)),
        E::IndexedDbNotFound(_) => ("indexed db not found", None),
        E::IndexedDbOpenFailed(x) => ("failed to open indexed db", Some(x)),
        E::KeyRangeCreateFailed(x) => ("failed to create key range", Some(x)),
        E::NumberConversionError => ("number conversion error", None),
        E::ObjectStoreCreateFailed(x) => ("failed to create new object store", Some(x)),
        E::ObjectStoreNotFound(x) => ("failed to get object store", Some(x)),
        E::RequestErrorNotFound(x) => ("failed to get request error", Some(x)),
        E::RequestResultNotFound(x) => ("failed to get request source", Some(x)),
        E::RequestSourceNotFound => ("failed to get request source", None),
        E::TransactionAbortError(x) => ("failed to abort transaction", Some(x)),
        E::TransactionCommitError(x) => ("failed to commit transaction", Some(x)),
        E::TransactionOpenFailed(x) => ("failed to open new transaction", Some(x)),
        E::UpdateFailed(x) => ("failed to update a value", Some(x)),
        E::OneshotChannelReceiveError => ("failed to receive object on oneshot channel", None),
        E::TransactionNotFound => ("no transaction associated with database request", None),
        // Cursors, indexes, key paths and deleting databases: the outbox
        // uses none of them.
        _ => ("IndexedDB failed", None),
    }
}

/// A JavaScript value in words, as its `toString()` gives them.
#[cfg(target_arch = "wasm32")]
fn js_words(value: &wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    if value.is_undefined() {
        "undefined".into()
    } else if value.is_null() {
        "null".into()
    } else {
        value.unchecked_ref::<js_sys::Object>().to_string().into()
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
