// The in-browser half of the offline-queue benchmark (see README.md here).
// tests/bench/queue.mjs loads queue.html from the test server (repo root as
// the static dir, so this file is /static/tests/bench/queue-page.js and the
// package is /static/pkg/index.js) and calls the functions on `window.bench`.
// Every function builds its own fresh queue / database / log namespace from
// `tag`, times only the measured loop with performance.now(), checks what it
// can, and returns plain data; queue.mjs checks the server's log.
import init, { ApiClient, ApiError } from "../../pkg/index.js";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// navigator.onLine is a getter on Navigator.prototype: an own property on
// the instance shadows it; deleting that property restores the real one
// (and, unlike a real connectivity change, fires no online/offline event).
function setOffline() {
  Object.defineProperty(navigator, "onLine", { configurable: true, get: () => false });
}
function setOnline() {
  delete navigator.onLine;
}

// A sale-like body, about 200 bytes of JSON; `seq` lets the log be checked for order.
function saleBody(i) {
  return {
    seq: i,
    locationId: 1 + (i % 3),
    items: [
      { productId: 1 + (i % 40), quantity: 1 + (i % 4) },
      { productId: 41 + (i % 9), quantity: 1 },
    ],
    payments: [{ method: i % 2 ? "card" : "cash", amountCents: 1250 + i }],
    note: `bench sale ${i}`,
  };
}

const endpoint = (ns) => new URL(`/t/${encodeURIComponent(ns)}/echo`, location.href).href;

// Posts `n` bodies while navigator.onLine is false; each must reject with
// ApiError{kind:"queued"} (the record is committed before it rejects).
async function enqueueThroughSdk(client, url, n) {
  for (let i = 0; i < n; i++) {
    let err = null;
    try {
      await client.post(url, saleBody(i));
    } catch (e) {
      err = e;
    }
    if (!(err instanceof ApiError) || err.kind !== "queued") {
      throw new Error(`record ${i}: expected ApiError{kind:"queued"}, got ${err ? `${err.name} ${err.kind}: ${err.message}` : "a resolved promise"}`);
    }
  }
}

async function newClient(ns) {
  const client = new ApiClient({ namespace: ns });
  // A new client drains at start-up (and opens its database): let that finish.
  await client.drainQueue();
  return client;
}

async function queuedKeys(client, n, what) {
  const list = await client.listQueue();
  if (list.length !== n) throw new Error(`${what}: ${list.length} records in the queue, expected ${n}`);
  const keys = list.map((r) => r.idempotencyKey);
  if (new Set(keys).size !== n) throw new Error(`${what}: idempotency keys in the queue are not distinct`);
  list.forEach((r, i) => {
    if (JSON.parse(r.body).seq !== i) throw new Error(`${what}: queue record ${i} has seq ${JSON.parse(r.body).seq} (FIFO order broken)`);
  });
  return keys;
}

// --- raw IndexedDB baseline -------------------------------------------------

function idbRequest(req) {
  return new Promise((resolve, reject) => {
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
    // deleteDatabase reports "blocked" while a just-closed connection still
    // finishes its transactions, then proceeds: not an error here.
  });
}

function openRawDb(name) {
  const req = indexedDB.open(name, 1);
  req.onupgradeneeded = () => req.result.createObjectStore("queue", { keyPath: "id", autoIncrement: true });
  return idbRequest(req);
}

function txDone(tx) {
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
    tx.onabort = () => reject(tx.error || new Error("transaction aborted"));
  });
}

// The record the SDK stores (src/outbox/record.rs), built the same way an
// app would: key from the CSPRNG, body serialized here (or the given one).
function rawRecord(url, i, body = JSON.stringify(saleBody(i))) {
  const now = Date.now();
  return {
    v: 2,
    idempotencyKey: crypto.randomUUID(),
    method: "POST",
    url,
    body,
    headers: {},
    createdAt: now,
    attempts: 0,
    nextAttemptAt: now,
    lastError: "offline",
  };
}

