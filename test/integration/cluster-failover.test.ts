/**
 * Failover in a real 3-node NATS cluster on loopback: kill the node the gateway is connected to
 * while requests flow. Requests must resume within a second, and none may hang past its timeout.
 */
import { Agent } from 'node:http';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { startGateway } from '../helpers/gateway.js';
import { send } from '../helpers/http.js';
import { startNatsServer } from '../helpers/nats-server.js';
import type { NatsServer } from '../helpers/nats-server.js';
import { connectResponder, respond } from '../helpers/responders.js';

const P = `failover${process.pid}`;
const REQUEST_TIMEOUT_MS = 2_000;
const teardown: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const undo of teardown.splice(0).reverse()) await undo();
});

async function startCluster(): Promise<NatsServer[]> {
  const clusterBlock = (routes: string[]): string =>
    `cluster { name: gwtest, listen: "127.0.0.1:-1", routes: [${routes.map((r) => `"${r}"`).join(', ')}] }`;
  const a = await startNatsServer({ config: clusterBlock([]) });
  teardown.push(() => a.stop());
  const seed = a.clusterUrl as string;
  const b = await startNatsServer({ config: clusterBlock([seed]) });
  teardown.push(() => b.stop());
  const c = await startNatsServer({ config: clusterBlock([seed]) });
  teardown.push(() => c.stop());
  return [a, b, c];
}

/** Waits until a request on `subject` through `nc` is answered, i.e. interest has spread to its node. */
async function untilAnswered(nc: NatsConnection, subject: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await nc.request(subject, 'ping', { timeout: 200 });
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
  throw new Error(`no answer on ${subject}`);
}

describe('cluster failover', () => {
  it('resumes within one second after the connected node dies, and no request hangs', async () => {
    const nodes = await startCluster();
    const gateway = await startGateway({
      config: {
        nats: {
          servers: nodes.map((n) => n.url),
          reconnectWait: '100ms',
          healthInterval: '500ms',
          healthTimeout: '500ms',
        },
        requests: { timeout: `${REQUEST_TIMEOUT_MS}ms` },
      },
    });
    teardown.push(() => gateway.stop());
    const connected = await gateway.waitForLog((l) => l.msg === 'connected to NATS');
    const victim = nodes.find((n) => connected.server === `127.0.0.1:${n.port}`) as NatsServer;
    const survivor = nodes.find((n) => n !== victim) as NatsServer;

    // The responder sits on a node that survives, and answers from the start.
    const nc = await connectResponder(survivor.url);
    teardown.push(() => nc.close());
    await respond(nc, `${P}.echo`, (msg) => msg.respond(msg.data));
    const probe = await connectResponder(victim.url);
    await untilAnswered(probe, `${P}.echo`);
    await probe.close();

    // Requests flow on a few keep-alive connections for the whole test.
    const agent = new Agent({ keepAlive: true, maxSockets: 4 });
    teardown.push(() => agent.destroy());
    const results: Array<{ start: number; end: number; status: number }> = [];
    let flowing = true;
    const worker = async (): Promise<void> => {
      while (flowing) {
        const start = Date.now();
        const res = await send(`${gateway.url}/rr/${P}.echo`, { body: 'x', agent });
        results.push({ start, end: Date.now(), status: res.status });
        if (res.status !== 200) await new Promise((resolve) => setTimeout(resolve, 5));
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    await new Promise((resolve) => setTimeout(resolve, 300));

    await victim.stop();
    // From the moment the node is gone: while it shuts down it still serves, and a 200 from it
    // would pass for the first one after the failover.
    const killedAt = Date.now();
    await gateway.waitForLog((l) => l.msg === 'reconnected to NATS', 5_000);
    // Keep the flow going until a good while after the failover.
    while (
      !results.some((r) => r.start > killedAt && r.status === 200) &&
      Date.now() - killedAt < 5_000
    ) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    flowing = false;
    await Promise.all(workers);

    const firstOkAfter = results.find((r) => r.start > killedAt && r.status === 200);
    expect(firstOkAfter, 'a request succeeded after the kill').toBeDefined();
    const resumedAfterMs = (firstOkAfter?.end ?? Infinity) - killedAt;
    expect(resumedAfterMs).toBeLessThan(1_000);
    const slowest = Math.max(...results.map((r) => r.end - r.start));
    expect(slowest).toBeLessThan(REQUEST_TIMEOUT_MS + 500);
    const afterFailover = results.filter((r) => r.start > (firstOkAfter?.end ?? 0));
    expect(afterFailover.length).toBeGreaterThan(10);
    expect(afterFailover.every((r) => r.status === 200)).toBe(true);
    const failed = results.filter((r) => r.status !== 200).map((r) => r.status);
    expect(failed.every((s) => s === 503 || s === 504)).toBe(true);
    process.stdout.write(
      `cluster failover: first 200 after ${resumedAfterMs} ms; ${failed.length} of ${results.length} requests failed (${[...new Set(failed)].join(', ') || 'none'}); slowest ${slowest} ms\n`,
    );
  });
});
