#!/usr/bin/env bash
# `make demo`: builds pos-server (release, once: scripts/lib.sh) and serves the demo page, the built
# package (pkg/) and the API on http://127.0.0.1:$PORT until Ctrl-C.
# The Makefile builds pkg/ before calling this. Run from anywhere.
#
# Environment: PORT (default 8080), POS_DB (default pos.db in the repository
# root; a new file is created and seeded with the demo data: --demo). Extra
# arguments go to pos-server.
set -euo pipefail
source "$(dirname "$0")/../../scripts/lib.sh"

PORT="${PORT:-8080}"
export PORT
export POS_DB="${POS_DB:-pos.db}"

if [[ ! -f pkg/index.js ]]; then
  echo "demo: pkg/ is not built; 'make demo' builds it (or run 'make pkg' first)" >&2
  exit 1
fi
command -v curl >/dev/null || { echo "demo: curl is needed to wait for the server (apt-get install curl)" >&2; exit 1; }

build_pos_server

# --chaos with every rate at 0: nothing is injected until a visitor moves the
# page's chaos sliders (PUT /api/chaos).
"$POS_SERVER_BIN" --demo --www www-example --pkg pkg --chaos \
  --chaos-error503-rate 0 --chaos-drop-before-rate 0 --chaos-drop-after-commit-rate 0 --chaos-latency-rate 0 \
  --chaos-latency-ms 12000 "$@" &
pid=$!
stop() { kill -TERM "$pid" 2>/dev/null || true; }
trap stop INT TERM

url="http://127.0.0.1:${PORT}"
for _ in $(seq 1 300); do
  if curl -fsS "$url/healthz" >/dev/null 2>&1; then break; fi
  if ! kill -0 "$pid" 2>/dev/null; then wait "$pid" || true; echo "demo: pos-server exited; see the messages above" >&2; exit 1; fi
  sleep 0.1
done
curl -fsS "$url/healthz" >/dev/null || { stop; echo "demo: the server did not become healthy" >&2; exit 1; }

cat <<BANNER

  ┌──────────────────────────────────────────────────────────────┐
    pos-resilience demo till:   $url/
    database:                   $POS_DB

    demo cashier tokens (Authorization: Bearer <token>):
      demo-cashier-1   Ana,   Corner Shop   (business 1)
      demo-cashier-2   Ben,   Corner Shop   (business 1)
      demo-cashier-3   Chloé, Harbour Café  (business 2)

    chaos controls are on the page (GET/PUT $url/api/chaos)
    Ctrl-C stops the server.
  └──────────────────────────────────────────────────────────────┘

BANNER

# `wait` returns early when the trap runs; wait again for the real exit.
status=0
wait "$pid" || status=$?
if kill -0 "$pid" 2>/dev/null; then wait "$pid" || status=$?; fi
# 143 = ended by our SIGTERM after Ctrl-C: a clean stop.
if [[ $status -eq 0 || $status -eq 130 || $status -eq 143 ]]; then
  echo "demo: stopped"
  exit 0
fi
exit "$status"
