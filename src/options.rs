//! Request options: their defaults, their validation and how per-call
//! options override the client's.
//!
//! Pure: JavaScript values arrive as [`Raw`], read by the glue, so every rule
//! and every error message is checked by plain `cargo test`.

use crate::backoff::Backoff;
use crate::defaults;
use crate::retry::RetryPolicy;

/// A JavaScript value as far as option validation cares.
#[derive(Clone, Debug, PartialEq)]
pub enum Raw {
    /// `undefined` (or the property is absent).
    Missing,
    /// A `number`, which may be NaN or infinite.
    Number(f64),
    /// A `boolean`.
    Bool(bool),
    /// A `string`.
    Text(String),
    /// Anything else, named by its `typeof` (`"null"` for null).
    Other(&'static str),
}

impl Raw {
    fn describe(&self) -> String {
        match self {
            Raw::Missing => "undefined".into(),
            Raw::Number(n) => format_number(*n),
            Raw::Bool(b) => if *b { "true" } else { "false" }.into(),
            Raw::Text(_) => "a string".into(),
            Raw::Other(t) => ["a value of type ", t].concat(),
        }
    }
}

/// Names a number for an error message: integers exactly, anything else by
/// kind. (Integer formatting only: float formatting would add ~10 KB of wasm.)
pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        "NaN".into()
    } else if n.is_infinite() {
        if n > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else if n.fract() == 0.0 && n.abs() < 9.0e15 {
        let digits = decimal(n.abs() as u64);
        if n < 0.0 { ["-", &digits].concat() } else { digits }
    } else {
        "a fractional number".into()
    }
}

/// The decimal digits of `n`: what `n.to_string()` gives, without the
/// formatting machinery behind it (every integer in a message goes through
/// here).
pub fn decimal(mut n: u64) -> String {
    let mut digits = [0u8; 20];
    let mut start = digits.len();
    loop {
        start -= 1;
        digits[start] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    digits[start..].iter().map(|&d| char::from(d)).collect()
}

fn invalid(field: &str, rule: &str, got: &Raw) -> String {
    [field, " must be ", rule, ", got ", &got.describe()].concat()
}

/// The longest wait a browser timer honours (2³¹−1 ms, about 24.8 days):
/// `setTimeout` fires a longer one at once, so a retry meant for a month
/// later would go out in milliseconds.
pub const MAX_TIMER_MS: f64 = 2_147_483_647.0;

/// `value` of wait `field`, refused when a browser timer cannot wait that long.
pub fn timer_ms(field: &str, value: Option<f64>) -> Result<Option<f64>, String> {
    match value {
        Some(ms) if ms > MAX_TIMER_MS => Err([field, " must be at most 2147483647 ms (about 24.8 days: browser timers cannot wait longer), got ", &format_number(ms)].concat()),
        other => Ok(other),
    }
}

/// A non-negative, finite number of milliseconds, or absent.
pub fn non_negative_ms(field: &str, raw: &Raw) -> Result<Option<f64>, String> {
    match raw {
        Raw::Missing => Ok(None),
        Raw::Number(n) if n.is_finite() && *n >= 0.0 => Ok(Some(*n)),
        other => Err(invalid(field, "a non-negative number of milliseconds", other)),
    }
}

/// A positive, finite number of milliseconds, or absent (timeouts: a zero
/// timeout would fail every attempt).
pub fn positive_ms(field: &str, raw: &Raw) -> Result<Option<f64>, String> {
    match raw {
        Raw::Missing => Ok(None),
        Raw::Number(n) if n.is_finite() && *n > 0.0 => Ok(Some(*n)),
        other => Err(invalid(field, "a positive number of milliseconds", other)),
    }
}

/// A non-negative integer that fits a `u32`, or absent.
pub fn count(field: &str, raw: &Raw) -> Result<Option<u32>, String> {
    match raw {
        Raw::Missing => Ok(None),
        Raw::Number(n) if n.is_finite() && *n >= 0.0 && n.fract() == 0.0 && *n <= u32::MAX as f64 => Ok(Some(*n as u32)),
        other => Err(invalid(field, "a non-negative integer", other)),
    }
}

/// A boolean, or absent.
pub fn boolean(field: &str, raw: &Raw) -> Result<Option<bool>, String> {
    match raw {
        Raw::Missing => Ok(None),
        Raw::Bool(b) => Ok(Some(*b)),
        other => Err(invalid(field, "a boolean", other)),
    }
}

/// A string usable as an HTTP header value (visible ASCII, 1 to 255 chars),
/// or absent. Used for `idempotencyKey` and `dedupeKey`.
pub fn header_token(field: &str, raw: &Raw) -> Result<Option<String>, String> {
    match raw {
        Raw::Missing => Ok(None),
        Raw::Text(s) if !s.is_empty() && s.len() <= 255 && s.bytes().all(|b| (0x21..=0x7e).contains(&b)) => Ok(Some(s.clone())),
        Raw::Text(_) => Err([field, " must be 1 to 255 visible ASCII characters (no spaces or control characters)"].concat()),
        other => Err(invalid(field, "a string", other)),
    }
}

/// The tunable retry settings, each one optional so that per-call options
/// can override the client's, which override the defaults.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Overrides {
    pub max_retries: Option<u32>,
    pub retry_delay: Option<f64>,
    pub max_retry_delay: Option<f64>,
    pub jitter: Option<bool>,
    pub timeout: Option<f64>,
    pub total_timeout: Option<f64>,
    pub queue_if_offline: Option<bool>,
    pub write_ahead: Option<bool>,
}

