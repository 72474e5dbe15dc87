#!/usr/bin/env bash
# One command from a fresh Debian 12 machine: install what is missing, build, and run the
# service on its embedded defaults (JobMatch IVR on :8080, admin on :9090, development token).
# Extra arguments go to the binary, e.g. deploy/run.sh --config switchboard.json
set -euo pipefail
cd "$(dirname "$0")/.."

deploy/install-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release --target switchboard

# Without TWILIO_AUTH_TOKEN, --dev generates a token and prints how to sign requests with it.
dev=()
if [[ -z "${TWILIO_AUTH_TOKEN:-}" && -z "${TWILIO_AUTH_TOKEN_FILE:-}" ]]; then
  dev=(--dev)
fi
exec build/release/service/switchboard "${dev[@]}" "$@"
