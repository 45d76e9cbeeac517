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
# Then the backends (BENCH_BACKENDS=0 skips them): the same sales, with keys
# and without, for BENCH_BACKEND_SECONDS (10) each, on SQLite (one instance),
# on PostgreSQL with one instance (wrk straight to it), and with two and four
# instances behind HAProxy (round robin, as `make cluster`), each on a fresh
# database of one throwaway PostgreSQL (postgres.sh; fsync and
# synchronous_commit on, the defaults). Every sale is of one business, so all
# take that business's sequence row for the month, and product 7's stock row;
# two more runs (2 instances, with keys) rotate the sales over the business's
# seven products (only the sequence row is shared by every sale), then over
# both businesses and their eleven products (two sequence rows).
# During each PostgreSQL run
# pg_stat_activity is sampled every 0.5 s (what the active sessions wait on)
# and the CPU time of PostgreSQL, the instances, HAProxy and wrk is measured.
#
# Env: BENCH_SECONDS (30), BENCH_ROUNDS (1: one run of each; more alternate
# them), BENCH_CONNECTIONS (16), BENCH_RETRIERS (200), BENCH_THREADS (1),
# BENCH_BIN (a pos-server binary to measure instead of building one),
# POS_SQLITE_SYNCHRONOUS (full; 'normal' trades power-loss durability for speed),
# BENCH_BACKENDS (1; 0 skips the backends, 'only' runs only them),
# BENCH_BACKEND_SECONDS (10), BENCH_BACKEND_ROUNDS (1: more run every
# configuration again, in turn, and print the median sales/s of each), BENCH_BACKEND_INSTANCES
# ("1 2 4": the PostgreSQL configurations).
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
source www-example/scripts/cluster-lib.sh
source www-example/scripts/postgres.sh
work="$(mktemp -d)"
pid=""
hostile_pid=""
sampler_pid=""
stop_hostile() {
  if [[ -n "$hostile_pid" ]]; then kill -TERM "$hostile_pid" 2>/dev/null || true; wait "$hostile_pid" 2>/dev/null || true; hostile_pid=""; fi
}
stop_sampler() {
  if [[ -n "$sampler_pid" ]]; then kill -TERM "$sampler_pid" 2>/dev/null || true; wait "$sampler_pid" 2>/dev/null || true; sampler_pid=""; fi
}
trap 'stop_hostile; stop_sampler; stop_server; balancer_stop; instances_stop; pg_stop; rm -rf "$work"' EXIT

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

# The SQLite figure (BENCH_BACKENDS=only skips it).
sqlite_figure() {
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
}
[[ "${BENCH_BACKENDS:-1}" == only ]] || sqlite_figure

[[ "${BENCH_BACKENDS:-1}" == 0 ]] && exit 0

# ---------------------------------------------------------------------------
# Backends: SQLite, PostgreSQL with 1 instance, 2 and 4 behind HAProxy.
# ---------------------------------------------------------------------------
bduration="${BENCH_BACKEND_SECONDS:-10}"
pg_instances="${BENCH_BACKEND_INSTANCES:-1 2 4}"
command -v haproxy >/dev/null || [[ -x /usr/sbin/haproxy ]] || { echo "bench-server: haproxy is needed for the backends (make tools)" >&2; exit 1; }
echo "bench-server: starting a throwaway PostgreSQL" >&2
chmod a+x "$work"   # the postgres user must reach $work/pgsrv (postgres.sh runs initdb as postgres when we are root)
pg_start "$work/pgsrv"
postmaster="$(head -n 1 "$PG_DATA/postmaster.pid")"
psql_() { "$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U postgres "$@"; }

# ticks PID…: CPU time (user + system, clock ticks) of these processes, threads included.
ticks() {
  local p sum=0 f
  for p in "$@"; do
    [[ "$p" =~ ^[0-9]+$ ]] || continue
    f="$(cat "/proc/$p/stat" 2>/dev/null)" || continue
    f="${f##*) }"   # fields from 3 on (the command name may hold spaces)
    sum=$(( sum + $(awk '{print $12 + $13}' <<<"$f") ))
  done
  echo "$sum"
}
pg_pids() { echo "$postmaster"; ps --ppid "$postmaster" -o pid= 2>/dev/null || true; }

# sample_waits DB OUT: every 0.5 s, one line per non-idle client session of
# DB: its state and wait event ("CPU" when active and waiting on nothing);
# and one line "row:TABLE" per session waiting on a lock, naming the table
# its statement writes (the table of the row it queues for).
sample_waits() {
  while :; do
    psql_ -d "$1" -c "WITH s AS (SELECT * FROM pg_stat_activity WHERE datname = current_database()
        AND backend_type = 'client backend' AND pid <> pg_backend_pid() AND state <> 'idle')
      SELECT CASE WHEN state = 'active' THEN coalesce(wait_event_type || ':' || wait_event, 'CPU') ELSE state END FROM s
      UNION ALL
      SELECT 'row:' || coalesce((regexp_match(query, '^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM|SELECT\s.*?\sFROM)\s+(\w+)', 'i'))[1], '?')
      FROM s WHERE wait_event_type = 'Lock'" >>"$2" 2>/dev/null || true
    sleep 0.5
  done
}

