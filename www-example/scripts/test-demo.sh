#!/usr/bin/env bash
# Headless-Chromium check of the demo page: starts pos-server (release, built
# if needed) on a free port with a temporary database, loads the page,
# completes a sale through the SDK and checks its invoice number is shown (and
# recorded on the server).
# Needs pkg/ built, /usr/bin/chromium (or CHROMIUM) and playwright-core in the
# repository's node_modules (npm ci). SCREENSHOT=path.png also saves a picture.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
source www-example/scripts/server-lib.sh

[[ -f pkg/index.js ]] || die "pkg/ is not built (make pkg)"
[[ -d node_modules/playwright-core ]] || die "node_modules/playwright-core is missing (npm ci)"

build_pos_server

work="$(mktemp -d)"
pid=""
trap 'stop_server; rm -rf "$work"' EXIT
start_server "$POS_SERVER_BIN" "$work" --www www-example --pkg pkg --chaos \
  --chaos-error503-rate 0 --chaos-drop-before-rate 0 --chaos-drop-after-commit-rate 0 --chaos-latency-rate 0

node www-example/scripts/demo-check.mjs "$url"
