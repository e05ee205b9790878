// What every benchmark script starts with: a free port, a readiness wait, its own nats-server, and
// the flags the gateway runs with.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

/**
 * The gateway targets: `gateway` answers `POST /rr/bench.echo`; `gateway-route` is the same build
 * and config plus one mapped route, answering `POST /bench/echo` (a path parameter, a subject
 * template), so that the two ways into NATS can be compared.
 */
export const GATEWAY_TARGETS = {
  gateway: { path: '/rr/bench.echo', routes: '[]' },
  'gateway-route': {
    path: '/bench/echo',
    routes: '\n  - { method: POST, path: "/bench/:name", subject: "bench.{name}" }',
  },
};

/** Writes the shipped default config (logging on) for a gateway target to `file`. */
export function writeGatewayConfig(root, name, file) {
  const shipped = readFileSync(join(root, 'config/gateway.yaml'), 'utf8');
  const config = shipped.replace(/^routes: \[\]$/m, `routes: ${GATEWAY_TARGETS[name].routes}`);
  if (name !== 'gateway' && config === shipped)
    throw new Error('config/gateway.yaml has no routes: []');
  writeFileSync(file, config);
}

/**
 * Node flags the gateway runs with, as `npm start` and the Dockerfile run it: V8's young generation
 * fixed at 8 MiB semi-spaces, bytecode kept once compiled, an old-generation limit that never
 * falls below 64 MiB, and no allocation-site pretenuring (README.md, "Running it for real";
 * bench/README.md says what each one bought).
 */
export const GATEWAY_NODE_FLAGS = [
  '--max-semi-space-size=8',
  '--min-semi-space-size=8',
  '--no-flush-bytecode',
  '--initial-old-space-size=64',
  '--no-allocation-site-pretenuring',
];

/**
 * Starts the built gateway as `npm start` runs it: the shipped config of target `name`, pointed at
 * this run's nats-server and a free loopback port, with `workers` processes. Adds it to `children`
 * and resolves once `/readyz` answers 200, with its process and base URL.
 */
export async function startGatewayProcess({
  root,
  workDir,
  children,
  natsUrl,
  name = 'gateway',
  workers = '1',
  stdout = 'ignore',
}) {
  const port = await freePort();
  const configFile = join(workDir, `${name}.yaml`);
  // The default config, as shipped (logging on), only pointed at this run's server and port.
  writeGatewayConfig(root, name, configFile);
  const child = spawn(
    process.execPath,
    [...GATEWAY_NODE_FLAGS, join(root, 'dist/main.js'), '--config', configFile],
    {
      env: {
        ...process.env,
        NATS_URL: natsUrl,
        PORT: String(port),
        HOST: '127.0.0.1',
        GATEWAY_WORKERS: String(workers),
      },
      stdio: ['ignore', stdout, 'inherit'],
    },
  );
  children.push(child);
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, 'gateway');
  return { child, pid: child.pid, port, base };
}

/** A TCP port free on loopback right now. */
export function freePort() {
  return new Promise((resolvePort) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolvePort(port));
    });
  });
}

/** Polls `probe` until it resolves true; throws after `timeoutMs`. */
export async function waitFor(probe, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${what} did not become ready`);
}

/** nats-server from PATH, else Debian's /usr/sbin one. */
function natsServerBin() {
  for (const dir of (process.env.PATH ?? '').split(':').concat('/usr/sbin')) {
    if (existsSync(join(dir, 'nats-server'))) return join(dir, 'nats-server');
  }
  throw new Error('nats-server not found (see README)');
}

/**
 * Starts nats-server on a random loopback port (its ports file in `workDir`), adds the process to
 * `children`, and resolves with its URL once it listens.
 */
export async function startNats(workDir, children) {
  const child = spawn(
    natsServerBin(),
    ['-a', '127.0.0.1', '-p', '-1', '--ports_file_dir', workDir],
    { stdio: 'ignore' },
  );
  children.push(child);
  const file = join(workDir, `nats-server_${child.pid}.ports`);
  let url;
  await waitFor(async () => {
    url = JSON.parse(readFileSync(file, 'utf8')).nats?.[0];
    return Boolean(url);
  }, 'nats-server');
  return url;
}

/**
 * Runs a script's `main`, then stops `children` (the last started first) and removes `workDir`;
 * exits 0, or 1 after printing the error behind `failure`.
 */
export function runToEnd(main, { children, workDir, failure }) {
  const cleanup = () => {
    for (const child of [...children].reverse()) child.kill('SIGTERM');
    rmSync(workDir, { recursive: true, force: true });
  };
  main().then(
    () => {
      cleanup();
      process.exit(0);
    },
    (err) => {
      process.stderr.write(`${failure}: ${err?.stack ?? err}\n`);
      cleanup();
      process.exit(1);
    },
  );
}
