#!/usr/bin/env bash
# HTTP benchmark: Switchboard's signed webhooks against ceilings measured in the same run on the
# same machine, alternating, with the same wrk settings:
#   signed incoming call          against nginx `return 200`
#   signed Gather result          against nginx `return 200`
#   signed incoming call over TLS against nginx over TLS (same certificate, keep-alive)
#   signed incoming call          against Express 5 + the twilio helper (bench/express)
# Prints req/s, p50/p99 and the ratios, then p50/p99 of the three Switchboard paths at half
# their maximum rate, memory per idle keep-alive connection, start-up time, allocations per
# request (heaptrack), and the micro-benchmarks of protocol/.
#   bench/run.sh [--duration SECONDS] [--rounds N] [--connections N] [--threads N]
#   SWITCHBOARD_BIN=/path/to/switchboard bench/run.sh ...   # that binary, no cmake build (A/B)
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10
rounds=3
connections=64
threads=1
while (($#)); do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

deploy/install-deps.sh --with-bench-tools
# shellcheck source=bench/lib.sh
source bench/lib.sh
switchboard_bin
cmake --preset release >/dev/null
cmake --build --preset release --target protocol_bench >/dev/null
(cd bench/express && npm ci --no-audit --no-fund --loglevel=error >/dev/null)

token=bench-token-0123456789abcdef
# One certificate for Switchboard's TLS listener and nginx's: the same handshake and record cost.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=127.0.0.1 \
  -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null

# nginx: one worker (as Switchboard gets one I/O thread), keep-alive, no disk logging; plain and TLS.
nginx_port=$(free_port)
nginx_tls_port=$(free_port)
nginx_config "$nginx_port" "$threads" 'return 200 "ok";' "$nginx_tls_port" "$work/cert.pem" "$work/key.pem"
start_nginx

# Switchboard: one I/O thread, no rate limit (Twilio traffic is never throttled anyway), logs
# written as in production but to /dev/null; no cap on connections per client address, since one
# address (wrk's) stands in for Twilio's many. The same settings serve the start-up and the
# allocation runs below.
sb_env=(TWILIO_AUTH_TOKEN=$token SWITCHBOARD_THREADS=$threads SWITCHBOARD_RATE_LIMIT_PER_MINUTE=0
        SWITCHBOARD_LISTEN=127.0.0.1:0 SWITCHBOARD_ADMIN_LISTEN=127.0.0.1:0 SWITCHBOARD_MAX_CONNECTIONS_PER_CLIENT=0)
# start_switchboard NAME [VAR=VALUE...]: sets port and pid (logs in $work/NAME.log).
start_switchboard() {
  local name=$1
  shift
  mkdir -p "$work/$name"
  env "${sb_env[@]}" SWITCHBOARD_DATA_DIR="$work/$name" "$@" "$bin" >"$work/$name.log" 2>&1 &
  pid=$!
  pids+=($pid)
  wait_for_ports "$work/$name.log"
  port=$sb_port
}
start_switchboard tls SWITCHBOARD_TLS_CERT="$work/cert.pem" SWITCHBOARD_TLS_KEY="$work/key.pem"
tls_port=$port
start_switchboard plain
sb_pid=$pid # (and sb_port, admin_port: wait_for_ports sets them)

# The Express peer: what users write instead (one Node.js process, as one I/O thread here).
TWILIO_AUTH_TOKEN=$token PORT=0 node bench/express/server.js >"$work/express.log" 2>&1 &
pids+=($!)
express_port=""
for _ in $(seq 100); do
  express_port=$(grep -o '^listening [0-9]*' "$work/express.log" 2>/dev/null | grep -o '[0-9]*$' || true)
  [[ -n "$express_port" ]] && break
  sleep 0.05
done
[[ -n "$express_port" ]] || { echo "the Express peer did not start" >&2; cat "$work/express.log" >&2; exit 1; }
sleep 0.2

call=(AccountSid=ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ApiVersion=2010-04-01 CallSid=CA0123456789abcdef0123456789abcdef
      CallStatus=in-progress Called=+18005550100 Caller=+14155551212 Direction=inbound From=+14155551212
      FromCity=SAN\ FRANCISCO FromCountry=US FromState=CA FromZip=94105 To=+18005550100 ToCountry=US)
ringing=("${call[@]/CallStatus=in-progress/CallStatus=ringing}")
form() { local out="" kv; for kv in "$@"; do out+="${out:+&}$(node -e 'const [k,...v]=process.argv[1].split("=");process.stdout.write(encodeURIComponent(k)+"="+encodeURIComponent(v.join("=")))' "$kv")"; done; echo "$out"; }
sign() { "$bin" sign --token "$token" --url "$1" "${@:2}"; }
export SB_MENU_BODY SB_MENU_SIGNATURE SB_INCOMING_BODY SB_INCOMING_SIGNATURE
SB_MENU_BODY=$(form "${call[@]}" Digits=1 FinishedOnKey= msg=Gather\ End)
SB_MENU_SIGNATURE=$(sign "http://127.0.0.1:${sb_port}/api/voice/menu" "${call[@]}" Digits=1 FinishedOnKey= msg=Gather\ End)
SB_INCOMING_BODY=$(form "${ringing[@]}")
incoming_signature=$(sign "http://127.0.0.1:${sb_port}/api/voice/incoming" "${ringing[@]}")
tls_signature=$(sign "https://127.0.0.1:${tls_port}/api/voice/incoming" "${ringing[@]}")
express_signature=$(sign "http://127.0.0.1:${express_port}/api/voice/incoming" "${ringing[@]}")

# Sanity: every signed request really is answered 200 with TwiML (a 403 benchmark is worthless).
check() { # check NAME URL SIGNATURE BODY
  local code
  code=$(curl -sk -o "$work/check.xml" -w '%{http_code}' -H "X-Twilio-Signature: $3" \
    -H 'Content-Type: application/x-www-form-urlencoded' --data "$4" "$2" || true)
  [[ "$code" == 200 ]] && grep -q '<Gather\|<Say' "$work/check.xml" \
    || { echo "$1: answered $code" >&2; cat "$work/check.xml" >&2; exit 1; }
}
check menu "http://127.0.0.1:${sb_port}/api/voice/menu" "$SB_MENU_SIGNATURE" "$SB_MENU_BODY"
check incoming "http://127.0.0.1:${sb_port}/api/voice/incoming" "$incoming_signature" "$SB_INCOMING_BODY"
check tls "https://127.0.0.1:${tls_port}/api/voice/incoming" "$tls_signature" "$SB_INCOMING_BODY"
check express "http://127.0.0.1:${express_port}/api/voice/incoming" "$express_signature" "$SB_INCOMING_BODY"

targets=(nginx incoming menu nginx_tls tls express)
# target_run TARGET CONNECTIONS [DELAY_MS] -> "rps p50 p99 errors"
target_run() {
  local script url signature=$incoming_signature
  case $1 in
    nginx) script=ceiling.lua url=http://127.0.0.1:$nginx_port ;;
    nginx_tls) script=ceiling.lua url=https://127.0.0.1:$nginx_tls_port ;;
    incoming) script=incoming.lua url=http://127.0.0.1:$sb_port ;;
    menu) script=menu.lua url=http://127.0.0.1:$sb_port ;;
    tls) script=incoming.lua url=https://127.0.0.1:$tls_port signature=$tls_signature ;;
    express) script=incoming.lua url=http://127.0.0.1:$express_port signature=$express_signature ;;
  esac
  local out
  out=$(SB_INCOMING_SIGNATURE=$signature SB_DELAY_MS=${3:-0} wrk -t1 -c"$2" -d"${duration}s" --latency -s "bench/wrk/$script" "$url")
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  echo "$rps $p50 $p99 ${non2xx:-0}"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A rps p50 p99
for target in "${targets[@]}"; do rps[$target]=""; p50[$target]=""; p99[$target]=""; done
echo "rounds=$rounds duration=${duration}s connections=$connections threads=$threads (wrk -t1)"
for r in $(seq "$rounds"); do
  for target in "${targets[@]}"; do
    read -r a b c e < <(target_run "$target" "$connections")
    [[ "$e" == 0 ]] || { echo "$target: $e non-2xx responses" >&2; exit 1; }
    printf '  round %d %-10s %10.0f req/s  p50 %7.3f ms  p99 %7.3f ms\n' "$r" "$target" "$a" "$b" "$c"
    rps[$target]+="$a "; p50[$target]+="$b "; p99[$target]+="$c "
  done
