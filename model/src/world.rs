//! The state of the whole system at one instant: the pages of one origin,
//! the IndexedDB they share, the Web Locks, the network, the server, the
//! clock, what faults are left to inject, and the history the properties
//! need (ghost state: what the real system does not store, but a promise
//! is about).

use crate::network::Network;
use crate::server::Server;

/// A sale the cashier makes; also its idempotency key and its body (each
/// sale has its own), so one number names all three.
pub type Sale = u8;

/// Milliseconds on the model's clock.
pub type Millis = u64;

/// One client of the SDK: a page (tab) in one of its lives. A reloaded or
/// reopened tab is a new client with a new id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId {
    /// The tab it runs in.
    pub tab: u8,
    /// Which life of that tab (0 for the first page loaded in it).
    pub life: u8,
}

impl ClientId {
    /// The id as the SDK stores it in a record's `owner` field.
    pub fn name(self) -> String {
        format!("tab{}.{}", self.tab, self.life)
    }
}

/// A record of the outbox (IndexedDB), as the SDK stores it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Record {
    /// The queue id: records are drained in this order.
    pub id: u8,
    /// The sale, its key and body.
    pub sale: Sale,
    /// The client whose live call is sending it; `None` once queued for the drains.
    pub owner: Option<ClientId>,
    /// When it was first stored (`maxRetention` counts from here).
    pub created_at: Millis,
    /// Sends so far, live attempts and replays.
    pub attempts: u32,
    /// Before this, a drain that is not forced leaves it alone.
    pub next_attempt_at: Millis,
}

/// A record moved to the dead-letter store, with the reason the SDK gives.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct DeadLetter {
    /// The sale it was queued for.
    pub sale: Sale,
    /// `DeadReason::as_str` of the reason.
    pub reason: &'static str,
}

/// The SDK's IndexedDB database: survives every page death.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Store {
    /// The outbox, oldest first.
    pub records: Vec<Record>,
    /// The dead-letter store.
    pub dead_letters: Vec<DeadLetter>,
    /// The drain lease (browsers without Web Locks): holder and expiry.
    pub lease: Option<(ClientId, Millis)>,
    /// The queue id the next record gets.
    pub next_id: u8,
}

impl Store {
    /// The record of `sale`, to update it, if it is queued.
    pub fn record_mut(&mut self, sale: Sale) -> Option<&mut Record> {
        self.records.iter_mut().find(|r| r.sale == sale)
    }

    /// Adds a record at the tail of the queue.
    pub fn append(&mut self, sale: Sale, owner: Option<ClientId>, now: Millis, attempts: u32, next_attempt_at: Millis) {
        let id = self.next_id;
        self.next_id += 1;
        self.records.push(Record { id, sale, owner, created_at: now, attempts, next_attempt_at });
    }

    /// Moves the record of `sale` to the dead-letter store in one
    /// transaction (nothing happens when it is gone already).
    pub fn bury(&mut self, sale: Sale, reason: &'static str) {
        if let Some(at) = self.records.iter().position(|r| r.sale == sale) {
            self.records.remove(at);
            self.dead_letters.push(DeadLetter { sale, reason });
        }
    }
}

/// A live call of `post()`: one sale being sent by the page that made it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct LiveCall {
    /// The sale.
    pub sale: Sale,
    /// Attempts made so far.
    pub attempts: u32,
    /// Where the call is.
    pub phase: CallPhase,
    /// Whether its record was written ahead (and so must be removed or released).
    pub written_ahead: bool,
}

/// The steps of a live call.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CallPhase {
    /// About to make its next attempt (the first, or a retry whose delay ran out).
    Ready,
    /// Its attempt number `attempts` is on the network.
    Awaiting,
    /// A final answer reached the caller; the delete of its record has not
    /// committed yet, so the page still counts the call as live.
    Removing,
}

/// A drain running in a page.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Drain {
    /// Started by `online`, start-up or a watched owner's end: replays records
    /// whose backoff has not run out.
    pub forced: bool,
    /// Until when this drain believes it alone may drain: `Millis::MAX`
    /// under the Web Lock, the lease's expiry without Web Locks.
    pub exclusive_until: Millis,
    /// The queue id of the last record looked at (records after it come next).
    pub cursor: Option<u8>,
    /// The replay on the network, if any.
    pub sending: Option<Replaying>,
    /// Delivered records whose delete has not started.
    pub run: Vec<Sale>,
    /// When the first record of `run` began its replay.
    pub run_first_sent_at: Millis,
    /// Delivered records whose delete transaction is under way.
    pub deleting: Vec<Sale>,
    /// The drain stopped reading (queue done, a record must wait, lease
    /// lost); it ends once its deletes have committed.
    pub stopping: bool,
}

