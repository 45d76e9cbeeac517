// What the Node drivers of the soak and the benchmarks (tests/soak/soak.mjs,
// tests/bench/bench.mjs, tests/bench/queue.mjs) share: the repository root,
// their integer settings from the environment and Chromium's flags.
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
