//! The retry decision, separated from the mechanism that sleeps and resends
//! (in the manner of tower's retry `Policy`).

use crate::backoff::Backoff;
use crate::classify::{classify_status, StatusClass};

/// What one attempt produced, as far as the retry decision cares.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AttemptOutcome {
    /// A response arrived. `retry_after_ms` is the parsed `Retry-After`
    /// delay, if the header was present and valid; `has_retry_after` tells
    /// whether the header was present at all.
    Response { status: u16, has_retry_after: bool, retry_after_ms: Option<f64> },
    /// The request failed below HTTP (connection refused or dropped, DNS,
    /// CORS). The server may or may not have acted on it.
    Network,
    /// The per-attempt timeout aborted the request. Outcome unknown too.
    Timeout,
}

impl AttemptOutcome {
    /// True when sending the same request again (same key) may succeed:
    /// network errors, timeouts and transient statuses.
    pub fn is_transient(&self) -> bool {
        match *self {
            AttemptOutcome::Response { status, has_retry_after, .. } => {
                classify_status(status, has_retry_after) == StatusClass::Transient
            }
            AttemptOutcome::Network | AttemptOutcome::Timeout => true,
        }
    }
}

/// Why retrying stopped without a final response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GiveUp {
    /// `maxRetries` retries were made and the last still failed transiently.
    RetriesExhausted,
    /// The next wait would pass the caller's `totalTimeout`.
    TotalTimeout,
    /// The server does not answer its health probe: a write that may wait
    /// in the outbox goes there rather than waiting out more timeouts.
    ServerUnreachable,
}

/// The decision after an attempt.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Decision {
    /// The outcome is final (success or permanent failure): report it.
    Finish,
    /// Wait this many milliseconds, then send again with the same key.
    RetryAfter(f64),
    /// Transient failure, but no retry is allowed any more.
    GiveUp(GiveUp),
}

/// How many times to retry and how long to wait in between.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// The delay schedule; its `max_ms` also caps a server's `Retry-After`.
    pub backoff: Backoff,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy { max_retries: crate::defaults::MAX_RETRIES, backoff: Backoff::default() }
    }
}

impl RetryPolicy {
    /// Decides what to do after attempt number `attempts` (1 for the first)
    /// ended with `outcome`. `random` is uniform in `[0, 1)` for jitter;
    /// `remaining_ms` is what is left of the total timeout, if one is set.
    ///
    /// A server's `Retry-After` wins over the computed delay, capped at
    /// `backoff.max_ms` so a hostile or buggy header cannot stall a till.
    pub fn decide(&self, attempts: u32, outcome: &AttemptOutcome, random: f64, remaining_ms: Option<f64>) -> Decision {
        if !outcome.is_transient() {
            return Decision::Finish;
        }
        if attempts > self.max_retries {
            return Decision::GiveUp(GiveUp::RetriesExhausted);
        }
        let server_delay = match *outcome {
            AttemptOutcome::Response { retry_after_ms, .. } => retry_after_ms,
            _ => None,
        };
        let delay = match server_delay {
            Some(ms) => ms.min(self.backoff.max_ms),
            None => self.backoff.delay_ms(attempts, random),
        };
        match remaining_ms {
            Some(left) if delay >= left => Decision::GiveUp(GiveUp::TotalTimeout),
            _ => Decision::RetryAfter(delay),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(status: u16) -> AttemptOutcome {
        AttemptOutcome::Response { status, has_retry_after: false, retry_after_ms: None }
    }

    fn exact() -> RetryPolicy {
        RetryPolicy { max_retries: 3, backoff: Backoff { jitter: false, ..Backoff::default() } }
    }

    #[test]
    fn success_and_permanent_failures_finish() {
        for s in [200, 201, 204, 400, 401, 403, 404, 409, 422] {
            assert_eq!(exact().decide(1, &status(s), 0.0, None), Decision::Finish, "{s}");
        }
    }

    #[test]
    fn transient_failures_follow_the_schedule_then_give_up() {
        let p = exact();
        for outcome in [status(503), AttemptOutcome::Network, AttemptOutcome::Timeout] {
            assert_eq!(p.decide(1, &outcome, 0.0, None), Decision::RetryAfter(1_000.0));
            assert_eq!(p.decide(2, &outcome, 0.0, None), Decision::RetryAfter(2_000.0));
            assert_eq!(p.decide(3, &outcome, 0.0, None), Decision::RetryAfter(4_000.0));
            assert_eq!(p.decide(4, &outcome, 0.0, None), Decision::GiveUp(GiveUp::RetriesExhausted));
        }
    }

    #[test]
    fn zero_retries_gives_up_after_the_first_attempt() {
        let p = RetryPolicy { max_retries: 0, ..exact() };
        assert_eq!(p.decide(1, &AttemptOutcome::Network, 0.0, None), Decision::GiveUp(GiveUp::RetriesExhausted));
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let p = exact();
        let ra = |ms| AttemptOutcome::Response { status: 503, has_retry_after: true, retry_after_ms: Some(ms) };
        assert_eq!(p.decide(3, &ra(1_000.0), 0.0, None), Decision::RetryAfter(1_000.0));
        assert_eq!(p.decide(1, &ra(0.0), 0.0, None), Decision::RetryAfter(0.0));
        assert_eq!(p.decide(1, &ra(3_600_000.0), 0.0, None), Decision::RetryAfter(30_000.0));
    }

    #[test]
    fn conflict_with_retry_after_is_retried_without_it_is_not() {
        let p = exact();
        let in_flight = AttemptOutcome::Response { status: 409, has_retry_after: true, retry_after_ms: Some(2_000.0) };
        assert_eq!(p.decide(1, &in_flight, 0.0, None), Decision::RetryAfter(2_000.0));
        assert_eq!(p.decide(1, &status(409), 0.0, None), Decision::Finish);
    }

    #[test]
    fn unparseable_retry_after_falls_back_to_backoff() {
        let garbled = AttemptOutcome::Response { status: 429, has_retry_after: true, retry_after_ms: None };
        assert_eq!(exact().decide(2, &garbled, 0.0, None), Decision::RetryAfter(2_000.0));
    }

    #[test]
    fn total_timeout_stops_a_wait_that_would_overrun_it() {
        let p = exact();
        assert_eq!(p.decide(1, &AttemptOutcome::Network, 0.0, Some(5_000.0)), Decision::RetryAfter(1_000.0));
        assert_eq!(p.decide(1, &AttemptOutcome::Network, 0.0, Some(1_000.0)), Decision::GiveUp(GiveUp::TotalTimeout));
        assert_eq!(p.decide(1, &status(400), 0.0, Some(0.0)), Decision::Finish);
    }
}
