// Scenario 11: sales queued offline reach the server through the Service
// Worker's Background Sync, with no page of the app open; and a page and the
// Service Worker draining at once send each sale once (one Web Lock).
//
// The page and its Service Worker (tests/sw/) are served with the package by
// the SDK's test server, whose /t/<ns>/echo records every request. The sync
// event is fired through the DevTools protocol
// (ServiceWorker.dispatchSyncEvent), as the browser would fire it when the
// network returns; the protocol session lives on a blank page of another
// origin, so no page of the app is open when it fires.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, until, ROOT } from "./support.mjs";
import { startTestServer } from "../../support/test-server.mjs";

let server;
let browser;
before(async () => {
  server = await startTestServer({ port: 0, staticDir: ROOT });
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const PAGE = () => `${server.url}/static/tests/sw/page.html`;
const uniqueNs = (name) => `${name}-${Date.now()}-${Math.floor(Math.random() * 1e9)}`;
const posts = async (ns) => (await (await fetch(`${server.url}/log/${ns}`)).json()).filter((r) => r.method === "POST");

/** Opens the scenario page and waits for its Service Worker to be active. */
async function openPage(context) {
  const page = await context.newPage();
  await page.goto(PAGE());
  await page.waitForSelector('body[data-ready="true"]', { state: "attached" });
  return page;
}

/** A DevTools session on a blank page (no page of the app) that knows the
 *  Service Worker registration of the scenario's scope. */
async function serviceWorkerControl(context) {
  const blank = await context.newPage();
  const cdp = await context.newCDPSession(blank);
  const registrations = new Map();
  cdp.on("ServiceWorker.workerRegistrationUpdated", ({ registrations: list }) => {
    for (const r of list) if (!r.isDeleted) registrations.set(r.scopeURL, r.registrationId);
  });
  await cdp.send("ServiceWorker.enable");
  const scope = new URL("./", PAGE()).href;
  const registrationId = await until("the Service Worker registration", () => registrations.get(scope), { timeout: 30_000 });
  return {
    blank,
    sync: (tag) => cdp.send("ServiceWorker.dispatchSyncEvent", { origin: server.url, registrationId, tag, lastChance: false }),
  };
}

/** Queues `count` sales of `ns` offline in `page`; returns their keys. */
async function queueOffline(context, page, ns, count) {
  await context.setOffline(true);
  const results = await page.evaluate(([n, url, c]) => window.sell(n, url, c), [ns, `${server.url}/t/${ns}/echo`, count]);
  assert.deepEqual(results.map((r) => r.kind), Array(count).fill("queued"));
  return results.map((r) => r.key);
}

test("sales queued offline are sent by the Service Worker's sync with no page open", async () => {
  const context = await browser.newContext();
  try {
    const ns = uniqueNs("bgsync");
    const page = await openPage(context);
    const keys = await queueOffline(context, page, ns, 3);
    const control = await serviceWorkerControl(context);
    await page.close();
    await context.setOffline(false);
    assert.deepEqual(context.pages().map((p) => p.url()), ["about:blank"], "no page of the app is open");
    await control.sync(`pos-resilience:${ns}`);
    const sent = await until("three sales at the server", async () => { const p = await posts(ns); return p.length >= 3 && p; });
    assert.deepEqual(sent.map((r) => r.headers["idempotency-key"]).sort(), [...keys].sort(), "each queued sale once, with its key");
  } finally {
    await context.close();
  }
});

test("a page and the Service Worker draining at once send each sale once", async () => {
  const context = await browser.newContext();
  try {
    const ns = uniqueNs("bgsync-race");
    const page = await openPage(context);
    const keys = await queueOffline(context, page, ns, 20);
    const control = await serviceWorkerControl(context);
    await context.setOffline(false);
    const [report] = await Promise.all([
      page.evaluate((n) => window.drain(n), ns),
      control.sync(`pos-resilience:${ns}`),
    ]);
    assert.equal(typeof report.sent, "number");
    const sent = await until("twenty sales at the server", async () => {
      const p = await posts(ns);
      if (p.length < 20) await page.evaluate((n) => window.drain(n), ns);
      return p.length >= 20 && p;
    });
    const sentKeys = sent.map((r) => r.headers["idempotency-key"]);
    assert.equal(new Set(sentKeys).size, sentKeys.length, "no key sent twice");
    assert.deepEqual([...sentKeys].sort(), [...keys].sort());
  } finally {
    await context.close();
  }
});
