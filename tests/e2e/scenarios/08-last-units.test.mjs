// Scenario 8: the last units of a product sold from two tabs at once: one sale,
// one clear insufficient-stock error (409, not retried, not queued), stock 0.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  newTillContext, openTill, recordSalePosts, addToCart,
  waitMessage, waitIdle, waitQueueCount, serverInvariants, until, INVOICE, TOKENS, serverAndBrowserPerFile,
} from "./support.mjs";

const STOCK = 2; // --seed-stock: every product starts with 2 units
const PRODUCT = "Limited-edition tote bag";

const env = serverAndBrowserPerFile({ seedStock: STOCK });

test("the last units sold from two tabs: one sale, one insufficient-stock error, stock 0", async () => {
  const context = await newTillContext(env.browser);
  try {
    const tabs = [await openTill(context, env.server.url), await openTill(context, env.server.url)];
    const posts = [];
    for (const tab of tabs) recordSalePosts(tab, posts);
    for (const tab of tabs) {
      await addToCart(tab, PRODUCT, STOCK);
      assert.match(await tab.locator("#cart-lines").innerText(), new RegExp(`${PRODUCT}\\s+−?\\s*${STOCK}`));
    }
    await Promise.all(tabs.map((tab) => tab.locator("#complete").click()));
    const messages = await Promise.all(tabs.map((tab) => waitMessage(tab, /INV-|Not recorded/)));
    await Promise.all(tabs.map(waitIdle));

    const won = messages.filter((m) => INVOICE.test(m));
    const lost = messages.filter((m) => /Not recorded/.test(m));
    assert.equal(won.length, 1, `one tab sold: ${JSON.stringify(messages)}`);
    assert.equal(lost.length, 1, `one tab was refused: ${JSON.stringify(messages)}`);
    assert.match(lost[0], new RegExp(`Not recorded: ${PRODUCT} \\(product \\d+\\): ${STOCK} requested, 0 in stock`),
      "the refusal names the product, the quantity and what is left");

    await until("both answers recorded", () => posts.filter((p) => p.status !== null).length === 2);
    assert.deepEqual(posts.map((p) => p.status).sort(), [201, 409], `one POST per tab, none retried: ${JSON.stringify(posts)}`);
    const sales = await env.server.sales(TOKENS.ana);
    assert.equal(sales.length, 1);
    assert.equal(sales[0].invoiceNumber, won[0].match(INVOICE)[0]);
    assert.deepEqual(sales[0].items.map((i) => [i.name, i.quantity]), [[PRODUCT, STOCK]]);
    const product = (await env.server.products(TOKENS.ana)).find((p) => p.name === PRODUCT);
    assert.equal(product.stock, 0, "stock is 0, never negative");
    const stored = env.server.sql("SELECT status, COUNT(*) AS n FROM idempotency_keys GROUP BY status ORDER BY status");
    assert.deepEqual(stored, [{ status: 201, n: 1 }, { status: 409, n: 1 }], "the refusal is a stored business outcome");
    const stats = await serverInvariants(env.server, assert);
    assert.equal(stats.sales, 1);
    // Not queued, not dead-lettered; both tabs show the product sold out.
    for (const tab of tabs) {
      await waitQueueCount(tab, 0);
      assert.equal(await tab.locator("#dead-letters").isHidden(), true);
      await tab.waitForFunction((name) => [...document.querySelectorAll("button.product")]
        .some((b) => b.textContent.includes(name) && b.textContent.includes("sold out") && b.disabled), PRODUCT);
    }
    assert.deepEqual(context.pageErrors, []);
  } finally {
    await context.close();
  }
});
