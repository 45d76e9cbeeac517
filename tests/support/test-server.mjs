// Test server for the SDK's wasm-bindgen tests and the package smoke test.
// Dependency-free (node:http only). Run: `node tests/support/test-server.mjs`
// (port from TEST_SERVER_PORT, default 8787; static root from TEST_STATIC_DIR),
// or import { startTestServer } from a Node script.
//
// Every endpoint lives under a per-test namespace `ns` (/t/:ns/...), and every
// request to it (CORS preflights excepted) is recorded under that ns; a test
// reads its own record with GET /log/:ns. See README.md ("Test server").
//
//   ANY  /t/:ns/echo           200 {method, path, query, headers, body, count}
//   ANY  /t/:ns/status/:code   that status (problem+json body when >= 400, none on 204/304);
//                              ?retryAfter=V sets Retry-After; ?times=N: only the first N
//                              requests to this ns+path, then 200 echo
//   ANY  /t/:ns/hang           never answers (?times=N: the first N, then 200 echo)
//   ANY  /t/:ns/drop           destroys the socket without a response (?times=N: the first N)
//   ANY  /t/:ns/replay         201 {ok:true} + Idempotent-Replayed: true
//                              (?legacy=1: X-Idempotent-Replay: true instead)
//   ANY  /t/:ns/text           200 text/plain "hello"
//   ANY  /t/:ns/health         200 "ok" while the ns is up, never answers while it is down
//   PUT  /t/:ns/health/down    the ns's health endpoint stops answering (204)
//   PUT  /t/:ns/health/up      it answers again (204)
//   GET  /log/:ns              [{method, path, query, headers, body, time}]
//   DELETE /log/:ns            clears it (204)
//   GET  /static/*             files under TEST_STATIC_DIR
//   GET  /healthz              200 "ok"
// Every /t/ endpoint except hang and drop honours ?delay=ms before answering.

import http from "node:http";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ALLOW_METHODS = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
const ALLOW_HEADERS = ["content-type", "idempotency-key", "authorization", "x-test-*"];
const EXPOSE_HEADERS = "Idempotent-Replayed, X-Idempotent-Replay, Retry-After";
const MAX_AGE = "600";
const MAX_BODY = 8 * 1024 * 1024;

const MIME = {
  ".js": "text/javascript; charset=utf-8",
  ".mjs": "text/javascript; charset=utf-8",
  ".wasm": "application/wasm",
  ".html": "text/html; charset=utf-8",
  ".json": "application/json; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".map": "application/json; charset=utf-8",
  ".txt": "text/plain; charset=utf-8",
  ".ts": "text/plain; charset=utf-8",
};

const STATUS_TEXT = http.STATUS_CODES;

/**
 * Starts a test server. Resolves with { server, port, url, close() }.
 * `port: 0` picks a free port. `staticDir` (optional) is served under /static/.
 */
