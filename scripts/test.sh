#!/usr/bin/env bash
# Runs the whole test suite (builds dist/ first, in vitest's global setup). Extra args go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
NATS_SERVER_BIN=$(bash scripts/nats-server-path.sh)
export NATS_SERVER_BIN
exec npx vitest run "$@"
