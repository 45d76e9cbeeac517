//! The pages of one origin running the SDK: live calls (write-ahead,
//! attempts, the retry decision, the record's fate when the call ends) and
//! drains (one per origin under the Web Lock or the lease, records oldest
//! first, ownership, expiry, the replay policy, delete runs). Page deaths
//! and start-ups. Every decision is the SDK's own function.

use pos_resilience::outbox::ownership::{fate, heartbeat_alive, CallEnd, Claim, Owner, RecordFate, HEARTBEAT_TTL_MS};
use pos_resilience::outbox::policy::{self, after_replay, delete_run_now, first_replay_delay, is_due, is_expired, lease_until, DeadReason, Replay, Step};
use pos_resilience::retry::{AttemptOutcome, Decision};

use crate::network::{Sender, Tag};
use crate::protocol::{Exclusion, Protocol};
use crate::world::{CallPhase, ClientId, Drain, LiveCall, Millis, Page, Record, Replaying, Sale, World};

/// The uniform random number handed to the jittered delays. Timers in the
/// model fire in every order anyway; the value only fixes the clock readings.
pub const JITTER_RANDOM: f64 = 0.0;

/// The replay timeout the SDK's drain leases are sized for: its default
/// per-attempt timeout.
const REPLAY_TIMEOUT_MS: f64 = pos_resilience::defaults::TIMEOUT_MS;

/// How long a lease lasts from its taking: the SDK's `lease_until`.
pub const LEASE_MS: Millis = lease_until(0.0, REPLAY_TIMEOUT_MS) as Millis;

/// When a drain found another one holding the lock or lease, it looks
/// again this much later while records remain: the SDK's constant.
pub const SKIPPED_RETRY_MS: Millis = policy::SKIPPED_RETRY_MS as Millis;

fn ms(at: f64) -> Millis {
    at.ceil() as Millis
}

/// Whether client `id` is known to be running: its lifetime Web Lock, or,
/// without Web Locks, its heartbeat, which a running page renews in time
/// and a dead page stops renewing.
pub fn client_alive(protocol: &Protocol, world: &World, id: ClientId) -> bool {
    if world.pages.iter().any(|p| p.alive && p.id == id) {
        return true;
    }
    match protocol.exclusion {
        Exclusion::WebLocks => false,
        Exclusion::Lease => {
            let last_renewal = world.obituaries.iter().find(|(dead, _)| *dead == id).map(|(_, at)| *at);
            heartbeat_alive(last_renewal.map(|at| (at as f64) + HEARTBEAT_TTL_MS), world.now as f64)
        }
    }
}

/// Whether `sale` is being sent by a live call of a running page.
fn live_call_sends(world: &World, sale: Sale) -> bool {
    world.pages.iter().any(|p| p.alive && p.calls.iter().any(|c| c.sale == sale))
}

/// The cashier completes the next sale in tab `tab`.
pub fn checkout(protocol: &Protocol, world: &mut World, tab: usize) {
    let sale = world.sales_made;
    world.sales_made += 1;
    let now = world.now;
    let me = world.pages[tab].id;
    if !world.online {
        world.store.append(sale, None, now, 0, now);
        enqueued(&mut world.pages[tab]);
        return;
    }
    let written_ahead = protocol.mutant.writes_ahead();
    if written_ahead {
        world.store.append(sale, Some(me), now, 0, now);
    }
    world.pages[tab].calls.push(LiveCall { sale, attempts: 0, phase: CallPhase::Ready, written_ahead });
}

/// A record this page stored while its drain may have read past it: drain again after.
fn enqueued(page: &mut Page) {
    if page.drain.is_some() {
        page.want_drain(false);
    }
}

/// The live call of `sale` makes its next attempt.
pub fn attempt(protocol: &Protocol, world: &mut World, tab: usize, sale: Sale) {
    let page = &mut world.pages[tab];
    let me = page.id;
    let call = page.call_mut(sale).expect("a ready call");
    call.attempts += 1;
    if !world.online {
        call_decides(protocol, world, tab, sale, AttemptOutcome::Network);
        return;
    }
    call.phase = CallPhase::Awaiting;
    let attempt = call.attempts;
    world.network.send(Tag { client: me, by: Sender::Call, sale, attempt });
}

