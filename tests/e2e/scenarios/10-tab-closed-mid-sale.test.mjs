// Scenario 10: a sale whose tab is closed before the server's answer reaches
// it is not lost. The SDK writes the sale to IndexedDB before its first
// attempt; the next page of the POS in the same browser shows it as pending,
// sends it with its stored key and shows it sent. The server has it once.
//
// Two ways the answer never reaches the closed tab:
// 1. The server holds the request (chaos latency: every API request waits a
//    uniform 0…120 s). The tab is closed once the server's log says it holds
//    the POST, and only when the drawn delay leaves a wide margin; a shorter
//    one lets that sale complete and the cashier rings up another. Closing
//    the tab cancels the held request, so the next page's send is the one
//    the server executes.
// 2. The server commits the sale and drops the connection (chaos
//    dropAfterCommitRate 1). Chromium resends a POST whose reused connection
//    closed without an answer (see scenario 6), so the closing tab's first
//    POST goes through Playwright's own HTTP client: the page sees the
//    connection reset. Its retries fail like a dead network (the test aborts
//    them; a request held by the test would be let through when its page
//    closes), and the tab is closed while the call still has retries left,
//    so its record is still the call's. The next page's send gets the replay.
//
// The next page's POST is held by the test until the page shows the sale as
// pending, so that "pending, then sent" does not depend on the drain's speed.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  newTillContext, openTill, recordSalePosts, addToCart, waitMessage, waitIdle, waitQueueCount,
  waitSaleListed, serverInvariants, until, INVOICE, TOKENS, serverAndBrowserPerFile,
} from "./support.mjs";

// The chaos lines the test waits for are logged at info.
const env = serverAndBrowserPerFile({ chaos: true, rustLog: "info" });

// The server's largest chaos latency (MAX_LATENCY_MS in its chaos.rs).
const MAX_LATENCY_MS = 120_000;
// A held sale is closed on only when the server holds it at least this long:
// closing a tab takes far less, even on a loaded machine.
const HOLD_MARGIN_MS = 5_000;
const HELD_SALE = /chaos: delaying POST \/api\/sales by (\d+) ms/g;

/** How long the server holds each POST /api/sales it delayed so far (ms), oldest first. */
function heldSaleDelays() {
  return [...env.server.log().matchAll(HELD_SALE)].map((m) => Number(m[1]));
}

/** The stock of `product` in the server's database. */
function stockOf(product) {
  return env.server.sql(`SELECT stock FROM products WHERE name = '${product}'`)[0].stock;
}

/**
 * Holds every POST /api/sales of `context` until `release()` is called, then
 * lets it through to the server. An attempt the page gave up on meanwhile
 * (its timeout) is aborted by the page and cannot be let through; the SDK
 * replays it later.
 */
async function holdSalePosts(context) {
  let release;
  const released = new Promise((resolve) => { release = resolve; });
  await context.route(`${env.server.url}/api/sales`, async (route) => {
    if (route.request().method() !== "POST") return route.fallback();
    await released;
    return route.continue().catch(() => {});
  });
  return { release };
}

/**
 * Opens the POS again in `context` with its sale POSTs held, and waits until
 * it lists one pending sale of `product`. Returns the page and the release
 * of the held POSTs.
 */
async function reopenWithPendingSale(context, product) {
  const gate = await holdSalePosts(context);
  const page = await openTill(context, env.server.url);
  await until(`the reopened POS listing the closed tab's sale of ${product} as pending`, async () => {
    const rows = await page.locator("#sales-body tr").allInnerTexts();
    const pending = rows.filter((text) => text.includes("pending"));
    return pending.length === 1 && pending[0].includes(product);
  });
  await waitQueueCount(page, 1);
  return { page, release: gate.release };
}

/**
 * Waits until `page` shows the recovered sale sent: its message, the sale
 * listed, nothing pending, an empty queue. Returns the invoice number and the
 * message.
 */
async function waitRecoveredSaleSent(page) {
  const message = await waitMessage(page, /Queued sale sent: INV-/);
  const invoice = message.match(INVOICE)[0];
  await waitSaleListed(page, invoice);
  await page.waitForFunction(() => !document.getElementById("sales-body").textContent.includes("pending"));
  await waitQueueCount(page, 0);
  return { invoice, message };
}

/** Asserts the server stored `key` once, with the sale numbered `invoice` as its answer. */
function assertKeyStoredOnceFor(key, invoice) {
  const stored = env.server.sql(`SELECT status, CAST(body AS TEXT) AS body FROM idempotency_keys WHERE key = '${key}'`);
  assert.equal(stored.length, 1, `the key is stored once: ${JSON.stringify(stored)}`);
  assert.equal(stored[0].status, 201);
  const sale = JSON.parse(stored[0].body);
  assert.equal(sale.invoiceNumber, invoice, "the stored answer is the sale the page shows");
  assert.equal(env.server.sql(`SELECT COUNT(*) AS n FROM sales WHERE invoice_number = '${invoice}'`)[0].n, 1);
}

