/** `POST /rr/{subject}` against a real nats-server and the real gateway process. */
import { randomBytes } from 'node:crypto';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import { unexpectedErrors } from '../helpers/gateway.js';
import { headerValues, send } from '../helpers/http.js';
import { replyHeaders, respond, uniqueSubject } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack({
  gateways: [
    {
      requests: { timeout: '1s', maxTimeout: '1500ms' },
      rr: { allow: ['test.>', 'allowed.>', '_INBOX.>'], deny: ['test.denied.>', '$SYS.>'] },
    },
  ],
});

function rr(subject: string): string {
  return `${stack.gateway.url}/rr/${subject}`;
}

async function echoOn(subject: string): Promise<void> {
  stack.afterThisTest(
    await respond(stack.nc, subject, (msg) => {
      const ct = msg.headers?.get('Content-Type');
      msg.respond(msg.data, ct ? { headers: replyHeaders([['Content-Type', ct]]) } : undefined);
    }),
  );
}

function expectProblem(
  res: Awaited<ReturnType<typeof send>>,
  status: number,
  slug: string,
): Record<string, unknown> {
  expect(res.status).toBe(status);
  expect(res.headers['content-type']).toBe('application/problem+json');
  const body = res.json();
  expect(body).toMatchObject({ type: PROBLEM_TYPE_BASE + slug, status });
  expect(typeof body.title).toBe('string');
  expect(typeof body.detail).toBe('string');
  expect(body.requestId).toBe(res.headers['x-request-id']);
  return body;
}

describe('bodies', () => {
  it('echoes text and takes Content-Type from the reply', async () => {
    const subject = uniqueSubject();
    await echoOn(subject);
    const res = await send(rr(subject), {
      headers: { 'Content-Type': 'text/plain' },
      body: 'hello',
    });
    expect(res.status).toBe(200);
    expect(res.text).toBe('hello');
    expect(res.headers['content-type']).toBe('text/plain');
  });

  it('carries every byte value both ways, untouched, with octet-stream by default', async () => {
    const subject = uniqueSubject();
    await echoOn(subject);
    const bytes = Buffer.concat([
      Buffer.from(Array.from({ length: 256 }, (_, i) => i)),
      randomBytes(64 * 1024),
    ]);
    const res = await send(rr(subject), { body: bytes });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/octet-stream');
    expect(Buffer.compare(res.body, bytes)).toBe(0);
    expect(res.headers['content-length']).toBe(String(bytes.length));
  });

  it('forwards an empty body and returns an empty reply', async () => {
    const subject = uniqueSubject();
    let seenLength = -1;
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => {
        seenLength = msg.data.length;
        msg.respond(new Uint8Array(0));
      }),
    );
    const res = await send(rr(subject));
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
    expect(seenLength).toBe(0);
  });

  it('reads a chunked request body', async () => {
    const subject = uniqueSubject();
    await echoOn(subject);
    const bytes = randomBytes(10_000);
    const res = await send(rr(subject), { body: bytes, chunked: true });
    expect(Buffer.compare(res.body, bytes)).toBe(0);
  });
});

