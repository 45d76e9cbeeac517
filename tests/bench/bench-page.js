// The in-browser half of `make bench` (tests/bench/bench.mjs, README.md here).
// bench.mjs copies this file, bench.html and esbuild bundles of `ky` (ky.js)
// and of `@tanstack/offline-transactions` with `@tanstack/db` (tanstack.js)
// into target/bench/www/ and serves that directory from the
// reference server (`pos-server --www target/bench/www --pkg pkg`), so the
// page, the package (/pkg/index.js) and POST /api/sales share one origin, and
// from the test server (/static/target/bench/www/bench.html, package at
// /static/pkg/index.js) for the trivial echo endpoint. The package URL comes
// from the query string (?pkg=…). Every function here times only its measured
// loop with performance.now() and returns plain data.
const params = new URLSearchParams(location.search);
const PKG = params.get("pkg") || "/pkg/index.js";

let sdk = null; // the package's module
let wasm = null; // init()'s result: the module's exports, incl. memory
let ky = null;
let tanstack = null; // tanstack.js: startOfflineExecutor, IndexedDBAdapter, …
let offline = null; // the TanStack offline executor (startTanstack)
let salesCollection = null; // the TanStack DB collection its sales are inserted into

// Not timed (init_ms is measured by initTiming in a fresh page).
async function setup() {
  sdk = await import(PKG);
  wasm = await sdk.default();
  ky = (await import("./ky.js")).default;
  tanstack = await import("./tanstack.js");
  return { crossOriginIsolated: self.crossOriginIsolated === true, timerResolutionUs: timerResolution() };
}

// Smallest non-zero step of performance.now(), in µs (100 µs when the page
// is not cross-origin isolated, 5 µs when it is).
function timerResolution() {
  let best = Infinity;
  for (let i = 0; i < 50; i++) {
    const a = performance.now();
    let b = a;
    while (b === a) b = performance.now();
    best = Math.min(best, b - a);
  }
  return Math.round(best * 1000 * 10) / 10;
}

// init() plus client creation in this (fresh) page.
async function initTiming() {
  const mod = await import(PKG); // module fetch + evaluation: not part of the figure
  const t0 = performance.now();
  await mod.default();
  const client = new mod.ApiClient({ namespace: `init-${crypto.randomUUID()}` });
  const ms = performance.now() - t0;
  client.close();
  return { ms };
}

const authHeaders = (token) => (token ? { Authorization: `Bearer ${token}` } : {});

// The ways of posting one sale. Each parses the JSON response.
function sides(url, body, token) {
  const auth = authHeaders(token);
  return {
    sdk: () => sdk.apiPost(url, body, { headers: auth }),
    sdk_no_write_ahead: () => sdk.apiPost(url, body, { headers: auth, writeAhead: false }),
    fetch: async () => {
      const res = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json", "Idempotency-Key": crypto.randomUUID(), ...auth },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`fetch: HTTP ${res.status}`);
      return res.json();
    },
    // ky with its retry (POST included, the SDK's status list, 3 retries)
    // and per-attempt timeout (60 s, the SDK's default) on.
    ky: () =>
      ky
        .post(url, {
          json: body,
          headers: { "Idempotency-Key": crypto.randomUUID(), ...auth },
          retry: { limit: 3, methods: ["post"], statusCodes: [408, 425, 429, 500, 502, 503, 504] },
          timeout: 60_000,
        })
        .json(),
    tanstack: () => tanstackSale(body),
  };
}

// Starts a TanStack offline executor (not timed) as its README sets one up:
// IndexedDB storage (a fresh database), a local-only collection of sales,
// and a mutation function that POSTs the inserted sale to `url` with the
// transaction's idempotency key; a 4xx is a NonRetriableError. Fails unless
// the executor runs in offline mode as the leader (it persists then).
async function startTanstack(url, token) {
  const { startOfflineExecutor, IndexedDBAdapter, NonRetriableError, createCollection, localOnlyCollectionOptions } = tanstack;
  const auth = authHeaders(token);
  salesCollection = createCollection(localOnlyCollectionOptions({ id: "sales", getKey: (sale) => sale.id }));
  offline = startOfflineExecutor({
    collections: { sales: salesCollection },
    storage: new IndexedDBAdapter(`bench-tanstack-${crypto.randomUUID()}`, "transactions"),
    mutationFns: {
      postSale: async ({ transaction, idempotencyKey }) => {
        const { id, ...sale } = transaction.mutations[0].modified;
        const res = await fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "Idempotency-Key": idempotencyKey, ...auth },
          body: JSON.stringify(sale),
        });
        if (res.status >= 400 && res.status < 500) throw new NonRetriableError(`HTTP ${res.status}`);
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        return res.json();
      },
    },
  });
  await offline.waitForInit();
  if (!offline.isOfflineEnabled) throw new Error(`TanStack executor not persisting: mode ${offline.mode}, ${offline.storageDiagnostic.message}`);
  return { mode: offline.mode, storage: offline.storageDiagnostic.message };
}

