/**
 * Which way a request is answered: `POST /rr/...` directly, everything else (and every target the
 * Hono adapter would rewrite) through the Hono app, and `/rr` paths a mapped route may claim too.
 */
import { Agent, request } from 'node:http';
import type { RequestListener } from 'node:http';
import { Hono } from 'hono';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { SubjectForbiddenError } from '../../src/errors.js';
import { createApp } from '../../src/http/app.js';
import type { GatewayEnv } from '../../src/http/context.js';
import { createExchanges, exchangeMiddleware } from '../../src/http/exchange.js';
import { Lifecycle } from '../../src/http/lifecycle.js';
import { createListener } from '../../src/http/listener.js';
import type { RequestReplyHandler } from '../../src/http/rr.js';
import { send } from '../../src/http/send.js';
import { createMetrics } from '../../src/metrics.js';
import type { OutboundRequest, RequestReply } from '../../src/request-reply.js';
import { startHttpServer } from '../../src/server.js';

const silent = pino({ level: 'silent' });
const metrics = (): ReturnType<typeof createMetrics> =>
  createMetrics({ inFlight: () => 0, natsState: () => 'connected', natsStates: ['connected'] });

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

describe('createListener', () => {
  /** A listener whose Hono app answers "hono" to everything and whose direct handler is `direct`. */
  async function listenerWith(direct: RequestReplyHandler | undefined): Promise<string> {
    const config = parseConfig('', 'defaults');
    const exchanges = createExchanges({
      config,
      lifecycle: new Lifecycle(),
      metrics: metrics(),
      logger: silent,
    });
    const app = new Hono<GatewayEnv>();
    app.use(exchangeMiddleware(exchanges));
    app.all('*', (c) => send(c.get('exchange'), 200, [], 'hono'));
    return serve(
      createListener({ app, exchanges, requestReply: direct, cors: undefined, logger: silent }),
    );
  }
  const answerDirect: RequestReplyHandler = (exchange) =>
    Promise.resolve(send(exchange, 200, [], 'direct'));

  it('answers POST /rr/<subject> directly, query and all', async () => {
    const base = await listenerWith(answerDirect);
    expect((await ask(base, 'POST', '/rr/orders.eu')).body).toBe('direct');
    expect((await ask(base, 'POST', '/rr/orders.eu?timeout=2s&replies=all')).body).toBe('direct');
  });

  it('leaves other methods, other paths and targets the adapter rewrites to Hono', async () => {
    const base = await listenerWith(answerDirect);
    for (const [method, target] of [
      ['GET', '/rr/orders.eu'],
      ['OPTIONS', '/rr/orders.eu'],
      ['POST', '/rr'],
      ['POST', '/healthz'],
      ['POST', '/RR/orders.eu'],
      ['POST', '/rr/%6Frders'], // percent-encoding: the adapter parses it with new URL()
      ['POST', '/rr/../healthz'], // dot segments: new URL() removes them
      ['POST', '/rr/./orders.eu'],
    ] as const) {
      expect((await ask(base, method, target)).body, `${method} ${target}`).toBe('hono');
    }
  });

  it('leaves /rr to Hono when there is no direct handler', async () => {
    const base = await listenerWith(undefined);
    expect((await ask(base, 'POST', '/rr/orders.eu')).body).toBe('hono');
  });

  it("maps a direct handler's failure to problem+json, a bug to a 500", async () => {
    const forbidden = await listenerWith(() => Promise.reject(new SubjectForbiddenError('x')));
    const denied = await ask(forbidden, 'POST', '/rr/x');
    expect(denied.status).toBe(403);
    expect(denied.contentType).toBe('application/problem+json');
    expect(JSON.parse(denied.body)).toMatchObject({ status: 403 });

    const broken = await listenerWith(() => Promise.reject(new TypeError('bug')));
    const failed = await ask(broken, 'POST', '/rr/x');
    expect(failed.status).toBe(500);
    expect(failed.contentType).toBe('application/problem+json');
  });

  it('discards the rest of a body the answer stopped reading, and serves the next request on the connection', async () => {
    // Like a 413 for a body that grew past the limit: one chunk read, the stream paused, answered.
    const base = await listenerWith(
      (exchange) =>
        new Promise((resolve) => {
          exchange.incoming.once('data', () => {
            exchange.incoming.pause();
            resolve(send(exchange, 200, [], 'direct'));
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

describe('createApp: the direct path and mapped routes', () => {
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
    };
    const app = createApp({
      config: parseConfig(yaml, 'test'),
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
