/**
 * Starts a real nats-server on a random port for one test file, waits for its ports file (real
 * readiness, not a sleep), and stops it by its handle. Never touches the shared server on 4222.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const NATS_SERVER = process.env.NATS_SERVER_BIN ?? 'nats-server';

/** Options for {@link startNatsServer}. */
export interface NatsServerOptions {
  /** A fixed port, e.g. to restart a server where clients expect it; random when omitted. */
  port?: number;
  /** Extra lines for the server's config file (`max_payload: 1024`). */
  config?: string;
}

/** A running nats-server. */
export interface NatsServer {
  url: string;
  port: number;
  /** The route URL when the config has a `cluster` block. */
  clusterUrl: string | undefined;
  pid: number;
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
  /**
   * Freezes (SIGSTOP) the process, resolving once the kernel reports it stopped (a busy server may
   * route a last message first); `thaw` (SIGCONT) lets it go on. TCP stays open, nothing answers.
   */
  freeze(): Promise<void>;
  thaw(): void;
  /** Replaces the config file and has the server reload it (SIGHUP), as an operator would. */
  reload(config: string): Promise<void>;
}

/** Starts a nats-server and resolves once it listens. */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServer> {
  const dir = await mkdtemp(join(tmpdir(), 'nhg-nats-'));
  const configFile = join(dir, 'server.conf');
  await writeFile(configFile, options.config ?? '');
  const child = spawn(
    NATS_SERVER,
    [
      '-a',
      '127.0.0.1',
      '-p',
      String(options.port ?? -1),
      '--ports_file_dir',
      dir,
      '-c',
      configFile,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  const waiters: Array<{ pattern: RegExp; from: number; done: () => void }> = [];
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const w of [...waiters]) {
      if (w.pattern.test(stderr.slice(w.from))) {
        waiters.splice(waiters.indexOf(w), 1);
        w.done();
      }
    }
  });
  /** Resolves when the server logs a line matching `pattern` from now on. */
  const stderrAfter = (pattern: RegExp): Promise<void> =>
    new Promise((done) => waiters.push({ pattern, from: stderr.length, done }));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    const ports = await waitForPortsFile(
      child,
      join(dir, `nats-server_${child.pid}.ports`),
      () => stderr,
    );
    const url = ports.nats?.[0] as string;
    const port = Number(new URL(url).port);
    return {
      url,
      port,
      clusterUrl: ports.cluster?.[0],
      pid: child.pid as number,
      async stop() {
        if (child.exitCode === null && child.signalCode === null) {
          child.kill('SIGCONT');
          child.kill('SIGTERM');
        }
        await exited;
        await rm(dir, { recursive: true, force: true });
      },
      async freeze() {
        child.kill('SIGSTOP');
        const stat = `/proc/${child.pid}/stat`;
        // The state letter follows the command name in parentheses: T when stopped.
        while (!/\) T /.test(await readFile(stat, 'utf8'))) {
          await new Promise((r) => setTimeout(r, 5));
        }
      },
      thaw: () => void child.kill('SIGCONT'),
      async reload(config) {
        await writeFile(configFile, config);
        const reloaded = stderrAfter(/Reloaded server configuration/);
        child.kill('SIGHUP');
        await reloaded;
      },
    };
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
}

interface PortsFile {
  nats?: string[];
  cluster?: string[];
}

async function waitForPortsFile(
  child: ChildProcess,
  file: string,
  stderr: () => string,
): Promise<PortsFile> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`nats-server exited early: ${stderr()}`);
    try {
      const ports = JSON.parse(await readFile(file, 'utf8')) as PortsFile;
      if (ports.nats?.[0]) return ports;
    } catch {
      // Not written yet (or half written): poll again.
    }
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`nats-server did not write its ports file in time: ${stderr()}`);
}
