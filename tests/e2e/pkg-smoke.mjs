// Package smoke test: what a user gets from `npm install pos-resilience`.
// `npm pack` in pkg/ -> install the tarball into a fresh folder -> serve that
// folder (test server /static) -> load it in headless Chromium from one origin
// and post to the test server on another (CORS preflight included).
// Run: `node tests/e2e/pkg-smoke.mjs` after `make pkg`. Prints
// "pkg-smoke: N passed, M failed" and exits non-zero on any failure.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { chromium } from "playwright-core";
import { root } from "../support/driver.mjs";
import { startTestServer } from "../support/test-server.mjs";

const pkgDir = path.join(root, "pkg");
// Chromium's path and flags: the same as the wasm tests use (webdriver.json).
const chromeOptions = JSON.parse(fs.readFileSync(path.join(root, "webdriver.json"), "utf8"))["goog:chromeOptions"];
const CHROMIUM = process.env.CHROMIUM_BIN || chromeOptions.binary;
const CHROMIUM_ARGS = chromeOptions.args;
const UUID_V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

const results = [];
async function check(name, fn) {
  try {
    await fn();
    results.push([name, null]);
    console.log(`ok - ${name}`);
  } catch (err) {
    results.push([name, err]);
    console.log(`not ok - ${name}\n  ${String(err && err.stack || err).split("\n").join("\n  ")}`);
  }
}

const npm = (args, cwd) => execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
  cwd, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"],
});

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "pos-resilience-smoke-"));
const app = path.join(tmp, "app");
let staticSrv, apiSrv, browser;

try {
  if (!fs.existsSync(path.join(pkgDir, "package.json"))) throw new Error("pkg/ is not built: run `make pkg`");
  const pkgJson = JSON.parse(fs.readFileSync(path.join(pkgDir, "package.json"), "utf8"));
  let installed;

  await check("npm pack and install the tarball into a fresh project", async () => {
    const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", tmp], pkgDir));
    const tgz = path.join(tmp, packed[0].filename);
    assert.ok(fs.existsSync(tgz), `no tarball ${tgz}`);
    const inTarball = packed[0].files.map((f) => f.path);
    for (const f of ["package.json", "index.js", "index.d.ts", "pos_resilience.d.ts", "pos_resilience_bg.wasm", "README.md", "LICENSE"]) {
      assert.ok(inTarball.includes(f), `tarball lacks ${f}`);
    }
    fs.mkdirSync(app);
    npm(["init", "-y"], app);
    npm(["install", tgz], app);
    installed = path.join(app, "node_modules", "pos-resilience");
    const got = JSON.parse(fs.readFileSync(path.join(installed, "package.json"), "utf8"));
    assert.equal(got.name, "pos-resilience");
    assert.equal(got.version, pkgJson.version);
    assert.equal(got.type, "module");
    assert.equal(got.exports["."].default, "./index.js");
    assert.equal(got.exports["."].types, "./index.d.ts");
  });

  await check("type declarations name the public API", async () => {
    const dts = fs.readFileSync(path.join(installed, "pos_resilience.d.ts"), "utf8");
    for (const name of ["apiPost", "ApiClient", "ApiError"]) {
      assert.match(dts, new RegExp(`\\b${name}\\b`), `pos_resilience.d.ts does not declare ${name}`);
    }
    const index = fs.readFileSync(path.join(installed, "index.d.ts"), "utf8");
    assert.match(index, /export \* from "\.\/pos_resilience\.js"/);
  });

  staticSrv = await startTestServer({ port: 0, staticDir: app });
  apiSrv = await startTestServer({ port: 0 });
  fs.writeFileSync(path.join(app, "index.html"), "<!doctype html><title>pos-resilience smoke</title>\n");
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true });
  const page = await browser.newPage();
  const pageErrors = [];
  page.on("pageerror", (e) => pageErrors.push(e));
  await page.goto(`${staticSrv.url}/static/index.html`);
  const entry = "/static/node_modules/pos-resilience/index.js";

  await check("init() loads the optimized wasm in Chromium and resolves with its memory", async () => {
    const memoryBytes = await page.evaluate(async (entry) => {
      const m = await import(entry);
      const exports = await m.default();
      window.__pkg = m;
      return exports.memory instanceof WebAssembly.Memory ? exports.memory.buffer.byteLength : null;
    }, entry);
    assert.ok(memoryBytes > 0, "init()'s result has no memory (the build renamed the export?)");
  });

  await check("the public class and functions keep their names through minification", async () => {
    const names = await page.evaluate(() => {
      const m = window.__pkg;
      return [m.ApiClient.name, m.apiPost.name, m.eventNames.name, m.ApiError.name];
    });
    assert.deepEqual(names, ["ApiClient", "apiPost", "eventNames", "ApiError"]);
  });

  await check("apiPost sends a lowercase UUID v4 Idempotency-Key and the JSON body (cross-origin)", async () => {
    const echo = await page.evaluate((url) => window.__pkg.apiPost(url, { hello: 1 }), `${apiSrv.url}/t/smoke/echo`);
    assert.equal(echo.method, "POST");
    assert.match(echo.headers["idempotency-key"], UUID_V4);
    assert.match(echo.headers["content-type"], /^application\/json/);
    assert.deepEqual(echo.body, { hello: 1 });
    const log = await (await fetch(`${apiSrv.url}/log/smoke`)).json();
    assert.equal(log.length, 1, "exactly one request reached the server");
  });

  await check("ApiError is an Error, and the SDK rejects with that same class", async () => {
    const r = await page.evaluate(async (url) => {
      const { ApiError, apiPost } = window.__pkg;
      const made = new ApiError("http", "made by hand", { status: 418 });
      let thrown;
      try {
        await apiPost(url, { n: 1 }, { maxRetries: 0 });
      } catch (e) {
        thrown = e;
      }
      return {
        madeIsError: made instanceof Error,
        madeName: made.name,
        madeStatus: made.status,
        threw: thrown !== undefined,
        thrownIsApiError: thrown instanceof ApiError,
        thrownKind: thrown && thrown.kind,
        thrownStatus: thrown && thrown.status,
      };
    }, `${apiSrv.url}/t/smoke-err/status/400`);
    assert.equal(r.madeIsError, true);
    assert.equal(r.madeName, "ApiError");
    assert.equal(r.madeStatus, 418);
    assert.equal(r.threw, true, "a 400 must reject");
    assert.equal(r.thrownIsApiError, true, "the rejection must be an instance of the exported ApiError");
    assert.equal(r.thrownKind, "http");
    assert.equal(r.thrownStatus, 400);
  });

  await check("no uncaught errors in the page", async () => {
    assert.deepEqual(pageErrors.map(String), []);
  });
} catch (err) {
  results.push(["setup", err]);
  console.log(`not ok - setup\n  ${String(err && err.stack || err)}`);
} finally {
  if (browser) await browser.close();
  if (staticSrv) await staticSrv.close();
  if (apiSrv) await apiSrv.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}

const failed = results.filter(([, e]) => e).length;
console.log(`pkg-smoke: ${results.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
