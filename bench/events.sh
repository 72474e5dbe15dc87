#!/usr/bin/env bash
# Event pipeline benchmark, on the embedded SQLite store (fsync on: WAL, synchronous=FULL, as
# shipped) or on Redis (a local redis-server, AOF with appendfsync everysec) with one or two
# replicas sharing its queue.
#   1. accepted: signed status callbacks per second through the real listener into the store,
#      each a new event, while a loopback subscriber (nginx `return 204`) receives every one;
#      reported next to the nginx ceiling for the same request shape. With two replicas the load
#      is spread over both (one wrk per replica, half the connections each) and the rates summed.
#   2. delivered: a backlog of N stored events drained to the loopback subscriber (deliveries per
#      second, signed, kept-alive connections): the backlog is made by accepting N callbacks while
#      the subscriber is down (max_attempts 1: each is dead-lettered), then restarting with the
#      subscriber up and replaying every dead letter at once (with Redis, the replicas share the
#      drain through the consumer group; the counters are summed).
#   bench/events.sh [--store all|sqlite|redis] [--replicas 1|2] [--duration SECONDS] [--connections N]
#                   [--backlog N] [--concurrency N] [--threads N] [--signatures 1|2]
#                   [--ordering none|per_call]
#   --store all (the default): SQLite, then Redis with one replica, then with two, then SQLite
#   again with two signatures on every delivery (a secret rotation: previous_secrets), then SQLite
#   and Redis with "ordering": "per_call", one after the other in one run, and a table of the six
#   at the end.
#   --ordering per_call: the subscriber takes one call's events one at a time, in stored order
#   (the load spreads over 4,096 calls, so the drain keeps up to that many calls in parallel).
#   --signatures 2: the subscriber has a previous secret that has not expired, so every
#   delivery is signed twice (webhook-signature "v1,<new> v1,<old>").
#   SWITCHBOARD_BIN=/path/to/switchboard bench/events.sh ...   # that binary, no cmake build
set -euo pipefail
cd "$(dirname "$0")/.."

store=all
replicas=1
duration=10
connections=64
backlog=100000
concurrency=32
threads=""
signatures=1
ordering=none
while (($#)); do
  case "$1" in
    --store) store=$2; shift 2 ;;
    --replicas) replicas=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --backlog) backlog=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --signatures) signatures=$2; shift 2 ;;
    --ordering) ordering=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ "$store" == all || "$store" == sqlite || "$store" == redis ]] || { echo "--store: all, sqlite or redis" >&2; exit 2; }
if [[ "$store" == all ]]; then
  # Every row from one run: each configuration is this script again, with the same settings.
  out=$(mktemp -d)
  trap 'rm -rf "$out"' EXIT
  configs=("sqlite 1 1 none" "redis 1 1 none" "redis 2 1 none" "sqlite 1 2 none" "sqlite 1 1 per_call"
    "redis 1 1 per_call")
  for c in "${configs[@]}"; do
    read -r s r g o <<<"$c"
    echo "=== store $s, $r replica(s), $g signature(s) per delivery, ordering $o"
    "$0" --store "$s" --replicas "$r" --duration "$duration" --connections "$connections" --backlog "$backlog" \
      --concurrency "$concurrency" --signatures "$g" --ordering "$o" ${threads:+--threads "$threads"} \
      | tee "$out/$s-$r-$g-$o.txt"
    echo
  done
  echo "summary (one run, one configuration after the other):"
  echo "| store | accepted (durable) | nginx ceiling in its run | ratio | p99 | delivered from a backlog |"
  echo "|---|---:|---:|---:|---:|---:|"
  for c in "${configs[@]}"; do
    read -r s r g o <<<"$c"
    name="$s, $r replica(s)"
    ((g == 1)) || name="$name, $g signatures"
    [[ "$o" == none ]] || name="$name, $o ordering"
    awk -v name="$name" '
      /^  nginx ceiling/ { ceiling = $(NF - 7) }
      /^  accepted/ && !acc { for (i = 1; i <= NF; i++) if ($(i + 1) == "req/s") { acc = $i; p99 = $(i + 6); break } }
      /deliveries\/s/ { for (i = 1; i <= NF; i++) if ($(i + 1) == "deliveries/s") drained = $i }
      END { printf "| %s | %s req/s | %s req/s | %.2fx | %s ms | %s /s |\n", name, acc, ceiling, acc / ceiling, p99, drained }' \
      "$out/$s-$r-$g-$o.txt"
  done
  exit 0