# run_backend LABEL INSTANCES KEYS: INSTANCES 0 is SQLite; 1 is PostgreSQL with
# wrk straight to the instance; more go through HAProxy. KEYS is keys or
# nokeys (--no-idempotency). Sets rps p50 p99 total non2xx errors sales cpu
# waits hotrows (BENCH_SALES, when set, goes to bench-sales.lua).
dbseq=0
run_backend() {
  local label="$1" n="$2" keys="$3" dir="$work/$1" target db="" flags=() before after pids t0 t1 x
  local tick; tick="$(getconf CLK_TCK)"
  [[ "$keys" == nokeys ]] && flags+=(--no-idempotency)
  mkdir -p "$dir"
  if (( n == 0 )); then
    start_server "$bin" "$dir" "${flags[@]}"
    target="$url"
    pids=("$pid")
  else
    dbseq=$((dbseq + 1)); db="bench$dbseq"
    "$PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db"
    instances_start "$dir" "$n" "$bin" --database "postgres://postgres@127.0.0.1:$PG_PORT/$db" \
      --demo --seed-stock 100000000 "${flags[@]}"
    pids=("${cluster_pids[@]}")
    if (( n == 1 )); then
      target="${cluster_urls[0]}"
    else
      balancer_start "$dir"
      target="$BALANCER_URL"
      pids+=("$balancer_pid")
    fi
    sample_waits "$db" "$dir/waits" &
    sampler_pid=$!
  fi
  echo "bench-server: $label: wrk -t$threads -c$connections -d${bduration}s POST $target/api/sales" >&2
  local pg_before=0 app_before hap_before=0 t_start t_end
  app_before="$(ticks "${cluster_pids[@]}" "${pid:-}")"
  [[ -n "$balancer_pid" ]] && hap_before="$(ticks "$balancer_pid")"
  (( n > 0 )) && pg_before="$(ticks $(pg_pids))"
  read -r t_start _ < /proc/uptime
  local busy_before; busy_before="$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat)"
  wrk -t"$threads" -c"$connections" -d"${bduration}s" --timeout 20s --latency -s www-example/scripts/bench-sales.lua "$target" >"$dir/wrk.txt" &
  local wrk_pid=$!
  local wrk_ticks=0 w
  # wrk's own CPU: read it just before it exits (it is our child until waited for).
  while kill -0 "$wrk_pid" 2>/dev/null; do w="$(ticks "$wrk_pid")"; [[ -n "$w" && "$w" != 0 ]] && wrk_ticks="$w"; sleep 0.2; done
  wait "$wrk_pid"
  read -r t_end _ < /proc/uptime
  local busy_after; busy_after="$(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8}' /proc/stat)"
  local app_after hap_after=0 pg_after=0
  app_after="$(ticks "${cluster_pids[@]}" "${pid:-}")"
  [[ -n "$balancer_pid" ]] && hap_after="$(ticks "$balancer_pid")"
  (( n > 0 )) && pg_after="$(ticks $(pg_pids))"
  stop_sampler
  sed 's/^/    /' "$dir/wrk.txt" >&2
  rps="$(awk '/^Requests\/sec:/ {print $2}' "$dir/wrk.txt")"
  p50="$(awk '$1 == "50%" {print $2}' "$dir/wrk.txt")"
  p99="$(awk '$1 == "99%" {print $2}' "$dir/wrk.txt")"
  total="$(awk '/requests in/ {print $1}' "$dir/wrk.txt")"
  non2xx="$(awk '/Non-2xx or 3xx responses:/ {print $5}' "$dir/wrk.txt")"; non2xx="${non2xx:-0}"
  errors="$(grep -c 'Socket errors' "$dir/wrk.txt" || true)"
  if (( n == 0 )); then
    sales="$(curl -fsS -H 'Authorization: Bearer demo-cashier-1' "$url/api/stats" | sed -E 's/.*"sales":([0-9]+).*/\1/')"
  else
    sales="$(psql_ -d "$db" -c "SELECT count(*) FROM sales")"
  fi
  # CPU, in cores over the run: PostgreSQL / the instances / HAProxy / wrk; and the whole machine busy.
  cpu="$(awk -v s="$t_start" -v e="$t_end" -v hz="$tick" -v pg="$((pg_after - pg_before))" -v app="$((app_after - app_before))" \
      -v hap="$((hap_after - hap_before))" -v wrk="$wrk_ticks" -v b0="$busy_before" -v b1="$busy_after" 'BEGIN {
    d = e - s; split(b0, x, " "); split(b1, y, " ")
    printf "%.2f / %.2f / %.2f / %.2f, machine %d%%", pg / hz / d, app / hz / d, hap / hz / d, wrk / hz / d, 100 * (y[1] - x[1]) / (y[2] - x[2]) }')"
  waits=""; hotrows=""
  if [[ -s "$dir/waits" ]]; then
    grep -v '^row:' "$dir/waits" >"$dir/states" || true
    waits="$(sort "$dir/states" | uniq -c | sort -rn | head -n 3 | awk -v n="$(wc -l <"$dir/states")" '{ c = $1; $1 = ""; sub(/^ /, ""); printf "%s%s %d%%", (NR > 1 ? ", " : ""), $0, 100 * c / n }')"
    # Sessions waiting for a row lock, by the table their statement writes.
    hotrows="$(grep '^row:' "$dir/waits" | sort | uniq -c | sort -rn | awk '{ sub(/^row:/, "", $2); printf "%s%s %d", (NR > 1 ? ", " : ""), $2, $1 }')"
  fi
  stop_server
  balancer_stop
  instances_stop
  if [[ -n "$db" ]]; then "$PG_BIN/dropdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres "$db"; fi
}

