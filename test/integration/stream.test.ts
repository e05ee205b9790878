/** Streamed replies: one responder's chunks as a chunked HTTP response, ended by an empty message. */
import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import { send } from '../helpers/http.js';
import { replyHeaders, respond, uniqueSubject } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const P = `stream${process.pid}`;
const stack = useStack({ gateways: [{ requests: { timeout: '1s', maxTimeout: '5s' } }] });
const url = (subject: string, query = ''): string =>
  `${stack.gateway.url}/rr/${subject}?replies=stream${query}`;

function rssBytes(pid: number): number {
  return (
    Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024
  );
}

describe('streamed replies', () => {
  it('streams 100 MiB in 64 KiB chunks byte for byte, with flat gateway memory', async () => {
    const subject = uniqueSubject(P);
    const chunk = randomBytes(64 * 1024);
    const chunks = 1600;
    const expected = createHash('sha256');
    for (let i = 0; i < chunks; i++) expected.update(chunk);
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => {
        void (async () => {
          msg.respond(chunk, {
            headers: replyHeaders([
              ['Content-Type', 'application/x-test'],
              ['X-Stream-Id', 's1'],
            ]),
          });
          for (let i = 1; i < chunks; i++) {
            msg.respond(chunk);
            // A producer that paces itself (1 MiB, then a breath): core NATS has no flow control,
            // and the gateway cuts a caller that falls 8 MiB behind rather than buffer without end.
            if (i % 16 === 0) {
              await stack.nc.flush();
              await new Promise((resolve) => setTimeout(resolve, 5));
            }
          }
          msg.respond(new Uint8Array(0));
        })();
      }),
    );
    const baseline = rssBytes(stack.gateway.pid);
    let peak = baseline;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(stack.gateway.pid))), 20);
    const result = await new Promise<{
      status: number;
      headers: Record<string, unknown>;
      hash: string;
      bytes: number;
    }>((resolve, reject) => {
      const req = request(url(subject), { method: 'POST' }, (res) => {
        const hash = createHash('sha256');
        let bytes = 0;
        res.on('data', (c: Buffer) => {
          hash.update(c);
          bytes += c.length;
        });
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            hash: hash.digest('hex'),
            bytes,
          }),
        );
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end('go');
    });
    clearInterval(sampler);
    expect(result.status).toBe(200);
    expect(result.headers['content-type']).toBe('application/x-test');
    expect(result.headers['x-stream-id']).toBe('s1');
    expect(result.headers['transfer-encoding']).toBe('chunked');
    expect(result.bytes).toBe(chunks * chunk.length);
    expect(result.hash).toBe(expected.digest('hex'));
    // 100 MiB went through; the gateway held on to less than half of it at any time (30–45 MiB
    // measured: the 8 MiB stream budget, NATS read buffers and garbage not yet collected).
    expect(peak - baseline).toBeLessThan(50 * 1024 * 1024);
  });

  it('ends a stream whose responder went silent, with an X-Stream-Error trailer when asked', async () => {
    const subject = uniqueSubject(P);
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => {
        msg.respond('one,');
        setTimeout(() => msg.respond('two,'), 50);
      }),
    );
    const started = Date.now();
    const result = await new Promise<{ body: string; trailers: NodeJS.Dict<string> }>(
      (resolve, reject) => {
        const req = request(
          url(subject, '&stall=200ms'),
          { method: 'POST', headers: { TE: 'trailers' } },
          (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve({ body, trailers: res.trailers }));
          },
        );
        req.on('error', reject);
        req.end('go');
      },
    );
    expect(result.body).toBe('one,two,');
    expect(result.trailers['x-stream-error']).toBe('stalled');
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('stops at once when the caller hangs up mid-stream', async () => {
    const subject = uniqueSubject(P);
    let sent = 0;
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => {
        const timer = setInterval(() => {
          msg.respond(`chunk-${sent++};`);
          if (sent >= 100) clearInterval(timer);
        }, 20);
      }),
    );
    await new Promise<void>((resolve, reject) => {
      const req = request(url(subject, '&stall=2s'), { method: 'POST' }, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
      req.end('go');
    });
    const hungUpAt = Date.now();
    // The request is over for the gateway long before the responder's 2 s of chunks.
    await stack.gateway.waitForLog((l) => l.msg === 'request' && l.subject === subject, 1_000);
    expect(Date.now() - hungUpAt).toBeLessThan(1_000);
    expect(sent).toBeLessThan(100);
  });

  it('answers 503 when nobody listens and 504 when the first chunk never comes', async () => {
    const none = await send(url(uniqueSubject(P)), { body: 'x' });
    expect(none.status).toBe(503);
    const subject = uniqueSubject(P);
    stack.afterThisTest(await respond(stack.nc, subject, () => undefined));
    const silent = await send(url(subject, '&timeout=200ms'), { body: 'x' });
    expect(silent.status).toBe(504);
    expect(silent.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}timeout` });
  });

  it('answers an empty stream with an empty 200', async () => {
    const subject = uniqueSubject(P);
    stack.afterThisTest(await respond(stack.nc, subject, (msg) => msg.respond(new Uint8Array(0))));
    const res = await send(url(subject), { body: 'x' });
    expect(res.status).toBe(200);
    expect(res.body.length).toBe(0);
  });
});
