//! Every default a caller can override, declared once. Each line gives the
//! constant the code uses and, through `default_text!`, the text the
//! TypeScript declarations show, so the two cannot drift apart.

/// Declares the defaults: a constant each, and the `default_text!` macro
/// that turns an option's name into its default as written here.
macro_rules! declare_defaults {
    ($( $(#[doc = $doc:literal])* $option:ident => $name:ident: $ty:ty = $value:literal; )*) => {
        $( $(#[doc = $doc])* pub const $name: $ty = $value as $ty; )*

        /// The default of an option, as text (`default_text!(timeout)` is
        /// `"60000"`), for the TypeScript declarations.
        macro_rules! default_text {
            $( ($option) => { stringify!($value) }; )*
        }
    };
}

declare_defaults! {
    /// Retries after the first attempt (so up to 4 attempts).
    maxRetries => MAX_RETRIES: u32 = 3;
    /// Delay before the first retry, in ms; it doubles with every retry.
    retryDelay => RETRY_DELAY_MS: f64 = 1000;
    /// Cap on any retry delay, and on a server's `Retry-After`, in ms.
    maxRetryDelay => MAX_RETRY_DELAY_MS: f64 = 30000;
    /// Whether each retry delay is drawn from the upper half of its step.
    jitter => JITTER: bool = true;
    /// Per-attempt timeout, enforced with an AbortSignal, in ms.
    timeout => TIMEOUT_MS: f64 = 60000;
    /// Whether a write that cannot be delivered now waits in the outbox.
    queueIfOffline => QUEUE_IF_OFFLINE: bool = true;
    /// Whether a queueable write is committed to the outbox before its
    /// first attempt, so it survives its page dying mid-call.
    writeAhead => WRITE_AHEAD: bool = true;
    /// The outbox namespace (one IndexedDB database each).
    namespace => NAMESPACE: &str = "default";
    /// How long a queued request may wait before it is dead-lettered, in
    /// ms: 7 days.
    maxRetention => MAX_RETENTION_MS: f64 = 604800000;
    /// How long a health probe may take before it counts as unanswered, in
    /// ms: far below a sale's timeout, so a dead server is known fast.
    probeTimeout => PROBE_TIMEOUT_MS: f64 = 5000;
    /// Whether queued writes ask the browser for Background Sync.
    backgroundSync => BACKGROUND_SYNC: bool = false;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_typescript_text_is_the_constant() {
        assert_eq!(default_text!(timeout), "60000");
        assert_eq!(default_text!(timeout).parse::<f64>().unwrap(), TIMEOUT_MS);
        assert_eq!(default_text!(maxRetries).parse::<u32>().unwrap(), MAX_RETRIES);
        assert_eq!(default_text!(namespace), "\"default\"");
        assert_eq!(MAX_RETENTION_MS, 7.0 * 24.0 * 3_600_000.0);
    }
}
