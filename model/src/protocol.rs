//! The model: its configuration (bounds, lock or lease, mutant), the
//! actions every component can take, and the stateright `Model` that
//! enumerates them.
//!
//! Actions are split into progress (what the system does by itself when
//! scheduled fairly: sends, arrivals, commits, timers, the network and the
//! server coming back, a closed tab reopened) and faults (what the world
//! does to it, each bounded by the budget: deaths, losses, early timeouts,
//! kills, purges, offline periods, stalls, long waits, and new sales). The
//! clock moves to the next deadline when nothing else can make progress, or
//! earlier as a stall.

use pos_resilience::outbox::ownership::HEARTBEAT_TTL_MS;
use pos_resilience::retry::{AttemptOutcome, RetryPolicy};
use stateright::{Model, Property};

use crate::bounds::{self, Scenario};
use crate::browser;
use crate::mutants::Mutant;
use crate::network::{Answer, Network, Response, Sender, Tag};
use crate::properties;
use crate::server::{Arrival, Server};
use crate::world::{Budget, CallPhase, ClientId, History, Millis, Page, Sale, Store, World};

/// How the drains of one origin exclude each other, and how a record's
/// owner is known to be alive.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exclusion {
    /// Web Locks: the drain lock, and each client's lifetime lock.
    WebLocks,
    /// No Web Locks: the drain lease and the owners' heartbeats in IndexedDB.
    Lease,
}

/// What is checked: the bounds, the browser's exclusion mechanism, the mutant.
#[derive(Clone, Debug)]
pub struct Protocol {
    /// Tabs open on the origin.
    pub tabs: u8,
    /// Sales the cashiers make.
    pub sales: u8,
    /// Faults allowed on every path.
    pub budget: Budget,
    /// The live calls' retry policy.
    pub retry: RetryPolicy,
    /// The outbox's `maxRetention`.
    pub max_retention_ms: Millis,
    /// Web Locks or lease.
    pub exclusion: Exclusion,
    /// The rule turned off, if any.
    pub mutant: Mutant,
}

/// One step of the system.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// The cashier in a tab completes the next sale.
    Checkout { tab: u8 },
    /// A live call sends its next attempt.
    Attempt { tab: u8, sale: Sale },
    /// A live call's attempt times out; `early` when its answer was still coming.
    CallTimesOut { tab: u8, sale: Sale, early: bool },
    /// The delete of a finished call's record commits.
    RemoveCommits { tab: u8, sale: Sale },
    /// A tab starts a drain (asked for, or its timer ran out).
    DrainStarts { tab: u8 },
    /// A tab's drain takes its next step.
    DrainSteps { tab: u8 },
    /// A drain's replay times out; `early` when its answer was still coming.
    ReplayTimesOut { tab: u8, early: bool },
    /// A drain's delete transaction commits.
    DeletesCommit { tab: u8 },
    /// A page dies.
    PageDies { tab: u8 },
    /// A new page loads in a dead tab.
    PageOpens { tab: u8 },
    /// A request reaches the server.
    RequestArrives(Tag),
    /// A request is lost before the server.
    RequestLost(Tag),
    /// A sale's transaction commits and its 201 is sent.
    SaleCommits(Tag),
    /// A response reaches its page.
    ResponseArrives(Response),
    /// A response is lost.
    ResponseLost(Response),
    /// The server process is killed.
    ServerKilled,
    /// The server is back.
    ServerRestarts,
    /// The server purges its stored responses (their TTL passed).
    StoredResponsesPurged,
    /// The browser goes offline.
    GoesOffline,
    /// The browser is back online (`online` fires in every page).
    ComesOnline,
    /// The clock moves to `to`; `stall` when work was still under way.
    ClockAdvances { to: Millis, stall: bool },
    /// Everything waits longer than `maxRetention`.
    WaitsPastRetention,
}

impl Protocol {
    /// The protocol within `scenario`'s bounds, with `mutant`'s rule off.
    pub fn new(scenario: &Scenario, mutant: Mutant) -> Protocol {
        Protocol {
            tabs: bounds::TABS,
            sales: bounds::SALES,
            budget: scenario.budget.clone(),
            retry: RetryPolicy { max_retries: bounds::MAX_RETRIES, ..RetryPolicy::default() },
            max_retention_ms: bounds::MAX_RETENTION_MS,
            exclusion: scenario.exclusion,
            mutant,
        }
    }

    /// The next instant at which something is due: a drain timer, a lease
    /// or a dead client's heartbeat running out.
    fn next_deadline(&self, world: &World) -> Option<Millis> {
        let mut deadlines: Vec<Millis> = world.pages.iter().filter(|p| p.alive).filter_map(|p| p.timer_at).collect();
        if self.exclusion == Exclusion::Lease {
            deadlines.extend(world.store.lease.map(|(_, until)| until));
            deadlines.extend(world.obituaries.iter().map(|(_, died)| died + HEARTBEAT_TTL_MS as Millis));
        }
        deadlines.into_iter().filter(|t| *t > world.now).min()
    }