// The record the SDK writes ahead of a call's first attempt: owned by the
// live client, no attempt yet, no error.
function writeAheadRecord(url, i, owner) {
  return { ...rawRecord(url, i), v: 3, lastError: null, owner };
}

async function rawPutLoop(db, url, n) {
  for (let i = 0; i < n; i++) {
    const tx = db.transaction("queue", "readwrite");
    tx.objectStore("queue").put(rawRecord(url, i));
    await txDone(tx);
  }
}

// --- the four measured operations ---------------------------------------------

async function enqueueSdk(tag, n) {
  const ns = `bench-enq-sdk-${tag}`;
  const client = await newClient(ns);
  setOffline();
  let ms;
  try {
    const url = endpoint(ns);
    const t0 = performance.now();
    await enqueueThroughSdk(client, url, n);
    ms = performance.now() - t0;
    await sleep(20); // the drain timers each enqueue scheduled fire (and skip: offline)
    await queuedKeys(client, n, "enqueue_sdk");
  } finally {
    setOnline();
  }
  await client.clearQueue();
  client.close();
  return { ms };
}

async function enqueueRaw(tag, n) {
  const name = `bench-raw-${tag}`;
  const db = await openRawDb(name);
  const url = endpoint(`bench-enq-raw-${tag}`);
  const t0 = performance.now();
  await rawPutLoop(db, url, n);
  const ms = performance.now() - t0;
  const tx = db.transaction("queue", "readonly");
  const count = await idbRequest(tx.objectStore("queue").count());
  db.close();
  await idbRequest(indexedDB.deleteDatabase(name));
  if (count !== n) throw new Error(`enqueue_raw: ${count} records stored, expected ${n}`);
  return { ms };
}

// Drain, in two steps so a profiler can wrap the timed one alone:
// prepareDrain fills a fresh queue (untimed), runDrain times drainQueue().
const prepared = new Map();

async function prepareDrain(tag, n) {
  const ns = `bench-drain-sdk-${tag}`;
  const client = await newClient(ns);
  setOffline();
  try {
    await enqueueThroughSdk(client, endpoint(ns), n);
    await sleep(50); // pending timer drains fire while still offline (and skip)
    prepared.set(tag, { ns, n, client, keys: await queuedKeys(client, n, "drain_sdk") });
  } finally {
    setOnline();
  }
}

async function runDrain(tag) {
  const { ns, n, client, keys } = prepared.get(tag);
  prepared.delete(tag);
  const t0 = performance.now();
  const report = await client.drainQueue();
  const ms = performance.now() - t0;
  const left = await client.queueSize();
  client.close();
  if (!report || report.sent !== n || report.deadLettered !== 0 || report.remaining !== 0 || report.skipped) {
    throw new Error(`drain_sdk: drain report ${JSON.stringify(report)}, expected ${n} sent and nothing left`);
  }
  if (left !== 0) throw new Error(`drain_sdk: ${left} records still queued after the drain`);
  return { ms, ns, keys };
}

async function drainFetch(tag, n) {
  const ns = `bench-drain-fetch-${tag}`;
  const url = endpoint(ns);
  // What the queue holds: stored keys and already-serialized bodies.
  const reqs = Array.from({ length: n }, (_, i) => ({ key: crypto.randomUUID(), body: JSON.stringify(saleBody(i)) }));
  const t0 = performance.now();
  for (const r of reqs) {
    const res = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/json", "idempotency-key": r.key },
      body: r.body,
    });
    if (res.status !== 200) throw new Error(`drain_fetch: status ${res.status}`);
    await res.json();
  }
  const ms = performance.now() - t0;
  return { ms, ns, keys: reqs.map((r) => r.key) };
}

// --- diagnostics (BENCH_PROFILE=1): where the SDK's time goes ---------------------

