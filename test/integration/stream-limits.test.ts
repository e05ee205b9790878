/**
 * Streams that never lie: a cut is never a clean end, responders that ask for acknowledgements are
 * paced by the caller, gathers stop at a byte budget and say why, every caller gets a stream it can
 * read (HTTP/1.0, HEAD).
 */
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { GatheredItem } from '../../src/http/gather.js';
import { send } from '../helpers/http.js';
import { rawRequest, rawHeader } from '../helpers/raw-http.js';
import {
  firehose as respondWithFirehose,
  replyHeaders,
  respond,
  uniqueSubject,
} from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const P = `limits${process.pid}`;
const MiB = 1024 * 1024;
const stack = useStack({
  gateways: [
    {
      requests: {
        timeout: '2s',
        maxTimeout: '10s',
        maxReplies: 1000,
        maxStreamBuffer: '1MiB',
        streamWriteTimeout: '1s',
      },
      routes: [
        { method: 'GET', path: '/files/:name', subject: `${P}.files.{name}`, replies: 'stream' },
      ],
    },
  ],
});
const streamUrl = (subject: string, query = ''): string =>
  `${stack.gateway.url}/rr/${subject}?replies=stream${query}`;

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
}

/** Samples the gateway's RSS every 20 ms until `stop()`; returns the growth over the start. */
function sampleRss(): { stop(): number } {
  const pid = stack.gateway.pid;
  const baseline = rssBytes(pid);
  let peak = baseline;
  const timer = setInterval(() => (peak = Math.max(peak, rssBytes(pid))), 20);
  return {
    stop() {
      clearInterval(timer);
      return peak - baseline;
    },
  };
}

/** `count` chunks of `chunk` as fast as NATS takes them, until the test ends. */
async function firehose(subject: string, chunk: Uint8Array, count: number): Promise<void> {
  stack.afterThisTest(await respondWithFirehose(stack.nc, subject, chunk, count));
}

/** Waits for the gateway's 'stream cut short' line for `subject`. */
function cutLogged(subject: string): Promise<Record<string, unknown>> {
  return stack.gateway.waitForLog(
    (l) => l.msg === 'stream cut short' && l.subject === subject,
    10_000,
  );
}

async function metricValue(series: string): Promise<number> {
  const text = (await send(`${stack.gateway.url}/metrics`, { method: 'GET' })).text;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return Number(line?.split(' ')[1] ?? 0);
}

async function cutsCounted(reason: string): Promise<number> {
  const text = (await send(`${stack.gateway.url}/metrics`, { method: 'GET' })).text;
  const line = text
    .split('\n')
    .find((l) => l.startsWith(`nhg_stream_cuts_total{reason="${reason}"}`));
  return Number(line?.split(' ')[1] ?? 0);
}

const EXAMPLE = resolve(import.meta.dirname, '../../examples/stream-file.mjs');

/** Runs examples/stream-file.mjs on a file of `bytes` random bytes; returns subject and hash. */
async function exampleResponder(bytes: number): Promise<{ subject: string; sha256: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'nhg-stream-'));
  stack.afterThisTest(() => void rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'big.bin');
  const content = randomBytes(bytes);
  await writeFile(file, content);
  const subject = uniqueSubject(P);
  const child = spawn(process.execPath, [EXAMPLE, file, subject], {
    env: { ...process.env, NATS_URL: stack.nats.url },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  stack.afterThisTest(() => child.kill('SIGKILL'));
  await new Promise<void>((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`stream-file exited (${code})`)));
    createInterface({ input: child.stdout }).on('line', (l) => l.includes('ready') && ready());
  });
  return { subject, sha256: createHash('sha256').update(content).digest('hex') };
}