done

m() { tr ' ' '\n' <<<"$1" | grep -v '^$' | median; }
echo
echo "medians over $rounds rounds:"
echo "  | path | Switchboard | reference in the same run | ratio | p99 |"
echo "  |---|---:|---:|---:|---:|"
row() { # row LABEL TARGET REFERENCE REFERENCE_LABEL
  awk -v l="$1" -v a="$(m "${rps[$2]}")" -v b="$(m "${rps[$3]}")" -v rl="$4" -v p="$(m "${p99[$2]}")" -v rp="$(m "${p99[$3]}")" \
    'BEGIN { printf "  | %s | %.0f req/s | %s %.0f | %.2fx | %.2f ms (%s %.2f ms) |\n", l, a, rl, b, a/b, p, rl, rp }'
}
row "signed incoming call" incoming nginx "nginx"
row "signed Gather result Digits=1 (an event; repeated: a duplicate)" menu nginx "nginx"
row "signed incoming call, TLS keep-alive" tls nginx_tls "nginx TLS"
row "signed incoming call vs Express 5 + twilio" incoming express "Express"

# Half of each path's maximum rate, paced by wrk's delay hook: each connection waits DELAY ms
# between requests, so a connection sends one request per DELAY + latency ms, and
# connections = rate * (DELAY + p50 at full speed) / 1000. The rate reached is printed too.
delay_ms=2
echo
echo "at half the maximum rate (each connection waits ${delay_ms} ms between its requests):"
for target in incoming menu tls; do
  half=$(awk -v a="$(m "${rps[$target]}")" 'BEGIN { printf "%d", a/2 }')
  paced=$(awk -v r="$half" -v d="$delay_ms" -v l="$(m "${p50[$target]}")" 'BEGIN { c=int(r*(d+l)/1000+0.5); if (c<1) c=1; print c }')
  read -r a b c e < <(target_run "$target" "$paced" "$delay_ms")
  [[ "$e" == 0 ]] || { echo "$target (paced): $e non-2xx responses" >&2; exit 1; }
  printf '  %-10s ~%6d req/s wanted (%3d connections): %8.0f req/s  p50 %6.3f ms  p99 %6.3f ms\n' \
    "$target" "$half" "$paced" "$a" "$b" "$c"
