// Reproduction (not a test; not run by scripts/test-e2e.sh):
//   node tests/e2e/scenarios/repro/chromium-resends-dropped-post.mjs
// With chaos dropAfterCommitRate 1, Node's fetch sees the dropped connection
// (UND_ERR_SOCKET) but a page's fetch in Chromium resolves 201 with
// Idempotent-Replayed: true: Chromium's network stack resent the POST (same
// headers, same key) on its own, so the page — and the SDK — never sees the
// failure. Consequence: in plain Chromium, commit-then-drop does not exercise
// the SDK's retry; the server's key replay is what saves the sale.
import { startServer, launchBrowser, TOKENS } from "../support.mjs";

const server = await startServer({ chaos: true });
const browser = await launchBrowser();
const sale = JSON.stringify({ locationId: "t", items: [{ productId: 1, quantity: 1 }] });
try {
  await server.chaos({ dropAfterCommitRate: 1 });
  try {
    const res = await fetch(`${server.url}/api/sales`, { method: "POST", body: sale,
      headers: { Authorization: `Bearer ${TOKENS.ana}`, "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() } });
    console.log("node fetch:", res.status);
  } catch (e) {
    console.log("node fetch: rejected,", e.cause?.code ?? String(e));
  }
  for (const warm of [false, true]) {
    const context = await browser.newContext();
    await context.route(`${server.url}/blank.html`, (r) => r.fulfill({ contentType: "text/html", body: "<p>blank</p>" }));
    const page = await context.newPage();
    await page.goto(`${server.url}/blank.html`);
    if (warm) await page.evaluate(() => fetch("/healthz").then((r) => r.text()));
    const r = await page.evaluate(async ([token, body]) => {
      try {
        const res = await fetch("/api/sales", { method: "POST", body,
          headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json", "Idempotency-Key": crypto.randomUUID() } });
        return { status: res.status, replayed: res.headers.get("idempotent-replayed") };
      } catch (e) {
        return { rejected: String(e) };
      }
    }, [TOKENS.ana, sale]);
    console.log(`chromium fetch (${warm ? "warm connection" : "first request of a new context"}):`, JSON.stringify(r));
    await context.close();
  }
  console.log("server stats:", JSON.stringify(await server.stats()));
} finally {
  await browser.close();
  await server.stop();
}
