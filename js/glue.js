// Small JavaScript helpers the wasm module imports (the package build
// bundles this file with wasm-bindgen's glue into the package's index.js).
// Kept tiny: anything with policy in it lives in Rust.

/**
 * The error every pos-resilience promise rejects with. A real `Error`
 * subclass so `instanceof Error` and stack traces work; `kind` says what
 * went wrong (network | timeout | http | aborted | invalid-input | queued |
 * storage).
 */
export class ApiError extends Error {
  constructor(kind, message, fields) {
    super(message);
    this.name = "ApiError";
    this.kind = kind;
    if (fields) {
      for (const k of ["status", "body", "idempotencyKey", "attempts", "queueId", "cause"]) {
        if (fields[k] !== undefined) this[k] = fields[k];
      }
    }
  }
}

/** Builds an ApiError; called from Rust. */
export function makeApiError(kind, message, fields) {
  return new ApiError(kind, message, fields);
}

/**
 * Resolves after `ms` milliseconds, or rejects at once with the signal's
 * reason when `signal` aborts first. Cleans up both the timer and the
 * listener whichever way it ends, so a long-lived client leaks nothing.
 */
export function sleep(ms, signal) {
  return new Promise((resolve, reject) => {
    if (signal && signal.aborted) return reject(signal.reason);
    const onAbort = () => { clearTimeout(timer); reject(signal.reason); };
    const timer = setTimeout(() => {
      if (signal) signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    if (signal) signal.addEventListener("abort", onAbort, { once: true });
  });
}

// The last URL resolved: [text, base, href]. A till posts to the same
// endpoint over and over, so this spares a `new URL` per call.
let lastUrl = [];

/**
 * `url` (a string or a `URL`) as an absolute http(s) URL, resolved against
 * `base` (or, without one, the page's location). Throws the message, which
 * names `field`, when it is not one.
 */
export function absoluteUrl(field, url, base) {
  const text = typeof url === "string" ? url : url instanceof URL ? url.href : undefined;
  if (text === undefined) throw `${field} must be a string or a URL`;
  base ??= globalThis.location?.href;
  if (lastUrl[0] === text && lastUrl[1] === base) return lastUrl[2];
  let parsed;
  try {
    parsed = new URL(text, base);
  } catch {
    throw `${field} is not a valid URL: ${text}`;
  }
  const { protocol, href } = parsed;
  if (protocol !== "http:" && protocol !== "https:") throw `${field} must use http or https, got ${protocol} in ${text}`;
  lastUrl = [text, base, href];
  return href;
}

/** Whether `text` parses as an absolute URL (any scheme). */
export function isAbsoluteUrl(text) {
  try {
    return !!new URL(text);
  } catch {
    return false;
  }
}

// The largest delay setTimeout honours; longer ones fire at once.
const MAX_TIMER_MS = 2147483647;

/**
 * Calls `f` with no arguments; a promise of its result (awaited when it is
 * a promise itself), rejected when it throws.
 */
export function callAsync(f) {
  return new Promise((resolve) => resolve(f()));
}

// The headers by which a server says it replayed a stored response, and
// their value then ("true" in any case, ASCII whitespace around it).
const REPLAY_HEADERS = ["idempotent-replayed", "x-idempotent-replay"];
const REPLAYED = /^[ \t\n\f\r]*true[ \t\n\f\r]*$/i;

// How an attempt ended (`outcome` of its result; src/transport.rs reads
// the same numbers).
const NETWORK = 0, RESPONSE = 1, TIMEOUT = 2, ABORTED = 3, INVALID_HEADER = 4;

/**
 * One HTTP attempt under its own AbortSignal timeout. Its headers are
 * `pairs` (names and values, alternating) set in order, `Content-Type:
 * application/json` when there is a body and none was given, and
 * `Idempotency-Key: key` last. Never rejects: it resolves with `{outcome,
 * reason}`, `reason` the words the SDK reports it with: INVALID_HEADER
 * ("invalid header: NAME"; nothing was sent), RESPONSE ("status N"; with
 * `status`, `headers` the response's `Headers`, `body` as `readBody` gives
 * it, `retryAfter` that header or null, `replayed` whether the server says
 * it replayed a stored response), TIMEOUT ("timeout"), ABORTED ("aborted":
 * the caller's signal fired) or NETWORK ("network: " and the browser's
 * message). The timer and the listener on the caller's signal are always
 * removed, so nothing outlives the attempt.
 */
export async function attempt(url, method, pairs, body, key, timeoutMs, callerSignal) {
  const headers = new Headers();
  for (let i = 0; i < pairs.length; i += 2) {
    try {
      headers.set(pairs[i], pairs[i + 1]);
    } catch {
      return { outcome: INVALID_HEADER, reason: `invalid header: ${pairs[i]}` };
    }
  }
  if (body !== undefined && !headers.has("content-type")) headers.set("content-type", "application/json");
  if (key !== undefined) headers.set("idempotency-key", key);
  if (callerSignal && callerSignal.aborted) return { outcome: ABORTED, reason: "aborted" };
  const controller = new AbortController();
  let timedOut = false;
  const onAbort = () => controller.abort(callerSignal.reason);
  if (callerSignal) callerSignal.addEventListener("abort", onAbort, { once: true });
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException("per-attempt timeout", "TimeoutError"));
  }, Math.min(timeoutMs, MAX_TIMER_MS));
  try {
    const init = { method, headers, signal: controller.signal };
    if (body !== undefined) init.body = body;
    const response = await globalThis.fetch(url, init);
    const got = response.headers;
    return {
      outcome: RESPONSE,
      reason: `status ${response.status}`,
      status: response.status,
      headers: got,
      body: await readBody(response),
      retryAfter: got.get("retry-after"),
      replayed: REPLAY_HEADERS.some((name) => REPLAYED.test(got.get(name))),
    };
  } catch (e) {
    if (callerSignal && callerSignal.aborted) return { outcome: ABORTED, reason: "aborted" };
    if (timedOut) return { outcome: TIMEOUT, reason: "timeout" };
    return { outcome: NETWORK, reason: `network: ${e && e.message ? String(e.message) : String(e)}` };
  } finally {
    clearTimeout(timer);
    if (callerSignal) callerSignal.removeEventListener("abort", onAbort);
  }
}

