//! Parsing the `Retry-After` response header (RFC 9110 §10.2.3).
//!
//! The header is either a number of seconds or an HTTP-date in one of its
//! three formats, read as strictly as `httpdate` reads them (a weekday that
//! does not match the date, or a day the month does not have, is no date);
//! the current time is passed in, so this stays pure.

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
    Some((http_date_ms(value.as_bytes())? - now_ms).max(0.0))
}

/// The weekdays as RFC 850 dates spell them; the other formats use their
/// first three letters.
const WEEKDAYS: [&[u8]; 7] = [b"Monday", b"Tuesday", b"Wednesday", b"Thursday", b"Friday", b"Saturday", b"Sunday"];

/// The months' three-letter names, in order.
const MONTHS: &[u8; 36] = b"JanFebMarAprMayJunJulAugSepOctNovDec";

/// Milliseconds since the Unix epoch of an HTTP-date (RFC 9110 §5.6.7):
/// `Sun, 06 Nov 1994 08:49:37 GMT` (IMF-fixdate), `Sunday, 06-Nov-94
/// 08:49:37 GMT` (RFC 850) or `Sun Nov  6 08:49:37 1994` (asctime), in
/// 1970 or later.
fn http_date_ms(s: &[u8]) -> Option<f64> {
    // The weekday's name, the day, month, year and `HH:MM:SS` of each format.
    let (weekday, day, month, year, time) = match s.len() {
        29 if &s[3..5] == b", " && s[7] == b' ' && s[11] == b' ' && s[16] == b' ' && &s[25..] == b" GMT" => {
            (&s[..3], &s[5..7], &s[8..11], &s[12..16], &s[17..25])
        }
        24 if s[3] == b' ' && s[7] == b' ' && s[10] == b' ' && s[19] == b' ' => {
            let day = if s[8] == b' ' { &s[9..10] } else { &s[8..10] };
            (&s[..3], day, &s[4..7], &s[20..24], &s[11..19])
        }
        _ => {
            let comma = s.iter().position(|&b| b == b',')?;
            let (name, r) = s.split_at(comma);
            if name.len() <= 3 || r.len() != 24 || &r[..2] != b", " || r[4] != b'-' || r[8] != b'-' || r[11] != b' ' || &r[20..] != b" GMT" {
                return None;
            }
            (name, &r[2..4], &r[5..8], &r[9..11], &r[12..20])
        }
    };
    let weekday = WEEKDAYS.iter().position(|w| if weekday.len() == 3 { &w[..3] == weekday } else { *w == weekday })?;
    let month = MONTHS.chunks(3).position(|m| m == month)? as i64 + 1;
    let year = match (number(year)?, year.len()) {
        (yy, 2) if yy < 70 => 2000 + yy,
        (yy, 2) => 1900 + yy,
        (yyyy, _) => yyyy,
    };
    let day = number(day)?;
    if time[2] != b':' || time[5] != b':' {
        return None;
    }
    let (hour, min, sec) = (number(&time[..2])?, number(&time[3..5])?, number(&time[6..])?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let month_days = if month == 2 { 28 + leap as i64 } else { 30 + (month + month / 8) % 2 };
    if year < 1970 || day < 1 || day > month_days || hour > 23 || min > 59 || sec > 59 {
        return None;
    }
    // Days since 1970-01-01 (a Thursday), counting years from March so
    // that the leap day ends one.
    let y = year - (month <= 2) as i64;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let days = y * 365 + y / 4 - y / 100 + y / 400 + day_of_year - 719_468;
    if (days + 3) % 7 != weekday as i64 {
        return None;
    }
    Some(((days * 24 + hour) * 60 + min) as f64 * 60_000.0 + sec as f64 * 1_000.0)
}

/// The value of an unsigned decimal of at most four digits.
fn number(digits: &[u8]) -> Option<i64> {
    if digits.is_empty() || digits.len() > 4 {
        return None;
    }
    digits.iter().try_fold(0, |n, &d| d.is_ascii_digit().then(|| n * 10 + i64::from(d - b'0')))
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
    fn dates_read_as_httpdate_reads_them() {
        let mut secs = 0u64;
        while secs < 5_000_000_000 {
            let when = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            let text = httpdate::fmt_http_date(when);
            assert_eq!(parse_retry_after(&text, 0.0), Some(secs as f64 * 1_000.0), "{text}");
            secs += 86_399 * 3 + 7;
        }
    }

    #[test]
    fn impossible_dates_are_ignored() {
        for bad in [
            "Mon, 06 Nov 1994 08:49:37 GMT",
            "Sun, 29 Feb 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 24:00:00 GMT",
            "Sun, 06 Nov 1969 08:49:37 GMT",
            "Sun, 06 nov 1994 08:49:37 GMT",
            "Sun, 06 Nov 1994 08:49:37 UTC",
            "Sun, 6 Nov 1994 08:49:37 GMT",
            "Sun Nov 6 08:49:37 1994",
            "Sun, 06-Nov-94 08:49:37 GMT",
            "Sunday, 06 Nov 1994 08:49:37 GMT",
            "Sun Nov  6 08:49:37 94",
        ] {
            assert_eq!(parse_retry_after(bad, 0.0), None, "{bad:?}");
            assert!(httpdate::parse_http_date(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_retry_after("Thu, 29 Feb 2024 00:00:00 GMT", 0.0), Some(1_709_164_800_000.0));
        assert_eq!(parse_retry_after("Thu Feb 29 00:00:00 2024", 0.0), Some(1_709_164_800_000.0));
    }

    #[test]
    fn garbage_is_ignored() {
        for bad in ["", "  ", "-1", "1.5", "soon", "10s", "Sun, 32 Nov 1994 08:49:37 GMT", "+3"] {
            assert_eq!(parse_retry_after(bad, 0.0), None, "{bad:?}");
        }
    }
}
