/** Bearer API keys: 401 without a valid key, 403 outside a key's subjects or routes, never forwarded. */
import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Msg } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import { unexpectedErrors } from '../helpers/gateway.js';
import { send } from '../helpers/http.js';
import { headerPairs } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const P = `auth${process.pid}`;
const keyDir = mkdtempSync(join(tmpdir(), 'nhg-keys-'));
const keyFile = join(keyDir, 'items.key');
writeFileSync(keyFile, 'items-secret\n');
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const stack = useStack({
  env: { ORDERS_KEY: 'orders-secret' },
  gateways: [
    {
      auth: {
        apiKeys: [
          { name: 'full', sha256: sha256('full-secret') },
          { name: 'orders', keyEnv: 'ORDERS_KEY', allow: [`${P}.orders.>`] },
          { name: 'items', keyFile, routes: ['/items/:id'] },
        ],
      },
      routes: [
        {
          method: 'GET',
          path: '/items/:id',
          subject: `${P}.items.{id}`,
          headers: { forward: ['authorization'] },
        },
      ],
    },
  ],
});

const bearer = (key: string): Record<string, string> => ({ authorization: `Bearer ${key}` });

const recordOn = (subject: string): Promise<Msg[]> => stack.record(subject);

describe('API keys', () => {
  it.each([
    ['no Authorization', {}],
    ['another scheme', { authorization: 'Basic Zm9vOmJhcg==' }],
    ['an unknown key', bearer('guess')],
    ['an empty bearer', { authorization: 'Bearer ' }],
  ])('answers 401 with WWW-Authenticate for %s', async (_name, headers) => {
    const seen = await recordOn(`${P}.any`);
    const res = await send(`${stack.gateway.url}/rr/${P}.any`, { body: 'x', headers });
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="nats-http-gateway"');
    expect(res.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}unauthorized` });
    expect(seen).toHaveLength(0);
  });

  it('authenticates before any subject check: a stranger learns nothing of the allow-list', async () => {
    for (const subject of ['$SYS.REQ.SERVER.PING', '_INBOX.x', 'a..b', `${P}.any`]) {
      const res = await send(`${stack.gateway.url}/rr/${subject}`, { body: 'x' });
      expect(res.status, subject).toBe(401);
    }
    // With a key, the subject checks answer as before.
    const denied = await send(`${stack.gateway.url}/rr/$SYS.REQ.SERVER.PING`, {
      body: 'x',
      headers: bearer('full-secret'),
    });
    expect(denied.status).toBe(403);
  });

  it('lets a valid key through and never forwards it, even where the route forwards Authorization', async () => {
    const seen = await recordOn(`${P}.any`);
    const res = await send(`${stack.gateway.url}/rr/${P}.any`, {
      body: 'x',
      headers: bearer('full-secret'),
    });
    expect(res.status).toBe(200);
    const items = await recordOn(`${P}.items.*`);
    expect(
      (
        await send(`${stack.gateway.url}/items/1`, {
          method: 'GET',
          headers: bearer('full-secret'),
        })
      ).status,
    ).toBe(200);
    for (const msg of [...seen, ...items]) {
      expect(headerPairs(msg).map(([n]) => n.toLowerCase())).not.toContain('authorization');
    }
  });

  it('limits a key to its subjects (403 elsewhere); the key came from an environment variable', async () => {
    await recordOn(`${P}.orders.create`);
    await recordOn(`${P}.billing.charge`);
    const ok = await send(`${stack.gateway.url}/rr/${P}.orders.create`, {
      body: 'x',
      headers: bearer('orders-secret'),
    });
    expect(ok.status).toBe(200);
    const denied = await send(`${stack.gateway.url}/rr/${P}.billing.charge`, {
      body: 'x',
      headers: bearer('orders-secret'),
    });
    expect(denied.status).toBe(403);
    expect(denied.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}key-not-permitted` });
    expect(denied.json().detail).toContain("'orders'");
    expect(denied.text).not.toContain('orders-secret');
  });

  it('limits a key to its routes (403 on /rr); the key came from a file', async () => {
    await recordOn(`${P}.items.*`);
    const ok = await send(`${stack.gateway.url}/items/7`, {
      method: 'GET',
      headers: bearer('items-secret'),
    });
    expect(ok.status).toBe(200);
    const denied = await send(`${stack.gateway.url}/rr/${P}.items.7`, {
      body: 'x',
      headers: bearer('items-secret'),
    });
    expect(denied.status).toBe(403);
  });

  it('leaves health endpoints open', async () => {
    expect((await send(`${stack.gateway.url}/healthz`, { method: 'GET' })).status).toBe(200);
    expect((await send(`${stack.gateway.url}/readyz`, { method: 'GET' })).status).toBe(200);
  });

  it('never logs a key', () => {
    const all = JSON.stringify(stack.gateway.logs);
    for (const secret of ['full-secret', 'orders-secret', 'items-secret'])
      expect(all).not.toContain(secret);
    expect(unexpectedErrors(stack.gateway.logs)).toEqual([]);
  });
});
