// Scenario 2: offline (the whole browser context), a sale is queued and the
// counter reads 1; back online the queue drains: one sale on the server,
// counter 0, and the page shows the sale's invoice number.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  newTillContext, openTill, recordSalePosts, addToCart, goOffline, waitSaleListed,
  waitMessage, waitQueueCount, serverInvariants, until, INVOICE, TOKENS, serverAndBrowserPerFile,
} from "./support.mjs";

const env = serverAndBrowserPerFile({});

test("offline sale is queued (counter 1), then drained once back online", async () => {
  const context = await newTillContext(env.browser);
  try {
    const page = await openTill(context, env.server.url);
    const posts = recordSalePosts(page);
    await goOffline(context, page);
    await addToCart(page, "Sourdough loaf");
    await page.locator("#complete").click();
    await waitMessage(page, /saved in this browser/);
    await waitQueueCount(page, 1);
    assert.equal((await env.server.stats(TOKENS.ana)).sales, 0, "nothing reached the server while offline");

    await context.setOffline(false);
    await waitQueueCount(page, 0);
    const message = await waitMessage(page, /Queued sale sent: INV-/);
    const invoice = message.match(INVOICE)[0];
    await waitSaleListed(page, invoice);

    const sales = await env.server.sales(TOKENS.ana);
    assert.deepEqual(sales.map((s) => s.invoiceNumber), [invoice], "one sale on the server, the one the page shows");
    assert.deepEqual(sales[0].items.map((i) => [i.name, i.quantity]), [["Sourdough loaf", 1]]);
    await until("the 201 recorded", () => posts.some((p) => p.status === 201));
    const delivered = posts.filter((p) => p.status === 201);
    assert.equal(delivered.length, 1, `one delivered POST: ${JSON.stringify(posts)}`);
    assert.equal(new Set(posts.map((p) => p.key)).size, 1, "every attempt carried the same Idempotency-Key");
    const stats = await serverInvariants(env.server, assert);
    assert.equal(stats.sales, 1);
    assert.deepEqual(context.pageErrors, []);
  } finally {
    await context.close();
  }
});
