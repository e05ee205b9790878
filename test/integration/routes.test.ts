/** Mapped routes against a real nats-server and the real gateway process. */
import { Agent } from 'node:http';
import type { Msg } from '@nats-io/transport-node';
import { validate } from '@readme/openapi-parser';
import { describe, expect, it } from 'vitest';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import type { Gateway } from '../helpers/gateway.js';
import { unexpectedErrors } from '../helpers/gateway.js';
import { send } from '../helpers/http.js';
import { headerPairs, respond } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

// Subjects carry this file's own prefix so parallel files never see each other's traffic.
const P = `routes${process.pid}`;

const routes = [
  { method: 'GET', path: '/users/:id', subject: `${P}.users.get.{id}` },
  {
    method: ['POST', 'PUT'],
    path: '/orders/:region/:id',
    subject: `${P}.orders.{region}.upsert.{id}`,
  },
  { method: 'DELETE', path: '/orders/:region/:id', subject: `${P}.orders.{region}.delete.{id}` },
  { method: 'GET', path: '/slow', subject: `${P}.slow`, timeout: '300ms' },
  { method: 'POST', path: '/rr/special', subject: `${P}.special` },
  {
    method: 'POST',
    path: '/login',
    subject: `${P}.login`,
    headers: { forward: ['authorization'], case: 'preserve', add: { 'X-Tenant': 'acme' } },
  },
  { method: 'ANY', path: '/any/:id{[0-9]+}', subject: `${P}.any.{id}` },
];

const stack = useStack({
  gateways: [
    { routes, requests: { timeout: '2s', maxTimeout: '3s' } },
    { routes: [{ method: 'GET', path: '/only', subject: `${P}.only` }], rr: { enabled: false } },
  ],
});
const gw = (): Gateway => stack.gateways[0] as Gateway;

/** Answers on `subject` with the received subject, records each message, returns the record. */
/** Records requests on `subject`, answering with the subject and payload size. */
const recordOn = (subject: string): Promise<Msg[]> =>
  stack.record(subject, (msg) => `${msg.subject}|${msg.data.length}`);

