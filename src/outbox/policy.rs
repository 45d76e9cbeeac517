//! The offline queue's decisions, without a browser: what happens to the
//! record at the head of the queue after a replay, when it expires, and when
//! the next drain is due.

use crate::backoff::Backoff;
use crate::classify::{classify_status, StatusClass};
use crate::retry::AttemptOutcome;

/// Delays between replays of a head record that keeps failing transiently:
/// 1 s, 2 s, 4 s … capped at 5 minutes, jittered so that tills coming back
/// online together do not stampede the server.
pub const QUEUE_BACKOFF: Backoff = Backoff { base_ms: 1_000.0, max_ms: 300_000.0, jitter: true };

/// Why a record left the queue for the dead-letter store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeadReason {
    /// The server answered with a status retrying cannot fix (400, 409, 422…).
    Rejected,
    /// The record waited longer than `maxRetention`.
    Expired,
    /// The stored record could not be read back (corrupt or foreign data).
    Undecodable,
}

impl DeadReason {
    /// The `reason` string of the dead-letter record and event.
    pub fn as_str(self) -> &'static str {
        match self {
            DeadReason::Rejected => "rejected",
            DeadReason::Expired => "expired",
            DeadReason::Undecodable => "undecodable",
        }
    }
}

/// What a replay of the head record produced.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Replay {
    /// 2xx: the server has the operation (fresh or replayed).
    Sent,
    /// 401: the credentials are stale.
    Unauthorized,
    /// A response retrying cannot fix.
    Rejected(u16),
    /// No response, a timeout or a transient status; `retry_after_ms` is the
    /// server's `Retry-After`, if any.
    Transient { retry_after_ms: Option<f64> },
}

impl Replay {
    /// Reads an attempt's outcome as a replay result.
    pub fn from_outcome(outcome: &AttemptOutcome) -> Replay {
        match *outcome {
            AttemptOutcome::Network | AttemptOutcome::Timeout => Replay::Transient { retry_after_ms: None },
            AttemptOutcome::Response { status: 401, .. } => Replay::Unauthorized,
            AttemptOutcome::Response { status, has_retry_after, retry_after_ms } => match classify_status(status, has_retry_after) {
                StatusClass::Success => Replay::Sent,
                StatusClass::Transient => Replay::Transient { retry_after_ms },
                StatusClass::Permanent => Replay::Rejected(status),
            },
        }
    }
}

/// What to do with the head record after a replay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step {
    /// Delivered: delete it and go on with the next record.
    Delete,
    /// Move it to the dead-letter store and go on with the next record.
    DeadLetter(DeadReason),
    /// Ask the headers function for fresh credentials and replay it once more now.
    RefreshAuth,
    /// Keep it at the head and stop draining until `at_ms`; `auth` is true
    /// when it waits for credentials (the `auth-required` event).
    Wait { at_ms: f64, auth: bool },
}

/// Whether a record created at `created_at_ms` has outlived `max_retention_ms`.
pub fn is_expired(created_at_ms: f64, now_ms: f64, max_retention_ms: f64) -> bool {
    now_ms - created_at_ms > max_retention_ms
}

/// The step after a replay. `attempts` counts every send of this record so
/// far, this one included; `auth_refreshed` is true when this replay already
/// used freshly requested credentials.
pub fn after_replay(replay: Replay, attempts: u32, auth_refreshed: bool, now_ms: f64, random: f64) -> Step {
    let backoff = |attempts: u32| QUEUE_BACKOFF.delay_ms(attempts.max(1), random);
    match replay {
        Replay::Sent => Step::Delete,
        Replay::Rejected(_) => Step::DeadLetter(DeadReason::Rejected),
        Replay::Unauthorized if !auth_refreshed => Step::RefreshAuth,
        Replay::Unauthorized => Step::Wait { at_ms: now_ms + backoff(attempts), auth: true },
        Replay::Transient { retry_after_ms: Some(ms) } => Step::Wait { at_ms: now_ms + ms.min(QUEUE_BACKOFF.max_ms), auth: false },
        Replay::Transient { retry_after_ms: None } => Step::Wait { at_ms: now_ms + backoff(attempts), auth: false },
    }
}

