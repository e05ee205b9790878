/**
 * The process's byte budget (`http.maxBufferedBytes`): floods of large uploads and of streams and
 * gathers to callers that stopped reading leave the gateway's peak RSS under budget + 200 MiB,
 * requests past the budget get 503 before anything is read, and every admitted request finishes.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { send } from '../helpers/http.js';
import { rawRequest } from '../helpers/raw-http.js';
import { firehose, respond, uniqueSubject } from '../helpers/responders.js';
import type { Gateway } from '../helpers/gateway.js';
import { useStack } from '../helpers/stack.js';

const P = `budget${process.pid}`;
const MiB = 1024 * 1024;
const BUDGET = 32 * MiB;
/** The bound the budget promises: peak RSS under the budget plus the process's own 200 MiB. */
const RSS_BOUND = BUDGET + 200 * MiB;
const stack = useStack({
  // As production runs it: V8's heap sizing decides how much garbage a flood leaves in RSS.
  productionFlags: true,
  gateways: [
    {
      http: { maxBufferedBytes: '32MiB', requestTimeout: '60s' },
      requests: {
        timeout: '20s',
        maxTimeout: '30s',
        maxReplies: 1000,
        maxStreamBuffer: '16MiB',
        streamWriteTimeout: '20s',
      },
    },
    // Stalled callers give up their bytes after a second.
    {
      http: { maxBufferedBytes: '32MiB' },
      requests: { maxReplies: 1000, streamWriteTimeout: '1s' },
    },
    // A budget below NATS's max_payload (1 MiB).
    { http: { maxBufferedBytes: '256KiB' } },
  ],
});

