#!/usr/bin/env bash
# Bytes a sale costs in pos-server's SQLite file: starts the server (BIN,
# default the release build, built first) on a fresh database, makes STORAGE_SALES (1000)
# sales, each with its own Idempotency-Key, stops it, and sums SQLite's
# `dbstat` pages per table and index. Prints bytes per sale row (sales,
# sale_items, payments and their indexes) and per stored key
# (idempotency_keys and its index), as whole pages and as payload.
# Usage: www-example/scripts/storage-per-sale.sh [BIN]
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"
if [[ -n "${1:-}" ]]; then bin="$1"; else build_pos_server; bin="$POS_SERVER_BIN"; fi
n="${STORAGE_SALES:-1000}"
[[ -x "$bin" ]] || die "$bin is not an executable"
command -v sqlite3 >/dev/null || { echo "storage-per-sale: sqlite3 is needed" >&2; exit 1; }
command -v curl >/dev/null || { echo "storage-per-sale: curl is needed" >&2; exit 1; }

source www-example/scripts/server-lib.sh
work="$(mktemp -d)"
pid=""
trap 'stop_server; rm -rf "$work"' EXIT
start_server "$bin" "$work"
for i in $(seq 1 "$n"); do
  curl -fsS -o /dev/null -X POST "$url/api/sales" \
    -H 'Authorization: Bearer demo-cashier-1' -H 'Content-Type: application/json' \
    -H "Idempotency-Key: $(printf '00000000-0000-4000-8000-%012x' "$i")" \
    -d '{"locationId":"till-1","items":[{"productId":7,"quantity":1}]}'
done
stop_server

sqlite3 "$work/pos.db" <<SQL
.mode list
.separator ' '
WITH t AS (
  SELECT CASE
           WHEN name IN ('idempotency_keys') OR tbl_name = 'idempotency_keys' THEN 'key'
           WHEN tbl_name IN ('sales', 'sale_items', 'payments') THEN 'sale'
         END AS what, SUM(pgsize) AS bytes, SUM(payload) AS payload
  FROM dbstat JOIN sqlite_schema USING (name) GROUP BY what)
SELECT printf('%-28s %6d bytes in pages, %6d bytes of payload', 'per sale row ($n sales):', bytes / $n, payload / $n) FROM t WHERE what = 'sale'
UNION ALL
SELECT printf('%-28s %6d bytes in pages, %6d bytes of payload', 'per stored key:', bytes / $n, payload / $n) FROM t WHERE what = 'key';
SQL
