/**
 * A NATS connection that closes for good comes back: a user revoked and restored by a server
 * config reload, a credentials file rotated while its old user is revoked, a server that ends the
 * connection with `-ERR`, all with no gateway restart; and an operator who prefers a restart gets
 * /healthz 503.
 */
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { credsAuthenticator, nkeys } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import { startGateway } from '../helpers/gateway.js';
import type { Gateway } from '../helpers/gateway.js';
import { send } from '../helpers/http.js';
import { startNatsServer } from '../helpers/nats-server.js';
import type { NatsServer } from '../helpers/nats-server.js';
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

  it('picks up a credentials file rotated on disk when the server revokes the old user', async () => {
    const { server, user, serverConfig } = await operatorMode();
    const dir = mkdtempSync(join(tmpdir(), 'nhg-creds-'));
    teardown.push(() => rmSync(dir, { recursive: true, force: true }));
    const oldUser = await user('gateway-2026-11');
    const credsFile = join(dir, 'gateway.creds');
    writeFileSync(credsFile, oldUser.creds);
    const gateway = await startGateway({
      config: { nats: { servers: [server.url], credsFile, reconnectWait: '100ms' } },
    });
    teardown.push(() => gateway.stop());
    const rr = `${gateway.url}/rr/rotate.echo`;
    expect((await send(rr, { body: 'x' })).text).toBe('pong');

    // The operator's rotation: new credentials in place (atomically, as a secret mount does), then
    // the old user revoked, which ends the gateway's connection.
    const newUser = await user('gateway-2026-12');
    writeFileSync(`${credsFile}.next`, newUser.creds);
    renameSync(`${credsFile}.next`, credsFile);
    await server.reload(
      await serverConfig({
        revocations: { [oldUser.publicKey]: Math.floor(Date.now() / 1000) + 1 },
      }),
    );
    // The old credentials no longer get in...
    await expect(
      connect({ servers: server.url, authenticator: credsAuthenticator(oldUser.creds) }),
    ).rejects.toThrow();
    // ...and the gateway, without a restart, is back on the new ones.
    await expect
      .poll(async () => (await send(rr, { body: 'x' })).text, { timeout: 10_000, interval: 50 })
      .toBe('pong');
    await expect.poll(() => readyStatus(gateway), { timeout: 5_000, interval: 50 }).toBe(200);
    // It did lose the connection to the revocation, and came back with no restart.
    expect(JSON.stringify(gateway.logs)).toMatch(/User Authentication Revoked/);
    const metrics = (await send(`${gateway.url}/metrics`, { method: 'GET' })).text;
    expect(metrics).toMatch(/nhg_nats_connection_state\{state="connected"\} 1/);
  });

  it('comes back after the server ends the connection with -ERR (account connection limit)', async () => {
    const { server, user, serverConfig, responder, startResponder } = await operatorMode();
    const dir = mkdtempSync(join(tmpdir(), 'nhg-creds-'));
    teardown.push(() => rmSync(dir, { recursive: true, force: true }));
    const credsFile = join(dir, 'gateway.creds');
    writeFileSync(credsFile, (await user('gateway')).creds);
    const gateway = await startGateway({
      config: { nats: { servers: [server.url], credsFile, reconnectWait: '100ms' } },
    });
    teardown.push(() => gateway.stop());
    const rr = `${gateway.url}/rr/rotate.echo`;
    expect((await send(rr, { body: 'x' })).text).toBe('pong');
    await responder.close();

    // No connections for the account: the server sends the gateway '-ERR' and closes the
    // connection, and refuses every dial the same way.
    await server.reload(await serverConfig({ connections: 0 }));
    await expect.poll(() => readyStatus(gateway), { timeout: 10_000, interval: 50 }).toBe(503);
    await gateway.waitForLog((l) => /maximum account active connections/i.test(String(l.err)));
    expect((await send(`${gateway.url}/healthz`, { method: 'GET' })).status).toBe(200);
    const refused = await send(rr, { body: 'x' });
    expect(refused.status).toBe(503);

    await server.reload(await serverConfig());
    await expect.poll(() => readyStatus(gateway), { timeout: 10_000, interval: 50 }).toBe(200);
    await startResponder();
    expect((await send(rr, { body: 'x' })).text).toBe('pong');
  });
});

/**
 * A server in operator mode (JWT accounts, as NGS and most secured deployments run), with a
 * responder answering `rotate.echo` (`startResponder` adds another); `serverConfig` re-issues the
 * account JWT with revocations or a connection limit, for a reload.
 */
async function operatorMode(): Promise<{
  server: NatsServer;
  responder: NatsConnection;
  startResponder: () => Promise<NatsConnection>;
  user: (name: string) => Promise<{ creds: Uint8Array; publicKey: string }>;
  serverConfig: (claims?: {
    revocations?: Record<string, number>;
    connections?: number;
  }) => Promise<string>;
}> {
  const operator = nkeys.createOperator();
  const account = nkeys.createAccount();
  const unlimited = { subs: -1, data: -1, payload: -1 };
  const user = async (name: string): Promise<{ creds: Uint8Array; publicKey: string }> => {
    const key = nkeys.createUser();
    const jwt = await encodeUser(name, key, account, unlimited);
    return { creds: fmtCreds(jwt, key), publicKey: key.getPublicKey() };
  };
  // One operator JWT: nats-server refuses a reload that changes it.
  const operatorJwt = await encodeOperator('test-operator', operator);
  const serverConfig = async ({
    revocations = {},
    connections = -1,
  }: { revocations?: Record<string, number>; connections?: number } = {}): Promise<string> => {
    const accountJwt = await encodeAccount(
      'gateway-test',
      account,
      {
        limits: {
          ...unlimited,
          conn: connections,
          imports: -1,
          exports: -1,
          leaf: -1,
          wildcards: true,
        },
        revocations,
      },
      { signer: operator },
    );
    return [
      `operator: "${operatorJwt}"`,
      'resolver: MEMORY',
      `resolver_preload: { ${account.getPublicKey()}: "${accountJwt}" }`,
    ].join('\n');
  };
  const server = await startNatsServer({ config: await serverConfig() });
  teardown.push(() => server.stop());
  const startResponder = async (): Promise<NatsConnection> => {
    const nc = await connect({
      servers: server.url,
      authenticator: credsAuthenticator((await user('responder')).creds),
    });
    teardown.push(() => nc.close());
    nc.subscribe('rotate.echo', {
      callback: (_e, msg) => {
        msg.respond('pong');
      },
    });
    await nc.flush();
    return nc;
  };
  const responder = await startResponder();
  return { server, user, serverConfig, responder, startResponder };
}
