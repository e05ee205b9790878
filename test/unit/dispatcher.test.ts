/**
 * The dispatcher over a real socket with a stand-in NATS side: every target through one table,
 * failures as problem+json, unread bodies discarded, mapped routes before /rr.
 */
import { Agent, request } from 'node:http';
import type { RequestListener } from 'node:http';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { SubjectForbiddenError } from '../../src/errors.js';
import { createApp } from '../../src/http/app.js';
import { createDispatcher } from '../../src/http/dispatcher.js';
import { createExchanges } from '../../src/http/exchange.js';
import { ByteBudget } from '../../src/http/byte-budget.js';
import { Lifecycle } from '../../src/http/lifecycle.js';
import { RouteTable } from '../../src/http/route-table.js';
import type { RouteHandler } from '../../src/http/route-table.js';
import { send } from '../../src/http/send.js';
import { createMetrics } from '../../src/metrics.js';
import type { OutboundRequest, RequestReply } from '../../src/request-reply.js';
import { startHttpServer } from '../../src/server.js';
import { RouteNotFoundError } from '../../src/errors.js';

const silent = pino({ level: 'silent' });
const metrics = (): ReturnType<typeof createMetrics> =>
  createMetrics({
    inFlight: () => 0,
    bufferedBytes: () => 0,
    natsState: () => 'connected',
    natsStates: ['connected'],
  });

interface Answer {
  status: number;
  body: string;
  contentType: string | undefined;
  reusedSocket: boolean;
}

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0)) await stop();
});

async function serve(listener: RequestListener): Promise<string> {
  const { server, port } = await startHttpServer({
    listener,
    clientError: (_err, socket) => socket.destroy(),
    host: '127.0.0.1',
    port: 0,
    logger: silent,
  });
  stops.push(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${port}`;
}

function ask(
  base: string,
  method: string,
  target: string,
  body = '',
  agent?: Agent,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    // `path`, not a URL: a URL would be normalised on the way out (`/rr/./x` sent as `/rr/x`).
    const { hostname, port } = new URL(base);
    const req = request({ hostname, port, path: target, method, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({
          status: res.statusCode ?? 0,
          body: Buffer.concat(chunks).toString(),
          contentType: res.headers['content-type'],
          reusedSocket: req.reusedSocket,
        }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('createDispatcher', () => {
  /** A dispatcher over one `/rr/*` row answered by `handle`, and a GET `/other` row. */
  async function dispatcherWith(handle: RouteHandler): Promise<string> {
    const config = parseConfig('', 'defaults');
    const exchanges = createExchanges({
      config,
      lifecycle: new Lifecycle(),
      budget: new ByteBudget(config.http.maxBufferedBytes),
      metrics: metrics(),
      logger: silent,
    });
    const table = new RouteTable([
      { template: '/rr/{subject}', pattern: '/rr/*', methods: ['POST'], kind: 'nats', handle },
      {
        template: '/other',
        pattern: '/other',
        methods: ['GET'],
        kind: 'gateway',
        handle: (exchange) => send(exchange, 200, [], `other ${exchange.target.path}`),
      },
    ]);
    return serve(
      createDispatcher({
        table,
        exchanges,
        cors: undefined,
        explainMiss: (path) => new RouteNotFoundError(path),
        logger: silent,
      }),
    );
  }
  const echoPath: RouteHandler = (exchange) =>
    send(exchange, 200, [], `${exchange.target.path}|${exchange.target.query ?? ''}`);

  it('routes every spelling of a path by its one normalised form', async () => {
    const base = await dispatcherWith(echoPath);
    for (const [target, body] of [
      ['/rr/orders.eu', '/rr/orders.eu|'],
      ['/rr/orders.eu?timeout=2s&replies=all', '/rr/orders.eu|timeout=2s&replies=all'],
      ['/rr/%6Frders', '/rr/orders|'],
      ['/rr/./orders.eu', '/rr/orders.eu|'],
      ['/rr/x/../orders.eu', '/rr/orders.eu|'],
      ['/rr/a%2fb', '/rr/a%2Fb|'],
      ['http://gw.example/rr/abs?q=1', '/rr/abs|q=1'],
    ] as const) {
      expect((await ask(base, 'POST', target)).body, target).toBe(body);
    }
    expect((await ask(base, 'GET', '/rr/../other')).body).toBe('other /other');
  });

  it('answers 405 with Allow for another method, 404 for no path, both as problems', async () => {
    const base = await dispatcherWith(echoPath);
    const wrongMethod = await ask(base, 'GET', '/rr/orders.eu');
    expect(wrongMethod).toMatchObject({ status: 405, contentType: 'application/problem+json' });
    const missing = await ask(base, 'POST', '/RR/orders.eu');
    expect(missing).toMatchObject({ status: 404, contentType: 'application/problem+json' });
  });

  it('answers HEAD with the GET route, without a body', async () => {
    const base = await dispatcherWith(echoPath);
    const head = await ask(base, 'HEAD', '/other');
    expect(head).toMatchObject({ status: 200, body: '' });
  });

  it("maps a direct handler's failure to problem+json, a bug to a 500", async () => {
    const forbidden = await dispatcherWith(() => Promise.reject(new SubjectForbiddenError('x')));
    const denied = await ask(forbidden, 'POST', '/rr/x');
    expect(denied.status).toBe(403);
    expect(denied.contentType).toBe('application/problem+json');
    expect(JSON.parse(denied.body)).toMatchObject({ status: 403 });

    const broken = await dispatcherWith(() => Promise.reject(new TypeError('bug')));
    const failed = await ask(broken, 'POST', '/rr/x');
    expect(failed.status).toBe(500);
    expect(failed.contentType).toBe('application/problem+json');
  });

  it('discards the rest of a body the answer stopped reading, and serves the next request on the connection', async () => {
    // Like a 413 for a body that grew past the limit: one chunk read, the stream paused, answered.
    const base = await dispatcherWith(
      (exchange) =>
        new Promise((resolve) => {
          exchange.incoming.once('data', () => {
            exchange.incoming.pause();
            send(exchange, 200, [], 'direct');
            resolve();
          });
        }),
    );
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    stops.push(() => {
      agent.destroy();
      return Promise.resolve();
    });
    const first = await ask(base, 'POST', '/rr/a', 'x'.repeat(256 * 1024), agent);
    expect(first.body).toBe('direct');
    const second = await ask(base, 'POST', '/rr/b', 'y', agent);
    expect(second).toMatchObject({ body: 'direct', reusedSocket: true });
  });
});

