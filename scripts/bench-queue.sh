#!/usr/bin/env bash
# Offline-queue benchmark (tests/bench/README.md): SDK enqueue vs a raw
# IndexedDB put loop, SDK drain vs a plain fetch loop, in headless Chromium.
# Builds pkg/ first when it is missing or older than the sources
# (BENCH_NO_BUILD=1 skips that). Prints a table, writes target/bench/queue.json.
# Env: BENCH_N (1000), BENCH_RUNS (5), BENCH_WARMUP (1), BENCH_PROFILE=1
# (adds a diagnosis: target/bench/queue-profile.json), CHROMIUM_BIN.
# Exit status: non-zero only on a functional failure, never on timing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  bash scripts/ensure-pkg.sh bench-queue
fi
[ -f pkg/index.js ] || { echo "bench-queue: pkg/index.js is missing" >&2; exit 2; }

exec node tests/bench/queue.mjs
