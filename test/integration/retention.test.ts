/**
 * What a request waiting for its first reply keeps alive. At hundreds of requests in flight,
 * whatever each one holds is copied by every young-generation collection; the body and the header
 * list sent to NATS are needed only until they are published, so neither may outlive that on the
 * HTTP side or in the NATS layer. A stream or a gather may last minutes: nor may they.
 */
import { request } from 'node:http';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type { Msg } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createApp } from '../../src/http/app.js';
import { ByteBudget } from '../../src/http/byte-budget.js';
import { Lifecycle } from '../../src/http/lifecycle.js';
import { createMetrics } from '../../src/metrics.js';
import { NatsClient } from '../../src/nats/client.js';
import type {
  GatherResult,
  OutboundRequest,
  Reply,
  RequestReply,
} from '../../src/request-reply.js';
import { startHttpServer } from '../../src/server.js';
import { startNatsServer } from '../helpers/nats-server.js';
import { connectResponder, uniqueSubject } from '../helpers/responders.js';

setFlagsFromString('--expose-gc');
// A full, synchronous collection: what survives it is really held.
const collectGarbage = runInNewContext('gc') as () => void;
const silent = pino({ level: 'silent' });

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Whether the objects behind `refs` are still alive after a full collection. */
async function alive(refs: Array<WeakRef<object>>): Promise<boolean[]> {
  // A WeakRef keeps its target until the job that made it is over.
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  return refs.map((ref) => ref.deref() !== undefined);
}

/** The gateway's own NATS client on `url`, connected, and drained when the test ends. */
async function connectedClient(url: string): Promise<NatsClient> {
  const client = NatsClient.start({
    servers: [url],
    name: 'retention-test',
    inboxPrefix: '_INBOX_RETENTION',
    reconnectWaitMs: 100,
    healthIntervalMs: 60_000,
    healthTimeoutMs: 5_000,
    logger: silent,
  });
  cleanups.push(() => client.drain());
  await client.connected;
  return client;
}

/**
 * Its own nats-server, a responder that runs `answer` for each request on a fresh subject, and the
 * gateway's NATS client; all stopped when the test ends.
 */
async function natsLayerWith(
  answer: (msg: Msg) => void,
): Promise<{ subject: string; client: NatsClient }> {
  const server = await startNatsServer();
  cleanups.push(() => server.stop());
  const responder = await connectResponder(server.url);
  cleanups.push(() => responder.close());
  const subject = uniqueSubject('held');
  responder.subscribe(subject, { callback: (_err, msg) => answer(msg) });
  await responder.flush();
  return { subject, client: await connectedClient(server.url) };
}

/**
 * Hands `send` a request of 4 KiB with one header, keeping only weak references to its header list
 * and body: built here, so the test's own frame never holds them.
 */
function sendWatched<T>(
  subject: string,
  send: (req: OutboundRequest) => Promise<T>,
): { result: Promise<T>; held: Array<WeakRef<object>> } {
  const req: OutboundRequest = {
    subject,
    payload: Buffer.alloc(4096, 7),
    headers: [['X-Trace', 'abc']],
    timeoutMs: 10_000,
    onCancel: () => undefined,
  };
  const result = send(req);
  // Draining at the end rejects it if an assertion failed before the answer.
  result.catch(() => undefined);
  return { result, held: [new WeakRef(req.headers), new WeakRef(req.payload)] };
}

/** A gateway on a free port whose NATS layer is `nats`; closed when the test ends. */
async function gatewayWith(nats: RequestReply): Promise<number> {
  const app = createApp({
    config: parseConfig('routes: []', 'test'),
    budget: new ByteBudget(256 * 1024 * 1024),
    nats,
    lifecycle: new Lifecycle(),
    logger: silent,
    openApi: { openapi: '3.1.0', paths: {} },
    metrics: createMetrics({
      inFlight: () => 0,
      bufferedBytes: () => 0,
      natsState: () => 'connected',
      natsStates: ['connected'],
    }),
  });
  const { server, port } = await startHttpServer({
    listener: app.listener,
    clientError: (_err, socket) => socket.destroy(),
    host: '127.0.0.1',
    port: 0,
    logger: silent,
  });
  cleanups.push(() => {
    server.closeAllConnections();
    return new Promise((resolve) => server.close(resolve));
  });
  return port;
}

/** Sends `body` to `path` on `port`; resolves with the status and the whole response body. */
function post(
  port: number,
  path: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: string }> {
  const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method: 'POST', path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }),
      );
    });
    req.on('error', reject);
    req.end(body);
  });
  // If an assertion fails first, closing the server resets it: the assertion is the news.
  answer.catch(() => undefined);
  return answer;
}

