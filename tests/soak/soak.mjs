// Chaos soak: N sales through the SDK in headless Chromium pages
// against pos-server in chaos mode, then a reconciliation of what the driver
// intended with what the server recorded. See tests/soak/README.md.
//
//   node tests/soak/soak.mjs            (scripts/soak.sh builds what it needs first)
//
// Env:
//   SOAK_N            sales to make (300)
//   SOAK_SECONDS      stop making sales after this many seconds (no bound)
//   SOAK_CONCURRENCY  sales in flight per page (2)
//   SOAK_THINK_MS     mean pause of a worker between two sales (800)
//   SOAK_TIMEOUT_MS   the SDK's per-attempt timeout (1500)
//   SOAK_DRAIN_SECONDS bound on the final drain (180)
//   SOAK_SERVER_BIN   pos-server binary (target/release/pos-server)
//   SOAK_SERVER_ARGS  extra pos-server flags (e.g. --no-idempotency: the soak must fail)
//   SOAK_CLUSTER      0: one server on SQLite (default); N >= 1: N instances on
//                     the PostgreSQL at SOAK_PG_URL (scripts/soak.sh starts a
//                     throwaway one) behind HAProxy, round robin; the pages
//                     and every request go through HAProxy
//   SOAK_PSQL         psql of that PostgreSQL (the reconciliation reads with it)
//   SOAK_SABOTAGE=clear-queue  self-test: throw one tab's queue away (the soak must fail)
//   SOAK_KEEP=1       keep the temporary directory (database, ops log)
//   SOAK_SEED         seed of the driver's random choices (random)
//   CHROMIUM_BIN      Chromium (/usr/bin/chromium)
// Exit status: 0 when every check holds, 1 on any duplicate, loss, dead
// letter, rejection, invoice gap, stock mismatch or answer mismatch, 2 when
// the soak could not run. Never asserts on timing.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { spawn } from "node:child_process";
import { CHROMIUM_ARGS, flagEnv, intEnvReader, root } from "../support/driver.mjs";
import { CHAOS_OFF_ARGS, startPosServer } from "../support/pos-server.mjs";

const intEnv = intEnvReader("soak");
const N = intEnv("SOAK_N", 300, 1);
const SECONDS = intEnv("SOAK_SECONDS", 0, 0); // 0 = no bound
const CONCURRENCY = intEnv("SOAK_CONCURRENCY", 2, 1);
// A cashier's pause between two sales, drawn from 0 to 2 × this (mean this):
// paces the run so that offline windows and reloads fall between sales.
const THINK_MS = intEnv("SOAK_THINK_MS", 800, 0);
const TIMEOUT_MS = intEnv("SOAK_TIMEOUT_MS", 1500, 100);
const DRAIN_SECONDS = intEnv("SOAK_DRAIN_SECONDS", 180, 1);
const SEED = intEnv("SOAK_SEED", Math.floor(Math.random() * 2 ** 31), 0);
const KEEP = flagEnv("SOAK_KEEP");
const SERVER_BIN = process.env.SOAK_SERVER_BIN || path.join(root, process.env.CARGO_TARGET_DIR || "target", "release", "pos-server");
// Extra pos-server flags, e.g. `--no-idempotency` to see the soak catch duplicates.
// Self-test of the checks: `clear-queue` throws tab A1's queue away once,
// during an offline window, so the soak must report lost sales and fail.
const SABOTAGE = process.env.SOAK_SABOTAGE || "";
if (SABOTAGE && SABOTAGE !== "clear-queue") {
  console.error(`soak: SOAK_SABOTAGE must be clear-queue, got ${JSON.stringify(SABOTAGE)}`);
  process.exit(2);
}
const EXTRA_SERVER_ARGS = (process.env.SOAK_SERVER_ARGS || "").split(/\s+/).filter(Boolean);
const CHROMIUM = process.env.CHROMIUM_BIN || process.env.CHROMIUM || "/usr/bin/chromium";
// Cluster mode: SOAK_CLUSTER instances on PostgreSQL behind HAProxy.
const CLUSTER = intEnv("SOAK_CLUSTER", 0, 0);
const PG_URL = process.env.SOAK_PG_URL || "";
const PSQL = process.env.SOAK_PSQL || "psql";
if (CLUSTER && !PG_URL) {
  console.error("soak: SOAK_CLUSTER needs SOAK_PG_URL, a PostgreSQL database (scripts/soak.sh starts one)");
  process.exit(2);
}

// Server chaos during the sales phase: 20 % of connections dropped,
// half of them after the commit; 10 % 503 + Retry-After; 10 % delayed by up
// to 4 s, so most delayed attempts outlive the SDK's 1.5 s timeout.
const CHAOS = { error503Rate: 0.1, dropBeforeRate: 0.1, dropAfterCommitRate: 0.1, latencyRate: 0.1, latencyMs: 4000 };
const CALM = { error503Rate: 0, dropBeforeRate: 0, dropAfterCommitRate: 0, latencyRate: 0 };
// Stock of every product: never runs out (the soak is about delivery, not
// about insufficient stock, which is a permanent answer).
const SEED_STOCK = 1_000_000_000;

// Pages: two tabs of the same cashier (one queue namespace, one drainer at a
// time through Web Locks) and one tab of a cashier of another business.
const PAGES = [
  { name: "A1", cashier: "demo-cashier-1", ns: "soak-b1-ana", twin: "A2" },
  { name: "A2", cashier: "demo-cashier-1", ns: "soak-b1-ana", twin: "A1" },
  { name: "B", cashier: "demo-cashier-3", ns: "soak-b2-chloe", twin: null },
];
const TOKENS = { 1: "demo-cashier-1", 2: "demo-cashier-3" }; // a token per business, for the reads

