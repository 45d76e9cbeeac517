// The demo till. It imports the SDK exactly as a frontend imports the npm
// package (the built `pkg/`, served at /pkg/), with no bundler. Writes go
// through the SDK; reads (products, last sales) are plain fetches.
import init, { ApiClient, ApiError, eventNames } from "/pkg/index.js";

const ATTEMPT_TIMEOUT_MS = 8000;
const PROBE_TIMEOUT_MS = 3000;
const LOCATION_ID = "till-1";
const CASHIER_STORAGE_KEY = "pos-demo-cashier";
// The seeded demo cashiers. The queue namespace is the cashier's identity,
// never the token: the token is a secret and stays out of browser storage.
const CASHIERS = {
  "demo-cashier-1": { namespace: "b1-ana", shop: "Corner Shop" },
  "demo-cashier-2": { namespace: "b1-ben", shop: "Corner Shop" },
  "demo-cashier-3": { namespace: "b2-chloe", shop: "Harbour Café" },
};

const $ = (id) => document.getElementById(id);
const money = (cents) => (cents / 100).toFixed(2);

// ---------------------------------------------------------------------------
// "Simulate offline" for this tab. Installed before the SDK starts, so every
// request of this page — the SDK's and its own — fails the way a dead network
// fails (fetch rejects with a TypeError), and the browser's offline signals
// (navigator.onLine, the offline/online events) say so. The SDK is not
// modified; DevTools → Network → Offline does the same for real.
// ---------------------------------------------------------------------------
let simulatedOffline = false;
const realFetch = globalThis.fetch.bind(globalThis);
globalThis.fetch = (input, options) =>
  simulatedOffline ? Promise.reject(new TypeError("Failed to fetch (simulated offline)")) : realFetch(input, options);
const onLine = Object.getOwnPropertyDescriptor(Navigator.prototype, "onLine");
if (onLine && onLine.configurable) {
  Object.defineProperty(Navigator.prototype, "onLine", {
    configurable: true,
    get() { return !simulatedOffline && onLine.get.call(this); },
  });
}

// ---------------------------------------------------------------------------
// State
// ---------------------------------------------------------------------------
let token = localStorage.getItem(CASHIER_STORAGE_KEY);
if (!(token in CASHIERS)) token = "demo-cashier-1";
let client = null;
let products = [];
const cart = new Map(); // productId → quantity
let draining = false;
let submitting = false;
// The key of the sale being attempted: reused when the cashier presses
// "Complete sale" again after an unknown outcome (network error, timeout),
// so the server can replay instead of recording a second sale.
let pending = null; // { key, body }
const outcomes = new Map(); // sale id → "recorded" | "replayed"

// ---------------------------------------------------------------------------
// Event log
// ---------------------------------------------------------------------------
function log(kind, text) {
  const li = document.createElement("li");
  const t = document.createElement("span");
  t.className = "t";
  t.textContent = new Date().toLocaleTimeString();
  const e = document.createElement("span");
  e.className = `e ${kind}`;
  e.textContent = kind;
  const d = document.createElement("span");
  d.className = "d";
  d.textContent = text;
  li.append(t, e, d);
  const list = $("log");
  list.prepend(li);
  while (list.children.length > 200) list.lastChild.remove();
}

function describe(detail) {
  if (detail == null) return "";
  if (typeof detail !== "object") return String(detail);
  const parts = [];
  for (const [k, v] of Object.entries(detail)) {
    if (v == null) continue;
    if (k === "body" && typeof v === "object") {
      if (v.invoiceNumber) parts.push(`invoice ${v.invoiceNumber}`);
      else if (v.detail) parts.push(`"${v.detail}"`);
      continue;
    }
    parts.push(`${k}=${typeof v === "object" ? JSON.stringify(v) : v}`);
  }
  return parts.join(" · ");
}

