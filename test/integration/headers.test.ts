/** Header policy both ways, status mapping from replies, and replies that try to break HTTP. */
import { Agent } from 'node:http';
import { describe, expect, it } from 'vitest';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import { unexpectedErrors } from '../helpers/gateway.js';
import type { Gateway } from '../helpers/gateway.js';
import { headerValues, send } from '../helpers/http.js';
import { hpub, startRawResponder } from '../helpers/raw-responder.js';
import { headerPairs, replyHeaders, respond, uniqueSubject } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack({
  gateways: [{}, { headers: { case: 'preserve', drop: ['X-Secret'] } }],
});
const canonical = (): Gateway => stack.gateways[0] as Gateway;
const preserve = (): Gateway => stack.gateways[1] as Gateway;

/** Subscribes a responder that records the headers it got and answers "ok". */
async function recordHeaders(subject: string): Promise<{ seen: Array<[string, string]> }> {
  const record = { seen: [] as Array<[string, string]> };
  stack.afterThisTest(
    await respond(stack.nc, subject, (msg) => {
      record.seen = headerPairs(msg);
      msg.respond('ok');
    }),
  );
  return record;
}

/** Subscribes a responder that answers with these headers and body. */
async function replyWith(
  subject: string,
  pairs: Array<[string, string]>,
  body = 'reply-body',
): Promise<void> {
  stack.afterThisTest(
    await respond(stack.nc, subject, (msg) => msg.respond(body, { headers: replyHeaders(pairs) })),
  );
}

const rr = (gw: Gateway, subject: string): string => `${gw.url}/rr/${subject}`;

describe('HTTP request headers → NATS', () => {
  it('canonicalises names and keeps repeated headers as separate values, in order', async () => {
    const subject = uniqueSubject();
    const record = await recordHeaders(subject);
    await send(rr(canonical(), subject), {
      body: 'x',
      headers: { 'x-custom-thing': 'one', 'x-multi': ['a', 'b', 'c'], accept: 'text/plain' },
    });
    expect(record.seen).toContainEqual(['X-Custom-Thing', 'one']);
    expect(record.seen.filter(([n]) => n === 'X-Multi').map(([, v]) => v)).toEqual(['a', 'b', 'c']);
    expect(record.seen).toContainEqual(['Accept', 'text/plain']);
  });

  it("keeps the caller's spelling with headers.case: preserve", async () => {
    const subject = uniqueSubject();
    const record = await recordHeaders(subject);
    await send(rr(preserve(), subject), {
      body: 'x',
      headers: { 'x-lower-case': '1', 'X-MiXeD': '2' },
    });
    expect(record.seen).toContainEqual(['x-lower-case', '1']);
    expect(record.seen).toContainEqual(['X-MiXeD', '2']);
  });

  it('delivers non-ASCII values as the UTF-8 text the caller sent', async () => {
    const subject = uniqueSubject();
    const record = await recordHeaders(subject);
    // node:http sends string header values as Latin-1 bytes; send the UTF-8 bytes that way.
    const utf8AsLatin1 = Buffer.from('héllo wörld ✓ 日本', 'utf8').toString('latin1');
    await send(rr(canonical(), subject), { body: 'x', headers: { 'x-text': utf8AsLatin1 } });
    expect(record.seen).toContainEqual(['X-Text', 'héllo wörld ✓ 日本']);
  });

  it('drops credentials, hop-by-hop, framing, Connection-named and Nats-* headers', async () => {
    const subject = uniqueSubject();
    const record = await recordHeaders(subject);
    await send(rr(canonical(), subject), {
      body: 'x',
      headers: {
        authorization: 'Bearer secret',
        cookie: 'session=secret',
        'proxy-authorization': 'Basic secret',
        'proxy-foo': 'x',
        connection: 'keep-alive, X-Hop',
        'x-hop': 'gone',
        'keep-alive': 'timeout=5',
        te: 'trailers',
        upgrade: 'h2c',
        'nats-msg-id': 'forged',
        'Nats-Expected-Stream': 'forged',
        'request-timeout': '5s',
        'x-kept': 'yes',
      },
    });
    const names = record.seen.map(([n]) => n.toLowerCase());
    for (const dropped of [
      'authorization',
      'cookie',
      'proxy-authorization',
      'proxy-foo',
      'connection',
      'x-hop',
      'keep-alive',
      'te',
      'upgrade',
      'host',
      'content-length',
      'nats-msg-id',
      'nats-expected-stream',
      'request-timeout',
    ]) {
      expect(names).not.toContain(dropped);
    }
    expect(record.seen).toContainEqual(['X-Kept', 'yes']);
    expect(names.filter((n) => n === 'x-request-id')).toHaveLength(1);
  });

  it('applies a configured drop list case-insensitively', async () => {
    const subject = uniqueSubject();
    const record = await recordHeaders(subject);
    await send(rr(preserve(), subject), {
      body: 'x',
      headers: { 'x-secret': 'no', authorization: 'now allowed' },
    });
    const names = record.seen.map(([n]) => n.toLowerCase());
    expect(names).not.toContain('x-secret');
    expect(names).toContain('authorization');
  });
});