// Counts the platform calls the SDK makes, by wrapping prototypes (the
// wasm-bindgen glue looks methods up on each call, so wrappers see them).
function instrument() {
  const counts = {};
  const bump = (k) => { counts[k] = (counts[k] || 0) + 1; };
  const restore = [];
  const wrap = (obj, name, label) => {
    const orig = obj[name];
    obj[name] = function (...args) {
      bump(typeof label === "function" ? label.apply(this, args) : label);
      return orig.apply(this, args);
    };
    restore.push(() => { obj[name] = orig; });
  };
  wrap(IDBDatabase.prototype, "transaction", (stores, mode) => `idb tx ${mode || "readonly"} [${[].concat(stores).join(",")}]`);
  for (const m of ["add", "put", "get", "getAll", "count", "delete", "clear", "openCursor"]) {
    wrap(IDBObjectStore.prototype, m, `idb ${m}`);
  }
  wrap(globalThis, "fetch", "fetch");
  wrap(BroadcastChannel.prototype, "postMessage", "BroadcastChannel.postMessage");
  wrap(globalThis, "setTimeout", "setTimeout");
  wrap(EventTarget.prototype, "dispatchEvent", function (e) { return `dispatchEvent ${e.type}`; });
  if (navigator.locks) wrap(LockManager.prototype, "request", "navigator.locks.request");
  return { counts, stop: () => restore.reverse().forEach((f) => f()) };
}

async function countCalls(tag, n) {
  const out = {};
  // enqueue
  {
    const ns = `bench-count-enq-${tag}`;
    const client = await newClient(ns);
    setOffline();
    const ins = instrument();
    try {
      await enqueueThroughSdk(client, endpoint(ns), n);
    } finally {
      ins.stop();
      setOnline();
    }
    out.enqueue = perRecord(ins.counts, n);
    await client.clearQueue();
    client.close();
  }
  // drain
  {
    const ns = `bench-count-drain-${tag}`;
    const client = await newClient(ns);
    setOffline();
    try {
      await enqueueThroughSdk(client, endpoint(ns), n);
      await sleep(50);
    } finally {
      setOnline();
    }
    const ins = instrument();
    try {
      const report = await client.drainQueue();
      if (report.sent !== n) throw new Error(`count drain: sent ${report.sent}`);
    } finally {
      ins.stop();
    }
    out.drain = perRecord(ins.counts, n);
    out.drainNs = ns;
    client.close();
  }
  return out;
}

function perRecord(counts, n) {
  return Object.fromEntries(Object.entries(counts).sort().map(([k, v]) => [k, Math.round((v / n) * 1000) / 1000]));
}