describe('a cut is never mistaken for the end', () => {
  it('closes a stream to a caller that stopped reading without the final chunk, logged and counted', async () => {
    const subject = uniqueSubject(P);
    await firehose(subject, randomBytes(64 * 1024), 800); // 50 MiB
    const before = await cutsCounted('slow-consumer');
    const lateBefore = await metricValue('nhg_nats_late_replies_total');
    const socket = connect({ port: stack.gateway.port, host: '127.0.0.1' });
    const received: Buffer[] = [];
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.write(
      `POST /rr/${subject}?replies=stream HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`,
    );
    // Read the head, then stop reading, as a stalled caller does.
    await new Promise<void>((ready) =>
      socket.once('data', (chunk: Buffer) => {
        received.push(chunk);
        socket.pause();
        ready();
      }),
    );
    const line = await cutLogged(subject);
    expect(line.reason).toBe('slow-consumer');
    socket.on('data', (chunk: Buffer) => received.push(chunk));
    socket.resume();
    await closed;
    const raw = Buffer.concat(received);
    expect(raw.subarray(0, 15).toString()).toBe('HTTP/1.1 200 OK');
    // Far from the 50 MiB, and without the zero-length chunk that ends a chunked body.
    expect(raw.length).toBeLessThan(40 * MiB);
    expect(raw.subarray(-5).toString('latin1')).not.toBe('0\r\n\r\n');
    expect(await cutsCounted('slow-consumer')).toBe(before + 1);
    // The chunks that keep coming after a cut the gateway made are not late replies.
    await stack.nc.flush();
    expect(await metricValue('nhg_nats_late_replies_total')).toBe(lateBefore);
  });

  it('makes a client library report the cut body as incomplete', async () => {
    const subject = uniqueSubject(P);
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => {
        msg.respond('one,');
        setTimeout(() => msg.respond('two,'), 30);
      }),
    );
    const outcome = await new Promise<string>((done) => {
      const req = request(streamUrl(subject, '&stall=200ms'), { method: 'POST' }, (res) => {
        res.on('data', () => undefined);
        res.on('end', () => done('clean end'));
        res.on('error', (err) => done(`error: ${err.message}`));
        res.on('aborted', () => done('aborted'));
      });
      req.on('error', (err) => done(`error: ${err.message}`));
      req.end('go');
    });
    expect(outcome).not.toBe('clean end');
    expect((await cutLogged(subject)).reason).toBe('stalled');
  });

  it('says why in an X-Stream-Error trailer to a caller that sent TE: trailers', async () => {
    const subject = uniqueSubject(P);
    stack.afterThisTest(await respond(stack.nc, subject, (msg) => msg.respond('only,')));
    const { body, trailers } = await new Promise<{ body: string; trailers: NodeJS.Dict<string> }>(
      (done, fail) => {
        const req = request(
          streamUrl(subject, '&stall=200ms'),
          { method: 'POST', headers: { TE: 'trailers' } },
          (res) => {
            let text = '';
            res.on('data', (c: Buffer) => (text += c.toString()));
            res.on('end', () => done({ body: text, trailers: res.trailers }));
          },
        );
        req.on('error', fail);
        req.end('go');
      },
    );
    expect(body).toBe('only,');
    expect(trailers['x-stream-error']).toBe('stalled');
  });

  it('cuts a caller that takes nothing for streamWriteTimeout, even when the responder waits for acknowledgements', async () => {
    const { subject } = await exampleResponder(64 * MiB);
    const socket = connect({ port: stack.gateway.port, host: '127.0.0.1' });
    socket.pause(); // Never reads.
    const closed = new Promise<void>((done) => socket.on('close', () => done()));
    socket.on('error', () => undefined);
    // A long stall allowance: only the write timeout can end this one.
    socket.write(
      `POST /rr/${subject}?replies=stream&stall=10s HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n`,
    );
    const line = await cutLogged(subject);
    expect(line.reason).toBe('write-timeout');
    socket.resume();
    await closed;
  });
});

describe('flow control', () => {
  /** Downloads a stream, reading at most `bytesPerSecond` for `slowMs`, then at full speed. */
  function download(
    url: string,
    pace?: { bytesPerSecond: number; slowMs: number },
  ): Promise<{ status: number; sha256: string; bytes: number; res: IncomingMessage }> {
    return new Promise((done, fail) => {
      const req = request(url, { method: 'POST' }, (res) => {
        const hash = createHash('sha256');
        let bytes = 0;
        const started = Date.now();
        res.on('data', (chunk: Buffer) => {
          hash.update(chunk);
          bytes += chunk.length;
          const elapsed = Date.now() - started;
          if (pace && elapsed < pace.slowMs) {
            // Pause until the allowance for what was read so far has been earned.
            const dueMs = (bytes / pace.bytesPerSecond) * 1000 - elapsed;
            if (dueMs > 0) {
              res.pause();
              setTimeout(() => res.resume(), Math.min(dueMs, pace.slowMs - elapsed));
            }
          }
        });
        res.on('end', () =>
          done({ status: res.statusCode ?? 0, sha256: hash.digest('hex'), bytes, res }),
        );
        res.on('error', fail);
        res.on('aborted', () => fail(new Error('aborted')));
      });
      req.on('error', fail);
      req.end('go');
    });
  }

  it('streams a file byte for byte with acknowledgements, far past the slow-consumer budget', async () => {
    const size = 48 * MiB; // 48 × the 1 MiB budget this gateway runs with.
    const { subject, sha256 } = await exampleResponder(size);
    const rss = sampleRss();
    const result = await download(streamUrl(subject));
    const growth = rss.stop();
    expect(result.status).toBe(200);
    expect(result.res.headers['content-disposition']).toContain('big.bin');
    expect(result.bytes).toBe(size);
    expect(result.sha256).toBe(sha256);
    expect(growth).toBeLessThan(64 * MiB);
  });

  it('paces the responder to a caller reading 256 KiB/s: nothing is cut', async () => {
    const size = 4 * MiB;
    const { subject, sha256 } = await exampleResponder(size);
    const started = Date.now();
    const result = await download(streamUrl(subject, '&stall=5s'), {
      bytesPerSecond: 256 * 1024,
      slowMs: 2_000,
    });
    expect(result.bytes).toBe(size);
    expect(result.sha256).toBe(sha256);
    // The responder waited for the caller: the slow start took its time.
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(
      stack.gateway.logs.some((l) => l.msg === 'stream cut short' && l.subject === subject),
    ).toBe(false);
  });
});

