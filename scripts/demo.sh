#!/usr/bin/env bash
# Starts a local nats-server (on a free port, so it never collides with one already running), the
# example responders and the gateway on http://localhost:${PORT:-8080}. Ctrl-C stops all three.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-deps.sh
echo "==> building"
npm run --silent build

work=$(mktemp -d)
pids=()
cleanup() {
  # Gateway and responders first, nats-server last, so they can drain cleanly.
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
    kill "${pids[$i]}" 2>/dev/null || true
    wait "${pids[$i]}" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 0' INT TERM

# Each child runs in its own session, so Ctrl-C in the terminal reaches it only through cleanup: one
# SIGTERM each, in order (a gateway that got Ctrl-C and then cleanup's SIGTERM would take the second
# signal as "exit now" and skip draining).
setsid "$(bash scripts/nats-server-path.sh)" -a 127.0.0.1 -p -1 --ports_file_dir "$work" >"$work/nats.log" 2>&1 &
pids+=($!)
ports_file="$work/nats-server_${pids[0]}.ports"
for _ in $(seq 1 200); do [ -s "$ports_file" ] && break; sleep 0.05; done
[ -s "$ports_file" ] || { echo "nats-server did not start:" >&2; cat "$work/nats.log" >&2; exit 1; }
NATS_URL=$(node -p "JSON.parse(require('fs').readFileSync('$ports_file','utf8')).nats[0]")
export NATS_URL
echo "==> nats-server at $NATS_URL"

# The responders first, so that the gateway's first discovery round finds the inventory service.
setsid node examples/responders.mjs > >(tee "$work/responders.log") &
pids+=($!)
for _ in $(seq 1 200); do grep -q 'example responders ready' "$work/responders.log" 2>/dev/null && break; sleep 0.05; done
setsid node --max-semi-space-size=8 --min-semi-space-size=8 --no-flush-bytecode --initial-old-space-size=64 --no-allocation-site-pretenuring dist/main.js --config config/demo.yaml &
pids+=($!)
# The banner once the gateway answers, so its first curl does too.
node -e '
  const url = `http://127.0.0.1:${process.env.PORT || 8080}/readyz`;
  const until = Date.now() + 15000;
  (async function poll() {
    const ok = await fetch(url).then((r) => r.status === 200, () => false);
    if (ok || Date.now() > until) return;
    setTimeout(poll, 100);
  })();
'

cat <<MSG
==> gateway on http://localhost:${PORT:-8080} — try:
  curl -sS -X POST localhost:${PORT:-8080}/rr/demo.echo -H 'Content-Type: text/plain' --data 'hello'
  curl -sS -X POST 'localhost:${PORT:-8080}/rr/demo.slow?timeout=500ms' --data x     # 504
  curl -sS -X POST localhost:${PORT:-8080}/rr/demo.nobody --data x                   # 503
  curl -sS -X POST localhost:${PORT:-8080}/rr/demo.greet                             # service error 400
  curl -sS -X POST localhost:${PORT:-8080}/rr/demo.headers -H 'X-Multi: a' -H 'X-Multi: b'
  curl -sS 'localhost:${PORT:-8080}/headers/alice?verbose=1'                        # a mapped route
  curl -sS localhost:${PORT:-8080}/inventory/ABC-1                                 # a service's own route
  curl -sS localhost:${PORT:-8080}/services                                        # what discovery found
  curl -sS localhost:${PORT:-8080}/openapi.json                                    # the live API
Ctrl-C stops everything.
MSG
wait -n "${pids[@]}"
