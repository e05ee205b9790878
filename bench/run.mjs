// The benchmark: one command starts nats-server, the echo responder, the floors, the naive gateway,
// the built gateway and its peers (a Go gateway, moleculer-web) on loopback, measures them
// interleaved in the same run, and prints a table.
//   node bench/run.mjs [--quick] [--json FILE] [--targets gateway,naive,...] [--no-inflight] [--no-sustained] [--pin]
import { fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildGoGateway, startGoGateway } from './lib/go-gateway.mjs';
import { PROXY_HEADERS, loadGenerator, runLoad } from './lib/load.mjs';
import { cpuMicros, pinTo, processTree, sampleRss } from './lib/proc.mjs';
import {
  GATEWAY_NODE_FLAGS,
  GATEWAY_TARGETS,
  runToEnd,
  startGatewayProcess,
  startNats,
} from './lib/stack.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    json: { type: 'string' },
    targets: { type: 'string', default: 'nats-floor,http-floor,naive,gateway,go,moleculer-web' },
    workers: { type: 'string', default: '1' },
    'no-inflight': { type: 'boolean', default: false },
    'no-sustained': { type: 'boolean', default: false },
    pin: { type: 'boolean', default: false },
    inflight: { type: 'string', default: '10000' },
    'proxy-headers': { type: 'boolean', default: false },
  },
});

// Six targets fit the time budgets (quick under 2 minutes, full under 12) with 2 s windows in the
// quick run and a 2 s start-up load in the full one.
const PLAN = args.quick
  ? { payloads: [128, 16384], concurrency: [1, 64], reps: 1, warmMs: 1000, measureMs: 2000 }
  : {
      payloads: [128, 16384],
      concurrency: [1, 16, 64, 256],
      reps: 3,
      warmMs: 1000,
      measureMs: 3000,
    };
// One gateway under load for longer than a cell: 3 s windows on fresh processes hid how its heap
// settles (bench/README.md, "Pretenuring under sustained load").
const SUSTAINED = {
  cell: { payloadBytes: 128, concurrency: 256 },
  timing: { warmMs: 0, measureMs: args.quick ? 5_000 : 30_000 },
};
// The first load each fresh target process gets, before its cells: enough requests for V8 to
// optimise the hot path. It is measured too, and reported apart from the cells.
const START_CONCURRENCY = 64;
const START_TIMING = { warmMs: 0, measureMs: args.quick ? 1000 : 2000 };
const TARGETS = args.targets.split(',');
const REQUEST_HEADERS = args['proxy-headers'] ? PROXY_HEADERS : [];
/** Targets that are plain HTTP servers in their own process (the gateway is started on its own). */
const HTTP_TARGET_FILES = {
  'http-floor': 'http-floor.mjs',
  naive: 'naive-gateway.mjs',
  minimal: 'minimal-gateway.mjs',
  core: 'core-gateway.mjs',
  'moleculer-web': 'moleculer-web.mjs',
};
/** Targets outside the default set, each there to compare the gateway with. */
const OPTIONAL_TARGETS = ['minimal', 'core', 'gateway-route'];
/**
 * Gateways built by others, measured as their users run them (bench/README.md, "Peers"); a peer
 * that cannot run here is skipped with the reason. They are measured at c=1, 64 and 256, the cells
 * the gateway is held to them in; leaving out c=16 keeps the full run under 12 minutes.
 */
const PEERS = ['go', 'moleculer-web'];
const PEER_CONCURRENCY = new Set([1, 64, 256]);
const measuredAt = (name, concurrency) =>
  !PEERS.includes(name) || PEER_CONCURRENCY.has(concurrency);
/** Targets that run with the gateway's Node flags, so they differ from it only in code. */
const WITH_GATEWAY_FLAGS = new Set(['core']);
for (const name of TARGETS) {
  if (
    !(name in HTTP_TARGET_FILES) &&
    !PEERS.includes(name) &&
    name !== 'nats-floor' &&
    !(name in GATEWAY_TARGETS)
  ) {
    process.stderr.write(`unknown target ${name}\n`);
    process.exit(2);
  }
}