// One sale through the TanStack executor: the insert is persisted to its
// outbox, then the mutation function runs; commit() resolves once the
// server has answered and the transaction has left the outbox.
async function tanstackSale(body) {
  const tx = offline.createOfflineTransaction({ mutationFnName: "postSale", autoCommit: false });
  tx.mutate(() => salesCollection.insert({ id: crypto.randomUUID(), ...body }));
  return tx.commit();
}

// Transactions still in the TanStack outbox.
async function tanstackOutbox() {
  return (await offline.peekOutbox()).length;
}

// Records in the default client's outbox (database pos-resilience:default),
// read with plain IndexedDB once they have had `ms` to be removed: the
// write-ahead records of finished calls are deleted in the background.
async function sdkOutbox(ms) {
  await new Promise((r) => setTimeout(r, ms));
  const db = await new Promise((resolve, reject) => {
    const req = indexedDB.open("pos-resilience:default");
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(req.error);
  });
  try {
    return await new Promise((resolve, reject) => {
      const req = db.transaction("queue", "readonly").objectStore("queue").count();
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  } finally {
    db.close();
  }
}

// n sequential calls per side, interleaved in blocks of `block`: the sides
// take turns block by block (order rotating per block), so drift in the
// machine or the server hits all sides alike. Returns the per-call latencies
// (ms) per side and each side's summed time.
async function latency(url, body, token, n, block, names) {
  const fns = sides(url, body, token);
  const lat = Object.fromEntries(names.map((s) => [s, []]));
  const check = (r, side) => {
    if (!r || typeof r !== "object") throw new Error(`${side}: unexpected response ${JSON.stringify(r)}`);
  };
  let b = 0;
  while (lat[names[0]].length < n) {
    const order = names.map((_, i) => names[(i + b) % names.length]);
    for (const side of order) {
      const fn = fns[side];
      const m = Math.min(block, n - lat[side].length);
      for (let i = 0; i < m; i++) {
        const t0 = performance.now();
        const r = await fn();
        lat[side].push(performance.now() - t0);
        check(r, side);
      }
    }
    b++;
  }
  return lat;
}

// n identical concurrent apiPost calls; counts the fetches the page makes
// to `url` by wrapping window.fetch (the SDK calls the page's fetch).
async function dedupBurst(url, body, token, n) {
  const real = window.fetch;
  let sent = 0;
  window.fetch = function (input, init) {
    const u = typeof input === "string" ? input : input && input.url;
    if (String(u).startsWith(url)) sent++;
    return real.call(this, input, init);
  };
  try {
    const opts = { headers: authHeaders(token) };
    const t0 = performance.now();
    const ps = [];
    for (let i = 0; i < n; i++) ps.push(sdk.apiPost(url, body, opts));
    const results = await Promise.all(ps);
    const ms = performance.now() - t0;
    const first = JSON.stringify(results[0]);
    const same = results.every((r) => r === results[0] || JSON.stringify(r) === first);
    return { ms, sent, same };
  } finally {
    window.fetch = real;
  }
}

// n sequential apiPost calls (the heap-growth loop); nothing kept.
async function posts(url, body, token, n) {
  const opts = { headers: authHeaders(token) };
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await sdk.apiPost(url, body, opts);
  return performance.now() - t0;
}

const wasmBytes = () => wasm.memory.buffer.byteLength;

window.bench = { setup, initTiming, latency, dedupBurst, posts, wasmBytes, startTanstack, tanstackOutbox, sdkOutbox };
window.benchReady = true;
