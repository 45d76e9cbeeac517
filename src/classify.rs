//! Which HTTP statuses are worth retrying (docs/spec.md §2).

/// What a response status means for the operation that got it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StatusClass {
    /// 2xx: the operation is done.
    Success,
    /// The server could not do it *now*; the same request, with the same
    /// idempotency key, may succeed later (408, 425, 429, 5xx listed in the
    /// contract, and 409 *with* `Retry-After`: the key is still in flight).
    Transient,
    /// Retrying cannot help: bad input (400), auth (401/403), not found,
    /// a business conflict (409 without `Retry-After`), a key reused with
    /// another payload (422), and everything else not listed as transient.
    Permanent,
}

/// Classifies `status`. `has_retry_after` tells whether the response carried
/// a `Retry-After` header, which turns a 409 from "business conflict" into
/// "same key still being processed".
pub fn classify_status(status: u16, has_retry_after: bool) -> StatusClass {
    match status {
        200..=299 => StatusClass::Success,
        408 | 425 | 429 | 500 | 502 | 503 | 504 => StatusClass::Transient,
        409 if has_retry_after => StatusClass::Transient,
        _ => StatusClass::Permanent,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use StatusClass::*;

    #[test]
    fn contract_table() {
        let table: &[(u16, bool, StatusClass)] = &[
            (200, false, Success),
            (201, false, Success),
            (204, false, Success),
            (400, false, Permanent),
            (401, false, Permanent),
            (403, false, Permanent),
            (404, false, Permanent),
            (409, false, Permanent),
            (409, true, Transient),
            (413, false, Permanent),
            (415, false, Permanent),
            (422, false, Permanent),
            (422, true, Permanent),
            (408, false, Transient),
            (425, false, Transient),
            (429, false, Transient),
            (429, true, Transient),
            (500, false, Transient),
            (501, false, Permanent),
            (502, false, Transient),
            (503, true, Transient),
            (504, false, Transient),
            (505, false, Permanent),
            (302, false, Permanent),
        ];
        for &(status, retry_after, expected) in table {
            assert_eq!(classify_status(status, retry_after), expected, "status {status}, Retry-After {retry_after}");
        }
    }
}
