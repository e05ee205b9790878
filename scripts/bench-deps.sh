#!/usr/bin/env bash
# Installs what `npm run bench` can use beyond `npm ci` and nats-server, from Debian's packages:
# Go and nats.go for the Go peer, and wrk as the load generator. Installs only what is missing, and
# only as root with apt-get; otherwise it says what to install and exits 1. Without them the
# benchmark still runs: it skips the Go peer and falls back to autocannon.
set -euo pipefail

missing=()
command -v go >/dev/null 2>&1 || missing+=(golang-go)
[ -d /usr/share/gocode/src/github.com/nats-io/nats.go ] || missing+=(golang-github-nats-io-go-nats-dev)
command -v wrk >/dev/null 2>&1 || missing+=(wrk)

if [ "${#missing[@]}" -eq 0 ]; then
  echo "==> benchmark dependencies present: $(go version), wrk"
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> installing ${missing[*]} from apt"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
else
  echo "missing: ${missing[*]}. Debian/Ubuntu: 'sudo apt-get install ${missing[*]}'." >&2
  exit 1
fi
