// Offline-queue benchmark: the SDK against what it is built on, in one
// headless Chromium run so the ratios hold on a noisy machine.
//
//   enqueue_vs_idb  N records through client.post() while offline (each
//                   committed to IndexedDB, rejecting with kind "queued")
//                   vs a raw loop of N one-put readwrite transactions.
//   drain_vs_fetch  client.drainQueue() of N queued records to the test
//                   server's echo endpoint vs a sequential loop of N fetch
//                   POSTs (same bodies, Idempotency-Key header) to it.
//   durability      µs per IndexedDB transaction of the write-ahead (one add)
//                   and of its removal (one delete), with the durability
//                   hint left to the browser, "relaxed" and "strict".
//
// Each figure: median (min, max) over BENCH_RUNS runs of the per-run ratio
// SDK ms / baseline ms, SDK and baseline interleaved, order alternating.
// Prints a table and writes target/bench/queue.json. Never asserts on
// timing: exits 1 only when something functionally failed (a record not
// queued, not delivered, delivered twice or out of order).
//
// Run: scripts/bench-queue.sh (builds pkg/ when needed), or directly
// `node tests/bench/queue.mjs` with pkg/ built.
// Env: BENCH_N (1000) records, BENCH_RUNS (5), BENCH_WARMUP (1) untimed
// warm-up rounds of min(N,100) records, BENCH_DURABILITY_N (min(N,200))
// transactions per durability mode and round, BENCH_PROFILE=1 adds a diagnosis
// (platform calls per record, the cost of each IndexedDB transaction kind,
// CPU profiles of the SDK's phases) written to target/bench/queue-profile.json,
// CHROMIUM_BIN (/usr/bin/chromium).
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import {
  benchCall, CHROMIUM_ARGS, flagEnv, git, intEnvReader, openBenchPage, root, round, roundSummary, summary,
} from "../support/driver.mjs";
import { startTestServer } from "../support/test-server.mjs";

const intEnv = intEnvReader("bench-queue");
const N = intEnv("BENCH_N", 1000, 1);
const RUNS = intEnv("BENCH_RUNS", 5, 1);
const WARMUP = intEnv("BENCH_WARMUP", 1, 0);
const DURABILITY_N = intEnv("BENCH_DURABILITY_N", Math.min(N, 200), 1);
const PROFILE = flagEnv("BENCH_PROFILE");
const CHROMIUM = process.env.CHROMIUM_BIN || "/usr/bin/chromium";
const outDir = path.join(root, "target", "bench");
const GOALS = { enqueue_vs_idb: 1.5, drain_vs_fetch: 1.2 };

if (!fs.existsSync(path.join(root, "pkg", "index.js"))) {
  console.error("bench-queue: pkg/ is not built: run scripts/build-pkg.sh (or scripts/bench-queue.sh)");
  process.exit(2);
}

let srv, browser;
const failures = [];

// The server's record of namespace `ns` must be exactly `keys`, in order:
// N POSTs, N distinct keys, bodies in FIFO order, JSON content type.
async function checkLog(ns, keys, what) {
  const res = await fetch(`${srv.url}/log/${encodeURIComponent(ns)}`);
  const log = await res.json();
  await fetch(`${srv.url}/log/${encodeURIComponent(ns)}`, { method: "DELETE" });
  const got = log.map((r) => r.headers["idempotency-key"]);
  const problems = [];
  if (log.length !== keys.length) problems.push(`the server received ${log.length} requests, expected ${keys.length}`);
  const distinct = new Set(got).size;
  if (distinct !== log.length) problems.push(`${log.length - distinct} requests reused a key (a record sent twice)`);
  const expected = new Set(keys);
  const unknown = got.filter((k) => !expected.has(k)).length;
  if (unknown) problems.push(`${unknown} requests carried a key that was not queued`);
  const firstOut = log.findIndex((r, i) => r.headers["idempotency-key"] !== keys[i] || !r.body || r.body.seq !== i);
  if (firstOut >= 0 && log.length === keys.length) problems.push(`request ${firstOut} is out of FIFO order or has the wrong key/body`);
  if (log.some((r) => r.method !== "POST")) problems.push("a request was not a POST");
  if (log.some((r) => !/^application\/json/.test(r.headers["content-type"] || ""))) problems.push("a request lacked content-type: application/json");
  if (problems.length) throw new Error(`${what} (${ns}): ${problems.join("; ")}`);
}