// ---------------------------------------------------------------------------
// small helpers
// ---------------------------------------------------------------------------
let rngState = SEED >>> 0;
function rand() { // mulberry32
  rngState = (rngState + 0x6d2b79f5) >>> 0;
  let t = rngState;
  t = Math.imul(t ^ (t >>> 15), t | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const elapsed = () => ((Date.now() - t0) / 1000).toFixed(1);
const log = (msg) => console.log(`[${elapsed().padStart(6)} s] ${msg}`);

if (!fs.existsSync(path.join(root, "pkg", "index.js"))) {
  console.error("soak: pkg/ is not built: run scripts/soak.sh (it builds it) or scripts/build-pkg.sh");
  process.exit(2);
}
if (!fs.existsSync(SERVER_BIN)) {
  console.error(`soak: ${SERVER_BIN} is missing: run scripts/soak.sh or cargo build --release -p pos-server`);
  process.exit(2);
}
if (CLUSTER) {
  try { execFileSync(PSQL, ["--version"], { stdio: "ignore" }); } catch {
    console.error(`soak: ${PSQL} is needed to read the cluster's database (SOAK_PSQL)`);
    process.exit(2);
  }
} else {
  try { execFileSync("sqlite3", ["-version"], { stdio: "ignore" }); } catch {
    console.error("soak: the sqlite3 command is needed to read the server's database (apt-get install sqlite3; scripts/soak.sh does it)");
    process.exit(2);
  }
}

// ---------------------------------------------------------------------------
// the server
// ---------------------------------------------------------------------------
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pos-soak-"));
const dbFile = path.join(tmp, "soak.db");
// One server (SQLite), or CLUSTER instances and HAProxy: every process this
// driver started, each instance's log, and its own URL (chaos settings and
// the in-memory counters of GET /api/stats are per instance).
const children = [];
const instances = []; // {name, url, logFile, log}
let balancerStats = null; // HAProxy's statistics URL in cluster mode
let browser = null;
let base = null;

function stopServer() {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try { child.kill("SIGTERM"); } catch { /* already gone */ }
    }
  }
}
function notePid(child) {
  children.push(child);
  // scripts/soak.sh stops these pids if Node itself dies without cleaning up.
  if (process.env.SOAK_PIDFILE) fs.appendFileSync(process.env.SOAK_PIDFILE, `${child.pid}\n`);
}
process.on("exit", () => {
  stopServer();
  if (!KEEP) fs.rmSync(tmp, { recursive: true, force: true });
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, async () => {
    console.error(`soak: ${sig}: stopping`);
    try { await browser?.close(); } catch { /* ignore */ }
    process.exit(130);
  });
}

// The tabs load the package from a snapshot taken now: other engineers
// rebuild pkg/ (it is deleted and rewritten) while a soak runs, and a tab
// reloaded during a rebuild would load half a package.
const pkgCopy = path.join(tmp, "pkg");
fs.cpSync(path.join(root, "pkg"), pkgCopy, { recursive: true });
for (const f of ["index.js", "pos_resilience_bg.wasm"]) {
  if (!fs.existsSync(path.join(pkgCopy, f))) {
    console.error(`soak: pkg/${f} is missing (is pkg/ being rebuilt right now?)`);
    process.exit(2);
  }
}

// One pos-server; in cluster mode `name` names the instance and the database
// is PostgreSQL.
async function startInstance(name) {
  const logFile = path.join(tmp, `${name}.log`);
  const serverLog = fs.createWriteStream(logFile);
  const database = CLUSTER ? ["--database", PG_URL] : ["--db", dbFile];
  const child = await startPosServer({
    bin: SERVER_BIN,
    args: [
      "--demo", "--port", "0", ...database, "--www", path.join(root, "tests", "soak"), "--pkg", pkgCopy,
      "--seed-stock", String(SEED_STOCK),
      ...CHAOS_OFF_ARGS, "--chaos-latency-ms", String(CHAOS.latencyMs),
      // Stored responses expire well within an offline window (1.5-4 s), so
      // queued sales drain after their keys' responses were purged.
      "--key-ttl", "1s", "--purge-interval", "250ms",
      ...EXTRA_SERVER_ARGS,
    ],
    cwd: root,
    env: { RUST_LOG: "info,tower_http=debug" },
    onSpawn: (spawned) => {
      notePid(spawned);
      spawned.stderr.pipe(serverLog);
    },
    onLine: (line) => serverLog.write(`${line}\n`),
    hint: () => `; see ${logFile}`,
  });
  instances.push({ name, url: child.url, logFile, log: serverLog });
  return child.url;
}

const freePort = () => new Promise((resolve, reject) => {
  const srv = net.createServer();
  srv.once("error", reject);
  srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
});

// HAProxy's view of the instances: how many of backend pos are UP with a
// passed layer-7 health check (GET /readyz), from its CSV statistics.
async function balancerUp(statsUrl) {
  try {
    const csv = await (await fetch(`${statsUrl}/;csv`)).text();
    return csv.split("\n").map((l) => l.split(","))
      .filter((f) => f[0] === "pos" && f[1] !== "BACKEND" && f[1] !== "FRONTEND" && f[17] === "UP" && f[36] === "L7OK").length;
  } catch { return 0; }
}

