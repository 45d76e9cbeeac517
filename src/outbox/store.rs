//! The queue's IndexedDB database (through rexie): one database per
//! namespace with a `queue` store (auto-increment keys give the FIFO order),
//! a `dead` store for dead letters and a `meta` store for the drain lease
//! and the heartbeats of clients with live writes (without Web Locks).
//!
//! Every method is one IndexedDB transaction that awaits nothing but
//! IndexedDB requests, so it cannot go inactive; moves between stores are
//! one transaction, so a record is never in both stores or in neither.

use std::future::Future;
use std::rc::Rc;

use rexie::{KeyRange, Rexie, TransactionMode};
use wasm_bindgen::prelude::*;

use crate::error::Error;

/// The database schema version. v1 had only the `queue` store; v2 added
/// `dead` and `meta`. An upgrade keeps every existing record.
pub const DB_VERSION: u32 = 2;
const QUEUE: &str = "queue";
const DEAD: &str = "dead";
const META: &str = "meta";

/// The database name for a namespace.
pub fn database_name(namespace: &str) -> String {
    ["pos-resilience:", namespace].concat()
}

/// An open queue database.
pub struct Store {
    db: Rexie,
    /// The same connection as web-sys's `IDBDatabase`, for the write-ahead's
    /// transaction: rexie opens transactions without options, and a
    /// write-ahead must reach the disk before its request leaves (see
    /// [`Store::add_owned`]), so it asks for `durability: "strict"` here.
    strict: web_sys::IdbDatabase,
}

type Result<T> = std::result::Result<T, Error>;

/// The upgrade, from the version the database had (0 when it is new): v1
/// made the `queue` store, v2 the `dead` and `meta` stores; every record is
/// kept. The queue and dead-letter stores key records by their
/// auto-incremented `id`; `meta` takes the key with each write.
fn upgrade(event: &UpgradeEvent) -> std::result::Result<(), JsValue> {
    let db = event.target().result();
    let from = event.old_version();
    for (name, since, keyed_by_id) in [(QUEUE, 1.0, true), (DEAD, 2.0, true), (META, 2.0, false)] {
        if from < since {
            let params = js_sys::Object::new();
            if keyed_by_id {
                crate::js::set(&params, "keyPath", "id");
                crate::js::set(&params, "autoIncrement", true);
            }
            db.create_object_store(name, &params)?;
        }
    }
    Ok(())
}

impl Store {
    /// Opens (creating or upgrading) the namespace's database.
    ///
    /// The open request is bound directly (idb's request future and
    /// callbacks cost more than a promise of it); its failures keep idb's
    /// words.
    pub async fn open(namespace: &str) -> Result<Store> {
        let factory = js_sys::Reflect::get(&js_sys::global(), &"indexedDB".into()).unwrap_or_default();
        if !factory.is_object() {
            return Err(idb::Error::IndexedDbNotFound(factory).into());
        }
        let request = factory
            .unchecked_ref::<Factory>()
            .open(&database_name(namespace), DB_VERSION)
            .map_err(idb::Error::IndexedDbOpenFailed)?;
        // Freed once called; kept if the open is given up while blocked, so
        // that an upgrade the request makes later still runs.
        request.set_onupgradeneeded(&Closure::once_into_js(|event: UpgradeEvent| {
            // A store that cannot be made aborts the upgrade: the open fails
            // (a storage error) rather than leave a database without it.
            if upgrade(&event).is_err() {
                if let Some(tx) = event.target().transaction() {
                    let _ = tx.abort();
                }
            }
        }));
        let opened = js_sys::Promise::new(&mut |resolve, reject| {
            request.set_onsuccess(&resolve);
            request.set_onerror(&reject);
        });
        if wasm_bindgen_futures::JsFuture::from(opened).await.is_err() {
            return Err(idb::Error::DomException(request.error().unchecked_into()).into());
        }
        let strict: web_sys::IdbDatabase = request.result().unchecked_into();
        let db = Rexie::from(idb::Database::from(strict.clone()));
        Ok(Store { db, strict })
    }

