// Scenario 6: the server commits the sale and drops the connection without an
// answer (chaos dropAfterCommitRate 1 for the first attempt, then back to 0).
// The SDK retries with the same key, the server replays, the page shows one sale.
//
// Chromium itself resends a request, POST included, once when a REUSED
// keep-alive connection closes before any response header (net's
// HttpNetworkTransaction::ShouldResendRequest). On a warm page the dropped
// POST is therefore resent by the browser, with the same headers and key, and
// the SDK only ever sees the replay. (Observed here even for the first fetch
// of a fresh context: probably a preconnected socket, which Chromium also
// counts as reused. Node's fetch, like curl, sees the dropped connection.)
// So the first test sends the sale's POSTs through Playwright's own HTTP client
// (route.fetch, which never resends): the server really commits and drops,
// and the page sees the connection reset, so the SDK's own retry is what
// recovers. The second test is the plain browser, where Chromium's resend
// (same headers, same key) recovers and the SDK sees one attempt.
import { test } from "node:test";
import assert from "node:assert/strict";
import {
  newTillContext, openTill, recordSalePosts, addToCart, waitSaleListed,
  waitMessage, waitIdle, serverInvariants, INVOICE, TOKENS, serverAndBrowserPerFile,
} from "./support.mjs";

const env = serverAndBrowserPerFile({ chaos: true });

async function saleWithCommitThenDrop({ cold, product }) {
  const context = await newTillContext(env.browser);
  let lostResponses = 0;
  if (cold) {
    // The POST goes through Playwright's HTTP client (route.fetch), which does
    // not resend: when the server commits and drops the connection, the
    // browser gets a connection reset, like a response lost on the way.
    await context.route(`${env.server.url}/api/sales`, async (route) => {
      if (route.request().method() !== "POST") return route.fallback();
      let response;
      try {
        response = await route.fetch();
      } catch {
        lostResponses += 1;
        return route.abort("connectionreset");
      }
      return route.fulfill({ response });
    });
  }
  const before = await env.server.stats(TOKENS.ana);
  const stockBefore = env.server.sql(`SELECT stock FROM products WHERE name = '${product}'`)[0].stock;
  try {
    const page = await openTill(context, env.server.url);
    const posts = recordSalePosts(page);
    const settings = await env.server.chaos({ dropAfterCommitRate: 1 });
    assert.equal(settings.dropAfterCommitRate, 1);
    // Back to 0 as soon as the first attempt has been dropped (replays are
    // never dropped anyway, so the retry does not depend on winning this race).
    let restored = null;
    const restore = () => { if (!restored) restored = env.server.chaos({ dropAfterCommitRate: 0 }); return restored; };
    page.on("requestfailed", (req) => {
      if (req.method() === "POST" && req.url().endsWith("/api/sales")) restore();
    });
    await addToCart(page, product);
    await page.locator("#complete").click();
    const message = await waitMessage(page, /INV-|Not recorded|Outcome unknown/);
    await waitIdle(page);
    assert.equal((await restore()).dropAfterCommitRate, 0);

    const sales = await env.server.sales(TOKENS.ana);
    assert.equal(sales.length, before.sales + 1, `one new sale: ${JSON.stringify(sales.map((s) => s.invoiceNumber))}`);
    assert.match(message, new RegExp(`${INVOICE.source}.*replayed its answer`), "the page shows the sale, answered by a replay");
    const invoice = message.match(INVOICE)[0];
    assert.equal(sales.filter((s) => s.invoiceNumber === invoice).length, 1, "the sale the page shows is on the server");
    assert.equal(new Set(posts.map((p) => p.key)).size, 1, `every attempt used the same Idempotency-Key: ${JSON.stringify(posts)}`);
    const last = posts[posts.length - 1];
    assert.equal(last.status, 201);
    assert.equal(last.replayed, true, "the answer came from the idempotency store");
    if (cold) {
      assert.equal(lostResponses, 1, "the server dropped the first attempt's connection after the commit");
      assert.equal(posts.length, 2, `the SDK made two attempts: ${JSON.stringify(posts)}`);
      assert.ok(posts[0].failed && posts[0].status === null, `the first attempt got no answer: ${JSON.stringify(posts[0])}`);
      assert.match(message, /after 2 attempts/, "the page reports the SDK's retry");
    }
    const stats = await serverInvariants(env.server, assert);
    assert.equal(stats.sales, before.sales + 1);
    assert.equal(stats.replays, before.replays + 1, "one replay");
    assert.equal(env.server.sql(`SELECT stock FROM products WHERE name = '${product}'`)[0].stock, stockBefore - 1, "stock taken once");
    await waitSaleListed(page, invoice);
    const rows = (await page.locator("#sales-body tr").allInnerTexts()).filter((t) => t.includes(invoice));
    assert.equal(rows.length, 1, "the page lists the sale once");
    assert.deepEqual(context.pageErrors, []);
  } finally {
    await context.close();
  }
}

test("commit-then-drop with the response lost: the SDK retries with the same key and gets the replay", () =>
  saleWithCommitThenDrop({ cold: true, product: "Ceramic mug" }));

test("commit-then-drop in plain Chromium: one sale, answered by a replay", () =>
  saleWithCommitThenDrop({ cold: false, product: "Croissant" }));