fi
[[ "$replicas" == 1 || "$replicas" == 2 ]] || { echo "--replicas: 1 or 2" >&2; exit 2; }
[[ "$signatures" == 1 || "$signatures" == 2 ]] || { echo "--signatures: 1 or 2" >&2; exit 2; }
[[ "$ordering" == none || "$ordering" == per_call ]] || { echo "--ordering: none or per_call" >&2; exit 2; }
# An SQLite store belongs to one process: only Redis can be shared by replicas.
[[ "$replicas" == 1 || "$store" == redis ]] || { echo "--replicas 2 needs --store redis" >&2; exit 2; }
((connections >= replicas)) || { echo "--connections: at least one per replica" >&2; exit 2; }
# One I/O thread unless --threads says otherwise. With two replicas that is deliberate: on a
# 2-core machine two processes of one thread each already fill the cores with wrk, nginx and
# redis-server; more threads would only add context switches.
threads=${threads:-1}

deploy/install-deps.sh --with-test-tools
# shellcheck source=bench/lib.sh
source bench/lib.sh
twilio_package
switchboard_bin
token=bench-token-0123456789abcdef
secret=$("$bin" secret)
# --signatures 2: a rotation in progress, the previous secret signing too until long after the run.
rotation=""
if ((signatures == 2)); then
  rotation=",\"previous_secrets\":[{\"secret\":\"$("$bin" secret)\",\"expires_at\":\"2099-01-01T00:00:00Z\"}]"
fi
# --ordering per_call: one call's events one at a time (added to the subscriber like the rotation).
[[ "$ordering" == none ]] || rotation="$rotation,\"ordering\":\"$ordering\""

# The subscriber: nginx answering 204 to every POST, one worker.
nginx_port=$(free_port)
nginx_config "$nginx_port" 1 'return 204;'
start_nginx

# start_redis: a throwaway redis-server in the work directory (AOF on, as a deployment would run
# it; no RDB snapshots, which would fork mid-run); sets redis_port.
start_redis() {
  redis_port=$(free_port)
  mkdir -p "$work/redis"
  redis-server --port "$redis_port" --bind 127.0.0.1 --dir "$work/redis" --appendonly yes \
    --appendfsync everysec --save '' --daemonize no >"$work/redis/redis.log" 2>&1 &
  pids+=("$!")
  for _ in $(seq 200); do
    [[ "$(redis-cli -p "$redis_port" ping 2>/dev/null)" == PONG ]] && return 0
    sleep 0.05
  done
  echo "redis-server did not start" >&2
  cat "$work/redis/redis.log" >&2
  exit 1
}
[[ "$store" == redis ]] && start_redis

sb_pids=() sb_ports=() admin_ports=()
admin_token=$(openssl rand -hex 32) # the admin API's bearer token for this run
# start_switchboard STORE_NAME SUBSCRIBERS_JSON: starts $replicas processes on one store (SQLite:
# the data directory STORE_NAME; Redis: the key prefix "STORE_NAME:", replicas bench-1, bench-2)
# and waits until each is ready; sets sb_ports, admin_ports, and sb_port, admin_port (the first).
start_switchboard() {
  local i log store_env
  sb_pids=() sb_ports=() admin_ports=()
  for ((i = 1; i <= replicas; i++)); do
    log="$work/switchboard-$1-$i-$RANDOM.log"
    store_env=(SWITCHBOARD_DATA_DIR="$work/data-$1")
    if [[ "$store" == redis ]]; then
      store_env+=(SWITCHBOARD_STORE="redis://127.0.0.1:${redis_port}/0" SWITCHBOARD_REDIS_KEY_PREFIX="$1:"
        SWITCHBOARD_REPLICA_NAME="bench-$i")
    fi
    env TWILIO_AUTH_TOKEN=$token SWITCHBOARD_ADMIN_TOKEN="$admin_token" SWITCHBOARD_THREADS="$threads" \
      SWITCHBOARD_RATE_LIMIT_PER_MINUTE=0 \
      SWITCHBOARD_LISTEN=127.0.0.1:0 SWITCHBOARD_ADMIN_LISTEN=127.0.0.1:0 "${store_env[@]}" \
      SWITCHBOARD_SUBSCRIBERS="$2" "$bin" >"$log" 2>&1 &
    sb_pids+=("$!")
    pids+=("$!")
    wait_for_ports "$log"
    wait_ready "$admin_port" "$log"
    sb_ports+=("$sb_port")
    admin_ports+=("$admin_port")
  done
  sb_port=${sb_ports[0]} admin_port=${admin_ports[0]}
}
stop_switchboard() {
  local p
  kill -TERM "${sb_pids[@]}"
  for p in "${sb_pids[@]}"; do wait "$p" || true; done
}

