/** `http.workers: 2`: two gateway processes share the port; reload, shutdown and crashes reach all. */
import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { Agent } from 'node:http';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startGateway } from '../helpers/gateway.js';
import type { Gateway, LogLine } from '../helpers/gateway.js';
import { send } from '../helpers/http.js';
import { respond } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const P = `workers${process.pid}`;
const stack = useStack({
  gateways: [{ http: { workers: 2, shutdownGrace: '5s' }, nats: { reconnectWait: '100ms' } }],
});

/** Distinct worker pids among log lines matching `predicate`. */
function pidsOf(logs: readonly LogLine[], predicate: (l: LogLine) => boolean): Set<number> {
  return new Set(logs.filter(predicate).map((l) => l.pid as number));
}

/** Waits until `count` distinct processes have logged a line matching `predicate`. */
async function waitForPids(
  predicate: (l: LogLine) => boolean,
  count: number,
): Promise<Set<number>> {
  await stack.gateway.waitForLog(() => pidsOf(stack.gateway.logs, predicate).size >= count);
  return pidsOf(stack.gateway.logs, predicate);
}

/** `nhg_http_requests_total` of `/rr` requests answered ok, summed over methods, in a scrape. */
function okRequests(text: string): number {
  return text
    .split('\n')
    .filter(
      (l) =>
        l.startsWith('nhg_http_requests_total{') &&
        l.includes('route="/rr/{subject}"') &&
        l.includes('outcome="ok"'),
    )
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
}

describe('workers', () => {
  it('serves requests from two processes with their own NATS connections', async () => {
    await waitForPids((l) => l.msg === 'connected to NATS', 2);
    await respond(stack.nc, `${P}.echo`, (msg) => msg.respond(msg.data)).then((u) =>
      stack.afterThisTest(u),
    );
    // A fresh connection per request: the primary deals connections to workers in turn.
    const agent = new Agent({ keepAlive: false });
    for (let i = 0; i < 10; i++) {
      const res = await send(`${stack.gateway.url}/rr/${P}.echo`, { body: `r${i}`, agent });
      expect(res.text).toBe(`r${i}`);
    }
    const served = pidsOf(
      stack.gateway.logs,
      (l) => l.msg === 'request' && l.subject === `${P}.echo`,
    );
    expect(served.size).toBe(2);
    expect(served.has(stack.gateway.pid)).toBe(false);
  });

  it('shows every worker’s requests in each /metrics scrape, whichever worker answers it', async () => {
    await waitForPids((l) => l.msg === 'connected to NATS', 2);
    await respond(stack.nc, `${P}.counted`, (msg) => msg.respond('ok')).then((u) =>
      stack.afterThisTest(u),
    );
    const agent = new Agent({ keepAlive: false });
    for (let i = 0; i < 41; i++) {
      expect(
        (await send(`${stack.gateway.url}/rr/${P}.counted`, { body: 'x', agent })).status,
      ).toBe(200);
    }
    const served = pidsOf(
      stack.gateway.logs,
      (l) => l.msg === 'request' && l.subject === `${P}.counted`,
    );
    expect(served.size).toBe(2);
    // Scrapes on fresh connections land on both workers; each shows all 41.
    const scrapes: number[] = [];
    for (let i = 0; i < 4; i++) {
      scrapes.push(
        okRequests((await send(`${stack.gateway.url}/metrics`, { method: 'GET', agent })).text),
      );
    }
    const totals = new Set(scrapes);
    expect(totals.size).toBe(1);
    expect([...totals][0]).toBeGreaterThanOrEqual(41);
  });

  it('reloads every worker on SIGHUP', async () => {
    await respond(stack.nc, `${P}.added`, (msg) => msg.respond('added')).then((u) =>
      stack.afterThisTest(u),
    );
    await writeFile(
      stack.gateway.configFile,
      stringify({
        http: { host: '127.0.0.1', port: 0, workers: 2, shutdownGrace: '5s' },
        nats: { servers: [stack.nats.url], reconnectWait: '100ms' },
        routes: [{ method: 'GET', path: '/added', subject: `${P}.added` }],
      }),
    );
    stack.gateway.kill('SIGHUP');
    await waitForPids((l) => l.msg === 'config reloaded', 2);
    const agent = new Agent({ keepAlive: false });
    for (let i = 0; i < 4; i++) {
      expect((await send(`${stack.gateway.url}/added`, { method: 'GET', agent })).text).toBe(
        'added',
      );
    }
  });

  it('replaces a worker that dies, and keeps counting what it counted', async () => {
    const scrape = async (): Promise<number> =>
      okRequests(
        (
          await send(`${stack.gateway.url}/metrics`, {
            method: 'GET',
            agent: new Agent({ keepAlive: false }),
          })
        ).text,
      );
    await waitForPids((l) => l.msg === 'connected to NATS', 2);
    stack.afterThisTest(await respond(stack.nc, `${P}.before-death`, (msg) => msg.respond('ok')));
    // Fresh connections land on both workers, so each has counted some.
    for (let i = 0; i < 10; i++) {
      const agent = new Agent({ keepAlive: false });
      await send(`${stack.gateway.url}/rr/${P}.before-death`, { body: 'x', agent });
    }
    const counted = await scrape();
    expect(counted).toBeGreaterThanOrEqual(10);
    const before = await waitForPids((l) => l.msg === 'listening', 2);
    const victim = [...before][0] as number;
    process.kill(victim, 'SIGKILL');
    await stack.gateway.waitForLog(
      (l) => l.msg === 'worker exited; starting a replacement' && l.workerPid === victim,
    );
    const after = await waitForPids((l) => l.msg === 'listening', 3);
    expect(after.size).toBe(3);
    await waitForPids((l) => l.msg === 'connected to NATS', 3);
    // A counter that went down would read as a reset to Prometheus.
    for (let i = 0; i < 4; i++) expect(await scrape()).toBeGreaterThanOrEqual(counted);
  });

  it('shuts all workers down gracefully, finishing in-flight requests, and exits 0', async () => {
    let arrived: () => void = () => undefined;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    await respond(stack.nc, `${P}.slow`, (msg) => {
      arrived();
      setTimeout(() => msg.respond('finished'), 500);
    });
    const inFlight = send(`${stack.gateway.url}/rr/${P}.slow`, { body: 'x' });
    await requestArrived;
    const code = await stack.gateway.signal('SIGTERM');
    expect(code).toBe(0);
    expect((await inFlight).text).toBe('finished');
    expect(stack.gateway.logs.some((l) => l.msg === 'all workers stopped')).toBe(true);
    const expectedErrors = (l: LogLine): boolean =>
      l.msg === 'worker exited; starting a replacement';
    expect(stack.gateway.logs.filter((l) => l.level === 'error' && !expectedErrors(l))).toEqual([]);
  });

  it('starts no worker without API keys once the gateway runs with them', async () => {
    const base = {
      http: { host: '127.0.0.1', port: 0, workers: 2, shutdownGrace: '5s' },
      nats: { servers: [stack.nats.url], reconnectWait: '100ms' },
    };
    const keys = {
      apiKeys: [{ name: 'k', sha256: createHash('sha256').update('secret').digest('hex') }],
    };
    const gateway = await startGateway({ config: { ...base, auth: keys } });
    stack.afterThisTest(() => gateway.stop());
    const workers = await pidsUntil(gateway, (l) => l.msg === 'listening', 2);
    const keyless = async (): Promise<number[]> => {
      const agent = new Agent({ keepAlive: false });
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        statuses.push((await send(`${gateway.url}/rr/${P}.guarded`, { body: 'x', agent })).status);
      }
      return statuses;
    };
    expect(await keyless()).toEqual([401, 401, 401, 401, 401, 401]);

    // The file loses its keys: the reload is refused, and so is a worker started from it later.
    await writeFile(gateway.configFile, stringify(base));
    gateway.kill('SIGHUP');
    await pidsUntil(gateway, (l) => l.msg.startsWith('config reload refused'), 2);
    process.kill([...workers][0] as number, 'SIGKILL');
    await gateway.waitForLog((l) => l.msg.startsWith('refusing to start'));
    expect(await keyless()).toEqual([401, 401, 401, 401, 401, 401]);
  });

  it('shuts down when SIGTERM comes before the workers are ready', async () => {
    const gateway = await startGateway({
      config: {
        http: { host: '127.0.0.1', port: 0, workers: 2, shutdownGrace: '5s' },
        nats: { servers: [stack.nats.url] },
      },
      // The primary's first line: the workers are still loading their config.
      readyWhen: (l) => l.msg === 'workers started',
    });
    stack.afterThisTest(() => gateway.stop());
    const exit = await Promise.race([
      gateway.signal('SIGTERM'),
      new Promise((resolve) => setTimeout(resolve, 15_000, 'still running')),
    ]);
    expect(exit).toBe(0);
  });
});

