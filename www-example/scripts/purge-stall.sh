#!/usr/bin/env bash
# How a purge of many expired idempotency keys affects sales: creates a
# database with BIN (default the release build, built first), adds PURGE_KEYS (200000)
# stored responses (300-byte bodies) that expire 4 s after the server starts,
# starts BIN with --purge-interval 1s and makes sales one after another until
# the purge is over and 2 s more. Prints the sales' latency (p50, max), how long
# the purge took, and the database and WAL file sizes once it is over.
# Usage: www-example/scripts/purge-stall.sh [BIN [pos-server flags…]]
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
if [[ -n "${1:-}" ]]; then bin="$1"; else build_pos_server; bin="$POS_SERVER_BIN"; fi
shift || true
n="${PURGE_KEYS:-200000}"
[[ -x "$bin" ]] || die "$bin is not an executable"
for tool in sqlite3 curl; do command -v "$tool" >/dev/null || { echo "purge-stall: $tool is needed" >&2; exit 1; }; done

source www-example/scripts/server-lib.sh
work="$(mktemp -d)"
pid=""
trap 'stop_server; rm -rf "$work"' EXIT
stored() { curl -fsS -H 'Authorization: Bearer demo-cashier-1' "$url/api/stats" | sed -E 's/.*"storedKeys":([0-9]+).*/\1/'; }

start_server "$bin" "$work"; stop_server
expires=$(( ($(date +%s) + 4) * 1000 ))
sqlite3 "$work/pos.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $n)
  INSERT INTO idempotency_keys (business_id, cashier_id, key, fingerprint, status, content_type, body, created_at_ms, expires_at_ms)
  SELECT 1, 1, printf('%08x-0000-4000-8000-%012x', i, i), randomblob(32), 201, 'application/json', randomblob(300), 0, $expires FROM n;"
start_server "$bin" "$work" --key-ttl 1s --purge-interval 1s "$@"

latencies="$work/latencies"
purge_start="" purge_end="" after_end=""
i=0
while :; do
  i=$((i + 1))
  curl -fsS -o /dev/null -w '%{time_total}\n' -X POST "$url/api/sales" \
    -H 'Authorization: Bearer demo-cashier-1' -H 'Content-Type: application/json' \
    -H "Idempotency-Key: $(printf 'ffffffff-0000-4000-8000-%012x' "$i")" \
    -d '{"locationId":"till-1","items":[{"productId":7,"quantity":1}]}' >>"$latencies"
  now=$(date +%s%N)
  if [[ -z "$purge_start" && $((now / 1000000)) -ge $expires ]]; then purge_start=$now; fi
  if [[ -n "$purge_start" && -z "$purge_end" && $((i % 10)) == 0 && "$(stored)" -lt 100 ]]; then purge_end=$now; fi
  if [[ -n "$purge_end" && $(( (now - purge_end) / 1000000000 )) -ge 2 ]]; then break; fi
  if (( i > 100000 )); then echo "purge-stall: the purge never finished" >&2; exit 1; fi
done
size() { stat -c %s "$1" 2>/dev/null || echo 0; }
db_mb=$(awk -v b="$(size "$work/pos.db")" 'BEGIN { printf "%.1f", b / 1048576 }')
wal_mb=$(awk -v b="$(size "$work/pos.db-wal")" 'BEGIN { printf "%.1f", b / 1048576 }')
free_pages=$(sqlite3 "$work/pos.db" 'PRAGMA freelist_count')
sort -n "$latencies" | awk -v n="$n" -v s="$(( (purge_end - purge_start) / 1000000 ))" -v db="$db_mb" -v wal="$wal_mb" -v free="$free_pages" '
  { t[NR] = $1 * 1000 }
  END { printf "purge of %d expired keys (about %d ms): %d sales, latency p50 %.1f ms, p99 %.1f ms, max %.1f ms; after it: database %s MB, WAL %s MB, %d free pages\n",
        n, s, NR, t[int(NR * 0.5) + 1], t[int(NR * 0.99) + 1], t[NR], db, wal, free }'