metric() { # metric NAME_WITH_LABELS [FORMAT] -> summed over the running replicas (0 when absent)
  local p
  for p in "${admin_ports[@]}"; do curl -s "http://127.0.0.1:$p/metrics"; done |
    awk -v k="$1" -v f="${2:-%d}" '$1==k {v+=$2} END {printf f, v+0}'
}
per_replica() { # per_replica NAME_WITH_LABELS -> "bench-1 N, bench-2 M" (empty with one replica)
  local i out=""
  ((replicas > 1)) || return 0
  for i in "${!admin_ports[@]}"; do
    out+="${out:+, }bench-$((i + 1)) $(metric_at "${admin_ports[$i]}" "$1")"
  done
  echo "$out"
}
subscriber_field() { # subscriber_field FIELD -> the bench subscriber's FIELD in /admin/subscribers
  curl -s -H "Authorization: Bearer $admin_token" "http://127.0.0.1:${admin_port}/admin/subscribers" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).subscribers[0][process.argv[1]]))' "$1"
}

# Signed bodies, each a new event: the store de-duplicates by (CallSid, SequenceNumber) and the
# unsigned I-Twilio-Idempotency-Token never decides, so COUNT bodies spread over 4096 calls with
# SequenceNumbers from FIRST up (4096 calls get their own records). The signature covers the
# URL, port included: each replica gets its own file, with its own sequence range.
sign_bodies() { # sign_bodies PORT FILE COUNT FIRST
  node - "$1" "$token" "$3" "$4" >"$2" <<'JS'
const twilio = require('./tests/node_modules/twilio');
const [port, token, count, first] = process.argv.slice(2);
const url = `http://127.0.0.1:${port}/api/voice/status`;
const out = [];
for (let i = 0; i < Number(count); i++) {
  const params = { AccountSid: 'AC' + 'a'.repeat(32), CallSid: 'CA' + (i % 4096).toString(16).padStart(32, '0'),
    CallStatus: 'completed', CallDuration: '42', Direction: 'inbound', From: '+14155551212', To: '+18005550100',
    SequenceNumber: String(Number(first) + Math.floor(i / 4096)) };
  out.push(twilio.getExpectedTwilioSignature(token, url, params) + '\t' + new URLSearchParams(params).toString());
  if (out.length === 10000) {
    process.stdout.write(out.join('\n') + '\n');
    out.length = 0;
  }
}
if (out.length > 0) {
  process.stdout.write(out.join('\n') + '\n');
}
JS
}
# sign_all COUNT ROUND: $work/bodies-I.tsv (COUNT bodies) for each replica I, checked with one
# signed callback; ROUND keeps the sequence ranges of successive runs on one store apart.
sign_all() {
  local i check file count=$1 round=$2
  for i in "${!sb_ports[@]}"; do
    file="$work/bodies-$((i + 1)).tsv"
    sign_bodies "${sb_ports[$i]}" "$file" "$count" "$((round * 1000000 + i * 100000 + 10))"
    # The check uses a body of its own (sequence 1), so it does not take one of the run's.
    sign_bodies "${sb_ports[$i]}" "$work/check.tsv" 1 1
    check=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Twilio-Signature: $(head -1 "$work/check.tsv" | cut -f1)" \
      -H 'Content-Type: application/x-www-form-urlencoded' --data "$(head -1 "$work/check.tsv" | cut -f2)" \
      "http://127.0.0.1:${sb_ports[$i]}/api/voice/status")
    [[ "$check" == 204 ]] || { echo "signed status callback to replica $((i + 1)) answered $check" >&2; exit 1; }
  done
}