describe('createApp: mapped routes and /rr in one table', () => {
  /** An app whose NATS side answers every request with the subject it was sent to. */
  async function appWith(yaml: string): Promise<{ base: string; subjects: string[] }> {
    const subjects: string[] = [];
    const nats: RequestReply = {
      available: true,
      maxPayloadBytes: 1024 * 1024,
      inboxPrefix: '_INBOX',
      request: (req: OutboundRequest) => {
        subjects.push(req.subject);
        return Promise.resolve({ payload: Buffer.from(req.subject), headers: [] });
      },
      requestMany: () => Promise.reject(new Error('not used')),
      acknowledge: () => undefined,
      downForMs: 0,
    };
    const app = createApp({
      config: parseConfig(yaml, 'test'),
      budget: new ByteBudget(256 * 1024 * 1024),
      nats,
      lifecycle: new Lifecycle(),
      logger: silent,
      openApi: { openapi: '3.1.0', paths: {} },
      metrics: metrics(),
    });
    return { base: await serve(app.listener), subjects };
  }

  it('sends POST /rr/<subject> to that subject', async () => {
    const { base, subjects } = await appWith('');
    const res = await ask(base, 'POST', '/rr/orders.eu', 'x');
    expect(res).toMatchObject({ status: 200, body: 'orders.eu' });
    expect(subjects).toEqual(['orders.eu']);
  });

  it('lets a mapped route whose first segment is a parameter claim /rr/... paths', async () => {
    const { base } = await appWith(
      'routes:\n  - { method: POST, path: "/:tenant/orders", subject: "orders.{tenant}" }\n',
    );
    expect((await ask(base, 'POST', '/rr/orders', 'x')).body).toBe('orders.rr');
    // Paths the route does not match still reach /rr.
    expect((await ask(base, 'POST', '/rr/other.thing', 'x')).body).toBe('other.thing');
  });
});
