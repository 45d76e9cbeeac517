#!/usr/bin/env bash
# Offline-queue benchmark (tests/bench/README.md): SDK enqueue vs a raw
# IndexedDB put loop, SDK drain vs a plain fetch loop, in headless Chromium.
# Builds pkg/ first when it is missing or older than the sources
# (BENCH_NO_BUILD=1 skips that). Prints a table, writes target/bench/queue.json.
# Env: BENCH_N (1000), BENCH_RUNS (5), BENCH_WARMUP (1), BENCH_PROFILE=1
# (adds a diagnosis: target/bench/queue-profile.json), CHROMIUM_BIN.
# Exit status: non-zero only on a functional failure, never on timing.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"

stamp=pkg/pos_resilience_bg.wasm
if [ "${BENCH_NO_BUILD:-0}" != 1 ]; then
  if [ ! -f pkg/index.js ] || [ ! -f "$stamp" ]; then
    echo "bench-queue: pkg/ is missing: building it"
    bash scripts/build-pkg.sh
  elif [ -n "$(find src js Cargo.toml pkg-template -newer "$stamp" -print -quit 2>/dev/null)" ]; then
    echo "bench-queue: pkg/ is older than the sources: rebuilding it"
    bash scripts/build-pkg.sh
  fi
fi
[ -f pkg/index.js ] || { echo "bench-queue: pkg/index.js is missing" >&2; exit 2; }

exec node tests/bench/queue.mjs
