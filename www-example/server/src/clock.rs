//! Wall-clock time in the forms the store uses: RFC 3339 for `createdAt`, the
//! `YYYYMM` period of invoice numbers, and Unix milliseconds for key expiry.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// The current UTC time.
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// `2025-03-07T14:02:11.123Z`-style RFC 3339 text (UTC), to the millisecond.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t
        .replace_millisecond(t.millisecond())
        .expect("a millisecond of the time itself is valid");
    t.format(&Rfc3339)
        .expect("a UTC time always formats as RFC 3339")
}

/// The `YYYYMM` period an invoice or return number belongs to (UTC month).
pub fn period(t: OffsetDateTime) -> String {
    format!("{:04}{:02}", t.year(), u8::from(t.month()))
}

/// Milliseconds since the Unix epoch.
pub fn unix_ms(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn period_is_zero_padded_year_and_month() {
        assert_eq!(period(datetime!(2025-03-07 14:02:11 UTC)), "202503");
        assert_eq!(period(datetime!(2026-12-31 23:59:59 UTC)), "202612");
    }

    #[test]
    fn rfc3339_is_utc() {
        assert_eq!(
            rfc3339(datetime!(2025-03-07 14:02:11 UTC)),
            "2025-03-07T14:02:11Z"
        );
        assert_eq!(
            rfc3339(datetime!(2025-03-07 14:02:11.123456789 UTC)),
            "2025-03-07T14:02:11.123Z"
        );
    }

    #[test]
    fn unix_ms_counts_milliseconds() {
        assert_eq!(unix_ms(datetime!(1970-01-01 00:00:01.5 UTC)), 1500);
    }
}
