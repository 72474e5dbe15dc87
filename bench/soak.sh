#!/usr/bin/env bash
# Soak benchmark: retention under a steady load, on the embedded SQLite store (fsync on, as
# shipped). Signed status callbacks (four a call: initiated, ringing, in-progress, completed),
# every one a new event, while a loopback subscriber (nginx `return 204`) receives every event.
# Two phases, each on a fresh data directory, with the same load:
#   A  retention off (every period 0): the store keeps everything;
#   B  a short retention (--retention SECONDS for delivered events, dead letters and the call
#      log, applied every second): the store should level off at what that period holds.
# Each phase is one server, one store, two loads in a row:
#   steady      --rate callbacks a second (one schedule over all connections, wrk/soak.lua) for
#               --duration seconds: the database file and its WAL are sampled every --sample
#               seconds (and the store's metrics), to show the size levelling off with
#               retention and growing without it;
#   full speed  then wrk -t1 -c64 as fast as the answers come, for --saturation seconds, on
#               the store the steady load left (with B, retention in full swing): the accept rate
#               with retention against without, the retention job's cost.
# Then it waits until the subscriber has every event. Speed is reported, never asserted: the
# run fails only on a non-2xx answer, deliveries that stop arriving, a failed retention pass,
# repeated bodies, or a server that stopped.
#   bench/soak.sh [--duration SECONDS] [--rate N] [--saturation SECONDS] [--retention SECONDS]
#                 [--connections N] [--sample SECONDS] [--threads N]
#   SWITCHBOARD_BIN=/path/to/switchboard bench/soak.sh ...   # that binary, no cmake build
set -euo pipefail
cd "$(dirname "$0")/.."

duration=60
rate=3000
saturation=20
retention=15
connections=64
sample=5
threads=1
while (($#)); do
  case "$1" in
    --duration) duration=$2; shift 2 ;;
    --rate) rate=$2; shift 2 ;;
    --saturation) saturation=$2; shift 2 ;;
    --retention) retention=$2; shift 2 ;;
    --connections) connections=$2; shift 2 ;;
    --sample) sample=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
((duration >= 2 * sample)) || { echo "--duration: at least two samples (--sample $sample)" >&2; exit 2; }
((rate > 0 && saturation > 0)) || { echo "--rate, --saturation: more than 0" >&2; exit 2; }
# Distinct signed events for each load, more than it can send (full speed: at most about 25,000
# a second on this machine), so no request repeats one. Both phases send the same ones, each
# into its own store.
steady_events=$((duration * rate * 11 / 10 + 10000))
full_events=$((saturation * 25000 + 10000))

deploy/install-deps.sh --with-test-tools
# shellcheck source=bench/lib.sh
source bench/lib.sh
twilio_package
switchboard_bin
token=bench-token-0123456789abcdef
secret=$("$bin" secret)
admin_token=$(openssl rand -hex 32)
# Days as the settings take them (decimals allowed).
retention_days=$(awk -v s="$retention" 'BEGIN { printf "%.9f", s / 86400 }')

# The subscriber: nginx answering 204 to every POST, one worker.
nginx_port=$(free_port)
nginx_config "$nginx_port" 1 'return 204;'
start_nginx

# One public port for every phase: the signature covers the URL, port included, so the bodies
# are signed once.
sb_port=$(free_port)
# sign_calls FILE COUNT FIRST_CALL: COUNT signed status callbacks ("signature<TAB>body" lines),
# four per call from call number FIRST_CALL on, each a distinct (CallSid, SequenceNumber), the
# store's de-duplication key. Signed with the twilio package, independently of the server.
sign_calls() {
  node - "$sb_port" "$token" "$2" "$3" >"$1" <<'JS'
const twilio = require('./tests/node_modules/twilio');
const [port, token, count, first] = process.argv.slice(2);
const url = `http://127.0.0.1:${port}/api/voice/status`;
const statuses = ['initiated', 'ringing', 'in-progress', 'completed'];
let out = [];
for (let i = 0; i < Number(count); i++) {
  const params = { AccountSid: 'AC' + 'a'.repeat(32),
    CallSid: 'CA' + (Number(first) + Math.floor(i / 4)).toString(16).padStart(32, '0'),
    CallStatus: statuses[i % 4], Direction: 'inbound', From: '+14155551212', To: '+18005550100',
    SequenceNumber: String(i % 4) };
  if (i % 4 === 3) params.CallDuration = '42';
  out.push(twilio.getExpectedTwilioSignature(token, url, params) + '\t' + new URLSearchParams(params).toString());
  if (out.length === 10000) {
    process.stdout.write(out.join('\n') + '\n');
    out = [];
  }
}
if (out.length > 0) process.stdout.write(out.join('\n') + '\n');
JS
}
echo "soak benchmark: store sqlite (fsync on), 1 replica, Switchboard $threads I/O thread(s) + store writer and syncer, one subscriber (nginx 204, concurrency 32); wrk -t1 -c$connections; steady $rate/s for $duration s, then full speed for $saturation s; retention B ${retention} s = ${retention_days} days, every second"
t_sign=$EPOCHREALTIME
sign_calls "$work/steady.tsv" "$steady_events" 0
sign_calls "$work/full.tsv" "$full_events" $((1 << 32))
# The check before each phase: a call of its own, far from the others.
sign_calls "$work/check.tsv" 1 $((1 << 40))
awk -v a="$t_sign" -v b="$EPOCHREALTIME" -v n="$((steady_events + full_events))" \
  'BEGIN { printf "  signed %d distinct callbacks in %.1f s\n", n, b-a }'

