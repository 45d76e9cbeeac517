// Shared helpers of the end-to-end scenarios: start the real reference server
// (pos-server) on a free 127.0.0.1 port with a temporary SQLite file, launch
// Debian's headless Chromium through playwright-core, drive the demo page, and
// read the server's own records (HTTP API and the SQLite file).
//
// Environment:
//   POS_SERVER_BIN  the pos-server binary (default: target/release/pos-server,
//                   else target/debug/pos-server)
//   CHROMIUM        the browser (default /usr/bin/chromium)
//   E2E_KEEP=1      keep each scenario's temporary directory (database, server log)
//   E2E_SERVER_ARGS extra pos-server arguments, split on spaces (to check the
//                   scenarios catch a broken server, e.g. --no-idempotency)
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, readFileSync, openSync, closeSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { before, after } from "node:test";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, root as ROOT } from "../../support/driver.mjs";
import { CHAOS_OFF_ARGS, startPosServer } from "../../support/pos-server.mjs";

export { ROOT };
export const INVOICE = /INV-\d{6}-\d{4,}/;
export const TOKENS = { ana: "demo-cashier-1", ben: "demo-cashier-2", chloe: "demo-cashier-3" };
// Generous bound for anything that waits on the browser or the server: the
// machine is shared, so this is a ceiling for a hang, never a timing assertion.
export const WAIT_MS = 60_000;

function serverBinary() {
  if (process.env.POS_SERVER_BIN) return process.env.POS_SERVER_BIN;
  for (const profile of ["release", "debug"]) {
    const bin = path.join(ROOT, process.env.CARGO_TARGET_DIR || "target", profile, "pos-server");
    if (existsSync(bin)) return bin;
  }
  throw new Error("pos-server is not built: run scripts/test-e2e.sh (or cargo build --release -p pos-server)");
}

/** Polls `check` (async, truthy = done) until it holds or `timeout` ms pass. */
export async function until(what, check, { timeout = WAIT_MS, every = 50 } = {}) {
  const end = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${last.message})` : ""}`);
    await new Promise((r) => setTimeout(r, every));
  }
}

/**
 * Starts pos-server on a free port (`--port 0`; it prints the address) with a
 * new database in a temporary directory and waits until `/healthz` answers 200
 * (tests/support/pos-server.mjs, each step bounded by WAIT_MS). Options: chaos
 * (boolean: `--chaos` with every rate at 0), seedStock, pkgDir, wwwDir,
 * rustLog (the server's RUST_LOG; default $RUST_LOG, else "warn").
 * Returns { url, stats, sales, products, sql, chaos, log, pause, resume, stop }.
 */