// With --pin the process under test gets the last CPU to itself; nats-server, the responder, the load
// generator and this orchestrator share the others. Each target then shows what it costs on one core,
// and neighbours' bursts no longer land on it; on two cores, though, the shared CPU becomes the limit
// for the fastest targets (their "CPU busy" drops below ~95 %). A clustered gateway is meant to use
// every core, so it is never pinned.
const CPUS = availableParallelism();
const TEST_CPU = String(CPUS - 1);
const HELPER_CPUS = CPUS > 2 ? `0-${CPUS - 2}` : '0';
const PIN = args.pin && CPUS >= 2 && Number(args.workers) === 1 && pinTo(process.pid, HELPER_CPUS);
/** How this run differs from the default one, for the start line and the table's heading. */
const SETUP = [
  PIN
    ? `process under test pinned to CPU ${TEST_CPU}, nats-server, responder and load generator on ${HELPER_CPUS}`
    : 'no CPU pinning',
  REQUEST_HEADERS.length > 0 ? `${REQUEST_HEADERS.length} proxy headers per request` : '',
]
  .filter(Boolean)
  .join('; ');
const work = mkdtempSync(join(tmpdir(), 'nhg-bench-'));
const children = [];
const generator = loadGenerator();

function log(message) {
  process.stderr.write(`${message}\n`);
}

/** Moves a target process onto the CPU kept for the process under test. */
function underTest(pid) {
  if (PIN && !pinTo(pid, TEST_CPU)) throw new Error(`could not pin ${pid} to CPU ${TEST_CPU}`);
}

function track(child) {
  children.push(child);
  return child;
}

function forkTarget(file, env, execArgv = process.execArgv) {
  const child = track(
    fork(join(import.meta.dirname, 'targets', file), [], {
      env: { ...process.env, ...env },
      execArgv,
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    }),
  );
  const first = new Promise((res, rej) => {
    child.once('message', res);
    child.once('exit', (code) => rej(new Error(`${file} exited (${code})`)));
  });
  return { child, first };
}

