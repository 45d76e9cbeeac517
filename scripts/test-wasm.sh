#!/usr/bin/env bash
# Usage: scripts/test-wasm.sh [chrome|firefox|webkit ...]   (default: chrome firefox)
# Runs the SDK's wasm-bindgen-test suites (src/ and tests/*.rs) in headless
# browsers, with the test server (tests/support/test-server.mjs) running.
# The tests read the server's URL at compile time from POS_TEST_SERVER.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

export TEST_SERVER_PORT=${TEST_SERVER_PORT:-8787}
export POS_TEST_SERVER=${POS_TEST_SERVER:-http://127.0.0.1:$TEST_SERVER_PORT}
# Some tests wait on timeouts and backoff: give each test binary time.
export WASM_BINDGEN_TEST_TIMEOUT=${WASM_BINDGEN_TEST_TIMEOUT:-120}
# A suite without wasm_bindgen_test_configure!(...) runs in a browser too, not Node.
export WASM_BINDGEN_USE_BROWSER=1

browsers=("$@")
[ "${#browsers[@]}" -gt 0 ] || browsers=(chrome firefox)

cargo_test=(cargo test --target wasm32-unknown-unknown -p pos-resilience --lib --tests --no-fail-fast)

run_in() {
  local browser=$1
  # The runner takes the first driver variable it finds (gecko before
  # chrome), so exactly one is set per run.
  local env=(env -u GECKODRIVER -u CHROMEDRIVER -u SAFARIDRIVER -u GECKODRIVER_REMOTE -u CHROMEDRIVER_REMOTE -u SAFARIDRIVER_REMOTE)
  case $browser in
    chrome)  env+=(CHROMEDRIVER="${CHROMEDRIVER:-/usr/bin/chromedriver}") ;;
    firefox) env+=(GECKODRIVER="${GECKODRIVER:-$(command -v geckodriver || echo "$HOME/.cargo/bin/geckodriver")}") ;;
    webkit)  env+=(SAFARIDRIVER="${SAFARIDRIVER:-/usr/bin/WebKitWebDriver}") ;;
    *) echo "test-wasm: unknown browser '$browser' (chrome, firefox, webkit)" >&2; return 2 ;;
  esac
  echo "test-wasm: === $browser ==="
  if [ "$browser" = webkit ]; then
    "${env[@]}" xvfb-run -a "${cargo_test[@]}"
  else
    "${env[@]}" "${cargo_test[@]}"
  fi
}

failed=()
run_all() {
  for b in "${browsers[@]}"; do
    run_in "$b" || failed+=("$b")
  done
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "test-wasm: FAILED in: ${failed[*]}" >&2
    return 1
  fi
  echo "test-wasm: passed in: ${browsers[*]}"
}

# Build first (no server needed), then run this script again inside
# with-test-server.sh, which starts the server and stops it afterwards.
if [ "${TEST_WASM_INNER:-}" = 1 ]; then
  run_all
else
  echo "test-wasm: building the wasm test binaries (POS_TEST_SERVER=$POS_TEST_SERVER)"
  "${cargo_test[@]}" --no-run
  TEST_WASM_INNER=1 exec scripts/with-test-server.sh "$0" "${browsers[@]}"
fi