describe('mapped routes', () => {
  it('maps GET /users/:id to users.get.{id} with an empty payload', async () => {
    const seen = await recordOn(`${P}.users.get.*`);
    const res = await send(`${gw().url}/users/42`, { method: 'GET' });
    expect(res.status).toBe(200);
    expect(res.text).toBe(`${P}.users.get.42|0`);
    expect(seen).toHaveLength(1);
  });

  it('maps several methods and parameters, forwarding the body', async () => {
    await recordOn(`${P}.orders.>`);
    const post = await send(`${gw().url}/orders/eu/7`, { method: 'POST', body: 'hello' });
    expect(post.text).toBe(`${P}.orders.eu.upsert.7|5`);
    const put = await send(`${gw().url}/orders/us/8`, { method: 'PUT', body: 'hi' });
    expect(put.text).toBe(`${P}.orders.us.upsert.8|2`);
    const del = await send(`${gw().url}/orders/us/8`, { method: 'DELETE', body: 'ignored' });
    expect(del.text).toBe(`${P}.orders.us.delete.8|0`);
  });

  it('tells the responder what the caller asked, under X-Gateway-*', async () => {
    const seen = await recordOn(`${P}.orders.>`);
    await send(`${gw().url}/orders/eu/7?dry=1&x=%20y`, {
      method: 'POST',
      body: 'x',
      headers: { 'x-gateway-method': 'FORGED', 'X-Gateway-Param-id': 'forged' },
    });
    const headers = headerPairs(seen[0] as Msg);
    const context = headers.filter(([name]) => name.toLowerCase().startsWith('x-gateway-'));
    expect(context).toEqual([
      ['X-Gateway-Method', 'POST'],
      ['X-Gateway-Path', '/orders/eu/7'],
      ['X-Gateway-Query', 'dry=1&x=%20y'],
      ['X-Gateway-Route', '/orders/:region/:id'],
      ['X-Gateway-Param-region', 'eu'],
      ['X-Gateway-Param-id', '7'],
      ['X-Gateway-Client-Ip', '127.0.0.1'],
      ['X-Gateway-Deadline', expect.stringMatching(/^\d{13}$/)],
      ['X-Gateway-Timeout-Ms', expect.stringMatching(/^\d+$/)],
    ]);
  });

  it('answers HEAD on a GET route like GET, without a body, and the connection stays usable', async () => {
    const seen = await recordOn(`${P}.users.get.*`);
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const res = await send(`${gw().url}/users/9`, { method: 'HEAD', agent });
      expect(res.status).toBe(200);
      expect(res.body.length).toBe(0);
      expect(res.headers['content-length']).toBe(String(`${P}.users.get.9|0`.length));
      expect((seen[0] as Msg).headers?.get('X-Gateway-Method')).toBe('HEAD');
      const next = await send(`${gw().url}/users/10`, { method: 'GET', agent });
      expect(next.text).toBe(`${P}.users.get.10|0`);
    } finally {
      agent.destroy();
    }
  });

  it('answers other methods on a mapped path with 405 and Allow', async () => {
    const res = await send(`${gw().url}/users/9`, { method: 'POST', body: 'x' });
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    const orders = await send(`${gw().url}/orders/eu/1`, { method: 'PATCH', body: 'x' });
    expect(orders.headers.allow).toBe('POST, PUT, DELETE');
  });

  it('serves every method on an ANY route and applies the parameter constraint', async () => {
    await recordOn(`${P}.any.*`);
    for (const method of ['GET', 'POST', 'PATCH', 'OPTIONS']) {
      expect((await send(`${gw().url}/any/5`, { method })).text).toBe(`${P}.any.5|0`);
    }
    expect((await send(`${gw().url}/any/abc`, { method: 'GET' })).status).toBe(404);
  });

  it('takes precedence over /rr', async () => {
    await recordOn(`${P}.special`);
    const res = await send(`${gw().url}/rr/special`, { method: 'POST', body: 'x' });
    expect(res.text).toBe(`${P}.special|1`);
  });

  it('leaves only mapped routes when rr.enabled is false', async () => {
    await recordOn(`${P}.only`);
    const other = stack.gateways[1] as Gateway;
    expect((await send(`${other.url}/only`, { method: 'GET' })).text).toBe(`${P}.only|0`);
    const rr = await send(`${other.url}/rr/${P}.only`, { body: 'x' });
    expect(rr.status).toBe(404);
    expect(rr.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}not-found` });
  });
});

describe('bad path parameters', () => {
  it.each([
    ['a dot', '/users/a.b', 'id'],
    ['an encoded dot', '/users/a%2Eb', 'id'],
    ['a star', '/users/*', 'id'],
    ['an encoded star', '/users/%2A', 'id'],
    ['a full wildcard', '/users/%3E', 'id'],
    ['NUL', '/users/a%00', 'id'],
    ['CR LF', '/users/a%0D%0AUNSUB', 'id'],
    ['a space', '/users/a%20b', 'id'],
    ['non-ASCII', '/users/caf%C3%A9', 'id'],
    ['an escape that is not UTF-8', '/users/%FF', 'id'],
    ['an empty middle parameter', '/orders//5', 'region'],
    ['an empty last parameter', '/orders/eu/', 'id'],
  ])('refuses %s with 400 and never reaches NATS', async (_name, path, param) => {
    const seen = await recordOn(`${P}.>`);
    const method = path.startsWith('/orders') ? 'POST' : 'GET';
    const res = await send(`${gw().url}${path}`, {
      method,
      body: method === 'POST' ? 'x' : undefined,
    });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('application/problem+json');
    const body = res.json();
    expect(body).toMatchObject({ type: `${PROBLEM_TYPE_BASE}invalid-parameter`, status: 400 });
    expect(body.detail).toContain(`'${param}'`);
    await stack.nc.flush();
    expect(seen).toHaveLength(0);
  });
});

describe('per-route policy', () => {
  it('uses the route timeout, and the caller may still ask within the cap', async () => {
    await respond(stack.nc, `${P}.slow`, () => undefined).then((undo) => stack.afterThisTest(undo));
    const started = Date.now();
    const res = await send(`${gw().url}/slow`, { method: 'GET' });
    expect(res.status).toBe(504);
    expect(res.json().detail).toContain('300 ms');
    expect(Date.now() - started).toBeLessThan(1500);
    const longer = await send(`${gw().url}/slow?timeout=1m`, { method: 'GET' });
    expect(longer.json().detail).toContain('3000 ms');
  });

  it('forwards a header dropped by default, keeps the spelling, and adds static headers over the caller', async () => {
    const seen = await recordOn(`${P}.login`);
    await send(`${gw().url}/login`, {
      method: 'POST',
      body: 'x',
      headers: { authorization: 'Bearer t', 'x-tenant': 'evil', cookie: 'c=1', 'x-MiXed': 'v' },
    });
    const headers = headerPairs(seen[0] as Msg);
    expect(headers).toContainEqual(['authorization', 'Bearer t']);
    expect(headers).toContainEqual(['x-MiXed', 'v']);
    expect(headers.filter(([n]) => n.toLowerCase() === 'x-tenant')).toEqual([['X-Tenant', 'acme']]);
    expect(headers.map(([n]) => n.toLowerCase())).not.toContain('cookie');
  });

  it('keeps the global policy on other routes', async () => {
    const seen = await recordOn(`${P}.orders.>`);
    await send(`${gw().url}/orders/eu/1`, {
      method: 'POST',
      body: 'x',
      headers: { authorization: 'Bearer t' },
    });
    expect(headerPairs(seen[0] as Msg).map(([n]) => n.toLowerCase())).not.toContain(
      'authorization',
    );
  });
});

describe('openapi.json', () => {
  it('merges the routes into the served document, valid as OpenAPI 3.1', async () => {
    const res = await send(`${gw().url}/openapi.json`, { method: 'GET' });
    expect(res.status).toBe(200);
    const doc = res.json<{
      paths: Record<string, Record<string, { 'x-nats-subject'?: string }>>;
    }>();
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/rr/{subject}',
        '/users/{id}',
        '/orders/{region}/{id}',
        '/any/{id}',
      ]),
    );
    expect(doc.paths['/users/{id}']?.get?.['x-nats-subject']).toBe(`${P}.users.get.{id}`);
    expect(Object.keys(doc.paths['/orders/{region}/{id}'] ?? {})).toEqual(
      expect.arrayContaining(['post', 'put', 'delete']),
    );
    const result = await validate(res.json<never>());
    expect(result.valid ? [] : result.errors).toEqual([]);
    const noRr = await send(`${(stack.gateways[1] as Gateway).url}/openapi.json`, {
      method: 'GET',
    });
    expect(Object.keys(noRr.json<{ paths: object }>().paths)).not.toContain('/rr/{subject}');
  });

  it('logged no unexpected errors', () => {
    for (const g of stack.gateways) expect(unexpectedErrors(g.logs)).toEqual([]);
  });
});
