// Scenario 1: ten rapid clicks on "Complete sale" make one sale.
// Also the SDK's own guarantee underneath: ten identical posts while the first
// is in flight share one request (in-flight deduplication).
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  newTillContext, openTill, openBlank, recordSalePosts, addToCart,
  waitMessage, waitIdle, serverInvariants, INVOICE, TOKENS, serverAndBrowserPerFile,
} from "./support.mjs";

const env = serverAndBrowserPerFile({});

test("ten rapid clicks on Complete sale record one sale", async () => {
  const context = await newTillContext(env.browser);
  try {
    const page = await openTill(context, env.server.url);
    const posts = recordSalePosts(page);
    await addToCart(page, "Croissant");
    const box = await page.locator("#complete").boundingBox();
    // Ten real mouse clicks, dispatched back to back without waiting for the page.
    await Promise.all(Array.from({ length: 10 }, () => page.mouse.click(box.x + box.width / 2, box.y + box.height / 2)));
    const message = await waitMessage(page, INVOICE);
    await waitIdle(page);
    const invoice = message.match(INVOICE)[0];

    const sales = await env.server.sales(TOKENS.ana);
    assert.equal(sales.length, 1, `the server has exactly one sale: ${JSON.stringify(sales.map((s) => s.invoiceNumber))}`);
    assert.equal(sales[0].invoiceNumber, invoice, "the page shows the invoice number the server recorded");
    assert.deepEqual(sales[0].items.map((i) => [i.name, i.quantity]), [["Croissant", 1]]);
    assert.equal(posts.length, 1, `one POST /api/sales left the browser: ${JSON.stringify(posts)}`);
    const stats = await serverInvariants(env.server, assert);
    assert.equal(stats.sales, 1);
    assert.equal(stats.storedKeys, 1, "one idempotency key stored");
    assert.deepEqual(context.pageErrors, []);
  } finally {
    await context.close();
  }
});

test("ten identical SDK posts while the first is in flight share one request", async () => {
  const context = await newTillContext(env.browser);
  try {
    const page = await openBlank(context, env.server.url);
    const posts = recordSalePosts(page);
    const before = await env.server.stats(TOKENS.ana);
    const results = await page.evaluate(async (token) => {
      const client = new window.sdk.ApiClient({ namespace: "e2e-dedup", headers: () => ({ Authorization: `Bearer ${token}` }) });
      const body = { locationId: "till-1", items: [{ productId: 4, quantity: 1 }] };
      const all = await Promise.allSettled(Array.from({ length: 10 }, () => client.post("/api/sales", body)));
      client.close();
      return all.map((r) => (r.status === "fulfilled" ? { ok: r.value.invoiceNumber } : { err: String(r.reason) }));
    }, TOKENS.ana);
    assert.equal(results.length, 10);
    const invoices = new Set(results.map((r) => r.ok));
    assert.equal(invoices.size, 1, `all ten calls resolve with the same sale: ${JSON.stringify(results)}`);
    assert.match([...invoices][0], INVOICE);
    assert.equal(posts.length, 1, `one POST /api/sales left the browser: ${JSON.stringify(posts)}`);
    const stats = await serverInvariants(env.server, assert);
    assert.equal(stats.sales, before.sales + 1, "the server recorded one more sale");
    assert.equal(stats.replays, before.replays, "nothing was even retried");
    assert.deepEqual(context.pageErrors, []);
  } finally {
    await context.close();
  }
});