    /// The outbox's one transaction, through rexie: `read` first, then
    /// `writes` in order when `gate` (given the record read) lets them,
    /// every request awaited in turn, so the transaction never goes
    /// inactive. It is read-write when there are writes and, when they ran,
    /// done when this returns.
    async fn run(&self, stores: &[&str], read: Read, gate: Gate<'_>, writes: Vec<Write>) -> Result<Ran> {
        let mode = if writes.is_empty() { TransactionMode::ReadOnly } else { TransactionMode::ReadWrite };
        let tx = self.db.transaction(stores, mode)?;
        let first = tx.store(stores[0])?;
        let records = match read {
            Read::Records(keys, limit) => first.get_all(Some(keys.range()?), limit).await?,
            Read::Count => vec![JsValue::from(first.count(None).await?)],
            Read::Nothing => Vec::new(),
        };
        let mut ran = Ran { records, wrote: false, key: JsValue::UNDEFINED };
        if writes.is_empty() || !gate.allows(ran.records.first().unwrap_or(&JsValue::UNDEFINED)) {
            return Ok(ran);
        }
        for (name, write) in &writes {
            let store = tx.store(name)?;
            match write {
                Op::Add(value) => ran.key = store.add(value, None).await?,
                Op::Put(value, key) => ran.key = store.put(value, key.as_ref()).await?,
                Op::Delete(keys) => store.delete(keys.range()?.into()).await?,
            }
        }
        tx.done().await?;
        ran.wrote = true;
        Ok(ran)
    }

