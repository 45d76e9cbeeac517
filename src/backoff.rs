//! The exponential backoff schedule: how long to wait before retry `n`.
//!
//! Pure arithmetic, no clock and no randomness source of its own: the caller
//! passes a uniform random number so the schedule is testable exactly.

use crate::defaults;

/// How retry delays grow: `base`, `2·base`, `4·base`, … capped at `max`.
///
/// With `jitter` on, each delay is drawn uniformly from the upper half of its
/// step (`[d/2, d]`, "equal jitter"): retries from many tills spread out, yet
/// a retry never fires much sooner than the schedule promises.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Backoff {
    /// Delay before the first retry, in milliseconds.
    pub base_ms: f64,
    /// Upper bound of any delay, in milliseconds.
    pub max_ms: f64,
    /// Whether to randomise each delay within `[d/2, d]`.
    pub jitter: bool,
}

/// The call's schedule as `defaults` declares it.
impl Default for Backoff {
    fn default() -> Self {
        Backoff { base_ms: defaults::RETRY_DELAY_MS, max_ms: defaults::MAX_RETRY_DELAY_MS, jitter: defaults::JITTER }
    }
}

impl Backoff {
    /// The delay in milliseconds before retry number `retry` (1 for the first
    /// retry). `random` is a uniform number in `[0, 1)`; it is ignored when
    /// jitter is off.
    pub fn delay_ms(&self, retry: u32, random: f64) -> f64 {
        let exponent = retry.saturating_sub(1).min(52) as i32;
        let step = (self.base_ms * 2f64.powi(exponent)).min(self.max_ms);
        if self.jitter {
            let r = random.clamp(0.0, 1.0);
            step / 2.0 + r * step / 2.0
        } else {
            step
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_from_the_base_without_jitter() {
        let b = Backoff { jitter: false, ..Backoff::default() };
        let delays: Vec<f64> = (1..=6).map(|n| b.delay_ms(n, 0.5)).collect();
        assert_eq!(delays, vec![1_000.0, 2_000.0, 4_000.0, 8_000.0, 16_000.0, 30_000.0]);
    }

    #[test]
    fn caps_at_max_even_for_huge_retry_numbers() {
        let b = Backoff { base_ms: 500.0, max_ms: 7_000.0, jitter: false };
        assert_eq!(b.delay_ms(4, 0.0), 4_000.0);
        assert_eq!(b.delay_ms(5, 0.0), 7_000.0);
        assert_eq!(b.delay_ms(u32::MAX, 0.0), 7_000.0);
    }

    #[test]
    fn jitter_stays_within_the_upper_half_of_the_step() {
        let b = Backoff::default();
        for retry in 1..=8 {
            let step = (1_000.0 * 2f64.powi(retry as i32 - 1)).min(30_000.0);
            for i in 0..100 {
                let r = i as f64 / 100.0;
                let d = b.delay_ms(retry, r);
                assert!(d >= step / 2.0 && d <= step, "retry {retry}: {d} outside [{}, {step}]", step / 2.0);
            }
            assert_eq!(b.delay_ms(retry, 0.0), step / 2.0);
        }
    }

    #[test]
    fn out_of_range_random_is_clamped() {
        let b = Backoff::default();
        assert_eq!(b.delay_ms(1, 7.0), 1_000.0);
        assert_eq!(b.delay_ms(1, -3.0), 500.0);
    }

    #[test]
    fn zero_base_means_immediate_retries() {
        let b = Backoff { base_ms: 0.0, max_ms: 30_000.0, jitter: true };
        assert_eq!(b.delay_ms(3, 0.9), 0.0);
    }
}