test("tab closed while the server holds the sale: the next page shows it pending, then sent; one sale", async () => {
  const context = await newTillContext(env.browser);
  const posts = recordSalePosts(context);
  try {
    const before = await env.server.stats(TOKENS.ana);
    const heldBefore = heldSaleDelays().length;
    const till = await openTill(context, env.server.url);
    await env.server.chaos({ latencyRate: 1, latencyMs: MAX_LATENCY_MS });

    let held = null;
    let completedMeanwhile = 0;
    for (const product of ["Ceramic mug", "Croissant", "Oat milk 1 L"]) {
      await addToCart(till, product);
      await till.locator("#complete").click();
      const number = heldBefore + completedMeanwhile + 1;
      const delays = await until("the server holding the sale", () => {
        const sofar = heldSaleDelays();
        return sofar.length >= number && sofar;
      });
      if (delays[number - 1] >= HOLD_MARGIN_MS) {
        held = { product, stock: stockOf(product) };
        break;
      }
      await waitMessage(till, /Sale INV-.* recorded/);
      await waitIdle(till);
      completedMeanwhile += 1;
    }
    assert.ok(held, `one of three sales was held at least ${HOLD_MARGIN_MS} ms: ${JSON.stringify(heldSaleDelays())}`);
    await until("the held POST recorded", () => posts.length === completedMeanwhile + 1);
    const key = posts.at(-1).key;
    await till.close();
    await env.server.chaos({ latencyRate: 0 });
    assert.equal((await env.server.stats(TOKENS.ana)).sales, before.sales + completedMeanwhile, "the held sale is not on the server");

    const { page, release } = await reopenWithPendingSale(context, held.product);
    release();
    const { invoice, message } = await waitRecoveredSaleSent(page);
    assert.doesNotMatch(message, /replayed/, "closing the tab cancelled the held request: this send executed the sale");

    const resent = posts.filter((p) => p.key === key);
    assert.ok(resent.length >= 2, `the next page sent the held sale's key again: ${JSON.stringify(posts)}`);
    assert.equal(resent.at(-1).status, 201);
    assert.equal(new Set(posts.map((p) => p.key)).size, completedMeanwhile + 1, `no other key: ${JSON.stringify(posts)}`);
    assertKeyStoredOnceFor(key, invoice);
    const stats = await serverInvariants(env.server, assert);
    assert.equal(stats.sales, before.sales + completedMeanwhile + 1, "one sale more than the ones completed before");
    assert.equal(stats.replays, before.replays);
    assert.equal(stockOf(held.product), held.stock - 1, "stock taken once");
    assert.deepEqual(context.pageErrors, []);
  } finally {
    await env.server.chaos({ latencyRate: 0 });
    await context.close();
  }
});

test("commit-then-drop, retries cut off, tab closed: the next page shows it pending, replays it with its key; one sale", async () => {
  const product = "Sourdough loaf";
  const context = await newTillContext(env.browser);
  const posts = recordSalePosts(context);
  try {
    const before = await env.server.stats(TOKENS.ana);
    const stockBefore = stockOf(product);
    const till = await openTill(context, env.server.url);
    // The first attempt through Playwright's HTTP client (no resend by the
    // browser): the server commits and drops, the page gets a reset. The
    // SDK's retries never reach the server.
    let attempts = 0;
    let lostResponses = 0;
    await till.route(`${env.server.url}/api/sales`, async (route) => {
      if (route.request().method() !== "POST") return route.fallback();
      attempts += 1;
      if (attempts > 1) return route.abort("internetdisconnected");
      try {
        return route.fulfill({ response: await route.fetch() });
      } catch {
        lostResponses += 1;
        return route.abort("connectionreset");
      }
    });
    await env.server.chaos({ dropAfterCommitRate: 1 });
    await addToCart(till, product);
    await till.locator("#complete").click();
    await until("the SDK's first retry", () => attempts === 2);
    await till.close();
    assert.ok(attempts < 4, `the tab was closed while its call had retries left (the demo allows 4 attempts): ${attempts}`);
    await env.server.chaos({ dropAfterCommitRate: 0 });
    assert.equal(lostResponses, 1, "the server dropped the first attempt's connection");
    assert.equal((await env.server.stats(TOKENS.ana)).sales, before.sales + 1, "the server committed the sale");
    const key = posts[0].key;

    const { page, release } = await reopenWithPendingSale(context, product);
    release();
    const { invoice, message } = await waitRecoveredSaleSent(page);
    assert.match(message, /replayed its answer/, "the page shows the server's replay");

    assert.ok(posts.every((p) => p.key === key), `every attempt and the replay carried the sale's key: ${JSON.stringify(posts)}`);
    // The tab's attempts never got an answer; only the next page's send did.
    const answered = posts.filter((p) => p.status !== null);
    assert.equal(answered.length, 1, `one answered POST: ${JSON.stringify(posts)}`);
    assert.equal(answered[0].status, 201);
    assert.equal(answered[0].replayed, true, "the answer came from the idempotency store");
    assertKeyStoredOnceFor(key, invoice);
    const stats = await serverInvariants(env.server, assert);
    assert.equal(stats.sales, before.sales + 1);
    assert.equal(stats.replays, before.replays + 1, "one replay");
    assert.equal(stockOf(product), stockBefore - 1, "stock taken once");
    assert.deepEqual(context.pageErrors, []);
  } finally {
    await env.server.chaos({ dropAfterCommitRate: 0 });
    await context.close();
  }
});

test("no IndexedDB: the sale still goes to the server, and the cashier is told it is not saved on this device", async (t) => {
  const context = await newTillContext(env.browser);
  await context.addInitScript(() => Object.defineProperty(globalThis, "indexedDB", { value: undefined }));
  try {
    const before = await env.server.stats(TOKENS.ana);
    const till = await openTill(context, env.server.url);
    const gate = await holdSalePosts(context);
    await addToCart(till, "Croissant");
    await till.locator("#complete").click();
    await waitMessage(till, /not saved on this device until the server answers/);
    gate.release();
    await waitMessage(till, /Sale INV-.* recorded/);
    const stats = await serverInvariants(env.server, assert);
    assert.equal(stats.sales, before.sales + 1);
    assert.deepEqual(context.pageErrors, [], "no page error (no unhandled rejection of a background drain)");
  } finally {
    await context.close();
  }
});
