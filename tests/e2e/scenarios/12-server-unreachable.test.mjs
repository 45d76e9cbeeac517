// Scenario 12: the server stops answering while the browser stays online.
// The server process is frozen (SIGSTOP): it keeps its port and answers
// nothing, as behind a dead uplink or a hung server; navigator.onLine stays
// true. The first sale gets no answer, the SDK probes /healthz, finds it
// silent, and the indicator reads "server unreachable"; the next sale is
// queued at once, without an attempt. When the server answers again a probe
// finds it, the indicator turns back, and both sales drain: each recorded
// once, whatever the frozen server did with the attempts it had received.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  newTillContext, openTill, recordSalePosts, addToCart, waitMessage, waitIdle, waitQueueCount,
  serverInvariants, TOKENS, WAIT_MS, serverAndBrowserPerFile,
} from "./support.mjs";

const env = serverAndBrowserPerFile({});

/** Waits until the page's connection indicator reads `state`. */
async function waitConnection(page, state) {
  await page.waitForFunction((s) => document.getElementById("connection").dataset.state === s, state, { timeout: WAIT_MS });
}

test("a silent server is shown as unreachable, sales queue at once, and drain when it answers", async () => {
  const context = await newTillContext(env.browser);
  try {
    const page = await openTill(context, env.server.url);
    const posts = recordSalePosts(page);
    await waitConnection(page, "online");

    env.server.pause();
    let second;
    try {
      await addToCart(page, "Croissant");
      await page.locator("#complete").click();
      await waitConnection(page, "unreachable");
      assert.equal(await page.locator("#connection").innerText(), "server unreachable");
      await waitMessage(page, /does not answer: the sale is saved in this browser/);
      await waitIdle(page);
      assert.equal(await page.evaluate(() => navigator.onLine), true, "the browser still says online");

      const attemptsBefore = posts.length;
      await addToCart(page, "Ceramic mug");
      await page.locator("#complete").click();
      await waitQueueCount(page, 2);
      await waitIdle(page);
      second = posts.length - attemptsBefore;
    } finally {
      env.server.resume();
    }
    assert.equal(second, 0, "the sale made while unreachable was queued without an attempt");

    await waitConnection(page, "online");
    await waitQueueCount(page, 0);
    const sales = await env.server.sales(TOKENS.ana);
    const sold = sales.map((s) => s.items.map((i) => i.name).join("+")).sort();
    assert.deepEqual(sold, ["Ceramic mug", "Croissant"], "each sale recorded once");
    const stats = await serverInvariants(env.server, assert);
    assert.equal(stats.sales, 2);
    assert.deepEqual(context.pageErrors, []);
  } finally {
    await context.close();
  }
});
