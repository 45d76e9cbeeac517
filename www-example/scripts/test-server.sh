#!/usr/bin/env bash
# The reference server's tests: unit and integration tests of the pos-server
# crate (each integration test runs the real binary on a temporary SQLite
# file), then the integration suite again on a throwaway PostgreSQL server
# (postgres.sh; each test gets a database of its own, and the cross-instance
# tests of cluster.rs run only there), then the headless-Chromium check of the
# demo page when pkg/ is built.
set -euo pipefail
cd "$(dirname "$0")/../.."

unset POS_DATABASE POS_TEST_DATABASE_URL
cargo test -p pos-server

source www-example/scripts/postgres.sh
pg_dir=$(mktemp -d)
cleanup() { pg_stop; rm -rf "$pg_dir"; }
trap cleanup EXIT
pg_start "$pg_dir"
echo "test-server: the integration suite on PostgreSQL ($PG_URL)"
POS_TEST_DATABASE_URL="$PG_URL" cargo test -p pos-server --test server
cleanup
trap - EXIT

if [[ -f pkg/index.js ]]; then
  www-example/scripts/test-demo.sh
else
  echo "test-server: pkg/ is not built, so the demo-page check is skipped here (make test-demo runs it after make pkg)"
fi
