//! Counterexamples as a reader follows them: one line per step saying who
//! did what, then what the outbox, the dead letters, the server and the
//! network hold after it.

use std::fmt::Write;

use stateright::{Path, Property};

use crate::network::{Answer, Sender, Tag};
use crate::protocol::{Action, Protocol};
use crate::world::{CallPhase, World};

/// A counterexample of `property`, numbered, with the state after every
/// step, up to the first state that breaks the property.
pub fn render(protocol: &Protocol, property: &Property<Protocol>, path: Path<World, Action>) -> String {
    let mut steps = path.into_vec();
    if let Some(first_broken) = steps.iter().position(|(state, _)| !(property.condition)(protocol, state)) {
        steps.truncate(first_broken + 1);
    }
    let mut out = String::new();
    let _ = writeln!(out, "    start: {}", summary(&steps[0].0));
    for (n, pair) in steps.windows(2).enumerate() {
        let (before, action) = &pair[0];
        let after = &pair[1].0;
        let action = action.as_ref().expect("every step but the last has an action");
        let _ = writeln!(out, "{:>4}. {}", n + 1, describe(before, action, after));
        let _ = writeln!(out, "          {}", summary(after));
    }
    out
}

fn tag(tag: &Tag) -> String {
    let by = match tag.by {
        Sender::Call => "live call",
        Sender::Drain => "drain",
    };
    format!("{} {by}, sale {} send #{}", tag.client.name(), tag.sale, tag.attempt)
}

fn answer(answer: Answer) -> &'static str {
    match answer {
        Answer::Created => "201",
        Answer::KeyInFlight => "409 + Retry-After",
        Answer::ConnectionFailed => "connection failed",
    }
}

/// What a drain's step did, read from the states before and after it.
fn drain_step(before: &World, after: &World, tab: u8) -> String {
    let page = &before.pages[tab as usize];
    let was = page.drain.as_ref().expect("a drain steps");
    let Some(now) = after.pages[tab as usize].drain.as_ref() else { return "drain ends, releasing the lock or lease".into() };
    if let (None, Some(sent)) = (was.sending, now.sending) {
        let owner = before.store.records.iter().find(|r| r.sale == sent.sale).and_then(|r| r.owner);
        let owner = owner.map_or("no owner".into(), |o| format!("owner {}", o.name()));
        return format!("drain replays sale {} ({owner}) with its key, send #{}", sent.sale, sent.attempts);
    }
    if let Some(dead) = after.store.dead_letters.get(before.store.dead_letters.len()) {
        return format!("drain moves sale {} to the dead-letter store ({})", dead.sale, dead.reason);
    }
    if now.deleting.len() > was.deleting.len() {
        return format!("drain starts deleting its run {:?}", now.deleting);
    }
    if now.stopping && !was.stopping {
        return "drain stops reading (queue done, or its next record is not due)".into();
    }
    let skipped = before.store.records.iter().find(|r| Some(r.id) == now.cursor).map_or(0, |r| r.sale);
    format!("drain skips sale {skipped}: its owner's live call is running")
}