// Times the IndexedDB operations the SDK performs per record, each alone in
// a loop of `n` on a store of ~n records: the cost of one transaction of each kind.
async function microCosts(tag, n) {
  const name = `bench-micro-${tag}`;
  const db = await openRawDb(name);
  const url = endpoint(`bench-micro-${tag}`);
  const res = {};
  // timeLoop(count)(label, fn): awaits fn(i) for i = 0 .. count-1 in turn;
  // res[label] is the mean ms per call.
  const timeLoop = (count) => async (label, fn) => {
    const t0 = performance.now();
    for (let i = 0; i < count; i++) await fn(i);
    res[label] = (performance.now() - t0) / count;
  };
  const time = timeLoop(n);
  let ids = [];
  await time("readwrite tx: add 1 record", async (i) => {
    const tx = db.transaction("queue", "readwrite");
    const r = tx.objectStore("queue").add(rawRecord(url, i));
    r.onsuccess = () => ids.push(r.result);
    await txDone(tx);
  });
  await time("readonly tx: count()", async () => {
    const tx = db.transaction("queue", "readonly");
    await idbRequest(tx.objectStore("queue").count());
  });
  await time("readonly tx: getAll(null, 1) (the head)", async () => {
    const tx = db.transaction("queue", "readonly");
    await idbRequest(tx.objectStore("queue").getAll(null, 1));
  });
  await time("readwrite tx: delete 1 record", async (i) => {
    const tx = db.transaction("queue", "readwrite");
    tx.objectStore("queue").delete(ids[i]);
    await txDone(tx);
  });
  // CPU-only steps the SDK adds per enqueued record, each in a tight loop.
  const glue = await glueModule();
  const ch = new BroadcastChannel(`bench-micro-${tag}`);
  const receiver = new BroadcastChannel(`bench-micro-${tag}`); // like another tab's client
  receiver.onmessage = () => {};
  const target = new EventTarget();
  target.addEventListener("queue-size", () => {});
  const cpu = timeLoop(Math.max(n, 1000));
  await cpu("cpu: JSON.stringify(body)", (i) => JSON.stringify(saleBody(i)));
  await cpu("cpu: glue serializeBody(body) (replacer with paths and cycle check)", (i) => glue.serializeBody(saleBody(i)));
  await cpu("cpu: BroadcastChannel.postMessage({size}), a receiver open", (i) => ch.postMessage({ size: i }));
  await cpu("cpu: dispatch a CustomEvent (one listener)", (i) => target.dispatchEvent(new CustomEvent("queue-size", { detail: { size: i } })));
  await cpu("cpu: setTimeout(fn, 0) (scheduling only)", () => { setTimeout(() => {}, 0); });
  await cpu("cpu: reject with a new ApiError through an async function", async (i) => {
    try {
      await (async () => { throw glue.makeApiError("queued", `POST ${url} could not be delivered now (offline); queued as #${i}`, { queueId: i }); })();
    } catch { /* expected */ }
  });
  await cpu("cpu: crypto.randomUUID()", () => crypto.randomUUID());
  await sleep(20);
  ch.close();
  receiver.close();
  db.close();
  await idbRequest(indexedDB.deleteDatabase(name));
  return res;
}

// The durability hints of an IndexedDB transaction: the browser's default
// (what the SDK uses), "relaxed" (complete once the OS has the data) and
// "strict" (complete once it is flushed to disk).
const DURABILITY_MODES = ["default", "relaxed", "strict"];

// What the write-ahead and its removal cost under each durability hint:
// per mode, `n` readwrite transactions of one `add` of a write-ahead record
// (as the SDK's write-ahead), then `n` of one `delete` by id (as the removal
// after the final answer), each awaited to `complete`. The modes take turns
// over `rounds` rounds (order rotating) on one database. Returns the mean µs
// per transaction of each round, by operation and mode.
async function durabilityCosts(tag, n, rounds) {
  const name = `bench-durability-${tag}`;
  const db = await openRawDb(name);
  const url = endpoint(`bench-durability-${tag}`);
  const owner = crypto.randomUUID();
  const us = { add: {}, delete: {} };
  for (const op of Object.keys(us)) for (const mode of DURABILITY_MODES) us[op][mode] = [];
  try {
    for (let r = 0; r < rounds; r++) {
      const order = DURABILITY_MODES.map((_, i) => DURABILITY_MODES[(i + r) % DURABILITY_MODES.length]);
      for (const mode of order) {
        const options = mode === "default" ? undefined : { durability: mode };
        const ids = [];
        let t0 = performance.now();
        for (let i = 0; i < n; i++) {
          const tx = db.transaction("queue", "readwrite", options);
          const req = tx.objectStore("queue").add(writeAheadRecord(url, i, owner));
          await txDone(tx);
          ids.push(req.result);
        }
        us.add[mode].push(((performance.now() - t0) * 1000) / n);
        t0 = performance.now();
        for (const id of ids) {
          const tx = db.transaction("queue", "readwrite", options);
          tx.objectStore("queue").delete(id);
          await txDone(tx);
        }
        us.delete[mode].push(((performance.now() - t0) * 1000) / n);
      }
    }
    const left = await idbRequest(db.transaction("queue", "readonly").objectStore("queue").count());
    if (left !== 0) throw new Error(`durability: ${left} records left after the deletes`);
  } finally {
    db.close();
    await idbRequest(indexedDB.deleteDatabase(name));
  }
  return us;
}

