#!/usr/bin/env bash
# Chaos soak (tests/soak/README.md): N sales through the SDK in
# headless Chromium pages against pos-server in chaos mode (dropped
# connections before and after the commit, 503 + Retry-After, latency beyond
# the SDK's timeout, offline windows, reloads mid-drain, two tabs of one
# cashier), then a table: intended vs recorded, duplicates, lost,
# dead-lettered, invoice gaps, stock mismatches, requests, replays.
#
# Builds pkg/ when it is missing or older than the sources, and the server
# (release); SOAK_NO_BUILD=1 skips both. Needs the sqlite3 command, which
# `make tools` installs (the soak reads the server's database with it).
# Env: SOAK_N (300), SOAK_SECONDS (no bound), SOAK_CONCURRENCY (2 per page),
# SOAK_THINK_MS (800), SOAK_TIMEOUT_MS (1500), SOAK_DRAIN_SECONDS (180),
# SOAK_SEED, SOAK_KEEP=1, CHROMIUM_BIN — see tests/soak/soak.mjs.
# SOAK_CLUSTER=N (make test-soak-cluster: 2): the same soak through HAProxy
# (round robin) to N pos-server instances on a throwaway PostgreSQL
# (www-example/scripts/postgres.sh), reconciled with psql; needs haproxy and
# postgresql, which `make tools` installs.
# Exit status: 0 when every check holds; 1 on any duplicate, loss, dead letter,
# gap or mismatch; 2 when the soak could not run. Never asserts on timing.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

if [ "${SOAK_NO_BUILD:-0}" != 1 ]; then
  bash scripts/ensure-pkg.sh soak
  build_pos_server
fi
[ -f pkg/index.js ] || { echo "soak: pkg/index.js is missing" >&2; exit 2; }
[ -d node_modules/playwright-core ] || { echo "soak: node_modules/playwright-core is missing: run 'make tools' (npm ci)" >&2; exit 2; }
cluster="${SOAK_CLUSTER:-0}"
if [ "$cluster" = 0 ]; then
  command -v sqlite3 >/dev/null || { echo "soak: sqlite3 is needed to read the server's database (make tools installs it)" >&2; exit 2; }
else
  command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || { echo "soak: haproxy is needed for SOAK_CLUSTER (make tools installs it)" >&2; exit 2; }
fi

# The driver stops its servers (and HAProxy) and browser itself; if it dies
# without doing so (SIGKILL), their pids are in this file and are stopped here.
pidfile=$(mktemp -t pos-soak-pid.XXXXXX)
node_pid=
pgdir=
cleanup() {
  if [ -n "$node_pid" ] && kill -0 "$node_pid" 2>/dev/null; then
    kill -TERM "$node_pid" 2>/dev/null || true
    wait "$node_pid" 2>/dev/null || true
  fi
  local spid
  while read -r spid; do
    if [ -n "$spid" ] && kill -0 "$spid" 2>/dev/null && grep -qaE 'pos-server|haproxy' "/proc/$spid/cmdline" 2>/dev/null; then
      kill -TERM "$spid" 2>/dev/null || true
    fi
  done < <(cat "$pidfile" 2>/dev/null || true)
  rm -f "$pidfile"
  if [ -n "$pgdir" ]; then
    pg_stop
    if [ "${SOAK_KEEP:-0}" = 1 ]; then echo "soak: kept the PostgreSQL cluster in $pgdir/pg"; else rm -rf "$pgdir"; fi
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ "$cluster" != 0 ]; then
  source www-example/scripts/postgres.sh
  pgdir=$(mktemp -d -t pos-soak-pg.XXXXXX)
  echo "soak: starting a throwaway PostgreSQL in $pgdir/pg"
  pg_start "$pgdir" || exit 2
  export SOAK_PG_URL="$PG_URL" SOAK_PSQL="$PG_BIN/psql"
fi

SOAK_PIDFILE="$pidfile" node tests/soak/soak.mjs &
node_pid=$!
status=0
wait "$node_pid" || status=$?
node_pid=
exit "$status"