# run_wrk SECONDS RUN_ID PORT... -> "rps p50 p99 non2xx requests": one wrk -t1 per PORT, all at
# once, sharing the connections (the load generator has the same shape against nginx and against
# the replicas); I-th gets $work/bodies-I.tsv and run id RUN_ID-I (the tokens must differ between
# replicas: they share the dedupe keys). Rates, errors and requests are summed, latencies are the
# worst of the PORTs; each wrk's own line is left in $work/wrk-RUN_ID-I.
run_wrk() {
  local secs=$1 id=$2 n i=0 port c p
  local -a wpids=() files=()
  shift 2
  n=$#
  for port in "$@"; do
    i=$((i + 1))
    c=$((connections / n + (i <= connections % n ? 1 : 0)))
    files+=("$work/wrk-$id-$i")
    wrk_one "$port" "$secs" "$id-$i" "$c" "$work/bodies-$i.tsv" >"$work/wrk-$id-$i" &
    wpids+=("$!")
  done
  # Called inside $(...), where set -e does not reach: a failed wrk must fail the caller.
  for p in "${wpids[@]}"; do wait "$p" || return 1; done
  cat "${files[@]}" | awk '{ r += $1; if ($2 > p50) p50 = $2; if ($3 > p99) p99 = $3; e += $4; t += $5 }
    END { printf "%.2f %.3f %.3f %d %d\n", r, p50, p99, e, t }'
}

if [[ "$store" == redis ]]; then
  if ((replicas > 1)); then
    sb_desc="$replicas replicas (bench-1..bench-$replicas, one consumer group), SWITCHBOARD_THREADS=$threads each ($(nproc) cores in total on this machine, shared with wrk, nginx and redis-server)"
  else
    sb_desc="1 replica, $threads I/O thread(s)"
  fi
  echo "event pipeline benchmark: store redis ($(redis-server --version | grep -o 'v=[0-9.]*' | cut -c3-), loopback, AOF appendfsync everysec), $sb_desc; duration=${duration}s connections=$connections ($replicas x wrk -t1), $signatures signature(s) per delivery, ordering $ordering"
else
  echo "event pipeline benchmark: store sqlite (fsync on), 1 replica, duration=${duration}s connections=$connections (wrk -t1), Switchboard $threads I/O thread(s) + store writer and syncer, $signatures signature(s) per delivery, ordering $ordering"
fi

# --- 1. accepted per second, delivered concurrently ----------------------------------------
subs="[{\"name\":\"bench\",\"url\":\"http://127.0.0.1:${nginx_port}/hook\",\"secret\":\"$secret\",\"concurrency\":$concurrency$rotation}]"
start_switchboard accept "$subs"
# More bodies than the run can send (at most ~40,000 a second here), so none repeats.
sign_all "$((duration * 40000 / replicas + 10000))" 1

nginx_ports=()
for _ in "${sb_ports[@]}"; do nginx_ports+=("$nginx_port"); done
out=$(run_wrk "$duration" ceiling "${nginx_ports[@]}")
read -r ceiling c50 c99 _ _ <<<"$out"
# Redis: count the scripts the accept run and its deliveries cost (INFO commandstats).
redis_scripts() { redis-cli -p "$redis_port" INFO commandstats | awk -F'[:=,]' '/^cmdstat_eval(sha)?:/ {n += $3} END {printf "%d", n}'; }
[[ "$store" == redis ]] && redis-cli -p "$redis_port" CONFIG RESETSTAT >/dev/null
out=$(run_wrk "$duration" accept "${sb_ports[@]}")
read -r rps p50 p99 non2xx total <<<"$out"
[[ "$non2xx" == 0 ]] || { echo "accept run: $non2xx non-2xx responses" >&2; exit 1; }
published=$(metric 'switchboard_events_published_total{type="call.status_changed"}')
sleep 2
for _ in $(seq 600); do
  delivered=$(metric 'switchboard_deliveries_total{outcome="delivered",subscriber="bench"}')
  ((delivered >= published)) && break
  sleep 0.1
done
if [[ "$store" == redis ]]; then
  accepted_label="accepted (AOF everysec, 204)"
  latency_note=""
  ((replicas == 1)) || latency_note=", p50/p99 the worse replica's"
else
  accepted_label="accepted (durable, 204)"
  latency_note=""
fi
printf '  nginx ceiling (same requests)     %8.0f req/s  p50 %6.3f ms  p99 %6.3f ms\n' "$ceiling" "$c50" "$c99"
printf '  %-32s  %8.0f req/s  p50 %6.3f ms  p99 %6.3f ms  (%d requests, %d events%s)\n' \
  "$accepted_label" "$rps" "$p50" "$p99" "$total" "$published" "$latency_note"
if ((replicas > 1)); then
  for ((i = 1; i <= replicas; i++)); do
    read -r r1 r50 r99 _ _ <"$work/wrk-accept-$i"
    printf '    replica bench-%d (wrk -t1 -c%d)  %8.0f req/s  p50 %6.3f ms  p99 %6.3f ms\n' \
      "$i" "$((connections / replicas + (i <= connections % replicas ? 1 : 0)))" "$r1" "$r50" "$r99"
  done