// Rebuilds the SDK's per-record pattern step by step in plain JavaScript
// (its glue.js helpers included), next to the SDK itself and the baseline,
// interleaved over `rounds` rounds: the median µs/record of each variant
// shows what each step of the SDK adds.
// The helpers are the sources' js/glue.js: the package bundles them into
// its index.js, where they are not exported.
function glueModule() {
  return import(new URL("../../js/glue.js", import.meta.url).href);
}

async function decompose(tag, n, rounds) {
  const glue = await glueModule();
  const url = endpoint(`bench-decomp-${tag}`);
  const q = { size: 0 };
  const events = new EventTarget();
  const channel = new BroadcastChannel(`bench-decomp-${tag}`);
  const announce = (size) => {
    events.dispatchEvent(new CustomEvent("queue-size", { detail: { size } }));
    channel.postMessage({ size });
  };
  // One readwrite transaction: add, then count (what Store::add does).
  const addCount = async (db, rec) => {
    const tx = db.transaction("queue", "readwrite");
    const st = tx.objectStore("queue");
    let out;
    st.add(rec).onsuccess = (e) => {
      const id = e.target.result;
      st.count().onsuccess = (c) => { out = [id, c.target.result]; };
    };
    await txDone(tx);
    return out;
  };
  // One readwrite transaction: delete the head, read the next (Store::remove_then_head).
  const removeThenHead = async (db, id) => {
    const tx = db.transaction("queue", "readwrite");
    const st = tx.objectStore("queue");
    let next;
    st.delete(id).onsuccess = () => {
      st.getAll(null, 1).onsuccess = (e) => { next = e.target.result[0]; };
    };
    await txDone(tx);
    return next;
  };
  // The first `k` records, in one readonly transaction; the head alone.
  const headsOf = (db, k) => idbRequest(db.transaction("queue", "readonly").objectStore("queue").getAll(null, k));
  const headOf = async (db) => (await headsOf(db, 1))[0];
  const fill = async (db, ns) => {
    const tx = db.transaction("queue", "readwrite");
    for (let i = 0; i < n; i++) tx.objectStore("queue").add(rawRecord(endpoint(ns), i));
    await txDone(tx);
  };
  const withDb = async (name, fn) => {
    const db = await openRawDb(name);
    try {
      return await fn(db);
    } finally {
      db.close();
      await idbRequest(indexedDB.deleteDatabase(name));
    }
  };

  // add then count, the count issued only after the add's result (what
  // rexie's `store.add(..).await; store.count(..).await` does) ...
  // ... or issued at once behind it (IndexedDB runs a transaction's
  // requests in order, so the count still sees the new record).
  const addCountPipelined = async (db, rec) => {
    const tx = db.transaction("queue", "readwrite");
    const st = tx.objectStore("queue");
    const a = st.add(rec);
    const c = st.count();
    await txDone(tx);
    return [a.result, c.result];
  };
  const removeThenHeadPipelined = async (db, id) => {
    const tx = db.transaction("queue", "readwrite");
    const st = tx.objectStore("queue");
    st.delete(id);
    const g = st.getAll(null, 1);
    await txDone(tx);
    return g.result[0];
  };
  const removeOnly = (db, id) => {
    const tx = db.transaction("queue", "readwrite");
    tx.objectStore("queue").delete(id);
    return txDone(tx);
  };
  const post = async (rec) => {
    const res = await fetch(rec.url, { method: "POST", headers: { "content-type": "application/json", "idempotency-key": rec.idempotencyKey }, body: rec.body });
    await res.json();
  };

  const enqueueVariants = {
    "E0 raw: one put per readwrite tx, await complete (the baseline)": (db) => rawPutLoop(db, url, n),
    "E1 add, then count after add's result, one readwrite tx (an early Store::add)": async (db) => {
      for (let i = 0; i < n; i++) await addCount(db, rawRecord(url, i));
    },
    "E1p add + count issued together in one readwrite tx": async (db) => {
      for (let i = 0; i < n; i++) await addCountPipelined(db, rawRecord(url, i));
    },
    "E2a E1 + a BroadcastChannel.postMessage per record": async (db) => {
      for (let i = 0; i < n; i++) {
        const [, size] = await addCount(db, rawRecord(url, i));
        channel.postMessage({ size });
      }
    },
    "E2b E1 + a setTimeout(0) per record (the drain timer Drainer::schedule arms)": async (db) => {
      for (let i = 0; i < n; i++) {
        await addCount(db, rawRecord(url, i));
        setTimeout(() => {}, 0);
      }
    },
    "E2c E1 + serializeBody, 2 CustomEvents, ApiError rejection (CPU-only extras)": async (db) => {
      const one = async (i) => {
        const [id, size] = await addCount(db, rawRecord(url, i, glue.serializeBody(saleBody(i))));
        events.dispatchEvent(new CustomEvent("queue-size", { detail: { size } }));
        events.dispatchEvent(new CustomEvent("queued", { detail: { queueId: id } }));
        throw glue.makeApiError("queued", `POST ${url} could not be delivered now (offline); queued as #${id} and will be sent when the connection returns (0 attempts)`, { idempotencyKey: "k", attempts: 0, queueId: id });
      };
      for (let i = 0; i < n; i++) {
        try { await one(i); } catch (e) { if (e.kind !== "queued") throw e; }
      }
    },
    "E2 E1 + serializeBody, queue-size/queued events, BroadcastChannel, setTimeout(0), ApiError rejection": async (db) => {
      const one = async (i) => {
        const [id, size] = await addCount(db, rawRecord(url, i, glue.serializeBody(saleBody(i))));
        announce(size);
        events.dispatchEvent(new CustomEvent("queued", { detail: { queueId: id } }));
        setTimeout(() => {}, 0);
        throw glue.makeApiError("queued", `POST ${url} could not be delivered now (offline); queued as #${id} and will be sent when the connection returns (0 attempts)`, { idempotencyKey: "k", attempts: 0, queueId: id });
      };
      for (let i = 0; i < n; i++) {
        try { await one(i); } catch (e) { if (e.kind !== "queued") throw e; }
      }
    },
  };
  const drainVariants = {
    "D0 fetch loop (the baseline)": async (db, ns) => {
      for (let i = 0; i < n; i++) {
        const res = await fetch(endpoint(ns), { method: "POST", headers: { "content-type": "application/json", "idempotency-key": crypto.randomUUID() }, body: JSON.stringify(saleBody(i)) });
        await res.json();
      }
    },
    "D1 fetch + delete, then next head after delete's result, one readwrite tx (an early SDK)": async (db) => {
      let rec = await headOf(db);
      while (rec) {
        await post(rec);
        rec = await removeThenHead(db, rec.id);
      }
    },
    "D1p fetch + delete & next head issued together in one readwrite tx": async (db) => {
      let rec = await headOf(db);
      while (rec) {
        await post(rec);
        rec = await removeThenHeadPipelined(db, rec.id);
      }
    },
    "D1b fetch + delete-only tx; heads read 50 at a time": async (db) => {
      for (;;) {
        const batch = await headsOf(db, 50);
        if (!batch.length) break;
        for (const rec of batch) {
          await post(rec);
          await removeOnly(db, rec.id);
        }
      }
    },
    "D1o fetch of record k+1 overlapping the delete tx of record k; heads read 50 at a time": async (db) => {
      let pending = Promise.resolve();
      for (;;) {
        await pending; // the batch read must not see a record whose delete is in flight
        const batch = await headsOf(db, 50);
        if (!batch.length) break;
        for (const rec of batch) {
          await post(rec);
          await pending; // at most one delete in flight; order of deletes kept
          pending = removeOnly(db, rec.id);
        }
      }
    },
    "D1r fetch; delivered records deleted 16 at a time (one key-range delete tx) while the next ones are fetched; heads read 16 at a time after the last read id (the SDK's pattern)": async (db) => {
      const after = (lastId) => {
        const range = lastId === null ? null : IDBKeyRange.lowerBound(lastId, true);
        return idbRequest(db.transaction("queue", "readonly").objectStore("queue").getAll(range, 16));
      };
      let pending = Promise.resolve();
      let lastId = null;
      for (;;) {
        const batch = await after(lastId);
        if (!batch.length) break;
        for (const rec of batch) await post(rec);
        lastId = batch[batch.length - 1].id;
        await pending; // at most one delete in flight
        pending = removeOnly(db, IDBKeyRange.bound(batch[0].id, lastId));
      }
      await pending;
    },
    "D2 D1 + glue attempt() (AbortController, 60 s timer, Headers, body read and parsed), sent event": async (db) => {
      let rec = await headOf(db);
      while (rec) {
        // attempt builds the Headers: Content-Type for the body, then the key.
        const r = await glue.attempt(rec.url, "POST", [], rec.body, rec.idempotencyKey, 60000, undefined);
        if (r.outcome !== 1) throw new Error(`attempt: outcome ${r.outcome}`); // 1: a response (glue.js RESPONSE)
        events.dispatchEvent(new CustomEvent("sent", { detail: { queueId: rec.id, body: r.body, status: r.status } }));
        rec = await removeThenHead(db, rec.id);
      }
    },
  };

  const times = {};
  const push = (k, v) => (times[k] ||= []).push(v);
  for (let r = 0; r < rounds; r++) {
    const enq = [...Object.entries(enqueueVariants), ["E3 the SDK: client.post() while offline", null]];
    const drn = [...Object.entries(drainVariants), ["D3 the SDK: client.drainQueue()", null]];
    const rotate = (a) => a.slice(r % a.length).concat(a.slice(0, r % a.length));
    for (const [label, fn] of rotate(enq)) {
      if (!fn) {
        push(label, (await enqueueSdk(`decomp-${tag}-${r}`, n)).ms);
        continue;
      }
      await withDb(`bench-decomp-${tag}-${r}`, async (db) => {
        const t0 = performance.now();
        await fn(db);
        push(label, performance.now() - t0);
      });
    }
    for (const [label, fn] of rotate(drn)) {
      if (!fn) {
        await prepareDrain(`decomp-${tag}-${r}`, n);
        const d = await runDrain(`decomp-${tag}-${r}`);
        await fetch(`/log/${encodeURIComponent(d.ns)}`, { method: "DELETE" });
        push(label, d.ms);
        continue;
      }
      const ns = `bench-decomp-${tag}-${r}-${label.slice(0, 2)}`;
      await withDb(`bench-decomp-d-${tag}-${r}`, async (db) => {
        if (!label.startsWith("D0")) await fill(db, ns); // untimed: the queued records
        const t0 = performance.now();
        await fn(db, ns);
        push(label, performance.now() - t0);
      });
      await fetch(`/log/${encodeURIComponent(ns)}`, { method: "DELETE" });
    }
  }
  channel.close();
  const med = (a) => { const s = [...a].sort((x, y) => x - y); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
  return Object.fromEntries(Object.entries(times).sort().map(([k, v]) => [k, Math.round(med(v) * 1000 / n)]));
}

await init();
window.bench = { enqueueSdk, enqueueRaw, prepareDrain, runDrain, drainFetch, countCalls, microCosts, durabilityCosts, decompose };
window.benchReady = true;
