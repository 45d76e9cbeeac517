#!/usr/bin/env bash
# `make cluster`: the demo of `make demo`, served by several pos-server
# instances on one PostgreSQL behind HAProxy, until Ctrl-C:
#   - a throwaway PostgreSQL (postgres.sh: initdb into a temporary directory,
#     pg_ctl on a free port of 127.0.0.1, as the postgres user when run as root);
#   - CLUSTER_INSTANCES (2) pos-server instances on it (--database), each on a
#     free port of 127.0.0.1, with the flags of `make demo` (--demo, the demo
#     page and pkg/, --chaos with every rate at 0);
#   - HAProxy (Debian's haproxy), round robin, health checks on GET /readyz,
#     on http://127.0.0.1:$CLUSTER_PORT (8080; 0 picks a free port), with
#     GET/PUT /api/chaos sent to every instance (chaos-fanout.lua), so the
#     page's chaos sliders act on the whole cluster.
# Everything is stopped and the temporary directory removed on exit (Ctrl-C,
# SIGTERM, or an instance or HAProxy exiting). The Makefile builds pkg/ first.
#
# Environment: CLUSTER_INSTANCES (2), CLUSTER_PORT (8080), CLUSTER_KEEP=1
# (keep the work directory: logs, haproxy.cfg, the database files),
# RUST_LOG (info), POS_SERVER_BIN (a pos-server binary to run instead of
# building one). Extra arguments go to every pos-server (e.g.
# --allowed-host till.example, for a name other than localhost / 127.0.0.1).
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

n="${CLUSTER_INSTANCES:-2}"
[[ "$n" =~ ^[1-9][0-9]*$ ]] || { echo "cluster: CLUSTER_INSTANCES must be a positive number, got '$n'" >&2; exit 1; }
export CLUSTER_PORT="${CLUSTER_PORT:-8080}"

if [[ ! -f pkg/index.js ]]; then
  echo "cluster: pkg/ is not built; 'make cluster' builds it (or run 'make pkg' first)" >&2
  exit 1
fi
command -v curl >/dev/null || { echo "cluster: curl is needed (apt-get install curl)" >&2; exit 1; }
command -v node >/dev/null || { echo "cluster: node is needed" >&2; exit 1; }

build_pos_server
bin="$POS_SERVER_BIN"

source www-example/scripts/postgres.sh
source www-example/scripts/cluster-lib.sh

work="$(mktemp -d -t pos-cluster.XXXXXX)"
cleanup() {
  trap - INT TERM EXIT
  balancer_stop
  instances_stop
  pg_stop
  if [[ "${CLUSTER_KEEP:-0}" == 1 ]]; then echo "cluster: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

echo "cluster: starting PostgreSQL in $work/pg…"
pg_start "$work"
echo "cluster: PostgreSQL at $PG_URL"

echo "cluster: starting $n pos-server instances…"
CLUSTER_LOG_TTY=1 RUST_LOG="${RUST_LOG:-info}" instances_start "$work" "$n" "$bin" \
  --database "$PG_URL" --demo --www www-example --pkg pkg --chaos \
  --chaos-error503-rate 0 --chaos-drop-before-rate 0 --chaos-drop-after-commit-rate 0 --chaos-latency-rate 0 \
  --chaos-latency-ms 12000 "$@"

echo "cluster: starting HAProxy…"
balancer_start "$work" --chaos-fanout
url="$BALANCER_URL"

instances=""
for i in "${!cluster_urls[@]}"; do instances+="      pos$((i + 1))  ${cluster_urls[$i]}  (pid ${cluster_pids[$i]})"$'\n'; done
cat <<BANNER

  ┌──────────────────────────────────────────────────────────────┐
    pos-resilience demo till, clustered:   $url/
    HAProxy round robin over $n instances (health: GET /readyz):
${instances%$'\n'}
    HAProxy statistics:                    $BALANCER_STATS_URL/
    database:                              $PG_URL
                                           ($PG_BIN/psql "$PG_URL")

    demo cashier tokens (Authorization: Bearer <token>):
      demo-cashier-1   Ana,   Corner Shop   (business 1)
      demo-cashier-2   Ben,   Corner Shop   (business 1)
      demo-cashier-3   Chloé, Harbour Café  (business 2)

    chaos controls are on the page (GET/PUT $url/api/chaos,
    applied to every instance)
    Ctrl-C stops HAProxy, the instances and PostgreSQL.
  └──────────────────────────────────────────────────────────────┘

BANNER

# Until Ctrl-C, or until HAProxy or an instance exits by itself. Ctrl-C
# reaches the instances and HAProxy too (same process group; PostgreSQL runs
# apart, under pg_ctl): they stop cleanly (0, or 130/143), and so do we.
status=0
wait -n "$balancer_pid" "${cluster_pids[@]}" || status=$?
if [[ $status -eq 0 || $status -eq 130 || $status -eq 143 ]]; then
  echo "cluster: stopping"
  exit 0
fi
echo "cluster: a process exited (status $status); stopping the cluster" >&2
exit 1
