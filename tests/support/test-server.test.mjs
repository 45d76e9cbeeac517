// Self-test of the test server: `node --test tests/support/`.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import net from "node:net";
import { startTestServer } from "./test-server.mjs";

let srv;
let staticDir;

before(async () => {
  staticDir = fs.mkdtempSync(path.join(os.tmpdir(), "test-server-static-"));
  fs.writeFileSync(path.join(staticDir, "a.js"), "export const a = 1;\n");
  fs.writeFileSync(path.join(staticDir, "m.wasm"), Buffer.from([0, 97, 115, 109, 1, 0, 0, 0]));
  srv = await startTestServer({ port: 0, staticDir });
});

after(async () => {
  await srv.close();
  fs.rmSync(staticDir, { recursive: true, force: true });
});

const log = async (ns) => (await fetch(`${srv.url}/log/${ns}`)).json();

test("CORS preflight is answered and not recorded", async () => {
  const r = await fetch(`${srv.url}/t/cors/echo`, {
    method: "OPTIONS",
    headers: {
      origin: "http://127.0.0.1:9999",
      "access-control-request-method": "POST",
      "access-control-request-headers": "content-type,idempotency-key,x-test-foo",
    },
  });
  assert.equal(r.status, 204);
  assert.equal(r.headers.get("access-control-allow-origin"), "http://127.0.0.1:9999");
  const methods = r.headers.get("access-control-allow-methods");
  for (const m of ["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]) assert.match(methods, new RegExp(`\\b${m}\\b`));
  const allowed = r.headers.get("access-control-allow-headers").split(",").map((s) => s.trim());
  for (const h of ["content-type", "idempotency-key", "authorization", "x-test-foo"]) assert.ok(allowed.includes(h), h);
  assert.match(r.headers.get("access-control-expose-headers"), /Idempotent-Replayed/);
  assert.ok(Number(r.headers.get("access-control-max-age")) > 0);
  assert.deepEqual(await log("cors"), []);
});

test("echo returns method, lowercased headers, parsed JSON body and a count", async () => {
  const post = () => fetch(`${srv.url}/t/echo1/echo`, {
    method: "POST",
    headers: { "Content-Type": "application/json", "Idempotency-Key": "k-1" },
    body: JSON.stringify({ a: 1 }),
  });
  const r1 = await post();
  assert.equal(r1.status, 200);
  assert.equal(r1.headers.get("access-control-allow-origin"), "*");
  const j1 = await r1.json();
  assert.equal(j1.method, "POST");
  assert.equal(j1.headers["idempotency-key"], "k-1");
  assert.deepEqual(j1.body, { a: 1 });
  assert.equal(j1.count, 1);
  assert.equal((await (await post()).json()).count, 2);
  const t = await (await fetch(`${srv.url}/t/echo1/echo`, { method: "PUT", body: "plain" })).json();
  assert.equal(t.body, "plain");
});

test("status with times, retryAfter and problem+json, then 200", async () => {
  const u = `${srv.url}/t/st/status/503?times=2&retryAfter=1`;
  for (let i = 0; i < 2; i++) {
    const r = await fetch(u, { method: "POST", body: "{}" });
    assert.equal(r.status, 503);
    assert.equal(r.headers.get("retry-after"), "1");
    assert.match(r.headers.get("content-type"), /application\/problem\+json/);
    const p = await r.json();
    assert.equal(p.status, 503);
    for (const k of ["type", "title", "detail"]) assert.equal(typeof p[k], "string");
  }
  const ok = await fetch(u, { method: "POST", body: "{}" });
  assert.equal(ok.status, 200);
  assert.equal((await ok.json()).count, 3);
  const r204 = await fetch(`${srv.url}/t/st/status/204`, { method: "DELETE" });
  assert.equal(r204.status, 204);
  assert.equal(await r204.text(), "");
  const always = await fetch(`${srv.url}/t/st/status/400`, { method: "POST" });
  assert.equal(always.status, 400);
});

test("log records every request of a namespace; DELETE clears it", async () => {
  await fetch(`${srv.url}/t/lg/echo`, { method: "POST", headers: { "X-Test-Case": "one" }, body: "x" });
  await fetch(`${srv.url}/t/lg/text`);
  const entries = await log("lg");
  assert.equal(entries.length, 2);
  assert.deepEqual(entries.map((e) => [e.method, e.path]), [["POST", "/t/lg/echo"], ["GET", "/t/lg/text"]]);
  assert.equal(entries[0].headers["x-test-case"], "one");
  assert.equal(entries[0].body, "x");
  assert.equal(typeof entries[0].time, "number");
  assert.deepEqual(await log("other-ns"), []);
  assert.equal((await fetch(`${srv.url}/log/lg`, { method: "DELETE" })).status, 204);
  assert.deepEqual(await log("lg"), []);
});

test("replay, text and delay", async () => {
  const r = await fetch(`${srv.url}/t/misc/replay`, { method: "POST" });
  assert.equal(r.status, 201);
  assert.equal(r.headers.get("idempotent-replayed"), "true");
  assert.deepEqual(await r.json(), { ok: true });
  const t = await fetch(`${srv.url}/t/misc/text`);
  assert.match(t.headers.get("content-type"), /^text\/plain/);
  assert.equal(await t.text(), "hello");
  const t0 = Date.now();
  await (await fetch(`${srv.url}/t/misc/echo?delay=150`, { method: "POST" })).json();
  assert.ok(Date.now() - t0 >= 140);
});

test("hang holds the request until the client aborts; times=N then echoes", async () => {
  await assert.rejects(
    fetch(`${srv.url}/t/hg/hang?times=1`, { method: "POST", signal: AbortSignal.timeout(200) }),
    (e) => e.name === "TimeoutError" || e.name === "AbortError",
  );
  const r = await fetch(`${srv.url}/t/hg/hang?times=1`, { method: "POST" });
  assert.equal(r.status, 200);
  assert.equal((await r.json()).count, 2);
});

test("drop closes the socket without a response for the first N", async () => {
  await assert.rejects(fetch(`${srv.url}/t/dr/drop?times=1`, { method: "POST" }), TypeError);
  const r = await fetch(`${srv.url}/t/dr/drop?times=1`, { method: "POST" });
  assert.equal(r.status, 200);
  assert.equal((await log("dr")).length, 2);
});

test("static files with MIME types, no escape from the root", async () => {
  const js = await fetch(`${srv.url}/static/a.js`);
  assert.equal(js.status, 200);
  assert.match(js.headers.get("content-type"), /^text\/javascript/);
  const wasm = await fetch(`${srv.url}/static/m.wasm`);
  assert.equal(wasm.headers.get("content-type"), "application/wasm");
  assert.equal((await wasm.arrayBuffer()).byteLength, 8);
  assert.equal((await fetch(`${srv.url}/static/missing.js`)).status, 404);
  assert.notEqual((await fetch(`${srv.url}/static/%2e%2e/%2e%2e/etc/passwd`)).status, 200);
});

test("close() ends hanging connections", async () => {
  const s2 = await startTestServer({ port: 0 });
  const sock = net.connect(s2.port, "127.0.0.1");
  await new Promise((r) => sock.once("connect", r));
  sock.write("POST /t/x/hang HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n");
  const closed = new Promise((r) => sock.once("close", r));
  // Wait until the server has recorded the request, then stop it.
  for (let i = 0; i < 100; i++) {
    if ((await (await fetch(`${s2.url}/log/x`)).json()).length === 1) break;
    await new Promise((r) => setTimeout(r, 10));
  }
  await s2.close();
  await closed;
});

test("healthz", async () => {
  const r = await fetch(`${srv.url}/healthz`);
  assert.equal(r.status, 200);
});

test("health answers while up and stops answering while down", async () => {
  const ns = "health-switch";
  assert.equal((await fetch(`${srv.url}/t/${ns}/health`)).status, 200);
  assert.equal((await fetch(`${srv.url}/t/${ns}/health/down`, { method: "PUT" })).status, 204);
  await assert.rejects(fetch(`${srv.url}/t/${ns}/health`, { signal: AbortSignal.timeout(300) }), /TimeoutError|aborted/i);
  assert.equal((await fetch(`${srv.url}/t/${ns}/health/up`, { method: "PUT" })).status, 204);
  assert.equal((await fetch(`${srv.url}/t/${ns}/health`)).status, 200);
  const probes = (await log(ns)).filter((r) => r.path.endsWith("/health"));
  assert.equal(probes.length, 3, "every probe is logged, answered or not");
});