/// The live call of `sale` learns how its attempt ended and asks the retry policy.
pub fn call_decides(protocol: &Protocol, world: &mut World, tab: usize, sale: Sale, outcome: AttemptOutcome) {
    let page = &mut world.pages[tab];
    let call = page.call_mut(sale).expect("a running call");
    let end = match protocol.retry.decide(call.attempts, &outcome, JITTER_RANDOM, None) {
        Decision::RetryAfter(_) => {
            call.phase = CallPhase::Ready;
            return;
        }
        Decision::Finish => CallEnd::Final,
        Decision::GiveUp(_) => CallEnd::GaveUp,
    };
    match fate(end) {
        RecordFate::Remove if call.written_ahead => call.phase = CallPhase::Removing,
        RecordFate::Remove => page.calls.retain(|c| c.sale != sale),
        RecordFate::Release => release(world, tab, sale),
    }
}

/// A call gave up: its record goes to the drains, due after the queue's
/// first backoff, and the call rejects with `queued`.
fn release(world: &mut World, tab: usize, sale: Sale) {
    let now = world.now;
    let page = &mut world.pages[tab];
    let at = page.calls.iter().position(|c| c.sale == sale).expect("the call");
    let call = page.calls.remove(at);
    let next = now + ms(first_replay_delay(call.attempts, JITTER_RANDOM));
    if call.written_ahead {
        if let Some(record) = world.store.record_mut(sale) {
            record.owner = None;
            record.attempts = call.attempts;
            record.next_attempt_at = next;
        }
    } else {
        world.store.append(sale, None, now, call.attempts, next);
    }
    page.schedule(next);
    enqueued(page);
    let me = page.id;
    owner_ended(world, me);
}

/// The owner `id` released a record or died: the drains that skipped its
/// records and watch it start again.
fn owner_ended(world: &mut World, id: ClientId) {
    for page in world.pages.iter_mut().filter(|p| p.alive && p.watching.contains(&id)) {
        page.watching.retain(|w| *w != id);
        page.want_drain(false);
    }
}

/// The delete of a finished call's record commits; the call is over.
pub fn remove_commits(world: &mut World, tab: usize, sale: Sale) {
    delete_record(world, sale);
    world.pages[tab].calls.retain(|c| c.sale != sale);
}

/// Deletes the record of `sale`, noting what the properties need.
fn delete_record(world: &mut World, sale: Sale) {
    world.store.records.retain(|r| r.sale != sale);
    let history = &mut world.history;
    if history.answered[sale as usize] {
        history.deleted[sale as usize] = true;
    } else {
        history.breaches.deleted_before_answer = true;
    }
}

/// `me` takes or renews the drain lease, possibly from a slower drain whose lease ran out.
fn take_lease(world: &mut World, me: ClientId) {
    world.store.lease = Some((me, world.now + LEASE_MS));
    world.history.lease_taken_over |= world.pages.iter().any(|p| p.alive && p.id != me && p.drain.is_some());
}

/// Whether tab `tab` may start a drain now: it was asked for one, or its timer ran out.
pub fn drain_may_start(world: &World, tab: usize) -> bool {
    let page = &world.pages[tab];
    page.alive && page.drain.is_none() && (page.drain_wanted.is_some() || page.timer_at.is_some_and(|t| t <= world.now))
}

/// Tab `tab` starts a drain: it takes the origin's Web Lock or lease, or,
/// finding another drain running, looks again shortly.
pub fn drain_starts(protocol: &Protocol, world: &mut World, tab: usize) {
    let now = world.now;
    let page = &mut world.pages[tab];
    let forced = page.drain_wanted == Some(true);
    page.drain_wanted = None;
    if page.timer_at.is_some_and(|t| t <= now) {
        page.timer_at = None;
    }
    // A timer does not drain while the browser says it is offline: `online` will.
    if !policy::drain_may_start(forced, world.online) {
        return;
    }
    let me = page.id;
    let exclusive_until = match protocol.exclusion {
        Exclusion::WebLocks if protocol.mutant.lock_granted(&world.drain_lock) => {
            world.drain_lock.push(me);
            world.drain_lock.sort();
            Some(Millis::MAX)
        }
        Exclusion::Lease if protocol.mutant.lease_available(world.store.lease, me, now) => {
            take_lease(world, me);
            Some(now + LEASE_MS)
        }
        _ => None,
    };
    let page = &mut world.pages[tab];
    match exclusive_until {
        Some(exclusive_until) => {
            page.drain = Some(Drain {
                forced,
                exclusive_until,
                cursor: None,
                sending: None,
                run: vec![],
                run_first_sent_at: 0,
                deleting: vec![],
                stopping: false,
            })
        }
        None if !world.store.records.is_empty() => page.schedule(now + SKIPPED_RETRY_MS),
        None => {}
    }
}


