#!/usr/bin/env bash
# The demo-page check (demo-check.mjs, as `make test-demo`) through `make
# cluster`: starts cluster.sh (CLUSTER_INSTANCES, default 2, on a throwaway
# PostgreSQL behind HAProxy) on a free port, waits for its URL, runs the
# check against HAProxy, then stops the cluster (SIGTERM) and waits until it
# has stopped everything. Needs pkg/ built and playwright-core (npm ci).
# Env: CLUSTER_INSTANCES (2), POS_SERVER_BIN (a pos-server binary instead of
# building one), CHROMIUM.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

[[ -f pkg/index.js ]] || { echo "test-cluster: pkg/ is not built (make pkg)" >&2; exit 1; }
[[ -d node_modules/playwright-core ]] || { echo "test-cluster: node_modules/playwright-core is missing (npm ci)" >&2; exit 1; }

work="$(mktemp -d)"
cpid=""
cleanup() {
  if [[ -n "$cpid" ]] && kill -0 "$cpid" 2>/dev/null; then
    kill -TERM "$cpid" 2>/dev/null || true
    wait "$cpid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkfifo "$work/out"
CLUSTER_PORT=0 www-example/scripts/cluster.sh >"$work/out" 2>"$work/cluster.log" &
cpid=$!
# The banner's first line carries the URL; the build may come first (600 s).
url=""
exec 3<"$work/out"
while IFS= read -r -t 600 line <&3; do
  if [[ "$line" =~ clustered:\ +(http://127\.0\.0\.1:[0-9]+) ]]; then url="${BASH_REMATCH[1]}"; break; fi
done
[[ -n "$url" ]] || { echo "test-cluster: the cluster did not start:" >&2; cat "$work/cluster.log" >&2; exit 1; }
cat <&3 >/dev/null &
exec 3<&-
echo "test-cluster: checking the demo page through HAProxy at $url"
status=0
node www-example/scripts/demo-check.mjs "$url" || status=$?
kill -TERM "$cpid"
wait "$cpid" || true
cpid=""
exit "$status"
