// Headless-Chromium check of the demo page against a running pos-server:
//   node www-example/scripts/demo-check.mjs http://127.0.0.1:PORT
// The page loads, a sale completed through the SDK shows its invoice number
// (and the server has it), the button reads "Processing…" while submitting,
// a sale made offline is queued and sent once back online, the queued
// counter of another open tab follows, and a sale whose connection the
// server drops after committing (the server must run with --chaos, as
// demo.sh and test-demo.sh start it) is recorded once, by a replay.
// SCREENSHOT=file.png saves a picture.
// Uses playwright-core from the repository's node_modules with Debian's
// Chromium (CHROMIUM overrides the path); it never downloads a browser.
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS } from "../../tests/support/driver.mjs";

const base = process.argv[2];
if (!base) {
  console.error("usage: node demo-check.mjs http://127.0.0.1:PORT");
  process.exit(2);
}
const TOKEN = "demo-cashier-1";
const INVOICE = /INV-\d{6}-\d{4,}/;
let passed = 0;
let failed = 0;

function check(name, ok, detail = "") {
  if (ok) {
    passed += 1;
    console.log(`ok   ${name}`);
  } else {
    failed += 1;
    console.log(`FAIL ${name}${detail ? `: ${detail}` : ""}`);
  }
}

async function api(path) {
  const res = await fetch(`${base}${path}`, { headers: { Authorization: `Bearer ${TOKEN}` } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  headless: true,
  args: CHROMIUM_ARGS,
});
const pageErrors = [];
try {
  const context = await browser.newContext({ viewport: { width: 1360, height: 1020 } });
  const page = await context.newPage();
  page.on("pageerror", (e) => pageErrors.push(String(e)));
  // Chromium logs every request that fails while the context is offline;
  // those are expected in the offline steps, anything else is an error.
  const expected = /net::ERR_INTERNET_DISCONNECTED/;
  page.on("console", (m) => { if (m.type() === "error" && !expected.test(m.text())) pageErrors.push(m.text()); });
  page.setDefaultTimeout(30_000);

  await page.goto(`${base}/`);
  try {
    await page.waitForSelector('body[data-ready="true"]');
    check("the page loads and the SDK starts", true);
  } catch (e) {
    check("the page loads and the SDK starts", false, `${e.message}\nlog: ${await page.locator("#log").innerText()}`);
    throw new Error("page did not start");
  }
  check("connection indicator reads online", (await page.locator("#connection").innerText()) === "online");
  await page.waitForSelector("button.product");
  check("products are listed with stock", (await page.locator("button.product").count()) >= 5 &&
    /in stock/.test(await page.locator("button.product").first().innerText()));

  // Record every state of the button while the sale is submitted.
  await page.evaluate(() => {
    const button = document.getElementById("complete");
    window.__buttonStates = [];
    new MutationObserver(() => window.__buttonStates.push({ text: button.textContent, disabled: button.disabled }))
      .observe(button, { attributes: true, childList: true, characterData: true, subtree: true });
  });
  await page.locator("button.product", { hasText: "Croissant" }).click();
  await page.locator("button.product", { hasText: "Oat milk" }).click();
  check("the cart shows the lines", (await page.locator("#cart-lines li").count()) === 2);
  await page.locator("#complete").click();
  await page.waitForFunction((re) => new RegExp(re).test(document.getElementById("sale-message").textContent), INVOICE.source);
  const message = await page.locator("#sale-message").innerText();
  const invoice = message.match(INVOICE)[0];
  check("a completed sale shows its invoice number", true, invoice);
  const states = await page.evaluate(() => window.__buttonStates);
  check("Complete sale is disabled and reads Processing… while submitting",
    states.some((s) => s.disabled && s.text === "Processing…"), JSON.stringify(states));
  await page.waitForFunction((inv) => document.getElementById("sales-body").textContent.includes(inv), invoice);
  check("the last-sales list shows the invoice number", true);
  const serverSales = await api("/api/sales?limit=5");
  check("the server recorded that sale", serverSales.some((s) => s.invoiceNumber === invoice), JSON.stringify(serverSales.map((s) => s.invoiceNumber)));
  check("the cart is empty after the sale", (await page.locator("#cart-lines li").count()) === 0);

  // The offline queue.
  await page.locator("#simulate-offline").check();
  await page.waitForFunction(() => document.getElementById("connection").dataset.state === "offline");
  await page.locator("button.product", { hasText: "Sourdough" }).click();
  await page.locator("#complete").click();
  await page.waitForFunction(() => /saved in this browser/.test(document.getElementById("sale-message").textContent));
  check("offline, the sale is queued", true);
  await page.waitForFunction(() => document.getElementById("queue-count").textContent === "1");
  check("the queued counter reads 1", true);
  await page.locator("#simulate-offline").uncheck();
  await page.waitForFunction(() => document.getElementById("queue-count").textContent === "0", null, { timeout: 60_000 });
  const stats = await api("/api/stats");
  check("back online, the queue drains and the server has both sales", stats.sales === 2, JSON.stringify(stats));
  await page.waitForFunction((re) => (document.getElementById("sales-body").textContent.match(new RegExp(re, "g")) || []).length >= 2, INVOICE.source);
  check("the drained sale appears with its invoice number", true);

  // Two tabs, the browser really offline (network emulation for the whole
  // context): a sale queued in one tab shows in the other tab's counter.
  const other = await context.newPage();
  other.on("pageerror", (e) => pageErrors.push(String(e)));
  other.on("console", (m) => { if (m.type() === "error" && !expected.test(m.text())) pageErrors.push(m.text()); });
  await other.goto(`${base}/`);
  await other.waitForSelector('body[data-ready="true"]');
  await context.setOffline(true);
  await page.locator("button.product", { hasText: "Ceramic mug" }).click();
  await page.locator("#complete").click();
  await page.waitForFunction(() => /saved in this browser/.test(document.getElementById("sale-message").textContent));
  await other.waitForFunction(() => document.getElementById("queue-count").textContent === "1");
  check("the queued counter updates in another open tab", true);
  await context.setOffline(false);
  await Promise.all([page, other].map((p) =>
    p.waitForFunction(() => document.getElementById("queue-count").textContent === "0", null, { timeout: 60_000 })));
  const after = await api("/api/stats");
  check("back online, both tabs show an empty queue and the server has the third sale", after.sales === 3, JSON.stringify(after));
  await other.close();

  // The hard case through the page: the server commits the sale and drops the
  // connection; the SDK retries with the same key and gets the replay.
  const chaos = await fetch(`${base}/api/chaos`, { method: "PUT", headers: { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ dropAfterCommitRate: 1 }) });
  check("the server runs with --chaos (PUT /api/chaos answers)", chaos.ok, `status ${chaos.status}`);
  if (chaos.ok) {
    const before = await api("/api/stats");
    await page.locator("button.product", { hasText: "Croissant" }).click();
    await page.locator("#complete").click();
    await page.waitForFunction((re) => new RegExp(re).test(document.getElementById("sale-message").textContent), `${INVOICE.source}.*replayed its answer`);
    const after = await api("/api/stats");
    check("commit-then-drop: the POST is resent with its key (by Chromium itself, see README), the server replays, one sale recorded",
      after.sales === before.sales + 1 && after.replays === before.replays + 1, `${JSON.stringify(before)} → ${JSON.stringify(after)}`);
    await fetch(`${base}/api/chaos`, { method: "PUT", headers: { "Content-Type": "application/json", Authorization: `Bearer ${TOKEN}` }, body: JSON.stringify({ dropAfterCommitRate: 0 }) });
  }

  // Another cashier of another business: its own products and sales.
  await page.locator("#cashier").selectOption("demo-cashier-3");
  const switched = await page.waitForFunction(() =>
    document.getElementById("shop-name").textContent === "Harbour Café" &&
    document.getElementById("products").textContent.includes("Flat white") &&
    !document.getElementById("products").textContent.includes("Croissant") &&
    document.getElementById("sales-body").textContent.includes("No sales yet"), null, { timeout: 15_000 }).then(() => true, () => false);
  check("switching cashier shows the other business's products and none of the first business's sales", switched,
    `${await page.locator("#shop-name").innerText()} / ${await page.locator("#sales-body").innerText()}`);
  await page.locator("#cashier").selectOption("demo-cashier-1");
  await page.waitForFunction(() => document.getElementById("products").textContent.includes("Croissant"));

  if (process.env.SCREENSHOT) {
    await page.locator("button.product", { hasText: "Espresso" }).click();
    await page.locator("button.product", { hasText: "Ceramic mug" }).click();
    await page.screenshot({ path: process.env.SCREENSHOT, fullPage: true });
    console.log(`screenshot saved to ${process.env.SCREENSHOT}`);
  }
  check("no page errors", pageErrors.length === 0, pageErrors.join("\n"));
} catch (e) {
  check("demo page check ran to the end", false, e.message);
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