/** The gateway's peak resident memory so far, as the kernel keeps it (no sampling gaps). */
function peakRss(): number {
  const status = readFileSync(`/proc/${stack.gateway.pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

async function bufferedBytes(gateway = stack.gateway): Promise<number> {
  const text = (await send(`${gateway.url}/metrics`, { method: 'GET' })).text;
  const line = text.split('\n').find((l) => l.startsWith('nhg_http_buffered_bytes '));
  return Number(line?.split(' ')[1] ?? NaN);
}

/** A raw connection that collects what comes back; `paused` ones read nothing (a stalled caller). */
function open(
  paused = false,
  port = stack.gateway.port,
): Promise<{ socket: Socket; received: () => string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
    socket.on('error', () => {});
    socket.once('connect', () => {
      if (paused) socket.pause();
      resolve({ socket, received: () => text });
    });
    socket.once('error', reject);
  });
}

/**
 * Takes `bytes` of `gateway`'s budget (here 200 KiB of 256) with an upload that declares them and
 * sends none, until the test ends.
 */
async function holdWithUnfinishedUpload(
  gateway: Gateway,
  subject: string,
  bytes: number,
): Promise<void> {
  const upload = await open(false, gateway.port);
  stack.afterThisTest(() => upload.socket.destroy());
  upload.socket.write(
    `POST /rr/${subject} HTTP/1.1\r\nHost: x\r\nContent-Length: ${bytes}\r\n\r\n`,
  );
  await expect.poll(() => bufferedBytes(gateway), { timeout: 10_000 }).toBe(bytes);
}

describe('uploads past the byte budget', () => {
  it('are refused with 503 before their bodies are read; the admitted ones finish, RSS stays bounded', async () => {
    const subject = uniqueSubject(P);
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) =>
        msg.respond(createHash('sha256').update(msg.data).digest('hex')),
      ),
    );
    // Just under NATS's 1 MiB max_payload, with room for the headers.
    const size = MiB - 8192;
    const body = Buffer.alloc(size, 'u');
    const expected = createHash('sha256').update(body).digest('hex');
    // 300 uploads of ~1 MiB, all but their last byte sent: 300 MiB if the gateway held them all.
    const uploads = await Promise.all(Array.from({ length: 300 }, () => open()));
    for (const { socket } of uploads) {
      socket.write(`POST /rr/${subject} HTTP/1.1\r\nHost: x\r\nContent-Length: ${size}\r\n\r\n`);
      socket.write(body.subarray(0, size - 1));
    }
    // A refusal is whole once its problem+json body is.
    const answered = (u: { received: () => string }): boolean => u.received().endsWith('}');
    // 32 MiB admits 32 of them; the other 268 are answered at once, without their bodies.
    await vi.waitUntil(() => uploads.filter(answered).length === 268, {
      timeout: 30_000,
      interval: 10,
    });
    const refused = uploads.filter(answered);
    for (const r of refused) {
      const text = r.received();
      expect(text).toMatch(/^HTTP\/1\.1 503 /);
      expect(text).toMatch(/\r\nretry-after: \d+\r\n/i);
      expect(text).toContain(':problem:overloaded"');
    }
    const admitted = uploads.filter((u) => !answered(u));
    expect(admitted).toHaveLength(32);
    expect(await bufferedBytes()).toBe(32 * size);
    // Health is outside the budget.
    expect((await send(`${stack.gateway.url}/healthz`, { method: 'GET' })).status).toBe(200);

    for (const { socket } of admitted) socket.write(body.subarray(size - 1));
    await vi.waitUntil(() => admitted.every((u) => u.received().includes(expected)), {
      timeout: 30_000,
      interval: 10,
    });
    for (const u of admitted) expect(u.received()).toMatch(/^HTTP\/1\.1 200 /);
    for (const { socket } of uploads) socket.destroy();
    expect(peakRss()).toBeLessThan(RSS_BOUND);
    await expect.poll(bufferedBytes).toBe(0);
    // A fresh request goes through once the budget is free again.
    const after = await send(`${stack.gateway.url}/rr/${subject}`, { body: 'again' });
    expect(after.status).toBe(200);
  });

  it('answers a body that could never fit the budget with 413, not a retry', async () => {
    const gateway = stack.gateways[2]!;
    const subject = uniqueSubject(P);
    // Under NATS's max_payload, over this gateway's whole budget.
    const res = await send(`${gateway.url}/rr/${subject}`, { body: Buffer.alloc(300 * 1024) });
    expect(res.status).toBe(413);
    expect(res.json<{ detail: string }>().detail).toContain(String(256 * 1024));
  });

  it('reserves a body whose Content-Length comes after a thousand other header lines', async () => {
    const gateway = stack.gateways[2]!;
    const subject = uniqueSubject(P);
    stack.afterThisTest(await respond(stack.nc, subject, (msg) => msg.respond('read')));
    await holdWithUnfinishedUpload(gateway, subject, 200 * 1024);

    // 100 KiB more does not fit, however many lines come before the length.
    const filler = Array.from({ length: 1100 }, (_, i) => `X-Filler-${i}: f\r\n`).join('');
    const late = await rawRequest(
      gateway.port,
      `POST /rr/${subject} HTTP/1.1\r\nHost: x\r\n${filler}Content-Length: ${100 * 1024}\r\n` +
        `Connection: close\r\n\r\n${'l'.repeat(100 * 1024)}`,
    );
    expect(late.status).toBe(503);
    expect(late.body).toContain(':problem:overloaded"');
  });

  it('sends 100 Continue only to a body it admits: a refused caller never sends it', async () => {
    const gateway = stack.gateways[2]!;
    const subject = uniqueSubject(P);
    stack.afterThisTest(await respond(stack.nc, subject, (msg) => msg.respond(msg.data)));
    const head = (length: number): string =>
      `POST /rr/${subject} HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: ${length}\r\n\r\n`;

    const refused = await open(false, gateway.port);
    stack.afterThisTest(() => refused.socket.destroy());
    refused.socket.write(head(300 * 1024));
    await vi.waitUntil(() => refused.received().endsWith('}'), { timeout: 30_000, interval: 10 });
    expect(refused.received()).toMatch(/^HTTP\/1\.1 413 /);

    const admitted = await open(false, gateway.port);
    stack.afterThisTest(() => admitted.socket.destroy());
    admitted.socket.write(head(5));
    await vi.waitUntil(() => admitted.received().includes('\r\n\r\n'), {
      timeout: 30_000,
      interval: 10,
    });
    expect(admitted.received()).toBe('HTTP/1.1 100 Continue\r\n\r\n');
    admitted.socket.write('hello');
    await vi.waitUntil(() => admitted.received().endsWith('hello'), {
      timeout: 30_000,
      interval: 10,
    });
    expect(admitted.received()).toMatch(/\r\n\r\nHTTP\/1\.1 200 /);
  });

  it('charges nothing for a POST without a body, and 503s a gather it has no room for', async () => {
    const gateway = stack.gateways[2]!;
    const subject = uniqueSubject(P);
    stack.afterThisTest(await respond(stack.nc, subject, (msg) => msg.respond('ok')));
    await holdWithUnfinishedUpload(gateway, subject, 200 * 1024);
    // No Content-Length, no Transfer-Encoding: no body, nothing to hold (RFC 9112 §6.3).
    const bodyless = await rawRequest(
      gateway.port,
      `POST /rr/${subject} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
    );
    expect(bodyless.status).toBe(200);
    // A gather whose first reply does not fit: no answer at all, so a retryable 503.
    const big = uniqueSubject(P);
    stack.afterThisTest(
      await respond(stack.nc, big, (msg) => msg.respond(Buffer.alloc(100 * 1024, 'b'))),
    );
    const gather = await send(`${gateway.url}/rr/${big}?replies=all&max=1`, { body: '' });
    expect(gather.status).toBe(503);
    expect(gather.headers['retry-after']).toBe('1');
    expect(gather.json<{ type: string }>().type).toMatch(/:overloaded$/);
  });
});