/// The delay before the first replay of a freshly queued record, whose live
/// attempts already failed `attempts` times.
pub fn first_replay_delay(attempts: u32, random: f64) -> f64 {
    QUEUE_BACKOFF.delay_ms(attempts.max(1), random)
}

/// Whether a drain may replay a record due at `next_attempt_at_ms` now.
/// A forced drain (`online`, start-up, `drainQueue()`) ignores the schedule:
/// something changed, so trying at once is right; a timer or a page
/// becoming visible respects it, so a failing server is not hammered.
pub fn is_due(next_attempt_at_ms: f64, now_ms: f64, forced: bool) -> bool {
    forced || next_attempt_at_ms <= now_ms
}

/// The most delivered records one delete transaction removes.
pub const DELETE_RUN_MAX_RECORDS: u32 = 16;

/// How long after the first of them began its replay a run of delivered
/// records is deleted at the latest.
pub const DELETE_RUN_MAX_MS: f64 = 250.0;

/// Whether to delete a run of `delivered` records now, the first of which
/// began its replay at `first_sent_at_ms`. Deleting each record in its own
/// read-write transaction costs about as much main-thread time as its fetch
/// on a fast network, so delivered records are deleted in runs; the bounds
/// keep what a crash can make the drain resend (with the same keys, which
/// the server replays) to at most 16 records and to what was delivered in
/// the last quarter second. On a slow network every record's round trip
/// passes the time bound, so each is deleted as soon as it is delivered.
pub fn delete_run_now(delivered: u32, first_sent_at_ms: f64, now_ms: f64) -> bool {
    delivered >= DELETE_RUN_MAX_RECORDS || now_ms - first_sent_at_ms >= DELETE_RUN_MAX_MS
}

/// When a drain found another tab draining, how soon to look again (while
/// records remain): the other drain may be finishing just as records arrived.
pub const SKIPPED_RETRY_MS: f64 = 2_000.0;

/// How far beyond one replay's timeout the drain lease reaches.
pub const LEASE_MARGIN_MS: f64 = 30_000.0;

/// Until when a drain lease taken or renewed at `now_ms` holds: long enough
/// to cover one replay (`replay_timeout_ms`) and a margin, so a slow holder
/// keeps it and a crashed tab's lease runs out.
pub const fn lease_until(now_ms: f64, replay_timeout_ms: f64) -> f64 {
    now_ms + replay_timeout_ms + LEASE_MARGIN_MS
}

/// Whether a drain may start now. A forced one (`online`, start-up,
/// `drainQueue()`, the server answering again) always may: something
/// changed. One started by a timer or the page becoming visible waits while
/// the server cannot be reached: the connectivity monitor drains when it can.
pub fn drain_may_start(forced: bool, server_reachable: bool) -> bool {
    forced || server_reachable
}

