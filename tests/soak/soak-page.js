// The chaos-soak page: one cashier's till, driven by tests/soak/soak.mjs.
// Query: ?cashier=<bearer token>&ns=<queue namespace>&timeout=<ms per attempt>
//        &retries=<maxRetries>&retryDelay=<ms>&maxRetryDelay=<ms>
// It imports the SDK exactly as an app does (/pkg/index.js, same origin) and
// exposes:
//   window.soakSell({key, body}) → {outcome: "sent"|"queued"|"error", …}
//     one "Complete sale" through ApiClient#request with the driver's
//     idempotency key;
//   window.soakCallState(key) → null | "started" | "settled": how far this
//     tab got with the call of `key` (kept in sessionStorage, so it survives
//     a reload: a call a reload interrupted is the SDK's to deliver, a press
//     the reload swallowed before it reached the SDK is pressed again);
//   window.soakQueue() → {size, dead}: the queue size and the dead letters;
//   window.soakDrain() → the DrainReport of one drainQueue();
//   window.soakCounters() → requests this tab sent (kept in sessionStorage,
//     so they survive reloads);
//   window.soakOnWire(keys) → those of `keys` this tab sent a request with;
//   window.soakKept(key) → whether the SDK holds (outbox) or sent that call.
// Every SDK event is forwarded to the driver through the soakEvent binding.
import init, { ApiClient, ApiError } from "/pkg/index.js";

// How far the module got: the driver reports it when a load does not start.
window.soakStage = "module";
const params = new URLSearchParams(location.search);
const cashier = params.get("cashier");
const namespace = params.get("ns");
const num = (name, dflt) => (params.has(name) ? Number(params.get(name)) : dflt);

// Count every attempt the SDK puts on the wire for a write (POST /api/…),
// and how many of them failed without a response. sessionStorage survives a
// reload of this tab, so nothing is lost when the driver reloads the page.
const COUNTERS = "soak-counters";
const counters = JSON.parse(sessionStorage.getItem(COUNTERS) || '{"requests":0,"networkErrors":0,"loads":0}');
const save = () => sessionStorage.setItem(COUNTERS, JSON.stringify(counters));
counters.loads += 1;
save();
// The key of every write this tab put on the wire is marked too, so that the
// driver can tell whether a call a reload interrupted had sent anything.
const ON_WIRE = "soak-wire:";
const realFetch = globalThis.fetch.bind(globalThis);
globalThis.fetch = async (input, options) => {
  const method = (options && options.method) || (input instanceof Request ? input.method : "GET");
  const url = input instanceof Request ? input.url : String(input);
  const counted = method !== "GET" && new URL(url, location.href).pathname.startsWith("/api/");
  if (counted) {
    counters.requests += 1;
    save();
    const key = new Headers(options?.headers ?? (input instanceof Request ? input.headers : undefined)).get("Idempotency-Key");
    if (key) sessionStorage.setItem(ON_WIRE + key, "1");
  }
  try {
    return await realFetch(input, options);
  } catch (e) {
    if (counted) { counters.networkErrors += 1; save(); }
    throw e;
  }
};

// This document's id: tells the driver which load of the tab an event came
// from (a drain that started before a reload never ends in the new one).
const DOC = Math.random().toString(36).slice(2);
const report = (type, detail) => {
  try { window.soakEvent?.(type, detail, DOC); } catch { /* the driver is gone or the page unloads */ }
};

window.soakStage = "init";
await init();
window.soakStage = "client";
const client = new ApiClient({
  namespace,
  headers: () => ({ Authorization: `Bearer ${cashier}` }),
  timeout: num("timeout", 1500),
  maxRetries: num("retries", 3),
  retryDelay: num("retryDelay", 250),
  maxRetryDelay: num("maxRetryDelay", 2000),
});

const invoiceOf = (body) => (body && typeof body === "object" ? body.invoiceNumber ?? null : null);
for (const type of ["queued", "sent", "retry", "dead-letter", "drain-start", "drain-end", "auth-required", "write-ahead-failed", "online", "offline"]) {
  client.addEventListener(type, (e) => {
    const d = e.detail ?? {};
    switch (type) {
      case "sent":
        report(type, { key: d.idempotencyKey, status: d.status, replayed: d.replayed, invoice: invoiceOf(d.body) });
        break;
      case "queued":
        report(type, { key: d.idempotencyKey, reason: d.reason });
        break;
      case "retry":
        report(type, { key: d.idempotencyKey, reason: d.reason, status: d.status ?? null });
        break;
      case "dead-letter":
        report(type, { key: d.idempotencyKey, reason: d.reason, detail: d.detail ?? null, status: d.status ?? null, body: d.body ?? null });
        break;
      case "drain-end":
        report(type, { sent: d.sent, deadLettered: d.deadLettered, remaining: d.remaining, skipped: d.skipped });
        break;
      case "auth-required":
        report(type, { key: d.idempotencyKey });
        break;
      case "write-ahead-failed":
        report(type, { key: d.idempotencyKey, error: d.error });
        break;
      default:
        report(type, null);
    }
  });
}

const CALL_STATE = "soak-call:";
window.soakSell = async ({ key, body }) => {
  sessionStorage.setItem(CALL_STATE + key, "started");
  try {
    const r = await client.request("POST", "/api/sales", body, { idempotencyKey: key });
    return { outcome: "sent", status: r.status, replayed: r.replayed, attempts: r.attempts, invoice: invoiceOf(r.body), key: r.idempotencyKey };
  } catch (e) {
    if (e instanceof ApiError) {
      if (e.kind === "queued") return { outcome: "queued", queueId: e.queueId, attempts: e.attempts ?? null, key: e.idempotencyKey };
      return { outcome: "error", kind: e.kind, status: e.status ?? null, body: e.body ?? null, attempts: e.attempts ?? null, message: e.message };
    }
    return { outcome: "error", kind: "exception", message: String(e) };
  } finally {
    sessionStorage.setItem(CALL_STATE + key, "settled");
  }
};
window.soakCallState = (key) => sessionStorage.getItem(CALL_STATE + key);
window.soakOnWire = (keys) => keys.filter((key) => sessionStorage.getItem(ON_WIRE + key) !== null);
// Whether the SDK holds or sent the call of `key`: its record is in this
// tab's outbox, or a request with its key left this tab.
window.soakKept = async (key) =>
  sessionStorage.getItem(ON_WIRE + key) !== null || (await client.listQueue()).some((r) => r.idempotencyKey === key);
window.soakQueue = async () => {
  const [size, dead] = await Promise.all([client.queueSize(), client.deadLetters()]);
  return {
    size,
    dead: dead.map((d) => ({ key: d.idempotencyKey ?? d.request?.idempotencyKey ?? null, reason: d.reason, detail: d.detail ?? null, status: d.status ?? null, body: d.body ?? null })),
  };
};
window.soakDrain = async () => {
  const r = await client.drainQueue();
  return { sent: r.sent, deadLettered: r.deadLettered, remaining: r.remaining, skipped: r.skipped };
};
window.soakCounters = () => ({ ...counters });
// Only for the driver's self-test (SOAK_SABOTAGE=clear-queue): throws queued sales away.
window.soakClear = () => client.clearQueue();
window.soakStage = "ready";
window.soakReady = true;
