// nats-floor: a Node requester doing request-reply straight to the responder (no HTTP). The
// orchestrator sends {concurrency, durationMs, payloadBytes} — or {concurrency, requests,
// payloadBytes} for an exact number of requests — and it answers with counts, latencies and its
// own CPU time for that run.
import { connect } from '@nats-io/transport-node';

const nc = await connect({ servers: process.env.NATS_URL, noAsyncTraces: true });

async function run({ concurrency, durationMs, requests, payloadBytes }) {
  const payload = Buffer.alloc(payloadBytes, 120);
  const latencies = [];
  let errors = 0;
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + (durationMs ?? Infinity);
  let sent = 0;
  const more = () => (requests === undefined ? performance.now() < deadline : sent++ < requests);
  async function loop() {
    while (more()) {
      const t0 = performance.now();
      try {
        await nc.request('bench.echo', payload, { timeout: 5000 });
        latencies.push(performance.now() - t0);
      } catch {
        errors++;
      }
    }
  }
  await Promise.all(Array.from({ length: concurrency }, loop));
  const elapsedMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  latencies.sort((a, b) => a - b);
  const pick = (q) =>
    latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? 0;
  return {
    requests: latencies.length,
    errors,
    elapsedMs,
    p50Ms: pick(0.5),
    p99Ms: pick(0.99),
    cpuMicros: cpu.user + cpu.system,
  };
}

process.on('message', (m) => {
  void run(m).then((result) => process.send?.(result));
});
process.send?.({ ready: true });
