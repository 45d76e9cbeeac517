// Guesses bearer tokens against a running pos-server, for the README's
// reliability figures: N requests to GET /api/products, each with a new wrong
// token, CONCURRENCY at a time from one client; prints how many were looked up
// and refused (401), how many were throttled (429), and the rate of guesses
// actually tested. Loopback only.
//
//   node www-example/scripts/guess-tokens.mjs http://127.0.0.1:PORT [N=2000] [CONCURRENCY=20]
import { randomBytes } from "node:crypto";

const [url, n = "2000", concurrency = "20"] = process.argv.slice(2);
if (!url) {
  console.error("usage: guess-tokens.mjs URL [N] [CONCURRENCY]");
  process.exit(2);
}
const { hostname } = new URL(url);
if (hostname !== "127.0.0.1" && hostname !== "localhost") throw new Error("loopback only");

const counts = {};
let next = 0;
const started = performance.now();
async function worker() {
  while (next < Number(n)) {
    next += 1;
    const res = await fetch(`${url}/api/products`, { headers: { Authorization: `Bearer guess-${randomBytes(8).toString("hex")}` } });
    await res.arrayBuffer();
    counts[res.status] = (counts[res.status] || 0) + 1;
  }
}
await Promise.all(Array.from({ length: Number(concurrency) }, worker));
const seconds = (performance.now() - started) / 1000;
const tested = counts[401] || 0;
console.log(`${n} wrong tokens in ${seconds.toFixed(2)} s: ${JSON.stringify(counts)}; ` +
  `guesses tested ${(tested / seconds).toFixed(1)}/s`);
