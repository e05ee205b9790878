/**
 * One front door: every request, whatever its target and whatever answers it, gets one parse of
 * its target, one route table and one treatment (problem+json, X-Request-Id, a log line, a metric).
 * Raw sockets where a client library would normalise the request.
 */
import { connect } from 'node:net';
import type { Msg } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import type { Gateway, LogLine } from '../helpers/gateway.js';
import { send } from '../helpers/http.js';
import { rawHeader, rawRequest } from '../helpers/raw-http.js';
import type { RawResponse } from '../helpers/raw-http.js';
import { headerPairs, respond } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const P = `door${process.pid}`;
const routes = [{ method: 'GET', path: '/things/:id', subject: `${P}.things.{id}` }];
const stack = useStack({
  gateways: [
    { routes },
    { routes, http: { admin: { host: '127.0.0.1', port: 0 } } },
    { metrics: { enabled: false }, http: { requestTimeout: '1s', headersTimeout: '1s' } },
    { http: { cors: { origins: ['https://app.example'] } } },
  ],
});

/** Answers `subject` with `handler` until the test ends. */
async function respondWith(subject: string, handler: (msg: Msg) => void): Promise<void> {
  stack.afterThisTest(await respond(stack.nc, subject, handler));
}

/** The access-log line of the response's request id. */
function logLineOf(gateway: Gateway, requestId: string): Promise<LogLine> {
  return gateway.waitForLog((l) => l.msg === 'request' && l.requestId === requestId);
}

/** `nhg_http_requests_total` summed over the series that carry these labels. */
async function requestCount(url: string, labels: Record<string, string>): Promise<number> {
  const text = (await send(`${url}/metrics`, { method: 'GET' })).text;
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('nhg_http_requests_total{')) continue;
    const labelPart = line.slice(line.indexOf('{') + 1, line.lastIndexOf('}'));
    if (want.every((w) => labelPart.split(',').includes(w))) {
      sum += Number(line.slice(line.lastIndexOf('}') + 2));
    }
  }
  return sum;
}

function expectProblem(res: RawResponse, status: number, slug: string): string {
  expect(res.status, res.raw).toBe(status);
  expect(rawHeader(res, 'content-type')).toEqual(['application/problem+json']);
  const requestId = rawHeader(res, 'x-request-id')[0] ?? '';
  expect(requestId).not.toBe('');
  expect(JSON.parse(res.body)).toMatchObject({
    type: `${PROBLEM_TYPE_BASE}${slug}`,
    status,
    requestId,
  });
  return requestId;
}