export async function startServer({ chaos = false, seedStock, pkgDir = "pkg", wwwDir = "www-example", rustLog = process.env.RUST_LOG || "warn" } = {}) {
  const dir = mkdtempSync(path.join(tmpdir(), "pos-e2e-"));
  const db = path.join(dir, "pos.db");
  const args = ["--demo", "--port", "0", "--db", db, "--www", path.resolve(ROOT, wwwDir), "--pkg", path.resolve(ROOT, pkgDir)];
  if (seedStock != null) args.push("--seed-stock", String(seedStock));
  if (chaos) args.push(...CHAOS_OFF_ARGS);
  if (process.env.E2E_SERVER_ARGS) args.push(...process.env.E2E_SERVER_ARGS.split(" ").filter(Boolean));
  const logFd = openSync(path.join(dir, "server.log"), "w");
  const serverLog = () => { try { return readFileSync(path.join(dir, "server.log"), "utf8"); } catch { return ""; } };
  let child = null;
  let exited = null;
  let exit = null;
  // If the test process ends without stop() (a crash), do not leave the server.
  const killOnExit = () => { try { child.kill("SIGKILL"); } catch { /* gone */ } };
  let url;
  try {
    ({ url } = await startPosServer({
      bin: serverBinary(),
      args,
      cwd: ROOT,
      env: { RUST_LOG: rustLog, NO_COLOR: "1" },
      stderr: logFd,
      timeoutMs: WAIT_MS,
      onSpawn: (spawned) => {
        child = spawned;
        closeSync(logFd);
        process.on("exit", killOnExit);
        exit = new Promise((resolve) => child.on("exit", (code, signal) => { exited = { code, signal }; resolve(exited); }));
      },
      hint: () => `\n${serverLog()}`,
    }));
  } catch (e) {
    child?.kill("SIGKILL");
    throw e;
  }

  async function api(pathname, token = TOKENS.ana, init = {}) {
    const res = await fetch(`${url}${pathname}`, { ...init, headers: { Authorization: `Bearer ${token}`, ...(init.headers || {}) } });
    const text = await res.text();
    if (!res.ok) throw new Error(`${pathname}: HTTP ${res.status} ${text}`);
    return JSON.parse(text);
  }

  return {
    url,
    stats: (token) => api("/api/stats", token),
    sales: (token, limit = 200) => api(`/api/sales?limit=${limit}`, token),
    products: (token) => api("/api/products", token),
    /** Runs a read-only query on the server's SQLite file; rows as objects. */
    sql(query) {
      const out = execFileSync("sqlite3", ["-readonly", "-json", db, query], { encoding: "utf8" });
      return out.trim() ? JSON.parse(out) : [];
    },
    /** The server's log so far (its stderr). */
    log: serverLog,
    /** PUT /api/chaos with a patch (server started with chaos). */
    async chaos(patch) {
      const res = await fetch(`${url}/api/chaos`, { method: "PUT", headers: { "Content-Type": "application/json", Authorization: `Bearer ${TOKENS.ana}` }, body: JSON.stringify(patch) });
      if (!res.ok) throw new Error(`PUT /api/chaos: HTTP ${res.status} ${await res.text()}`);
      return res.json();
    },
    /** Freezes the server (SIGSTOP): it keeps its port, and answers nothing. */
    pause() {
      child.kill("SIGSTOP");
    },
    /** Lets a paused server go on (SIGCONT). */
    resume() {
      child.kill("SIGCONT");
    },
    async stop() {
      process.off("exit", killOnExit);
      if (!exited) child.kill("SIGCONT");
      if (!exited) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
        await exit;
        clearTimeout(timer);
      }
      if (!process.env.E2E_KEEP) rmSync(dir, { recursive: true, force: true });
      else console.log(`# kept ${dir}`);
    },
  };
}

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
  });
}

/**
 * Starts a server (`startServer(serverOptions)`) and a browser before the
 * file's tests and stops both after them. Returns `{server, browser}`,
 * filled in once they are up (read them inside the tests).
 */
export function serverAndBrowserPerFile(serverOptions) {
  const env = { server: undefined, browser: undefined };
  before(async () => {
    env.server = await startServer(serverOptions);
    env.browser = await launchBrowser();
  });
  after(async () => {
    await env.browser?.close();
    await env.server?.stop();
  });
  return env;
}

/**
 * A new browser context (fresh storage: its own IndexedDB, localStorage) whose
 * demo page starts as the given cashier. Page errors are collected in
 * `context.pageErrors` (failed requests while offline are expected, not errors).
 */
export async function newTillContext(browser, token = TOKENS.ana) {
  const context = await browser.newContext({ viewport: { width: 1360, height: 1020 } });
  context.pageErrors = [];
  await context.addInitScript((t) => {
    if (!localStorage.getItem("pos-demo-cashier")) localStorage.setItem("pos-demo-cashier", t);
  }, token);
  return context;
}

const EXPECTED_CONSOLE = /net::ERR_INTERNET_DISCONNECTED|net::ERR_CONNECTION|net::ERR_EMPTY_RESPONSE|Failed to load resource|net::ERR_FAILED/;

/** Opens the demo page in `context` and waits until the SDK started. */
export async function openTill(context, url) {
  const page = await context.newPage();
  watchErrors(page, context.pageErrors);
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(`${url}/`);
  await page.waitForSelector('body[data-ready="true"]');
  await page.waitForSelector("button.product");
  return page;
}

export function watchErrors(page, sink) {
  page.on("pageerror", (e) => sink.push(`pageerror: ${e}`));
  page.on("console", (m) => { if (m.type() === "error" && !EXPECTED_CONSOLE.test(m.text())) sink.push(`console: ${m.text()}`); });
}

/**
 * Records every POST /api/sales the page sends (or every page of a browser
 * context, which has the same request events): key, auth, and its outcome.
 */
