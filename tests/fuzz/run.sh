#!/usr/bin/env bash
# Runs every built fuzz target for N seconds (default 10) on a scratch copy of its seed corpus
# (the checked-in corpus does not grow); fails if any target crashes, leaks, times out or runs
# out of memory. Usage: tests/fuzz/run.sh [seconds-per-target]
#   SWITCHBOARD_FUZZ_BUILD  directory of the *_fuzz binaries (default build/fuzz/tests/fuzz)
#   SWITCHBOARD_FUZZ_JOBS   targets run at once (default: the number of cores)
#   SWITCHBOARD_FUZZ_KEEP   keep the grown corpora and logs in this directory
#   SWITCHBOARD_FUZZ_SEED   libFuzzer's random seed (default 1: the test command's run is
#                           repeatable; set 0 for a fresh one)
#   SWITCHBOARD_FUZZ_RUNS   stop each target after this many executions instead of after N
#                           seconds (the long run: SWITCHBOARD_FUZZ_RUNS=10000000)
#   SWITCHBOARD_FUZZ_ONLY   space-separated target names to run (default: all)
set -euo pipefail

seconds=${1:-10}
seed=${SWITCHBOARD_FUZZ_SEED:-1}
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${SWITCHBOARD_FUZZ_BUILD:-$root/build/fuzz/tests/fuzz}
jobs=${SWITCHBOARD_FUZZ_JOBS:-$(nproc)}
artifacts=$root/build/fuzz/artifacts

if [[ -n ${SWITCHBOARD_FUZZ_RUNS:-} ]]; then
  budget=(-runs="$SWITCHBOARD_FUZZ_RUNS")
else
  budget=(-max_total_time="$seconds")
fi

targets=()
if [[ -n ${SWITCHBOARD_FUZZ_ONLY:-} ]]; then
  for name in $SWITCHBOARD_FUZZ_ONLY; do
    [[ -x $build/${name}_fuzz ]] || { echo "run.sh: no target $name in $build" >&2; exit 1; }
    targets+=("$build/${name}_fuzz")
  done
else
  for bin in "$build"/*_fuzz; do
    [[ -x $bin ]] && targets+=("$bin")
  done
fi
if [[ ${#targets[@]} -eq 0 ]]; then
  echo "run.sh: no fuzz targets in $build (build them: cmake --preset fuzz && cmake --build --preset fuzz)" >&2
  exit 1
fi

work=${SWITCHBOARD_FUZZ_KEEP:-$(mktemp -d)}
[[ -n ${SWITCHBOARD_FUZZ_KEEP:-} ]] || trap 'rm -rf "$work"' EXIT
mkdir -p "$work" "$artifacts"
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}

run_one() {
  local bin=$1 name
  name=$(basename "$bin" _fuzz)
  rm -rf "$work/$name"
  mkdir -p "$work/$name"
  if [[ -d $here/corpus/$name ]]; then
    cp "$here/corpus/$name"/* "$work/$name"/
  fi
  set +e
  "$bin" "${budget[@]}" -seed="$seed" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name-" "$work/$name" >"$work/$name.log" 2>&1
  echo $? >"$work/$name.rc"
}

running=0
for bin in "${targets[@]}"; do
  run_one "$bin" &
  running=$((running + 1))
  if [[ $running -ge $jobs ]]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

failed=0
printf '%-20s %12s %10s %8s %9s  %s\n' target executions exec/s corpus seconds result
for bin in "${targets[@]}"; do
  name=$(basename "$bin" _fuzz)
  log=$work/$name.log
  rc=$(cat "$work/$name.rc")
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  units=$(find "$work/$name" -type f | wc -l)
  secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  if [[ $rc -eq 0 ]]; then
    result=ok
  else
    result="FAILED (exit $rc)"
    failed=1
  fi
  printf '%-20s %12s %10s %8s %9s  %s\n' "$name" "${runs:-?}" "${rate:-?}" "$units" "${secs:-?}" "$result"
done
if [[ $failed -ne 0 ]]; then
  for bin in "${targets[@]}"; do
    name=$(basename "$bin" _fuzz)
    if [[ $(cat "$work/$name.rc") -ne 0 ]]; then
      echo "---- $name ($work/$name.log, reproducer in $artifacts/$name-*)"
      grep -E -A12 'invariant violated|escaped exception|runtime error|^==[0-9]+==ERROR' "$work/$name.log" | head -40
      grep -E 'Test unit written|^Base64:' "$work/$name.log" | head -4
    fi
  done
  exit 1
fi
