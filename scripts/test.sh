#!/usr/bin/env bash
# Runs the whole test suite (builds dist/ first, in vitest's global setup). Extra args go to vitest.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
if ! command -v openssl >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing openssl from apt (the TLS tests make certificates with it)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl
  else
    echo "openssl is not installed; the TLS tests need it (Debian/Ubuntu: 'sudo apt-get install openssl')." >&2
    exit 1
  fi
fi
# The console test drives a real browser: Debian's chromium (no browser download works offline).
CHROMIUM_BIN=${CHROMIUM_BIN:-$(command -v chromium || true)}
if [ -z "$CHROMIUM_BIN" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing chromium from apt (the console test runs it headless)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    CHROMIUM_BIN=$(command -v chromium)
  else
    echo "chromium is not installed; the console test needs it (Debian/Ubuntu: 'sudo apt-get install chromium'," >&2
    echo "or set CHROMIUM_BIN to a Chromium or Chrome binary)." >&2
    exit 1
  fi
fi
export CHROMIUM_BIN
NATS_SERVER_BIN=$(bash scripts/nats-server-path.sh)
export NATS_SERVER_BIN
exec npx vitest run "$@"
