// Scenario 7: the cashier's token expires while a sale waits in the offline
// queue; at replay the client's `headers` function supplies a new token and
// the sale lands (docs/spec.md §4: headers are computed before every attempt and
// every replay, Authorization is never written to the queue, and a 401 at
// replay refreshes the headers once, then the record waits: auth-required).
//
// The demo page's headers function always returns its cashier's fixed token,
// so it cannot express "expired": these tests drive the packed SDK
// (/pkg/index.js) directly in a blank page of the server's origin. The
// server's demo tokens are fixed, so an unknown token stands for the expired
// one (401 unauthorized) and demo-cashier-1 for the refreshed one.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  newTillContext, openBlank, recordSalePosts, serverInvariants, until, INVOICE, TOKENS, serverAndBrowserPerFile,
} from "./support.mjs";

const EXPIRED = "expired-token-of-ana";
const FRESH = TOKENS.ana;

const env = serverAndBrowserPerFile({});

/**
 * A blank page with an SDK client whose headers come from `window.auth`:
 * `token` is what headers() returns; with `refreshOnUse`, the call that hands
 * out the stale token also refreshes it (the next call gets `refreshTo`).
 * The client's events are recorded in `window.events`.
 */
async function authPage(context, namespace) {
  const page = await openBlank(context, env.server.url);
  await page.evaluate(({ namespace, token }) => {
    window.auth = { token, refreshOnUse: false, refreshTo: null, handedOut: [] };
    window.events = [];
    window.client = new window.sdk.ApiClient({
      namespace,
      maxRetries: 0,
      headers: () => {
        const t = window.auth.token;
        if (window.auth.refreshOnUse) {
          window.auth.token = window.auth.refreshTo;
          window.auth.refreshOnUse = false;
        }
        window.auth.handedOut.push(t);
        return { Authorization: `Bearer ${t}` };
      },
    });
    for (const type of ["queued", "sent", "dead-letter", "auth-required", "drain-end"]) {
      window.client.addEventListener(type, (e) => window.events.push({ type, detail: JSON.parse(JSON.stringify(e.detail ?? null)) }));
    }
  }, { namespace, token: EXPIRED });
  return page;
}

/** Queues one sale while the context is offline; returns its idempotency key. */
async function queueSale(context, page, productId) {
  await context.setOffline(true);
  const err = await page.evaluate(async (productId) => {
    try {
      await window.client.post("/api/sales", { locationId: "till-1", items: [{ productId, quantity: 1 }] });
      return { kind: "resolved" };
    } catch (e) {
      return { kind: e.kind, name: e.name, key: e.idempotencyKey, queueId: e.queueId };
    }
  }, productId);
  assert.equal(err.kind, "queued", `the sale is queued: ${JSON.stringify(err)}`);
  assert.equal(await page.evaluate(() => window.client.queueSize()), 1);
  const [record] = await page.evaluate(() => window.client.listQueue());
  const stored = Object.keys(record.headers || {}).map((h) => h.toLowerCase());
  assert.ok(!stored.includes("authorization"), `the token is not written to the queue: ${JSON.stringify(record.headers)}`);
  return err.key;
}

const eventsOf = (page, type) => page.evaluate((t) => window.events.filter((e) => e.type === t), type);

test("a token changed while the sale is queued: the replay uses the new one", async () => {
  const context = await newTillContext(env.browser);
  try {
    const page = await authPage(context, "e2e-auth-a");
    const posts = recordSalePosts(page);
    const before = await env.server.stats(FRESH);
    const key = await queueSale(context, page, 3);
    await page.evaluate((t) => { window.auth.token = t; }, FRESH); // refreshed while offline
    await context.setOffline(false);
    await page.waitForFunction(() => window.events.some((e) => e.type === "sent"));
    await until("the 201 recorded", () => posts.some((p) => p.status === 201));

    const [sent] = await eventsOf(page, "sent");
    assert.equal(sent.detail.idempotencyKey, key);
    assert.match(sent.detail.body.invoiceNumber, INVOICE);
    const answered = posts.filter((p) => p.status !== null);
    assert.deepEqual(answered.map((p) => [p.status, p.authorization, p.key]), [[201, `Bearer ${FRESH}`, key]], JSON.stringify(posts));
    assert.equal(await page.evaluate(() => window.client.queueSize()), 0);
    assert.deepEqual(await page.evaluate(() => window.client.deadLetters()), []);
    const stats = await serverInvariants(env.server, assert);
    assert.equal(stats.sales, before.sales + 1);
    const sales = await env.server.sales(FRESH);
    assert.equal(sales.filter((s) => s.invoiceNumber === sent.detail.body.invoiceNumber).length, 1);
    assert.deepEqual(context.pageErrors, []);
  } finally {
    await context.close();
  }
});

