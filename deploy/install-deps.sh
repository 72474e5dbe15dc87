#!/usr/bin/env bash
# Installs every Debian 12 package Switchboard needs to build, test and benchmark.
# Idempotent: packages already present are skipped; apt-get update runs only when something is missing.
set -euo pipefail

build_pkgs=(
  g++ cmake ninja-build pkg-config git ca-certificates openssl
  libboost1.81-dev libboost-json1.81-dev libboost-url1.81-dev libboost-test1.81-dev
  libssl-dev prometheus-cpp-dev libhiredis-dev libsqlite3-dev libjwt-dev libbenchmark-dev
  libhowardhinnant-date-dev
)
# clang-14 builds tests/fuzz; libFuzzer and the sanitizer runtimes are in libclang-rt-14-dev, which
# clang-14's packages only recommend. chromium runs the operator console's browser test (driven
# by npm playwright-core).
test_pkgs=(prometheus redis-server nginx-light wrk yamllint curl clang-format clang-14 libclang-rt-14-dev chromium)
# bench/run.sh counts allocations per request with heaptrack.
bench_pkgs=(heaptrack)

tests=false
bench=false
for arg in "$@"; do
  case "$arg" in
    --with-test-tools) tests=true ;;
    --with-bench-tools) tests=true; bench=true ;;
    *) echo "install-deps: unknown argument $arg (--with-test-tools, --with-bench-tools)" >&2; exit 2 ;;
  esac
done

want=("${build_pkgs[@]}")
if [[ "$bench" == true ]]; then
  want+=("${bench_pkgs[@]}")
fi
if [[ "$tests" == true ]]; then
  want+=("${test_pkgs[@]}")
  # Node.js may come from another packager that bundles npm; only ask Debian when a command is absent.
  command -v node >/dev/null 2>&1 || want+=(nodejs)
  command -v npm >/dev/null 2>&1 || want+=(npm)
fi

missing=()
for p in "${want[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "install-deps: all packages present" >&2
fi
