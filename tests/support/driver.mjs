// What the Node drivers of the soak and the benchmarks (tests/soak/soak.mjs,
// tests/bench/bench.mjs, tests/bench/queue.mjs) share: the repository root,
// their integer and yes/no settings from the environment, Chromium's flags,
// the summary of a figure over runs, git, and the set-up of a benchmark page.
import { execFileSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

// Headless Chromium without the background work that would disturb a run.
export const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
  "--disable-component-update", "--disable-sync", "--no-first-run"];

// intEnvReader("soak")("SOAK_N", 300, 1): the integer in SOAK_N, 300 when it
// is unset or empty; exits 2 (naming the tool) when it is not an integer >= 1.
export function intEnvReader(tool) {
  return (name, dflt, min) => {
    const raw = process.env[name];
    if (raw === undefined || raw === "") return dflt;
    const v = Number(raw);
    if (!Number.isInteger(v) || v < min) {
      console.error(`${tool}: ${name} must be an integer >= ${min}, got ${JSON.stringify(raw)}`);
      process.exit(2);
    }
    return v;
  };
}

// flagEnv("BENCH_QUICK"): whether the variable is 1, true or yes (any case).
export const flagEnv = (name) => /^(1|true|yes)$/i.test(process.env[name] || "");

// Median, min and max of `values`.
export function summary(values) {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  const median = s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1] };
}
// `x` rounded to `d` decimals; a summary() with each figure rounded so.
export const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;
export const roundSummary = (s, d) => ({ median: round(s.median, d), min: round(s.min, d), max: round(s.max, d) });

// git(...args) in the repository: its trimmed output, or null when it fails.
export const git = (...a) => { try { return execFileSync("git", a, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim(); } catch { return null; } };

// Opens `url` (a page of tests/bench) in a new page of `context` and waits
// for it to set window.benchReady; its errors and console errors are printed
// as `${tool}: …`. With `isolate`, the document (only) is answered with
// COOP/COEP headers through a one-shot route, so the page is cross-origin
// isolated and performance.now() has 5 µs rather than 100 µs resolution; the
// route is removed before anything is measured, so no request is intercepted.
export async function openBenchPage(context, url, { tool, isolate = false }) {
  const page = await context.newPage();
  page.on("pageerror", (e) => console.error(`${tool}: page error: ${e.message}`));
  page.on("console", (m) => { if (m.type() === "error") console.error(`${tool}: page console: ${m.text()}`); });
  if (isolate) {
    await page.route(url, async (route) => {
      const res = await route.fetch();
      await route.fulfill({ response: res, headers: { ...res.headers(), "cross-origin-opener-policy": "same-origin", "cross-origin-embedder-policy": "require-corp" } });
    });
  }
  await page.goto(url);
  await page.waitForFunction(() => window.benchReady === true, null, { timeout: 30_000 });
  if (isolate) await page.unrouteAll({ behavior: "wait" });
  return page;
}

// Calls window.bench[fn](...args) in a benchmark page.
export const benchCall = (page, fn, ...args) => page.evaluate(([f, a]) => window.bench[f](...a), [fn, args]);
