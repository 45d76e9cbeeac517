#!/usr/bin/env bash
# End-to-end scenarios (tests/e2e/scenarios/, see its README): headless
# Chromium (Debian's /usr/bin/chromium through playwright-core) drives the demo
# page and the packed npm package against the real reference server.
#
#   scripts/test-e2e.sh            # every scenario
#   scripts/test-e2e.sh 03 07      # the scenario files whose names start with 03, 07
#
# Builds pkg/ when it is missing or older than the SDK's sources, builds
# pos-server (release), then runs the scenarios with node's test runner. Each
# scenario starts and stops its own server on a free port with a temporary
# database. Everything the run started is in one process group, which is
# ended when the script exits, so nothing is left behind.
#
# Environment: E2E_CONCURRENCY (scenario files run at once; default 1),
# E2E_TIMEOUT_MS (per test; default 180000), E2E_KEEP=1 (keep the temporary
# databases and server logs), CHROMIUM, CARGO_TARGET_DIR.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

[[ -d node_modules/playwright-core ]] || die "node_modules/playwright-core is missing (npm ci)"
[[ -x node_modules/.bin/vite && -x node_modules/.bin/tsc ]] || die "vite or typescript missing from node_modules (npm ci)"
[[ -x "${CHROMIUM:-/usr/bin/chromium}" ]] || die "no Chromium at ${CHROMIUM:-/usr/bin/chromium} (make tools)"
command -v sqlite3 >/dev/null || die "sqlite3 is needed to read the server's database (make tools installs it)"

bash scripts/ensure-pkg.sh test-e2e

build_pos_server

files=()
if (( $# == 0 )); then
  files=(tests/e2e/scenarios/*.test.mjs)
else
  for prefix in "$@"; do
    matched=(tests/e2e/scenarios/"$prefix"*.test.mjs)
    [[ -e "${matched[0]}" ]] || die "no scenario file tests/e2e/scenarios/$prefix*.test.mjs"
    files+=("${matched[@]}")
  done
fi

# The test runner, its per-file children and their servers: one process group
# of its own (setsid), ended on the way out (TERM, then KILL after 10 s).
# Playwright starts Chromium in a group of its own and closes it when its
# node process gets TERM or exits.
pgid=""
cleanup() {
  if [[ -n "$pgid" ]] && kill -0 -- "-$pgid" 2>/dev/null; then
    kill -TERM -- "-$pgid" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL -- "-$pgid" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start=$SECONDS
setsid node --test --test-concurrency="${E2E_CONCURRENCY:-1}" --test-timeout="${E2E_TIMEOUT_MS:-180000}" "${files[@]}" &
pid=$!
pgid=$pid
status=0
wait "$pid" || status=$?
# Anything of the run still alive now is a leak: report it, then end it.
if leftover="$(pgrep -g "$pgid" -a 2>/dev/null)" && [[ -n "$leftover" ]]; then
  echo "test-e2e: processes left behind by the run (ending them):" >&2
  echo "$leftover" >&2
  (( status != 0 )) || status=1
fi
echo "test-e2e: $(( SECONDS - start )) s"
exit "$status"
