// Where the gateway's tail latency comes from at many connections: the gateway and the Go peer
// under the same load (128 B, c=256 by default), alternated, and for the gateway what its event
// loop and garbage collector did in the same window (prom-client's event-loop delay histogram and
// GC pause histogram, read from /metrics before and after each window).
//   node bench/tail.mjs [--connections 256] [--seconds 5] [--reps 3] [--workers 1]
import { fork } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildGoGateway, startGoGateway } from './lib/go-gateway.mjs';
import { loadGenerator, runLoad } from './lib/load.mjs';
import { cpuMicros, processTree, rssBytes } from './lib/proc.mjs';
import { runToEnd, startGatewayProcess, startNats } from './lib/stack.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    connections: { type: 'string', default: '256' },
    seconds: { type: 'string', default: '5' },
    reps: { type: 'string', default: '3' },
    workers: { type: 'string', default: '1' },
  },
});
const CONNECTIONS = Number(args.connections);
const WINDOW_MS = Number(args.seconds) * 1000;
const work = mkdtempSync(join(tmpdir(), 'nhg-tail-'));
const children = [];
const generator = loadGenerator();

/** The series of one /metrics scrape, by name with labels (`name{labels}` → value). */
async function scrape(base) {
  const text = await (await fetch(`${base}/metrics`)).text();
  const series = new Map();
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line === '') continue;
    const at = line.lastIndexOf(' ');
    series.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return series;
}

/** GC pauses in a window: count, total and those over 10 ms, summed over kinds (major, minor, …). */
function gcBetween(before, after) {
  let count = 0;
  let seconds = 0;
  let over10ms = 0;
  for (const [name, value] of after) {
    const delta = value - (before.get(name) ?? 0);
    if (name.startsWith('nhg_nodejs_gc_duration_seconds_count')) count += delta;
    else if (name.startsWith('nhg_nodejs_gc_duration_seconds_sum')) seconds += delta;
    else if (name.startsWith('nhg_nodejs_gc_duration_seconds_bucket') && name.includes('le="0.01"'))
      over10ms -= delta;
  }
  // Pauses over 10 ms: all of them less those at or under 10 ms.
  return { count, totalMs: seconds * 1000, over10ms: over10ms + count };
}

async function main() {
  const natsUrl = await startNats(work, children);
  const responder = fork(join(import.meta.dirname, 'targets/echo-responder.mjs'), [], {
    env: { ...process.env, NATS_URL: natsUrl },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(responder);
  await new Promise((res) => responder.once('message', res));

  const { pid, base } = await startGatewayProcess({
    root: ROOT,
    workDir: work,
    children,
    natsUrl,
    workers: args.workers,
  });

  const targets = { gateway: { url: `${base}/rr/bench.echo`, pid } };
  const go = buildGoGateway(work);
  if (go.binary) {
    const g = startGoGateway(go.binary, natsUrl);
    children.push(g.child);
    targets.go = { url: `http://127.0.0.1:${await g.port}/rr/bench.echo`, pid: g.child.pid };
  } else {
    process.stderr.write(`==> no Go peer: ${go.skipped}\n`);
  }

  const load = (url, durationMs) =>
    runLoad({
      generator,
      url,
      connections: CONNECTIONS,
      durationMs,
      payloadBytes: 128,
      workDir: work,
    });
  for (const t of Object.values(targets)) await load(t.url, 2000); // warm-up

  const rows = [];
  for (let rep = 0; rep < Number(args.reps); rep++) {
    for (const [name, t] of Object.entries(targets)) {
      const before = name === 'gateway' ? await scrape(base) : undefined;
      // With workers, the primary and each worker: CPU summed, RSS summed at each sample.
      const pids = processTree(t.pid);
      const cpu = () => pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
      const cpuBefore = cpu();
      let peakRss = 0;
      const sampler = setInterval(() => {
        peakRss = Math.max(
          peakRss,
          pids.reduce((sum, pid) => sum + rssBytes(pid), 0),
        );
      }, 50);
      const r = await load(t.url, WINDOW_MS);
      clearInterval(sampler);
      const row = {
        rep,
        name,
        rps: Math.round(r.rps),
        p50Ms: r.p50Ms,
        p99Ms: r.p99Ms,
        cpuUsPerReq: Math.round((cpu() - cpuBefore) / r.requests),
        peakRssMiB: Math.round(peakRss / 1048576),
      };
      if (before) {
        const after = await scrape(base);
        Object.assign(row, {
          // One worker's view with workers: prom-client's aggregate of these gauges is not a percentile.
          loopDelayP50Ms: after.get('nhg_nodejs_eventloop_lag_p50_seconds') * 1000,
          loopDelayP99Ms: after.get('nhg_nodejs_eventloop_lag_p99_seconds') * 1000,
          loopDelayMaxMs: after.get('nhg_nodejs_eventloop_lag_max_seconds') * 1000,
          gc: gcBetween(before, after),
        });
      }
      rows.push(row);
      process.stderr.write(`${JSON.stringify(row)}\n`);
    }
  }
  process.stdout.write(`${JSON.stringify({ connections: CONNECTIONS, rows }, null, 1)}\n`);
}

runToEnd(main, { children, workDir: work, failure: 'tail analysis failed' });
