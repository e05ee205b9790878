/**
 * A NATS connection that closes for good comes back: a user revoked and restored by a server
 * config reload, with no gateway restart; and an operator who prefers a restart gets /healthz 503.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import { startGateway } from '../helpers/gateway.js';
import type { Gateway } from '../helpers/gateway.js';
import { send } from '../helpers/http.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { connect } from '@nats-io/transport-node';

const teardown: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const undo of teardown.splice(0).reverse()) await undo();
});

const users = (withGateway: boolean): string =>
  `authorization { users = [ { user: responder, password: r } ${withGateway ? ', { user: gw, password: g }' : ''} ] }\n`;

async function readyStatus(gateway: Gateway): Promise<number> {
  return (await send(`${gateway.url}/readyz`, { method: 'GET' })).status;
}

describe('a connection that closes for good', () => {
  it('comes back within 2 s of a revoked user being restored, without a restart', async () => {
    const server = await startNatsServer({ config: users(true) });
    teardown.push(() => server.stop());
    const responder = await connect({ servers: server.url, user: 'responder', pass: 'r' });
    teardown.push(() => responder.close());
    responder.subscribe('redial.echo', {
      callback: (_e, msg) => {
        msg.respond('pong');
      },
    });
    await responder.flush();
    const gateway = await startGateway({
      config: { nats: { servers: [server.url], user: 'gw', pass: 'g', reconnectWait: '100ms' } },
    });
    teardown.push(() => gateway.stop());
    const rr = `${gateway.url}/rr/redial.echo`;
    expect((await send(rr, { body: 'x' })).text).toBe('pong');

    await server.reload(users(false));
    await expect.poll(() => readyStatus(gateway), { timeout: 10_000, interval: 50 }).toBe(503);
    const refused = await send(rr, { body: 'x' });
    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('1');
    expect(refused.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}nats-unavailable` });
    // Alive, working on it: no orchestrator should restart it.
    expect((await send(`${gateway.url}/healthz`, { method: 'GET' })).status).toBe(200);
    // Let it be refused for a while, as a revoked user would be.
    await new Promise((resolve) => setTimeout(resolve, 1_500));

    await server.reload(users(true));
    const restoredAt = Date.now();
    await expect.poll(() => readyStatus(gateway), { timeout: 10_000, interval: 25 }).toBe(200);
    expect(Date.now() - restoredAt).toBeLessThan(2_000);
    expect((await send(rr, { body: 'x' })).text).toBe('pong');

    // One line per kind of failure, not one per attempt.
    const refusals = gateway.logs.filter(
      (l) => l.msg === 'NATS reported an error' || l.msg === 'cannot connect to NATS; retrying',
    );
    expect(refusals.length).toBeLessThan(6);
    const metrics = (await send(`${gateway.url}/metrics`, { method: 'GET' })).text;
    expect(metrics).toMatch(/nhg_nats_connection_state\{state="connected"\} 1/);
  });

  it('says /healthz 503 once NATS has been out of reach for nats.maxDownTime', async () => {
    const server = await startNatsServer();
    const gateway = await startGateway({
      config: { nats: { servers: [server.url], maxDownTime: '300ms', reconnectWait: '100ms' } },
    });
    teardown.push(() => gateway.stop());
    expect((await send(`${gateway.url}/healthz`, { method: 'GET' })).status).toBe(200);
    await server.stop();
    await expect
      .poll(async () => (await send(`${gateway.url}/healthz`, { method: 'GET' })).status, {
        timeout: 10_000,
        interval: 50,
      })
      .toBe(503);
  });
});
