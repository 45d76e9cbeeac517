#!/usr/bin/env bash
# Headless-Chromium check of the demo page: starts pos-server on a free port
# with a temporary database, loads the page, completes a sale through the SDK
# and checks its invoice number is shown (and recorded on the server).
# Needs pkg/ built, /usr/bin/chromium (or CHROMIUM) and playwright-core in the
# repository's node_modules (npm ci). SCREENSHOT=path.png also saves a picture.
set -euo pipefail
cd "$(dirname "$0")/../.."

[[ -f pkg/index.js ]] || { echo "test-demo: pkg/ is not built (make pkg)" >&2; exit 1; }
[[ -d node_modules/playwright-core ]] || { echo "test-demo: node_modules/playwright-core is missing (npm ci)" >&2; exit 1; }

cargo build -p pos-server
bin="${CARGO_TARGET_DIR:-target}/debug/pos-server"

work="$(mktemp -d)"
pid=""
cleanup() {
  if [[ -n "$pid" ]]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

mkfifo "$work/out"
PORT=0 POS_DB="$work/pos.db" RUST_LOG=warn "$bin" --demo --www www-example --pkg pkg --chaos \
  --chaos-error503-rate 0 --chaos-drop-before-rate 0 --chaos-drop-after-commit-rate 0 --chaos-latency-rate 0 \
  >"$work/out" 2>"$work/server.log" &
pid=$!
# The server prints its address once it listens.
url=""
exec 3<"$work/out"
if read -r -t 30 line <&3; then url="${line#pos-server listening on }"; fi
[[ "$url" == http://127.0.0.1:* ]] || { echo "test-demo: the server did not start:" >&2; cat "$work/server.log" >&2; exit 1; }
# Keep draining the server's stdout.
cat <&3 >/dev/null &

node www-example/scripts/demo-check.mjs "$url"