/// Tab `tab`'s drain takes its next step: it finishes once stopped, or
/// takes the next record: expired, it goes to the dead-letter store; owned
/// by a live call, it is skipped; not due, the drain stops until its time;
/// otherwise it is replayed with its stored key. False when the step must
/// first wait for the drain's delete to commit.
pub fn drain_steps(protocol: &Protocol, world: &mut World, tab: usize) -> bool {
    let now = world.now;
    let me = world.pages[tab].id;
    let drain = world.pages[tab].drain.as_ref().expect("a drain");
    if drain.stopping {
        return drain_finishes(world, tab);
    }
    let Some(record) = world.store.records.iter().find(|r| drain.cursor.is_none_or(|c| r.id > c)).cloned() else {
        drain_mut(world, tab).stopping = true;
        return true;
    };
    if is_expired(record.created_at as f64, now as f64, protocol.max_retention_ms as f64) {
        world.store.bury(record.sale, DeadReason::Expired.as_str());
        drain_mut(world, tab).cursor = Some(record.id);
        return true;
    }
    let live_here = world.pages[tab].calls.iter().any(|c| c.sale == record.sale);
    let owner = Owner::of(record.owner.map(ClientId::name).as_deref(), &me.name(), || live_here, |_| {
        record.owner.is_some_and(|id| client_alive(protocol, world, id))
    });
    match protocol.mutant.claim(owner) {
        Claim::Skip { watch } => {
            let drain = drain_mut(world, tab);
            if !drain.run.is_empty() {
                // A run of deletes never spans a skipped record.
                if !drain.deleting.is_empty() {
                    return false;
                }
                drain.deleting = std::mem::take(&mut drain.run);
            }
            drain.cursor = Some(record.id);
            world.history.skipped_a_live_record = true;
            let page = &mut world.pages[tab];
            match (watch, record.owner, protocol.exclusion) {
                (true, Some(owner), Exclusion::WebLocks) if !page.watching.contains(&owner) => {
                    page.watching.push(owner);
                    page.watching.sort();
                }
                (true, _, Exclusion::Lease) => page.schedule(now + HEARTBEAT_TTL_MS as Millis),
                _ => {}
            }
            true
        }
        Claim::Drain => {
            replay(protocol, world, tab, &record);
            true
        }
    }
}

fn drain_mut(world: &mut World, tab: usize) -> &mut Drain {
    world.pages[tab].drain.as_mut().expect("a drain")
}

/// The drain replays `record`, unless it is not due yet or the lease was lost.
fn replay(protocol: &Protocol, world: &mut World, tab: usize, record: &Record) {
    let now = world.now;
    let me = world.pages[tab].id;
    let forced = drain_mut(world, tab).forced;
    if !is_due(record.next_attempt_at as f64, now as f64, forced) {
        world.pages[tab].schedule(record.next_attempt_at);
        drain_mut(world, tab).stopping = true;
        return;
    }
    if protocol.exclusion == Exclusion::Lease {
        if !protocol.mutant.lease_available(world.store.lease, me, now) {
            drain_mut(world, tab).stopping = true;
            return;
        }
        take_lease(world, me);
        drain_mut(world, tab).exclusive_until = now + LEASE_MS;
    }
    note_replay(world, tab, record);
    let attempts = record.attempts + 1;
    let drain = drain_mut(world, tab);
    drain.sending = Some(Replaying { sale: record.sale, attempts, sent_at: now });
    drain.cursor = Some(record.id);
    if protocol.mutant.deletes_on_send() {
        add_delivered(drain, record.sale, now, now);
    }
    if world.online {
        world.network.send(Tag { client: me, by: Sender::Drain, sale: record.sale, attempt: attempts });
    } else {
        replay_answered(world, tab, AttemptOutcome::Network, protocol.mutant.deletes_on_send());
    }
}