describe('NATS reply headers → HTTP', () => {
  it('passes reply headers back, repeated values in order', async () => {
    const subject = uniqueSubject();
    await replyWith(subject, [
      ['X-Service', 'orders'],
      ['Set-Cookie', 'a=1'],
      ['Set-Cookie', 'b=2'],
      ['Cache-Control', 'no-store'],
    ]);
    const res = await send(rr(canonical(), subject), { body: 'x' });
    expect(res.status).toBe(200);
    expect(res.headers['x-service']).toBe('orders');
    expect(headerValues(res, 'set-cookie')).toEqual(['a=1', 'b=2']);
    expect(res.headers['cache-control']).toBe('no-store');
  });

  it('sends UTF-8 reply values as their UTF-8 bytes', async () => {
    const subject = uniqueSubject();
    await replyWith(subject, [['X-Greeting', 'grüße ✓']]);
    const res = await send(rr(canonical(), subject), { body: 'x' });
    const raw = headerValues(res, 'x-greeting')[0] as string;
    expect(Buffer.from(raw, 'latin1').toString('utf8')).toBe('grüße ✓');
  });

  it('never lets reply framing headers split the HTTP response on a keep-alive connection', async () => {
    const hostile = uniqueSubject();
    await replyWith(
      hostile,
      [
        ['Content-Length', '3'],
        ['Transfer-Encoding', 'chunked'],
        ['Connection', 'close'],
        ['Keep-Alive', 'timeout=1'],
        ['Upgrade', 'websocket'],
        ['Trailer', 'X-Evil'],
      ],
      'hello world',
    );
    const normal = uniqueSubject();
    await replyWith(normal, [], 'second');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await send(rr(canonical(), hostile), { body: 'x', agent });
      expect(first.status).toBe(200);
      expect(first.text).toBe('hello world');
      expect(first.headers['content-length']).toBe('11');
      expect(first.headers['transfer-encoding']).toBeUndefined();
      expect(first.headers.upgrade).toBeUndefined();
      expect(first.headers.trailer).toBeUndefined();
      const second = await send(rr(canonical(), normal), { body: 'x', agent });
      expect(second.status).toBe(200);
      expect(second.text).toBe('second');
    } finally {
      agent.destroy();
    }
  });

  it('drops names and values HTTP cannot carry instead of failing the response', async () => {
    const subject = uniqueSubject();
    await replyWith(subject, [
      ['Bad(Name)', 'x'],
      ['Bad"Quote', 'x'],
      ['X-Nul', 'a\u0000b'],
      ['X-Bell', 'a\u0007b'],
      ['X-Fine', 'fine'],
    ]);
    const res = await send(rr(canonical(), subject), { body: 'x' });
    expect(res.status).toBe(200);
    expect(res.headers['x-fine']).toBe('fine');
    expect(res.headers['x-nul']).toBeUndefined();
    expect(res.headers['x-bell']).toBeUndefined();
    expect(res.rawHeaders.some((h) => h.startsWith('Bad'))).toBe(false);
  });

  it('answers 502 for a reply whose header block is malformed, and keeps serving', async () => {
    const subject = uniqueSubject();
    const raw = await startRawResponder(stack.nats.port, subject, (reply) =>
      hpub(reply, 'NATS/1.0\r\nBad Name: x\r\n\r\n', 'body'),
    );
    try {
      const res = await send(rr(canonical(), subject), { body: 'x' });
      expect(res.status).toBe(502);
      expect(res.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}bad-reply` });
    } finally {
      raw.close();
    }
    const next = uniqueSubject();
    await replyWith(next, [], 'still fine');
    expect((await send(rr(canonical(), next), { body: 'x' })).text).toBe('still fine');
  });

  it("uses the reply's X-Request-Id never: the gateway's id wins", async () => {
    const subject = uniqueSubject();
    await replyWith(subject, [['X-Request-Id', 'forged']]);
    const res = await send(rr(canonical(), subject), {
      body: 'x',
      headers: { 'x-request-id': 'mine' },
    });
    expect(headerValues(res, 'x-request-id')).toEqual(['mine']);
  });
});

describe('W3C trace context', () => {
  it('passes traceparent and tracestate to NATS and back unchanged', async () => {
    const subject = uniqueSubject();
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const tracestate = 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE';
    let seen: Array<[string, string]> = [];
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => {
        seen = headerPairs(msg);
        msg.respond('ok', {
          headers: replyHeaders([
            ['traceparent', traceparent.replace(/01$/, '00')],
            ['tracestate', tracestate],
          ]),
        });
      }),
    );
    const res = await send(rr(canonical(), subject), {
      body: 'x',
      headers: { traceparent, tracestate },
    });
    expect(seen).toContainEqual(['Traceparent', traceparent]);
    expect(seen).toContainEqual(['Tracestate', tracestate]);
    expect(res.headers.traceparent).toBe(traceparent.replace(/01$/, '00'));
    expect(res.headers.tracestate).toBe(tracestate);
  });
});

describe('status from the reply', () => {
  it.each([
    ['201', 201],
    ['404', 404],
    ['599', 599],
  ])('Status-Code %s sets HTTP %i and keeps the body', async (value, status) => {
    const subject = uniqueSubject();
    await replyWith(
      subject,
      [
        ['Status-Code', value],
        ['Content-Type', 'text/plain'],
      ],
      'custom',
    );
    const res = await send(rr(canonical(), subject), { body: 'x' });
    expect(res.status).toBe(status);
    expect(res.text).toBe('custom');
    expect(res.headers['status-code']).toBeUndefined();
  });

  it('Status-Code 204 answers without a body', async () => {
    const subject = uniqueSubject();
    await replyWith(subject, [['Status-Code', '204']], 'ignored');
    const res = await send(rr(canonical(), subject), { body: 'x' });
    expect(res.status).toBe(204);
    expect(res.body.length).toBe(0);
  });

  it.each(['100', '199', '600', '999', 'abc', '2000', ''])(
    'Status-Code %j is a 502 bad-reply',
    async (value) => {
      const subject = uniqueSubject();
      await replyWith(subject, [['Status-Code', value]]);
      const res = await send(rr(canonical(), subject), { body: 'x' });
      expect(res.status).toBe(502);
      expect(res.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}bad-reply`, status: 502 });
    },
  );

  it('Nats-Service-Error-Code 400–599 becomes that status with the error text as detail', async () => {
    const subject = uniqueSubject();
    await replyWith(subject, [
      ['Nats-Service-Error-Code', '409'],
      ['Nats-Service-Error', 'order already exists'],
      ['Retry-After', '7'],
    ]);
    const res = await send(rr(canonical(), subject), { body: 'x' });
    expect(res.status).toBe(409);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(res.json()).toMatchObject({
      type: `${PROBLEM_TYPE_BASE}service-error`,
      status: 409,
      detail: 'order already exists',
    });
    expect(res.headers['retry-after']).toBe('7');
    expect(res.headers['nats-service-error']).toBeUndefined();
  });

  it.each(['200', '302', '700', 'oops'])('Nats-Service-Error-Code %j becomes 502', async (code) => {
    const subject = uniqueSubject();
    await replyWith(subject, [
      ['Nats-Service-Error-Code', code],
      ['Nats-Service-Error', 'weird'],
    ]);
    const res = await send(rr(canonical(), subject), { body: 'x' });
    expect(res.status).toBe(502);
    expect(res.json()).toMatchObject({
      type: `${PROBLEM_TYPE_BASE}service-error`,
      status: 502,
      detail: 'weird',
    });
  });
});

describe('hygiene', () => {
  it('logged no unexpected errors', () => {
    expect(unexpectedErrors(canonical().logs)).toEqual([]);
    expect(unexpectedErrors(preserve().logs)).toEqual([]);
  });
});