describe('workers, stopped twice', () => {
  it('stop at once on a second SIGTERM, as a single process does, and exit 1', async () => {
    const gateway = await startGateway({
      config: {
        http: { host: '127.0.0.1', port: 0, workers: 2, shutdownGrace: '30s' },
        nats: { servers: [stack.nats.url] },
      },
    });
    stack.afterThisTest(() => gateway.stop());
    // A request whose reply never comes holds the graceful shutdown for its whole grace period.
    let arrived: () => void = () => undefined;
    const requestArrived = new Promise<void>((resolve) => (arrived = resolve));
    stack.afterThisTest(await respond(stack.nc, `${P}.held`, () => arrived()));
    const held = send(`${gateway.url}/rr/${P}.held?timeout=60s`, { body: 'x' });
    held.catch(() => undefined);
    await requestArrived;
    gateway.kill('SIGTERM');
    await gateway.waitForLog((l) => l.msg === 'signal received; shutting down the workers');
    const exit = await Promise.race([
      gateway.signal('SIGTERM'),
      new Promise((resolve) => setTimeout(resolve, 15_000, 'still running')),
    ]);
    expect(exit).toBe(1);
  });
});

/** Waits until `count` distinct processes of `gateway` have logged a line matching `predicate`. */
async function pidsUntil(
  gateway: Gateway,
  predicate: (l: LogLine) => boolean,
  count: number,
): Promise<Set<number>> {
  await gateway.waitForLog(() => pidsOf(gateway.logs, predicate).size >= count);
  return pidsOf(gateway.logs, predicate);
}