impl Overrides {
    /// Reads and validates the fields from an options object; `get(name)`
    /// returns the raw property value, `prefix` names the object in error
    /// messages (`"options"` or `"config"`).
    pub fn parse(prefix: &str, get: impl Fn(&str) -> Raw) -> Result<Overrides, String> {
        // The rules name the bare field; its object is put in front only
        // when one fails, so a valid object builds no names at all.
        Overrides::read(get).map_err(|e| [prefix, ".", &e].concat())
    }

    /// The fields, validated; an error names the field without its object.
    fn read(get: impl Fn(&str) -> Raw) -> Result<Overrides, String> {
        // One rule per kind of field, each read through one helper.
        let wait = |field: &str, rule: fn(&str, &Raw) -> Result<Option<f64>, String>| timer_ms(field, rule(field, &get(field))?);
        let flag = |field: &str| boolean(field, &get(field));
        Ok(Overrides {
            max_retries: count("maxRetries", &get("maxRetries"))?,
            retry_delay: wait("retryDelay", non_negative_ms)?,
            max_retry_delay: wait("maxRetryDelay", non_negative_ms)?,
            jitter: flag("jitter")?,
            timeout: wait("timeout", positive_ms)?,
            total_timeout: wait("totalTimeout", positive_ms)?,
            queue_if_offline: flag("queueIfOffline")?,
            write_ahead: flag("writeAhead")?,
        })
    }

    /// `self` with every unset field taken from `fallback`.
    pub fn or(&self, fallback: &Overrides) -> Overrides {
        Overrides {
            max_retries: self.max_retries.or(fallback.max_retries),
            retry_delay: self.retry_delay.or(fallback.retry_delay),
            max_retry_delay: self.max_retry_delay.or(fallback.max_retry_delay),
            jitter: self.jitter.or(fallback.jitter),
            timeout: self.timeout.or(fallback.timeout),
            total_timeout: self.total_timeout.or(fallback.total_timeout),
            queue_if_offline: self.queue_if_offline.or(fallback.queue_if_offline),
            write_ahead: self.write_ahead.or(fallback.write_ahead),
        }
    }

    /// The effective settings, defaults filled in.
    pub fn resolve(&self) -> Settings {
        let d = Settings::default();
        Settings {
            retry: RetryPolicy {
                max_retries: self.max_retries.unwrap_or(d.retry.max_retries),
                backoff: Backoff {
                    base_ms: self.retry_delay.unwrap_or(d.retry.backoff.base_ms),
                    max_ms: self.max_retry_delay.unwrap_or(d.retry.backoff.max_ms),
                    jitter: self.jitter.unwrap_or(d.retry.backoff.jitter),
                },
            },
            timeout_ms: self.timeout.unwrap_or(d.timeout_ms),
            total_timeout_ms: self.total_timeout.or(d.total_timeout_ms),
            queue_if_offline: self.queue_if_offline.unwrap_or(d.queue_if_offline),
            write_ahead: self.write_ahead.unwrap_or(d.write_ahead),
        }
    }
}