done

echo
idle_n=1000
idle_bytes=$(node bench/process_facts.mjs idle "$sb_pid" "$sb_port" "$idle_n" /api/voice/incoming \
  "$incoming_signature" "$SB_INCOMING_BODY")
echo "memory per idle keep-alive connection (${idle_n} connections, each after one signed incoming call): ${idle_bytes} bytes of RSS"
mkdir -p "$work/startup"
startup_ms=$(env "${sb_env[@]}" SWITCHBOARD_DATA_DIR="$work/startup" node bench/process_facts.mjs startup "$bin")
echo "start-up, spawn to the ready log line (SQLite store, median of 5): ${startup_ms} ms"

# Allocations per request: heaptrack counts every allocation of a server that answers a known
# number of requests (its own counter); a server that answers none gives the start-up and
# shutdown share, taken off.
# alloc_run NAME [incoming|menu] -> "allocations requests"
alloc_run() {
  mkdir -p "$work/heap-$1"
  env "${sb_env[@]}" SWITCHBOARD_DATA_DIR="$work/heap-$1" \
    heaptrack -o "$work/heap-$1/trace" "$bin" >"$work/heap-$1.log" 2>&1 &
  local hp=$!
  wait_for_ports "$work/heap-$1.log"
  wait_ready "$admin_port" "$work/heap-$1.log"
  local requests=0
  if [[ -n "${2:-}" ]]; then
    local body=$SB_INCOMING_BODY signature
    if [[ $2 == menu ]]; then
      body=$SB_MENU_BODY
      signature=$(sign "http://127.0.0.1:${sb_port}/api/voice/menu" "${call[@]}" Digits=1 FinishedOnKey= msg=Gather\ End)
    else
      signature=$(sign "http://127.0.0.1:${sb_port}/api/voice/incoming" "${ringing[@]}")
    fi
    SB_INCOMING_SIGNATURE=$signature SB_MENU_SIGNATURE=$signature SB_MENU_BODY=$body \
      wrk -t1 -c8 -d3s -s "bench/wrk/$2.lua" "http://127.0.0.1:$sb_port" >/dev/null
    requests=$(curl -s "http://127.0.0.1:$admin_port/metrics" \
      | awk -v r="voice_$2" '/^switchboard_http_requests_total\{/ && index($0, "route=\"" r "\"") && /code="200"/ {n+=$2} END {printf "%d", n}')
  fi
  # heaptrack runs the server as its child: stop that one, and let heaptrack write its trace.
  kill -TERM "$(pgrep -P "$hp" -f "$bin")"
  wait "$hp" || true
  local allocations
  allocations=$(heaptrack_print -f "$work/heap-$1"/trace*.zst 2>/dev/null | awk '/^calls to allocation functions:/ {print $5}')
  echo "$allocations $requests"
}
read -r idle_allocs _ < <(alloc_run idle)
echo "allocations (heaptrack, whole process): ${idle_allocs} for start-up and shutdown alone"
for kind in incoming menu; do
  read -r allocs requests < <(alloc_run "$kind" "$kind")
  ((requests > 0)) || { echo "allocation run $kind: no requests counted" >&2; exit 1; }
  awk -v k="$kind" -v a="$allocs" -v i="$idle_allocs" -v n="$requests" \
    'BEGIN { printf "  signed %-8s %8d requests: %.1f allocations per request\n", k, n, (a-i)/n }'
done

echo
echo "micro-benchmarks (protocol/):"
build/release/bench/protocol_bench --benchmark_min_time=0.3 2>/dev/null | grep -E '^bm_|^Benchmark'