subs="[{\"name\":\"bench\",\"url\":\"http://127.0.0.1:${nginx_port}/hook\",\"secret\":\"$secret\",\"concurrency\":32}]"

# start_phase NAME DAYS: Switchboard on a fresh data directory $work/data-NAME, every retention
# period DAYS (0: off), retention every second, the store's gauges refreshed every second; waits
# until ready and checks one signed callback; sets sb_pid, admin_port, data, log.
start_phase() {
  local check
  data="$work/data-$1" log="$work/switchboard-$1.log"
  env TWILIO_AUTH_TOKEN=$token SWITCHBOARD_ADMIN_TOKEN="$admin_token" SWITCHBOARD_THREADS="$threads" \
    SWITCHBOARD_RATE_LIMIT_PER_MINUTE=0 SWITCHBOARD_LISTEN="127.0.0.1:$sb_port" SWITCHBOARD_ADMIN_LISTEN=127.0.0.1:0 \
    SWITCHBOARD_DATA_DIR="$data" SWITCHBOARD_SUBSCRIBERS="$subs" SWITCHBOARD_STORE_PROBE_SECONDS=1 \
    SWITCHBOARD_RETENTION_DELIVERED_DAYS="$2" SWITCHBOARD_RETENTION_DEAD_DAYS="$2" \
    SWITCHBOARD_RETENTION_LOG_DAYS="$2" SWITCHBOARD_RETENTION_INTERVAL_SECONDS=1 "$bin" >"$log" 2>&1 &
  sb_pid=$!
  pids+=("$sb_pid")
  wait_for_ports "$log"
  wait_ready "$admin_port" "$log"
  check=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Twilio-Signature: $(cut -f1 "$work/check.tsv")" \
    -H 'Content-Type: application/x-www-form-urlencoded' --data "$(cut -f2 "$work/check.tsv")" \
    "http://127.0.0.1:${sb_port}/api/voice/status")
  [[ "$check" == 204 ]] || { echo "phase $1: a signed status callback answered $check" >&2; exit 1; }
}

# take_sample SECONDS -> "t db_bytes wal_bytes events_accepted rows_events removed_events
# store_size_bytes delivered cpu_seconds": the files' sizes (stat) and the metrics (the store's
# gauges are refreshed every second, SWITCHBOARD_STORE_PROBE_SECONDS=1).
take_sample() {
  local m db wal
  m=$(curl -s "http://127.0.0.1:$admin_port/metrics")
  db=$(stat -c %s "$data/switchboard.db" 2>/dev/null || echo 0)
  wal=$(stat -c %s "$data/switchboard.db-wal" 2>/dev/null || echo 0)
  awk -v t="$1" -v db="$db" -v wal="$wal" '
    $1 == "switchboard_events_published_total{type=\"call.status_changed\"}" { pub = $2 }
    $1 == "switchboard_store_rows{kind=\"events\"}" { rows = $2 }
    $1 == "switchboard_retention_removed_total{kind=\"events\"}" { rem = $2 }
    $1 == "switchboard_store_size_bytes" { size = $2 }
    $1 == "switchboard_deliveries_total{outcome=\"delivered\",subscriber=\"bench\"}" { del = $2 }
    $1 == "process_cpu_seconds_total" { cpu = $2 }
    END { printf "%s %d %d %d %d %d %d %d %.2f\n", t, db, wal, pub, rows, rem, size, del, cpu }' <<<"$m"
}

# since T0 -> whole seconds from T0 ($EPOCHREALTIME) to now.
since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }'; }

