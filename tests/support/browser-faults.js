// Test-only helpers for the outbox suite (tests/web_outbox.rs): simulate
// offline, remove platform APIs, inject IndexedDB faults, and write raw
// records the way an older version (or a corrupt disk) would.

/** Makes `navigator.onLine` report `online` (true restores the real one). */
export function setOnline(online) {
  if (online) delete navigator.onLine;
  else Object.defineProperty(navigator, "onLine", { configurable: true, get: () => false });
}

/** Hides `navigator.locks` (true) or brings it back (false). */
export function hideWebLocks(hidden) {
  if (hidden) Object.defineProperty(navigator, "locks", { configurable: true, value: undefined });
  else delete navigator.locks;
}

// On Window, attributes are own properties of the global object: keep the
// original descriptor to put it back.
const realIndexedDB = Object.getOwnPropertyDescriptor(globalThis, "indexedDB")
  || Object.getOwnPropertyDescriptor(Object.getPrototypeOf(globalThis), "indexedDB");
/** Makes `indexedDB` unavailable (true) or restores it (false). */
export function hideIndexedDB(hidden) {
  if (hidden) Object.defineProperty(globalThis, "indexedDB", { configurable: true, value: undefined });
  else Object.defineProperty(globalThis, "indexedDB", realIndexedDB);
}

const realAdd = IDBObjectStore.prototype.add;
/** Makes every IDBObjectStore.add throw QuotaExceededError (true), or not. */
export function failAddsWithQuota(failing) {
  IDBObjectStore.prototype.add = failing
    ? function () { throw new DOMException("The quota has been exceeded (test).", "QuotaExceededError"); }
    : realAdd;
}

function request(r) {
  return new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });
}

function committed(tx) {
  return new Promise((resolve, reject) => { tx.oncomplete = resolve; tx.onerror = () => reject(tx.error); });
}

/** Opens database `name` at `version`, creating the schema's first
 *  release (only the `queue` store) if it is new. */
function openV1(name, version) {
  const open = indexedDB.open(name, version);
  open.onupgradeneeded = () => open.result.createObjectStore("queue", { keyPath: "id", autoIncrement: true });
  return request(open);
}

/** Creates database `name` at version 1 (only the `queue` store, as the
 *  first release of the schema had it) holding `records`, then closes it. */
export async function createV1Database(name, records) {
  const db = await openV1(name, 1);
  const tx = db.transaction("queue", "readwrite");
  for (const r of records) tx.objectStore("queue").add(r);
  await committed(tx);
  db.close();
}

/** Adds `value` to store `store` of the existing database `name`. */
export async function addRaw(name, store, value) {
  const db = await request(indexedDB.open(name));
  const tx = db.transaction(store, "readwrite");
  tx.objectStore(store).add(value);
  await committed(tx);
  db.close();
}

/** Opens database `name` at `version` and keeps it open, ignoring
 *  `versionchange` (as a stale tab would): later upgrades are blocked. */
export async function holdOpen(name, version) {
  return await openV1(name, version);
}

/** Takes Web Lock `name` as another tab would, and holds it until the
 *  returned function is called. Resolves once the lock is held. */
export async function holdWebLock(name) {
  let release;
  const released = new Promise((resolve) => (release = resolve));
  await new Promise((held) => navigator.locks.request(name, () => { held(); return released; }));
  return release;
}

const realDelete = IDBObjectStore.prototype.delete;
/** Counts `delete` requests on the `queue` store of database `name` from
 *  now on; returns a function that stops counting and returns the count. */
export function countQueueDeletes(name) {
  let count = 0;
  IDBObjectStore.prototype.delete = function (query) {
    if (this.name === "queue" && this.transaction.db.name === name) count++;
    return realDelete.call(this, query);
  };
  return () => {
    IDBObjectStore.prototype.delete = realDelete;
    return count;
  };
}

/** Resolves after `ms` (a pace for loops that repeat an action). */
export function pause(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Opens a same-origin iframe (a page of the app) that loads this test
 * binary's build of the SDK and posts `body` to `url` with a client of
 * `namespace` and idempotency key `key`. Resolves, once that client has
 * started the post, with a function that removes the iframe: the page dies
 * with its request on the wire, as when a tab is closed or reloaded.
 */
export async function postFromPageThatWillDie(namespace, url, body, key) {
  // The test runner serves the test binary's module and its wasm here.
  const moduleUrl = new URL("/wasm-bindgen-test.js", location.href).href;
  const wasmUrl = new URL("/wasm-bindgen-test_bg.wasm", location.href).href;
  const frame = document.createElement("iframe");
  const started = new Promise((resolve, reject) => {
    const onMessage = (e) => {
      if (e.source !== frame.contentWindow) return;
      window.removeEventListener("message", onMessage);
      if (e.data && e.data.posting) resolve();
      else reject(new Error(`the doomed page failed: ${e.data && e.data.error}`));
    };
    window.addEventListener("message", onMessage);
  });
  frame.srcdoc = `<script type="module">
    try {
      const { default: init, ApiClient } = await import(${JSON.stringify(moduleUrl)});
      await init(${JSON.stringify(wasmUrl)});
      const client = new ApiClient({ namespace: ${JSON.stringify(namespace)} });
      client.post(${JSON.stringify(url)}, ${JSON.stringify(body)}, { idempotencyKey: ${JSON.stringify(key)} }).catch(() => {});
      parent.postMessage({ posting: true }, "*");
    } catch (e) {
      parent.postMessage({ error: String(e && e.message || e) }, "*");
    }
  </script>`;
  document.body.appendChild(frame);
  await started;
  return () => frame.remove();
}

/** `promise`, or a rejection naming `what` if it has not settled within `ms`. */
export function within(promise, ms, what) {
  let timer;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Counts `unhandledrejection` events from now on; returns a function that
 *  stops counting and returns the count. */
export function countUnhandledRejections() {
  let count = 0;
  const onRejection = () => { count += 1; };
  globalThis.addEventListener("unhandledrejection", onRejection);
  return () => {
    globalThis.removeEventListener("unhandledrejection", onRejection);
    return count;
  };
}

const realTransaction = IDBDatabase.prototype.transaction;
/** Counts read-write transactions on the `queue` store of database `name`
 *  from now on; returns a function that stops counting and returns the count. */
export function countQueueWriteTransactions(name) {
  let count = 0;
  IDBDatabase.prototype.transaction = function (stores, mode, options) {
    const names = typeof stores === "string" ? [stores] : [...stores];
    if (this.name === name && mode === "readwrite" && names.includes("queue")) count++;
    return realTransaction.call(this, stores, mode, options);
  };
  return () => {
    IDBDatabase.prototype.transaction = realTransaction;
    return count;
  };
}

/** Records the durability asked for by each read-write transaction on the
 *  `queue` store of database `name` from now on ("default" when none);
 *  returns a function that stops recording and returns them in order. */
export function recordQueueDurability(name) {
  const seen = [];
  IDBDatabase.prototype.transaction = function (stores, mode, options) {
    const names = typeof stores === "string" ? [stores] : [...stores];
    if (this.name === name && mode === "readwrite" && names.includes("queue")) seen.push(options?.durability ?? "default");
    return realTransaction.call(this, stores, mode, options);
  };
  return () => {
    IDBDatabase.prototype.transaction = realTransaction;
    return seen;
  };
}
