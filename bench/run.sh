#!/usr/bin/env bash
# HTTP benchmark: Switchboard's signed webhooks against an nginx `return 200` ceiling on the
# same machine, measured in one run, alternating, with the same wrk settings. Prints req/s,
# p50/p99 and the ratio, then p99 for both at half of Switchboard's maximum rate, then the
# micro-benchmarks.
#   bench/run.sh [--duration SECONDS] [--rounds N] [--connections N] [--threads N]
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

deploy/install-deps.sh --with-test-tools
cmake --preset release >/dev/null
cmake --build --preset release --target switchboard protocol_bench >/dev/null
# BENCH_BIN: measure another build instead (an A/B run against an older commit; not a
# SWITCHBOARD_ name: the binary refuses settings it does not know).
bin=${BENCH_BIN:-build/release/service/switchboard}

source bench/lib.sh

# nginx: one worker (as Switchboard gets one I/O thread), keep-alive, no disk logging.
nginx_port=$(free_port)
nginx_config "$nginx_port" "$threads" 'return 200 "ok";'
start_nginx

# Switchboard: one I/O thread, no rate limit (Twilio traffic is never throttled anyway), logs
# written as in production but to /dev/null.
TWILIO_AUTH_TOKEN=bench-token-0123456789abcdef SWITCHBOARD_THREADS=$threads SWITCHBOARD_RATE_LIMIT_PER_MINUTE=0 \
  SWITCHBOARD_LISTEN=127.0.0.1:0 SWITCHBOARD_ADMIN_LISTEN=127.0.0.1:0 SWITCHBOARD_DATA_DIR="$work/data" \
  "$bin" >"$work/switchboard.log" 2>&1 &
pids+=($!)
wait_for_ports "$work/switchboard.log"
sleep 0.2

call=(AccountSid=ACaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ApiVersion=2010-04-01 CallSid=CA0123456789abcdef0123456789abcdef
      CallStatus=in-progress Called=+18005550100 Caller=+14155551212 Direction=inbound From=+14155551212
      FromCity=SAN\ FRANCISCO FromCountry=US FromState=CA FromZip=94105 To=+18005550100 ToCountry=US)
form() { local out="" kv; for kv in "$@"; do out+="${out:+&}$(node -e 'const [k,...v]=process.argv[1].split("=");process.stdout.write(encodeURIComponent(k)+"="+encodeURIComponent(v.join("=")))' "$kv")"; done; echo "$out"; }
export SB_MENU_BODY SB_MENU_SIGNATURE SB_INCOMING_BODY SB_INCOMING_SIGNATURE
SB_MENU_BODY=$(form "${call[@]}" Digits=1 FinishedOnKey= msg=Gather\ End)
SB_MENU_SIGNATURE=$("$bin" sign --token bench-token-0123456789abcdef --url "http://127.0.0.1:${sb_port}/api/voice/menu" "${call[@]}" Digits=1 FinishedOnKey= msg=Gather\ End)
SB_INCOMING_BODY=$(form "${call[@]/CallStatus=in-progress/CallStatus=ringing}")
SB_INCOMING_SIGNATURE=$("$bin" sign --token bench-token-0123456789abcdef --url "http://127.0.0.1:${sb_port}/api/voice/incoming" "${call[@]/CallStatus=in-progress/CallStatus=ringing}")

# Sanity: the signed requests really are answered 200 with TwiML (a 403 benchmark is worthless).
check=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Twilio-Signature: $SB_MENU_SIGNATURE" \
  -H 'Content-Type: application/x-www-form-urlencoded' --data "$SB_MENU_BODY" "http://127.0.0.1:${sb_port}/api/voice/menu")
[[ "$check" == 200 ]] || { echo "signed menu POST answered $check" >&2; exit 1; }

# run_wrk NAME SCRIPT PORT CONNECTIONS [DELAY_MS] -> "rps p50 p99 errors"
run_wrk() {
  local out
  out=$(SB_DELAY_MS=${5:-0} wrk -t1 -c"$4" -d"${duration}s" --latency -s "bench/wrk/$2" "http://127.0.0.1:$3")
  local rps p50 p99 non2xx
  rps=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
  p50=$(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")")
  p99=$(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  echo "$rps $p50 $p99 ${non2xx:-0}"
}
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

declare -A rps p50 p99
for target in nginx menu incoming; do rps[$target]=""; p50[$target]=""; p99[$target]=""; done
echo "rounds=$rounds duration=${duration}s connections=$connections threads=$threads (wrk -t1)"
for r in $(seq "$rounds"); do
  for target in nginx menu incoming; do
    case $target in
      nginx) read -r a b c e < <(run_wrk nginx ceiling.lua "$nginx_port" "$connections") ;;
      menu) read -r a b c e < <(run_wrk menu menu.lua "$sb_port" "$connections") ;;
      incoming) read -r a b c e < <(run_wrk incoming incoming.lua "$sb_port" "$connections") ;;
    esac
    [[ "$e" == 0 ]] || { echo "$target: $e non-2xx responses" >&2; exit 1; }
    printf '  round %d %-9s %10.0f req/s  p50 %6.3f ms  p99 %6.3f ms\n' "$r" "$target" "$a" "$b" "$c"
    rps[$target]+="$a "; p50[$target]+="$b "; p99[$target]+="$c "
  done
done

m() { tr ' ' '\n' <<<"$1" | grep -v '^$' | median; }
echo
echo "medians over $rounds rounds:"
for target in nginx menu incoming; do
  printf '  %-9s %10.0f req/s  p50 %6.3f ms  p99 %6.3f ms\n' "$target" "$(m "${rps[$target]}")" "$(m "${p50[$target]}")" "$(m "${p99[$target]}")"
done
menu_max=$(m "${rps[menu]}")
awk -v a="$menu_max" -v b="$(m "${rps[nginx]}")" 'BEGIN { printf "ratio signed menu POST / nginx ceiling: %.2fx\n", a/b }'
awk -v a="$(m "${rps[incoming]}")" -v b="$(m "${rps[nginx]}")" 'BEGIN { printf "ratio signed incoming / nginx ceiling:  %.2fx\n", a/b }'

# Half of Switchboard's maximum rate, paced by wrk's delay hook: each connection waits
# DELAY ms between requests, so connections = rate * DELAY / 1000.
delay_ms=10
half=$(awk -v a="$menu_max" 'BEGIN { printf "%d", a/2 }')
paced=$(awk -v r="$half" -v d="$delay_ms" 'BEGIN { c=int(r*d/1000+0.5); if (c<1) c=1; print c }')
echo
echo "at half the maximum rate (~${half} req/s: ${paced} connections x 1 request per ${delay_ms} ms):"
read -r a b c e < <(run_wrk nginx ceiling.lua "$nginx_port" "$paced" "$delay_ms")
printf '  %-9s %10.0f req/s  p50 %6.3f ms  p99 %6.3f ms\n' nginx "$a" "$b" "$c"
read -r a b c e < <(run_wrk menu menu.lua "$sb_port" "$paced" "$delay_ms")
printf '  %-9s %10.0f req/s  p50 %6.3f ms  p99 %6.3f ms\n' menu "$a" "$b" "$c"

echo
echo "micro-benchmarks (protocol/):"
build/release/bench/protocol_bench --benchmark_min_time=0.3 2>/dev/null | grep -E '^bm_|^Benchmark'