async function main() {
  const t0 = Date.now();
  srv = await startTestServer({ port: 0, staticDir: root });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  const context = await browser.newContext();
  // Page and endpoint on one origin: no CORS preflight in either loop.
  const page = await openBenchPage(context, `${srv.url}/static/tests/bench/queue.html`, { tool: "bench-queue" });
  const version = await browser.version();
  const info = pkgInfo();
  if (info.sources_newer_than_pkg.length) console.warn(`bench-queue: warning: pkg/ is older than ${info.sources_newer_than_pkg.join(", ")}: measuring the built package`);
  console.log(`bench-queue: Chromium ${version}, N=${N}, runs=${RUNS}, warm-up=${WARMUP}, server ${srv.url} (same origin)`);

  const call = (fn, ...args) => benchCall(page, fn, ...args);

  const ops = {
    enqueue_vs_idb: {
      sdk: async (tag, n) => (await call("enqueueSdk", tag, n)).ms,
      baseline: async (tag, n) => (await call("enqueueRaw", tag, n)).ms,
    },
    drain_vs_fetch: {
      sdk: async (tag, n) => {
        await call("prepareDrain", tag, n); // untimed: fill the queue
        const r = await call("runDrain", tag);
        await checkLog(r.ns, r.keys, "drain_sdk");
        return r.ms;
      },
      baseline: async (tag, n) => {
        const r = await call("drainFetch", tag, n);
        await checkLog(r.ns, r.keys, "drain_fetch");
        return r.ms;
      },
    },
  };

  for (let w = 0; w < WARMUP; w++) {
    const n = Math.min(N, 100);
    for (const [name, op] of Object.entries(ops)) {
      await op.sdk(`warm${w}`, n);
      await op.baseline(`warm${w}`, n);
      process.stdout.write(`bench-queue: warm-up ${w + 1}/${WARMUP} ${name} ok\n`);
    }
  }

  const samples = Object.fromEntries(Object.keys(ops).map((k) => [k, { sdk: [], baseline: [], ratio: [] }]));
  for (let run = 0; run < RUNS; run++) {
    for (const [name, op] of Object.entries(ops)) {
      // Alternate which side goes first, so drift within a run cancels out.
      const order = run % 2 === 0 ? ["sdk", "baseline"] : ["baseline", "sdk"];
      const ms = {};
      for (const side of order) ms[side] = await op[side](`r${run}`, N);
      const s = samples[name];
      s.sdk.push(ms.sdk);
      s.baseline.push(ms.baseline);
      s.ratio.push(ms.sdk / ms.baseline);
      console.log(`bench-queue: run ${run + 1}/${RUNS} ${name.padEnd(15)} sdk ${ms.sdk.toFixed(1).padStart(8)} ms  baseline ${ms.baseline.toFixed(1).padStart(8)} ms  ratio ${(ms.sdk / ms.baseline).toFixed(3)}  (${order[0]} first)`);
    }
  }

  const result = {};
  for (const [name, s] of Object.entries(samples)) {
    const r = summary(s.ratio);
    result[name] = {
      median: round(r.median, 3),
      min: round(r.min, 3),
      max: round(r.max, 3),
      sdk_ms: roundSummary(summary(s.sdk), 1),
      baseline_ms: roundSummary(summary(s.baseline), 1),
      n: N,
      runs: RUNS,
    };
  }
  const durability = {
    chromium_disk: await durabilityOnDisk(),
    chromium_memory: await durabilityCosts(page, "chromium_memory"),
  };
  const env = { chromium: version, node: process.version, cpus: os.cpus().length, loadavg: os.loadavg().map((x) => round(x, 2)), date: new Date().toISOString(), ...info };

  printTable(result);
  printDurability(durability);
  fs.mkdirSync(outDir, { recursive: true });
  const out = path.join(outDir, "queue.json");
  fs.writeFileSync(out, JSON.stringify({ ...result, durability, env }, null, 2) + "\n");
  console.log(`bench-queue: wrote ${path.relative(root, out)}`);

  if (PROFILE) await diagnose(page, context, result);
  console.log(`bench-queue: done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

// The durability figures of one engine (a name for the log): per operation (add, delete) and
// mode (default, relaxed, strict), the median, min and max over RUNS rounds
// of the mean µs per transaction, and every round's value.
async function durabilityCosts(page, engine) {
  console.log(`bench-queue: durability (${engine}): ${RUNS} rounds of ${DURABILITY_N} transactions per operation and mode`);
  const rounds = await benchCall(page, "durabilityCosts", "run", DURABILITY_N, RUNS);
  const us = {};
  for (const [op, modes] of Object.entries(rounds)) {
    us[op] = Object.fromEntries(Object.entries(modes).map(([mode, v]) => [mode, { ...roundSummary(summary(v), 0), rounds: v.map((x) => round(x, 0)) }]));
  }
  return { us, n: DURABILITY_N, rounds: RUNS };
}

function printDurability(durability) {
  for (const [engine, d] of Object.entries(durability)) {
    console.log(`  IndexedDB durability (${engine}), us per readwrite transaction, median [min-max] of ${d.rounds} rounds x ${d.n}:`);
    for (const [op, modes] of Object.entries(d.us)) {
      console.log(`    ${op.padEnd(6)} ${Object.entries(modes).map(([m, v]) => `${m} ${v.median} [${v.min}-${v.max}]`).join("   ")}`);
    }
  }
  console.log("");
}

// The durability figures in a Chromium whose profile is on disk (a
// persistent context in a temporary directory), as a browser's own profile
// is: a context from browser.newContext(), where the other figures are
// taken, is off the record and keeps IndexedDB in memory.
async function durabilityOnDisk() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "pos-bench-profile-"));
  const context = await chromium.launchPersistentContext(dir, { executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  try {
    const page = await openBenchPage(context, `${srv.url}/static/tests/bench/queue.html`, { tool: "bench-queue" });
    return await durabilityCosts(page, "chromium_disk");
  } finally {
    await context.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

// Which SDK was measured: the commit, and whether pkg/ predates the sources.
function pkgInfo() {
  const wasm = path.join(root, "pkg", "pos_resilience_bg.wasm");
  const built = fs.statSync(wasm).mtimeMs;
  const newer = [];
  const walk = (d) => { for (const e of fs.readdirSync(d, { withFileTypes: true })) { const f = path.join(d, e.name); if (e.isDirectory()) walk(f); else if (fs.statSync(f).mtimeMs > built) newer.push(path.relative(root, f)); } };
  for (const d of ["src", "js"]) if (fs.existsSync(path.join(root, d))) walk(path.join(root, d));
  return { git_head: git("rev-parse", "--short", "HEAD"), pkg_built: new Date(built).toISOString(), sources_newer_than_pkg: newer };
}

function printTable(result) {
  const rows = [["figure", "n", "runs", "SDK ms med [min-max]", "baseline ms med [min-max]", "SDK/baseline med [min-max]", "goal"]];
  for (const [name, r] of Object.entries(result)) {
    const f = (s, d) => `${s.median.toFixed(d)} [${s.min.toFixed(d)}-${s.max.toFixed(d)}]`;
    const met = r.median <= GOALS[name] ? "met" : "MISSED";
    rows.push([name, String(r.n), String(r.runs), f(r.sdk_ms, 1), f(r.baseline_ms, 1), f(r, 3), `<= ${GOALS[name]} (${met})`]);
  }
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const line = (row) => row.map((cell, c) => cell.padEnd(widths[c])).join("  ");
  console.log("");
  console.log(line(rows[0]));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows.slice(1)) console.log(line(row));
  console.log("");
  for (const [name, r] of Object.entries(result)) {
    console.log(`  ${name}: ${(r.sdk_ms.median * 1000 / r.n).toFixed(0)} us/record SDK vs ${(r.baseline_ms.median * 1000 / r.n).toFixed(0)} us/record baseline`);
  }
  console.log("");
}

// --- BENCH_PROFILE=1 -------------------------------------------------------------

// Self time of a CPU profile by bucket, and the heaviest functions.
function digestProfile(profile) {
  const dt = new Map(); // node id -> µs of samples
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i];
    dt.set(id, (dt.get(id) || 0) + (profile.timeDeltas[i] || 0));
  }
  const buckets = {};
  const fns = {};
  let total = 0;
  for (const node of profile.nodes) {
    const us = dt.get(node.id) || 0;
    if (!us) continue;
    total += us;
    const { functionName, url } = node.callFrame;
    let bucket;
    if (functionName === "(idle)") bucket = "(idle): main thread waiting (IndexedDB, network, timers)";
    else if (functionName === "(program)") bucket = "(program): native browser work on the main thread";
    else if (functionName === "(garbage collector)") bucket = "(garbage collector)";
    else if (url.startsWith("wasm://") || /^\$?(func\d+|wasm-function)/.test(functionName)) bucket = "SDK wasm";
    else if (url.includes("/pkg/")) bucket = "SDK JS (wasm-bindgen glue and js/glue.js, in index.js)";
    else if (url.includes("/tests/bench/")) bucket = "bench page";
    else bucket = `other (${functionName || "anonymous"})`;
    buckets[bucket] = (buckets[bucket] || 0) + us;
    const fname = `${functionName || "(anonymous)"} ${url ? url.replace(/^.*\/static\//, "") : ""}`.trim();
    fns[fname] = (fns[fname] || 0) + us;
  }
  const ms = (us) => round(us / 1000, 1);
  return {
    total_ms: ms(total),
    buckets_ms: Object.fromEntries(Object.entries(buckets).sort((a, b) => b[1] - a[1]).map(([k, v]) => [k, ms(v)])),
    top_self_ms: Object.fromEntries(Object.entries(fns).sort((a, b) => b[1] - a[1]).slice(0, 15).map(([k, v]) => [k, ms(v)])),
  };
}

async function diagnose(page, context, result) {
  const call = (fn, ...args) => benchCall(page, fn, ...args);
  const n = Math.min(N, 500);
  console.log(`bench-queue: diagnosis (BENCH_PROFILE=1, ${n} records)`);
  const out = {};

  // 1. Platform calls per record.
  const counts = await call("countCalls", "diag", n);
  await fetch(`${srv.url}/log/${encodeURIComponent(counts.drainNs)}`, { method: "DELETE" });
  out.calls_per_record = { enqueue: counts.enqueue, drain: counts.drain };
  for (const phase of ["enqueue", "drain"]) {
    console.log(`  platform calls per record, SDK ${phase}:`);
    for (const [k, v] of Object.entries(counts[phase])) console.log(`    ${String(v).padStart(6)}  ${k}`);
  }

  // 2. What each kind of IndexedDB transaction costs alone (µs each).
  const micro = await call("microCosts", "diag", n);
  out.micro_us = Object.fromEntries(Object.entries(micro).map(([k, v]) => [k, round(v * 1000, 0)]));
  console.log("  cost of one operation alone (us):");
  for (const [k, v] of Object.entries(out.micro_us)) console.log(`    ${String(v).padStart(6)}  ${k}`);

  // 3. The SDK's per-record pattern rebuilt step by step in plain JS, next
  //    to the SDK itself, interleaved (median us/record over 7 rounds).
  const dn = Math.min(N, 100);
  out.decomposition_us_per_record = await call("decompose", "diag", dn, 7);
  console.log(`  the SDK's per-record steps rebuilt in plain JS (median us/record, ${dn} records, 7 rounds):`);
  for (const [k, v] of Object.entries(out.decomposition_us_per_record)) console.log(`    ${String(v).padStart(6)}  ${k}`);

  // 4. CPU profiles of the main thread during each SDK phase and baseline.
  const cdp = await context.newCDPSession(page);
  await cdp.send("Profiler.enable");
  await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
  const profiled = async (label, fn) => {
    await cdp.send("Profiler.start");
    const t = Date.now();
    try {
      await fn();
    } finally {
      const { profile } = await cdp.send("Profiler.stop");
      out[`cpu_${label}`] = { wall_ms: Date.now() - t, ...digestProfile(profile) };
    }
  };
  await profiled("enqueue_sdk", () => call("enqueueSdk", "prof", n));
  await profiled("enqueue_raw", () => call("enqueueRaw", "prof", n));
  await call("prepareDrain", "prof", n);
  let drained;
  await profiled("drain_sdk", async () => { drained = await call("runDrain", "prof"); });
  await checkLog(drained.ns, drained.keys, "drain_sdk (profiled)");
  let fetched;
  await profiled("drain_fetch", async () => { fetched = await call("drainFetch", "prof", n); });
  await checkLog(fetched.ns, fetched.keys, "drain_fetch (profiled)");
  await cdp.send("Profiler.disable");
  for (const label of ["enqueue_sdk", "enqueue_raw", "drain_sdk", "drain_fetch"]) {
    const p = out[`cpu_${label}`];
    console.log(`  main-thread CPU profile, ${label} (${n} records, ${p.wall_ms} ms wall, ${p.total_ms} ms sampled):`);
    for (const [k, v] of Object.entries(p.buckets_ms)) console.log(`    ${String(v).padStart(8)} ms  ${k}`);
  }
  out.figures = result;
  const file = path.join(outDir, "queue-profile.json");
  fs.writeFileSync(file, JSON.stringify(out, null, 2) + "\n");
  console.log(`bench-queue: wrote ${path.relative(root, file)}`);
}

try {
  await main();
} catch (e) {
  failures.push(e);
  console.error(`bench-queue: FAILED: ${e && e.stack || e}`);
} finally {
  if (browser) await browser.close().catch(() => {});
  if (srv) await srv.close().catch(() => {});
}
process.exit(failures.length ? 1 : 0);
