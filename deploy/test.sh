#!/usr/bin/env bash
# One command for the whole test suite: installs every dependency (Debian packages, npm
# packages), builds, and runs ctest on a release build, a short run of every fuzz target
# (clang, libFuzzer), an ASan+UBSan build and a ThreadSanitizer build (the server runs
# several I/O threads).
#   deploy/test.sh           everything (what CI runs)
#   deploy/test.sh --quick   release build only
set -euo pipefail
cd "$(dirname "$0")/.."

quick=false
if [[ "${1:-}" == "--quick" ]]; then
  quick=true
fi
jobs=$(nproc)

deploy/install-deps.sh --with-test-tools
(cd tests && npm ci --no-audit --no-fund --loglevel=error)

# Warnings are errors in every build the tests make (the release build, the fuzz targets and
# both sanitizer builds): a new warning fails the suite instead of scrolling by.
werror=-DCMAKE_COMPILE_WARNING_AS_ERROR=ON

run_preset() {
  local preset=$1
  echo "== ${preset}: configure and build"
  cmake --preset "${preset}" "${werror}" >/dev/null
  cmake --build --preset "${preset}" -j "${jobs}"
  echo "== ${preset}: tests"
  ctest --preset "${preset}" -j "${jobs}"
}

run_preset release
if [[ "${quick}" == false ]]; then
  echo "== fuzz: build the libFuzzer targets and run each for 10 s (tests/fuzz/README.md)"
  # One command per line: set -e does not stop at a failure inside an && list.
  cmake --preset fuzz "${werror}" >/dev/null
  cmake --build --preset fuzz -j "${jobs}"
  tests/fuzz/run.sh 10
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1:strict_string_checks=1
  export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_preset asan
  unset ASAN_OPTIONS UBSAN_OPTIONS
  # exitcode=66 on any report: the integration tests require exit 0 from the server.
  export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
  run_preset tsan
fi
echo "== all tests passed"
