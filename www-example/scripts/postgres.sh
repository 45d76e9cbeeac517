# Sourced by scripts and tests that need a throwaway PostgreSQL server.
#
# pg_start DIR: initdb's a new cluster in DIR/pg (owned by the postgres user when
# running as root, since PostgreSQL refuses to run as root; DIR is made traversable
# for it), starts it with pg_ctl on a free port of 127.0.0.1 (Unix socket in
# DIR/pg-sock, fsync on, default settings otherwise), creates the database `pos`,
# and exports PG_URL=postgres://postgres@127.0.0.1:PORT/pos, PG_PORT and PG_BIN.
# Authentication is trust on the loopback: the cluster lives only as long as the caller.
# pg_stop: stops that server (fast shutdown) and waits; callers `trap pg_stop EXIT`.
# No system service is used or touched.

pg__as_owner() {
  if [[ $(id -u) -eq 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# A port the kernel reports free on 127.0.0.1 (a random high one without
# python3); pg_start tries another if the server cannot bind it.
pg__free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null \
    || echo $((20000 + RANDOM % 30000))
}

pg_start() {
  local dir bin attempt port
  mkdir -p "$1"
  dir=$(cd "$1" && pwd)   # postgres resolves -k against its data directory
  bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
  if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
    echo "postgres.sh: no PostgreSQL server binaries under /usr/lib/postgresql/*/bin (apt-get install postgresql)" >&2
    return 1
  fi
  export PG_BIN="$bin"
  PG_PORT=""
  PG_DATA="$dir/pg"
  PG_SOCK="$dir/pg-sock"
  mkdir -p "$PG_DATA" "$PG_SOCK"
  if [[ $(id -u) -eq 0 ]]; then
    chmod a+x "$dir"
    chown postgres: "$PG_DATA" "$PG_SOCK"
  fi
  chmod 700 "$PG_DATA"
  pg__as_owner "$bin/initdb" -D "$PG_DATA" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/pg-initdb.log" 2>&1 || {
    echo "postgres.sh: initdb failed:" >&2; cat "$dir/pg-initdb.log" >&2; return 1; }
  for attempt in 1 2 3 4 5; do
    port=$(pg__free_port)
    if pg__as_owner "$bin/pg_ctl" -D "$PG_DATA" -l "$PG_SOCK/server.log" -w -t 60 \
        -o "-k $PG_SOCK -c listen_addresses=127.0.0.1 -p $port" start >/dev/null; then
      PG_PORT="$port"
      break
    fi
  done
  if [[ -z "${PG_PORT:-}" ]]; then
    echo "postgres.sh: pg_ctl start failed:" >&2; cat "$PG_SOCK/server.log" >&2; return 1
  fi
  export PG_PORT
  "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres pos || { pg_stop; return 1; }
  export PG_URL="postgres://postgres@127.0.0.1:$PG_PORT/pos"
}

pg_stop() {
  if [[ -n "${PG_DATA:-}" && -f "$PG_DATA/postmaster.pid" ]]; then
    pg__as_owner "$PG_BIN/pg_ctl" -D "$PG_DATA" -m fast -w -t 60 stop >/dev/null 2>&1 || true
  fi
}
