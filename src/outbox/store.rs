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
fn upgrade(event: &idb::event::VersionChangeEvent) -> std::result::Result<(), idb::Error> {
    use idb::DatabaseEvent;
    let db = event.database()?;
    let from = event.old_version()?;
    for (name, since, keyed_by_id) in [(QUEUE, 1, true), (DEAD, 2, true), (META, 2, false)] {
        if from < since {
            let mut params = idb::ObjectStoreParams::new();
            if keyed_by_id {
                params.auto_increment(true).key_path(Some(idb::KeyPath::new_single("id")));
            }
            db.create_object_store(name, params)?;
        }
    }
    Ok(())
}

impl Store {
    /// Opens (creating or upgrading) the namespace's database.
    pub async fn open(namespace: &str) -> Result<Store> {
        let factory = idb::Factory::new()?;
        let mut request = factory.open(&database_name(namespace), Some(DB_VERSION))?;
        request.on_upgrade_needed(|event| {
            use idb::{Event as _, Request as _};
            // A store that cannot be made aborts the upgrade: the open fails
            // (a storage error) rather than leave a database without it.
            if upgrade(&event).is_err() {
                if let Some(tx) = event.target().ok().and_then(|r| r.transaction()) {
                    let _ = tx.abort();
                }
            }
        });
        let strict: web_sys::IdbDatabase = request.await?.into();
        let db = Rexie::from(idb::Database::from(strict.clone()));
        Ok(Store { db, strict })
    }

    /// Makes request `request` on `store_name` in a transaction of its
    /// own and returns its result: the record read (`undefined` when there
    /// is none), or the key written (`undefined` for a delete) once the
    /// transaction is done.
    async fn single(&self, store_name: &str, request: Request<'_>) -> Result<JsValue> {
        let mode = match request {
            Request::Get(_) => TransactionMode::ReadOnly,
            _ => TransactionMode::ReadWrite,
        };
        let tx = self.db.transaction(&[store_name], mode)?;
        let store = tx.store(store_name)?;
        let value = match request {
            Request::Get(key) => return Ok(store.get_all(Some(only(&key)?), Some(1)).await?.pop().unwrap_or(JsValue::UNDEFINED)),
            Request::Add(value) => store.add(value, None).await?,
            Request::Put(value, key) => store.put(value, key.as_ref()).await?,
            Request::Delete(key) => {
                store.delete(key).await?;
                JsValue::UNDEFINED
            }
        };
        tx.done().await?;
        Ok(value)
    }

    /// Record `key` of `store_name`, if it is there.
    async fn read(&self, store_name: &str, key: JsValue) -> Result<Option<JsValue>> {
        let value = self.single(store_name, Request::Get(key)).await?;
        Ok((!value.is_undefined()).then_some(value))
    }

    /// Appends a record; returns its id (its FIFO position).
    pub async fn add(&self, record: &JsValue) -> Result<f64> {
        let key = self.single(QUEUE, Request::Add(record)).await?;
        Ok(key.as_f64().unwrap_or(f64::NAN))
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
    /// expired) or that `clearQueue()` discarded. Returns whether it was.
    pub async fn update_if_present(&self, record: &JsValue, id: f64) -> Result<bool> {
        let tx = self.db.transaction(&[QUEUE], TransactionMode::ReadWrite)?;
        let store = tx.store(QUEUE)?;
        let present = !store.get_all(Some(only(&JsValue::from_f64(id))?), Some(1)).await?.is_empty();
        if present {
            store.put(record, None).await?;
        }
        tx.done().await?;
        Ok(present)
    }

    /// Deletes queue records `ids` (live calls' records, after their final
    /// answers), in one transaction.
    pub async fn remove_all(&self, ids: &[f64]) -> Result<()> {
        let tx = self.db.transaction(&[QUEUE], TransactionMode::ReadWrite)?;
        let store = tx.store(QUEUE)?;
        for id in ids {
            store.delete(JsValue::from_f64(*id)).await?;
        }
        tx.done().await?;
        Ok(())
    }

    /// Queue record `id`, if it is still there.
    pub fn get(&self, id: f64) -> impl Future<Output = Result<Option<JsValue>>> + '_ {
        self.read(QUEUE, JsValue::from_f64(id))
    }

    /// Writes `owner`'s heartbeat, valid until `until_ms`.
    pub async fn put_heartbeat(&self, owner: &str, until_ms: f64) -> Result<JsValue> {
        self.single(META, Request::Put(&heartbeat_value(until_ms), Some(heartbeat_key(owner)))).await
    }

