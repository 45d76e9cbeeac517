//! Whether the server can be reached, decided without a browser.
//!
//! `navigator.onLine` only says whether the device has a network: on a shop
//! Wi-Fi without uplink, behind a captive portal, or with the POS server down
//! it says "online" while every request times out. With a health URL
//! configured, the client probes it when a request fails without a response,
//! and on a backoff while the server does not answer; it then knows three
//! states instead of two. Without one it trusts the browser.

use crate::backoff::Backoff;
use crate::retry::AttemptOutcome;

/// What the client knows of its connection to the server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connectivity {
    /// The browser reports a network and the server answered its last probe
    /// (or was never doubted).
    Online,
    /// The browser reports no network.
    Offline,
    /// The browser reports a network, but the server did not answer the
    /// last probe.
    Unreachable,
}

impl Connectivity {
    /// The name JavaScript sees (`"online"`, `"offline"`, `"unreachable"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Connectivity::Online => "online",
            Connectivity::Offline => "offline",
            Connectivity::Unreachable => "unreachable",
        }
    }
}

/// The state from the browser's word and the last probe's verdict.
pub fn connectivity(browser_online: bool, server_answering: bool) -> Connectivity {
    match (browser_online, server_answering) {
        (false, _) => Connectivity::Offline,
        (true, false) => Connectivity::Unreachable,
        (true, true) => Connectivity::Online,
    }
}

/// Delays between probes while the server does not answer: 1 s, 2 s, 4 s …
/// up to 30 s, jittered so that tills do not probe in step.
pub const PROBE_BACKOFF: Backoff = Backoff { base_ms: 1_000.0, max_ms: 30_000.0, jitter: true };


/// How often the browser's word is looked at again while it reports no
/// network. Workers get no `online` event (Chromium fires none on a
/// worker's global scope), so this is how they notice the network is back.
pub const OFFLINE_RECHECK_MS: f64 = 3_000.0;

/// What the monitor does next.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Next {
    /// Nothing: the server is reachable.
    Rest,
    /// Look at the browser's word again after this many ms (no request).
    Recheck(f64),
    /// Probe the health URL after this many ms.
    Probe(f64),
}

/// The monitor's next step in state `now`, after `failures` unanswered
/// probes in a row. Without a health URL there is nothing to probe, and a
/// server that never answered a probe is not known to be unreachable.
pub fn next_step(now: Connectivity, has_health_url: bool, failures: u32, random: f64) -> Next {
    match now {
        Connectivity::Online => Next::Rest,
        Connectivity::Offline => Next::Recheck(OFFLINE_RECHECK_MS),
        Connectivity::Unreachable if has_health_url => Next::Probe(PROBE_BACKOFF.delay_ms(failures.max(1), random)),
        Connectivity::Unreachable => Next::Rest,
    }
}

/// Whether a failed attempt puts the server in doubt, worth a probe now: no
/// response at all while the browser reports a network. (A response, even
/// a 503, proves the server reachable.)
pub fn puts_server_in_doubt(outcome: &AttemptOutcome, browser_online: bool) -> bool {
    browser_online && matches!(outcome, AttemptOutcome::Network | AttemptOutcome::Timeout)
}

/// Whether a write that may wait in the outbox goes there at once, without
/// an attempt: when the browser reports no network, or the server is known
/// not to answer. Waiting out a 60 s timeout per attempt would only hold
/// the cashier.
pub fn queue_without_trying(now: Connectivity) -> bool {
    now != Connectivity::Online
}

/// Whether a call that may wait in the outbox stops retrying now (before
/// its next wait), because the server is known not to answer.
pub fn stop_retrying(now: Connectivity, queueable: bool) -> bool {
    queueable && now == Connectivity::Unreachable
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn three_states_from_two_signals() {
        assert_eq!(connectivity(false, true), Connectivity::Offline);
        assert_eq!(connectivity(false, false), Connectivity::Offline);
        assert_eq!(connectivity(true, false), Connectivity::Unreachable);
        assert_eq!(connectivity(true, true), Connectivity::Online);
        assert_eq!(Connectivity::Unreachable.as_str(), "unreachable");
    }

    #[test]
    fn a_reachable_server_is_never_probed() {
        assert_eq!(next_step(Connectivity::Online, true, 0, 0.5), Next::Rest);
    }

    #[test]
    fn offline_rechecks_the_browser_without_requests() {
        assert_eq!(next_step(Connectivity::Offline, true, 3, 0.5), Next::Recheck(OFFLINE_RECHECK_MS));
        assert_eq!(next_step(Connectivity::Offline, false, 0, 0.5), Next::Recheck(OFFLINE_RECHECK_MS));
    }

    #[test]
    fn an_unreachable_server_is_probed_on_a_backoff() {
        let at = |failures| match next_step(Connectivity::Unreachable, true, failures, 0.999_999) {
            Next::Probe(ms) => ms.round(),
            other => panic!("{other:?}"),
        };
        assert_eq!(at(1), 1_000.0);
        assert_eq!(at(2), 2_000.0);
        assert_eq!(at(3), 4_000.0);
        assert_eq!(at(10), 30_000.0);
        assert_eq!(next_step(Connectivity::Unreachable, false, 1, 0.5), Next::Rest);
    }

    #[test]
    fn only_a_missing_response_puts_the_server_in_doubt() {
        assert!(puts_server_in_doubt(&AttemptOutcome::Timeout, true));
        assert!(puts_server_in_doubt(&AttemptOutcome::Network, true));
        assert!(!puts_server_in_doubt(&AttemptOutcome::Network, false));
        let unavailable = AttemptOutcome::Response { status: 503, has_retry_after: false, retry_after_ms: None };
        assert!(!puts_server_in_doubt(&unavailable, true));
    }

    #[test]
    fn only_a_write_that_may_wait_stops_retrying_when_the_server_does_not_answer() {
        assert!(stop_retrying(Connectivity::Unreachable, true));
        assert!(!stop_retrying(Connectivity::Unreachable, false));
        assert!(!stop_retrying(Connectivity::Online, true));
        assert!(!stop_retrying(Connectivity::Offline, true), "offline: the attempt failing is what tells");
    }

    #[test]
    fn writes_go_straight_to_the_outbox_unless_online() {
        assert!(!queue_without_trying(Connectivity::Online));
        assert!(queue_without_trying(Connectivity::Offline));
        assert!(queue_without_trying(Connectivity::Unreachable));
    }
}
