// Instructions per request, counted by valgrind's callgrind. Each target runs under callgrind twice,
// for N1 and then N2 requests (128 B, 8 at a time); the difference over N2 - N1 is its steady-state
// cost per request, start-up and JIT warm-up cancelled out. Repeatable for the floors; for the
// gateway, which also works per unit of wall time, runs differ widely (bench/README.md).
//   node bench/instructions.mjs [--targets http-floor,nats-floor,minimal,gateway] [--n1 10000] [--n2 30000]
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { GATEWAY_NODE_FLAGS, freePort, runToEnd, startNats, waitFor } from './lib/stack.mjs';

const ROOT = resolve(import.meta.dirname, '..');
const { values: args } = parseArgs({
  options: {
    targets: { type: 'string', default: 'http-floor,nats-floor,minimal,gateway' },
    n1: { type: 'string', default: '10000' },
    n2: { type: 'string', default: '30000' },
  },
});
const N1 = Number(args.n1);
const N2 = Number(args.n2);
const CONCURRENCY = 8;
const PAYLOAD = Buffer.alloc(128, 120);
const work = mkdtempSync(join(tmpdir(), 'nhg-instr-'));
const children = [];

function log(message) {
  process.stderr.write(`${message}\n`);
}

/** Starts `node args` under callgrind; resolves with the child and its first IPC message. */
function underCallgrind(name, nodeArgs, env) {
  const outFile = join(work, `${name}-${Date.now()}.callgrind`);
  const child = spawn(
    'valgrind',
    ['--tool=callgrind', `--callgrind-out-file=${outFile}`, process.execPath, ...nodeArgs],
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'ignore', 'ipc'] },
  );
  children.push(child);
  const exited = new Promise((res) => child.once('exit', res));
  return { child, outFile, exited };
}

/** Total instructions callgrind counted, from its output file. */
function totalInstructions(outFile) {
  const summary = /^summary:\s+(\d+)/m.exec(readFileSync(outFile, 'utf8'));
  if (!summary) throw new Error(`no summary in ${outFile}`);
  return Number(summary[1]);
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

/** Runs one target for `count` requests under callgrind and returns its instruction total. */
async function countFor(target, natsUrl, count) {
  const script = (file) => join(import.meta.dirname, 'targets', file);
  if (target === 'nats-floor') {
    const t = underCallgrind(target, [script('nats-floor.mjs')], { NATS_URL: natsUrl });
    await new Promise((res) => t.child.once('message', res)); // ready
    const done = new Promise((res) => t.child.once('message', res));
    t.child.send({ concurrency: CONCURRENCY, requests: count, payloadBytes: PAYLOAD.length });
    const r = await done;
    if (r.errors) throw new Error(`${r.errors} nats-floor requests failed`);
    t.child.kill('SIGTERM');
    await t.exited;
    return totalInstructions(t.outFile);
  }
  let t;
  let url;
  if (target === 'gateway') {
    const port = await freePort();
    const config = join(work, 'gateway.yaml');
    writeFileSync(config, readFileSync(join(ROOT, 'config/gateway.yaml'), 'utf8'));
    t = underCallgrind(
      target,
      [...GATEWAY_NODE_FLAGS, join(ROOT, 'dist/main.js'), '--config', config],
      { NATS_URL: natsUrl, PORT: String(port), HOST: '127.0.0.1' },
    );
    const base = `http://127.0.0.1:${port}`;
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 'gateway', 120_000);
    url = `${base}/rr/bench.echo`;
  } else {
    const file = target === 'http-floor' ? 'http-floor.mjs' : 'minimal-gateway.mjs';
    t = underCallgrind(target, [script(file)], { NATS_URL: natsUrl });
    const { port } = await new Promise((res) => t.child.once('message', res));
    url = `http://127.0.0.1:${port}/rr/bench.echo`;
  }
  await drive(url, count);
  t.child.kill('SIGTERM');
  await t.exited;
  return totalInstructions(t.outFile);
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
    const a = await countFor(target, natsUrl, N1);
    const b = await countFor(target, natsUrl, N2);
    perRequest[target] = (b - a) / (N2 - N1);
    log(`${target}: ${Math.round(perRequest[target])} instructions per request`);
  }

  const out = [
    `instructions per request (callgrind; 128 B, ${CONCURRENCY} at a time; ${N1} → ${N2} requests)`,
    '',
  ];
  out.push('| target | instructions / request |', '|---|---|');
  for (const [name, n] of Object.entries(perRequest)) out.push(`| ${name} | ${Math.round(n)} |`);
  const floors = (perRequest['http-floor'] ?? NaN) + (perRequest['nats-floor'] ?? NaN);
  out.push('');
  if (perRequest.gateway && Number.isFinite(floors)) {
    out.push(`floors / gateway: ${(floors / perRequest.gateway).toFixed(2)}`);
  }
  if (perRequest.gateway && perRequest.minimal) {
    out.push(`minimal / gateway: ${(perRequest.minimal / perRequest.gateway).toFixed(2)}`);
  }
  process.stdout.write(`${out.join('\n')}\n`);
}

runToEnd(main, { children, workDir: work, failure: 'failed' });