/// Whether the drain lease (browsers without Web Locks) may be taken by
/// `me` at `now_ms`: it is free, expired, or already `me`'s.
pub fn lease_available(holder: Option<&str>, until_ms: f64, me: &str, now_ms: f64) -> bool {
    holder.is_none() || holder == Some(me) || until_ms <= now_ms
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(status: u16) -> AttemptOutcome {
        AttemptOutcome::Response { status, has_retry_after: false, retry_after_ms: None }
    }

    #[test]
    fn outcomes_map_to_replays() {
        assert_eq!(Replay::from_outcome(&response(201)), Replay::Sent);
        assert_eq!(Replay::from_outcome(&response(401)), Replay::Unauthorized);
        for s in [400, 403, 404, 409, 422] {
            assert_eq!(Replay::from_outcome(&response(s)), Replay::Rejected(s));
        }
        assert_eq!(Replay::from_outcome(&AttemptOutcome::Network), Replay::Transient { retry_after_ms: None });
        assert_eq!(Replay::from_outcome(&AttemptOutcome::Timeout), Replay::Transient { retry_after_ms: None });
        let busy = AttemptOutcome::Response { status: 409, has_retry_after: true, retry_after_ms: Some(2_000.0) };
        assert_eq!(Replay::from_outcome(&busy), Replay::Transient { retry_after_ms: Some(2_000.0) });
        assert_eq!(Replay::from_outcome(&response(503)), Replay::Transient { retry_after_ms: None });
    }

    #[test]
    fn success_deletes_and_rejection_dead_letters() {
        assert_eq!(after_replay(Replay::Sent, 1, false, 0.0, 0.5), Step::Delete);
        assert_eq!(after_replay(Replay::Rejected(422), 1, false, 0.0, 0.5), Step::DeadLetter(DeadReason::Rejected));
    }

    #[test]
    fn unauthorized_refreshes_once_then_waits_for_auth() {
        assert_eq!(after_replay(Replay::Unauthorized, 1, false, 0.0, 0.0), Step::RefreshAuth);
        assert_eq!(after_replay(Replay::Unauthorized, 2, true, 10_000.0, 0.0), Step::Wait { at_ms: 11_000.0, auth: true });
    }

    #[test]
    fn transient_failures_back_off_up_to_five_minutes() {
        let at = |attempts| match after_replay(Replay::Transient { retry_after_ms: None }, attempts, false, 0.0, 0.999_999) {
            Step::Wait { at_ms, auth: false } => at_ms.round(),
            other => panic!("{other:?}"),
        };
        assert_eq!(at(1), 1_000.0);
        assert_eq!(at(2), 2_000.0);
        assert_eq!(at(3), 4_000.0);
        assert_eq!(at(20), 300_000.0);
        // Jitter keeps it within the upper half of the step.
        let low = after_replay(Replay::Transient { retry_after_ms: None }, 3, false, 0.0, 0.0);
        assert_eq!(low, Step::Wait { at_ms: 2_000.0, auth: false });
    }

    #[test]
    fn retry_after_sets_the_next_attempt_capped() {
        let r = |ms| after_replay(Replay::Transient { retry_after_ms: Some(ms) }, 1, false, 100.0, 0.5);
        assert_eq!(r(3_000.0), Step::Wait { at_ms: 3_100.0, auth: false });
        assert_eq!(r(86_400_000.0), Step::Wait { at_ms: 300_100.0, auth: false });
    }

    #[test]
    fn expiry_is_strictly_after_the_retention() {
        let week = 7.0 * 24.0 * 3_600_000.0;
        assert!(!is_expired(0.0, week, week));
        assert!(is_expired(0.0, week + 1.0, week));
    }

    #[test]
    fn due_unless_scheduled_later_and_not_forced() {
        assert!(is_due(100.0, 100.0, false));
        assert!(!is_due(101.0, 100.0, false));
        assert!(is_due(10_000.0, 100.0, true));
    }

    #[test]
    fn delivered_records_are_deleted_in_runs_of_at_most_16_or_a_quarter_second() {
        // A fast network: the count bound closes the run.
        assert!(!delete_run_now(1, 1_000.0, 1_003.0));
        assert!(!delete_run_now(15, 1_000.0, 1_045.0));
        assert!(delete_run_now(16, 1_000.0, 1_048.0));
        // A slow one: the first record's own round trip passes the time bound.
        assert!(delete_run_now(1, 1_000.0, 1_250.0));
        assert!(!delete_run_now(1, 1_000.0, 1_249.0));
    }

    #[test]
    fn the_lease_covers_a_replay_and_a_margin() {
        assert_eq!(lease_until(1_000.0, 60_000.0), 91_000.0);
    }

    #[test]
    fn only_a_forced_drain_starts_while_the_server_cannot_be_reached() {
        assert!(drain_may_start(true, false));
        assert!(drain_may_start(false, true));
        assert!(!drain_may_start(false, false));
    }

    #[test]
    fn the_lease_is_taken_when_free_expired_or_already_held() {
        assert!(lease_available(None, 0.0, "a", 10.0));
        assert!(lease_available(Some("a"), 100.0, "a", 10.0));
        assert!(!lease_available(Some("b"), 100.0, "a", 10.0));
        assert!(lease_available(Some("b"), 10.0, "a", 10.0));
    }

    #[test]
    fn reasons_have_stable_names() {
        assert_eq!(DeadReason::Expired.as_str(), "expired");
        assert_eq!(DeadReason::Rejected.as_str(), "rejected");
        assert_eq!(DeadReason::Undecodable.as_str(), "undecodable");
    }
}