# sampler FILE T0: a sample every $sample seconds from T0 ($EPOCHREALTIME) until killed.
sampler() {
  local t0=$2 next=0
  while :; do
    take_sample "$(since "$t0")" >>"$1"
    next=$((next + sample))
    sleep "$(awk -v a="$t0" -v b="$EPOCHREALTIME" -v n="$next" 'BEGIN { d = a + n - b; printf "%.3f", (d > 0 ? d : 0) }')"
  done
}

mb() { awk -v b="$1" 'BEGIN { printf "%.1f", b / 1048576 }'; }

# load NAME SEGMENT SECONDS RATE BODIES: one wrk run (RATE a second, 0: full speed); sets
# seg[NAME-SEGMENT] to "rps p50 p99 requests" and fails on a non-2xx answer.
load() {
  local rps p50 p99 non2xx total
  read -r rps p50 p99 non2xx total <<<"$(SB_RATE=$4 wrk_one "$sb_port" "$3" "soak-$1-$2" "$connections" "$5" bench/wrk/soak.lua)"
  [[ -n "$total" ]] || { echo "phase $1 ($2): wrk failed" >&2; exit 1; }
  [[ "$non2xx" == 0 ]] || { echo "phase $1 ($2): $non2xx non-2xx responses" >&2; exit 1; }
  seg[$1-$2]="$rps $p50 $p99 $total"
}

# run_phase NAME DAYS DESCRIPTION: the steady load, a sample, the full-speed load, then every
# event delivered; prints the phase's samples and keeps its figures for the summary (the arrays
# below).
run_phase() {
  local name=$1 spid accepted delivered last stalled failures t0 mid requests
  start_phase "$name" "$2"
  t0=$EPOCHREALTIME
  sampler "$work/samples-$name" "$t0" &
  spid=$!
  pids+=("$spid")
  load "$name" steady "$duration" "$rate" "$work/steady.tsv"
  mid=$(take_sample "$(since "$t0")")
  echo "$mid" >>"$work/samples-$name"
  load "$name" full "$saturation" 0 "$work/full.tsv"
  kill "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  take_sample "$(since "$t0")" >>"$work/samples-$name"
  kill -0 "$sb_pid" 2>/dev/null || { echo "phase $name: switchboard stopped" >&2; tail -20 "$log" >&2; exit 1; }
  accepted=$(metric_at "$admin_port" 'switchboard_events_published_total{type="call.status_changed"}')
  # Fewer events than answered requests: the bodies ran out and repeated (de-duplicated).
  requests=$(($(cut -d' ' -f4 <<<"${seg[$name-steady]}") + $(cut -d' ' -f4 <<<"${seg[$name-full]}")))
  ((accepted >= requests)) || { echo "phase $name: $requests requests but $accepted events" >&2; exit 1; }
  # Every event delivered: as long as the deliveries go on arriving (the backlog of the full
  # speed load takes a while), at most 30 s without progress.
  last=-1 stalled=0
  while :; do
    delivered=$(metric_at "$admin_port" 'switchboard_deliveries_total{outcome="delivered",subscriber="bench"}')
    ((delivered >= accepted)) && break
    if ((delivered > last)); then last=$delivered stalled=0; else stalled=$((stalled + 1)); fi
    ((stalled < 300)) || { echo "phase $name: $delivered of $accepted events delivered, none more for 30 s" >&2; exit 1; }
    sleep 0.1
  done
  failures=$(metric_at "$admin_port" switchboard_retention_failures_total)
  ((failures == 0)) || { echo "phase $name: $failures retention passes failed" >&2; grep -m3 'retention pass failed' "$log" >&2; exit 1; }
  # The retention job's own account: one log line per run that removed something.
  job[$name]=$({ grep '"retention removed old records"' "$log" || true; } | awk '
    { n++; if (match($0, /"passes":[0-9]+/)) p += substr($0, RSTART + 9, RLENGTH - 9)
      if (match($0, /"seconds":[0-9.e+-]+/)) s += substr($0, RSTART + 10, RLENGTH - 10) }
    END { printf "%d runs, %d passes, %.1f s", n, p, s }')
  kill -TERM "$sb_pid"
  wait "$sb_pid" || true

  # The steady load: the samples up to its end (mid), its second half the steady state. Sizes
  # are DB + WAL; CPU is the server's over the steady load per 1,000 events.
  read -r half end peak kept gone cpu grow <<<"$(awk -v h="$((duration / 2))" -v m="$mid" '
    BEGIN { split(m, x, " ") } NR == 1 { c0 = $9; e0 = $4 }
    $1 <= x[1] { s = $2 + $3; if ($1 >= h && !seen) { half = s; hev = $4; seen = 1 } if ($1 >= h && s > peak) peak = s }
    END { s = x[2] + x[3]; if (s > peak) peak = s
      printf "%d %d %d %d %d %.1f %.0f\n", half, s, peak, x[5], x[6], 1e6 * (x[9] - c0) / (x[4] - e0), (s - half) / (x[4] - hev) }' \
    "$work/samples-$name")"
  at_half[$name]=$half at_end[$name]=$end peak2[$name]=$peak kept_of[$name]=$kept gone_of[$name]=$gone
  cpu_of[$name]=$cpu per_event[$name]=$grow
  # The full-speed load: how much of it the subscriber got meanwhile.
  full_delivered[$name]=$(awk -v m="$mid" 'BEGIN { split(m, x, " ") } END { printf "%.0f%%", 100 * ($8 - x[8]) / ($4 - x[4]) }' \
    "$work/samples-$name")

  local -a steady full
  read -r -a steady <<<"${seg[$name-steady]}"
  read -r -a full <<<"${seg[$name-full]}"
  printf '  phase %s (%s): steady %.0f req/s (p50 %.3f ms, p99 %.3f ms), then full speed %.0f req/s (p50 %.3f ms, p99 %.3f ms); %d events, all delivered; retention job: %s\n' \
    "$name" "$3" "${steady[@]:0:3}" "${full[@]:0:3}" "$accepted" "${job[$name]}"
  printf '     t/s   load         events accepted   delivered   DB MB   WAL MB   store size MB   events kept   removed by retention\n'
  awk -v m="$(cut -d' ' -f1 <<<"$mid")" '{ printf "  %6d   %-10s   %15d   %9d   %5.1f   %6.1f   %13.1f   %11d   %20d\n",
    $1, $1 <= m ? "steady" : "full speed", $4, $8, $2/1048576, $3/1048576, $7/1048576, $5, $6 }' <(sort -n -s -k1,1 "$work/samples-$name")
}