    /// Until when `owner`'s heartbeat vouches for it, if it wrote one.
    pub async fn heartbeat_until(&self, owner: &str) -> Result<Option<f64>> {
        let value = self.read(META, heartbeat_key(owner)).await?;
        Ok(value.and_then(|v| crate::js::get(&v, "until").as_f64()))
    }

    /// Up to `limit` records of `store_name` (`queue` or `dead`) in `range`
    /// (every one when `None`), oldest first.
    async fn get_all(&self, store_name: &str, range: Option<KeyRange>, limit: Option<u32>) -> Result<Vec<JsValue>> {
        let tx = self.db.transaction(&[store_name], TransactionMode::ReadOnly)?;
        let values = tx.store(store_name)?.get_all(range, limit).await?;
        Ok(values)
    }

    /// Every queued record, oldest first.
    pub fn queued(&self) -> impl Future<Output = Result<Vec<JsValue>>> + '_ {
        self.get_all(QUEUE, None, None)
    }

    /// Every dead letter, oldest first.
    pub fn dead_letters(&self) -> impl Future<Output = Result<Vec<JsValue>>> + '_ {
        self.get_all(DEAD, None, None)
    }

    /// How many records wait in the queue.
    pub fn count(&self) -> impl Future<Output = Result<u32>> + '_ {
        self.count_then(false)
    }

    /// Counts the queued records and, with `clear`, deletes them all in the
    /// same transaction (done when this returns); returns the count.
    async fn count_then(&self, clear: bool) -> Result<u32> {
        let mode = if clear { TransactionMode::ReadWrite } else { TransactionMode::ReadOnly };
        let tx = self.db.transaction(&[QUEUE], mode)?;
        let store = tx.store(QUEUE)?;
        let n = store.count(None).await?;
        if clear {
            store.delete(every_number()?).await?;
            tx.done().await?;
        }
        Ok(n)
    }

    /// Replaces a record (same id), e.g. after a failed replay.
    pub fn update<'a>(&'a self, record: &'a JsValue) -> impl Future<Output = Result<JsValue>> + 'a {
        self.single(QUEUE, Request::Put(record, None))
    }

    /// Deletes the queue records with ids `first..=last`, in one
    /// transaction. The drain passes a run it delivered in order: every
    /// queue record in that range was delivered or has already moved to the
    /// dead-letter store, and a record added later always gets a larger id.
    /// Resolves with `undefined`; the store is owned, for a promise of it.
    pub async fn remove_run(self: Rc<Self>, first: f64, last: f64) -> Result<JsValue> {
        let range = KeyRange::bound(&JsValue::from_f64(first), &JsValue::from_f64(last), None, None).map_err(rexie::Error::from)?;
        self.single(QUEUE, Request::Delete(range.into())).await
    }

    /// Up to `limit` records after `after` (from the head when `None`), in
    /// queue order.
    pub async fn batch_after(&self, after: Option<f64>, limit: u32) -> Result<Vec<JsValue>> {
        let range = match after {
            Some(id) => Some(KeyRange::lower_bound(&JsValue::from_f64(id), Some(true)).map_err(rexie::Error::from)?),
            None => None,
        };
        self.get_all(QUEUE, range, Some(limit)).await
    }

    /// Moves queue record `queue_id` to the dead-letter store as `letter`,
    /// atomically. Returns the dead letter's id.
    pub fn bury<'a>(&'a self, queue_id: &JsValue, letter: &'a JsValue) -> impl Future<Output = Result<f64>> + 'a {
        self.move_record(QUEUE, queue_id.clone(), DEAD, letter)
    }

    /// Reads dead letter `id`.
    pub fn dead_letter(&self, id: f64) -> impl Future<Output = Result<Option<JsValue>>> + '_ {
        self.read(DEAD, JsValue::from_f64(id))
    }

    /// Moves dead letter `id` back to the tail of the queue as `record`,
    /// atomically. Returns the new queue id.
    pub fn resurrect<'a>(&'a self, id: f64, record: &'a JsValue) -> impl Future<Output = Result<f64>> + 'a {
        self.move_record(DEAD, JsValue::from_f64(id), QUEUE, record)
    }

    /// Deletes record `key` of store `from` and adds `value` to store `to`,
    /// in one transaction. Returns the new record's id.
    async fn move_record(&self, from: &str, key: JsValue, to: &str, value: &JsValue) -> Result<f64> {
        let tx = self.db.transaction(&[QUEUE, DEAD], TransactionMode::ReadWrite)?;
        tx.store(from)?.delete(key).await?;
        let id = tx.store(to)?.add(value, None).await?;
        tx.done().await?;
        Ok(id.as_f64().unwrap_or(f64::NAN))
    }

    /// Deletes dead letter `id`.
    pub fn discard(&self, id: f64) -> impl Future<Output = Result<JsValue>> + '_ {
        self.single(DEAD, Request::Delete(JsValue::from_f64(id)))
    }

    /// Deletes every queued record (not the dead letters); returns how many.
    pub fn clear_queue(&self) -> impl Future<Output = Result<u32>> + '_ {
        self.count_then(true)
    }

    /// The drain lease for browsers without Web Locks: takes or renews it
    /// for `owner` until `until_ms` when it is free, expired or already
    /// `owner`'s; returns whether it did. IndexedDB runs read-write
    /// transactions on a store one at a time, so this read-then-write is
    /// atomic across tabs.
    pub fn take_lease<'a>(&'a self, owner: &'a str, now_ms: f64, until_ms: f64) -> impl Future<Output = Result<bool>> + 'a {
        self.lease(owner, now_ms, Some(until_ms))
    }

    /// Gives the lease up if `owner` holds it; returns whether it did.
    pub fn release_lease<'a>(&'a self, owner: &'a str) -> impl Future<Output = Result<bool>> + 'a {
        self.lease(owner, 0.0, None)
    }

    /// Takes the lease for `owner` until `until` (see [`Store::take_lease`])
    /// or, with `None`, gives it up if `owner` holds it; returns whether it
    /// did, in one read-write transaction.
    async fn lease(&self, owner: &str, now_ms: f64, until: Option<f64>) -> Result<bool> {
        let tx = self.db.transaction(&[META], TransactionMode::ReadWrite)?;
        let store = tx.store(META)?;
        let key = JsValue::from_str("drain-lease");
        let current = store.get_all(Some(only(&key)?), Some(1)).await?.pop().unwrap_or(JsValue::UNDEFINED);
        let holder = crate::js::get(&current, "owner").as_string();
        let act = match until {
            Some(_) => super::policy::lease_available(holder.as_deref(), crate::js::get(&current, "until").as_f64().unwrap_or(0.0), owner, now_ms),
            None => holder.as_deref() == Some(owner),
        };
        if act {
            match until {
                Some(until_ms) => {
                    let lease = js_sys::Object::new();
                    crate::js::set(&lease, "owner", owner);
                    crate::js::set(&lease, "until", until_ms);
                    store.put(&lease.into(), Some(&key)).await?;
                }
                None => store.delete(key).await?,
            }
        }
        tx.done().await?;
        Ok(act)
    }
}