/// One step in words.
fn describe(world: &World, action: &Action, after: &World) -> String {
    let page = |tab: &u8| world.pages[*tab as usize].id.name();
    match action {
        Action::Checkout { tab } => format!("cashier in {} completes sale {}", page(tab), world.sales_made),
        Action::Attempt { tab, sale } if !world.online => format!("{}: live call of sale {} attempts while offline: fails at once", page(tab), sale),
        Action::Attempt { tab, sale } => format!("{}: live call of sale {} sends an attempt", page(tab), sale),
        Action::CallTimesOut { tab, sale, early } => {
            format!("{}: live call of sale {} times out{}", page(tab), sale, if *early { " (its answer was still coming)" } else { "" })
        }
        Action::RemoveCommits { tab, sale } => format!("{}: delete of sale {}'s record commits (call finished)", page(tab), sale),
        Action::DrainStarts { tab } => format!("{}: a drain starts", page(tab)),
        Action::DrainSteps { tab } => format!("{}: {}", page(tab), drain_step(world, after, *tab)),
        Action::ReplayTimesOut { tab, early } => {
            format!("{}: drain's replay times out{}", page(tab), if *early { " (its answer was still coming)" } else { "" })
        }
        Action::DeletesCommit { tab } => format!("{}: drain's delete run commits", page(tab)),
        Action::PageDies { tab } => format!("{} dies", page(tab)),
        Action::PageOpens { tab } => format!("a new page opens in tab {tab}"),
        Action::RequestArrives(t) => format!("request reaches the server ({})", tag(t)),
        Action::RequestLost(t) => format!("request lost before the server ({})", tag(t)),
        Action::SaleCommits(t) => format!("server commits the sale and answers 201 ({})", tag(t)),
        Action::ResponseArrives(r) => format!("{} reaches {}", answer(r.answer), tag(&r.tag)),
        Action::ResponseLost(r) => format!("{} for {} is lost", answer(r.answer), tag(&r.tag)),
        Action::ServerKilled => "server killed".into(),
        Action::ServerRestarts => "server restarts".into(),
        Action::StoredResponsesPurged => "server purges its stored responses (TTL)".into(),
        Action::GoesOffline => "browser goes offline".into(),
        Action::ComesOnline => "browser back online".into(),
        Action::ClockAdvances { to, stall } => format!("clock moves to {to} ms{}", if *stall { " while work is under way (stall)" } else { "" }),
        Action::WaitsPastRetention => "everything waits past maxRetention".into(),
    }
}

/// The state in one line.
fn summary(world: &World) -> String {
    let records: Vec<String> = world
        .store
        .records
        .iter()
        .map(|r| format!("sale {} owner {}", r.sale, r.owner.map_or("none".into(), |o| o.name())))
        .collect();
    let dead: Vec<String> = world.store.dead_letters.iter().map(|d| format!("sale {} ({})", d.sale, d.reason)).collect();
    let executed: Vec<String> = world.server.executions.iter().enumerate().filter(|(_, n)| **n > 0).map(|(s, n)| format!("sale {s}×{n}")).collect();
    let calls: Vec<String> = world
        .pages
        .iter()
        .filter(|p| p.alive)
        .flat_map(|p| p.calls.iter().map(move |c| (p.id, c)))
        .map(|(id, c)| {
            let phase = match c.phase {
                CallPhase::Ready => "ready",
                CallPhase::Awaiting => "awaiting",
                CallPhase::Removing => "removing",
            };
            format!("{} sale {} {phase}", id.name(), c.sale)
        })
        .collect();
    let drains: Vec<String> = world
        .pages
        .iter()
        .filter(|p| p.alive)
        .filter_map(|p| p.drain.as_ref().map(|d| (p.id, d)))
        .map(|(id, d)| {
            let sending = d.sending.map_or(String::new(), |s| format!(" awaiting sale {}", s.sale));
            format!("{}{sending} run {:?} deleting {:?}", id.name(), d.run, d.deleting)
        })
        .collect();
    let requests = world.network.requests.iter().map(|t| format!("request {}", tag(t)));
    let responses = world.network.responses.iter().map(|r| format!("{} for {}", answer(r.answer), tag(&r.tag)));
    let wire: Vec<String> = requests.chain(responses).collect();
    format!(
        "t={}ms{}{} | outbox [{}] | dead [{}] | executed [{}] | calls [{}] | drains [{}] | wire [{}]",
        world.now,
        if world.online { "" } else { " OFFLINE" },
        if world.server.up { "" } else { " SERVER DOWN" },
        records.join(", "),
        dead.join(", "),
        executed.join(", "),
        calls.join(", "),
        drains.join(", "),
        wire.join(", "),
    )
}
