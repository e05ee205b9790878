/**
 * Authentication and TLS towards NATS, each against a real nats-server configured for it, and a
 * custom inbox prefix.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeAccount, encodeOperator, encodeUser, fmtCreds } from '@nats-io/jwt';
import { connect, credsAuthenticator, nkeys } from '@nats-io/transport-node';
import type { ConnectionOptions, NatsConnection } from '@nats-io/transport-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import { runGatewayToExit, startGateway, unexpectedErrors } from '../helpers/gateway.js';
import type { Gateway } from '../helpers/gateway.js';
import { makeTestPki } from '../helpers/certs.js';
import { send } from '../helpers/http.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { respond } from '../helpers/responders.js';
import { stringify } from 'yaml';

const P = `sec${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'nhg-sec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const teardown: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const undo of teardown.splice(0).reverse()) await undo();
});

/** Starts a server with `serverConfig`, a responder connected with `clientOptions`, and a gateway with `nats`. */
async function setup(
  serverConfig: string,
  clientOptions: Partial<ConnectionOptions>,
  nats: Record<string, unknown>,
  env: Record<string, string> = {},
  scheme = 'nats',
): Promise<{ gateway: Gateway; nc: NatsConnection; url: string }> {
  const server = await startNatsServer({ config: serverConfig });
  teardown.push(() => server.stop());
  const url = `${scheme}://127.0.0.1:${server.port}`;
  const nc = await connect({ servers: url, ...clientOptions });
  teardown.push(() => nc.close());
  await respond(nc, `${P}.echo`, (msg) => msg.respond(msg.data));
  const gateway = await startGateway({ config: { nats: { servers: [url], ...nats } }, env });
  teardown.push(() => gateway.stop());
  return { gateway, nc, url };
}

async function expectEcho(gateway: Gateway): Promise<void> {
  const res = await send(`${gateway.url}/rr/${P}.echo`, { body: 'secure' });
  expect(res.status).toBe(200);
  expect(res.text).toBe('secure');
}

describe('NATS authentication', () => {
  const userPass = 'authorization { user: svc, password: "s3cret-pass" }';

  it('user and password, the password from an environment variable', async () => {
    const { gateway } = await setup(
      userPass,
      { user: 'svc', pass: 's3cret-pass' },
      { user: 'svc', pass: '${NATS_PASS}' },
      { NATS_PASS: 's3cret-pass' },
    );
    await expectEcho(gateway);
    expect(JSON.stringify(gateway.logs)).not.toContain('s3cret-pass');
    expect(unexpectedErrors(gateway.logs)).toEqual([]);
  });

  it('refuses to start with a wrong password, saying why', async () => {
    const server = await startNatsServer({ config: userPass });
    teardown.push(() => server.stop());
    const run = await runGatewayToExit(
      stringify({
        http: { host: '127.0.0.1', port: 0 },
        nats: { servers: [server.url], user: 'svc', pass: 'wrong' },
      }),
    );
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('cannot authenticate to NATS; exiting');
    expect(run.stdout).not.toContain('wrong');
  });

  it('token', async () => {
    const { gateway } = await setup(
      'authorization { token: "t0ken-value" }',
      { token: 't0ken-value' },
      { token: 't0ken-value' },
    );
    await expectEcho(gateway);
  });

  it('NKey seed file', async () => {
    const gatewayUser = nkeys.createUser();
    const responderUser = nkeys.createUser();
    const seedFile = join(dir, 'gateway.nk');
    writeFileSync(seedFile, new TextDecoder().decode(gatewayUser.getSeed()));
    const config = `authorization { users = [ { nkey: "${gatewayUser.getPublicKey()}" }, { nkey: "${responderUser.getPublicKey()}" } ] }`;
    const { nkeyAuthenticator } = await import('@nats-io/transport-node');
    const { gateway } = await setup(
      config,
      { authenticator: nkeyAuthenticator(responderUser.getSeed()) },
      { nkeySeedFile: seedFile },
    );
    await expectEcho(gateway);
  });

  it('credentials file, against a server in operator mode', async () => {
    const operator = nkeys.createOperator();
    const account = nkeys.createAccount();
    // The JWT library's defaults allow no connections or subscriptions at all: open them up.
    const unlimited = { subs: -1, data: -1, payload: -1 };
    const accountJwt = await encodeAccount(
      'gateway-test',
      account,
      { limits: { ...unlimited, conn: -1, imports: -1, exports: -1, leaf: -1, wildcards: true } },
      { signer: operator },
    );
    const creds = async (name: string): Promise<Uint8Array> => {
      const user = nkeys.createUser();
      // The JWT library's default user limits allow no subscriptions at all.
      return fmtCreds(
        await encodeUser(name, user, account, { subs: -1, data: -1, payload: -1 }),
        user,
      );
    };
    const credsFile = join(dir, 'gateway.creds');
    writeFileSync(credsFile, await creds('gateway'));
    const config = [
      `operator: "${await encodeOperator('test-operator', operator)}"`,
      'resolver: MEMORY',
      `resolver_preload: { ${account.getPublicKey()}: "${accountJwt}" }`,
    ].join('\n');
    const { gateway } = await setup(
      config,
      { authenticator: credsAuthenticator(await creds('responder')) },
      { credsFile },
    );
    await expectEcho(gateway);
  });

  it('names a missing seed file as a config error', async () => {
    const run = await runGatewayToExit(
      stringify({ nats: { nkeySeedFile: join(dir, 'missing.nk') } }),
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("nats.nkeySeedFile: cannot read '");
  });
});

describe('TLS to NATS', () => {
  it('mutual TLS with a generated CA and a client certificate', async () => {
    makeTestPki(dir, 'IP:127.0.0.1,DNS:nats.test');
    const f = (name: string): string => join(dir, name);
    const serverConfig = `tls { cert_file: "${f('server.pem')}", key_file: "${f('server.key')}", ca_file: "${f('ca.pem')}", verify: true }`;
    const tls = { caFile: f('ca.pem'), certFile: f('client.pem'), keyFile: f('client.key') };
    // nats.js checks an IP URL against 'localhost'; the certificate names nats.test, hence the name.
    const clientTls = { ...tls, servername: 'nats.test' } as NonNullable<ConnectionOptions['tls']>;
    const { gateway, url } = await setup(
      serverConfig,
      { tls: clientTls },
      { tls: { ...tls, serverName: 'nats.test' } },
      {},
      'tls',
    );
    await expectEcho(gateway);

    // Without a client certificate the server refuses the gateway; it keeps retrying and is not ready.
    const anonymous = await startGateway({
      config: { nats: { servers: [url], tls: { caFile: f('ca.pem') } } },
      waitForNats: false,
    });
    teardown.push(() => anonymous.stop());
    await anonymous.waitForLog((l) => l.msg === 'cannot connect to NATS; retrying');
    expect((await send(`${anonymous.url}/readyz`, { method: 'GET' })).status).toBe(503);
  });
});

describe('custom inbox prefix', () => {
  it('works, and /rr refuses the prefix even when allow and deny would let it through', async () => {
    const { gateway } = await setup('', {}, { inboxPrefix: '_INBOX.gw-7f3a' });
    await expectEcho(gateway);
    const res = await send(`${gateway.url}/rr/_INBOX.gw-7f3a.anything.1`, { body: 'x' });
    expect(res.status).toBe(403);
    expect(res.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}subject-forbidden` });
  });
});