#[wasm_bindgen]
extern "C" {
    /// An `IDBDatabase`, for the one call web-sys offers only behind its
    /// unstable-API flag: `transaction(stores, mode, options)`.
    #[wasm_bindgen(js_name = IDBDatabase)]
    type DatabaseWithOptions;
    #[wasm_bindgen(method, catch, js_name = transaction)]
    fn transaction_with_options(this: &DatabaseWithOptions, stores: &js_sys::Array, mode: &str, options: &js_sys::Object) -> std::result::Result<web_sys::IdbTransaction, JsValue>;
}

/// The one request of a [`Store::single`].
enum Request<'a> {
    /// Reads the record of a key.
    Get(JsValue),
    /// Adds a value under a new key (the stores with auto-increment keys).
    Add(&'a JsValue),
    /// Puts a value under its key path's key, or under the key given.
    Put(&'a JsValue, Option<JsValue>),
    /// Deletes the record of a key, or the records of a key range.
    Delete(JsValue),
}

/// The key range of one key: a record is read as `getAll(only(key), 1)`,
/// the one read request the store makes.
fn only(key: &JsValue) -> Result<KeyRange> {
    Ok(KeyRange::only(key).map_err(rexie::Error::from)?)
}

/// The key range of every number key (every key of the queue), for
/// deleting them all with the delete request the store makes anyway.
fn every_number() -> Result<JsValue> {
    Ok(KeyRange::lower_bound(&JsValue::from_f64(f64::NEG_INFINITY), None).map_err(rexie::Error::from)?.into())
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