declare -A seg job at_half at_end peak2 kept_of gone_of cpu_of per_event full_delivered
run_phase A 0 "retention off"
run_phase B "$retention_days" "retention ${retention} s"

echo
echo "  steady load, $rate callbacks a second for $duration s (the steady state: its second half; sizes DB + WAL):"
echo "  | phase | p50 / p99 ms | at half time | at the end | max in the second half | growth per event, second half | events kept at the end | removed by then | server CPU per 1,000 events |"
echo "  |---|---:|---:|---:|---:|---:|---:|---:|---:|"
for p in A B; do
  read -r _ p50 p99 _ <<<"${seg[$p-steady]}"
  printf '  | %s | %.2f / %.2f | %s MB | %s MB | %s MB | %s bytes | %d | %d | %s ms |\n' "$p" "$p50" "$p99" \
    "$(mb "${at_half[$p]}")" "$(mb "${at_end[$p]}")" "$(mb "${peak2[$p]}")" "${per_event[$p]}" "${kept_of[$p]}" \
    "${gone_of[$p]}" "${cpu_of[$p]}"
done
echo "  full speed for $saturation s after it:"
echo "  | phase | accept rate | p50 / p99 ms | requests | delivered meanwhile |"
echo "  |---|---:|---:|---:|---:|"
for p in A B; do
  read -r rps p50 p99 total <<<"${seg[$p-full]}"
  printf '  | %s | %.0f req/s | %.2f / %.2f | %d | %s |\n' "$p" "$rps" "$p50" "$p99" "$total" "${full_delivered[$p]}"
done
echo
read -r rate_a _ <<<"${seg[A-full]}"
read -r rate_b _ <<<"${seg[B-full]}"
awk -v a="$rate_a" -v b="$rate_b" \
  'BEGIN { printf "  accept rate at full speed with retention / without: %.2fx (%.0f / %.0f req/s)\n", b/a, b, a }'
awk -v h="${at_half[A]}" -v e="${at_end[A]}" -v hb="${at_half[B]}" -v eb="${at_end[B]}" -v pb="${peak2[B]}" \
  -v d="$duration" -v r="$rate" -v g="${per_event[A]}" 'BEGIN {
    printf "  steady %d/s, second half: without retention %+.1f MB (%.1f MB a minute, %d bytes an event), with retention %+.1f MB, at most %.1f MB\n",
      r, (e-h)/1048576, (e-h)/1048576 * 60 / (d/2), g, (eb-hb)/1048576, pb/1048576 }'
