/**
 * Services that publish themselves: real `@nats-io/services` services on a real nats-server
 * declare HTTP routes in their endpoint metadata, and the gateway serves them, documents them in
 * OpenAPI and reports them on /services, with the operator's list and YAML routes in charge.
 */
import { createHash } from 'node:crypto';
import { validate } from '@readme/openapi-parser';
import { Svcm } from '@nats-io/services';
import type { Service } from '@nats-io/services';
import { readFile, writeFile } from 'node:fs/promises';
import { parse, stringify } from 'yaml';
import { describe, expect, it } from 'vitest';
import type { ServicesReport } from '../../src/discovery/evaluate.js';
import { send } from '../helpers/http.js';
import { startGateway } from '../helpers/gateway.js';
import { respond } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack({
  gateways: [
    {
      discovery: {
        enabled: true,
        interval: '250ms',
        wait: '150ms',
        services: ['inventory', 'orders-*', 'secrets'],
      },
      rr: { deny: ['$SRV.>', '$JS.>', '$KV.>', '$O.>', 'vault.>', 'orders.lookup.secret'] },
      routes: [{ method: 'GET', path: '/orders/:id', subject: 'yaml.orders.{id}' }],
    },
    // With API keys: /services names every service and the lists' verdicts, so it asks for one.
    {
      discovery: { enabled: true, interval: '250ms', wait: '150ms', services: ['inventory'] },
      auth: {
        apiKeys: [{ name: 'ops', sha256: createHash('sha256').update('ops-key').digest('hex') }],
      },
    },
  ],
});

const STOCK_SCHEMA = {
  type: 'object',
  required: ['sku', 'count'],
  properties: { sku: { type: 'string' }, count: { type: 'integer' } },
};

/** Starts one instance of a service; stopped after the test unless stopped before. */
async function startService(
  name: string,
  endpoints: Array<{
    name: string;
    subject: string;
    metadata?: Record<string, string>;
    answer?: (subject: string, body: string) => string;
  }>,
  version = '1.0.0',
): Promise<Service> {
  // @nats-io/services pins an older nats-core: the same connection, a different declared type.
  const nc = stack.nc as unknown as ConstructorParameters<typeof Svcm>[0];
  const service = await new Svcm(nc).add({
    name,
    version,
    description: `the ${name} service`,
  });
  for (const endpoint of endpoints) {
    service.addEndpoint(endpoint.name, {
      subject: endpoint.subject,
      ...(endpoint.metadata ? { metadata: endpoint.metadata } : {}),
      handler: (_err, msg) => {
        msg.respond((endpoint.answer ?? ((s) => `answered on ${s}`))(msg.subject, msg.string()));
      },
    });
  }
  // Awaited, so the next test's instances of the same service never meet this one.
  stack.afterThisTest(() =>
    service.stop().then(
      () => undefined,
      () => undefined,
    ),
  );
  await stack.nc.flush();
  return service;
}

async function services(): Promise<ServicesReport> {
  return (await send(`${stack.gateway.url}/services`, { method: 'GET' })).json<ServicesReport>();
}

async function serviceEntry(name: string): Promise<ServicesReport['services'][number] | undefined> {
  return (await services()).services.find((s) => s.name === name);
}

const status = async (path: string, method = 'GET'): Promise<number> =>
  (await send(`${stack.gateway.url}${path}`, { method })).status;