/**
 * A response body as the SDK hands it out, read in full: `null` for 204/205
 * or an empty JSON body, the parsed value when the content type is JSON
 * (`application/json`, `…+json`), the text otherwise (also when JSON was
 * promised but is malformed: the caller still sees what came).
 */
async function readBody(response) {
  const text = await response.text();
  if (response.status === 204 || response.status === 205) return null;
  const media = (response.headers.get("content-type") || "").split(";")[0].trim().toLowerCase();
  if (media === "application/json" || media.endsWith("+json")) {
    if (text.trim() === "") return null;
    try {
      return JSON.parse(text);
    } catch {
      // not JSON after all: fall through to the text
    }
  }
  return text;
}

/**
 * The `ApiResponse` a call resolves with. `headers` is a plain object of
 * lowercased names, built from the `Headers` on first read (most callers
 * only want the body, and copying every header costs on every call).
 */
export function apiResponse(status, headers, body, replayed, idempotencyKey, attempts) {
  let plain;
  const response = { status, headers: undefined, body, replayed, idempotencyKey: idempotencyKey ?? null, attempts };
  Object.defineProperty(response, "headers", {
    enumerable: true,
    get() {
      if (plain === undefined) {
        plain = {};
        headers.forEach((value, name) => { plain[name] = value; });
      }
      return plain;
    },
  });
  return response;
}

/** `post()`'s promise: the `ApiResponse` promise mapped to its body. */
export function bodyOf(response) {
  return response.then((r) => r.body);
}

// Objects JSON.stringify would turn into `{}` or a key-per-byte object:
// sending those would silently lose the caller's data.
function lossyKind(value) {
  const proto = Object.getPrototypeOf(value);
  if (proto === Object.prototype || proto === null || Array.isArray(value)) return null; // the usual case
  if (ArrayBuffer.isView(value) || value instanceof ArrayBuffer) return "binary buffer";
  const kinds = ["Map", "Set", "WeakMap", "WeakSet", "Promise", "RegExp", "Error", "Blob", "FormData", "URLSearchParams"];
  for (const k of kinds) {
    const ctor = globalThis[k];
    if (typeof ctor === "function" && value instanceof ctor) return k;
  }
  return null;
}

/**
 * JSON text of a request body, or throws a TypeError naming the first part
 * JSON cannot hold faithfully: functions, symbols, BigInt, NaN/Infinity
 * (which JSON.stringify would silently turn into `null` or drop), cycles.
 * The part's path (e.g. `body.items[1].price`) is spelled out only when
 * there is something to report, so a good body costs little more than
 * plain JSON.stringify.
 */
