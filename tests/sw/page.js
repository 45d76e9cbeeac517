// The page of the Background Sync scenario: registers the Service Worker,
// then offers the scenario a client with `backgroundSync` on.
import init, { ApiClient } from "../../pkg/index.js";

await init();
await navigator.serviceWorker.register("./sw.js", { type: "module" });
await navigator.serviceWorker.ready;

/** Posts `count` sales to `url` with a client of `namespace`; resolves with each call's error kind (or "sent") and key. */
window.sell = async (namespace, url, count) => {
  const client = new ApiClient({ namespace, backgroundSync: true, maxRetries: 0 });
  const results = [];
  for (let i = 0; i < count; i++) {
    try {
      await client.post(url, { sale: i });
      results.push({ kind: "sent" });
    } catch (e) {
      results.push({ kind: e.kind, key: e.idempotencyKey });
    }
  }
  return results;
};

/** Drains `namespace`'s queue from this page; resolves with the report. */
window.drain = (namespace) => new ApiClient({ namespace }).drainQueue();

document.body.dataset.ready = "true";