describe('streams and gathers to callers that stopped reading', () => {
  it('end once the budget is spent: streams cut, gathers short; RSS stays bounded, every caller answered', async () => {
    const chunk = Buffer.alloc(256 * 1024, 's');
    const streamSubject = uniqueSubject(P);
    // Each stream: 20 MiB as fast as NATS takes it, no acknowledgements asked.
    stack.afterThisTest(await firehose(stack.nc, streamSubject, chunk, 80));
    const gatherSubject = uniqueSubject(P);
    // Each gather: 12 responders × 1 MiB less room for the headers.
    const reply = Buffer.alloc(MiB - 4096, 'g');
    for (let i = 0; i < 12; i++) {
      stack.afterThisTest(await respond(stack.nc, gatherSubject, (msg) => msg.respond(reply)));
    }
    // Without the budget, each stalled caller would keep its stream buffer (16 MiB here) or its
    // whole gather (12 MiB) in the process: 168 MiB for these 12.
    const streams = await Promise.all(Array.from({ length: 6 }, () => open(true)));
    const gathers = await Promise.all(Array.from({ length: 6 }, () => open(true)));
    const post = (path: string): string =>
      `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`;
    for (const { socket } of streams) socket.write(post(`/rr/${streamSubject}?replies=stream`));
    for (const { socket } of gathers) socket.write(post(`/rr/${gatherSubject}?replies=all&max=12`));
    // Every exchange is over on the gateway's side (its access-log line) while no caller reads.
    const finished = (subject: string): number =>
      stack.gateway.logs.filter((l) => l.msg === 'request' && l.subject === subject).length;
    await vi.waitUntil(() => finished(streamSubject) === 6 && finished(gatherSubject) === 6, {
      timeout: 30_000,
      interval: 10,
    });
    expect((await send(`${stack.gateway.url}/readyz`, { method: 'GET' })).status).toBe(200);
    const cutsForBudget = stack.gateway.logs.filter(
      (l) => l.msg === 'stream cut short' && l.reason === 'overloaded',
    );
    expect(cutsForBudget.length).toBeGreaterThan(0);
    expect(peakRss()).toBeLessThan(RSS_BOUND);

    // Now the callers read: each gets a whole answer or a visible cut, never a silent end.
    for (const { socket } of [...streams, ...gathers]) socket.resume();
    const closed = (u: { socket: Socket }): boolean => u.socket.readableEnded;
    await vi.waitUntil(() => [...streams, ...gathers].every(closed), {
      timeout: 30_000,
      interval: 10,
    });
    let short = 0;
    for (const g of gathers) {
      const text = g.received();
      // No room for even the first reply: a retryable 503, not an empty list.
      if (text.startsWith('HTTP/1.1 503 ')) {
        expect(text).toMatch(/\r\nretry-after: 1\r\n[^]*:problem:overloaded"/i);
        short++;
        continue;
      }
      expect(text).toMatch(/^HTTP\/1\.1 200 /);
      const end = /\r\nx-gather-end: (\w+)\r\n/i.exec(text)?.[1];
      const items = JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)) as unknown[];
      if (end === 'bytes') short++;
      else expect(items).toHaveLength(12);
    }
    expect(short).toBeGreaterThan(0);
    for (const s of streams) {
      const text = s.received();
      expect(text).toMatch(/^HTTP\/1\.1 200 /);
      // A whole stream ends with the final chunk; a cut one never does.
      const whole = text.endsWith('\r\n0\r\n\r\n');
      if (!whole) expect(text.length).toBeLessThan(20 * MiB);
    }
    await expect.poll(bufferedBytes).toBe(0);
    // The NATS connection and the budget came through: an ordinary request is answered.
    const echo = uniqueSubject(P);
    stack.afterThisTest(await respond(stack.nc, echo, (msg) => msg.respond(msg.data)));
    const after = await send(`${stack.gateway.url}/rr/${echo}`, { body: 'still here' });
    expect(after.status).toBe(200);
    expect(after.text).toBe('still here');
  }, 60_000);
});

