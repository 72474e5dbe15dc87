# Shared by the benchmark scripts (sourced, from the project root): a work directory and the
# processes to stop on exit, the binary under test, free ports, wrk's latency units, nginx, the
# ports Switchboard logs when it binds, its readiness and metrics, and wrk against the signed
# status callbacks.

work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# switchboard_bin: sets bin to $SWITCHBOARD_BIN when given (built elsewhere, or earlier: no
# configure or build here), else builds the release preset's switchboard.
switchboard_bin() {
  if [[ -n "${SWITCHBOARD_BIN:-}" ]]; then
    bin=$SWITCHBOARD_BIN
    # Switchboard refuses SWITCHBOARD_* variables it does not know: keep this one out of its environment.
    unset SWITCHBOARD_BIN
  else
    cmake --preset release >/dev/null
    cmake --build --preset release --target switchboard >/dev/null
    bin=build/release/service/switchboard
  fi
  [[ -x "$bin" ]] || { echo "no executable switchboard at $bin" >&2; exit 1; }
}

# twilio_package: the official helper that signs the benchmark's requests, from tests/ (npm ci
# there when a fresh clone has not installed it yet).
twilio_package() {
  [[ -d tests/node_modules/twilio ]] || (cd tests && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# wrk prints 123.45us / 1.23ms / 1.02s: milliseconds.
to_ms() {
  awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'
}

# nginx_config PORT WORKERS RESPONSE [TLS_PORT CERT KEY]: writes $work/nginx/nginx.conf, answering
# every request with RESPONSE (e.g. 'return 200 "ok";'), keep-alive, no access log; with TLS_PORT
# also over TLS there with that certificate (the same one the Switchboard under test serves).
nginx_config() {
  mkdir -p "$work/nginx"
  local tls=""
  if [[ -n "${4:-}" ]]; then
    tls="server { listen 127.0.0.1:$4 ssl; ssl_certificate $5; ssl_certificate_key $6; location / { $3 } }"
  fi
  cat >"$work/nginx/nginx.conf" <<CONF
worker_processes $2;
daemon off;
pid ${work}/nginx/nginx.pid;
error_log ${work}/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${work}/nginx;
  client_body_buffer_size 64k;
  server {
    listen 127.0.0.1:$1;
    location / { $3 }
  }
  $tls
}
CONF
}

# start_nginx: runs the configured nginx in the background; sets nginx_pid.
start_nginx() {
  nginx -c "$work/nginx/nginx.conf" -p "$work/nginx" &
  nginx_pid=$!
  pids+=($nginx_pid)
  sleep 0.3
}

# wait_for_ports LOG: waits for Switchboard's "listening" lines; sets sb_port and admin_port.
wait_for_ports() {
  sb_port="" admin_port=""
  for _ in $(seq 200); do
    sb_port=$(grep -o '"listener":"public","address":"127.0.0.1","port":[0-9]*' "$1" 2>/dev/null | grep -o '[0-9]*$' || true)
    admin_port=$(grep -o '"listener":"admin","address":"127.0.0.1","port":[0-9]*' "$1" 2>/dev/null | grep -o '[0-9]*$' || true)
    [[ -n "$sb_port" && -n "$admin_port" ]] && return 0
    sleep 0.05
  done
  echo "switchboard did not start" >&2
  cat "$1" >&2
  exit 1
}

# wait_ready ADMIN_PORT LOG: /readyz answers 200 once the store takes writes (Redis connected).
wait_ready() {
  for _ in $(seq 200); do
    [[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$1/readyz")" == 200 ]] && return 0
    sleep 0.05
  done
  echo "switchboard did not become ready" >&2
  cat "$2" >&2
  exit 1
}

metric_at() { # metric_at ADMIN_PORT NAME_WITH_LABELS -> value (0 when absent)
  curl -s "http://127.0.0.1:$1/metrics" | awk -v k="$2" '$1==k {v=$2} END {printf "%d", v+0}'
}

# wrk_one PORT SECONDS RUN_ID CONNECTIONS BODIES [SCRIPT] -> "rps p50 p99 non2xx requests": one
# wrk -t1 sending the signed status callbacks of BODIES ("signature<TAB>body" lines) with SCRIPT
# (bench/wrk/status.lua unless given).
wrk_one() {
  local out
  out=$(SB_STATUS_FILE=$5 SB_RUN_ID=$3 wrk -t1 -c"$4" -d"$2s" --latency -s "${6:-bench/wrk/status.lua}" "http://127.0.0.1:$1")
  echo "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") $(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")") $(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")") $(awk '/Non-2xx/ {print $NF}' <<<"$out" | grep . || echo 0) $(awk '/requests in/ {print $1}' <<<"$out")"
}