brows=()
brow() { printf '  %-50s %8s %9s %9s %7s  %-43s  %-52s %s\n' "$@"; }
declare -A rates=()
# measure NAME LABEL INSTANCES KEYS: one run, its row, and its rate kept for the medians.
measure() {
  local name="$1" label="$2"; shift 2
  run_backend "$label" "$@"
  check_sales "$label"
  brows+=("$(brow "$name" "$rps" "$p50" "$p99" "$total" "$cpu" "$waits" "$hotrows")")
  rates["$name"]+="$rps "
}
order=()
one="$(for p in 1 2 3 4 5 6 7; do printf 'demo-cashier-1:%s ' "$p"; done)"
# Both businesses in turn: business 1's seven products, business 2's four.
two="$(for p in 1 2 3 4 5 6 7; do printf 'demo-cashier-1:%s demo-cashier-3:%s ' "$p" "$(( 8 + (p - 1) % 4 ))"; done)"
# BENCH_BACKEND_ROUNDS (1) rounds, each running every configuration in turn, so
# that other load on the machine falls on all of them alike.
for round in $(seq 1 "${BENCH_BACKEND_ROUNDS:-1}"); do
  for n in 0 $pg_instances; do
    case "$n" in
      0) name="SQLite, 1 instance" ;;
      1) name="PostgreSQL, 1 instance" ;;
      *) name="PostgreSQL, $n behind HAProxy" ;;
    esac
    for keys in keys nokeys; do
      full="$name, $([[ $keys == keys ]] && echo "with keys" || echo "without")"
      (( round == 1 )) && order+=("$full")
      measure "$full" "backend-$n-$keys-$round" "$n" "$keys"
    done
  done
  if [[ " $pg_instances " == *" 2 "* ]]; then
    (( round == 1 )) && order+=("PostgreSQL, 2 behind HAProxy, keys, 7 products" "PostgreSQL, 2 behind HAProxy, keys, 2 businesses")
    BENCH_SALES="$one" measure "PostgreSQL, 2 behind HAProxy, keys, 7 products" "backend-2-keys-7-products-$round" 2 keys
    BENCH_SALES="$two" measure "PostgreSQL, 2 behind HAProxy, keys, 2 businesses" "backend-2-keys-2-businesses-$round" 2 keys
  fi
done

echo
echo "pos-server backends: $(nproc) cores, ${bduration}s per run, wrk -t$threads -c$connections on 127.0.0.1, one business;"
echo "SQLite synchronous=${POS_SQLITE_SYNCHRONOUS:-full}; PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') defaults (fsync, synchronous_commit on)"
brow "" "sales/s" "p50" "p99" "sales" "CPU cores: PG / pos-server / HAProxy / wrk" "PG sessions (0.5 s samples): top states/waits" "lock waits sampled, by table written"
printf '%s\n' "${brows[@]}"
if (( ${BENCH_BACKEND_ROUNDS:-1} > 1 )); then
  echo
  echo "sales/s over ${BENCH_BACKEND_ROUNDS} rounds: median (min–max)"
  for name in "${order[@]}"; do
    printf '  %-50s %s\n' "$name" "$(tr ' ' '\n' <<<"${rates[$name]}" | grep . | sort -g | awk '{ v[NR] = $1 } END {
      m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
      printf "%.0f (%.0f–%.0f)", m, v[1], v[NR] }')"
  done
fi