    /// `writes` in one read-write transaction, done when it resolves.
    fn write<'a>(&'a self, stores: &'a [&'a str], writes: Vec<Write>) -> impl Future<Output = Result<Ran>> + 'a {
        self.run(stores, Read::Nothing, Gate::Always, writes)
    }

    /// Up to `limit` records of store `store` with keys `keys`, oldest
    /// first, in a read-only transaction.
    fn read(&self, store: &'static [&'static str; 1], keys: Keys, limit: Option<u32>) -> impl Future<Output = Result<Ran>> + '_ {
        self.run(store, Read::Records(keys, limit), Gate::Always, Vec::new())
    }

    /// Appends a record; resolves with its id (its FIFO position) as the
    /// [`Ran::id`].
    pub fn add(&self, record: JsValue) -> impl Future<Output = Result<Ran>> + '_ {
        self.write(&[QUEUE], vec![(QUEUE, Op::Add(record))])
    }

    /// Appends a record written ahead of its call's first attempt and
    /// returns its id; with `heartbeat` (owner, until), renews that owner's
    /// heartbeat in the same transaction.
    ///
    /// The transaction is `durability: "strict"`: the browser flushes it to
    /// the disk before it reports it committed, so the record survives a
    /// power cut as well as a crash (the browsers' default, `relaxed` in
    /// Chromium, hands it to the operating system only). The removal after
    /// the answer keeps the default: losing it only brings back a record
    /// that is resent with its key and replayed.
    pub async fn add_owned(&self, record: &JsValue, heartbeat: Option<(&str, f64)>) -> Result<f64> {
        let stores = match heartbeat {
            Some(_) => js_sys::Array::of2(&QUEUE.into(), &META.into()),
            None => js_sys::Array::of1(&QUEUE.into()),
        };
        let options = js_sys::Object::new();
        crate::js::set(&options, "durability", "strict");
        let raw = self
            .strict
            .unchecked_ref::<DatabaseWithOptions>()
            .transaction_with_options(&stores, "readwrite", &options)
            .map_err(|e| Error::Storage(crate::js::message_of(&e)))?;
        let tx = idb::Transaction::from(raw);
        let key = tx.object_store(QUEUE)?.add(record, None)?.await?;
        if let Some((owner, until)) = heartbeat {
            tx.object_store(META)?.put(&heartbeat_value(until), Some(&heartbeat_key(owner)))?.await?;
        }
        let done = tx.await?;
        if !done.is_committed() {
            return Err(Error::Storage("the write-ahead transaction was aborted".into()));
        }
        Ok(key.as_f64().unwrap_or(f64::NAN))
    }

    /// Replaces queue record `record` (same id) only if it is still there,
    /// in one transaction: a live call releasing its record must not bring
    /// back one that a drain already delivered (a stalled page's lease
    /// expired) or that `clearQueue()` discarded. [`Ran::wrote`] says
    /// whether it was.
    pub fn update_if_present(&self, record: JsValue, id: f64) -> impl Future<Output = Result<Ran>> + '_ {
        let read = Read::Records(Keys::One(JsValue::from_f64(id)), Some(1));
        self.run(&[QUEUE], read, Gate::Present, vec![(QUEUE, Op::Put(record, None))])
    }

    /// Deletes queue records `ids` (live calls' records, after their final
    /// answers), in one transaction.
    pub fn remove_all(&self, ids: &[f64]) -> impl Future<Output = Result<Ran>> + '_ {
        self.write(&[QUEUE], ids.iter().map(|id| (QUEUE, Op::Delete(Keys::One(JsValue::from_f64(*id))))).collect())
    }

    /// Queue record `id`, if it is still there (the [`Ran::first`]).
    pub fn get(&self, id: f64) -> impl Future<Output = Result<Ran>> + '_ {
        self.read(&[QUEUE], Keys::One(JsValue::from_f64(id)), Some(1))
    }

    /// Writes `owner`'s heartbeat, valid until `until_ms`.
    pub fn put_heartbeat(&self, owner: &str, until_ms: f64) -> impl Future<Output = Result<Ran>> + '_ {
        self.write(&[META], vec![(META, Op::Put(heartbeat_value(until_ms), Some(heartbeat_key(owner))))])
    }

    /// `owner`'s heartbeat, if it wrote one (the [`Ran::first`]; its
    /// `until` says until when it vouches for `owner`).
    pub fn heartbeat(&self, owner: &str) -> impl Future<Output = Result<Ran>> + '_ {
        self.read(&[META], Keys::One(heartbeat_key(owner)), Some(1))
    }

    /// Every queued record, oldest first (the [`Ran::records`]).
    pub fn queued(&self) -> impl Future<Output = Result<Ran>> + '_ {
        self.read(&[QUEUE], Keys::All, None)
    }

    /// Every dead letter, oldest first (the [`Ran::records`]).
    pub fn dead_letters(&self) -> impl Future<Output = Result<Ran>> + '_ {
        self.read(&[DEAD], Keys::All, None)
    }

    /// How many records wait in the queue (the [`Ran::count`]).
    pub fn count(&self) -> impl Future<Output = Result<Ran>> + '_ {
        self.run(&[QUEUE], Read::Count, Gate::Always, Vec::new())
    }

    /// Replaces a record (same id), e.g. after a failed replay.
    pub fn update(&self, record: JsValue) -> impl Future<Output = Result<Ran>> + '_ {
        self.write(&[QUEUE], vec![(QUEUE, Op::Put(record, None))])
    }

    /// Deletes the queue records with ids `first..=last`, in one
    /// transaction. The drain passes a run it delivered in order: every
    /// queue record in that range was delivered or has already moved to the
    /// dead-letter store, and a record added later always gets a larger id.
    /// Resolves with `undefined`; the store is owned, for a promise of it.
    pub async fn remove_run(self: Rc<Self>, first: f64, last: f64) -> Result<JsValue> {
        self.write(&[QUEUE], vec![(QUEUE, Op::Delete(Keys::Between(first, last)))]).await?;
        Ok(JsValue::UNDEFINED)
    }

    /// Up to `limit` records after `after` (from the head when `None`), in
    /// queue order (the [`Ran::records`]).
    pub fn batch_after(&self, after: Option<f64>, limit: u32) -> impl Future<Output = Result<Ran>> + '_ {
        let keys = match after {
            Some(id) => Keys::After(id),
            None => Keys::All,
        };
        self.read(&[QUEUE], keys, Some(limit))
    }

    /// Moves queue record `queue_id` to the dead-letter store as `letter`,
    /// atomically. The dead letter's id is the [`Ran::id`].
    pub fn bury(&self, queue_id: JsValue, letter: JsValue) -> impl Future<Output = Result<Ran>> + '_ {
        self.write(&[QUEUE, DEAD], vec![(QUEUE, Op::Delete(Keys::One(queue_id))), (DEAD, Op::Add(letter))])
    }

    /// Dead letter `id`, if it is there (the [`Ran::first`]).
    pub fn dead_letter(&self, id: f64) -> impl Future<Output = Result<Ran>> + '_ {
        self.read(&[DEAD], Keys::One(JsValue::from_f64(id)), Some(1))
    }

    /// Moves dead letter `id` back to the tail of the queue as `record`,
    /// atomically. The new queue id is the [`Ran::id`].
    pub fn resurrect(&self, id: f64, record: JsValue) -> impl Future<Output = Result<Ran>> + '_ {
        self.write(&[QUEUE, DEAD], vec![(DEAD, Op::Delete(Keys::One(JsValue::from_f64(id)))), (QUEUE, Op::Add(record))])
    }

    /// Deletes dead letter `id`.
    pub fn discard(&self, id: f64) -> impl Future<Output = Result<Ran>> + '_ {
        self.write(&[DEAD], vec![(DEAD, Op::Delete(Keys::One(JsValue::from_f64(id))))])
    }

    /// Counts the queued records and deletes them all (not the dead
    /// letters), in one transaction; the [`Ran::count`] says how many.
    pub fn clear_queue(&self) -> impl Future<Output = Result<Ran>> + '_ {
        self.run(&[QUEUE], Read::Count, Gate::Always, vec![(QUEUE, Op::Delete(Keys::All))])
    }

    /// The drain lease for browsers without Web Locks: takes or renews it
    /// for `owner` until `until_ms` when it is free, expired or already
    /// `owner`'s; [`Ran::wrote`] says whether it did. IndexedDB runs
    /// read-write transactions on a store one at a time, so this
    /// read-then-write is atomic across tabs.
    pub fn take_lease<'a>(&'a self, owner: &'a str, now_ms: f64, until_ms: f64) -> impl Future<Output = Result<Ran>> + 'a {
        let lease = js_sys::Object::new();
        crate::js::set(&lease, "owner", owner);
        crate::js::set(&lease, "until", until_ms);
        self.lease(Gate::LeaseFree(owner, now_ms), (META, Op::Put(lease.into(), Some(JsValue::from_str(LEASE)))))
    }

    /// Gives the lease up if `owner` holds it; [`Ran::wrote`] says whether
    /// it did.
    pub fn release_lease<'a>(&'a self, owner: &'a str) -> impl Future<Output = Result<Ran>> + 'a {
        self.lease(Gate::LeaseHeld(owner), (META, Op::Delete(Keys::One(JsValue::from_str(LEASE)))))
    }

    /// Reads the lease record and makes `write` if `gate` allows it, in one
    /// read-write transaction.
    fn lease<'a>(&'a self, gate: Gate<'a>, write: Write) -> impl Future<Output = Result<Ran>> + 'a {
        self.run(&[META], Read::Records(Keys::One(JsValue::from_str(LEASE)), Some(1)), gate, vec![write])
    }
}

