//! Parsing the `Retry-After` response header (RFC 9110 §10.2.3).
//!
//! The header is either a number of seconds or an HTTP-date. Dates are parsed
//! by the `httpdate` crate; the current time is passed in, so this stays pure.

use std::time::UNIX_EPOCH;

/// The delay in milliseconds that a `Retry-After` value asks for, measured
/// from `now_ms` (milliseconds since the Unix epoch).
///
/// Returns `None` for a value that is neither delay-seconds nor an HTTP-date
/// (the header is then ignored and the computed backoff applies). A date in
/// the past means "retry now": `Some(0.0)`.
pub fn parse_retry_after(value: &str, now_ms: f64) -> Option<f64> {
    // Optional whitespace around the value is spaces and tabs (RFC 9110 §5.6.3).
    let value = value.trim_ascii();
    if value.is_empty() {
        return None;
    }
    if value.bytes().all(|b| b.is_ascii_digit()) {
        // delay-seconds = 1*DIGIT; absurdly long values saturate.
        let seconds = value.bytes().fold(0.0, |n, d| n * 10.0 + f64::from(d - b'0'));
        return Some(seconds.min(u64::MAX as f64) * 1_000.0);
    }
    let when = httpdate::parse_http_date(value).ok()?;
    let when_ms = when.duration_since(UNIX_EPOCH).ok()?.as_millis() as f64;
    Some((when_ms - now_ms).max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    // Sun, 06 Nov 1994 08:49:37 GMT, the RFC's example date.
    const RFC_DATE_MS: f64 = 784_111_777_000.0;

    #[test]
    fn seconds() {
        assert_eq!(parse_retry_after("1", 0.0), Some(1_000.0));
        assert_eq!(parse_retry_after(" 120 ", 0.0), Some(120_000.0));
        assert_eq!(parse_retry_after("0", 0.0), Some(0.0));
    }

    #[test]
    fn http_date_in_all_three_formats() {
        let now = RFC_DATE_MS - 5_000.0;
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", now), Some(5_000.0));
        assert_eq!(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", now), Some(5_000.0));
        assert_eq!(parse_retry_after("Sun Nov  6 08:49:37 1994", now), Some(5_000.0));
    }

    #[test]
    fn past_date_means_now() {
        assert_eq!(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", RFC_DATE_MS + 60_000.0), Some(0.0));
    }

    #[test]
    fn huge_seconds_saturate() {
        assert!(parse_retry_after("99999999999999999999999", 0.0).unwrap() > 1e18);
    }

    #[test]
    fn garbage_is_ignored() {
        for bad in ["", "  ", "-1", "1.5", "soon", "10s", "Sun, 32 Nov 1994 08:49:37 GMT", "+3"] {
            assert_eq!(parse_retry_after(bad, 0.0), None, "{bad:?}");
        }
    }
}
