// Scenario 9: a bundler user and a TypeScript user of the packed npm package.
// - A minimal Vite 7 app (temporary directory; package.json depends on the
//   `npm pack` tarball) builds with no extra plugin, and the built page
//   completes a sale against the real server. The server has no CORS, so the
//   build is served from the API's origin: `vite build --base /pkg/` and the
//   server started with `--pkg <dist>` (its /pkg/ route serves any file).
// - `tsc --noEmit` (strict) accepts a small .ts file using the package's types
//   and rejects a misuse (`maxRetries: "3"`) with the expected message.
// Vite and TypeScript are the repository root's (node_modules/.bin), not
// installed again.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync, readFileSync, existsSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { startServer, launchBrowser, serverInvariants, watchErrors, ROOT, INVOICE, TOKENS, WAIT_MS } from "./support.mjs";

const FIXTURES = path.join(ROOT, "tests/e2e/scenarios/fixtures");
const VITE = path.join(ROOT, "node_modules/vite/bin/vite.js");
const TSC = path.join(ROOT, "node_modules/typescript/bin/tsc");

const npm = (args, cwd) => execFileSync("npm", [...args, "--no-audit", "--no-fund", "--loglevel=error"], {
  cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"],
});

let tmp;
let app;
before(() => {
  assert.ok(existsSync(path.join(ROOT, "pkg/package.json")), "pkg/ is not built (bash scripts/build-pkg.sh)");
  tmp = mkdtempSync(path.join(tmpdir(), "pos-e2e-bundler-"));
  const packed = JSON.parse(npm(["pack", "--json", "--pack-destination", tmp], path.join(ROOT, "pkg")));
  const tgz = path.join(tmp, packed[0].filename);
  app = path.join(tmp, "app");
  cpSync(path.join(FIXTURES, "vite-app"), app, { recursive: true });
  cpSync(path.join(FIXTURES, "types"), app, { recursive: true });
  writeFileSync(path.join(app, "package.json"), JSON.stringify({ name: "e2e-vite-app", private: true, type: "module" }, null, 2));
  npm(["install", "--offline", tgz], app);
  const manifest = JSON.parse(readFileSync(path.join(app, "package.json"), "utf8"));
  assert.match(manifest.dependencies["pos-resilience"], /^file:.*pos-resilience-.*\.tgz$/, "the app depends on the packed tarball");
});
after(() => {
  if (tmp && !process.env.E2E_KEEP) rmSync(tmp, { recursive: true, force: true });
});

test("vite build (no plugin) bundles the package, and the built page completes a sale", async () => {
  const build = spawnSync(process.execPath, [VITE, "build", "--base", "/pkg/", "--outDir", "dist", "--emptyOutDir", "--logLevel", "warn"],
    { cwd: app, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  assert.equal(build.status, 0, `vite build failed:\n${build.stdout}\n${build.stderr}`);
  assert.equal(`${build.stdout}${build.stderr}`.trim(), "", "no warning at --logLevel warn");
  const assets = readdirSync(path.join(app, "dist/assets"));
  const wasm = assets.find((f) => /^pos_resilience_bg-.*\.wasm$/.test(f));
  assert.ok(wasm, `the .wasm is emitted as an asset: ${assets}`);

  const server = await startServer({ pkgDir: path.join(app, "dist") });
  const browser = await launchBrowser();
  try {
    const context = await browser.newContext();
    context.pageErrors = [];
    const page = await context.newPage();
    watchErrors(page, context.pageErrors);
    page.setDefaultTimeout(WAIT_MS);
    const wasmResponses = [];
    page.on("response", (r) => { if (r.url().endsWith(".wasm")) wasmResponses.push({ url: new URL(r.url()).pathname, status: r.status(), type: r.headers()["content-type"] }); });
    await page.goto(`${server.url}/pkg/index.html`);
    await page.waitForSelector('body[data-ready="true"]');
    assert.deepEqual(wasmResponses, [{ url: `/pkg/assets/${wasm}`, status: 200, type: "application/wasm" }]);
    await page.locator("#sell").click();
    await page.waitForSelector("#out[data-state]");
    const out = await page.locator("#out").innerText();
    assert.equal(await page.locator("#out").getAttribute("data-state"), "sold", out);
    assert.match(out, INVOICE);

    const sales = await server.sales(TOKENS.ana);
    assert.deepEqual(sales.map((s) => [s.invoiceNumber, s.locationId]), [[out, "vite-till"]], "the server recorded the bundled page's sale");
    const stats = await serverInvariants(server, assert);
    assert.equal(stats.sales, 1);
    assert.deepEqual(context.pageErrors, []);
    await context.close();
  } finally {
    await browser.close();
    await server.stop();
  }
});

// fixtures/types/tsconfig.json is what Vite's TypeScript template sets up
// (strict, ES2022 + DOM, bundler resolution, skipLibCheck).
function tsc(file, compilerOptions = {}) {
  const config = path.join(app, `tsconfig.${path.basename(file, ".ts")}.json`);
  writeFileSync(config, JSON.stringify({ extends: "./tsconfig.json", compilerOptions, files: [file] }));
  return spawnSync(process.execPath, [TSC, "--noEmit", "-p", config, "--pretty", "false"], { cwd: app, encoding: "utf8" });
}

test("tsc --noEmit (strict) accepts code using the package's types", () => {
  const r = tsc("good.ts");
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
  assert.equal(r.stdout.trim(), "");
});

// wasm-bindgen's generated `[Symbol.dispose](): void` needs lib esnext;
// scripts/build-pkg.sh drops that declaration so the package type-checks
// with lib ES2022 + DOM and skipLibCheck off.
test("tsc --noEmit without skipLibCheck: the package's own .d.ts type-checks under lib ES2022 + DOM", () => {
  const r = tsc("good.ts", { skipLibCheck: false });
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
});

test("tsc rejects a misuse: maxRetries given as a string", () => {
  const r = tsc("bad.ts");
  assert.notEqual(r.status, 0, `tsc accepted bad.ts:\n${r.stdout}`);
  const errors = r.stdout.trim().split("\n").filter((l) => /error TS\d+/.test(l));
  assert.equal(errors.length, 1, `exactly one error:\n${r.stdout}`);
  assert.match(errors[0], /^bad\.ts\(4,\d+\): error TS2322: Type 'string' is not assignable to type 'number'\./, r.stdout);
});