describe('responders', () => {
  it('answers with the first of three replies and ignores the rest', async () => {
    const subject = uniqueSubject();
    for (const [name, delayMs] of [
      ['slow', 300],
      ['fast', 0],
      ['medium', 150],
    ] as const) {
      stack.afterThisTest(
        await respond(stack.nc, subject, (msg) => {
          setTimeout(() => msg.respond(name), delayMs);
        }),
      );
    }
    const res = await send(rr(subject), { body: 'x' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('fast');
    // Late replies must not be mistaken for the next request's answer.
    const again = await send(rr(subject), { body: 'x' });
    expect(again.text).toBe('fast');
  });

  it('answers 503 no-responders at once, not after the timeout', async () => {
    const started = Date.now();
    const res = await send(rr(uniqueSubject()), {
      body: 'x',
      headers: { 'Request-Timeout': '1500ms' },
    });
    expectProblem(res, 503, 'no-responders');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('treats a responder that sends an empty 503 status message like no responders', async () => {
    const subject = uniqueSubject();
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => {
        msg.respond(new Uint8Array(0), { headers: natsHeaders(503, 'No Responders') });
      }),
    );
    expectProblem(await send(rr(subject), { body: 'x' }), 503, 'no-responders');
  });

  it('keeps every concurrent request paired with its own reply', async () => {
    const subject = uniqueSubject();
    await echoOn(subject);
    const bodies = Array.from({ length: 200 }, (_, i) => `request-${i}`);
    const results = await Promise.all(bodies.map((body) => send(rr(subject), { body })));
    expect(results.map((r) => r.text)).toEqual(bodies);
  });
});

describe('timeouts', () => {
  it('answers 504 after the timeout the caller asked for with ?timeout=', async () => {
    const subject = uniqueSubject();
    stack.afterThisTest(await respond(stack.nc, subject, () => undefined));
    const started = Date.now();
    const res = await send(rr(`${subject}?timeout=300ms`), { body: 'x' });
    const elapsed = Date.now() - started;
    const body = expectProblem(res, 504, 'timeout');
    expect(body.detail).toContain('300 ms');
    expect(elapsed).toBeGreaterThanOrEqual(290);
    expect(elapsed).toBeLessThan(1500);
  });

  it('accepts Request-Timeout in milliseconds, and the smaller of it and ?timeout= wins', async () => {
    const subject = uniqueSubject();
    stack.afterThisTest(await respond(stack.nc, subject, () => undefined));
    const viaHeader = await send(rr(subject), { body: 'x', headers: { 'Request-Timeout': '200' } });
    expect(expectProblem(viaHeader, 504, 'timeout').detail).toContain('200 ms');
    const both = await send(rr(`${subject}?timeout=250ms`), {
      body: 'x',
      headers: { 'Request-Timeout': '5s' },
    });
    expect(expectProblem(both, 504, 'timeout').detail).toContain('250 ms');
  });

  it('caps a longer timeout at requests.maxTimeout', async () => {
    const subject = uniqueSubject();
    stack.afterThisTest(await respond(stack.nc, subject, () => undefined));
    const res = await send(rr(`${subject}?timeout=1m`), { body: 'x' });
    expect(expectProblem(res, 504, 'timeout').detail).toContain('1500 ms');
  });

  it.each(['0', '-5', 'soon', '5 s', '1.5.2s', ''])(
    'rejects timeout %j with 400',
    async (value) => {
      const subject = uniqueSubject();
      await echoOn(subject);
      const res = await send(rr(`${subject}?timeout=${encodeURIComponent(value)}`), { body: 'x' });
      expectProblem(res, 400, 'invalid-timeout');
    },
  );

  it('rejects a garbage Request-Timeout header with 400', async () => {
    const res = await send(rr(uniqueSubject()), {
      body: 'x',
      headers: { 'Request-Timeout': 'forever' },
    });
    expectProblem(res, 400, 'invalid-timeout');
  });
});

describe('subjects', () => {
  it.each([
    ['empty token', 'test..a'],
    ['leading dot', '.test.a'],
    ['trailing dot', 'test.a.'],
    ['encoded star', 'test.%2A'],
    ['star', 'test.*'],
    ['full wildcard', 'test.%3E'],
    ['CR LF', 'test.a%0D%0APUB%20x%201'],
    ['space', 'test.a%20b'],
    ['tab', 'test.a%09b'],
    ['NUL', 'test.a%00'],
    ['non-ASCII', 'test.caf%C3%A9'],
    ['DEL', 'test.a%7F'],
    ['too long', `test.${'a'.repeat(260)}`],
    ['an escape that is not UTF-8', 'test.%FF'],
    ['nothing', ''],
  ])('rejects %s with 400 before NATS sees it', async (_name, subject) => {
    const res = await send(rr(subject), { body: 'x' });
    expectProblem(res, 400, 'invalid-subject');
  });

  it('accepts a subject of exactly 256 bytes', async () => {
    const subject = `test.${'a'.repeat(251)}`;
    expect(subject.length).toBe(256);
    await echoOn(subject);
    expect((await send(rr(subject), { body: 'ok' })).text).toBe('ok');
  });

  it('decodes percent-escapes before validating and sending', async () => {
    const subject = uniqueSubject();
    await echoOn(`${subject}.a-b`);
    const res = await send(rr(`${subject.replaceAll('.', '%2E')}.a%2Db`), { body: 'decoded' });
    expect(res.text).toBe('decoded');
  });

  it('refuses a subject on the deny list with 403', async () => {
    const res = await send(rr('test.denied.x'), { body: 'x' });
    expectProblem(res, 403, 'subject-forbidden');
  });

  it('refuses a subject outside the allow list with 403', async () => {
    expectProblem(await send(rr('other.thing'), { body: 'x' }), 403, 'subject-forbidden');
    expectProblem(await send(rr('$SYS.REQ.SERVER.PING'), { body: 'x' }), 403, 'subject-forbidden');
  });

  it("always refuses the gateway's own inbox prefix, even when the allow list names it", async () => {
    expectProblem(await send(rr('_INBOX.anything.1'), { body: 'x' }), 403, 'subject-forbidden');
  });
});

describe('routing', () => {
  it('answers other methods on /rr with 405 and Allow: POST', async () => {
    for (const method of ['GET', 'PUT', 'DELETE', 'PATCH']) {
      const res = await send(rr(uniqueSubject()), { method });
      expectProblem(res, 405, 'method-not-allowed');
      expect(res.headers.allow).toBe('POST');
    }
  });

  it('answers unknown paths with a 404 problem', async () => {
    expectProblem(await send(`${stack.gateway.url}/nope`, { method: 'GET' }), 404, 'not-found');
  });

  it('serves /healthz and /readyz while connected', async () => {
    const health = await send(`${stack.gateway.url}/healthz`, { method: 'GET' });
    expect(health.status).toBe(200);
    const ready = await send(`${stack.gateway.url}/readyz`, { method: 'GET' });
    expect(ready.status).toBe(200);
  });
});

describe('request ids and logs', () => {
  it("keeps the caller's sane X-Request-Id and sends it to NATS", async () => {
    const subject = uniqueSubject();
    let seen: string | undefined;
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => {
        seen = msg.headers?.get('X-Request-Id');
        msg.respond('ok');
      }),
    );
    const res = await send(rr(subject), { body: 'x', headers: { 'X-Request-Id': 'abc-123' } });
    expect(res.headers['x-request-id']).toBe('abc-123');
    expect(seen).toBe('abc-123');
    expect(headerValues(res, 'x-request-id')).toEqual(['abc-123']);
  });

  it('replaces an insane X-Request-Id with a fresh one', async () => {
    const subject = uniqueSubject();
    await echoOn(subject);
    const res = await send(rr(subject), {
      body: 'x',
      headers: { 'X-Request-Id': 'has spaces and "quotes"' },
    });
    expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs one JSON line per request with id, route, subject, status and duration', async () => {
    const subject = uniqueSubject();
    await echoOn(subject);
    await send(rr(subject), { body: 'x', headers: { 'X-Request-Id': 'log-check-1' } });
    const line = await stack.gateway.waitForLog(
      (l) => l.requestId === 'log-check-1' && l.msg === 'request',
    );
    expect(line).toMatchObject({
      level: 'info',
      method: 'POST',
      route: '/rr/{subject}',
      subject,
      status: 200,
    });
    expect(typeof line.durationMs).toBe('number');
  });

  it('logged no unexpected errors', () => {
    expect(unexpectedErrors(stack.gateway.logs)).toEqual([]);
  });
});