/// The replay a drain is waiting for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Replaying {
    /// The sale replayed.
    pub sale: Sale,
    /// Sends of its record, this one included.
    pub attempts: u32,
    /// When it was sent.
    pub sent_at: Millis,
}

/// A tab of the origin: the page loaded in it and its in-memory state.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Page {
    /// The client of the page loaded now (or last, when dead).
    pub id: ClientId,
    /// Whether the page is running.
    pub alive: bool,
    /// Its live calls.
    pub calls: Vec<LiveCall>,
    /// Its running drain.
    pub drain: Option<Drain>,
    /// A drain is asked for (start-up, `online`, a record enqueued while a
    /// drain ran, a watched owner's end); `Some(true)` when forced.
    pub drain_wanted: Option<bool>,
    /// The drain timer.
    pub timer_at: Option<Millis>,
    /// Owners of records its drains skipped, whose end should start a drain.
    pub watching: Vec<ClientId>,
}

impl Page {
    /// The first page of tab `tab`, starting up (which starts a drain).
    pub fn start(id: ClientId) -> Page {
        Page { id, alive: true, calls: vec![], drain: None, drain_wanted: Some(true), timer_at: None, watching: vec![] }
    }

    /// The live call for `sale`, if this page has one.
    pub fn call_mut(&mut self, sale: Sale) -> Option<&mut LiveCall> {
        self.calls.iter_mut().find(|c| c.sale == sale)
    }

    /// Asks for a drain; a forced request wins over one that is not.
    pub fn want_drain(&mut self, forced: bool) {
        self.drain_wanted = Some(self.drain_wanted.unwrap_or(false) || forced);
    }

    /// Arranges a drain at `at`, unless one is already due sooner.
    pub fn schedule(&mut self, at: Millis) {
        self.timer_at = Some(self.timer_at.map_or(at, |t| t.min(at)));
    }
}

/// The faults still allowed on this path (the bounds of the check).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Budget {
    /// Page deaths.
    pub deaths: u8,
    /// Requests or responses lost, and timeouts while the answer was still coming.
    pub losses: u8,
    /// Periods with the browser offline.
    pub offline_periods: u8,
    /// Server kills.
    pub server_kills: u8,
    /// Purges of the server's stored responses.
    pub purges: u8,
    /// Waits longer than `maxRetention`.
    pub long_waits: u8,
    /// Times the clock jumps while work is still under way (a frozen tab, a slow disk).
    pub stalls: u8,
}

/// Promises broken on the way to a state: set by the transition that broke
/// one, read by the properties.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Breaches {
    /// A drain sent a record whose owner's live call was running.
    pub drained_a_live_record: bool,
    /// A drain sent a record delivered before and deleted since.
    pub replayed_after_delete: bool,
    /// A drain sent while another drain believed it held the lock or lease.
    pub two_drainers: bool,
    /// A record was deleted before any answer for its sale arrived.
    pub deleted_before_answer: bool,
}

/// What happened, for the properties and for the sanity (`sometimes`) checks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct History {
    /// Per sale: a 2xx for it reached the SDK.
    pub answered: Vec<bool>,
    /// Per sale: its record was deleted after it was delivered.
    pub deleted: Vec<bool>,
    /// The promises broken so far.
    pub breaches: Breaches,
    /// The server answered a retry from a sale row after its stored response was purged.
    pub replayed_from_row: bool,
    /// A drain skipped a record because its live call was running.
    pub skipped_a_live_record: bool,
    /// A drain sent a record its dead owner had written ahead.
    pub drained_an_orphan: bool,
    /// A drain replayed a record already answered with a 2xx, whose delete
    /// had not committed (a run cut short, a removal lost with its page).
    pub replayed_an_undeleted_delivery: bool,
    /// A drain took the lease while a slower drain of another page still ran.
    pub lease_taken_over: bool,
}

/// The whole system.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct World {
    /// The clock.
    pub now: Millis,
    /// What `navigator.onLine` says.
    pub online: bool,
    /// The tabs.
    pub pages: Vec<Page>,
    /// The Web Lock of the drain: the clients holding it (one, unless a
    /// mutant breaks the lock).
    pub drain_lock: Vec<ClientId>,
    /// IndexedDB.
    pub store: Store,
    /// Requests and responses on their way.
    pub network: Network,
    /// The POS server.
    pub server: Server,
    /// Clients that died, and when: a heartbeat vouches for its client
    /// `HEARTBEAT_TTL_MS` after its last renewal.
    pub obituaries: Vec<(ClientId, Millis)>,
    /// How many sales the cashiers have made (sale `n` is the `n`-th).
    pub sales_made: u8,
    /// Faults left.
    pub budget: Budget,
    /// Ghost state.
    pub history: History,
}