async function startGateway(natsUrl, name = 'gateway') {
  const gateway = await startGatewayProcess({
    root: ROOT,
    workDir: work,
    children,
    natsUrl,
    name,
    workers: args.workers,
  });
  underTest(gateway.pid);
  return { ...gateway, url: `${gateway.base}${GATEWAY_TARGETS[name].path}` };
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function loadHttp(target, cell, durationMs) {
  return runLoad({
    generator,
    url: target.url,
    connections: cell.concurrency,
    durationMs,
    payloadBytes: cell.payloadBytes,
    workDir: work,
    headers: REQUEST_HEADERS,
  });
}

/** Warms `target` for `timing.warmMs` (none when 0), then measures it for `timing.measureMs`. */
async function measureHttp(target, cell, timing) {
  if (timing.warmMs > 0) await loadHttp(target, cell, timing.warmMs);
  // A clustered gateway is its primary plus workers: count them all.
  const pids = processTree(target.pid);
  const cpu0 = pids.reduce((sum, pid) => sum + cpuMicros(pid), 0);
  const rss = pids.map((pid) => sampleRss(pid));
  const t0 = performance.now();
  const load = await loadHttp(target, cell, timing.measureMs);
  const wallMicros = (performance.now() - t0) * 1000;
  const cpu = pids.reduce((sum, pid) => sum + cpuMicros(pid), 0) - cpu0;
  const peakRss = rss.reduce((sum, s) => sum + s.stop(), 0);
  return {
    ...load,
    cpuMicrosPerRequest: cpu / Math.max(1, load.requests),
    cpuBusy: cpu / wallMicros,
    peakRssBytes: peakRss,
  };
}

/** Has the `nats-floor` requester run `m` ({ concurrency, durationMs, payloadBytes }) and report. */
function askNatsFloor(target, m) {
  return new Promise((res) => {
    target.child.once('message', res);
    target.child.send(m);
  });
}

async function measureNatsFloor(target, cell, timing) {
  if (timing.warmMs > 0) await askNatsFloor(target, { ...cell, durationMs: timing.warmMs });
  const rss = sampleRss(target.child.pid);
  const r = await askNatsFloor(target, { ...cell, durationMs: timing.measureMs });
  return {
    requests: r.requests,
    errors: r.errors,
    rps: r.requests / (r.elapsedMs / 1000),
    p50Ms: r.p50Ms,
    p99Ms: r.p99Ms,
    cpuMicrosPerRequest: r.cpuMicros / Math.max(1, r.requests),
    cpuBusy: r.cpuMicros / (r.elapsedMs * 1000),
    peakRssBytes: rss.stop(),
  };
}

async function inflightTest(gateway, count) {
  const client = fork(join(import.meta.dirname, 'lib/inflight-client.mjs'), [], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  children.push(client);
  const rss = sampleRss(gateway.pid, 25);
  const result = await new Promise((res, rej) => {
    client.once('message', res);
    client.once('exit', (code) => rej(new Error(`in-flight client exited (${code})`)));
    client.send({ url: `${gateway.base}/rr/bench.slow`, count });
  });
  return { ...result, peakRssBytes: rss.stop() };
}

/**
 * Builds the Go peer and checks that moleculer is installed; drops each peer that cannot run here
 * from TARGETS and says why. Returns the Go binary (when built) and the reasons by peer.
 */
function preparePeers() {
  const skipped = {};
  let goBinary;
  if (TARGETS.includes('go')) {
    const build = buildGoGateway(work);
    if (build.binary) goBinary = build.binary;
    else skipped.go = build.skipped;
  }
  if (TARGETS.includes('moleculer-web')) {
    const require = createRequire(import.meta.url);
    try {
      for (const name of ['moleculer', 'moleculer-web', 'nats']) require.resolve(name);
    } catch {
      skipped['moleculer-web'] = 'moleculer, moleculer-web or nats is not installed (run npm ci)';
    }
  }
  for (const [name, reason] of Object.entries(skipped)) {
    TARGETS.splice(TARGETS.indexOf(name), 1);
    log(`==> skipping ${name}: ${reason}`);
  }
  return { goBinary, skipped };
}

const fmt = (n, digits = 0) => (n === undefined || Number.isNaN(n) ? '-' : n.toFixed(digits));
const mib = (b) => fmt(b / 1048576, 1);

async function main() {
  log(`==> load generator: ${generator}; plan: ${JSON.stringify(PLAN)}; ${SETUP}`);
  const { goBinary, skipped } = preparePeers();
  const natsUrl = await startNats(work, children);
  const responder = forkTarget('echo-responder.mjs', { NATS_URL: natsUrl });
  await responder.first;
  // moleculer-web's far side: a moleculer service node, for the whole run like the responder.
  if (TARGETS.includes('moleculer-web')) {
    await forkTarget('moleculer-echo.mjs', { NATS_URL: natsUrl }).first;
  }

  // Fresh target processes for each payload size: a peak RSS then belongs to that payload's cells,
  // not to whatever an earlier cell left in V8's young generation or malloc's arenas.
  async function startTargets() {
    const targets = {};
    const started = [];
    for (const name of TARGETS) {
      if (name === 'nats-floor') {
        const t = forkTarget('nats-floor.mjs', { NATS_URL: natsUrl });
        await t.first;
        underTest(t.child.pid);
        started.push(t.child);
        targets[name] = { child: t.child, measure: measureNatsFloor };
      } else if (name === 'go') {
        const g = startGoGateway(goBinary, natsUrl);
        track(g.child);
        const port = await g.port;
        underTest(g.child.pid);
        started.push(g.child);
        targets[name] = {
          pid: g.child.pid,
          url: `http://127.0.0.1:${port}/rr/bench.echo`,
          measure: measureHttp,
        };
      } else if (name in HTTP_TARGET_FILES) {
        const t = forkTarget(
          HTTP_TARGET_FILES[name],
          { NATS_URL: natsUrl },
          WITH_GATEWAY_FLAGS.has(name) ? GATEWAY_NODE_FLAGS : undefined,
        );
        const { port } = await t.first;
        underTest(t.child.pid);
        started.push(t.child);
        targets[name] = {
          pid: t.child.pid,
          url: `http://127.0.0.1:${port}/rr/bench.echo`,
          measure: measureHttp,
        };
      } else if (name in GATEWAY_TARGETS) {
        const g = await startGateway(natsUrl, name);
        started.push(g.child);
        targets[name] = { ...g, measure: measureHttp };
      }
    }
    const stop = () =>
      Promise.all(
        started.map(
          (child) =>
            new Promise((resolve) => {
              if (child.exitCode !== null || child.signalCode !== null) return resolve();
              child.once('exit', resolve);
              child.kill('SIGTERM');
            }),
        ),
      );
    return { targets, stop };
  }

  const samples = {};
  const startups = {};
  for (let rep = 0; rep < PLAN.reps; rep++) {
    for (const payloadBytes of PLAN.payloads) {
      const { targets, stop } = await startTargets();
      // A server runs for days; its first seconds are start-up, not its cost per request. V8 needs
      // thousands of calls before it optimises a function, and a process with more code (the
      // gateway) needs more of them: measured fresh, its first 4 s at c=1 cost 3x its steady state
      // (629 against ~210 CPU µs per request at 16 KiB; `minimal`: 293 against ~190). So every
      // target first gets the same load right after it starts, reported on its own as start-up.
      for (const name of TARGETS) {
        const cell = { payloadBytes, concurrency: START_CONCURRENCY };
        const r = await targets[name].measure(targets[name], cell, START_TIMING);
        (startups[`${payloadBytes}|${name}`] ??= []).push(r);
        log(
          `rep ${rep + 1} ${payloadBytes}B start-up ${name}: ${fmt(r.rps)} req/s ${fmt(r.cpuMicrosPerRequest)} µs/req`,
        );
      }
      for (const concurrency of PLAN.concurrency) {
        const cell = { payloadBytes, concurrency };
        // Rotate the order each repetition so no target always runs first (or last) in a cell.
        const order = TARGETS.map((_, i) => TARGETS[(i + rep) % TARGETS.length]).filter((name) =>
          measuredAt(name, concurrency),
        );
        for (const name of order) {
          const r = await targets[name].measure(targets[name], cell, PLAN);
          const key = `${cell.payloadBytes}|${cell.concurrency}|${name}`;
          (samples[key] ??= []).push(r);
          log(
            `rep ${rep + 1} ${cell.payloadBytes}B c=${cell.concurrency} ${name}: ${fmt(r.rps)} req/s p99 ${fmt(r.p99Ms, 2)} ms ${fmt(r.cpuMicrosPerRequest)} µs/req${r.errors ? ` errors ${r.errors}` : ''}`,
          );
        }
      }
      await stop();
    }
  }

  const cells = PLAN.payloads.flatMap((payloadBytes) =>
    PLAN.concurrency.map((concurrency) => ({ payloadBytes, concurrency })),
  );
  const rows = [];
  for (const cell of cells) {
    const m = {};
    for (const name of TARGETS) {
      const s = samples[`${cell.payloadBytes}|${cell.concurrency}|${name}`];
      if (!s) continue;
      m[name] = {
        rps: median(s.map((x) => x.rps)),
        p50Ms: median(s.map((x) => x.p50Ms)),
        p99Ms: median(s.map((x) => x.p99Ms)),
        cpuMicrosPerRequest: median(s.map((x) => x.cpuMicrosPerRequest)),
        cpuBusy: median(s.map((x) => x.cpuBusy)),
        peakRssBytes: Math.max(...s.map((x) => x.peakRssBytes)),
        errors: s.reduce((sum, x) => sum + (x.errors ?? 0), 0),
      };
    }
    // Each ratio is taken within one repetition — the targets it compares ran seconds apart — and
    // the median of those is reported: the machine's speed drifts over minutes, and medians taken
    // per target first would pair one repetition's gateway with another's floors.
    // A ratio whose targets were not all measured comes out NaN and is skipped.
    const perRep = (ratio) => {
      const values = [];
      for (let rep = 0; rep < PLAN.reps; rep++) {
        const r = Object.fromEntries(
          TARGETS.map((name) => [
            name,
            samples[`${cell.payloadBytes}|${cell.concurrency}|${name}`]?.[rep],
          ]),
        );
        const v = ratio(r);
        if (Number.isFinite(v)) values.push(v);
      }
      return values.length ? median(values) : undefined;
    };
    const combined = (r) => 1 / (1 / r['http-floor']?.rps + 1 / r['nats-floor']?.rps);
    rows.push({
      ...cell,
      targets: m,
      combinedFloorRps: perRep(combined),
      gatewayOverCombined: perRep((r) => r.gateway?.rps / combined(r)),
      gatewayOverNaive: perRep((r) => r.gateway?.rps / r.naive?.rps),
      p99GatewayOverNatsFloor: perRep((r) => r.gateway?.p99Ms / r['nats-floor']?.p99Ms),
      // The gateway against each peer, in req/s and in p99 latency (bench/README.md, "Peers").
      gatewayOverPeer: Object.fromEntries(
        PEERS.map((name) => [name, perRep((r) => r.gateway?.rps / r[name]?.rps)]),
      ),
      p99GatewayOverPeer: Object.fromEntries(
        PEERS.map((name) => [name, perRep((r) => r.gateway?.p99Ms / r[name]?.p99Ms)]),
      ),
      // The same comparison in CPU time: what the two floors' processes spent per request, over
      // what the gateway spent. It does not depend on which process got the CPU when.
      floorsCpuOverGatewayCpu: perRep(
        (r) =>
          (r['http-floor']?.cpuMicrosPerRequest + r['nats-floor']?.cpuMicrosPerRequest) /
          r.gateway?.cpuMicrosPerRequest,
      ),
      // The optional targets against the same floor, to place the gateway between them.
      optionalOverCombined: Object.fromEntries(
        OPTIONAL_TARGETS.filter((name) => TARGETS.includes(name)).map((name) => [
          name,
          perRep((r) => r[name]?.rps / combined(r)),
        ]),
      ),
    });
  }

  // Start-up: each target's first seconds after it started — what a freshly deployed (or restarted)
  // process costs before V8 has optimised it; its c=64 cells show the same process warmed.
  const startupRows = PLAN.payloads.map((payloadBytes) => ({
    payloadBytes,
    concurrency: START_CONCURRENCY,
    targets: Object.fromEntries(
      TARGETS.map((name) => {
        const s = startups[`${payloadBytes}|${name}`];
        return [
          name,
          {
            rps: median(s.map((x) => x.rps)),
            cpuMicrosPerRequest: median(s.map((x) => x.cpuMicrosPerRequest)),
          },
        ];
      }),
    ),
  }));

  let sustained;
  if (!args['no-sustained'] && TARGETS.includes('gateway')) {
    const { cell, timing } = SUSTAINED;
    log(
      `==> one fresh gateway for ${timing.measureMs / 1000} s at c=${cell.concurrency}, ${cell.payloadBytes} B`,
    );
    const gateway = await startGateway(natsUrl);
    sustained = { ...cell, ...(await measureHttp(gateway, cell, timing)) };
    gateway.child.kill('SIGTERM');
  }

  let inflight;
  if (!args['no-inflight'] && TARGETS.includes('gateway')) {
    log(`==> ${args.inflight} requests in flight against a responder that answers after 1 s`);
    inflight = await inflightTest(await startGateway(natsUrl), Number(args.inflight));
  }

  // The table.
  const out = [];
  out.push(
    `load generator: ${generator}; medians of ${PLAN.reps} repetition(s); ${PLAN.measureMs / 1000} s per measurement; ${SETUP}`,
  );
  out.push('');
  out.push(
    '| payload | conc | target | req/s | p50 ms | p99 ms | CPU µs/req | CPU busy | peak RSS MiB |',
  );
  out.push('|---|---|---|---|---|---|---|---|---|');
  for (const row of rows) {
    for (const name of TARGETS) {
      const t = row.targets[name];
      if (!t) continue;
      out.push(
        `| ${row.payloadBytes} B | ${row.concurrency} | ${name} | ${fmt(t.rps)} | ${fmt(t.p50Ms, 2)} | ${fmt(t.p99Ms, 2)} | ${fmt(t.cpuMicrosPerRequest)} | ${fmt(t.cpuBusy * 100)} % | ${mib(t.peakRssBytes)} |${t.errors ? ` errors: ${t.errors}` : ''}`,
      );
    }
  }
  const peers = PEERS.filter((name) => TARGETS.includes(name));
  out.push('');
  out.push(
    `| payload | conc | combined floor req/s | gateway / combined | gateway / naive | p99 gateway / p99 nats-floor | floors CPU / gateway CPU |${peers.map((name) => ` gateway / ${name} |`).join('')}`,
  );
  out.push(`|---|---|---|---|---|---|---|${'---|'.repeat(peers.length)}`);
  for (const row of rows) {
    out.push(
      `| ${row.payloadBytes} B | ${row.concurrency} | ${fmt(row.combinedFloorRps)} | ${fmt(row.gatewayOverCombined, 2)} | ${fmt(row.gatewayOverNaive, 2)} | ${fmt(row.p99GatewayOverNatsFloor, 2)} | ${fmt(row.floorsCpuOverGatewayCpu, 2)} |${peers.map((name) => ` ${fmt(row.gatewayOverPeer[name], 2)} |`).join('')}`,
    );
  }
  // The peers beside the gateway: tail latency and memory, where the ratios above show only req/s.
  if (peers.length > 0 && TARGETS.includes('gateway')) {
    const side = ['gateway', ...peers];
    out.push('');
    out.push(
      `| payload | conc |${peers.map((name) => ` p99 gateway / p99 ${name} |`).join('')} p99 ms ${side.join(' · ')} | peak RSS MiB ${side.join(' · ')} |`,
    );
    out.push(`|---|---|${'---|'.repeat(peers.length + 2)}`);
    for (const row of rows.filter((r) => PEER_CONCURRENCY.has(r.concurrency))) {
      out.push(
        `| ${row.payloadBytes} B | ${row.concurrency} |${peers.map((name) => ` ${fmt(row.p99GatewayOverPeer[name], 2)} |`).join('')} ${side.map((name) => fmt(row.targets[name]?.p99Ms, 2)).join(' · ')} | ${side.map((name) => mib(row.targets[name]?.peakRssBytes)).join(' · ')} |`,
      );
    }
  }
  for (const [name, reason] of Object.entries(skipped)) {
    out.push('');
    out.push(`${name}: skipped, ${reason}`);
  }
  if (OPTIONAL_TARGETS.some((name) => TARGETS.includes(name))) {
    out.push('');
    out.push(
      'Optional targets / combined floor (req/s, median per repetition): ' +
        rows
          .map(
            (row) =>
              `${row.payloadBytes} B c=${row.concurrency} ${Object.entries(row.optionalOverCombined)
                .map(([name, v]) => `${name} ${fmt(v, 2)}`)
                .join(', ')}`,
          )
          .join('; '),
    );
  }
  out.push('');
  out.push(
    `First ${START_TIMING.measureMs / 1000} s after start, c=${START_CONCURRENCY} (median; not in the cells above), CPU µs/req: ` +
      startupRows
        .map(
          (row) =>
            `${row.payloadBytes} B ${TARGETS.map((name) => `${name} ${fmt(row.targets[name].cpuMicrosPerRequest)}`).join(', ')}`,
        )
        .join('; '),
  );
  if (sustained) {
    out.push('');
    out.push(
      `sustained: one fresh gateway, ${SUSTAINED.timing.measureMs / 1000} s at c=${sustained.concurrency}, ${sustained.payloadBytes} B: ${fmt(sustained.rps)} req/s, p99 ${fmt(sustained.p99Ms, 2)} ms, ${fmt(sustained.cpuMicrosPerRequest)} CPU µs/req, peak RSS ${mib(sustained.peakRssBytes)} MiB${sustained.errors ? `, errors: ${sustained.errors}` : ''}`,
    );
  }
  if (inflight) {
    out.push('');
    out.push(
      `in flight: ${inflight.ok}/${inflight.count} succeeded (statuses ${JSON.stringify(inflight.statuses)}) in ${fmt(inflight.elapsedMs)} ms; gateway peak RSS ${mib(inflight.peakRssBytes)} MiB`,
    );
  }
  process.stdout.write(`${out.join('\n')}\n`);
  if (args.json) {
    writeFileSync(
      args.json,
      JSON.stringify(
        {
          generator,
          plan: PLAN,
          workers: Number(args.workers),
          pinned: PIN ? { underTest: TEST_CPU, helpers: HELPER_CPUS } : false,
          proxyHeaders: REQUEST_HEADERS.length > 0,
          rows,
          skipped,
          startup: { ...START_TIMING, rows: startupRows },
          sustained,
          inflight,
          node: process.version,
          date: new Date().toISOString(),
        },
        null,
        2,
      ),
    );
    log(`==> wrote ${args.json}`);
  }
}

runToEnd(main, { children, workDir: work, failure: 'benchmark failed' });
