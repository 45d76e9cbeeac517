#!/usr/bin/env bash
# `make bench`: the SDK against plain fetch, ky, TanStack's
# offline transactions and its own platform in headless Chromium, against
# the reference server on loopback (chaos off), plus the package size beside
# its peers. Method and latest figures: README.md ("Performance") and
# tests/bench/README.md.
# Builds pkg/ when it is missing or older than the sources (BENCH_NO_BUILD=1
# skips that) and pos-server (cargo build --release -p pos-server), then runs
# node tests/bench/bench.mjs, which also runs tests/bench/queue.mjs.
# Prints a table, writes target/bench/results.json.
# Env: BENCH_QUICK=1 (small sizes, under 2 minutes), BENCH_RUNS (5),
# BENCH_CALLS (2000 per side), BENCH_BLOCK (100), BENCH_TANSTACK_N (1000 per
# side), BENCH_DEDUP_N (1000), BENCH_INIT_N (20), BENCH_HEAP_RUNS (3),
# BENCH_QUEUE_N (1000), BENCH_QUEUE_RUNS (5), BENCH_SKIP_QUEUE=1,
# BENCH_ENDPOINTS (sales,echo), BENCH_SQLITE_SYNCHRONOUS (normal),
# BENCH_PROFILE=1, CHROMIUM_BIN.
# Exit status: non-zero only on a functional failure, never on timing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  bash scripts/ensure-pkg.sh bench
  build_pos_server
fi
[ -f pkg/index.js ] || { echo "bench: pkg/index.js is missing" >&2; exit 2; }
[ -x "${POS_SERVER_BIN:-target/release/pos-server}" ] || { echo "bench: ${POS_SERVER_BIN:-target/release/pos-server} is missing: cargo build --release -p pos-server" >&2; exit 2; }

exec node tests/bench/bench.mjs