/// The settings one call runs with.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Retry count and backoff schedule.
    pub retry: RetryPolicy,
    /// Per-attempt timeout, enforced with an AbortSignal.
    pub timeout_ms: f64,
    /// Deadline for the whole call, attempts and waits together, if any.
    pub total_timeout_ms: Option<f64>,
    /// Whether a request that cannot be delivered now goes to the offline queue.
    pub queue_if_offline: bool,
    /// Whether a queueable write is committed to the outbox before its first
    /// attempt, so that it survives the page dying mid-call.
    /// Off, it is written only when it cannot be delivered now: one
    /// IndexedDB transaction less per call, but a write on the wire when its
    /// page dies is in no queue.
    pub write_ahead: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            retry: RetryPolicy::default(),
            timeout_ms: defaults::TIMEOUT_MS,
            total_timeout_ms: None,
            queue_if_offline: defaults::QUEUE_IF_OFFLINE,
            write_ahead: defaults::WRITE_AHEAD,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, Raw)]) -> Result<Overrides, String> {
        Overrides::parse("options", |name| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap_or(Raw::Missing))
    }

    #[test]
    fn defaults_match_the_contract() {
        let s = Overrides::default().resolve();
        assert_eq!(s.retry.max_retries, 3);
        assert_eq!(s.retry.backoff, Backoff { base_ms: 1_000.0, max_ms: 30_000.0, jitter: true });
        assert_eq!(s.timeout_ms, 60_000.0);
        assert_eq!(s.total_timeout_ms, None);
        assert!(s.queue_if_offline);
        assert!(s.write_ahead);
    }

    #[test]
    fn call_overrides_client_overrides_defaults() {
        let client = from(&[("maxRetries", Raw::Number(5.0)), ("timeout", Raw::Number(100.0))]).unwrap();
        let call = from(&[("maxRetries", Raw::Number(0.0))]).unwrap();
        let s = call.or(&client).resolve();
        assert_eq!(s.retry.max_retries, 0);
        assert_eq!(s.timeout_ms, 100.0);
        assert_eq!(s.retry.backoff.base_ms, 1_000.0);
    }

    #[test]
    fn bad_values_name_the_field_and_the_value() {
        let cases: &[(&str, Raw, &str)] = &[
            ("maxRetries", Raw::Number(-1.0), "options.maxRetries must be a non-negative integer, got -1"),
            ("maxRetries", Raw::Number(1.5), "options.maxRetries must be a non-negative integer, got a fractional number"),
            ("maxRetries", Raw::Text("3".into()), "options.maxRetries must be a non-negative integer, got a string"),
            ("retryDelay", Raw::Number(f64::NAN), "options.retryDelay must be a non-negative number of milliseconds, got NaN"),
            ("maxRetryDelay", Raw::Number(-5.0), "options.maxRetryDelay must be a non-negative number of milliseconds, got -5"),
            ("timeout", Raw::Number(0.0), "options.timeout must be a positive number of milliseconds, got 0"),
            ("timeout", Raw::Number(f64::INFINITY), "options.timeout must be a positive number of milliseconds, got Infinity"),
            ("totalTimeout", Raw::Other("null"), "options.totalTimeout must be a positive number of milliseconds, got a value of type null"),
            ("jitter", Raw::Text("yes".into()), "options.jitter must be a boolean, got a string"),
            ("queueIfOffline", Raw::Number(1.0), "options.queueIfOffline must be a boolean, got 1"),
            ("writeAhead", Raw::Text("no".into()), "options.writeAhead must be a boolean, got a string"),
            ("maxRetryDelay", Raw::Number(2_592_000_000.0), "options.maxRetryDelay must be at most 2147483647 ms (about 24.8 days: browser timers cannot wait longer), got 2592000000"),
            ("retryDelay", Raw::Number(MAX_TIMER_MS + 1.0), "options.retryDelay must be at most 2147483647 ms (about 24.8 days: browser timers cannot wait longer), got 2147483648"),
            ("timeout", Raw::Number(4e9), "options.timeout must be at most 2147483647 ms (about 24.8 days: browser timers cannot wait longer), got 4000000000"),
        ];
        for (field, value, message) in cases {
            assert_eq!(from(&[(field, value.clone())]).unwrap_err(), *message);
        }
    }

    #[test]
    fn the_longest_timer_is_accepted() {
        let s = from(&[("maxRetryDelay", Raw::Number(MAX_TIMER_MS))]).unwrap();
        assert_eq!(s.max_retry_delay, Some(MAX_TIMER_MS));
    }

    #[test]
    fn numbers_are_named_without_float_formatting() {
        assert_eq!(format_number(60_000.0), "60000");
        assert_eq!(format_number(-3.0), "-3");
        assert_eq!(format_number(0.25), "a fractional number");
        assert_eq!(format_number(f64::NEG_INFINITY), "-Infinity");
        assert_eq!(format_number(-0.0), "0");
        for n in [0, 7, 10, 409, 65_535, 4_294_967_295, u64::MAX] {
            assert_eq!(decimal(n), n.to_string());
        }
    }

    #[test]
    fn header_tokens() {
        assert_eq!(header_token("k", &Raw::Text("abc-123".into())), Ok(Some("abc-123".into())));
        assert!(header_token("options.idempotencyKey", &Raw::Text("".into())).unwrap_err().starts_with("options.idempotencyKey must be"));
        assert!(header_token("k", &Raw::Text("a b".into())).is_err());
        assert!(header_token("k", &Raw::Text("a\nb".into())).is_err());
        assert!(header_token("k", &Raw::Text("é".into())).is_err());
        assert!(header_token("k", &Raw::Text("x".repeat(256))).is_err());
        assert_eq!(header_token("k", &Raw::Number(1.0)).unwrap_err(), "k must be a string, got 1");
    }
}
