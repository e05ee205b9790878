/**
 * The gateway without a working NATS connection: not reachable at start-up, a server that dies and
 * returns, a server that freezes, a reader stalled by a hostile message. Requests must get fast 503s
 * (with Retry-After), never a wall of 504s, and recover by themselves.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import { startGateway, unexpectedErrors } from '../helpers/gateway.js';
import type { Gateway } from '../helpers/gateway.js';
import { send } from '../helpers/http.js';
import { startNatsServer } from '../helpers/nats-server.js';
import type { NatsServer } from '../helpers/nats-server.js';
import { startRawResponder } from '../helpers/raw-responder.js';
import type { RawResponder } from '../helpers/raw-responder.js';
import { connectResponder, respond, uniqueSubject } from '../helpers/responders.js';

/** Health checks every 300 ms so that the test sees detection within a second or two. */
const FAST_HEALTH = { healthInterval: '300ms', healthTimeout: '300ms', reconnectWait: '100ms' };

const teardown: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const undo of teardown.splice(0).reverse()) await undo();
});

async function natsServer(port?: number): Promise<NatsServer> {
  const server = await startNatsServer(port === undefined ? {} : { port });
  teardown.push(() => server.stop());
  return server;
}

async function gatewayFor(servers: string[], waitForNats = true): Promise<Gateway> {
  const gateway = await startGateway({
    config: { nats: { servers, ...FAST_HEALTH } },
    waitForNats,
  });
  teardown.push(() => gateway.stop());
  return gateway;
}

async function echoResponder(url: string, subject: string): Promise<NatsConnection> {
  const nc = await connectResponder(url);
  teardown.push(() => nc.close());
  await respond(nc, subject, (msg) => msg.respond(msg.data));
  return nc;
}

function expectUnavailable(res: Awaited<ReturnType<typeof send>>): void {
  expect(res.status).toBe(503);
  expect(res.headers['retry-after']).toBe('1');
  expect(res.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}nats-unavailable` });
}

/** Polls `probe` until it returns true, as a readiness wait with a deadline (not a fixed sleep). */
async function eventually(probe: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`condition not met within ${timeoutMs} ms`);
}

describe('NATS not reachable at start-up', () => {
  it('listens anyway, answers 503 until NATS comes up, then serves', async () => {
    // Reserve a free port by starting and stopping a server on it.
    const probe = await startNatsServer();
    const port = probe.port;
    await probe.stop();

    const gateway = await gatewayFor([`nats://127.0.0.1:${port}`], false);
    await gateway.waitForLog((l) => l.msg === 'cannot connect to NATS; retrying');
    expect((await send(`${gateway.url}/healthz`, { method: 'GET' })).status).toBe(200);
    const ready = await send(`${gateway.url}/readyz`, { method: 'GET' });
    expect(ready.status).toBe(503);
    expect(ready.headers['content-type']).toBe('application/problem+json');
    expectUnavailable(await send(`${gateway.url}/rr/test.early`, { body: 'x' }));

    const server = await natsServer(port);
    const subject = uniqueSubject();
    await echoResponder(server.url, subject);
    await gateway.waitForLog((l) => l.msg === 'connected to NATS');
    expect((await send(`${gateway.url}/readyz`, { method: 'GET' })).status).toBe(200);
    expect((await send(`${gateway.url}/rr/${subject}`, { body: 'up' })).text).toBe('up');
    expect(unexpectedErrors(gateway.logs)).toEqual([]);
  });
});

describe('NATS server stops and returns', () => {
  it('answers 503 at once while the server is down and 200 again after it returns', async () => {
    const server = await natsServer();
    const subject = uniqueSubject();
    const gateway = await gatewayFor([server.url]);
    await echoResponder(server.url, subject);
    expect((await send(`${gateway.url}/rr/${subject}`, { body: 'before' })).text).toBe('before');

    await server.stop();
    await gateway.waitForLog((l) => l.msg === 'disconnected from NATS');
    const started = Date.now();
    expectUnavailable(await send(`${gateway.url}/rr/${subject}?timeout=5s`, { body: 'during' }));
    expect(Date.now() - started).toBeLessThan(1000);
    expect((await send(`${gateway.url}/readyz`, { method: 'GET' })).status).toBe(503);

    const restarted = await natsServer(server.port);
    await echoResponder(restarted.url, subject);
    await gateway.waitForLog((l) => l.msg === 'reconnected to NATS');
    await eventually(
      async () => (await send(`${gateway.url}/rr/${subject}`, { body: 'after' })).status === 200,
    );
    expect((await send(`${gateway.url}/rr/${subject}`, { body: 'after' })).text).toBe('after');
    expect((await send(`${gateway.url}/readyz`, { method: 'GET' })).status).toBe(200);
  });
});

describe('a connection that stops answering', () => {
  it('notices a frozen server within seconds, fails waiting requests with 503, and recovers', async () => {
    const server = await natsServer();
    teardown.push(() => server.thaw());
    const subject = uniqueSubject();
    const gateway = await gatewayFor([server.url]);
    await echoResponder(server.url, subject);
    expect((await send(`${gateway.url}/rr/${subject}`, { body: 'before' })).status).toBe(200);

    await server.freeze();
    const started = Date.now();
    // Without the health check this would wait its whole 20 s timeout and end in a 504.
    const waiting = await send(`${gateway.url}/rr/${subject}?timeout=20s`, { body: 'frozen' });
    expectUnavailable(waiting);
    expect(Date.now() - started).toBeLessThan(3000);
    await gateway.waitForLog((l) => l.msg === 'NATS connection stopped answering; reconnecting');
    expectUnavailable(await send(`${gateway.url}/rr/${subject}`, { body: 'still frozen' }));

    server.thaw();
    await eventually(
      async () => (await send(`${gateway.url}/rr/${subject}`, { body: 'after' })).status === 200,
      15_000,
    );
    expect((await send(`${gateway.url}/readyz`, { method: 'GET' })).status).toBe(200);
  });

  it('replaces a connection whose reader was stalled by a hostile message', async () => {
    const server = await natsServer();
    const gateway = await gatewayFor([server.url]);
    const good = uniqueSubject();
    await echoResponder(server.url, good);

    // The raw responder publishes to a subject that carries a CR inside the gateway's reply inbox:
    // the server delivers it, and nats.js's parser gives up on the connection without an event.
    const hostile = uniqueSubject();
    const raw: RawResponder = await startRawResponder(server.port, hostile, (reply) => {
      const inbox = reply.slice(0, reply.lastIndexOf('.'));
      return `PUB ${inbox}.x\ry 2\r\nhi\r\n`;
    });
    teardown.push(() => raw.close());
    await send(`${gateway.url}/rr/${hostile}?timeout=300ms`, { body: 'poison' });

    await gateway.waitForLog(
      (l) => l.msg === 'NATS connection stopped answering; reconnecting',
      5_000,
    );
    await gateway.waitForLog((l) => l.msg === 'reconnected to NATS', 10_000);
    await eventually(
      async () => (await send(`${gateway.url}/rr/${good}`, { body: 'healed' })).status === 200,
    );
    expect((await send(`${gateway.url}/rr/${good}`, { body: 'healed' })).text).toBe('healed');
  });
});
