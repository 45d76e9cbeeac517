// Scenario 5: two cashiers of one business, each in their own browser (context),
// complete sales at the same moment, several rounds: invoice numbers are
// distinct and gapless, and each page shows the number the server gave its sale.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  newTillContext, openTill, addToCart,
  waitMessage, waitIdle, serverInvariants, assertGapless, INVOICE, TOKENS, serverAndBrowserPerFile,
} from "./support.mjs";

const env = serverAndBrowserPerFile({});

const ROUNDS = 5;

test("two cashiers selling at the same moment get distinct, gapless invoice numbers", async () => {
  const ana = await newTillContext(env.browser, TOKENS.ana);
  const ben = await newTillContext(env.browser, TOKENS.ben);
  try {
    const pageA = await openTill(ana, env.server.url);
    const pageB = await openTill(ben, env.server.url);
    assert.equal(await pageB.locator("#cashier").inputValue(), TOKENS.ben);
    const shown = { [TOKENS.ana]: [], [TOKENS.ben]: [] };
    for (let round = 0; round < ROUNDS; round++) {
      await addToCart(pageA, "Croissant");
      await addToCart(pageB, "Oat milk 1 L");
      for (const p of [pageA, pageB]) await p.evaluate(() => { document.getElementById("sale-message").textContent = ""; });
      await Promise.all([pageA.locator("#complete").click(), pageB.locator("#complete").click()]);
      const [mA, mB] = await Promise.all([waitMessage(pageA, INVOICE), waitMessage(pageB, INVOICE)]);
      shown[TOKENS.ana].push(mA.match(INVOICE)[0]);
      shown[TOKENS.ben].push(mB.match(INVOICE)[0]);
      await Promise.all([waitIdle(pageA), waitIdle(pageB)]);
    }

    const sales = await env.server.sales(TOKENS.ana);
    assert.equal(sales.length, 2 * ROUNDS);
    const numbers = sales.map((s) => s.invoiceNumber);
    assert.equal(new Set(numbers).size, numbers.length, `distinct: ${numbers}`);
    assertGapless(assert, numbers);
    // Each page showed the number of its own cashier's sale.
    const cashierOf = Object.fromEntries(sales.map((s) => [s.invoiceNumber, s.cashierId]));
    const anaIds = new Set(shown[TOKENS.ana].map((n) => cashierOf[n]));
    const benIds = new Set(shown[TOKENS.ben].map((n) => cashierOf[n]));
    assert.equal(anaIds.size, 1, `Ana's page shows Ana's sales: ${JSON.stringify(shown)}`);
    assert.equal(benIds.size, 1, `Ben's page shows Ben's sales: ${JSON.stringify(shown)}`);
    assert.notDeepEqual([...anaIds], [...benIds], "two different cashiers");
    assert.deepEqual([...shown[TOKENS.ana], ...shown[TOKENS.ben]].sort(), numbers.slice().sort(), "every number shown is a server sale");
    const stats = await serverInvariants(env.server, assert);
    assert.equal(stats.sales, 2 * ROUNDS);
    assert.equal(stats.replays, 0);
    assert.deepEqual([...ana.pageErrors, ...ben.pageErrors], []);
  } finally {
    await ana.close();
    await ben.close();
  }
});
