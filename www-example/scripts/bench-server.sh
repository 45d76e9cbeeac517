#!/usr/bin/env bash
# `make bench-server`: sales per second pos-server sustains on this machine,
# with the idempotency layer and without it (--no-idempotency), each for
# BENCH_SECONDS (30) with wrk on loopback: POST /api/sales, every request a new
# sale with its own Idempotency-Key, on a fresh database with ample stock.
# Prints sales/s, p50/p99 latency, the ratio, and checks every request was a
# 201 and the server recorded at least that many sales. Then a run measures
# sales with keys while BENCH_IDLE (2000) silent and BENCH_SLOW (200) slowloris
# sockets are held open (hostile-clients.mjs, which reopens each one the server
# closes). A last run retries one sale, recorded first, from BENCH_RETRIERS
# (200) connections at once (bench-sales.lua with BENCH_KEY): the latency of a
# replay under that load, how many retries were not answered 201, and a check
# that the server recorded 1 sale.
#
# Env: BENCH_SECONDS (30), BENCH_ROUNDS (1: one run of each; more alternate
# them), BENCH_CONNECTIONS (16), BENCH_RETRIERS (200), BENCH_THREADS (1),
# BENCH_BIN (a pos-server binary to measure instead of building one),
# POS_SQLITE_SYNCHRONOUS (full; 'normal' trades power-loss durability for speed).
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

duration="${BENCH_SECONDS:-30}"
connections="${BENCH_CONNECTIONS:-16}"
threads="${BENCH_THREADS:-1}"
rounds="${BENCH_ROUNDS:-1}"
retriers="${BENCH_RETRIERS:-200}"
command -v wrk >/dev/null || { echo "bench-server: wrk is needed (apt-get install wrk)" >&2; exit 1; }
command -v curl >/dev/null || { echo "bench-server: curl is needed (apt-get install curl)" >&2; exit 1; }
command -v node >/dev/null || { echo "bench-server: node is needed" >&2; exit 1; }
idle="${BENCH_IDLE:-2000}"
slow="${BENCH_SLOW:-200}"

bin="${BENCH_BIN:-}"
if [[ -z "$bin" ]]; then
  build_pos_server
  bin="$POS_SERVER_BIN"
fi

source www-example/scripts/server-lib.sh
work="$(mktemp -d)"
pid=""
hostile_pid=""
stop_hostile() {
  if [[ -n "$hostile_pid" ]]; then kill -TERM "$hostile_pid" 2>/dev/null || true; wait "$hostile_pid" 2>/dev/null || true; hostile_pid=""; fi
}
trap 'stop_hostile; stop_server; rm -rf "$work"' EXIT

# run LABEL CONNECTIONS HOSTILE [pos-server flags…]: one wrk run against a
# fresh server, with the hostile sockets held open when HOSTILE is "hostile";
# sets rps, p50, p99, total, non2xx, errors, sales. With BENCH_KEY set, the
# sale of that key is recorded first and every request retries it.
run() {
  local label="$1" conns="$2" hostile="$3"; shift 3
  local dir="$work/$label"
  mkdir -p "$dir"
  start_server "$bin" "$dir" "$@"
  curl -fsS "$url/healthz" >/dev/null
  if [[ "$hostile" == hostile ]]; then
    mkfifo "$dir/hostile"
    node www-example/scripts/hostile-clients.mjs "$url" "$idle" "$slow" "$((duration + 20))" >"$dir/hostile" &
    hostile_pid=$!
    exec 4<"$dir/hostile"
    read -r -t 60 line <&4 || { echo "bench-server: the hostile clients did not start" >&2; exit 1; }
    cat <&4 >&2 &
    exec 4<&-
    echo "bench-server: $label: $idle idle + $slow slowloris sockets held open" >&2
  fi
  if [[ -n "${BENCH_KEY:-}" ]]; then
    # The sale the retries repeat, recorded before they start.
    curl -fsS -o /dev/null -X POST "$url/api/sales" -H "Authorization: Bearer ${BENCH_TOKEN:-demo-cashier-1}" \
      -H 'Content-Type: application/json' -H "Idempotency-Key: $BENCH_KEY" \
      -d "{\"locationId\":\"till-1\",\"items\":[{\"productId\":${BENCH_PRODUCT:-7},\"quantity\":1}]}"
  fi

  echo "bench-server: $label: wrk -t$threads -c$conns -d${duration}s POST $url/api/sales" >&2
  wrk -t"$threads" -c"$conns" -d"${duration}s" --timeout 20s --latency -s www-example/scripts/bench-sales.lua "$url" >"$dir/wrk.txt"
  sed 's/^/    /' "$dir/wrk.txt" >&2
  stop_hostile

  rps="$(awk '/^Requests\/sec:/ {print $2}' "$dir/wrk.txt")"
  p50="$(awk '$1 == "50%" {print $2}' "$dir/wrk.txt")"
  p99="$(awk '$1 == "99%" {print $2}' "$dir/wrk.txt")"
  total="$(awk '/requests in/ {print $1}' "$dir/wrk.txt")"
  non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$dir/wrk.txt")"
  non2xx="${non2xx:-0}"
  errors="$(grep -c 'Socket errors' "$dir/wrk.txt" || true)"
  sales="$(curl -fsS -H 'Authorization: Bearer demo-cashier-1' "$url/api/stats" | sed -E 's/.*"sales":([0-9]+).*/\1/')"
  stop_server
}

