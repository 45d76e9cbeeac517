// The floor under post_vs_fetch_p50 with the write-ahead on: what one
// IndexedDB transaction with durability "strict" before each POST costs in
// plain JavaScript, beside the SDK doing the same work, in one page.
//
// Four sides take turns in blocks of 100 sequential POSTs to the test
// server's echo endpoint: the SDK (write-ahead on), the SDK with
// writeAhead: false, bare fetch, and "raw": a strict add, then the fetch,
// with the records deleted 16 at a time as the SDK's removals are. Prints the
// p50 of each side and the ratios to fetch per round, for an in-memory
// profile (a fresh browser context) and an on-disk one (a persistent
// profile in a temporary folder), where IndexedDB is LevelDB on this disk.
//
//   node tests/bench/write-ahead-floor.mjs        (FLOOR_N=1000 calls per side per round, FLOOR_ROUNDS=4)
//
// Needs pkg/ built (make pkg) and node_modules (make tools).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startTestServer } from "../support/test-server.mjs";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const N = Number(process.env.FLOOR_N || 1000);
const ROUNDS = Number(process.env.FLOOR_ROUNDS || 4);
const executablePath = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
if (!fs.existsSync(path.join(root, "pkg/index.js"))) throw new Error("pkg/ is not built: make pkg");

const srv = await startTestServer({ port: 0, staticDir: root });

async function measure(page) {
  await page.goto(`${srv.url}/static/tests/bench/bench.html`);
  return page.evaluate(async ({ base, n, rounds }) => {
    const mod = await import(`${base}/static/pkg/index.js`);
    await mod.default();
    const url = `${base}/t/floor-${crypto.randomUUID()}/echo`;
    const client = new mod.ApiClient({ namespace: `floor-${crypto.randomUUID()}` });
    const db = await new Promise((ok, ko) => {
      const r = indexedDB.open(`floor-raw-${crypto.randomUUID()}`, 1);
      r.onupgradeneeded = () => r.result.createObjectStore("queue", { keyPath: "id", autoIncrement: true });
      r.onsuccess = () => ok(r.result);
      r.onerror = () => ko(r.error);
    });
    const done = (tx) => new Promise((ok, ko) => { tx.oncomplete = ok; tx.onerror = tx.onabort = () => ko(tx.error); });
    const post = async (body) => {
      const r = await fetch(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json", "idempotency-key": crypto.randomUUID() } });
      return r.json();
    };
    let pending = [];
    const sides = {
      sdk: (i) => client.post(url, { i }),
      sdk_no_write_ahead: (i) => client.post(url, { i }, { writeAhead: false }),
      fetch: (i) => post({ i }),
      raw: async (i) => {
        const tx = db.transaction("queue", "readwrite", { durability: "strict" });
        const req = tx.objectStore("queue").add({ idempotencyKey: crypto.randomUUID(), method: "POST", url, body: JSON.stringify({ i }), createdAt: Date.now() });
        await done(tx);
        await post({ i });
        pending.push(req.result);
        if (pending.length >= 16) {
          const del = db.transaction("queue", "readwrite");
          for (const id of pending) del.objectStore("queue").delete(id);
          pending = [];
          await done(del);
        }
      },
    };
    const p50 = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
    const out = [];
    for (let r = 0; r < rounds; r++) {
      const lat = Object.fromEntries(Object.keys(sides).map((k) => [k, []]));
      for (let b = 0; b < n / 100; b++) {
        for (const [name, fn] of Object.entries(sides)) {
          for (let i = 0; i < 100; i++) {
            const t = performance.now();
            await fn(i);
            lat[name].push(performance.now() - t);
          }
        }
      }
      out.push(Object.fromEntries(Object.entries(lat).map(([k, v]) => [k, p50(v)])));
    }
    client.close();
    db.close();
    return out;
  }, { base: srv.url, n: N, rounds: ROUNDS });
}

function report(label, rounds) {
  console.log(`${label}: p50 ms and ratio to fetch, ${N} calls per side per round`);
  rounds.forEach((r, i) => {
    const ratio = (k) => (r[k] / r.fetch).toFixed(2);
    console.log(`  round ${i}: fetch ${r.fetch.toFixed(2)} | raw strict add + fetch ${r.raw.toFixed(2)} (${ratio("raw")}) | sdk ${r.sdk.toFixed(2)} (${ratio("sdk")}) | sdk writeAhead false ${r.sdk_no_write_ahead.toFixed(2)} (${ratio("sdk_no_write_ahead")})`);
  });
}

try {
  const browser = await chromium.launch({ executablePath, headless: true });
  try {
    report("in-memory profile", await measure(await (await browser.newContext()).newPage()));
  } finally {
    await browser.close();
  }
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "floor-profile-"));
  const context = await chromium.launchPersistentContext(dir, { executablePath, headless: true });
  try {
    report("on-disk profile", await measure(await context.newPage()));
  } finally {
    await context.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
} finally {
  await srv.close();
}
