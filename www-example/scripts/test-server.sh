#!/usr/bin/env bash
# The reference server's tests: unit and integration tests of the pos-server
# crate (each integration test runs the real binary on a temporary SQLite
# file), then the headless-Chromium check of the demo page when pkg/ is built.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

cargo test -p pos-server

if [[ -f pkg/index.js ]]; then
  www-example/scripts/test-demo.sh
else
  echo "test-server: pkg/ is not built, so the demo-page check is skipped here (make test-demo runs it after make pkg)"
fi