# check_sales LABEL: every request of the last run was a 201 and recorded.
check_sales() {
  local label="$1"
  if [[ "$non2xx" != "0" || "$errors" != "0" ]]; then
    echo "bench-server: $label: $non2xx non-2xx responses / socket errors; see above" >&2
    exit 1
  fi
  # wrk stops counting at the deadline while the last requests may still commit.
  if (( sales < total )); then
    echo "bench-server: $label: wrk saw $total sales answered 201 but the server recorded only $sales" >&2
    exit 1
  fi
}

# row LABEL SALES/S P50 P99 SALES: one line of the results table.
row() { printf '  %-28s %12s %10s %10s %10s\n' "$@"; }

# Alternate the two configurations, so load from anything else on the machine
# falls on both alike.
rows=()
with_sum=0; without_sum=0
for round in $(seq 1 "$rounds"); do
  run "with-idempotency-$round" "$connections" calm
  check_sales "with-idempotency-$round"
  rows+=("$(row "with keys (round $round)" "$rps" "$p50" "$p99" "$total")")
  with_sum="$(awk -v a="$with_sum" -v b="$rps" 'BEGIN { print a + b }')"
  run "without-idempotency-$round" "$connections" calm --no-idempotency
  check_sales "without-idempotency-$round"
  rows+=("$(row "without (round $round)" "$rps" "$p50" "$p99" "$total")")
  without_sum="$(awk -v a="$without_sum" -v b="$rps" 'BEGIN { print a + b }')"
done
run "with-idempotency-hostile" "$connections" hostile
check_sales "with-idempotency-hostile"
rows+=("$(row "with keys, $idle idle + $slow slow open" "$rps" "$p50" "$p99" "$total")")
BENCH_KEY="$(printf '%08x-0000-4000-8000-%012x' "$(date +%s)" "$$")" run "retries" "$retriers" calm
if (( sales != 1 )); then
  echo "bench-server: retries: one sale retried, but the server recorded $sales sales" >&2
  exit 1
fi
retry_row="$(row "retries of 1 sale (-c$retriers)" "$rps" "$p50" "$p99" "$total")"

echo
echo "pos-server sales benchmark: $(nproc) cores, ${duration}s per run, wrk -t$threads -c$connections on 127.0.0.1, SQLite synchronous=${POS_SQLITE_SYNCHRONOUS:-full}"
row "" "sales/s" "p50" "p99" "sales"
printf '%s\n' "${rows[@]}"
echo "$retry_row   ($non2xx of them not 201)"
awk -v a="$with_sum" -v b="$without_sum" -v n="$rounds" 'BEGIN {
  printf "  mean sales/s: with keys %.0f, without %.0f\n", a / n, b / n
  printf "  ratio with/without: %.3f (idempotency layer overhead: %.1f%% of throughput)\n", a / b, (1 - a / b) * 100 }'