// ---------------------------------------------------------------------------
// Reads (plain fetch with the cashier's token)
// ---------------------------------------------------------------------------
async function getJson(path) {
  const res = await fetch(path, { headers: { Authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

async function refreshProducts() {
  try {
    products = await getJson("/api/products");
    renderProducts();
  } catch (e) {
    if (!products.length) $("products").innerHTML = `<p class="muted">Products unavailable (${e.message}).</p>`;
  }
}

let salesRefresh = 0;
let lastSales = [];
async function refreshSales() {
  // Refreshes overlap (events, timers, sales): only the newest one renders.
  const mine = ++salesRefresh;
  let sales = lastSales;
  try {
    sales = lastSales = await getJson("/api/sales?limit=10");
  } catch {
    // Offline: keep the last list from the server, but still show what is
    // waiting in the queue: that is when the cashier needs to see it.
  }
  try {
    const queued = await queuedRecords();
    if (mine === salesRefresh) renderSales(sales, queued);
  } catch {
    // The queue cannot be read (storage error): keep the last rendering.
  }
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------
function available(product) {
  return product.stock - (cart.get(product.id) || 0);
}

function renderProducts() {
  const grid = $("products");
  grid.replaceChildren();
  for (const p of products) {
    const button = document.createElement("button");
    button.type = "button";
    button.className = "product";
    button.dataset.productId = p.id;
    const left = available(p);
    button.disabled = left <= 0;
    const stockClass = p.stock === 0 ? "out" : p.stock <= 5 ? "low" : "";
    button.innerHTML = `<span class="name"></span><span class="price">${money(p.priceCents)}</span>
      <span class="stock ${stockClass}">${p.stock === 0 ? "sold out" : `${p.stock} in stock`}</span>`;
    button.querySelector(".name").textContent = p.name;
    button.addEventListener("click", () => {
      cart.set(p.id, (cart.get(p.id) || 0) + 1);
      renderCart();
      renderProducts();
    });
    grid.append(button);
  }
}

function cartTotal() {
  let total = 0;
  for (const [id, qty] of cart) {
    const p = products.find((x) => x.id === id);
    if (p) total += p.priceCents * qty;
  }
  return total;
}

function renderCart() {
  const list = $("cart-lines");
  list.replaceChildren();
  for (const [id, qty] of cart) {
    const p = products.find((x) => x.id === id);
    if (!p) continue;
    const li = document.createElement("li");
    li.innerHTML = `<span class="name"></span>
      <span class="qty"><button type="button" data-d="-1" aria-label="one less">−</button><span>${qty}</span><button type="button" data-d="1" aria-label="one more">+</button></span>
      <span class="num">${money(p.priceCents * qty)}</span>`;
    li.querySelector(".name").textContent = p.name;
    for (const b of li.querySelectorAll("button")) {
      b.addEventListener("click", () => {
        const next = qty + Number(b.dataset.d);
        if (next <= 0) cart.delete(id);
        else if (next <= p.stock) cart.set(id, next);
        renderCart();
        renderProducts();
      });
    }
    list.append(li);
  }
  $("cart-empty").hidden = cart.size > 0;
  $("cart-total").textContent = money(cartTotal());
  updateCompleteButton();
}

function updateCompleteButton() {
  const button = $("complete");
  button.disabled = submitting || cart.size === 0;
  button.textContent = submitting ? "Processing…" : "Complete sale";
  button.classList.toggle("busy", submitting);
  button.setAttribute("aria-busy", String(submitting));
}

function setMessage(kind, text) {
  const m = $("sale-message");
  m.className = `sale-message ${kind}`;
  m.textContent = text;
}

function saleRow({ invoice, time, items, total, tags }) {
  const tr = document.createElement("tr");
  tr.innerHTML = `<td class="invoice"></td><td></td><td></td><td class="num"></td><td></td>`;
  const cells = tr.children;
  cells[0].textContent = invoice;
  cells[1].textContent = time;
  cells[2].textContent = items;
  cells[3].textContent = total;
  for (const [cls, text] of tags) {
    const tag = document.createElement("span");
    tag.className = `tag ${cls}`;
    tag.textContent = text;
    cells[4].append(tag, " ");
  }
  return tr;
}

function itemsText(items) {
  return items.map((i) => `${i.quantity}× ${i.name ?? products.find((p) => p.id === i.productId)?.name ?? `#${i.productId}`}`).join(", ");
}

function renderSales(sales, queued) {
  const rows = [];
  // Sales still waiting in this browser's queue come first.
  for (const record of queued) {
    let parsed = null;
    try { parsed = JSON.parse(record.body); } catch { /* not JSON */ }
    const items = parsed?.items ?? [];
    const total = items.reduce((sum, i) => sum + (products.find((p) => p.id === i.productId)?.priceCents ?? 0) * i.quantity, 0);
    rows.push(saleRow({
      invoice: "— pending —",
      time: new Date(record.createdAt).toLocaleTimeString(),
      items: itemsText(items),
      total: money(total),
      tags: [["queued", record.lastError ? `queued (${record.lastError})` : "queued"]],
    }));
  }
  for (const s of sales) {
    const tags = [[outcomes.get(s.id) === "replayed" ? "replayed" : "recorded", outcomes.get(s.id) === "replayed" ? "recorded · replayed" : "recorded"]];
    if (s.refundedCents > 0) tags.push(["refunded", `refunded ${money(s.refundedCents)}`]);
    rows.push(saleRow({
      invoice: s.invoiceNumber,
      time: new Date(s.createdAt).toLocaleTimeString(),
      items: itemsText(s.items),
      total: money(s.totalCents),
      tags,
    }));
  }
  const body = $("sales-body");
  body.replaceChildren(...rows);
  if (!rows.length) body.innerHTML = `<tr><td colspan="5" class="muted">No sales yet.</td></tr>`;
}

// ---------------------------------------------------------------------------
// Offline queue (used when the SDK build has it)
// ---------------------------------------------------------------------------
async function queuedRecords() {
  try {
    const records = await client.listQueue();
    return Array.isArray(records) ? records.filter((r) => String(r.url).endsWith("/api/sales")) : [];
  } catch (e) {
    log("error", `listQueue: ${e.message}`);
    return [];
  }
}

function setQueueCount(size) {
  $("queue-count").textContent = String(size);
  $("queue").classList.toggle("empty", size === 0);
}

async function refreshQueue() {
  try {
    setQueueCount(await client.queueSize());
  } catch (e) {
    log("error", `queueSize: ${e.message}`);
  }
  await refreshDeadLetters();
}

async function refreshDeadLetters() {
  let letters = [];
  try { letters = await client.deadLetters(); } catch (e) { log("error", `deadLetters: ${e.message}`); }
  $("dead-letters").hidden = !letters.length;
  const list = $("dead-list");
  list.replaceChildren();
  for (const d of letters) {
    const li = document.createElement("li");
    li.textContent = `${d.method ?? "POST"} ${new URL(d.url ?? "", location.href).pathname} — ${d.reason ?? d.lastError ?? "failed"} `;
    const retry = document.createElement("button");
    retry.textContent = "retry";
    retry.addEventListener("click", async () => { await client.retryDeadLetter(d.id); refreshQueue(); });
    const discard = document.createElement("button");
    discard.textContent = "discard";
    discard.addEventListener("click", async () => { await client.discardDeadLetter(d.id); refreshQueue(); });
    li.append(retry, " ", discard);
    list.append(li);
  }
}

// ---------------------------------------------------------------------------
// Connection indicator: online / offline / server unreachable / draining
// ---------------------------------------------------------------------------
const CONNECTION_LABELS = { online: "online", offline: "offline", unreachable: "server unreachable", draining: "draining queue…" };

function updateConnection() {
  const pill = $("connection");
  // The SDK's view: the browser's network, and whether the server answers
  // its health probe (the browser may say online while the server is down).
  const known = client ? client.connectivity.state : navigator.onLine ? "online" : "offline";
  const state = known === "online" && draining ? "draining" : known;
  pill.textContent = CONNECTION_LABELS[state];
  pill.className = `pill pill-${state}`;
  pill.dataset.state = state;
}

// ---------------------------------------------------------------------------
// The SDK client, one per cashier (its own offline queue namespace)
// ---------------------------------------------------------------------------
function onSdkEvent(event) {
  log(event.type, describe(event.detail));
  switch (event.type) {
    case "queue-size":
      setQueueCount(event.detail?.size ?? 0);
      refreshSales();
      break;
    case "drain-start":
      draining = true;
      updateConnection();
      break;
    case "drain-end":
      draining = false;
      updateConnection();
      refreshQueue();
      break;
    case "sent":
      if (event.detail?.body?.id) outcomes.set(event.detail.body.id, event.detail.replayed ? "replayed" : "recorded");
      if (event.detail?.queueId != null && event.detail?.body?.invoiceNumber) {
        setMessage("ok", `Queued sale sent: ${event.detail.body.invoiceNumber} recorded${event.detail.replayed ? " (the server had it already and replayed its answer)" : ""}.`);
      }
      refreshSales();
      refreshProducts();
      refreshQueue();
      break;
    case "dead-letter":
      refreshQueue();
      break;
    case "write-ahead-failed":
      // The sale still goes to the server, but this browser could not keep
      // a copy: if the page dies before the answer, nothing resends it.
      setMessage("warn", `This sale is not saved on this device until the server answers (this browser's storage failed: ${event.detail?.error ?? "unknown error"}).`);
      break;
    case "online":
    case "offline":
    case "connectivity":
      updateConnection();
      break;
    default:
      break;
  }
}

function connectClient() {
  if (client) {
    for (const name of eventNames()) client.removeEventListener(name, onSdkEvent);
    client.close();
  }
  const cashierToken = token;
  client = new ApiClient({
    namespace: CASHIERS[cashierToken].namespace, // each cashier has their own queue
    headers: () => ({ Authorization: `Bearer ${cashierToken}` }), // asked before every attempt and replay
    timeout: ATTEMPT_TIMEOUT_MS,
    maxRetries: 3,
    // Probed when a sale gets no answer, then on a backoff until the server
    // answers again: sales made meanwhile are queued at once.
    healthUrl: "/healthz",
    probeTimeout: PROBE_TIMEOUT_MS,
  });
  for (const name of eventNames()) client.addEventListener(name, onSdkEvent);
}

// ---------------------------------------------------------------------------
// Complete sale
// ---------------------------------------------------------------------------
async function completeSale() {
  if (submitting || cart.size === 0) return;
  const items = [...cart].map(([productId, quantity]) => ({ productId, quantity }));
  const body = { locationId: LOCATION_ID, items, payments: [{ method: $("payment").value, amountCents: cartTotal() }] };
  const text = JSON.stringify(body);
  if (!pending || pending.body !== text) pending = { key: crypto.randomUUID(), body: text };
  submitting = true;
  updateCompleteButton();
  setMessage("", "");
  log("sale", `submitting ${itemsText(items.map((i) => ({ ...i, name: products.find((p) => p.id === i.productId)?.name })))} · key ${pending.key}`);
  try {
    const response = await client.request("POST", "/api/sales", body, { idempotencyKey: pending.key });
    const sale = response.body;
    outcomes.set(sale.id, response.replayed ? "replayed" : "recorded");
    const notes = [];
    if (response.attempts > 1) notes.push(`after ${response.attempts} attempts`);
    if (response.replayed) notes.push("the server had already recorded it and replayed its answer");
    setMessage("ok", `Sale ${sale.invoiceNumber} recorded — ${money(sale.totalCents)}${notes.length ? ` (${notes.join("; ")})` : ""}.`);
    log("sale", `${sale.invoiceNumber} recorded${response.replayed ? " (replayed)" : ""}, attempts=${response.attempts}`);
    pending = null;
    cart.clear();
  } catch (e) {
    if (e instanceof ApiError && e.kind === "queued") {
      const why = client.connectivity.state === "unreachable" ? "The server does not answer" : "No connection";
      setMessage("warn", `${why}: the sale is saved in this browser and will be sent automatically when it is back.`);
      log("queued", `sale kept offline (queue id ${e.queueId}, key ${e.idempotencyKey})`);
      pending = null;
      cart.clear();
    } else if (e instanceof ApiError && e.kind === "http") {
      const detail = e.body && typeof e.body === "object" && e.body.detail ? e.body.detail : e.message;
      setMessage("bad", `Not recorded: ${detail}`);
      log("error", `HTTP ${e.status}: ${detail}`);
      pending = null;
    } else if (e instanceof ApiError && (e.kind === "network" || e.kind === "timeout")) {
      setMessage("warn", `Outcome unknown (${e.kind} after ${e.attempts ?? "several"} attempts). Press “Complete sale” again: it resends with the same key, so the sale cannot be recorded twice.`);
      log("error", `${e.kind}: ${e.message}`);
    } else {
      setMessage("bad", `Not recorded: ${e && e.message ? e.message : e}`);
      log("error", String(e && e.message ? e.message : e));
      pending = null;
    }
  } finally {
    submitting = false;
    renderCart();
    await Promise.all([refreshProducts(), refreshSales(), refreshQueue()]);
    renderCart();
  }
}

// ---------------------------------------------------------------------------
// Chaos controls (server started with --chaos)
// ---------------------------------------------------------------------------
const RATE_FIELDS = ["error503Rate", "dropBeforeRate", "dropAfterCommitRate", "latencyRate"];

function showChaos(settings) {
  const form = $("chaos-form");
  for (const f of RATE_FIELDS) {
    form.elements[f].value = Math.round(settings[f] * 100);
    $(`o-${f}`).textContent = `${Math.round(settings[f] * 100)}%`;
  }
  form.elements.latencyMs.value = settings.latencyMs;
  $("o-latencyMs").textContent = `${settings.latencyMs} ms`;
}

async function putChaos(patch) {
  const res = await fetch("/api/chaos", { method: "PUT", headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` }, body: JSON.stringify(patch) });
  if (!res.ok) throw new Error(`chaos update: HTTP ${res.status}`);
  const settings = await res.json();
  showChaos(settings);
  log("chaos", describe(settings));
}

async function setupChaos() {
  let settings;
  try {
    const res = await fetch("/api/chaos", { headers: { Authorization: `Bearer ${token}` } });
    if (!res.ok) return;
    settings = await res.json();
  } catch {
    return;
  }
  $("chaos-off").hidden = true;
  const form = $("chaos-form");
  form.hidden = false;
  showChaos(settings);
  form.addEventListener("change", (event) => {
    const input = event.target;
    const value = Number(input.value);
    putChaos({ [input.name]: input.name === "latencyMs" ? value : value / 100 }).catch((e) => log("error", e.message));
  });
  form.addEventListener("input", (event) => {
    const input = event.target;
    $(`o-${input.name}`).textContent = input.name === "latencyMs" ? `${input.value} ms` : `${input.value}%`;
  });
  $("chaos-calm").addEventListener("click", () =>
    putChaos({ error503Rate: 0, dropBeforeRate: 0, dropAfterCommitRate: 0, latencyRate: 0, latencyMs: 0 }).catch((e) => log("error", e.message)));
  $("chaos-storm").addEventListener("click", () =>
    putChaos({ error503Rate: 0.3, dropBeforeRate: 0.1, dropAfterCommitRate: 0.3, latencyRate: 0.3, latencyMs: 12000 }).catch((e) => log("error", e.message)));
}

// ---------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------
async function main() {
  $("attempt-timeout").textContent = String(ATTEMPT_TIMEOUT_MS / 1000);
  $("cashier").value = token;
  $("shop-name").textContent = CASHIERS[token].shop;
  await init();
  connectClient();
  log("ready", `SDK loaded; cashier ${token}`);

  $("complete").addEventListener("click", completeSale);
  $("cashier").addEventListener("change", async (event) => {
    token = event.target.value;
    localStorage.setItem(CASHIER_STORAGE_KEY, token);
    $("shop-name").textContent = CASHIERS[token].shop;
    cart.clear();
    pending = null;
    connectClient();
    log("ready", `cashier ${token}`);
    renderCart();
    await Promise.all([refreshProducts(), refreshSales(), refreshQueue()]);
  });
  $("simulate-offline").addEventListener("change", (event) => {
    simulatedOffline = event.target.checked;
    window.dispatchEvent(new Event(simulatedOffline ? "offline" : "online"));
    log(simulatedOffline ? "offline" : "online", simulatedOffline ? "simulated offline: this tab's requests now fail" : "simulated offline ended");
    updateConnection();
    if (!simulatedOffline) { refreshProducts(); refreshSales(); }
  });
  $("clear-log").addEventListener("click", () => $("log").replaceChildren());

  updateConnection();
  renderCart();
  // Products first: pending sales (a previous page's included) are shown
  // with their products' names and prices.
  await refreshProducts();
  await Promise.all([refreshSales(), refreshQueue(), setupChaos()]);
  // Other tabs and other tills sell too: keep stock and the list fresh.
  setInterval(() => {
    if (document.visibilityState === "visible" && !submitting) {
      refreshProducts();
      refreshSales();
    }
  }, 5000);
  document.body.dataset.ready = "true";
}

main().catch((e) => {
  log("error", `start-up failed: ${e && e.message ? e.message : e}`);
  setMessage("bad", `The till could not start: ${e && e.message ? e.message : e}`);
});