/// Checks a replay against the promises the drain keeps.
fn note_replay(world: &mut World, tab: usize, record: &Record) {
    let now = world.now;
    let sale = record.sale;
    let me = world.pages[tab].id;
    let other_drainer = world.pages.iter().any(|p| p.alive && p.id != me && p.drain.as_ref().is_some_and(|d| d.exclusive_until > now));
    let orphan = record.owner.is_some_and(|id| !world.pages.iter().any(|p| p.alive && p.id == id));
    let live = live_call_sends(world, sale);
    let history = &mut world.history;
    history.breaches.drained_a_live_record |= live;
    history.breaches.replayed_after_delete |= history.deleted[sale as usize];
    history.breaches.two_drainers |= other_drainer;
    history.drained_an_orphan |= orphan;
    history.replayed_an_undeleted_delivery |= history.answered[sale as usize];
}

/// A delivered record joins the drain's run of deletes, which starts when
/// the SDK's rule says so and no other delete of the drain is under way.
fn add_delivered(drain: &mut Drain, sale: Sale, sent_at: Millis, now: Millis) {
    if drain.run.is_empty() {
        drain.run_first_sent_at = sent_at;
    }
    drain.run.push(sale);
    if delete_run_now(drain.run.len() as u32, drain.run_first_sent_at as f64, now as f64) && drain.deleting.is_empty() {
        drain.deleting = std::mem::take(&mut drain.run);
    }
}

/// The drain stopped reading: it starts its last run of deletes, waits for
/// them, then releases the lock or lease. False while a delete is under way.
fn drain_finishes(world: &mut World, tab: usize) -> bool {
    let me = world.pages[tab].id;
    let drain = drain_mut(world, tab);
    if !drain.deleting.is_empty() {
        return false;
    }
    if !drain.run.is_empty() {
        drain.deleting = std::mem::take(&mut drain.run);
        return true;
    }
    world.pages[tab].drain = None;
    world.drain_lock.retain(|id| *id != me);
    if world.store.lease.is_some_and(|(holder, _)| holder == me) {
        world.store.lease = None;
    }
    true
}

/// The replay of tab `tab`'s drain ended with `outcome`; the SDK's replay
/// policy says what becomes of the record.
pub fn replay_answered(world: &mut World, tab: usize, outcome: AttemptOutcome, deletes_on_send: bool) {
    let now = world.now;
    let World { pages, store, .. } = world;
    let page = &mut pages[tab];
    let drain = page.drain.as_mut().expect("a drain");
    let sent = drain.sending.take().expect("a replay");
    match after_replay(Replay::from_outcome(&outcome), sent.attempts, false, now as f64, JITTER_RANDOM) {
        Step::Delete if deletes_on_send => {}
        Step::Delete => add_delivered(drain, sent.sale, sent.sent_at, now),
        Step::DeadLetter(reason) => store.bury(sent.sale, reason.as_str()),
        Step::Wait { at_ms, .. } => {
            let at = ms(at_ms);
            if let Some(record) = store.record_mut(sent.sale) {
                record.attempts = sent.attempts;
                record.next_attempt_at = at;
            }
            drain.stopping = true;
            page.schedule(at);
        }
        Step::RefreshAuth => unreachable!("the model's server never answers 401"),
    }
}

/// The delete transaction of tab `tab`'s drain commits.
pub fn deletes_commit(world: &mut World, tab: usize) {
    let sales = std::mem::take(&mut drain_mut(world, tab).deleting);
    for sale in sales {
        delete_record(world, sale);
    }
}

/// Tab `tab`'s page dies (crash, reload, closed tab): its memory, timers
/// and locks are gone; IndexedDB stays.
pub fn page_dies(world: &mut World, tab: usize) {
    let page = &mut world.pages[tab];
    let id = page.id;
    *page = Page { alive: false, drain_wanted: None, ..Page::start(id) };
    world.drain_lock.retain(|holder| *holder != id);
    world.obituaries.push((id, world.now));
    world.network.forget_responses_to(id);
    owner_ended(world, id);
}

/// A new page loads in dead tab `tab`; starting up, it drains.
pub fn page_opens(world: &mut World, tab: usize) {
    let last = world.pages[tab].id;
    world.pages[tab] = Page::start(ClientId { tab: last.tab, life: last.life + 1 });
}
