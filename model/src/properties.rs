//! The promises checked, each named after what it promises.
//!
//! `always` properties hold in every reachable state. The eventual promise
//! (with fair scheduling, the network and the server back, closed tabs
//! reopened and no more faults) is checked in every settled state: one
//! where the system has nothing left to do by itself. Every fault is
//! bounded and time only moves to a deadline ahead, so every fair run ends
//! in a settled state. The `sometimes` properties show that the hard cases
//! are reached at all, so the promises are not kept vacuously.

use stateright::Property;

use crate::protocol::Protocol;
use crate::world::World;

/// Every promise, then every situation that must be reached.
pub fn all() -> Vec<Property<Protocol>> {
    vec![
        Property::always("no sale is executed twice at the server", |_, w: &World| w.server.executions.iter().all(|n| *n <= 1)),
        Property::always("no record is both queued and dead-lettered", |_, w: &World| {
            w.store.records.iter().all(|r| w.store.dead_letters.iter().all(|d| d.sale != r.sale))
        }),
        Property::always("a drain never sends a record owned by a live call", |_, w: &World| !w.history.breaches.drained_a_live_record),
        Property::always("no delivered record is replayed after its delete committed", |_, w: &World| {
            !w.history.breaches.replayed_after_delete
        }),
        Property::always("a record leaves the outbox only after an answer for it arrived", |_, w: &World| {
            !w.history.breaches.deleted_before_answer
        }),
        Property::always("one drainer per origin at a time", |_, w: &World| !w.history.breaches.two_drainers),
        Property::always("every sale ends executed exactly once or dead-lettered with its reason", |m: &Protocol, w: &World| {
            every_sale_accounted_for(w) || !m.settled(w)
        }),
        Property::always("the outbox ends empty", |m: &Protocol, w: &World| w.store.records.is_empty() || !m.settled(w)),
        Property::sometimes("a retry after the stored response was purged is answered from the sale row", |_, w: &World| {
            w.history.replayed_from_row
        }),
        Property::sometimes("a drain skips a record its live call is sending", |_, w: &World| w.history.skipped_a_live_record),
        Property::sometimes("a drain sends a record its dead owner wrote ahead", |_, w: &World| w.history.drained_an_orphan),
        Property::sometimes("a delivered record whose delete never committed is replayed", |_, w: &World| {
            w.history.replayed_an_undeleted_delivery
        }),
        Property::sometimes("a drain takes the lease over from a slower drain", |_, w: &World| w.history.lease_taken_over),
        Property::sometimes("a record is dead-lettered", |_, w: &World| !w.store.dead_letters.is_empty()),
    ]
}

/// Every sale made was executed exactly once, or its record is in the
/// dead-letter store (with a reason, which every dead letter has).
fn every_sale_accounted_for(w: &World) -> bool {
    (0..w.sales_made).all(|sale| w.server.executions[sale as usize] == 1 || w.store.dead_letters.iter().any(|d| d.sale == sale))
}