describe('a request waiting for its reply', () => {
  it('holds neither its body nor its NATS header list on the HTTP side', async () => {
    let held: { headers: WeakRef<object>; payload: WeakRef<object> } | undefined;
    let answer: ((reply: Reply) => void) | undefined;
    const nats: RequestReply = {
      available: true,
      maxPayloadBytes: 1024 * 1024,
      inboxPrefix: '_INBOX',
      // Keeps only weak references to what it was handed, as a NATS layer would once it published,
      // and takes the cancel hook as the real one does: its listener must not hold them either.
      request: (req: OutboundRequest) => {
        held = { headers: new WeakRef(req.headers), payload: new WeakRef(req.payload) };
        req.onCancel?.(() => undefined);
        return new Promise<Reply>((resolve) => (answer = resolve));
      },
      requestMany: () => Promise.reject(new Error('not used')),
      acknowledge: () => undefined,
      downForMs: 0,
    };
    const port = await gatewayWith(nats);

    const response = post(port, '/rr/orders.create', Buffer.alloc(4096, 7), { 'X-Trace': 'abc' });
    await vi.waitUntil(() => held !== undefined, { timeout: 5_000 });
    expect(await alive([held!.headers, held!.payload])).toEqual([false, false]);

    answer!({ payload: Buffer.from('done'), headers: [] });
    expect(await response).toEqual({ status: 200, body: 'done' });
  });

  it('holds neither in the NATS layer while the reply is awaited', async () => {
    // Answers only when told to, so that the request stays pending meanwhile.
    let reply: (() => void) | undefined;
    const { subject, client } = await natsLayerWith((msg) => {
      reply = () => msg.respond(Buffer.from('done'));
    });
    const { result, held } = sendWatched(subject, (req) => client.request(req));
    // Published and received: from here on only the reply is awaited.
    await vi.waitUntil(() => reply !== undefined, { timeout: 5_000 });
    expect(await alive(held)).toEqual([false, false]);

    reply!();
    expect(Buffer.from((await result).payload).toString()).toBe('done');
  });
});

describe('a stream or gather under way', () => {
  // Each has had its first reply and goes on; until it ends, what was published is not needed.
  it.each([
    {
      kind: 'a stream',
      path: '/rr/orders.watch?replies=stream',
      accept: undefined,
      answer: (body: string) => body,
    },
    {
      kind: 'a gather answered as one JSON array',
      path: '/rr/orders.count?replies=all',
      accept: undefined,
      answer: (body: string) => (JSON.parse(body) as Array<{ body: string }>)[0]?.body,
    },
    {
      kind: 'a gather streamed as NDJSON',
      path: '/rr/orders.count?replies=all',
      accept: 'application/x-ndjson',
      answer: (body: string) => (JSON.parse(body.split('\n')[0]!) as { body: string }).body,
    },
  ])('holds neither its body nor its NATS header list on the HTTP side: $kind', async (c) => {
    let held: { headers: WeakRef<object>; payload: WeakRef<object> } | undefined;
    let replied = false;
    let end: ((result: GatherResult) => void) | undefined;
    const nats: RequestReply = {
      available: true,
      maxPayloadBytes: 1024 * 1024,
      inboxPrefix: '_INBOX',
      request: () => Promise.reject(new Error('not used')),
      // Keeps weak references only, takes the cancel hook, and hands over one reply a turn later,
      // as the real NATS layer would.
      requestMany: (req, _options, onReply) => {
        held = { headers: new WeakRef(req.headers), payload: new WeakRef(req.payload) };
        req.onCancel?.(() => undefined);
        setImmediate(() => {
          onReply({ payload: Buffer.from('first'), headers: [] });
          replied = true;
        });
        return new Promise<GatherResult>((resolve) => (end = resolve));
      },
      acknowledge: () => undefined,
      downForMs: 0,
    };
    const port = await gatewayWith(nats);

    const response = post(port, c.path, Buffer.alloc(4096, 7), {
      'X-Trace': 'abc',
      ...(c.accept ? { Accept: c.accept } : {}),
    });
    await vi.waitUntil(() => replied, { timeout: 5_000 });
    expect(await alive([held!.headers, held!.payload])).toEqual([false, false]);

    end!({ count: 1, reason: 'end' });
    const { status, body } = await response;
    expect(status).toBe(200);
    expect(c.answer(body)).toBe('first');
  });

  it('holds neither in the NATS layer while more replies are awaited', async () => {
    // Sends one chunk at once and the end marker (an empty message) only when told to.
    let finish: (() => void) | undefined;
    const { subject, client } = await natsLayerWith((msg) => {
      msg.respond(Buffer.from('first'));
      finish = () => msg.respond(new Uint8Array(0));
    });
    const chunks: string[] = [];
    const { result, held } = sendWatched(subject, (req) =>
      client.requestMany(
        req,
        { maxReplies: Infinity, stallMs: 10_000, endOnEmpty: true },
        (reply) => void chunks.push(Buffer.from(reply.payload).toString()),
      ),
    );
    await vi.waitUntil(() => chunks.length === 1, { timeout: 5_000 });
    expect(await alive(held)).toEqual([false, false]);

    finish!();
    expect(await result).toEqual({ count: 1, reason: 'end' });
    expect(chunks).toEqual(['first']);
  });
});

describe("the NATS layer's cancel hook", () => {
  it('fails its request when it throws, and leaves nothing to reject later unheard', async () => {
    const server = await startNatsServer();
    cleanups.push(() => server.stop());
    const client = await connectedClient(server.url);
    const unheard: unknown[] = [];
    const onUnhandled = (reason: unknown): void => void unheard.push(reason);
    process.on('unhandledRejection', onUnhandled);
    cleanups.push(() => process.off('unhandledRejection', onUnhandled));

    const broken = new Error('the hook broke');
    await expect(
      client.request({
        subject: uniqueSubject('nobody'),
        payload: Buffer.alloc(0),
        headers: [],
        timeoutMs: 50,
        onCancel: () => {
          throw broken;
        },
      }),
    ).rejects.toBe(broken);
    // Timers fire in the order they expire, and unhandled rejections are reported before the next
    // timer runs: once this later one fires, the request's own (50 ms) has found nothing to reject.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(unheard).toEqual([]);
  });
});
