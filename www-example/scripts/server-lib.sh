# Sourced (after scripts/lib.sh) by test-demo.sh and the measurement scripts: starts and stops one pos-server.
# start_server BIN DIR [flags…]: starts BIN on DIR/pos.db (PORT=0, RUST_LOG=warn,
# --demo with ample stock, stderr appended to DIR/server.log) and waits for its address;
# sets pid and url. stop_server: SIGTERM, and waits for it to exit.
start_server() {
  local bin="$1" dir="$2" line; shift 2
  rm -f "$dir/out"; mkfifo "$dir/out"
  PORT=0 POS_DB="$dir/pos.db" RUST_LOG=warn "$bin" --demo --seed-stock 100000000 "$@" >"$dir/out" 2>>"$dir/server.log" &
  pid=$!
  exec 3<"$dir/out"
  url=""
  if read -r -t 60 line <&3; then url="${line#pos-server listening on }"; fi
  [[ "$url" == http://127.0.0.1:* ]] || { echo "$(basename "$0"): the server did not start:" >&2; cat "$dir/server.log" >&2; exit 1; }
  cat <&3 >/dev/null &
  exec 3<&-
}

stop_server() {
  if [[ -n "${pid:-}" ]]; then kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; fi
}