    /// The steps the system can take by itself now (fair scheduling),
    /// without the clock.
    fn progress(&self, world: &World, actions: &mut Vec<Action>) {
        for (tab, page) in world.pages.iter().enumerate() {
            let tab = tab as u8;
            if !page.alive {
                actions.push(Action::PageOpens { tab });
                continue;
            }
            for call in &page.calls {
                let sale = call.sale;
                match call.phase {
                    CallPhase::Ready => actions.push(Action::Attempt { tab, sale }),
                    CallPhase::Awaiting => {
                        let tag = Tag { client: page.id, by: Sender::Call, sale, attempt: call.attempts };
                        if !world.network.carries(tag) {
                            actions.push(Action::CallTimesOut { tab, sale, early: false });
                        }
                    }
                    CallPhase::Removing => actions.push(Action::RemoveCommits { tab, sale }),
                }
            }
            if browser::drain_may_start(world, tab as usize) {
                actions.push(Action::DrainStarts { tab });
            }
            if let Some(drain) = &page.drain {
                match drain.sending {
                    None => actions.push(Action::DrainSteps { tab }),
                    Some(sent) => {
                        let tag = Tag { client: page.id, by: Sender::Drain, sale: sent.sale, attempt: sent.attempts };
                        if !world.network.carries(tag) {
                            actions.push(Action::ReplayTimesOut { tab, early: false });
                        }
                    }
                }
                if !drain.deleting.is_empty() {
                    actions.push(Action::DeletesCommit { tab });
                }
            }
        }
        actions.extend(world.network.requests.iter().map(|tag| Action::RequestArrives(*tag)));
        actions.extend(world.server.executing.iter().map(|tag| Action::SaleCommits(*tag)));
        actions.extend(world.network.responses.iter().map(|r| Action::ResponseArrives(*r)));
        if !world.server.up {
            actions.push(Action::ServerRestarts);
        }
        if !world.online {
            actions.push(Action::ComesOnline);
        }
    }

    /// The faults the budget still allows, and the cashier's next sale.
    fn faults(&self, world: &World, actions: &mut Vec<Action>) {
        let budget = &world.budget;
        for (tab, page) in world.pages.iter().enumerate().filter(|(_, p)| p.alive) {
            let tab = tab as u8;
            // The tabs are alike until the first sale, so it is made in tab 0:
            // a run with it in tab 1 is the same run with the tabs swapped.
            if world.sales_made < self.sales && (world.sales_made > 0 || tab == 0) {
                actions.push(Action::Checkout { tab });
            }
            if budget.deaths > 0 {
                actions.push(Action::PageDies { tab });
            }
            if budget.losses > 0 {
                for call in page.calls.iter().filter(|c| c.phase == CallPhase::Awaiting) {
                    let tag = Tag { client: page.id, by: Sender::Call, sale: call.sale, attempt: call.attempts };
                    if world.network.carries(tag) {
                        actions.push(Action::CallTimesOut { tab, sale: call.sale, early: true });
                    }
                }
                if let Some(sent) = page.drain.as_ref().and_then(|d| d.sending) {
                    if world.network.carries(Tag { client: page.id, by: Sender::Drain, sale: sent.sale, attempt: sent.attempts }) {
                        actions.push(Action::ReplayTimesOut { tab, early: true });
                    }
                }
            }
        }
        if budget.losses > 0 {
            actions.extend(world.network.requests.iter().map(|tag| Action::RequestLost(*tag)));
            actions.extend(world.network.responses.iter().map(|r| Action::ResponseLost(*r)));
        }
        if budget.server_kills > 0 && world.server.up {
            actions.push(Action::ServerKilled);
        }
        if budget.purges > 0 && !world.server.stored_responses.is_empty() {
            actions.push(Action::StoredResponsesPurged);
        }
        if budget.offline_periods > 0 && world.online {
            actions.push(Action::GoesOffline);
        }
        if budget.long_waits > 0 && !world.store.records.is_empty() {
            actions.push(Action::WaitsPastRetention);
        }
    }

    /// Whether the system has nothing left to do by itself: no progress
    /// step and no deadline ahead. The eventual promises are checked in
    /// these states. (Every progress step listed applies, except a drain
    /// step waiting for its delete, which is listed with that delete.)
    pub fn settled(&self, world: &World) -> bool {
        let mut actions = Vec::new();
        self.progress(world, &mut actions);
        actions.is_empty() && self.next_deadline(world).is_none()
    }

