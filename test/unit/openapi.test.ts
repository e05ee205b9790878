/** `openapi.yaml` is valid OpenAPI 3.1 and in step with the code: problem types and routes, both ways. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { validate } from '@readme/openapi-parser';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseConfig } from '../../src/config/load.js';
import { ByteBudget } from '../../src/http/byte-budget.js';
import { createApp } from '../../src/http/app.js';
import { Lifecycle } from '../../src/http/lifecycle.js';
import { loadBaseOpenApi, mergeRoutes } from '../../src/http/openapi.js';
import type { OpenApiDocument } from '../../src/http/openapi.js';
import { compileRoutes } from '../../src/http/routes.js';
import type { DiscoveredRoute } from '../../src/discovery/evaluate.js';
import { PROBLEM_TYPES, problemTypeUri } from '../../src/http/problem.js';
import type { ProblemSlug } from '../../src/http/problem.js';
import { createMetrics } from '../../src/metrics.js';
import type { RequestReply } from '../../src/request-reply.js';
import { startHttpServer } from '../../src/server.js';

interface OpenApiDoc {
  paths: Record<string, Record<string, unknown>>;
  'x-problem-types': Record<string, { status: number; title: string }>;
}

const text = readFileSync(resolve(import.meta.dirname, '../../openapi.yaml'), 'utf8');
const doc = parse(text) as OpenApiDoc;
const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

/** A NATS side that is never connected: enough to see which routes exist. */
const offline: RequestReply = {
  available: false,
  maxPayloadBytes: 0,
  inboxPrefix: '_INBOX',
  request: () => Promise.reject(new Error('offline')),
  requestMany: () => Promise.reject(new Error('offline')),
  acknowledge: () => undefined,
  downForMs: 0,
};

describe('openapi.yaml', () => {
  it('is valid OpenAPI 3.1', async () => {
    const result = await validate(parse(text) as never);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(doc).toMatchObject({ openapi: '3.1.0' });
  });

  it('lists exactly the problem types the code emits, with the same status and title', () => {
    const documented = doc['x-problem-types'];
    const emitted = Object.fromEntries(
      Object.entries(PROBLEM_TYPES).map(([slug, t]) => [
        problemTypeUri(slug as ProblemSlug),
        { status: t.status, title: t.title },
      ]),
    );
    const documentedShape = Object.fromEntries(
      Object.entries(documented).map(([uri, t]) => [uri, { status: t.status, title: t.title }]),
    );
    expect(documentedShape).toEqual(emitted);
  });

  it('documents every route the app serves, and the app serves every documented operation over HTTP', async () => {
    const app = createApp({
      // Every optional endpoint on, /services included.
      config: parseConfig('discovery: { enabled: true }', 'defaults'),
      discovery: {
        routes: [],
        report: () => ({ lastRound: undefined, services: [] }),
        settled: true,
      },
      budget: new ByteBudget(256 * 1024 * 1024),
      nats: offline,
      lifecycle: new Lifecycle(),
      logger: pino({ level: 'silent' }),
      openApi: doc as unknown as OpenApiDocument,
      metrics: createMetrics({
        inFlight: () => 0,
        bufferedBytes: () => 0,
        natsState: () => 'closed',
        natsStates: ['closed'],
      }),
    });
    const served = new Set(app.tables.main.map((r) => r.template));
    expect([...served].sort()).toEqual(Object.keys(doc.paths).sort());

    const { server, port } = await startHttpServer({
      listener: app.listener,
      clientError: app.clientError,
      host: '127.0.0.1',
      port: 0,
      logger: pino({ level: 'silent' }),
    });
    try {
      for (const [path, item] of Object.entries(doc.paths)) {
        for (const method of METHODS.filter((m) => m in item)) {
          const res = await fetch(
            `http://127.0.0.1:${port}${path.replace('{subject}', 'demo.echo').replace('{file}', 'init.js')}`,
            {
              method: method.toUpperCase(),
            },
          );
          await res.arrayBuffer();
          expect(res.status, `${method} ${path}`).not.toBe(404);
          expect(res.status, `${method} ${path}`).not.toBe(405);
        }
      }
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('operation ids of discovered routes', () => {
  it('stay unique when two services spell the same id (a-b + c, a + b-c)', async () => {
    const operation = (service: string, endpoint: string) => ({
      service: { name: service, version: '1.0.0', description: '' },
      endpoint: { name: endpoint, subject: `${service}.${endpoint}` },
      description: undefined,
      requestSchema: undefined,
      responseSchema: undefined,
    });
    const routes = compileRoutes(parseConfig('routes: []', 'test'), [
      {
        route: { method: ['GET'], path: '/one', subject: 'svc.one' },
        operation: operation('a-b', 'c'),
      },
      {
        route: { method: ['GET'], path: '/two', subject: 'svc.two' },
        operation: operation('a', 'b-c'),
      },
    ] as unknown as DiscoveredRoute[]);
    const merged = mergeRoutes(await loadBaseOpenApi(), parseConfig('routes: []', 'test'), routes, {
      paths: [],
      main: { host: '127.0.0.1', port: 8080 },
    });
    const one = merged.paths['/one']?.get as { operationId: string };
    const two = merged.paths['/two']?.get as { operationId: string };
    expect(one.operationId).toBe('a_b_c_get');
    expect(two.operationId).toMatch(/^a_b_c_get_[0-9a-f]{8}$/);
    await expect(validate(structuredClone(merged) as never)).resolves.toMatchObject({
      valid: true,
    });
  });
});

describe('with API keys configured', () => {
  it('declares the bearer scheme on every operation that asks for a key, and only there', async () => {
    const config = parseConfig(
      `
auth: { apiKeys: [{ name: k, sha256: '${'a'.repeat(64)}' }] }
routes:
  - { method: GET, path: /orders/:id, subject: 'orders.{id}' }
`,
      'test',
    );
    const merged = mergeRoutes(await loadBaseOpenApi(), config, compileRoutes(config), {
      paths: ['/healthz', '/services'],
      main: { host: '127.0.0.1', port: 8080 },
    });
    const op = (path: string, method: string) =>
      merged.paths[path]?.[method] as { security?: unknown; responses: Record<string, unknown> };
    const schemes = (merged.components as Record<string, Record<string, unknown>>).securitySchemes;
    expect(Object.keys(schemes ?? {})).toEqual(['apiKey']);
    expect(schemes?.apiKey).toMatchObject({ type: 'http', scheme: 'bearer' });
    for (const [path, method] of [
      ['/orders/{id}', 'get'],
      ['/rr/{subject}', 'post'],
    ] as const) {
      expect(op(path, method).security).toEqual([{ apiKey: [] }]);
      expect(Object.keys(op(path, method).responses)).toEqual(
        expect.arrayContaining(['401', '403']),
      );
    }
    expect(op('/healthz', 'get').security).toBeUndefined();
    // Any key may read /services: it answers 401, never 403.
    expect(op('/services', 'get').security).toEqual([{ apiKey: [] }]);
    expect(Object.keys(op('/services', 'get').responses)).toContain('401');
    expect(Object.keys(op('/services', 'get').responses)).not.toContain('403');
    await expect(validate(structuredClone(merged) as never)).resolves.toMatchObject({
      valid: true,
    });
  });
});