export function serializeBody(body) {
  let wrapper; // the `{"": body}` holder JSON.stringify starts from
  const parents = new Map(); // object → [its holder, its key there]
  const seen = [];
  const pathOf = (holder, key) =>
    holder === wrapper ? "body" : pathOf(...parents.get(holder)) + (Array.isArray(holder) ? `[${key}]` : `.${key}`);
  const fail = (holder, key, what) => {
    throw new TypeError(`${pathOf(holder, key)} ${what}`);
  };
  return JSON.stringify(body, function (key, value) {
    if (wrapper === undefined) wrapper = this;
    const type = typeof value;
    if (type === "function" || type === "symbol" || type === "bigint") fail(this, key, `is a ${type}, which JSON cannot hold`);
    if (type === "number" && !Number.isFinite(value)) fail(this, key, `is ${value}, which JSON cannot hold`);
    if (value !== null && type === "object") {
      const lossy = lossyKind(value);
      if (lossy) fail(this, key, `is a ${lossy}, which JSON cannot hold (send plain objects and arrays)`);
      // `this` is the holder; the replacer runs depth first, so the holders
      // still open are exactly the ancestors of `value`.
      while (seen.length && seen[seen.length - 1] !== this) seen.pop();
      if (seen.includes(value)) fail(this, key, "refers back to an enclosing object (a cycle), which JSON cannot hold");
      seen.push(value);
      parents.set(value, [this, key]);
    }
    return value;
  });
}

/** Whether this browser has the Web Locks API. */
export function hasWebLocks() {
  return typeof navigator !== "undefined" && !!navigator.locks && typeof navigator.locks.request === "function";
}

/**
 * Runs `callback` (which returns a Promise) while holding the origin-wide
 * Web Lock `name`, if nobody else holds it; resolves with its result, or
 * with `null` at once when the lock is taken (another tab is draining).
 */
export function withLock(name, callback) {
  return navigator.locks.request(name, { ifAvailable: true }, (lock) => (lock ? callback() : null));
}

/**
 * Takes the exclusive Web Lock `name` and holds it until released; resolves
 * with the function that releases it, once held. The browser releases it
 * too when the page (or worker) dies: that is what it proves.
 */
export function holdLock(name) {
  const holding = new Promise((held, failed) => {
    navigator.locks.request(name, () => new Promise((release) => held(release))).catch(failed);
  });
  holding.catch(() => {}); // awaited by the first write-ahead, if any: never an unhandled rejection
  return holding;
}

/** Releases a lock taken with `holdLock` (given its promise). */
export function releaseLock(holding) {
  holding.then((release) => release(), () => {});
}

/** The names of the Web Locks held anywhere in this origin. */
export function heldLockNames() {
  return navigator.locks.query().then((state) => state.held.map((lock) => lock.name));
}

/** Resolves once Web Lock `name` is free (its holder released it or died). */
export function whenLockFree(name) {
  return navigator.locks.request(name, () => undefined).then(() => undefined, () => undefined);
}

/**
 * One health probe: GET `url`, never from a cache and without following
 * redirects (a captive portal's redirect is not the server), under its own
 * `timeoutMs`. Resolves with the round trip in ms when the server answered
 * 2xx, or -1 when it did not (no response, timeout, any other status).
 */
export async function probe(url, timeoutMs) {
  const started = performance.now();
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), Math.min(timeoutMs, MAX_TIMER_MS));
  try {
    const response = await globalThis.fetch(url, { cache: "no-store", redirect: "manual", signal: controller.signal });
    await response.arrayBuffer();
    return response.ok ? performance.now() - started : -1;
  } catch {
    return -1;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Asks for a Background Sync `tag` on this origin's Service Worker
 * registration (the worker's own, inside a Service Worker), so the browser
 * wakes it to drain even with no page open. Resolves with whether it was
 * registered: false where there is no registration or no Background Sync
 * (Firefox, Safari), which is not an error: the page triggers still drain.
 */
export function registerSync(tag) {
  const own = globalThis.registration;
  const container = typeof navigator !== "undefined" ? navigator.serviceWorker : undefined;
  const registration = own ? Promise.resolve(own) : container ? container.getRegistration() : Promise.resolve(undefined);
  return registration
    .then((r) => (r && r.sync ? r.sync.register(tag).then(() => true) : false))
    .catch(() => false);
}
