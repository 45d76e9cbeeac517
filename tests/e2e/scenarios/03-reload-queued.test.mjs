// Scenario 3: three sales queued offline, then the page is reloaded; back
// online in the NEW page, the queue (IndexedDB) drains: three sales, each once.
//
// A page cannot be loaded while the browser context is offline, so the reload
// happens with the context online but every /api/ request failing like a dead
// network (Playwright aborts it with ERR_INTERNET_DISCONNECTED): the queue
// cannot drain during the reload. The new page then goes offline and back
// online for real, which is what triggers its drain.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  newTillContext, openTill, recordSalePosts, goOffline, queueSaleOffline, waitSaleListed,
  waitQueueCount, serverInvariants, TOKENS, serverAndBrowserPerFile,
} from "./support.mjs";

const env = serverAndBrowserPerFile({});

const PRODUCTS = ["Croissant", "Sourdough loaf", "Ceramic mug"];

test("three sales queued offline survive a reload and are sent once each", async () => {
  const context = await newTillContext(env.browser);
  try {
    let page = await openTill(context, env.server.url);
    const posts = recordSalePosts(page);
    await goOffline(context, page);
    for (const name of PRODUCTS) await queueSaleOffline(page, name);
    await waitQueueCount(page, 3);

    // Reload: the API is unreachable, the page itself loads.
    const deadNetwork = (route) => route.abort("internetdisconnected");
    await context.route("**/api/**", deadNetwork);
    await context.setOffline(false);
    await page.reload();
    await page.waitForSelector('body[data-ready="true"]');
    recordSalePosts(page, posts);
    await waitQueueCount(page, 3);
    assert.equal((await env.server.stats(TOKENS.ana)).sales, 0, "nothing reached the server before the new page is online");

    // The new page goes offline, the network comes back, then online.
    await goOffline(context, page);
    await context.unroute("**/api/**", deadNetwork);
    await context.setOffline(false);
    await waitQueueCount(page, 0);

    const sales = await env.server.sales(TOKENS.ana);
    assert.equal(sales.length, 3, `three sales: ${JSON.stringify(sales.map((s) => s.invoiceNumber))}`);
    const sold = sales.flatMap((s) => s.items.map((i) => i.name)).sort();
    assert.deepEqual(sold, [...PRODUCTS].sort(), "each queued sale recorded once (one product each)");
    // Oldest first: the queue is FIFO.
    assert.deepEqual(sales.slice().reverse().map((s) => s.items[0].name), PRODUCTS, "drained in the order they were made");

    const keysSeen = new Set(posts.map((p) => p.key));
    assert.equal(keysSeen.size, 3, `three Idempotency-Keys in all attempts: ${JSON.stringify(posts)}`);
    const stored = env.server.sql("SELECT key, COUNT(*) AS n FROM idempotency_keys GROUP BY key");
    assert.deepEqual(stored.map((r) => r.key).sort(), [...keysSeen].sort(), "the server stored exactly those keys");
    assert.ok(stored.every((r) => r.n === 1));
    const stats = await serverInvariants(env.server, assert);
    assert.equal(stats.sales, 3);
    assert.equal(stats.replays, 0, "no key executed or replayed twice");
    // The page shows them (not as pending any more).
    for (const s of sales) await waitSaleListed(page, s.invoiceNumber);
    assert.doesNotMatch(await page.locator("#sales-body").innerText(), /pending/);
    assert.deepEqual(context.pageErrors, []);
  } finally {
    await context.close();
  }
});
