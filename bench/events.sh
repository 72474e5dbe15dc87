#!/usr/bin/env bash
# Event pipeline benchmark (fsync on: WAL, synchronous=FULL, as shipped).
#   1. accepted: signed status callbacks per second through the real listener into the store,
#      each a new event, while a loopback subscriber (nginx `return 204`) receives every one;
#      reported next to the nginx ceiling for the same request shape.
#   2. delivered: a backlog of N stored events drained to the loopback subscriber (deliveries per
#      second, signed, kept-alive connections): the backlog is made by accepting N callbacks while
#      the subscriber is down (max_attempts 1: each is dead-lettered), then restarting with the
#      subscriber up and replaying every dead letter at once.
#   bench/events.sh [--duration SECONDS] [--connections N] [--backlog N] [--concurrency N] [--threads N]
set -euo pipefail
cd "$(dirname "$0")/.."

duration=10
connections=64
backlog=100000
concurrency=32
threads=1
while (($#)); do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --backlog) backlog=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

deploy/install-deps.sh --with-test-tools
cmake --preset release >/dev/null
cmake --build --preset release --target switchboard >/dev/null
bin=build/release/service/switchboard
token=bench-token-0123456789abcdef
secret=$("$bin" secret)

source bench/lib.sh

# The subscriber: nginx answering 204 to every POST, one worker.
nginx_port=$(free_port)
nginx_config "$nginx_port" 1 'return 204;'
start_nginx

sb_pid=""
# start_switchboard DATA_DIR SUBSCRIBERS_JSON: sets sb_port, admin_port
start_switchboard() {
  local log="$work/switchboard-$RANDOM.log"
  TWILIO_AUTH_TOKEN=$token SWITCHBOARD_THREADS=$threads SWITCHBOARD_RATE_LIMIT_PER_MINUTE=0 \
    SWITCHBOARD_LISTEN=127.0.0.1:0 SWITCHBOARD_ADMIN_LISTEN=127.0.0.1:0 SWITCHBOARD_DATA_DIR="$1" \
    SWITCHBOARD_SUBSCRIBERS="$2" "$bin" >"$log" 2>&1 &
  sb_pid=$!
  pids+=($sb_pid)
  wait_for_ports "$log"
}
stop_switchboard() { kill -TERM "$sb_pid"; wait "$sb_pid" || true; }

metric() { # metric NAME_WITH_LABELS -> value (0 when absent)
  curl -s "http://127.0.0.1:${admin_port}/metrics" | awk -v k="$1" '$1==k {v=$2} END {printf "%d", v+0}'
}

# Signed bodies for 256 calls (CallSid varies; each call gets its own record in the store).
sign_bodies() { # sign_bodies PORT FILE
  node - "$1" "$token" >"$2" <<'JS'
const twilio = require('./tests/node_modules/twilio');
const [port, token] = process.argv.slice(2);
const url = `http://127.0.0.1:${port}/api/voice/status`;
for (let i = 0; i < 256; i++) {
  const params = { AccountSid: 'AC' + 'a'.repeat(32), ApiVersion: '2010-04-01', CallSid: 'CA' + i.toString(16).padStart(32, '0'),
    CallStatus: 'completed', CallDuration: '42', Called: '+18005550100', Caller: '+14155551212', Direction: 'inbound',
    From: '+14155551212', To: '+18005550100', SequenceNumber: '3', Timestamp: 'Sat, 21 Nov 2026 15:04:05 +0000',
    CallbackSource: 'call-progress-events', SipResponseCode: '200' };
  const body = new URLSearchParams(params).toString();
  console.log(twilio.getExpectedTwilioSignature(token, url, params) + '\t' + body);
}
JS
}

run_wrk() { # run_wrk PORT SECONDS RUN_ID -> "rps p50 p99 non2xx requests"
  local out
  out=$(SB_STATUS_FILE="$work/bodies.tsv" SB_RUN_ID=$3 wrk -t1 -c"$connections" -d"$2s" --latency -s bench/wrk/status.lua "http://127.0.0.1:$1")
  echo "$(awk '/^Requests\/sec:/ {print $2}' <<<"$out") $(to_ms "$(awk '$1=="50%" {print $2}' <<<"$out")") $(to_ms "$(awk '$1=="99%" {print $2}' <<<"$out")") $(awk '/Non-2xx/ {print $NF}' <<<"$out" | grep . || echo 0) $(awk '/requests in/ {print $1}' <<<"$out")"
}

echo "event pipeline benchmark: duration=${duration}s connections=$connections (wrk -t1), Switchboard $threads I/O thread(s) + store writer and syncer, fsync on"

# --- 1. accepted per second, delivered concurrently ----------------------------------------
subs="[{\"name\":\"bench\",\"url\":\"http://127.0.0.1:${nginx_port}/hook\",\"secret\":\"$secret\",\"concurrency\":$concurrency}]"
start_switchboard "$work/data-accept" "$subs"
sign_bodies "$sb_port" "$work/bodies.tsv"
check=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Twilio-Signature: $(head -1 "$work/bodies.tsv" | cut -f1)" \
  -H 'Content-Type: application/x-www-form-urlencoded' --data "$(head -1 "$work/bodies.tsv" | cut -f2)" "http://127.0.0.1:${sb_port}/api/voice/status")
[[ "$check" == 204 ]] || { echo "signed status callback answered $check" >&2; exit 1; }

read -r ceiling c50 c99 _ _ < <(SB_STATUS_FILE="$work/bodies.tsv" run_wrk "$nginx_port" "$duration" ceiling)
read -r rps p50 p99 non2xx total < <(run_wrk "$sb_port" "$duration" accept)
[[ "$non2xx" == 0 ]] || { echo "accept run: $non2xx non-2xx responses" >&2; exit 1; }
published=$(metric 'switchboard_events_published_total{type="call.status_changed"}')
sleep 2
for _ in $(seq 600); do
  delivered=$(metric 'switchboard_deliveries_total{outcome="delivered",subscriber="bench"}')
  ((delivered >= published)) && break
  sleep 0.1
done
batches=$(metric 'switchboard_store_batch_size_count')
ops=$(metric 'switchboard_store_batch_size_sum')
printf '  nginx ceiling (same requests)     %8.0f req/s  p50 %6.3f ms  p99 %6.3f ms\n' "$ceiling" "$c50" "$c99"
printf '  accepted (durable, 204)           %8.0f req/s  p50 %6.3f ms  p99 %6.3f ms  (%d requests, %d events)\n' "$rps" "$p50" "$p99" "$total" "$published"
awk -v a="$rps" -v b="$ceiling" 'BEGIN { printf "  ratio accepted / nginx ceiling: %.2fx\n", a/b }'
awk -v o="$ops" -v b="$batches" 'BEGIN { printf "  group commit: %d store operations in %d commits (%.1f per commit)\n", o, b, o/b }'
echo "  delivered to the subscriber meanwhile: $delivered of $published (all, before moving on)"
stop_switchboard

# --- 2. delivered per second, from a backlog -------------------------------------------------
kill -TERM "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true
down="[{\"name\":\"bench\",\"url\":\"http://127.0.0.1:${nginx_port}/hook\",\"secret\":\"$secret\",\"max_attempts\":1}]"
start_switchboard "$work/data-backlog" "$down"
sign_bodies "$sb_port" "$work/bodies.tsv"
secs=$(awk -v n="$backlog" -v r="$rps" 'BEGIN { s=int(n/(r*0.6))+1; print s }')
while :; do
  run_wrk "$sb_port" "$secs" "backlog-$RANDOM" >/dev/null
  made=$(metric 'switchboard_events_published_total{type="call.status_changed"}')
  ((made >= backlog)) && break
done
for _ in $(seq 600); do
  dead=$(curl -s "http://127.0.0.1:${admin_port}/admin/subscribers" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).subscribers[0].dead))')
  ((dead >= made)) && break
  sleep 0.2
done
stop_switchboard
start_nginx
start_switchboard "$work/data-backlog" "[{\"name\":\"bench\",\"url\":\"http://127.0.0.1:${nginx_port}/hook\",\"secret\":\"$secret\",\"concurrency\":$concurrency}]"
t0=$(date +%s.%N)
curl -s -X POST "http://127.0.0.1:${admin_port}/admin/subscribers/bench/dead/replay" >/dev/null
for _ in $(seq 6000); do
  delivered=$(metric 'switchboard_deliveries_total{outcome="delivered",subscriber="bench"}')
  ((delivered >= made)) && break
  sleep 0.05
done
t1=$(date +%s.%N)
awk -v n="$delivered" -v a="$t0" -v b="$t1" -v c="$concurrency" \
  'BEGIN { printf "  delivered from a backlog of %d events: %.1f s, %.0f deliveries/s (concurrency %d, signed, kept-alive)\n", n, b-a, n/(b-a), c }'
stop_switchboard