/// What a [`Store::run`] transaction did.
pub struct Ran {
    /// The records read (the count, as one number, for [`Read::Count`]).
    records: Vec<JsValue>,
    /// Whether the writes ran (the gate let them).
    wrote: bool,
    /// The key of the last add or put (`undefined` when there was none).
    key: JsValue,
}

impl Ran {
    /// The records read, oldest first.
    pub fn records(self) -> Vec<JsValue> {
        self.records
    }

    /// The one record read, if there was one.
    pub fn first(mut self) -> Option<JsValue> {
        self.records.pop()
    }

    /// The count read.
    pub fn count(self) -> u32 {
        self.records.first().and_then(JsValue::as_f64).unwrap_or(0.0) as u32
    }

    /// The id of the record added (NaN when there is none).
    pub fn id(self) -> f64 {
        self.key.as_f64().unwrap_or(f64::NAN)
    }

    /// Whether the writes ran: the record was present, the lease was free
    /// or held.
    pub fn wrote(self) -> bool {
        self.wrote
    }
}

/// What a [`Store::run`] transaction reads first, in the first of its
/// stores.
enum Read {
    /// Nothing.
    Nothing,
    /// Up to a number of records (every one when `None`).
    Records(Keys, Option<u32>),
    /// How many records the store holds.
    Count,
}

/// When the writes of a [`Store::run`] transaction run, given the record
/// it read (`undefined` when there is none).
enum Gate<'a> {
    /// Always.
    Always,
    /// When the record is there.
    Present,
    /// When the lease read may be taken by this owner at this time (see
    /// [`super::policy::lease_available`]).
    LeaseFree(&'a str, f64),
    /// When this owner holds the lease read.
    LeaseHeld(&'a str),
}

impl Gate<'_> {
    /// Whether the writes run, given record `current`.
    fn allows(&self, current: &JsValue) -> bool {
        let holder = || crate::js::get(current, "owner").as_string();
        match *self {
            Gate::Always => true,
            Gate::Present => !current.is_undefined(),
            Gate::LeaseFree(owner, now_ms) => {
                super::policy::lease_available(holder().as_deref(), crate::js::get(current, "until").as_f64().unwrap_or(0.0), owner, now_ms)
            }
            Gate::LeaseHeld(owner) => holder().as_deref() == Some(owner),
        }
    }
}

