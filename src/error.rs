//! The kinds of failure an operation can end in (the `kind` of `ApiError`).

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

#[cfg(test)]
mod tests {
    use super::ErrorKind::*;

    #[test]
    fn names_match_the_contract() {
        let names: Vec<&str> = [Network, Timeout, Http, Aborted, InvalidInput, Queued, Storage].iter().map(|k| k.as_str()).collect();
        assert_eq!(names, ["network", "timeout", "http", "aborted", "invalid-input", "queued", "storage"]);
    }
}
