// The Service Worker of the Background Sync scenario: the package's
// documented handler. On a `sync` event whose tag is a pos-resilience
// queue's (`pos-resilience:<namespace>`), it drains that namespace's queue
// with no page open, under the same Web Lock as the pages.
import init, { ApiClient } from "../../pkg/index.js";

const ready = init();
const PREFIX = "pos-resilience:";

self.addEventListener("install", () => self.skipWaiting());
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

self.addEventListener("sync", (event) => {
  if (!event.tag.startsWith(PREFIX)) return;
  const namespace = event.tag.slice(PREFIX.length);
  event.waitUntil(ready.then(async () => {
    const client = new ApiClient({ namespace });
    try {
      let report = await client.drainQueue();
      // Another drainer (a page, or the drain of an earlier sync) holds the
      // queue: wait until it lets go, then drain what it left.
      while (report.skipped && report.remaining > 0) {
        await navigator.locks.request(event.tag, () => {});
        report = await client.drainQueue();
      }
      // Records left behind (the server is down): fail, so the browser
      // fires the sync again later.
      if (!report.skipped && report.remaining > 0) throw new Error(`${report.remaining} writes still queued`);
    } finally {
      client.close();
    }
  }));
});
