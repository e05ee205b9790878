// Instructions per request, counted by valgrind's callgrind. Each target runs in one process under
// callgrind: it serves --warm requests (128 B, 8 at a time) to start up and optimise, then the
// counters are zeroed, it serves --count more and the counters are dumped. V8 runs with
// --single-threaded, so its compiler and GC work on the main thread, where they are counted in
// the same order every run; counts repeat closely (the gateway's within 0.1 %, bench/README.md).
//   node bench/instructions.mjs [--targets http-floor,nats-floor,minimal,core,gateway,gateway-route] [--warm 10000] [--count 10000]
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  GATEWAY_NODE_FLAGS,
  GATEWAY_TARGETS,
  freePort,
  runToEnd,
  startNats,
  waitFor,
  writeGatewayConfig,
} from './lib/stack.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    targets: {
      type: 'string',
      default: 'http-floor,nats-floor,minimal,core,gateway,gateway-route',
    },
    warm: { type: 'string', default: '10000' },
    count: { type: 'string', default: '10000' },
  },
});
const WARM = Number(args.warm);
const COUNT = Number(args.count);
const CONCURRENCY = 8;
const PAYLOAD = Buffer.alloc(128, 120);
// Compiler and GC threads would run whenever the scheduler lets them; on the main thread they
// run at the same points every time.
const SINGLE_THREADED = '--single-threaded';
const work = mkdtempSync(join(tmpdir(), 'nhg-instr-'));
const children = [];

function log(message) {
  process.stderr.write(`${message}\n`);
}

/** Starts `node args` under callgrind, its counters to be zeroed and dumped on request. */
function underCallgrind(name, nodeArgs, env) {
  const outFile = join(work, `${name}.callgrind`);
  const childEnv = { ...process.env, ...env };
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${outFile}`, process.execPath, ...nodeArgs],
    { env: childEnv, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] },
  );
  children.push(child);
  // valgrind names its control pipes after $HOST, so callgrind_control needs the child's.
  const control = (command) =>
    execFileSync('callgrind_control', [command, String(child.pid)], {
      env: childEnv,
      stdio: 'ignore',
    });
  return { child, outFile, control };
}

/** Zeroes the counters, runs `counted`, dumps them, and returns the instructions counted in between. */
async function countDuring(target, counted) {
  target.control('-z');
  await counted();
  target.control('-d');
  const dir = dirname(target.outFile);
  const prefix = `${basename(target.outFile)}.`;
  let dump;
  await waitFor(
    async () => {
      dump = readdirSync(dir).find((f) => f.startsWith(prefix));
      // The file is complete once its totals line is written.
      return dump !== undefined && /^totals:\s+\d+/m.test(readFileSync(join(dir, dump), 'utf8'));
    },
    `${target.outFile} dump`,
    60_000,
  );
  const text = readFileSync(join(dir, dump), 'utf8');
  return Number(/^totals:\s+(\d+)/m.exec(text)[1]);
}

/** Sends `count` POSTs over keep-alive connections, CONCURRENCY at a time; all must get a 200. */
async function drive(url, count) {
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  let sent = 0;
  let failed = 0;
  const one = () =>
    new Promise((res) => {
      const req = request(url, { method: 'POST', agent }, (r) => {
        if (r.statusCode !== 200) failed++;
        r.resume();
        r.on('end', res);
      });
      req.on('error', () => {
        failed++;
        res();
      });
      req.end(PAYLOAD);
    });
  const loop = async () => {
    while (sent++ < count) await one();
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  agent.destroy();
  if (failed) throw new Error(`${failed} of ${count} requests failed`);
}

/** Starts one target under callgrind, warms it, and returns its instructions per counted request. */
async function perRequestFor(name, natsUrl) {
  const script = (file) => join(import.meta.dirname, 'targets', file);
  const env = { NATS_URL: natsUrl };
  if (name === 'nats-floor') {
    const t = underCallgrind(name, [SINGLE_THREADED, script('nats-floor.mjs')], env);
    await new Promise((res) => t.child.once('message', res)); // ready
    const run = (requests) =>
      new Promise((res, rej) => {
        t.child.once('message', (r) =>
          r.errors ? rej(new Error(`${r.errors} nats-floor requests failed`)) : res(),
        );
        t.child.send({ concurrency: CONCURRENCY, requests, payloadBytes: PAYLOAD.length });
      });
    await run(WARM);
    const total = await countDuring(t, () => run(COUNT));
    t.child.kill('SIGKILL');
    return total / COUNT;
  }
  let t;
  let url;
  if (name in GATEWAY_TARGETS) {
    const port = await freePort();
    const config = join(work, `${name}.yaml`);
    writeGatewayConfig(ROOT, name, config);
    t = underCallgrind(
      name,
      [...GATEWAY_NODE_FLAGS, SINGLE_THREADED, join(ROOT, 'dist/main.js'), '--config', config],
      { ...env, PORT: String(port), HOST: '127.0.0.1' },
    );
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 'gateway', 120_000);
    url = `${base}${GATEWAY_TARGETS[name].path}`;
  } else {
    const files = {
      'http-floor': 'http-floor.mjs',
      minimal: 'minimal-gateway.mjs',
      core: 'core-gateway.mjs',
    };
    if (!(name in files)) throw new Error(`unknown target ${name}`);
    // core runs with the gateway's flags in the benchmark too, so it differs from it only in code.
    const flags = name === 'core' ? GATEWAY_NODE_FLAGS : [];
    t = underCallgrind(name, [...flags, SINGLE_THREADED, script(files[name])], env);
    const { port } = await new Promise((res) => t.child.once('message', res));
    url = `http://127.0.0.1:${port}/rr/bench.echo`;
  }
  await drive(url, WARM);
  const total = await countDuring(t, () => drive(url, COUNT));
  t.child.kill('SIGKILL');
  return total / COUNT;
}

async function main() {
  const natsUrl = await startNats(work, children);
  const responder = spawn(
    process.execPath,
    [join(import.meta.dirname, 'targets/echo-responder.mjs')],
    {
      env: { ...process.env, NATS_URL: natsUrl },
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    },
  );
  children.push(responder);
  await new Promise((res) => responder.once('message', res));

  const perRequest = {};
  for (const target of args.targets.split(',')) {
    perRequest[target] = await perRequestFor(target, natsUrl);
    log(`${target}: ${Math.round(perRequest[target])} instructions per request`);
  }

  const out = [
    `instructions per request (callgrind, V8 ${SINGLE_THREADED}; 128 B, ${CONCURRENCY} at a time; ${COUNT} counted after ${WARM})`,
    '',
  ];
  out.push('| target | instructions / request |', '|---|---|');
  for (const [name, n] of Object.entries(perRequest)) out.push(`| ${name} | ${Math.round(n)} |`);
  const floors = (perRequest['http-floor'] ?? NaN) + (perRequest['nats-floor'] ?? NaN);
  out.push('');
  if (perRequest.gateway && Number.isFinite(floors)) {
    out.push(`floors / gateway: ${(floors / perRequest.gateway).toFixed(2)}`);
  }
  if (perRequest.gateway && perRequest['gateway-route']) {
    out.push(
      `gateway-route / gateway: ${(perRequest['gateway-route'] / perRequest.gateway).toFixed(3)}`,
    );
  }
  if (perRequest.gateway && perRequest.minimal) {
    out.push(`minimal / gateway: ${(perRequest.minimal / perRequest.gateway).toFixed(2)}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

runToEnd(main, { children, workDir: work, failure: 'failed' });