fi
awk -v a="$rps" -v b="$ceiling" 'BEGIN { printf "  ratio accepted / nginx ceiling: %.2fx\n", a/b }'
if [[ "$store" == redis ]]; then
  # No group commit with Redis: each append is its own read and write script, pipelined on one
  # connection per replica; the observed time per append is the round trip the 204 waits for.
  appends=$(metric 'switchboard_store_commit_duration_seconds_count')
  append_s=$(metric 'switchboard_store_commit_duration_seconds_sum' '%.6f')
  awk -v n="$appends" -v s="$append_s" 'BEGIN { printf "  store: %d appends, %.3f ms each on average (one write script, two when the guess of the record was wrong; pipelined)\n", n, 1000*s/n }'
  awk -v n="$(redis_scripts)" -v e="$published" 'BEGIN { printf "  Redis: %d script runs for %d events and their deliveries (%.2f per event)\n", n, e, n/e }'
else
  batches=$(metric 'switchboard_store_batch_size_count')
  ops=$(metric 'switchboard_store_batch_size_sum')
  awk -v o="$ops" -v b="$batches" 'BEGIN { printf "  group commit: %d store operations in %d commits (%.1f per commit)\n", o, b, o/b }'
fi
split=$(per_replica 'switchboard_deliveries_total{outcome="delivered",subscriber="bench"}')
if ((delivered >= published)); then
  echo "  delivered to the subscriber meanwhile: $delivered of $published (all, before moving on${split:+; $split})"
else
  echo "  delivered to the subscriber meanwhile: $delivered of $published (NOT all after 60 s${split:+; $split})"
fi
stop_switchboard

# --- 2. delivered per second, from a backlog -------------------------------------------------
kill -TERM "$nginx_pid"; wait "$nginx_pid" 2>/dev/null || true
down="[{\"name\":\"bench\",\"url\":\"http://127.0.0.1:${nginx_port}/hook\",\"secret\":\"$secret\",\"max_attempts\":1$rotation}]"
start_switchboard backlog "$down"
secs=$(awk -v n="$backlog" -v r="$rps" 'BEGIN { s=int(n/(r*0.6))+1; print s }')
round=2
while :; do
  sign_all "$((secs * 40000 / replicas + 10000))" "$round"
  round=$((round + 1))
  run_wrk "$secs" "backlog-$RANDOM" "${sb_ports[@]}" >/dev/null
  made=$(metric 'switchboard_events_published_total{type="call.status_changed"}')
  ((made >= backlog)) && break
done
for _ in $(seq 600); do
  dead=$(subscriber_field dead)
  ((dead >= made)) && break
  sleep 0.2
done
((dead >= made)) || { echo "backlog: only $dead of $made events dead-lettered after 120 s" >&2; exit 1; }
# Restart on the same store (data directory or key prefix) with the subscriber up: the counters
# start from zero, so the summed delivered counter measures the drain alone.
stop_switchboard
start_nginx
start_switchboard backlog "[{\"name\":\"bench\",\"url\":\"http://127.0.0.1:${nginx_port}/hook\",\"secret\":\"$secret\",\"concurrency\":$concurrency$rotation}]"
t0=$(date +%s.%N)
curl -s -X POST -H "Authorization: Bearer $admin_token" -H 'Content-Type: application/json' \
  "http://127.0.0.1:${admin_port}/admin/subscribers/bench/dead/replay" >/dev/null
for _ in $(seq 6000); do
  delivered=$(metric 'switchboard_deliveries_total{outcome="delivered",subscriber="bench"}')
  ((delivered >= made)) && break
  sleep 0.05
done
t1=$(date +%s.%N)
((delivered >= made)) || echo "  (the drain was cut off: $delivered of $made delivered)" >&2
split=$(per_replica 'switchboard_deliveries_total{outcome="delivered",subscriber="bench"}')
per=""
((replicas == 1)) || per=" per replica"
awk -v n="$delivered" -v a="$t0" -v b="$t1" -v c="$concurrency" -v per="$per" -v parts="$split" \
  'BEGIN { printf "  delivered from a backlog of %d events: %.1f s, %.0f deliveries/s (concurrency %d%s, signed, kept-alive%s)\n",
    n, b-a, n/(b-a), c, per, parts == "" ? "" : "; " parts }'
stop_switchboard
