//! Who may send a stored write, decided without a browser.
//!
//! Every write that could wait in the outbox is stored there *before* its
//! first attempt (write-ahead), marked with the id of the client whose live
//! call sends it: its owner. While that call runs, no drain sends the record
//! (the call is sending it); when the call ends, its record is removed (a
//! final answer reached the caller) or released to the drains (the attempts
//! gave up). When the owner's page dies mid-call, the record is left owned
//! by a client that no longer exists; any drain may then send it, with its
//! stored key, so the server replays it if the first send had landed.
//!
//! An owner is known to be alive by a Web Lock it holds for its lifetime
//! (released by the browser when the page dies), or, where Web Locks are
//! missing, by a heartbeat it renews in IndexedDB while it has live calls.

/// How often a client with live calls renews its heartbeat (browsers
/// without Web Locks).
pub const HEARTBEAT_INTERVAL_MS: f64 = 2_000.0;

/// How long a heartbeat vouches for its client. A dead page's records become
/// drainable at most this long after its last renewal; a live page renews
/// well within it, even with a busy main thread.
pub const HEARTBEAT_TTL_MS: f64 = 6_000.0;

/// The owner of a stored record as a drain sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Owner {
    /// No live call holds it: queued for the drains.
    None,
    /// This client owns it; `live` while its call is running (or its
    /// removal after a final answer has not committed yet).
    ThisClient { live: bool },
    /// Another client (another tab, worker or an earlier page) owns it;
    /// `alive` when that client is known to be running.
    Other { alive: bool },
}

impl Owner {
    /// Classifies a record's stored `owner` field. `owner_alive` is asked
    /// only about a foreign owner; `live_here` only about this client's.
    pub fn of(stored: Option<&str>, me: &str, live_here: impl FnOnce() -> bool, owner_alive: impl FnOnce(&str) -> bool) -> Owner {
        match stored {
            None => Owner::None,
            Some(id) if id == me => Owner::ThisClient { live: live_here() },
            Some(id) => Owner::Other { alive: owner_alive(id) },
        }
    }
}

/// What a drain does with a record, given its owner.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Claim {
    /// Nobody else is sending it: the drain may replay it now.
    Drain,
    /// A live call is sending it: leave it alone and go on with the next
    /// record. `watch` is true when the owner is another client, whose end
    /// (death or release) should trigger a new drain.
    Skip { watch: bool },
}

/// The drain's rule: a record owned by a live call is never sent by a
/// drain; anything else (free, released, or orphaned by a dead owner) is.
pub fn claim(owner: Owner) -> Claim {
    match owner {
        Owner::None | Owner::ThisClient { live: false } | Owner::Other { alive: false } => Claim::Drain,
        Owner::ThisClient { live: true } => Claim::Skip { watch: false },
        Owner::Other { alive: true } => Claim::Skip { watch: true },
    }
}

/// How a live call that wrote its record ahead ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CallEnd {
    /// A success, or a failure retrying cannot fix, was returned to the
    /// caller: the server has answered for this operation.
    Final,
    /// The attempts gave up on a network error, a timeout or a transient
    /// status (or the browser is offline): the server's answer is unknown.
    GaveUp,
}

/// What happens to a written-ahead record when its call ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RecordFate {
    /// Delete it: the caller has the final answer.
    Remove,
    /// Keep it, without an owner, for the drains to send with its key; the
    /// call rejects with `queued`.
    Release,
}

/// The fate of a written-ahead record when its call ends.
pub fn fate(end: CallEnd) -> RecordFate {
    match end {
        CallEnd::Final => RecordFate::Remove,
        CallEnd::GaveUp => RecordFate::Release,
    }
}

/// Whether a heartbeat valid until `until_ms` still vouches for its owner.
pub fn heartbeat_alive(until_ms: Option<f64>, now_ms: f64) -> bool {
    until_ms.is_some_and(|until| until > now_ms)
}

/// Whether a client that last wrote its heartbeat at `written_at_ms` must
/// write it again before (or alongside) its next write-ahead.
pub fn heartbeat_due(written_at_ms: Option<f64>, now_ms: f64) -> bool {
    written_at_ms.is_none_or(|at| now_ms - at >= HEARTBEAT_INTERVAL_MS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(stored: Option<&str>, live_here: bool, foreign_alive: bool) -> Owner {
        Owner::of(stored, "me", || live_here, |_| foreign_alive)
    }

    #[test]
    fn a_live_call_keeps_its_record_from_every_drain() {
        assert_eq!(claim(owner(Some("me"), true, false)), Claim::Skip { watch: false });
        assert_eq!(claim(owner(Some("tab-2"), false, true)), Claim::Skip { watch: true });
    }

    #[test]
    fn free_released_and_orphaned_records_are_drained() {
        assert_eq!(claim(owner(None, true, true)), Claim::Drain);
        assert_eq!(claim(owner(Some("me"), false, true)), Claim::Drain);
        assert_eq!(claim(owner(Some("dead-tab"), true, false)), Claim::Drain);
    }

    #[test]
    fn liveness_is_asked_only_of_the_owner_it_concerns() {
        let mine = Owner::of(Some("me"), "me", || true, |_| panic!("a foreign check for our own record"));
        assert_eq!(mine, Owner::ThisClient { live: true });
        let theirs = Owner::of(Some("x"), "me", || panic!("a local check for a foreign record"), |id| id == "x");
        assert_eq!(theirs, Owner::Other { alive: true });
    }

    #[test]
    fn a_final_answer_removes_the_record_and_giving_up_releases_it() {
        assert_eq!(fate(CallEnd::Final), RecordFate::Remove);
        assert_eq!(fate(CallEnd::GaveUp), RecordFate::Release);
    }

    #[test]
    fn heartbeats_expire_and_are_renewed_before_they_do() {
        assert!(heartbeat_alive(Some(1_001.0), 1_000.0));
        assert!(!heartbeat_alive(Some(1_000.0), 1_000.0));
        assert!(!heartbeat_alive(None, 1_000.0));
        assert!(heartbeat_due(None, 0.0));
        assert!(!heartbeat_due(Some(1_000.0), 1_000.0 + HEARTBEAT_INTERVAL_MS - 1.0));
        assert!(heartbeat_due(Some(1_000.0), 1_000.0 + HEARTBEAT_INTERVAL_MS));
        const { assert!(HEARTBEAT_INTERVAL_MS * 2.0 < HEARTBEAT_TTL_MS) };
    }
}