export function startTestServer({ port = 8787, host = "127.0.0.1", staticDir } = {}) {
  const logs = new Map(); // ns -> [record]
  const counters = new Map(); // `${ns} ${path}` -> requests seen
  const down = new Set(); // namespaces whose health endpoint does not answer
  const sockets = new Set();
  const timers = new Set();

  const server = http.createServer((req, res) => {
    handle(req, res).catch((err) => {
      if (!res.headersSent && !res.destroyed) {
        send(req, res, 500, { "content-type": "text/plain" }, `test server error: ${err.message}`);
      } else {
        res.destroy();
      }
    });
  });
  // A hanging request must not be cut by Node's own timeouts.
  server.requestTimeout = 0;
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });

  function corsHeaders(req) {
    const origin = req.headers.origin;
    const h = {
      "access-control-expose-headers": EXPOSE_HEADERS,
    };
    if (origin) {
      h["access-control-allow-origin"] = origin;
      h["access-control-allow-credentials"] = "true";
      h["vary"] = "Origin";
    } else {
      h["access-control-allow-origin"] = "*";
    }
    return h;
  }

  function send(req, res, status, headers, body) {
    if (res.destroyed || res.writableEnded) return;
    res.writeHead(status, { ...corsHeaders(req), ...headers });
    res.end(body);
  }

  function sendJson(req, res, status, value, extra = {}) {
    send(req, res, status, { "content-type": "application/json", ...extra }, JSON.stringify(value));
  }

  function wait(ms, res) {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      timers.add(t);
      res.on("close", done); // the client went away
      function done() {
        clearTimeout(t);
        timers.delete(t);
        res.off("close", done);
        resolve();
      }
    });
  }

  function readBody(req) {
    return new Promise((resolve, reject) => {
      const chunks = [];
      let size = 0;
      req.on("data", (c) => {
        size += c.length;
        if (size > MAX_BODY) {
          reject(new Error("body too large"));
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
      req.on("error", reject);
    });
  }

  function parseBody(text, contentType) {
    if (text === "") return null;
    if (/json/i.test(contentType || "")) {
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    }
    return text;
  }

  function record(ns, rec) {
    if (!logs.has(ns)) logs.set(ns, []);
    logs.get(ns).push(rec);
  }

  function countHit(ns, p) {
    const k = `${ns} ${p}`;
    const n = (counters.get(k) || 0) + 1;
    counters.set(k, n);
    return n;
  }

  function nonNegInt(v) {
    if (v === null) return null;
    const n = Number(v);
    return Number.isInteger(n) && n >= 0 ? n : null;
  }

  async function handle(req, res) {
    const url = new URL(req.url, "http://test.invalid");
    const p = url.pathname;

    // CORS preflight: answered for every path, never recorded or counted.
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
      const requested = (req.headers["access-control-request-headers"] || "")
        .split(",").map((s) => s.trim().toLowerCase()).filter(Boolean);
      // `*` is a wildcard only without credentials, and never covers
      // Authorization; echoing the requested names covers x-test-* too.
      const allow = [...new Set(["*", ...ALLOW_HEADERS, ...requested])].join(", ");
      res.writeHead(204, {
        ...corsHeaders(req),
        "access-control-allow-methods": ALLOW_METHODS,
        "access-control-allow-headers": allow,
        "access-control-max-age": MAX_AGE,
        // Chromium's Private Network Access asks this of loopback targets.
        ...(req.headers["access-control-request-private-network"] ? { "access-control-allow-private-network": "true" } : {}),
      });
      res.end();
      return;
    }

    if (p === "/healthz") {
      send(req, res, 200, { "content-type": "text/plain" }, "ok");
      return;
    }

    let m = /^\/log\/([^/]+)\/?$/.exec(p);
    if (m) {
      const ns = decodeURIComponent(m[1]);
      if (req.method === "GET") return sendJson(req, res, 200, logs.get(ns) || []);
      if (req.method === "DELETE") {
        logs.delete(ns);
        for (const k of [...counters.keys()]) if (k.startsWith(`${ns} `)) counters.delete(k);
        return send(req, res, 204, {}, undefined);
      }
      return sendJson(req, res, 405, problem(405, "use GET or DELETE"));
    }

    if (p.startsWith("/static/")) return serveStatic(req, res, p.slice("/static/".length));

    m = /^\/t\/([^/]+)\/(.+)$/.exec(p);
    if (!m) return sendJson(req, res, 404, problem(404, `no route for ${p}`));

    const ns = decodeURIComponent(m[1]);
    const rest = m[2];
    const text = await readBody(req);
    const headers = {};
    for (const [k, v] of Object.entries(req.headers)) headers[k.toLowerCase()] = v;
    const rec = {
      method: req.method,
      path: p,
      query: Object.fromEntries(url.searchParams),
      headers,
      body: parseBody(text, req.headers["content-type"]),
      time: Date.now(),
    };
    record(ns, rec);
    const count = countHit(ns, p);
    const times = nonNegInt(url.searchParams.get("times"));
    const active = times === null || count <= times; // the special behaviour applies
    const echo = () => sendJson(req, res, 200, {
      method: rec.method, path: rec.path, query: rec.query, headers: rec.headers, body: rec.body, count,
    });

    if (rest === "health/down" || rest === "health/up") {
      if (rest === "health/down") down.add(ns);
      else down.delete(ns);
      return send(req, res, 204, {}, undefined);
    }
    if (rest === "health") {
      if (down.has(ns)) return; // like a server that is gone: the client's timeout ends it
      return send(req, res, 200, { "content-type": "text/plain", "cache-control": "no-store" }, "ok");
    }
    if (rest === "hang") {
      if (active) return; // the socket stays open until the client aborts or the server stops
      return echo();
    }
    if (rest === "drop") {
      if (active) {
        req.socket.destroy();
        return;
      }
      return echo();
    }

    const delay = nonNegInt(url.searchParams.get("delay"));
    if (delay) await wait(delay, res);
    if (res.destroyed) return;

    if (rest === "echo") return echo();
    if (rest === "text") return send(req, res, 200, { "content-type": "text/plain; charset=utf-8" }, "hello");
    if (rest === "replay") {
      const h = url.searchParams.get("legacy") ? { "x-idempotent-replay": "true" } : { "idempotent-replayed": "true" };
      return sendJson(req, res, 201, { ok: true }, h);
    }
    m = /^status\/(\d{3})$/.exec(rest);
    if (m) {
      const code = Number(m[1]);
      if (code < 200 || code > 599) return sendJson(req, res, 400, problem(400, `unsupported status ${code}`));
      if (!active) return echo();
      const extra = {};
      const ra = url.searchParams.get("retryAfter");
      if (ra !== null) extra["retry-after"] = ra;
      if (code === 204 || code === 304) return send(req, res, code, extra, undefined);
      if (code >= 400) {
        return send(req, res, code, { "content-type": "application/problem+json", ...extra },
          JSON.stringify(problem(code, `test status ${code} (request ${count} to ${p})`)));
      }
      return sendJson(req, res, code, { method: rec.method, path: rec.path, body: rec.body, count }, extra);
    }
    return sendJson(req, res, 404, problem(404, `unknown test endpoint ${rest}`));
  }

  function problem(status, detail) {
    return {
      type: `https://example.invalid/test-server/${status}`,
      title: STATUS_TEXT[status] || "Error",
      status,
      detail,
    };
  }

  function serveStatic(req, res, rel) {
    if (req.method !== "GET" && req.method !== "HEAD") {
      return sendJson(req, res, 405, problem(405, "static files are read-only"));
    }
    if (!staticDir) return sendJson(req, res, 404, problem(404, "TEST_STATIC_DIR is not set"));
    const root = path.resolve(staticDir);
    let file = path.resolve(root, decodeURIComponent(rel));
    if (file !== root && !file.startsWith(root + path.sep)) {
      return sendJson(req, res, 403, problem(403, "outside the static root"));
    }
    let st;
    try {
      st = fs.statSync(file);
      if (st.isDirectory()) {
        file = path.join(file, "index.html");
        st = fs.statSync(file);
      }
    } catch {
      return sendJson(req, res, 404, problem(404, `no file ${rel}`));
    }
    const type = MIME[path.extname(file).toLowerCase()] || "application/octet-stream";
    if (res.destroyed) return;
    res.writeHead(200, { ...corsHeaders(req), "content-type": type, "content-length": st.size, "cache-control": "no-store" });
    if (req.method === "HEAD") return res.end();
    fs.createReadStream(file).pipe(res);
  }

  function close() {
    for (const t of timers) clearTimeout(t);
    timers.clear();
    for (const s of sockets) s.destroy();
    sockets.clear();
    return new Promise((resolve) => server.close(() => resolve()));
  }

  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      const actual = server.address().port;
      resolve({ server, port: actual, url: `http://${host}:${actual}`, close });
    });
  });
}

// Run as a program (not when imported, and not when `node --test tests/support/`
// picks this file up by its name: under the test runner it is a library only).
const isMain = process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain && !process.env.NODE_TEST_CONTEXT) {
  const port = Number(process.env.TEST_SERVER_PORT || 8787);
  const staticDir = process.env.TEST_STATIC_DIR || undefined;
  startTestServer({ port, staticDir }).then(
    (srv) => {
      console.log(`test server listening on ${srv.url}${staticDir ? ` (static: ${staticDir})` : ""}`);
      const stop = () => srv.close().then(() => process.exit(0));
      process.on("SIGTERM", stop);
      process.on("SIGINT", stop);
    },
    (err) => {
      console.error(`test server: cannot listen on 127.0.0.1:${port}: ${err.message}`);
      process.exit(1);
    },
  );
}