/// The keys a request of a [`Store::run`] transaction reads or deletes.
enum Keys {
    /// One key.
    One(JsValue),
    /// Every number key above this one.
    After(f64),
    /// The number keys from the first to the last, both included.
    Between(f64, f64),
    /// Every number key (every key of the queue and of the dead-letter
    /// store).
    All,
}

impl Keys {
    /// The key range of these keys, always made as `IDBKeyRange.bound` (one
    /// key is the range from it to itself; the number keys run from minus
    /// to plus infinity).
    fn range(&self) -> Result<KeyRange> {
        let (lower, upper, lower_open) = match self {
            Keys::One(key) => (key.clone(), key.clone(), false),
            Keys::After(id) => (JsValue::from_f64(*id), JsValue::from_f64(f64::INFINITY), true),
            Keys::Between(first, last) => (JsValue::from_f64(*first), JsValue::from_f64(*last), false),
            Keys::All => (JsValue::from_f64(f64::NEG_INFINITY), JsValue::from_f64(f64::INFINITY), false),
        };
        Ok(KeyRange::bound(&lower, &upper, Some(lower_open), None).map_err(rexie::Error::from)?)
    }
}

/// A write of a [`Store::run`] transaction, in the store it names.
type Write = (&'static str, Op);

/// What a [`Write`] does.
enum Op {
    /// Adds a value under a new key (the stores with auto-increment keys).
    Add(JsValue),
    /// Puts a value under its key path's key, or under the key given.
    Put(JsValue, Option<JsValue>),
    /// Deletes records.
    Delete(Keys),
}

/// The `meta` key of the drain lease.
const LEASE: &str = "drain-lease";

#[wasm_bindgen]
extern "C" {
    /// An `IDBDatabase`, for the one call web-sys offers only behind its
    /// unstable-API flag, `transaction(stores, mode, options)`, and for
    /// `createObjectStore` in [`upgrade`].
    #[wasm_bindgen(js_name = IDBDatabase)]
    type DatabaseWithOptions;
    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction_with_options(this: &DatabaseWithOptions, stores: &js_sys::Array, mode: &str, options: &js_sys::Object) -> std::result::Result<web_sys::IdbTransaction, JsValue>;
    #[wasm_bindgen(method, catch, js_name = createObjectStore)]
    fn create_object_store(this: &DatabaseWithOptions, name: &str, options: &js_sys::Object) -> std::result::Result<JsValue, JsValue>;

    /// The `IDBVersionChangeEvent` of an upgrade, with just what
    /// [`upgrade`] reads: bound here, as web-sys's IndexedDB types beyond
    /// `IDBDatabase` and `IDBTransaction` are not among the crate's
    /// features.
    type UpgradeEvent;
    #[wasm_bindgen(method, getter, js_name = oldVersion)]
    fn old_version(this: &UpgradeEvent) -> f64;
    #[wasm_bindgen(method, getter)]
    fn target(this: &UpgradeEvent) -> OpenRequest;

    /// The `IDBFactory` (`indexedDB`), for opening the database.
    type Factory;
    #[wasm_bindgen(method, catch)]
    fn open(this: &Factory, name: &str, version: u32) -> std::result::Result<OpenRequest, JsValue>;

    /// The `IDBOpenDBRequest` that opens the database, and that of an
    /// upgrade.
    type OpenRequest;
    #[wasm_bindgen(method, getter)]
    fn result(this: &OpenRequest) -> DatabaseWithOptions;
    #[wasm_bindgen(method, getter)]
    fn error(this: &OpenRequest) -> JsValue;
    #[wasm_bindgen(method, getter)]
    fn transaction(this: &OpenRequest) -> Option<web_sys::IdbTransaction>;
    #[wasm_bindgen(method, setter)]
    fn set_onupgradeneeded(this: &OpenRequest, handler: &JsValue);
    #[wasm_bindgen(method, setter)]
    fn set_onsuccess(this: &OpenRequest, handler: &js_sys::Function);
    #[wasm_bindgen(method, setter)]
    fn set_onerror(this: &OpenRequest, handler: &js_sys::Function);
}

/// The `meta` key of an owner's heartbeat.
fn heartbeat_key(owner: &str) -> JsValue {
    JsValue::from_str(&["owner:", owner].concat())
}

fn heartbeat_value(until_ms: f64) -> JsValue {
    let value = js_sys::Object::new();
    crate::js::set(&value, "until", until_ms);
    value.into()
}