test("the token expired at replay: 401, the headers function is asked again, the sale lands", async () => {
  const context = await newTillContext(env.browser);
  try {
    const page = await authPage(context, "e2e-auth-b");
    const posts = recordSalePosts(page);
    const before = await env.server.stats(FRESH);
    const key = await queueSale(context, page, 4);
    // The replay's first headers() call still hands out the expired token
    // (and refreshes it); the SDK must ask again after the 401.
    await page.evaluate((t) => { window.auth.refreshOnUse = true; window.auth.refreshTo = t; }, FRESH);
    await context.setOffline(false);
    await page.waitForFunction(() => window.events.some((e) => e.type === "sent" || e.type === "auth-required" || e.type === "dead-letter"));

    assert.deepEqual(await eventsOf(page, "auth-required"), []);
    assert.deepEqual(await eventsOf(page, "dead-letter"), []);
    const [sent] = await eventsOf(page, "sent");
    assert.equal(sent.detail.idempotencyKey, key);
    assert.equal(sent.detail.status, 201);
    await until("the 201 recorded", () => posts.some((p) => p.status === 201));
    const answered = posts.filter((p) => p.status !== null);
    assert.deepEqual(answered.map((p) => [p.status, p.authorization, p.key]),
      [[401, `Bearer ${EXPIRED}`, key], [201, `Bearer ${FRESH}`, key]], `replayed with the stale, then the new token, same key: ${JSON.stringify(posts)}`);
    assert.equal(await page.evaluate(() => window.client.queueSize()), 0);
    const stats = await serverInvariants(env.server, assert);
    assert.equal(stats.sales, before.sales + 1, "the sale landed once");
    assert.deepEqual(context.pageErrors, []);
  } finally {
    await context.close();
  }
});

test("still unauthorized after the refresh: the sale waits (auth-required), then lands with a valid token", async () => {
  const context = await newTillContext(env.browser);
  try {
    const page = await authPage(context, "e2e-auth-c");
    const posts = recordSalePosts(page);
    const before = await env.server.stats(FRESH);
    const key = await queueSale(context, page, 5);
    await context.setOffline(false);
    await page.waitForFunction(() => window.events.some((e) => e.type === "auth-required" || e.type === "sent" || e.type === "dead-letter"));

    const [required] = await eventsOf(page, "auth-required");
    assert.ok(required, "an auth-required event");
    assert.equal(required.detail.idempotencyKey, key);
    assert.equal(required.detail.status, 401);
    assert.deepEqual(await eventsOf(page, "dead-letter"), [], "a 401 is not a permanent failure");
    assert.equal(await page.evaluate(() => window.client.queueSize()), 1, "the sale waits in the queue");
    const answered = () => posts.filter((p) => p.status !== null);
    await until("both 401 answers recorded", () => answered().length >= 2);
    assert.deepEqual(answered().map((p) => p.status), [401, 401], `one replay plus one refreshed resend: ${JSON.stringify(posts)}`);
    assert.equal((await env.server.stats(FRESH)).sales, before.sales);

    await page.evaluate((t) => { window.auth.token = t; }, FRESH);
    const report = await page.evaluate(() => window.client.drainQueue());
    // A backoff-timer drain may hold the lock at this moment (skipped); either
    // way the sale must now be sent.
    assert.ok(report.sent === 1 || report.skipped, `drainQueue: ${JSON.stringify(report)}`);
    await page.waitForFunction(() => window.events.some((e) => e.type === "sent"));
    assert.equal(await page.evaluate(() => window.client.queueSize()), 0);
    await until("the 201 recorded", () => answered().some((p) => p.status === 201));
    const statuses = answered().map((p) => p.status);
    assert.ok(answered().every((p) => p.key === key), "every replay with the stored key");
    assert.equal(statuses.filter((s) => s === 201).length, 1, `one 201: ${statuses}`);
    assert.equal(statuses[statuses.length - 1], 201, `401s, then the 201: ${statuses}`);
    const stats = await serverInvariants(env.server, assert);
    assert.equal(stats.sales, before.sales + 1, "the sale landed once");
    assert.deepEqual(context.pageErrors, []);
  } finally {
    await context.close();
  }
});
