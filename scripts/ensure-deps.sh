#!/usr/bin/env bash
# Installs what the demo and the tests need on a fresh Debian machine with Node:
# the npm dependencies (when missing or older than package-lock.json) and nats-server.
set -euo pipefail
cd "$(dirname "$0")/.."

node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
  echo "nats-http-gateway needs Node.js 20.19 or newer (found: $(node --version 2>/dev/null || echo none))." >&2
  exit 1
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund
fi

if ! command -v nats-server >/dev/null 2>&1 && [ ! -x /usr/sbin/nats-server ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing nats-server from apt"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server
  else
    echo "nats-server is not installed. Install it (Debian/Ubuntu: 'sudo apt-get install nats-server'," >&2
    echo "macOS: 'brew install nats-server', or a release binary from the NATS project) and retry." >&2
    exit 1
  fi
fi