export function recordSalePosts(page, sink = []) {
  const byRequest = new Map();
  page.on("request", (req) => {
    if (req.method() !== "POST" || !new URL(req.url()).pathname.endsWith("/api/sales")) return;
    const h = req.headers();
    const entry = { key: h["idempotency-key"], authorization: h["authorization"], body: req.postData(), status: null, replayed: false, failed: null };
    byRequest.set(req, entry);
    sink.push(entry);
  });
  page.on("response", async (res) => {
    const entry = byRequest.get(res.request());
    if (!entry) return;
    entry.status = res.status();
    entry.replayed = (await res.allHeaders())["idempotent-replayed"] === "true";
  });
  page.on("requestfailed", (req) => {
    const entry = byRequest.get(req);
    if (entry) entry.failed = req.failure()?.errorText ?? "failed";
  });
  return sink;
}

export async function addToCart(page, productName, times = 1) {
  for (let i = 0; i < times; i++) await page.locator("button.product", { hasText: productName }).click();
}

export async function waitQueueCount(page, n, timeout = WAIT_MS) {
  await page.waitForFunction((want) => document.getElementById("queue-count").textContent === String(want), n, { timeout });
}

export async function waitMessage(page, re, timeout = WAIT_MS) {
  await page.waitForFunction(([src, flags]) => new RegExp(src, flags).test(document.getElementById("sale-message").textContent),
    [re.source, re.flags], { timeout });
  return page.locator("#sale-message").innerText();
}

/** Waits until the page is idle after a sale: button not busy. */
export async function waitIdle(page) {
  await page.waitForFunction(() => document.getElementById("complete").getAttribute("aria-busy") !== "true");
}

/** Sets the context offline and waits until each page's #connection reads offline. */
export async function goOffline(context, ...pages) {
  await context.setOffline(true);
  for (const page of pages) {
    await page.waitForFunction(() => document.getElementById("connection").dataset.state === "offline");
  }
}

/**
 * One sale of `product` while offline: waits until the page says it is saved
 * in this browser and is idle, then clears the message for the next sale.
 */
export async function queueSaleOffline(page, product) {
  await addToCart(page, product);
  await page.locator("#complete").click();
  await waitMessage(page, /saved in this browser/);
  await waitIdle(page);
  await page.evaluate(() => { document.getElementById("sale-message").textContent = ""; });
}

/** Waits until the page's list of sales shows `invoice`. */
export async function waitSaleListed(page, invoice) {
  await page.waitForFunction((inv) => document.getElementById("sales-body").textContent.includes(inv), invoice);
}

/** Asserts the invariants every scenario ends with, on the server's records. */
export async function serverInvariants(server, assert, token = TOKENS.ana) {
  const stats = await server.stats(token);
  assert.equal(stats.duplicateInvoiceNumbers, 0, `duplicateInvoiceNumbers must be 0: ${JSON.stringify(stats)}`);
  const dup = server.sql("SELECT business_id, invoice_number, COUNT(*) AS n FROM sales GROUP BY 1, 2 HAVING n > 1");
  assert.deepEqual(dup, [], "no invoice number twice in the sales table");
  const neg = server.sql("SELECT id, stock FROM products WHERE stock < 0");
  assert.deepEqual(neg, [], "no negative stock");
  return stats;
}

/** Invoice numbers of a business must be exactly 1..n for the month. */
export function assertGapless(assert, invoiceNumbers) {
  const byPeriod = new Map();
  for (const inv of invoiceNumbers) {
    const m = inv.match(/^INV-(\d{6})-(\d{4,})$/);
    assert.ok(m, `invoice number format: ${inv}`);
    if (!byPeriod.has(m[1])) byPeriod.set(m[1], []);
    byPeriod.get(m[1]).push(Number(m[2]));
  }
  for (const [period, seqs] of byPeriod) {
    seqs.sort((a, b) => a - b);
    assert.deepEqual(seqs, seqs.map((_, i) => i + 1), `invoice numbers of ${period} are 1..${seqs.length} with no gap or duplicate`);
  }
}

/**
 * A blank page on the server's origin (served by Playwright's router, not by
 * the server) so a test can import /pkg/index.js and drive the SDK directly.
 */
export async function openBlank(context, url) {
  const blank = `${url}/__e2e_blank__.html`;
  await context.route(blank, (route) => route.fulfill({ status: 200, contentType: "text/html", body: "<!doctype html><meta charset=utf-8><title>e2e</title>" }));
  const page = await context.newPage();
  watchErrors(page, context.pageErrors);
  page.setDefaultTimeout(WAIT_MS);
  await page.goto(blank);
  await page.evaluate(async () => {
    const sdk = await import("/pkg/index.js");
    await sdk.default();
    window.sdk = sdk;
  });
  return page;
}