// SQLite: one server, its URL. Cluster: the instances one after the other
// (the first creates the schema and seeds the demo data), then HAProxy in
// front (www-example/scripts/haproxy-config.sh, as `make cluster`), waited for
// until every instance's health check passed and it answers /readyz itself;
// the balancer's URL.
async function startServer() {
  if (!CLUSTER) return startInstance("server");
  for (let i = 1; i <= CLUSTER; i += 1) await startInstance(`pos${i}`);
  const hap = ["/usr/sbin/haproxy", "/usr/bin/haproxy"].find((f) => fs.existsSync(f)) || "haproxy";
  for (let attempt = 1; ; attempt += 1) {
    const port = await freePort();
    const statsPort = await freePort();
    const cfg = path.join(tmp, "haproxy.cfg");
    fs.writeFileSync(cfg, execFileSync(path.join(root, "www-example", "scripts", "haproxy-config.sh"),
      [String(port), String(statsPort), ...instances.map((x) => x.url.replace(/^http:\/\//, ""))]));
    const logFd = fs.openSync(path.join(tmp, "haproxy.log"), "a");
    const child = spawn(hap, ["-db", "-f", cfg], { stdio: ["ignore", logFd, logFd] });
    fs.closeSync(logFd);
    notePid(child);
    const url = `http://127.0.0.1:${port}`;
    const statsUrl = `http://127.0.0.1:${statsPort}`;
    for (const deadline = Date.now() + 30_000; child.exitCode === null && Date.now() < deadline;) {
      if (await balancerUp(statsUrl) === CLUSTER) {
        try { if ((await fetch(`${url}/readyz`)).ok) { balancerStats = statsUrl; return url; } } catch { /* not yet */ }
      }
      await sleep(100);
    }
    const haproxyLog = fs.readFileSync(path.join(tmp, "haproxy.log"), "utf8");
    if (child.exitCode !== null && /cannot bind/.test(haproxyLog) && attempt < 3) continue; // a port taken meanwhile
    throw new Error(`HAProxy did not come up with ${CLUSTER} healthy instances within 30 s; see ${tmp}/haproxy.log:\n${haproxyLog}`);
  }
}

async function api(pathname, business, init = {}) {
  const headers = { ...(init.headers || {}) };
  if (business) headers.Authorization = `Bearer ${TOKENS[business]}`;
  const res = await fetch(`${base}${pathname}`, { ...init, headers });
  if (!res.ok) throw new Error(`${init.method || "GET"} ${pathname}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}
// On one instance, by its own URL (not through the balancer).
async function instanceApi(instance, pathname, business, init = {}) {
  const headers = { ...(init.headers || {}), Authorization: `Bearer ${TOKENS[business]}` };
  const res = await fetch(`${instance.url}${pathname}`, { ...init, headers });
  if (!res.ok) throw new Error(`${instance.name}: ${init.method || "GET"} ${pathname}: HTTP ${res.status} ${await res.text()}`);
  return res.json();
}
// Chaos settings live in each instance's memory: every instance gets them,
// each by its own URL, and each must answer with the settings asked for.
async function setChaos(patch) {
  for (const instance of instances) {
    const now = await instanceApi(instance, "/api/chaos", 1, { method: "PUT", headers: { "Content-Type": "application/json" }, body: JSON.stringify(patch) });
    for (const [k, v] of Object.entries(patch)) {
      if (now[k] !== v) throw new Error(`${instance.name}: chaos ${k} is ${now[k]} after PUT ${v}`);
    }
  }
}
// GET /api/stats of a business. On SQLite, replays, in-flight 409s and key
// mismatches are counted in the one process's memory. On PostgreSQL every
// count is read from the database (one row per business and instance, summed
// by the server), so any instance answers for the whole cluster: asked
// through the balancer once.
async function serverStatsOf(business) {
  if (CLUSTER) return api("/api/stats", business);
  const sum = {};
  for (const instance of instances) {
    for (const [k, v] of Object.entries(await instanceApi(instance, "/api/stats", business))) {
      if (typeof v === "number") sum[k] = (sum[k] || 0) + v;
    }
  }
  return sum;
}

// The server's truth, read from its database: the SQLite file, or in cluster
// mode PostgreSQL through psql (each query's rows as one JSON array).
function sql(query) {
  if (CLUSTER) {
    const out = execFileSync(PSQL, ["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", PG_URL,
      "-c", `SELECT coalesce(json_agg(q), '[]'::json) FROM (${query}) q`], { maxBuffer: 1 << 30 }).toString();
    return JSON.parse(out);
  }
  const out = execFileSync("sqlite3", ["-readonly", "-json", dbFile, query], { maxBuffer: 1 << 30 }).toString();
  return out.trim() ? JSON.parse(out) : [];
}

// ---------------------------------------------------------------------------
// the driver's record of every operation (in Node: a reload wipes the page)
// ---------------------------------------------------------------------------
const ops = []; // {id, key, page, business, body, qty: {productId: n}, outcomes: [], settled}
const opsByKey = new Map();
const stats = {
  queuedCalls: 0, sentCalls: 0, errorCalls: 0, interrupted: 0, swallowedPresses: 0, cutBeforeHeld: 0,
  doubleTaps: 0, crossTabTaps: 0, loadRetries: 0, loadStalls: [], offlineWindows: 0, offlineMs: 0, reloads: 0, reloadsMidDrain: 0,
  events: {}, retryReasons: {},
};
const answerMismatches = []; // two answers for one operation with different invoice numbers
const sentInvoice = new Map(); // key → invoice number the SDK reported (call result or sent event)

function noteInvoice(key, invoice, where) {
  if (!invoice) return;
  const prev = sentInvoice.get(key);
  if (prev === undefined) sentInvoice.set(key, invoice);
  else if (prev !== invoice) answerMismatches.push({ key, op: opsByKey.get(key)?.id, first: prev, second: invoice, where });
}

let products = {}; // business → its products (GET /api/products)

function makeOp(page) {
  const index = ops.length;
  const id = `op-${SEED.toString(36)}-${index}`;
  const list = products[page.business];
  const lines = randInt(1, 3);
  const chosen = new Map();
  for (let i = 0; i < lines; i += 1) {
    const p = list[randInt(0, list.length - 1)];
    chosen.set(p.id, (chosen.get(p.id) || 0) + randInt(1, 3));
  }
  const items = [...chosen].map(([productId, quantity]) => ({ productId, quantity }));
  // The operation id travels in the body (locationId is stored as sent), so
  // the server's table itself says which client operation each sale is.
  const body = { locationId: `soak:${id}`, items };
  const op = { id, key: randomUUID(), page: page.name, business: page.business, body, qty: Object.fromEntries(chosen), outcomes: [] };
  ops.push(op);
  opsByKey.set(op.key, op);
  return op;
}

// ---------------------------------------------------------------------------
// pages
// ---------------------------------------------------------------------------
const pages = new Map(); // name → {name, cashier, ns, business, page, ready: Promise, openDrains, ...}

function pageUrl(p) {
  const q = new URLSearchParams({ cashier: p.cashier, ns: p.ns, timeout: String(TIMEOUT_MS), retries: "3", retryDelay: "250", maxRetryDelay: "2000" });
  return `${base}/soak.html?${q}`;
}

const pageErrors = [];
async function openPage(context, spec) {
  const page = await context.newPage();
  const p = { ...spec, business: spec.cashier === "demo-cashier-3" ? 2 : 1, page, openDrains: new Set(), drainStartWaiters: [] };
  page.on("pageerror", (e) => pageErrors.push(`${p.name}: ${e}`));
  page.setDefaultTimeout(60_000);
  pages.set(p.name, p);
  p.ready = load(p, () => page.goto(pageUrl(p)));
  await p.ready;
  return p;
}
// Loads are only started while the browser is online (a page cannot load
// offline: there is no service worker). A load that does not come up within
// 60 s (a loaded machine) is retried twice with a plain reload, and counted.
async function load(p, nav) {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await nav();
      await p.page.waitForFunction(() => window.soakReady === true, null, { timeout: 60_000 });
      return;
    } catch (e) {
      if (attempt >= 3) throw new Error(`page ${p.name} did not start after ${attempt} loads: ${e.message}`);
      stats.loadRetries += 1;
      // Where it stood: the module's stage, visibility, and the package files' timings.
      const state = await p.page.evaluate(() => ({
        readyState: document.readyState, visibility: document.visibilityState, stage: window.soakStage ?? null,
        resources: performance.getEntriesByType("resource").filter((r) => r.name.includes("/pkg/"))
          .map((r) => `${r.name.replace(/^.*\/pkg\//, "")} ${Math.round(r.startTime)}→${Math.round(r.responseEnd)} ms`),
        now: Math.round(performance.now()),
      })).catch((err) => ({ error: String(err.message).split("\n")[0] }));
      stats.loadStalls.push({ page: p.name, attempt, error: String(e.message).split("\n")[0], state });
      log(`page ${p.name} did not start (${String(e.message).split("\n")[0]}; ${JSON.stringify(state)}); loading it again`);
      nav = () => p.page.reload({ waitUntil: "load" });
    }
  }
}

function onEvent(pageName, type, detail, doc) {
  stats.events[type] = (stats.events[type] || 0) + 1;
  const p = pages.get(pageName);
  if (type === "drain-start" && p) {
    p.openDrains.add(doc);
    for (const w of p.drainStartWaiters.splice(0)) w(p);
    maybeReloadOnDrain(p);
  }
  if (type === "drain-end" && p) p.openDrains.delete(doc);
  if (type === "sent" && detail && detail.key) noteInvoice(detail.key, detail.invoice, `sent event on ${pageName}${detail.replayed ? " (replayed)" : ""}`);
  if (type === "retry" && detail) {
    const r = detail.status && !String(detail.reason).includes(String(detail.status)) ? `${detail.reason} ${detail.status}` : detail.reason;
    stats.retryReasons[r] = (stats.retryReasons[r] || 0) + 1;
  }
}

// One "Complete sale" on a page. A call a reload interrupted is not sent
// again: the SDK wrote it ahead to IndexedDB, so delivering it is the SDK's
// part, and the reconciliation finds it on the server by its key or counts it
// lost. Pressed again with the same key, as a cashier would, are only: a
// press the reload swallowed before it reached the SDK; a call the reload cut
// before the SDK held it (no record in the outbox, nothing sent: the reopened
// till shows no pending sale); and a call that ended with an unknown outcome
// and was not queued.
async function sell(p, op) {
  for (let attempt = 0; ; attempt += 1) {
    await p.ready;
    let r;
    try {
      r = await p.page.evaluate((arg) => window.soakSell(arg), { key: op.key, body: op.body });
    } catch (e) {
      if (stopped.browser) return;
      const message = String(e.message || e).split("\n")[0];
      if (await callState(p, op.key) === null) {
        stats.swallowedPresses += 1;
        op.outcomes.push({ outcome: "press swallowed by a reload", page: p.name, message });
        if (attempt >= 50) throw new Error(`${op.id}: swallowed by a reload 50 times`);
        continue;
      }
      if (!(await keptBySdk(p, op.key))) {
        stats.cutBeforeHeld += 1;
        op.outcomes.push({ outcome: "cut by a reload before the SDK held it", page: p.name, message });
        if (attempt >= 50) throw new Error(`${op.id}: cut by a reload 50 times`);
        continue;
      }
      stats.interrupted += 1;
      op.interrupted = true;
      op.outcomes.push({ outcome: "interrupted", page: p.name, message });
      return;
    }
    op.outcomes.push({ page: p.name, ...r, body: undefined });
    if (r.outcome === "sent") {
      stats.sentCalls += 1;
      noteInvoice(op.key, r.invoice, `call on ${p.name}`);
      return;
    }
    if (r.outcome === "queued") { stats.queuedCalls += 1; return; }
    stats.errorCalls += 1;
    if (r.kind === "network" || r.kind === "timeout" || r.kind === "storage") {
      // Unknown outcome and not queued: the cashier presses again, same key.
      if (attempt >= 50) throw new Error(`${op.id}: unknown outcome 50 times`);
      await sleep(200);
      continue;
    }
    op.rejected = { kind: r.kind, status: r.status, body: r.body, message: r.message };
    return;
  }
}

/**
 * Whether the SDK in tab `p` holds the call of `key` in its outbox or sent it
 * (soakKept), asked in the document that replaced the interrupted one.
 */
async function keptBySdk(p, key) {
  for (let attempt = 1; ; attempt += 1) {
    await p.ready;
    try {
      return await p.page.evaluate((k) => window.soakKept(k), key);
    } catch (e) {
      if (attempt >= 50) throw new Error(`page ${p.name}: cannot tell whether the SDK holds call ${key}: ${e.message}`);
    }
  }
}

/**
 * How far tab `p` got with the call of `key` (soakCallState), asked in the
 * document that replaced the interrupted one, and asked again if another
 * reload interrupts the question.
 */
async function callState(p, key) {
  for (let attempt = 1; ; attempt += 1) {
    await p.ready;
    try {
      return await p.page.evaluate((k) => window.soakCallState(k), key);
    } catch (e) {
      if (attempt >= 50) throw new Error(`page ${p.name}: cannot read the state of call ${key}: ${e.message}`);
    }
  }
}

const stopped = { sales: false, browser: false };
let salesStarted = false;
let next = 0;
async function worker(p) {
  while (!stopped.sales && next < N) {
    if (SECONDS && Date.now() - t0 > SECONDS * 1000) { stopped.sales = true; break; }
    next += 1;
    const op = makeOp(p);
    const calls = [sell(p, op)];
    const dice = rand();
    if (dice < 0.03) { // a double tap on "Complete sale": the SDK shares one call
      stats.doubleTaps += 1;
      calls.push(sell(p, op));
    } else if (dice < 0.05 && p.twin) { // the same sale pressed in the other tab: the server deduplicates
      stats.crossTabTaps += 1;
      calls.push(sleep(randInt(0, 300)).then(() => sell(pages.get(p.twin), op)));
    }
    await Promise.all(calls);
    progress();
    if (THINK_MS) await sleep(randInt(0, 2 * THINK_MS));
  }
}
let lastProgress = 0;
function progress() {
  if (Date.now() - lastProgress < 10_000) return;
  lastProgress = Date.now();
  log(`${ops.length}/${N} sales made; calls: ${stats.sentCalls} sent, ${stats.queuedCalls} queued, ${stats.errorCalls} unknown/failed; ` +
    `${stats.offlineWindows} offline windows, ${stats.reloads} reloads (${stats.reloadsMidDrain} mid-drain)`);
}

// A reload counts as mid-drain when a drain of the old document had started
// and its drain-end never came: the page was unloaded inside the drain.
let reloading = 0;
let offlineNow = false;
let lastReload = 0;
async function reload(p, why) {
  reloading += 1;
  lastReload = Date.now();
  stats.reloads += 1;
  const open = new Set(p.openDrains);
  try {
    p.ready = load(p, () => p.page.reload({ waitUntil: "load" }));
    await p.ready;
  } finally {
    reloading -= 1;
  }
  const cut = [...open].some((d) => p.openDrains.has(d));
  for (const d of open) p.openDrains.delete(d);
  if (cut) stats.reloadsMidDrain += 1;
  log(`reloaded ${p.name}${cut ? ", cutting a drain short" : ""} (${why})`);
}
// Now and then, reload a tab the moment its drain starts.
function maybeReloadOnDrain(p) {
  if (!salesStarted || stopped.sales || offlineNow || reloading || Date.now() - lastReload < 2000 || rand() >= 0.3) return;
  reload(p, "on drain-start").catch((e) => pageErrors.push(`${p.name}: reload failed: ${e.message}`));
}

// The network director: offline windows for the whole browser, and reloads
// mid-drain right after the network comes back (when the queues drain).
async function director(context) {
  const all = [...pages.values()];
  const pause = async (ms) => { // ends early when the sales phase ends
    for (const end = Date.now() + ms; !stopped.sales && Date.now() < end;) await sleep(Math.min(100, end - Date.now()));
  };
  while (!stopped.sales) {
    await pause(randInt(3000, 7000));
    if (stopped.sales) break;
    const ms = randInt(1500, 4000);
    while (reloading && !stopped.sales) await sleep(50); // never take a loading page offline
    if (stopped.sales) break;
    stats.offlineWindows += 1;
    stats.offlineMs += ms;
    offlineNow = true;
    await context.setOffline(true);
    await sleep(ms);
    if (SABOTAGE === "clear-queue" && !stats.sabotaged) {
      stats.sabotaged = await pages.get("A1").page.evaluate(() => window.soakClear());
      log(`SABOTAGE: cleared ${stats.sabotaged} queued sale(s) of tab A1`);
    }
    // Arm the waiters before going online: the online event starts a drain.
    const waiters = all.map((p) => new Promise((resolve) => p.drainStartWaiters.push(resolve)));
    await context.setOffline(false);
    offlineNow = false;
    if (rand() < 0.6) {
      const p = await Promise.race([...waiters, sleep(3000).then(() => null)]);
      for (const q of all) q.drainStartWaiters.length = 0;
      if (p && !reloading) await reload(p, "as the queue drains after an offline window");
    } else {
      for (const q of all) q.drainStartWaiters.length = 0;
    }
    if (rand() < 0.25 && !reloading) await reload(all[randInt(0, all.length - 1)], "at random");
  }
}

// ---------------------------------------------------------------------------
// the run
// ---------------------------------------------------------------------------
let exitCode = 2;
try {
  log(`soak: N=${N}${SECONDS ? `, at most ${SECONDS} s of sales` : ""}, ${PAGES.length} pages × ${CONCURRENCY} in flight, think ${THINK_MS} ms, ` +
    `attempt timeout ${TIMEOUT_MS} ms, seed ${SEED}, work dir ${tmp}`);
  base = await startServer();
  if (CLUSTER) {
    log(`HAProxy at ${base}, round robin over ${instances.map((x) => `${x.name} ${x.url}`).join(", ")} (database ${PG_URL})`);
  } else {
    log(`pos-server at ${base} (database ${dbFile})`);
  }
  for (const b of [1, 2]) products[b] = await api("/api/products", b);

  browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  const context = await browser.newContext();
  await context.exposeBinding("soakEvent", ({ page }, type, detail, doc) => {
    const p = [...pages.values()].find((q) => q.page === page);
    onEvent(p ? p.name : "?", type, detail, doc);
  });
  for (const spec of PAGES) await openPage(context, spec);
  log(`pages ${PAGES.map((p) => `${p.name} (${p.cashier}, queue ${p.ns})`).join(", ")} ready`);

  await setChaos(CHAOS);
  log(`chaos on: ${JSON.stringify(CHAOS)}`);
  const salesStart = Date.now();
  salesStarted = true;
  const directing = director(context);
  const workers = [];
  for (const p of pages.values()) for (let i = 0; i < CONCURRENCY; i += 1) workers.push(worker(p));
  await Promise.all(workers);
  stopped.sales = true;
  await directing;
  const salesSeconds = (Date.now() - salesStart) / 1000;
  log(`sales phase over: ${ops.length} sales made in ${salesSeconds.toFixed(1)} s`);

  // Calm: no chaos, online, then drain every queue until it is empty.
  await setChaos(CALM);
  await context.setOffline(false);
  const drainStart = Date.now();
  const deadline = Date.now() + DRAIN_SECONDS * 1000;
  const namespaces = [...new Set(PAGES.map((p) => p.ns))];
  const queueState = {};
  for (;;) {
    let pending = 0;
    for (const ns of namespaces) {
      const ps = [...pages.values()].filter((p) => p.ns === ns);
      for (const p of ps) await p.ready;
      let q = await ps[0].page.evaluate(() => window.soakQueue());
      if (q.size > 0) {
        const report = await ps[0].page.evaluate(() => window.soakDrain());
        if (report.skipped) await sleep(200); // the other tab holds the lock and drains
        q = await ps[0].page.evaluate(() => window.soakQueue());
      }
      queueState[ns] = q;
      pending += q.size;
    }
    if (pending === 0) break;
    if (Date.now() > deadline) throw new Error(`queues not empty after ${DRAIN_SECONDS} s: ${JSON.stringify(Object.fromEntries(Object.entries(queueState).map(([k, v]) => [k, v.size])))}`);
    await sleep(250);
  }
  // Every page agrees that its queue is empty.
  for (const p of pages.values()) {
    const q = await p.page.evaluate(() => window.soakQueue());
    if (q.size !== 0) throw new Error(`page ${p.name}: queue size ${q.size} after the drain`);
  }
  const drainSeconds = (Date.now() - drainStart) / 1000;
  log(`queues empty after ${drainSeconds.toFixed(1)} s of final drain`);

  // -------------------------------------------------------------------------
  // reconciliation
  // -------------------------------------------------------------------------
  const counters = { requests: 0, networkErrors: 0, loads: 0 };
  for (const p of pages.values()) {
    const c = await p.page.evaluate(() => window.soakCounters());
    for (const k of Object.keys(counters)) counters[k] += c[k];
  }
  const deadLetters = [];
  for (const ns of namespaces) {
    const p = [...pages.values()].find((q) => q.ns === ns);
    for (const d of (await p.page.evaluate(() => window.soakQueue())).dead) deadLetters.push({ ns, ...d, op: opsByKey.get(d.key)?.id });
  }
  // Which interrupted calls had put their sale on the wire, per tab.
  const interruptedOnWire = new Set();
  for (const p of pages.values()) {
    const keys = [...new Set(ops.filter((o) => o.interrupted && o.outcomes.some((x) => x.outcome === "interrupted" && x.page === p.name)).map((o) => o.key))];
    for (const key of await p.page.evaluate((k) => window.soakOnWire(k), keys)) interruptedOnWire.add(key);
  }
  stopped.browser = true;
  await browser.close();
  browser = null;

  const serverStats = { 1: await serverStatsOf(1), 2: await serverStatsOf(2) };
  const serverProducts = { 1: await api("/api/products", 1), 2: await api("/api/products", 2) };
  const sales = sql("SELECT id, business_id AS business, location_id AS location, period, seq, invoice_number AS invoice, idempotency_key AS key FROM sales");
  const items = sql("SELECT s.business_id AS business, i.product_id AS product, SUM(i.quantity) AS qty FROM sale_items i JOIN sales s ON s.id = i.sale_id GROUP BY 1, 2");

  // Sales by client operation.
  const byOp = new Map();
  const strays = [];
  for (const s of sales) {
    let loc;
    try { loc = JSON.parse(s.location); } catch { loc = s.location; }
    const id = typeof loc === "string" && loc.startsWith("soak:") ? loc.slice(5) : null;
    if (!id) { strays.push(s); continue; }
    if (!byOp.has(id)) byOp.set(id, []);
    byOp.get(id).push(s);
  }
  const opIds = new Set(ops.map((o) => o.id));
  for (const [id, list] of byOp) if (!opIds.has(id)) strays.push(...list);
  const duplicates = ops.filter((o) => (byOp.get(o.id) || []).length > 1).map((o) => ({ op: o.id, key: o.key, invoices: byOp.get(o.id).map((s) => s.invoice) }));
  const duplicateSales = duplicates.reduce((n, d) => n + d.invoices.length - 1, 0);
  const absent = ops.filter((o) => !byOp.has(o.id));
  const deadKeys = new Set(deadLetters.map((d) => d.key));
  const lostDead = absent.filter((o) => deadKeys.has(o.key));
  const lostRejected = absent.filter((o) => !deadKeys.has(o.key) && o.rejected);
  const lostSilent = absent.filter((o) => !deadKeys.has(o.key) && !o.rejected);

  // The SDK's answers against the server: the invoice the SDK reported for an
  // operation must be the one the server recorded for it.
  for (const o of ops) {
    const inv = sentInvoice.get(o.key);
    const recorded = byOp.get(o.id);
    if (inv && recorded && recorded.length === 1 && recorded[0].invoice !== inv) {
      answerMismatches.push({ key: o.key, op: o.id, first: inv, second: recorded[0].invoice, where: "server record" });
    }
  }
  // Each operation's sale carries the operation's key (the stored responses
  // are purged within the run: the key on the row is what outlives them).
  const keyProblems = [];
  for (const o of ops) {
    for (const s of byOp.get(o.id) || []) {
      if (s.key !== o.key) keyProblems.push(`${o.id}: its sale ${s.invoice} carries the key ${s.key}, not ${o.key}`);
    }
  }

  // A sale whose call a reload interrupted is delivered when the server
  // recorded its sale carrying its key, lost otherwise.
  const recordedWithItsKey = (o) => (byOp.get(o.id) || []).some((sale) => sale.key === o.key);
  const interruptedOps = ops.filter((o) => o.interrupted);
  const interruptedLost = interruptedOps.filter((o) => !recordedWithItsKey(o));
  const lostOnWire = interruptedLost.filter((o) => interruptedOnWire.has(o.key)).length;

  // Invoice numbers: unique and gapless per business and month.
  const gaps = [];
  let gapCount = 0;
  let badNumbers = 0;
  const groups = new Map();
  for (const s of sales) {
    const g = `${s.business}/${s.period}`;
    if (!groups.has(g)) groups.set(g, []);
    groups.get(g).push(s);
    const want = `INV-${s.period}-${String(s.seq).padStart(4, "0")}`;
    if (s.invoice !== want) badNumbers += 1;
  }
  const invoiceSummary = [];
  for (const [g, list] of groups) {
    const seqs = list.map((s) => s.seq).sort((a, b) => a - b);
    const distinct = new Set(seqs);
    const max = seqs[seqs.length - 1];
    const missing = [];
    for (let i = 1; i <= max && missing.length < 20; i += 1) if (!distinct.has(i)) missing.push(i);
    const g_gaps = max - distinct.size;
    gapCount += g_gaps;
    if (g_gaps) gaps.push({ group: g, missing });
    if (distinct.size !== seqs.length) badNumbers += seqs.length - distinct.size;
    invoiceSummary.push(`business ${g.split("/")[0]} ${g.split("/")[1]}: ${seqs.length} numbers, 1…${max}`);
  }

  // Stock: seeded − every intended sale's quantities, against GET /api/products;
  // and the server's own books (seeded − recorded quantities).
  const intendedQty = new Map();
  for (const o of ops) for (const [pid, q] of Object.entries(o.qty)) intendedQty.set(`${o.business}/${pid}`, (intendedQty.get(`${o.business}/${pid}`) || 0) + q);
  const recordedQty = new Map(items.map((r) => [`${r.business}/${r.product}`, r.qty]));
  const stockMismatches = [];
  for (const b of [1, 2]) {
    for (const p of serverProducts[b]) {
      const k = `${b}/${p.id}`;
      const expected = SEED_STOCK - (intendedQty.get(k) || 0);
      const books = SEED_STOCK - (recordedQty.get(k) || 0);
      if (p.stock !== expected || p.stock !== books) stockMismatches.push({ product: k, name: p.name, stock: p.stock, expected, books });
    }
  }

  // What reached the server, from its log (RUST_LOG=info,tower_http=debug):
  // every write request it started to process, and every fault it injected.
  // Chromium resends a POST by itself when a reused keep-alive connection
  // closes without a response, so the server can see more requests than the
  // SDK made attempts.
  const wireRe = /method=POST uri=\/api\/sales[^}]*\}: tower_http::trace::on_request: started processing request/g;
  const logTexts = [];
  for (const instance of instances) {
    await new Promise((resolve) => instance.log.write("", resolve));
    logTexts.push(fs.readFileSync(instance.logFile, "utf8"));
  }
  const logText = logTexts.join("\n");
  const countLog = (re) => (logText.match(re) || []).length;
  const wire = countLog(wireRe);
  const faultRes = {
    "503": /chaos: 503 for POST/g,
    dropBefore: /chaos: dropping the connection of POST/g,
    commitThenDrop: /chaos: POST \S+ committed .*dropping the connection/g,
    delayed: /chaos: delaying POST/g,
  };
  const faults = Object.fromEntries(Object.entries(faultRes).map(([k, re]) => [k, countLog(re)]));
  // Cluster: how the balancer spread the sales' requests over the instances,
  // and the faults each instance injected (chaos is set on each).
  const perLog = (i, re) => (logTexts[i].match(re) || []).length;
  const perInstance = instances.map((x, i) => perLog(i, wireRe));
  const faultsPerInstance = instances.map((x, i) => Object.values(faultRes).reduce((n, re) => n + perLog(i, re), 0));
  const commitDropPerInstance = instances.map((x, i) => perLog(i, faultRes.commitThenDrop));
  const replays = serverStats[1].replays + serverStats[2].replays;
  const inFlight = serverStats[1].inFlightConflicts + serverStats[2].inFlightConflicts;
  const keyMismatches = serverStats[1].keyMismatches + serverStats[2].keyMismatches;
  const dupNumbers = serverStats[1].duplicateInvoiceNumbers + serverStats[2].duplicateInvoiceNumbers;
  const lost = absent.length;
  const deadReasons = {};
  for (const d of deadLetters) deadReasons[d.reason] = (deadReasons[d.reason] || 0) + 1;
  const deadText = deadLetters.length ? `${deadLetters.length} (${Object.entries(deadReasons).map(([r, n]) => `${r}: ${n}`).join(", ")})` : "0";
  const wall = (Date.now() - t0) / 1000;

  const failures = [];
  if (duplicateSales) failures.push(`${duplicateSales} duplicate sale(s)`);
  if (interruptedLost.length) failures.push(`${interruptedLost.length} sale(s) interrupted by a reload and not delivered`);
  if (lost) failures.push(`${lost} lost sale(s) (${lostDead.length} dead-lettered, ${lostRejected.length} rejected, ${lostSilent.length} silently)`);
  if (deadLetters.length) failures.push(`${deadLetters.length} dead letter(s)`);
  if (strays.length) failures.push(`${strays.length} sale(s) on the server that no operation intended`);
  if (gapCount) failures.push(`${gapCount} invoice-number gap(s)`);
  if (badNumbers || dupNumbers) failures.push(`${badNumbers + dupNumbers} malformed or duplicate invoice number(s)`);
  if (stockMismatches.length) failures.push(`${stockMismatches.length} stock mismatch(es)`);
  if (answerMismatches.length) failures.push(`${answerMismatches.length} answer(s) naming another invoice than the server's`);
  if (keyProblems.length) failures.push(`${keyProblems.length} idempotency-key record problem(s)`);
  if (keyMismatches) failures.push(`${keyMismatches} key mismatch(es) (422) on the server`);
  if (pageErrors.length) failures.push(`${pageErrors.length} page error(s)`);

  const rows = [
    ["sales intended", ops.length],
    ["sales on the server", sales.length],
    ["duplicates (same client operation twice)", duplicateSales],
    ["lost (intended, absent)", lost],
    ["dead-lettered", deadText],
    ["rejected (permanent error)", ops.filter((o) => o.rejected).length],
    ["invoice-number gaps", gapCount],
    ["stock mismatches (products)", stockMismatches.length],
    ["requests sent (POSTs the server received)", wire],
    ["requests per intended sale", (wire / Math.max(ops.length, 1)).toFixed(2)],
    ["SDK attempts (fetch calls in the pages)", counters.requests],
    ["  of which failed without a response", counters.networkErrors],
    ["faults: 503 / drop / commit+drop / delayed", `${faults["503"]} / ${faults.dropBefore} / ${faults.commitThenDrop} / ${faults.delayed}`],
    ...(CLUSTER ? [
      ["  per instance (HAProxy round robin)", perInstance.join(" / ")],
      ["  faults injected per instance (of them commit+drop)", instances.map((x, i) => `${faultsPerInstance[i]} (${commitDropPerInstance[i]})`).join(" / ")],
    ] : []),
    ["replays served (server)", replays],
    ["in-flight 409s (server)", inFlight],
    ["calls: sent / queued / unknown-then-repressed", `${stats.sentCalls} / ${stats.queuedCalls} / ${stats.errorCalls}`],
    ["SDK events: retry / queued / sent / dead-letter", `${stats.events.retry || 0} / ${stats.events.queued || 0} / ${stats.events.sent || 0} / ${stats.events["dead-letter"] || 0}`],
    ["SDK events: write-ahead-failed", stats.events["write-ahead-failed"] || 0],
    ["offline windows (total s)", `${stats.offlineWindows} (${(stats.offlineMs / 1000).toFixed(1)})`],
    ["page reloads (of which cut a drain short)", `${stats.reloads} (${stats.reloadsMidDrain})`],
    ["calls interrupted by a reload", stats.interrupted],
    ["  their sales: delivered / lost", `${interruptedOps.length - interruptedLost.length} / ${interruptedLost.length}`],
    ["  lost ones that had been sent / never left", `${lostOnWire} / ${interruptedLost.length - lostOnWire}`],
    ["presses a reload swallowed (pressed again)", stats.swallowedPresses],
    ["calls a reload cut before the SDK held them (pressed again)", stats.cutBeforeHeld],
    ["page loads retried (did not start in 60 s)", stats.loadRetries],
    ["double taps same tab / other tab", `${stats.doubleTaps} / ${stats.crossTabTaps}`],
    ["wall time (sales / final drain / total)", `${salesSeconds.toFixed(1)} s / ${drainSeconds.toFixed(1)} s / ${wall.toFixed(1)} s`],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  const line = `+${"-".repeat(w + 2)}+${"-".repeat(34)}+`;
  console.log(`\nchaos soak, seed ${SEED}, chaos ${JSON.stringify(CHAOS)}, attempt timeout ${TIMEOUT_MS} ms`);
  if (CLUSTER) console.log(`through HAProxy (round robin, health checks on /readyz) to ${CLUSTER} pos-server instances on PostgreSQL; chaos set on each instance`);
  console.log(line);
  for (const [k, v] of rows) console.log(`| ${k.padEnd(w)} | ${String(v).padStart(32)} |`);
  console.log(line);
  console.log(invoiceSummary.join("; "));
  console.log(`retry reasons: ${JSON.stringify(stats.retryReasons)}`);
  const show = (title, list, max = 10) => {
    if (!list.length) return;
    console.log(`${title} (${list.length}${list.length > max ? `, first ${max}` : ""}):`);
    for (const x of list.slice(0, max)) console.log(`  ${typeof x === "string" ? x : JSON.stringify(x)}`);
  };
  show("duplicates", duplicates);
  show("dead letters", deadLetters);
  show("lost, dead-lettered", lostDead.map((o) => ({ op: o.id, key: o.key, outcomes: o.outcomes })));
  show("lost, rejected", lostRejected.map((o) => ({ op: o.id, key: o.key, rejected: o.rejected })));
  show("interrupted by a reload, not delivered", interruptedLost.map((o) => ({ op: o.id, key: o.key, page: o.page, sent: interruptedOnWire.has(o.key), outcomes: o.outcomes })));
  show("lost silently", lostSilent.map((o) => ({ op: o.id, key: o.key, page: o.page, outcomes: o.outcomes })));
  show("sales no operation intended", strays);
  show("invoice gaps", gaps);
  show("stock mismatches", stockMismatches);
  show("answer mismatches", answerMismatches);
  show("key record problems", keyProblems);
  show("page errors", pageErrors);
  show("page loads that did not start in 60 s", stats.loadStalls);

  const result = { seed: SEED, n: N, cluster: CLUSTER, chaos: CHAOS, timeoutMs: TIMEOUT_MS, table: Object.fromEntries(rows), faults, wire, counters, failures, wallSeconds: wall };
  fs.mkdirSync(path.join(root, "target", "soak"), { recursive: true });
  fs.writeFileSync(path.join(root, "target", "soak", CLUSTER ? "result-cluster.json" : "result.json"), `${JSON.stringify(result, null, 2)}\n`);
  if (KEEP) fs.writeFileSync(path.join(tmp, "ops.jsonl"), ops.map((o) => JSON.stringify(o)).join("\n") + "\n");

  if (failures.length) {
    console.log(`\nsoak FAILED: ${failures.join("; ")}`);
    exitCode = 1;
  } else {
    console.log(`\nsoak passed: ${ops.length} sales, each recorded exactly once; numbers gapless; stock matches`);
    exitCode = 0;
  }
} catch (e) {
  console.error(`soak: could not complete: ${e.stack || e}`);
  console.error(`soak: server log${instances.length > 1 ? "s" : ""} in ${instances.map((x) => x.logFile).join(", ") || tmp}${KEEP ? "" : " (set SOAK_KEEP=1 to keep them)"}`);
  exitCode = 2;
} finally {
  stopped.browser = true;
  try { await browser?.close(); } catch { /* ignore */ }
  stopServer();
}
process.exit(exitCode);