describe('acknowledgements go only where a responder may ask for them', () => {
  it('never publishes to a $ subject or to another caller’s reply subject', async () => {
    const subject = uniqueSubject(P);
    const forbidden = ['$JS.API.STREAM.PURGE.orders', '$SYS.REQ.SERVER.PING'];
    const leaked: string[] = [];
    for (const target of forbidden) {
      stack.afterThisTest(await respond(stack.nc, target, (msg) => leaked.push(msg.subject)));
    }
    const acks = `${subject}.acks`;
    let acked = 0;
    stack.afterThisTest(await respond(stack.nc, acks, () => (acked += 1)));
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => {
        stack.nc.publish(msg.reply!, 'a,', { reply: forbidden[0]! });
        stack.nc.publish(msg.reply!, 'b,', { reply: forbidden[1]! });
        stack.nc.publish(msg.reply!, 'c', { reply: acks });
        stack.nc.publish(msg.reply!);
      }),
    );
    const res = await send(streamUrl(subject), { body: 'x' });
    expect(res.text).toBe('a,b,c');
    await expect.poll(() => acked, { timeout: 5_000 }).toBe(1);
    await stack.nc.flush();
    expect(leaked).toEqual([]);
  });
});

describe('every caller gets a stream it can read', () => {
  async function threeChunks(subject: string): Promise<void> {
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => {
        msg.respond('first,', {
          headers: replyHeaders([
            ['Content-Type', 'text/plain'],
            ['X-Kind', 'demo'],
          ]),
        });
        msg.respond('second,');
        msg.respond('third');
        msg.respond(new Uint8Array(0));
      }),
    );
  }

  it('sends HTTP/1.0 a body delimited by closing the connection, first chunk included', async () => {
    const subject = uniqueSubject(P);
    await threeChunks(subject);
    const res = await rawRequest(
      stack.gateway.port,
      `POST /rr/${subject}?replies=stream HTTP/1.0\r\nContent-Length: 0\r\n\r\n`,
    );
    expect(res.status).toBe(200);
    expect(rawHeader(res, 'x-kind')).toEqual(['demo']);
    expect(rawHeader(res, 'transfer-encoding')).toEqual([]);
    expect(rawHeader(res, 'trailer')).toEqual([]);
    expect(res.body).toBe('first,second,third');
  });

  it("answers HEAD on a streaming GET route with the responder's head and no body", async () => {
    await threeChunks(`${P}.files.report`);
    const res = await rawRequest(
      stack.gateway.port,
      'HEAD /files/report HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
    );
    expect(res.status).toBe(200);
    expect(rawHeader(res, 'x-kind')).toEqual(['demo']);
    expect(rawHeader(res, 'content-type')).toEqual(['text/plain']);
    expect(rawHeader(res, 'trailer')).toEqual([]);
    expect(res.body).toBe('');
  });
});

describe('bounded gathers', () => {
  it('stops a gather of 100 × 512 KiB at the 16 MiB budget and says so', async () => {
    const subject = uniqueSubject(P);
    const body = 'g'.repeat(512 * 1024);
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => {
        void (async () => {
          for (let i = 0; i < 100; i++) {
            msg.respond(body);
            if (i % 8 === 0) await stack.nc.flush();
          }
        })();
      }),
    );
    const rss = sampleRss();
    const res = await send(`${stack.gateway.url}/rr/${subject}?replies=all&wait=5s`, { body: 'x' });
    const growth = rss.stop();
    expect(res.status).toBe(200);
    expect(res.headers['x-gather-end']).toBe('bytes');
    const items = res.json<GatheredItem[]>();
    // 16 MiB of payload: 32 whole replies; the 33rd would pass it.
    expect(items.length).toBe(32);
    expect(items.every((i) => i.body.length === body.length)).toBe(true);
    // 50 MiB crossed the NATS connection; the gateway kept the 16 MiB answer and the garbage of
    // reading the rest (87–96 MiB measured). Unbounded, it held all 100 replies two and three
    // times over; `npm run soak:streams` floods it with 1000.
    expect(growth).toBeLessThan(8 * 16 * MiB);
    // The gateway still answers, and its connection to NATS is fine.
    expect((await send(`${stack.gateway.url}/readyz`, { method: 'GET' })).status).toBe(200);
  });

  it('says why a streamed gather ended in its last NDJSON line', async () => {
    const subject = uniqueSubject(P);
    const body = 'h'.repeat(600 * 1024);
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => {
        for (let i = 0; i < 40; i++) msg.respond(body);
      }),
    );
    const res = await send(`${stack.gateway.url}/rr/${subject}?replies=all&wait=5s`, {
      body: 'x',
      headers: { accept: 'application/x-ndjson' },
    });
    const lines = res.text.trim().split('\n');
    expect(JSON.parse(lines.at(-1)!)).toEqual({ end: 'bytes', replies: lines.length - 1 });
  });
});