describe('service discovery', () => {
  it('serves a published route, its path parameters filling the subject, and documents it with its schemas', async () => {
    await startService('inventory', [
      {
        name: 'stock',
        subject: 'inventory.stock.*',
        metadata: {
          'http.method': 'GET',
          'http.path': '/inventory/:sku',
          'http.subject': 'inventory.stock.{sku}',
          description: 'How many of a SKU are in stock',
          'schema.response': JSON.stringify(STOCK_SCHEMA),
        },
      },
    ]);
    await expect.poll(() => status('/inventory/abc-1'), { timeout: 10_000 }).toBe(200);
    const res = await send(`${stack.gateway.url}/inventory/abc-1`, { method: 'GET' });
    expect(res.text).toBe('answered on inventory.stock.abc-1');

    const doc = (await send(`${stack.gateway.url}/openapi.json`, { method: 'GET' })).json<{
      paths: Record<string, Record<string, Record<string, unknown>>>;
      tags: Array<{ name: string }>;
    }>();
    const operation = doc.paths['/inventory/{sku}']?.get;
    expect(operation).toMatchObject({
      summary: 'How many of a SKU are in stock',
      tags: ['routes', 'inventory'],
      'x-nats-service': {
        name: 'inventory',
        version: '1.0.0',
        endpoint: 'stock',
        subject: 'inventory.stock.*',
      },
      responses: { '200': { content: { 'application/json': { schema: STOCK_SCHEMA } } } },
    });
    expect(doc.tags.map((t) => t.name)).toContain('inventory');
    const checked = await validate(structuredClone(doc) as never);
    expect(checked.valid ? [] : checked.errors).toEqual([]);

    // Metrics label it by its template, as any route.
    const metrics = (await send(`${stack.gateway.url}/metrics`, { method: 'GET' })).text;
    expect(metrics).toContain('route="/inventory/:sku"');
  });

  it('serves one route for two instances, and drops it once every instance has missed two rounds', async () => {
    const stock = {
      name: 'count',
      subject: 'inventory.count.*',
      metadata: {
        'http.method': 'GET',
        'http.path': '/count/:sku',
        'http.subject': 'inventory.count.{sku}',
      },
    };
    const first = await startService('inventory', [stock], '2.0.0');
    const second = await startService('inventory', [stock], '2.0.0');
    await expect
      .poll(async () => (await serviceEntry('inventory'))?.instances.length, { timeout: 10_000 })
      .toBe(2);
    const entry = await serviceEntry('inventory');
    expect(entry?.routes).toEqual([
      {
        method: ['GET'],
        path: '/count/:sku',
        subject: 'inventory.count.{sku}',
        endpoint: 'count',
      },
    ]);
    expect(await status('/count/x')).toBe(200);

    await first.stop();
    // One instance left: the route stays.
    await expect
      .poll(async () => (await serviceEntry('inventory'))?.instances.length, { timeout: 10_000 })
      .toBe(1);
    expect(await status('/count/x')).toBe(200);

    await second.stop();
    await expect.poll(() => status('/count/x'), { timeout: 10_000 }).toBe(404);
    expect(await serviceEntry('inventory')).toBeUndefined();
  });

  it('exposes nothing of a service discovery.services does not list, and says so', async () => {
    await startService('billing', [
      {
        name: 'invoice',
        subject: 'billing.invoice',
        metadata: { 'http.method': 'POST', 'http.path': '/invoices' },
      },
    ]);
    await expect
      .poll(async () => (await serviceEntry('billing'))?.listed, { timeout: 10_000 })
      .toBe(false);
    expect((await serviceEntry('billing'))?.skipped).toEqual([
      { endpoint: 'invoice', reason: 'the service is not listed in discovery.services' },
    ]);
    expect(await status('/invoices', 'POST')).toBe(404);
  });

  it('lets a YAML route win a clash, and skips malformed metadata without spoiling the rest', async () => {
    const yaml = await respond(stack.nc, 'yaml.orders.*', (msg) => msg.respond('from yaml'));
    stack.afterThisTest(yaml);
    await startService('orders-api', [
      {
        name: 'get',
        subject: 'orders.get.*',
        metadata: {
          'http.method': 'GET',
          'http.path': '/orders/:id',
          'http.subject': 'orders.get.{id}',
        },
      },
      {
        name: 'bad-method',
        subject: 'orders.fetch',
        metadata: { 'http.method': 'FETCH', 'http.path': '/orders-fetch' },
      },
      {
        name: 'bad-schema',
        subject: 'orders.list',
        metadata: { 'http.method': 'GET', 'http.path': '/orders', 'schema.response': '{not json' },
      },
      {
        name: 'misfit',
        subject: 'orders.cancel.*',
        metadata: {
          'http.method': 'POST',
          'http.path': '/cancel/:id',
          'http.subject': 'orders.drop.{id}',
        },
      },
      {
        name: 'wildcard',
        subject: 'orders.audit.*',
        metadata: { 'http.method': 'GET', 'http.path': '/audit' },
      },
      {
        name: 'create',
        subject: 'orders.create',
        metadata: { 'http.method': 'POST,PUT', 'http.path': '/order', 'http.timeout': '2s' },
      },
      {
        name: 'lookup',
        subject: 'orders.lookup.*',
        metadata: {
          'http.method': 'GET',
          'http.path': '/lookup/:key',
          'http.subject': 'orders.lookup.{key}',
        },
      },
      { name: 'internal', subject: 'orders.internal' },
    ]);
    await startService('secrets', [
      {
        name: 'read',
        subject: 'vault.read',
        metadata: { 'http.method': 'GET', 'http.path': '/vault' },
      },
    ]);
    await expect.poll(() => status('/order', 'PUT'), { timeout: 10_000 }).toBe(200);
    expect(await status('/order', 'POST')).toBe(200);
    expect((await send(`${stack.gateway.url}/orders/7`, { method: 'GET' })).text).toBe('from yaml');

    const skipped = Object.fromEntries(
      ((await serviceEntry('orders-api'))?.skipped ?? []).map((s) => [s.endpoint, s.reason]),
    );
    expect(Object.keys(skipped).sort()).toEqual(
      ['bad-method', 'bad-schema', 'get', 'misfit', 'wildcard'].sort(),
    );
    expect(skipped.get).toBe('a YAML route already answers GET /orders/:id');
    expect(skipped['bad-method']).toMatch(/^'http\.method'/);
    expect(skipped['bad-schema']).toBe("'schema.response' is not JSON");
    expect(skipped.misfit).toMatch(/does not fit the endpoint's subject orders\.cancel\.\*/);
    expect(skipped.wildcard).toMatch(/^can never be a valid subject: /);
    // An endpoint without HTTP metadata is simply not for HTTP.
    expect(skipped).not.toHaveProperty('internal');
    expect((await serviceEntry('secrets'))?.skipped).toEqual([
      { endpoint: 'read', reason: 'vault.read is outside rr.allow / rr.deny' },
    ]);
    expect(await status('/vault')).toBe(404);
    // The lists hold per request too: a value the route's template allows, the deny list does not.
    expect(await status('/lookup/public')).toBe(200);
    const denied = await send(`${stack.gateway.url}/lookup/secret`, { method: 'GET' });
    expect(denied.status).toBe(403);
    expect(denied.json<{ type: string }>().type).toMatch(/:subject-forbidden$/);
  });

  it('follows a reload: a service taken off discovery.services loses its routes, and gets them back', async () => {
    await startService('orders-reloaded', [
      {
        name: 'ping',
        subject: 'orders.reloaded.ping',
        metadata: { 'http.method': 'GET', 'http.path': '/reloaded' },
      },
    ]);
    await expect.poll(() => status('/reloaded'), { timeout: 10_000 }).toBe(200);
    const { configFile } = stack.gateway;
    const original = await readFile(configFile, 'utf8');
    stack.afterThisTest(() => void writeFile(configFile, original));
    const reloads = (): number =>
      stack.gateway.logs.filter((l) => l.msg === 'config reloaded').length;

    const config = parse(original) as { discovery: { services: string[] } };
    config.discovery.services = ['inventory'];
    await writeFile(configFile, stringify(config));
    const before = reloads();
    stack.gateway.kill('SIGHUP');
    await expect.poll(reloads, { timeout: 10_000 }).toBe(before + 1);
    expect(await status('/reloaded')).toBe(404);
    expect((await serviceEntry('orders-reloaded'))?.listed).toBe(false);

    await writeFile(configFile, original);
    stack.gateway.kill('SIGHUP');
    await expect.poll(reloads, { timeout: 10_000 }).toBe(before + 2);
    expect(await status('/reloaded')).toBe(200);
  });

  it('asks for an API key on /services when keys are configured', async () => {
    const url = `${stack.gateways[1]!.url}/services`;
    const anonymous = await send(url, { method: 'GET' });
    expect(anonymous.status).toBe(401);
    expect(anonymous.text).not.toContain('inventory');
    const keyed = await send(url, { method: 'GET', headers: { authorization: 'Bearer ops-key' } });
    expect(keyed.status).toBe(200);
    expect(keyed.json<ServicesReport>()).toHaveProperty('services');
  });

  it('says ready only once the first round is in: a route a service publishes answers from then on', async () => {
    await startService('inventory', [
      {
        name: 'ready',
        subject: 'inventory.ready',
        metadata: { 'http.method': 'GET', 'http.path': '/ready-check' },
      },
    ]);
    const gateway = await startGateway({
      config: {
        nats: { servers: [stack.nats.url] },
        discovery: { enabled: true, interval: '1m', wait: '150ms', services: ['inventory'] },
      },
    });
    stack.afterThisTest(() => gateway.stop());
    await expect
      .poll(async () => (await send(`${gateway.url}/readyz`, { method: 'GET' })).status, {
        timeout: 10_000,
        interval: 10,
      })
      .toBe(200);
    // With rounds a minute apart, only the first could have found it.
    expect((await send(`${gateway.url}/ready-check`, { method: 'GET' })).status).toBe(200);
  });
});