describe('request targets', () => {
  it('serves GET /healthz over HTTP/1.0 without Host, with an id, a log line and a metric', async () => {
    const gw = stack.gateway;
    const before = await requestCount(gw.url, { route: '/healthz', method: 'GET' });
    const res = await rawRequest(gw.port, 'GET /healthz HTTP/1.0\r\n\r\n');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ status: 'ok' });
    const requestId = rawHeader(res, 'x-request-id')[0] as string;
    expect(await logLineOf(gw, requestId)).toMatchObject({
      method: 'GET',
      path: '/healthz',
      route: '/healthz',
      status: 200,
    });
    expect(await requestCount(gw.url, { route: '/healthz', method: 'GET' })).toBe(before + 1);
  });

  it('answers POST /rr/%65cho over HTTP/1.0 without Host like POST /rr/echo', async () => {
    await stack.record(`${P}.echo`, (msg) => `echo ${msg.string()}`);
    for (const target of [`/rr/${P}.echo`, `/rr/${P}.%65cho`, `/rr/x/../${P}.echo`]) {
      const res = await rawRequest(
        stack.gateway.port,
        `POST ${target} HTTP/1.0\r\nContent-Length: 5\r\n\r\nhello`,
      );
      expect(res.status, target).toBe(200);
      expect(res.body, target).toBe('echo hello');
    }
  });

  it('gives the responder the normalised path and raw query of an absolute-form target', async () => {
    const seen = await stack.record(`${P}.hdrs`);
    const res = await rawRequest(
      stack.gateway.port,
      `POST http://x/rr/${P}.hdrs?a=1&b=%20 HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`,
    );
    expect(res.status).toBe(200);
    const headers = Object.fromEntries(headerPairs(seen[0]!));
    expect(headers['X-Gateway-Path']).toBe(`/rr/${P}.hdrs`);
    expect(headers['X-Gateway-Query']).toBe('a=1&b=%20');
  });

  it('serves a mapped route and a gateway endpoint by their normalised paths', async () => {
    await stack.record(`${P}.things.*`, (msg) => msg.subject);
    const thing = await send(`${stack.gateway.url}/%74hings/./a%2Db`, { method: 'GET' });
    expect(thing.text).toBe(`${P}.things.a-b`);
    const health = await rawRequest(
      stack.gateway.port,
      'GET /rr/../healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(health.status).toBe(200);
  });

  it.each([
    ['a backslash', 'POST /rr/a\\b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['bad percent-encoding', 'POST /rr/a%ZZ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'],
    ['HTTP/1.1 without Host', 'GET /healthz HTTP/1.1\r\nConnection: close\r\n\r\n'],
  ])('answers %s with a 400 problem, a log line and a metric', async (_name, request) => {
    const gw = stack.gateway;
    const before = await requestCount(gw.url, { route: 'unmatched', outcome: 'rejected' });
    const requestId = expectProblem(await rawRequest(gw.port, request), 400, 'invalid-target');
    expect(await logLineOf(gw, requestId)).toMatchObject({ route: 'unmatched', status: 400 });
    expect(await requestCount(gw.url, { route: 'unmatched', outcome: 'rejected' })).toBe(
      before + 1,
    );
  });

  it('answers what Node cannot parse as HTTP with a problem, a log line and a metric', async () => {
    const gw = stack.gateway;
    const before = await requestCount(gw.url, { route: 'unparsed' });
    const garbage = expectProblem(await rawRequest(gw.port, 'HELLO\r\n\r\n'), 400, 'bad-request');
    expect(await logLineOf(gw, garbage)).toMatchObject({ route: 'unparsed', status: 400 });
    const huge = `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`;
    const tooBig = expectProblem(await rawRequest(gw.port, huge), 431, 'headers-too-large');
    expect(await logLineOf(gw, tooBig)).toMatchObject({ route: 'unparsed', status: 431 });
    expect(await requestCount(gw.url, { route: 'unparsed' })).toBe(before + 2);
    // The connection to NATS and the gateway are unharmed.
    expect((await send(`${gw.url}/readyz`, { method: 'GET' })).status).toBe(200);
  });

  it('answers a malformed target with 400 even as a CORS preflight', async () => {
    const cors = stack.gateways[3]!;
    const requestId = expectProblem(
      await rawRequest(
        cors.port,
        'OPTIONS /rr/a\\b HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n' +
          'Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n',
      ),
      400,
      'invalid-target',
    );
    expect(await logLineOf(cors, requestId)).toMatchObject({ status: 400 });
  });

  it('refuses a non-ASCII byte in the target as invalid-target, like a backslash', async () => {
    const res = await rawRequest(
      stack.gateway.port,
      'POST /rr/caf\u00e9 HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    expectProblem(res, 400, 'invalid-target');
  });

  it('answers an unknown Expect with a 417 problem, and CONNECT with a 405 problem', async () => {
    const gw = stack.gateway;
    const expectation = await rawRequest(
      gw.port,
      `POST /rr/${P}.x HTTP/1.1\r\nHost: x\r\nExpect: bogus\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
    const id = expectProblem(expectation, 417, 'expectation-failed');
    expect(await logLineOf(gw, id)).toMatchObject({ path: `/rr/${P}.x`, status: 417 });
    const connect = await rawRequest(
      gw.port,
      'CONNECT gw.example:443 HTTP/1.1\r\nHost: gw.example:443\r\n\r\n',
    );
    const connectId = expectProblem(connect, 405, 'method-not-allowed');
    expect(rawHeader(connect, 'allow')[0]).toContain('POST');
    expect(await logLineOf(gw, connectId)).toMatchObject({ route: 'unparsed', status: 405 });
  });

  it('answers the whole requests before garbage on a connection first, then the garbage', async () => {
    const gw = stack.gateway;
    const seen = await stack.record(`${P}.before`, () => 'its own reply');
    const res = await rawRequest(
      gw.port,
      `POST /rr/${P}.before HTTP/1.1\r\nHost: x\r\nX-Request-Id: whole\r\nContent-Length: 0\r\n\r\nBOGUS\r\n\r\n`,
    );
    // The request was whole and has run: it gets its reply, and the refusal follows, in order.
    expect(seen).toHaveLength(1);
    const [first, second] = res.raw.split(/(?=HTTP\/1\.1 \d{3} )/);
    expect(first).toMatch(/^HTTP\/1\.1 200 /);
    expect(first).toMatch(/\r\nx-request-id: whole\r\n/i);
    expect(first?.endsWith('\r\n\r\nits own reply')).toBe(true);
    expect(second).toMatch(/^HTTP\/1\.1 400 /);
    const refusal = JSON.parse(second!.slice(second!.indexOf('\r\n\r\n') + 4)) as {
      type: string;
      requestId?: string;
    };
    expect(refusal.type).toBe(`${PROBLEM_TYPE_BASE}bad-request`);
    expect((await logLineOf(gw, 'whole')).status).toBe(200);
    expect(gw.logs.filter((l) => l.msg === 'request' && l.requestId === 'whole')).toHaveLength(1);
  });

  it('answers a request whose own bytes turn to garbage with one problem under its id', async () => {
    const gw = stack.gateway;
    const res = await rawRequest(
      gw.port,
      `POST /rr/${P}.never HTTP/1.1\r\nHost: x\r\nX-Request-Id: cut-short\r\nTransfer-Encoding: chunked\r\n\r\nZZZ\r\n`,
    );
    expect(res.raw.match(/HTTP\/1\.1 \d{3} /g)).toHaveLength(1);
    expect(expectProblem(res, 400, 'bad-request')).toBe('cut-short');
    await logLineOf(gw, 'cut-short');
    expect(gw.logs.filter((l) => l.msg === 'request' && l.requestId === 'cut-short')).toHaveLength(
      1,
    );
  });

  it('never writes a problem into a response already on its way', async () => {
    const subject = `${P}.streaming`;
    let finish: (() => void) | undefined;
    await respondWith(subject, (msg) => {
      msg.respond('first chunk');
      // The rest comes only once the garbage has arrived: the stream is open meanwhile.
      finish = () => msg.respond(new Uint8Array(0));
    });
    const socket = connect({ port: stack.gateway.port, host: '127.0.0.1' });
    const received: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    const closed = new Promise((resolve) => socket.on('close', resolve));
    socket.write(
      `POST /rr/${subject}?replies=stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`,
    );
    await expect.poll(() => Buffer.concat(received).toString()).toContain('first chunk');
    socket.write('BOGUS\r\n\r\n');
    finish!();
    await closed;
    const raw = Buffer.concat(received).toString('latin1');
    expect(raw.match(/HTTP\/1\.1 \d{3} /g)).toEqual(['HTTP/1.1 200 ', 'HTTP/1.1 400 ']);
    // The stream ended whole (its last chunk) before the refusal began.
    const [stream, refusal] = raw.split(/(?=HTTP\/1\.1 400 )/);
    expect(stream).toMatch(/first chunk\r\n0\r\n\r\n$/);
    expect(stream).not.toContain('problem+json');
    expect(refusal).toContain('application/problem+json');
  });

  it("answers a body that never finishes with one 408 under the caller's id", async () => {
    const slow = stack.gateways[2]!;
    const res = await rawRequest(
      slow.port,
      `POST /rr/${P}.x HTTP/1.1\r\nHost: x\r\nX-Request-Id: trickle\r\nContent-Length: 10\r\n\r\nab`,
    );
    expect(expectProblem(res, 408, 'incomplete-request')).toBe('trickle');
    const line = await logLineOf(slow, 'trickle');
    expect(line).toMatchObject({ route: '/rr/{subject}', status: 408 });
    expect(slow.logs.filter((l) => l.msg === 'request' && l.status === 408)).toHaveLength(1);
  });

  it('answers OPTIONS * with the methods the gateway serves', async () => {
    const res = await rawRequest(
      stack.gateway.port,
      'OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(res.status).toBe(204);
    expect(rawHeader(res, 'allow')[0]?.split(', ').sort()).toEqual(['GET', 'HEAD', 'POST']);
  });
});

describe('one treatment', () => {
  it('gives /rr, a mapped route and a gateway endpoint the same id, log line and metric', async () => {
    await stack.record(`${P}.same`);
    await stack.record(`${P}.things.same`);
    const gw = stack.gateway;
    for (const [method, path, route] of [
      ['POST', `/rr/${P}.same`, '/rr/{subject}'],
      ['GET', '/things/same', '/things/:id'],
      ['GET', '/readyz', '/readyz'],
      ['GET', '/nowhere', 'unmatched'],
      ['DELETE', '/things/same', '/things/:id'],
    ] as const) {
      const before = await requestCount(gw.url, { route, method });
      const requestId = `id-${route.length}-${method}`;
      const res = await send(`${gw.url}${path}`, {
        method,
        headers: { 'x-request-id': requestId },
        ...(method === 'POST' ? { body: 'x' } : {}),
      });
      expect(res.headers['x-request-id'], path).toBe(requestId);
      const line = await logLineOf(gw, requestId);
      expect(line, path).toMatchObject({ method, path, route, status: res.status });
      expect(typeof line.durationMs).toBe('number');
      expect(await requestCount(gw.url, { route, method }), path).toBe(before + 1);
      if (res.status >= 400) expect(res.headers['content-type']).toBe('application/problem+json');
    }
  });
});

describe('the gateway endpoints', () => {
  it('documents /metrics only when it is on, and does not serve it when off', async () => {
    const off = stack.gateways[2]!;
    expect((await send(`${off.url}/metrics`, { method: 'GET' })).status).toBe(404);
    const doc = (await send(`${off.url}/openapi.json`, { method: 'GET' })).json<{
      paths: Record<string, unknown>;
    }>();
    expect(Object.keys(doc.paths)).not.toContain('/metrics');
    expect(Object.keys(doc.paths)).toContain('/healthz');
    const on = (await send(`${stack.gateway.url}/openapi.json`, { method: 'GET' })).json<{
      paths: Record<string, unknown>;
    }>();
    expect(Object.keys(on.paths)).toContain('/metrics');
  });

  it('moves them to the admin listener when one is configured, with the same treatment', async () => {
    const gw = stack.gateways[1]!;
    const listening = await gw.waitForLog((l) => l.msg === 'listening' && l.name === 'admin');
    const admin = `http://127.0.0.1:${listening.port as number}`;
    await stack.record(`${P}.things.on-main`, () => 'main');

    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json']) {
      expect((await send(`${gw.url}${path}`, { method: 'GET' })).status, `main ${path}`).toBe(404);
      const res = await send(`${admin}${path}`, { method: 'GET' });
      expect(res.status, `admin ${path}`).toBe(200);
      expect(res.headers['x-request-id']).toBeTruthy();
      expect(await logLineOf(gw, res.headers['x-request-id'] as string)).toMatchObject({
        route: path,
        status: 200,
      });
    }
    // NATS routes stay on the main listener only.
    expect((await send(`${gw.url}/things/on-main`, { method: 'GET' })).text).toBe('main');
    const notHere = await send(`${admin}/rr/${P}.x`, { body: 'x' });
    expect(notHere.status).toBe(404);
    expect(notHere.headers['content-type']).toBe('application/problem+json');

    const doc = (await send(`${admin}/openapi.json`, { method: 'GET' })).json<{
      paths: Record<string, { servers?: Array<{ url: string }> }>;
    }>();
    // The port it is bound to, not the 0 it was configured with.
    expect(doc.paths['/healthz']?.servers?.[0]?.url).toBe(admin);
    expect(doc.paths['/rr/{subject}']?.servers).toBeUndefined();
    expect(doc.paths['/things/{id}']).toBeDefined();
  });
});
