/**
 * Discovery's judgement (evaluate.ts) of what services ask for, and its rounds (poller.ts) over a
 * scripted `$SRV.INFO`: which routes come out, why others do not, and when instances are forgotten.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { compareVersions, evaluate } from '../../src/discovery/evaluate.js';
import type { DiscoveredRoute, Info } from '../../src/discovery/evaluate.js';
import { Discovery } from '../../src/discovery/poller.js';
import { NatsUnavailableError } from '../../src/errors.js';
import type { RequestReply } from '../../src/request-reply.js';

const config = parseConfig(
  `
discovery: { enabled: true, interval: 10s, wait: 100ms, services: [orders-*, stock] }
rr: { deny: ['$SRV.>', 'vault.>'] }
routes:
  - { method: GET, path: /orders/:id, subject: 'yaml.orders.{id}' }
`,
  'test',
);

function info(
  name: string,
  endpoints: Array<[name: string, subject: string, metadata?: Record<string, unknown>]>,
  version = '1.0.0',
  id = `${name}-${version}`,
): Info {
  return {
    name,
    id,
    version,
    description: `the ${name} service`,
    endpoints: endpoints.map(([n, subject, metadata]) => ({ name: n, subject, metadata })),
  };
}

const http = (method: string, path: string, extra: Record<string, unknown> = {}) => ({
  'http.method': method,
  'http.path': path,
  ...extra,
});

function skipsOf(result: ReturnType<typeof evaluate>, service: string): Record<string, string> {
  const entry = result.report.services.find((s) => s.name === service);
  return Object.fromEntries((entry?.skipped ?? []).map((s) => [s.endpoint, s.reason]));
}

describe('evaluate', () => {
  it('turns listed endpoints with HTTP metadata into routes, with their operation', () => {
    const result = evaluate(
      [
        info('orders-api', [
          [
            'create',
            'orders.create',
            http('POST,PUT', '/order', {
              'http.timeout': '2s',
              description: 'Creates an order',
              'schema.request': '{"type":"object"}',
            }),
          ],
          ['internal', 'orders.internal'],
        ]),
      ],
      config,
    );
    expect(result.routes).toEqual([
      {
        route: { method: ['POST', 'PUT'], path: '/order', subject: 'orders.create', timeout: 2000 },
        operation: {
          service: { name: 'orders-api', version: '1.0.0', description: 'the orders-api service' },
          endpoint: { name: 'create', subject: 'orders.create' },
          description: 'Creates an order',
          requestSchema: { type: 'object' },
          responseSchema: undefined,
        },
      },
    ] satisfies DiscoveredRoute[]);
    // No HTTP metadata: not meant for HTTP, not a skip.
    expect(skipsOf(result, 'orders-api')).toEqual({});
  });

  it('says why each endpoint it cannot expose is skipped', () => {
    const result = evaluate(
      [
        info('orders-api', [
          [
            'yaml-clash',
            'orders.get.*',
            http('GET', '/orders/:id', { 'http.subject': 'orders.get.{id}' }),
          ],
          ['no-method', 'orders.a', { 'http.path': '/a' }],
          ['no-path', 'orders.b', { 'http.method': 'GET' }],
          ['bad-method', 'orders.c', http('FETCH', '/c')],
          ['not-string', 'orders.d', http('GET', '/d', { 'http.timeout': 5 })],
          ['bad-schema', 'orders.e', http('GET', '/e', { 'schema.response': '{' })],
          ['misfit', 'orders.f.*', http('GET', '/f/:id', { 'http.subject': 'orders.g.{id}' })],
          ['wildcard', 'orders.h.*', http('GET', '/h')],
          ['rr', 'orders.i', http('POST', '/rr/:subject', { 'http.subject': 'orders.i' })],
          ['regex', 'orders.j.*', http('GET', '/j/:id{.+}', { 'http.subject': 'orders.j.{id}' })],
          ['reserved', 'orders.k', http('GET', '/metrics')],
          ['denied', 'vault.read', http('GET', '/vault')],
        ]),
      ],
      config,
    );
    expect(result.routes).toEqual([]);
    const skips = skipsOf(result, 'orders-api');
    expect(skips['bad-method']).toMatch(/^'http\.method': /);
    expect(skips.wildcard).toMatch(/^can never be a valid subject: /);
    expect({ ...skips, 'bad-method': '', wildcard: '' }).toEqual({
      'yaml-clash': 'a YAML route already answers GET /orders/:id',
      'no-method': "'http.path' is set but 'http.method' is not",
      'no-path': "'http.method' is set but 'http.path' is not",
      'bad-method': '',
      'not-string': "metadata 'http.timeout' is not a string",
      'bad-schema': "'schema.response' is not JSON",
      misfit: "'http.subject' orders.g.{id} does not fit the endpoint's subject orders.f.*",
      wildcard: '',
      rr: "paths under /rr are the gateway's request-reply endpoint",
      regex: "'http.path' may not constrain parameters with a pattern",
      reserved: "'/metrics' is the gateway's own endpoint",
      denied: 'vault.read is outside rr.allow / rr.deny',
    });
  });

  it('lets the first service (by name) keep a path two services claim, naming it to the other', () => {
    const result = evaluate(
      [
        info('orders-b', [['list', 'b.list', http('GET', '/list')]]),
        info('orders-a', [['list', 'a.list', http('GET', '/list')]]),
      ],
      config,
    );
    expect(result.routes.map((r) => r.operation.service.name)).toEqual(['orders-a']);
    expect(skipsOf(result, 'orders-b')).toEqual({
      list: 'orders-a/list already answers GET /list',
    });
  });

  it('exposes only services the globs list, and lets the newest release speak for a service', () => {
    const result = evaluate(
      [
        info('billing', [['pay', 'billing.pay', http('POST', '/pay')]]),
        info('stock', [['old', 'stock.old', http('GET', '/old')]], '1.9.0'),
        info('stock', [['new', 'stock.new', http('GET', '/new')]], '1.10.0'),
        info('stock', [['canary', 'stock.canary', http('GET', '/canary')]], '1.10.0-rc.1'),
      ],
      config,
    );
    expect(result.routes.map((r) => r.route.path)).toEqual(['/new']);
    const stock = result.report.services.find((s) => s.name === 'stock');
    expect(stock?.instances.map((i) => i.version)).toEqual(['1.10.0', '1.10.0-rc.1', '1.9.0']);
    expect(skipsOf(result, 'billing')).toEqual({
      pay: 'the service is not listed in discovery.services',
    });
  });

  it('refuses a schema that is JSON but no JSON Schema, and caps how many endpoints a round takes', () => {
    const odd = evaluate(
      [info('stock', [['e', 'stock.e', http('GET', '/e', { 'schema.request': '5' })]])],
      config,
    );
    expect(skipsOf(odd, 'stock')).toEqual({
      e: "'schema.request' is not a JSON Schema (an object)",
    });

    const many = Array.from({ length: 2_500 }, (_, i): [string, string, Record<string, string>] => [
      `e${i}`,
      `stock.e${i}`,
      http('GET', `/e${i}`),
    ]);
    const result = evaluate([info('stock', many)], config);
    expect(result.routes).toHaveLength(2_000);
    const skipped = result.report.services[0]?.skipped ?? [];
    expect(skipped).toHaveLength(500);
    expect(skipped[0]?.reason).toBe(
      'more than 2000 endpoints of listed services with HTTP metadata',
    );
  });

  it('orders versions numerically, a pre-release before its release', () => {
    const sorted = ['1.10.0', '1.9.2', '1.0.0', '1.0.0-rc.1', '2.0.0+build.7', '0.9'].sort(
      compareVersions,
    );
    expect(sorted).toEqual(['0.9', '1.0.0-rc.1', '1.0.0', '1.9.2', '1.10.0', '2.0.0+build.7']);
  });
});

describe('Discovery rounds', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  /** A `$SRV.INFO` whose answers the test sets per round; `down` makes rounds fail as NATS would. */
  function scripted() {
    const state = { answers: [] as Info[], down: false, rounds: 0 };
    const nats = {
      requestMany: (
        _req: unknown,
        _opts: unknown,
        onReply: (r: { payload: Uint8Array }) => void,
      ) => {
        state.rounds++;
        if (state.down) return Promise.reject(new NatsUnavailableError('down'));
        for (const a of state.answers) onReply({ payload: Buffer.from(JSON.stringify(a)) });
        return Promise.resolve({ count: state.answers.length, reason: 'stall' as const });
      },
    } as unknown as RequestReply;
    const published: string[][] = [];
    const discovery = new Discovery({
      nats,
      logger: pino({ level: 'silent' }),
      onRoutes: (routes) => published.push(routes.map((r) => r.route.path)),
    });
    return { state, discovery, published };
  }

  const stock = info('stock', [['get', 'stock.get', http('GET', '/stock')]]);

  it('forgets a service only after it missed two rounds that reached NATS', async () => {
    const { state, discovery, published } = scripted();
    state.answers = [stock];
    discovery.configure(config);
    await vi.advanceTimersByTimeAsync(0);
    expect(published).toEqual([['/stock']]);

    // NATS out for three rounds: they count against nobody.
    state.answers = [];
    state.down = true;
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.advanceTimersByTimeAsync(1_000);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(state.rounds).toBe(4);
    state.down = false;
    // Back, but the service has not answered yet: one miss, routes kept.
    await vi.advanceTimersByTimeAsync(1_000);
    expect(published).toEqual([['/stock']]);
    // A second miss in a row: gone.
    await vi.advanceTimersByTimeAsync(10_000);
    expect(published).toEqual([['/stock'], []]);
    discovery.stop();
  });

  it('keeps instances of different services apart even when they give the same id', async () => {
    const { state, discovery, published } = scripted();
    const impostor = info('nobody', [], '9.0.0', stock.id);
    state.answers = [stock, impostor];
    discovery.configure(config);
    await vi.advanceTimersByTimeAsync(0);
    await vi.advanceTimersByTimeAsync(10_000);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(published).toEqual([['/stock']]);
    expect(discovery.report().services.map((s) => s.name)).toEqual(['nobody', 'stock']);
    discovery.stop();
  });

  it('is settled only once a round has reached NATS, so readiness waits for the routes', async () => {
    const { state, discovery } = scripted();
    state.answers = [stock];
    state.down = true;
    discovery.configure(config);
    await vi.advanceTimersByTimeAsync(0);
    expect(discovery.settled).toBe(false);
    state.down = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(discovery.settled).toBe(true);
    expect(discovery.routes.map((r) => r.route.path)).toEqual(['/stock']);
    discovery.stop();
  });

  it('changes nothing after stop, not even from a round in flight, and never starts again', async () => {
    const { state, discovery, published } = scripted();
    state.answers = [stock];
    discovery.configure(config);
    discovery.stop();
    await vi.advanceTimersByTimeAsync(60_000);
    discovery.configure(config);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(state.rounds).toBe(0);
    expect(published).toEqual([]);
  });
});
