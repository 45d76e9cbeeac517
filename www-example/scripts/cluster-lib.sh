# Sourced by cluster.sh and bench-server.sh: pos-server instances behind HAProxy.
#
#   instances_start DIR N BIN [flags…]  starts N instances of BIN (PORT=0, on
#       127.0.0.1) one after the other, each waited for until GET /readyz
#       answers 200 (the first creates the schema and, with --demo, seeds the
#       demo data before the next starts); logs in DIR/posI.log (RUST_LOG from
#       the caller, default warn; CLUSTER_LOG_TTY=1 also copies them to stderr,
#       each line prefixed with [posI]). Sets cluster_pids, cluster_urls,
#       cluster_addrs (host:port).
#   balancer_start DIR [--chaos-fanout]  HAProxy (haproxy-config.sh) in front of
#       cluster_addrs on a free port (CLUSTER_PORT if set and not 0), waited for
#       until its statistics show every instance's health check passed and its
#       own GET /readyz answers; sets balancer_pid, BALANCER_URL,
#       BALANCER_STATS_URL. With --chaos-fanout, /api/chaos goes to every
#       instance (chaos-fanout.lua).
#   balancer_stop, instances_stop       SIGTERM, and wait for the exit.
#   free_port                           prints a TCP port free on 127.0.0.1 now.

cluster_lib_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cluster_pids=()
cluster_urls=()
cluster_addrs=()
balancer_pid=""

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

haproxy_bin() {
  if command -v haproxy >/dev/null; then command -v haproxy
  elif [[ -x /usr/sbin/haproxy ]]; then echo /usr/sbin/haproxy
  else echo "cluster: haproxy is not installed (make tools installs it: apt-get install haproxy)" >&2; return 1
  fi
}

# wait_ready URL PID LABEL: up to 60 s for GET URL/readyz to answer 200 while PID lives.
wait_ready() {
  local url="$1" pid="$2" label="$3" i
  for i in $(seq 1 600); do
    if curl -fsS -o /dev/null --max-time 2 "$url/readyz" 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "cluster: $label exited before it was ready" >&2; return 1; fi
    sleep 0.1
  done
  echo "cluster: $label did not answer $url/readyz with 200 within 60 s" >&2
  return 1
}

# instance_start NAME DIR BIN [flags…]
instance_start() {
  local name="$1" dir="$2" bin="$3" line url="" pid; shift 3
  local log="$dir/$name.log" out="$dir/$name.out"
  rm -f "$out"; mkfifo "$out"
  if [[ "${CLUSTER_LOG_TTY:-0}" == 1 ]]; then
    PORT=0 RUST_LOG="${RUST_LOG:-warn}" "$bin" "$@" >"$out" 2> >(tee -a "$log" | sed -u "s/^/[$name] /" >&2) &
  else
    PORT=0 RUST_LOG="${RUST_LOG:-warn}" "$bin" "$@" >"$out" 2>>"$log" &
  fi
  pid=$!
  cluster_pids+=("$pid")
  exec 3<"$out"
  if read -r -t 60 line <&3; then url="${line#pos-server listening on }"; fi
  if [[ "$url" != http://127.0.0.1:* ]]; then
    exec 3<&-
    echo "cluster: $name did not start:" >&2; cat "$log" >&2 2>/dev/null || true
    return 1
  fi
  cat <&3 >/dev/null &
  exec 3<&-
  wait_ready "$url" "$pid" "$name" || { cat "$log" >&2 2>/dev/null || true; return 1; }
  cluster_urls+=("$url")
  cluster_addrs+=("${url#http://}")
}

# instances_start DIR N BIN [flags…]
instances_start() {
  local dir="$1" n="$2" bin="$3" i; shift 3
  for i in $(seq 1 "$n"); do
    instance_start "pos$i" "$dir" "$bin" "$@" || return 1
  done
}

instances_stop() {
  local pid
  for pid in "${cluster_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${cluster_pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  cluster_pids=(); cluster_urls=(); cluster_addrs=()
}

# balancer_up STATS_URL N: whether the statistics show N servers of backend
# pos UP with a passed layer-7 check.
balancer_up() {
  local csv
  csv="$(curl -fsS --max-time 2 "$1/;csv" 2>/dev/null)" || return 1
  # Field 1 pxname, 2 svname, 18 status, 37 check_status.
  [[ "$(awk -F, '$1 == "pos" && $2 != "BACKEND" && $2 != "FRONTEND" && $18 == "UP" && $37 == "L7OK"' <<<"$csv" | wc -l)" -eq "$2" ]]
}

# balancer_start DIR [--chaos-fanout]
balancer_start() {
  local dir="$1" fanout=() hap attempt port stats i
  [[ "${2:-}" == --chaos-fanout ]] && fanout=(--chaos-fanout "$cluster_lib_dir/chaos-fanout.lua")
  hap="$(haproxy_bin)" || return 1
  for attempt in 1 2 3; do
    port="${CLUSTER_PORT:-0}"
    [[ "$port" == 0 ]] && port="$(free_port)"
    stats="$(free_port)"
    "$cluster_lib_dir/haproxy-config.sh" "${fanout[@]}" "$port" "$stats" "${cluster_addrs[@]}" >"$dir/haproxy.cfg"
    "$hap" -db -f "$dir/haproxy.cfg" >>"$dir/haproxy.log" 2>&1 &
    balancer_pid=$!
    BALANCER_URL="http://127.0.0.1:$port"
    BALANCER_STATS_URL="http://127.0.0.1:$stats"
    for i in $(seq 1 300); do
      if ! kill -0 "$balancer_pid" 2>/dev/null; then break; fi
      if balancer_up "$BALANCER_STATS_URL" "${#cluster_addrs[@]}" \
         && curl -fsS -o /dev/null --max-time 2 "$BALANCER_URL/readyz" 2>/dev/null; then
        return 0
      fi
      sleep 0.1
    done
    if kill -0 "$balancer_pid" 2>/dev/null; then
      echo "cluster: HAProxy did not see every instance healthy within 30 s:" >&2
      curl -fsS "$BALANCER_STATS_URL/;csv" >&2 || true
      return 1
    fi
    wait "$balancer_pid" 2>/dev/null || true
    balancer_pid=""
    # A fixed port that is taken is not retried; a free port taken meanwhile is.
    if [[ "${CLUSTER_PORT:-0}" != 0 ]] || ! grep -q "cannot bind" "$dir/haproxy.log"; then break; fi
  done
  echo "cluster: HAProxy did not start:" >&2
  cat "$dir/haproxy.log" >&2
  return 1
}

balancer_stop() {
  if [[ -n "$balancer_pid" ]]; then
    kill -TERM "$balancer_pid" 2>/dev/null || true
    wait "$balancer_pid" 2>/dev/null || true
    balancer_pid=""
  fi
}