    /// Applies `action`; false when it does not apply in `world` after all.
    fn apply(&self, world: &mut World, action: Action) -> bool {
        let now = world.now;
        match action {
            Action::Checkout { tab } => browser::checkout(self, world, tab as usize),
            Action::Attempt { tab, sale } => browser::attempt(self, world, tab as usize, sale),
            Action::CallTimesOut { tab, sale, early } => {
                world.budget.losses -= early as u8;
                browser::call_decides(self, world, tab as usize, sale, AttemptOutcome::Timeout);
            }
            Action::RemoveCommits { tab, sale } => browser::remove_commits(world, tab as usize, sale),
            Action::DrainStarts { tab } => browser::drain_starts(self, world, tab as usize),
            Action::DrainSteps { tab } => return browser::drain_steps(self, world, tab as usize),
            Action::ReplayTimesOut { tab, early } => {
                world.budget.losses -= early as u8;
                browser::replay_answered(world, tab as usize, AttemptOutcome::Timeout, self.mutant.deletes_on_send());
            }
            Action::DeletesCommit { tab } => browser::deletes_commit(world, tab as usize),
            Action::PageDies { tab } => {
                world.budget.deaths -= 1;
                browser::page_dies(world, tab as usize);
            }
            Action::PageOpens { tab } => browser::page_opens(world, tab as usize),
            Action::RequestArrives(tag) => {
                world.network.take_request(tag);
                if world.server.receive(tag, &mut world.network, self.mutant) == Arrival::AnsweredFromRow
                    && !world.server.stored_responses.contains(&tag.sale)
                {
                    world.history.replayed_from_row = true;
                }
            }
            Action::RequestLost(tag) => {
                world.budget.losses -= 1;
                world.network.take_request(tag);
            }
            Action::SaleCommits(tag) => world.server.commit(tag, &mut world.network),
            Action::ResponseArrives(response) => self.response_arrives(world, response),
            Action::ResponseLost(response) => {
                world.budget.losses -= 1;
                world.network.take_response(response);
            }
            Action::ServerKilled => {
                world.budget.server_kills -= 1;
                world.server.kill(&mut world.network);
            }
            Action::ServerRestarts => world.server.up = true,
            Action::StoredResponsesPurged => {
                world.budget.purges -= 1;
                world.server.purge_stored_responses();
            }
            Action::GoesOffline => {
                world.budget.offline_periods -= 1;
                world.online = false;
            }
            Action::ComesOnline => {
                world.online = true;
                for page in world.pages.iter_mut().filter(|p| p.alive) {
                    page.want_drain(true);
                }
            }
            Action::ClockAdvances { to, stall } => {
                world.budget.stalls -= stall as u8;
                world.now = to;
            }
            Action::WaitsPastRetention => {
                world.budget.long_waits -= 1;
                world.now = now + self.max_retention_ms + 1;
            }
        }
        true
    }

    /// A response reaches its page: the live call or the drain waiting for
    /// it reads it; anything else (a page that gave up on it) drops it.
    fn response_arrives(&self, world: &mut World, response: Response) {
        world.network.take_response(response);
        let tag = response.tag;
        let Some(tab) = world.pages.iter().position(|p| p.alive && p.id == tag.client) else { return };
        let page = &world.pages[tab];
        let awaited = match tag.by {
            Sender::Call => page.calls.iter().any(|c| c.sale == tag.sale && c.phase == CallPhase::Awaiting && c.attempts == tag.attempt),
            Sender::Drain => page.drain.as_ref().and_then(|d| d.sending).is_some_and(|s| s.sale == tag.sale && s.attempts == tag.attempt),
        };
        if !awaited {
            return;
        }
        if response.answer == Answer::Created {
            world.history.answered[tag.sale as usize] = true;
        }
        match tag.by {
            Sender::Call => browser::call_decides(self, world, tab, tag.sale, response.answer.outcome()),
            Sender::Drain => browser::replay_answered(world, tab, response.answer.outcome(), self.mutant.deletes_on_send()),
        }
    }
}

impl Model for Protocol {
    type State = World;
    type Action = Action;

    fn init_states(&self) -> Vec<World> {
        let sales = self.sales as usize;
        vec![World {
            now: 0,
            online: true,
            // The outbox starts empty: the first pages' start-up drains have nothing to do.
            pages: (0..self.tabs).map(|tab| Page { drain_wanted: None, ..Page::start(ClientId { tab, life: 0 }) }).collect(),
            drain_lock: vec![],
            store: Store::default(),
            network: Network::default(),
            server: Server::new(self.sales),
            obituaries: vec![],
            sales_made: 0,
            budget: self.budget.clone(),
            history: History { answered: vec![false; sales], deleted: vec![false; sales], ..History::default() },
        }]
    }

    fn actions(&self, world: &World, actions: &mut Vec<Action>) {
        self.progress(world, actions);
        let idle = actions.is_empty();
        if let Some(to) = self.next_deadline(world) {
            if idle || world.budget.stalls > 0 {
                actions.push(Action::ClockAdvances { to, stall: !idle });
            }
        }
        self.faults(world, actions);
    }

    fn next_state(&self, world: &World, action: Action) -> Option<World> {
        let mut next = world.clone();
        self.apply(&mut next, action).then_some(next)
    }

    fn properties(&self) -> Vec<Property<Self>> {
        properties::all()
    }
}
