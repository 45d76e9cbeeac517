// Scenario 4: two tabs of one cashier (one browser context: one origin, one
// IndexedDB queue), both offline with queued sales, then online together.
// Both tabs try to drain at once; every sale must be recorded exactly once and
// the server must never see a second execution of a key.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  newTillContext, openTill, recordSalePosts, goOffline, queueSaleOffline,
  waitQueueCount, serverInvariants, until, TOKENS, serverAndBrowserPerFile,
} from "./support.mjs";

const env = serverAndBrowserPerFile({});

test("two tabs with queued sales go online together: every sale exactly once", async () => {
  const context = await newTillContext(env.browser);
  try {
    const tabA = await openTill(context, env.server.url);
    const tabB = await openTill(context, env.server.url);
    const posts = [];
    recordSalePosts(tabA, posts);
    recordSalePosts(tabB, posts);
    await goOffline(context, tabA, tabB);
    const byTab = { A: ["Croissant", "Sourdough loaf"], B: ["Ceramic mug", "Oat milk 1 L"] };
    await queueSaleOffline(tabA, byTab.A[0]);
    await queueSaleOffline(tabB, byTab.B[0]);
    await queueSaleOffline(tabA, byTab.A[1]);
    await queueSaleOffline(tabB, byTab.B[1]);
    await Promise.all([waitQueueCount(tabA, 4), waitQueueCount(tabB, 4)]);
    assert.equal((await env.server.stats(TOKENS.ana)).sales, 0);

    await context.setOffline(false);
    await Promise.all([waitQueueCount(tabA, 0), waitQueueCount(tabB, 0)]);

    const sales = await env.server.sales(TOKENS.ana);
    const sold = sales.flatMap((s) => s.items.map((i) => i.name)).sort();
    assert.deepEqual(sold, [...byTab.A, ...byTab.B].sort(), `each of the four sales once: ${JSON.stringify(sales)}`);
    const stats = await serverInvariants(env.server, assert);
    assert.equal(stats.sales, 4);
    assert.equal(stats.replays, 0, `no key was executed or replayed a second time: ${JSON.stringify(stats)}`);
    assert.equal(stats.inFlightConflicts, 0, "no key was sent by both tabs at once");
    assert.equal(stats.keyMismatches, 0);
    const keys = env.server.sql("SELECT key, COUNT(*) AS n FROM idempotency_keys GROUP BY key");
    assert.equal(keys.length, 4, "four keys stored");
    await until("four answers recorded", () => posts.filter((p) => p.status !== null).length >= 4);
    const delivered = posts.filter((p) => p.status !== null);
    assert.equal(delivered.length, 4, `four POSTs got an answer, one per key: ${JSON.stringify(delivered)}`);
    assert.equal(new Set(delivered.map((p) => p.key)).size, 4);
    assert.deepEqual(new Set(delivered.map((p) => p.key)), new Set(keys.map((k) => k.key)));
    assert.deepEqual(context.pageErrors, []);
  } finally {
    await context.close();
  }
});
