/**
 * Runs the built gateway (`dist/main.js`) as a real process on port 0 with a config written for the
 * test, reads its JSON log lines, and stops it by its handle.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { stringify } from 'yaml';

export const GATEWAY_MAIN = resolve(import.meta.dirname, '../../dist/main.js');

/** One structured log line. */
export type LogLine = Record<string, unknown> & { level: string; msg: string };

/** Options for {@link startGateway}. */
export interface GatewayOptions {
  /** Config sections, merged over test defaults (port 0, quiet health checks). */
  config?: Record<string, unknown>;
  /** Extra environment. */
  env?: Record<string, string>;
  /** Resolve once listening even if NATS is not connected yet. */
  waitForNats?: boolean;
  /** Run with the Node flags `npm start` uses (V8's heap sizing), as production does. */
  productionFlags?: boolean;
  /** Resolve at the first log line this matches instead, before it listens (`url` and `port` unset). */
  readyWhen?: (line: LogLine) => boolean;
}

/** The Node flags of `npm start`: what stands between `node` and `dist/main.js` there. */
function productionNodeFlags(): string[] {
  const pkg = JSON.parse(
    readFileSync(resolve(import.meta.dirname, '../../package.json'), 'utf8'),
  ) as { scripts: { start: string } };
  const words = pkg.scripts.start.split(/\s+/);
  return words.slice(1, words.indexOf('dist/main.js'));
}

/** A running gateway process. */
export interface Gateway {
  url: string;
  port: number;
  pid: number;
  /** The config file the gateway was started with; rewrite it and send SIGHUP to reload. */
  configFile: string;
  logs: LogLine[];
  /** Resolves with the first log line matching `predicate` (already seen or still to come). */
  waitForLog(predicate: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** Sends a signal and resolves with the exit code. */
  signal(signal: NodeJS.Signals): Promise<number | null>;
  /** Sends a signal without waiting for anything. */
  kill(signal: NodeJS.Signals): void;
  /** Exit code promise. */
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

/** Starts the gateway and resolves once it listens (and, by default, once it is connected to NATS). */
export async function startGateway(options: GatewayOptions = {}): Promise<Gateway> {
  const dir = await mkdtemp(join(tmpdir(), 'nhg-gw-'));
  const configFile = join(dir, 'gateway.yaml');
  const config = {
    ...options.config,
    http: { host: '127.0.0.1', port: 0, ...(options.config?.http as object) },
  };
  await writeFile(configFile, stringify(config));
  const flags = options.productionFlags ? productionNodeFlags() : [];
  const child = spawn(process.execPath, [...flags, GATEWAY_MAIN, '--config', configFile], {
    env: { PATH: process.env.PATH ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: LogLine[] = [];
  const watchers = new Set<(line: LogLine) => void>();
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  // Anything on stderr (an adapter's console.error, a crash) counts as an error log line.
  createInterface({ input: child.stderr }).on('line', (text) =>
    logs.push({ level: 'error', msg: `stderr: ${text}` }),
  );
  createInterface({ input: child.stdout }).on('line', (text) => {
    let line: LogLine;
    try {
      line = JSON.parse(text) as LogLine;
    } catch {
      line = { level: 'raw', msg: text };
    }
    logs.push(line);
    for (const watch of watchers) watch(line);
  });
  const exited = new Promise<number | null>((resolveExit) =>
    child.once('exit', (code) => resolveExit(code)),
  );
  const cleanup = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dir, { recursive: true, force: true });
  };

  const waitForLog = (
    predicate: (line: LogLine) => boolean,
    timeoutMs = 10_000,
  ): Promise<LogLine> => {
    const seen = logs.find(predicate);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolveLine, reject) => {
      const timer = setTimeout(() => {
        watchers.delete(watch);
        reject(
          new Error(
            `log line not seen in ${timeoutMs} ms; stderr: ${stderr}\nlogs: ${JSON.stringify(logs)}`,
          ),
        );
      }, timeoutMs);
      const watch = (line: LogLine): void => {
        if (!predicate(line)) return;
        clearTimeout(timer);
        watchers.delete(watch);
        resolveLine(line);
      };
      watchers.add(watch);
      void exited.then((code) => {
        if (!watchers.has(watch)) return;
        clearTimeout(timer);
        watchers.delete(watch);
        reject(new Error(`gateway exited (${code}) before the log line; stderr: ${stderr}`));
      });
    });
  };

  try {
    let listening: LogLine = { level: 'info', msg: 'not waited for', port: 0 };
    if (options.readyWhen) {
      await waitForLog(options.readyWhen);
    } else {
      listening = await waitForLog((l) => l.msg === 'listening');
      if (options.waitForNats !== false) await waitForLog((l) => l.msg === 'connected to NATS');
    }
    const port = listening.port as number;
    return {
      url: `${(listening.scheme as string | undefined) ?? 'http'}://127.0.0.1:${port}`,
      port,
      pid: child.pid as number,
      configFile,
      logs,
      waitForLog,
      exited,
      async signal(signal) {
        child.kill(signal);
        return exited;
      },
      kill(signal) {
        child.kill(signal);
      },
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

/** Log lines at error level or above that the test did not expect. */
export function unexpectedErrors(
  logs: readonly LogLine[],
  expected: (line: LogLine) => boolean = () => false,
): LogLine[] {
  return logs.filter((l) => (l.level === 'error' || l.level === 'fatal') && !expected(l));
}

/** What a gateway process that ran to completion printed. */
export interface GatewayRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `main.js` with `args` (before `--config`) on a config written from `yaml`, to completion:
 * for commands and start-ups that are expected to exit (bad config, `validate`).
 */
export async function runGatewayToExit(
  yaml: string,
  args: string[] = [],
  env: Record<string, string> = {},
): Promise<GatewayRun> {
  const dir = await mkdtemp(join(tmpdir(), 'nhg-run-'));
  try {
    const file = join(dir, 'gateway.yaml');
    await writeFile(file, yaml);
    const child = spawn(process.execPath, [GATEWAY_MAIN, ...args, '--config', file], {
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    return { code, stdout, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
