#!/usr/bin/env bash
# Usage: scripts/with-test-server.sh COMMAND [ARGS...]
# Starts tests/support/test-server.mjs on 127.0.0.1:$TEST_SERVER_PORT (default
# 8787), waits until GET /healthz answers 200, runs COMMAND, and stops the
# server whatever happens. Exits with COMMAND's status.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

port=${TEST_SERVER_PORT:-8787}
export TEST_SERVER_PORT=$port
log=${TEST_SERVER_LOG:-target/test-server.log}
mkdir -p "$(dirname "$log")"

healthy() {
  # Plain bash HTTP/1.0 request: no curl needed.
  local status
  { exec 3<>"/dev/tcp/127.0.0.1/$port"; } 2>/dev/null || return 1
  printf 'GET /healthz HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' >&3
  read -r -t 2 _ status _ <&3 || status=
  exec 3<&- 3>&-
  [ "$status" = 200 ]
}

if healthy; then
  echo "with-test-server: 127.0.0.1:$port already answers /healthz: another test server is running." >&2
  echo "with-test-server: stop it, or pick another port with TEST_SERVER_PORT=... (and POS_TEST_SERVER)." >&2
  exit 1
fi

node tests/support/test-server.mjs >"$log" 2>&1 &
server_pid=$!
stop() {
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
}
trap stop EXIT
trap 'exit 130' INT TERM

ready=
for _ in $(seq 1 200); do   # at most ~20 s
  if ! kill -0 "$server_pid" 2>/dev/null; then
    echo "with-test-server: the test server exited early:" >&2
    cat "$log" >&2
    exit 1
  fi
  if healthy; then ready=1; break; fi
  sleep 0.1
done
[ -n "$ready" ] || { echo "with-test-server: no answer on 127.0.0.1:$port/healthz after 20 s" >&2; cat "$log" >&2; exit 1; }
echo "with-test-server: test server ready on http://127.0.0.1:$port (pid $server_pid, log $log)"

set +e
"$@"
rc=$?
set -e
exit "$rc"