describe('an answer the caller never reads', () => {
  it('is dropped with the connection after streamWriteTimeout, giving its bytes back', async () => {
    const gateway = stack.gateways[1]!;
    const subject = uniqueSubject(P);
    const reply = Buffer.alloc(MiB - 4096, 'r');
    for (let i = 0; i < 15; i++) {
      stack.afterThisTest(await respond(stack.nc, subject, (msg) => msg.respond(reply)));
    }
    // 15 MiB of JSON to a caller that reads nothing: far more than loopback socket buffers take.
    const caller = await open(true, gateway.port);
    stack.afterThisTest(() => caller.socket.destroy());
    caller.socket.write(
      `POST /rr/${subject}?replies=all&max=15 HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`,
    );
    await expect.poll(() => bufferedBytes(gateway), { timeout: 10_000 }).toBeGreaterThan(0);
    await expect.poll(() => bufferedBytes(gateway), { timeout: 10_000 }).toBe(0);
    // The caller finds the answer cut short: fewer bytes than its Content-Length, then the end.
    const closed = new Promise((resolve) => caller.socket.once('close', resolve));
    caller.socket.resume();
    await closed;
    const text = caller.received();
    const declared = Number(/\r\ncontent-length: (\d+)\r\n/i.exec(text)?.[1]);
    expect(Buffer.byteLength(text.slice(text.indexOf('\r\n\r\n') + 4), 'latin1')).toBeLessThan(
      declared,
    );
  });

  it('gives back what a pipelined reply held when the connection ends before its turn', async () => {
    const gateway = stack.gateways[1]!;
    const slow = uniqueSubject(P);
    const big = uniqueSubject(P);
    stack.afterThisTest(
      await respond(stack.nc, slow, (msg) => void setTimeout(() => msg.respond('late'), 2_000)),
    );
    stack.afterThisTest(
      await respond(stack.nc, big, (msg) => msg.respond(Buffer.alloc(MiB - 4096, 'p'))),
    );
    const caller = await open(false, gateway.port);
    // The second answer is ready first and waits, whole, behind the first.
    caller.socket.write(
      `POST /rr/${slow} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n` +
        `POST /rr/${big} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`,
    );
    await expect.poll(() => bufferedBytes(gateway)).toBeGreaterThan(MiB / 2);
    caller.socket.destroy();
    await expect.poll(() => bufferedBytes(gateway), { timeout: 10_000 }).toBe(0);
  });

  it('gives back what a dozen pipelined replies held, with one close listener on the socket', async () => {
    const gateway = stack.gateways[1]!;
    const first = uniqueSubject(P);
    const rest = uniqueSubject(P);
    let answerFirst: (() => void) | undefined;
    stack.afterThisTest(
      await respond(stack.nc, first, (msg) => (answerFirst = () => msg.respond('first'))),
    );
    stack.afterThisTest(
      await respond(stack.nc, rest, (msg) => msg.respond(Buffer.alloc(64 * 1024, 'r'))),
    );
    const caller = await open(false, gateway.port);
    const request = (subject: string): string =>
      `POST /rr/${subject} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`;
    // Eleven answers are ready and wait, whole, behind the first.
    caller.socket.write(request(first) + request(rest).repeat(11));
    await expect
      .poll(() => bufferedBytes(gateway), { timeout: 10_000 })
      .toBeGreaterThanOrEqual(11 * 64 * 1024);
    caller.socket.destroy();
    await expect.poll(() => bufferedBytes(gateway), { timeout: 10_000 }).toBe(0);
    answerFirst?.();
    // Node warns on stderr, which the gateway's log collects, past ten listeners for one event.
    expect(gateway.logs.filter((l) => l.msg.includes('MaxListenersExceeded'))).toEqual([]);
  });

  it('drops a caller that asked for trailers and stopped reading once its stream is cut', async () => {
    const gateway = stack.gateways[1]!;
    const subject = uniqueSubject(P);
    const chunk = Buffer.alloc(256 * 1024, 't');
    // 20 MiB with no acknowledgements asked: far past the 8 MiB a stream may fall behind.
    stack.afterThisTest(await firehose(stack.nc, subject, chunk, 80));
    const caller = await open(true, gateway.port);
    stack.afterThisTest(() => caller.socket.destroy());
    caller.socket.write(
      `POST /rr/${subject}?replies=stream HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nContent-Length: 0\r\n\r\n`,
    );
    await gateway.waitForLog((l) => l.msg === 'stream cut short' && l.subject === subject, 10_000);
    // The caller still reads nothing: after the write timeout its connection, and its bytes, go.
    await expect.poll(() => bufferedBytes(gateway), { timeout: 10_000 }).toBe(0);
  });

  it('holds nothing for pipelined replies that arrive after their connection has gone', async () => {
    const gateway = stack.gateways[1]!;
    const subject = uniqueSubject(P);
    const arrived: number[] = [];
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => {
        setTimeout(() => {
          msg.respond(Buffer.alloc(100 * 1024, 'q'));
          arrived.push(Date.now());
        }, 300);
      }),
    );
    const caller = await open(false, gateway.port);
    const request = `POST /rr/${subject} HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`;
    caller.socket.write(request.repeat(3));
    // Gone before any reply: the two queued answers are written to a connection that no longer is.
    await new Promise((r) => setTimeout(r, 50));
    caller.socket.destroy();
    await expect.poll(() => arrived.length, { timeout: 10_000 }).toBe(3);
    await expect.poll(() => bufferedBytes(gateway), { timeout: 10_000 }).toBe(0);
  });
});
