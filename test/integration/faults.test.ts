/**
 * What production throws at the gateway: forged replies, proxy headers that lie, responders that
 * override CORS or send what HTTP cannot carry, and reloads that race or would open the door.
 */
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import { runGatewayToExit } from '../helpers/gateway.js';
import { headerValues, send } from '../helpers/http.js';
import { hpub, startRawResponder } from '../helpers/raw-responder.js';
import { headerPairs, replyHeaders, respond, uniqueSubject } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const P = `faults${process.pid}`;
const stack = useStack({
  gateways: [
    {},
    { http: { trustProxy: true, cors: { origins: ['https://app.example'] } } },
    // A gateway whose config file the reload tests rewrite.
    { auth: { apiKeys: [{ name: 'k', sha256: 'a'.repeat(64) }] } },
  ],
});
const rr = (index: number, subject: string): string =>
  `${stack.gateways[index]!.url}/rr/${subject}`;

describe('reply subjects', () => {
  it('end in a random 96-bit token: 10 000 requests, no two alike, nothing to count on', async () => {
    const subject = uniqueSubject(P);
    const replies: string[] = [];
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => {
        replies.push(msg.reply ?? '');
        msg.respond('ok');
      }),
    );
    for (let batch = 0; batch < 50; batch++) {
      await Promise.all(Array.from({ length: 200 }, () => send(rr(0, subject), { body: 'x' })));
    }
    expect(replies).toHaveLength(10_000);
    expect(new Set(replies).size).toBe(10_000);
    const tokens = replies.map((r) => r.slice(r.lastIndexOf('.') + 1));
    expect(tokens.every((t) => /^[A-Za-z0-9_-]{16}$/.test(t))).toBe(true);
    // Successive tokens differ in about half of their 96 bits, as independent random ones do.
    let differing = 0;
    for (let i = 1; i < tokens.length; i++) {
      const a = Buffer.from(tokens[i - 1]!, 'base64url');
      const b = Buffer.from(tokens[i]!, 'base64url');
      for (let j = 0; j < a.length; j++) {
        let x = a[j]! ^ b[j]!;
        while (x) {
          differing += x & 1;
          x >>= 1;
        }
      }
    }
    const mean = differing / (tokens.length - 1);
    expect(mean).toBeGreaterThan(44);
    expect(mean).toBeLessThan(52);
  });
});

describe('proxy headers tell the truth', () => {
  it.each([
    [0, 'trustProxy: false'],
    [1, 'trustProxy: true'],
  ])('appends the peer for gateway %i (%s)', async (index) => {
    const subject = uniqueSubject(P);
    const seen = await stack.record(subject);
    await send(rr(index, subject), {
      body: 'x',
      headers: { 'x-forwarded-for': '203.0.113.9', forwarded: 'for=203.0.113.9;proto=https' },
    });
    await send(rr(index, subject), { body: 'x' });
    const first = headerPairs(seen[0]!);
    const second = headerPairs(seen[1]!);
    const values = (pairs: Array<[string, string]>, name: string): string[] =>
      pairs.filter(([n]) => n.toLowerCase() === name.toLowerCase()).map(([, v]) => v);
    expect(values(first, 'X-Forwarded-For')).toEqual(['203.0.113.9, 127.0.0.1']);
    expect(values(first, 'Forwarded')).toEqual(['for=203.0.113.9;proto=https, for=127.0.0.1']);
    expect(values(second, 'X-Forwarded-For')).toEqual(['127.0.0.1']);
    expect(values(second, 'Forwarded')).toEqual([]);
    // X-Gateway-Client-Ip keeps its meaning: what trustProxy lets the gateway believe.
    expect(values(first, 'X-Gateway-Client-Ip')).toEqual([
      index === 0 ? '127.0.0.1' : '203.0.113.9',
    ]);
  });
});

describe('replies the caller should not get as they are', () => {
  it('drops a responder’s Access-Control-* headers: CORS is the gateway’s', async () => {
    const subject = uniqueSubject(P);
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) =>
        msg.respond('ok', {
          headers: replyHeaders([
            ['Access-Control-Allow-Origin', '*'],
            ['Access-Control-Allow-Credentials', 'true'],
            ['X-Other', 'kept'],
          ]),
        }),
      ),
    );
    const foreign = await send(rr(1, subject), {
      body: 'x',
      headers: { origin: 'https://evil.example' },
    });
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    expect(foreign.headers['access-control-allow-credentials']).toBeUndefined();
    expect(foreign.headers['x-other']).toBe('kept');
    const allowed = await send(rr(1, subject), {
      body: 'x',
      headers: { origin: 'https://app.example' },
    });
    expect(headerValues(allowed, 'access-control-allow-origin')).toEqual(['https://app.example']);
  });

  it('refuses a reply header block over 64 KiB with 502 bad-reply', async () => {
    const subject = uniqueSubject(P);
    const many: Array<[string, string]> = Array.from({ length: 700 }, (_, i) => [
      `X-H${i}`,
      'v'.repeat(100),
    ]);
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => msg.respond('ok', { headers: replyHeaders(many) })),
    );
    const res = await send(rr(0, subject), { body: 'x' });
    expect(res.status).toBe(502);
    expect(res.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}bad-reply` });
  });

  it('answers a NATS status other than 503 with 502 bad-reply, not an empty 200', async () => {
    const subject = uniqueSubject(P);
    const raw = await startRawResponder(stack.nats.port, subject, (reply) =>
      hpub(reply, 'NATS/1.0 408 Request Timeout\r\n\r\n', ''),
    );
    stack.afterThisTest(() => raw.close());
    const res = await send(rr(0, subject), { body: 'x' });
    expect(res.status).toBe(502);
    expect(res.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}bad-reply` });
  });

  it('sends no Content-Type with a 204 or 304', async () => {
    for (const status of ['204', '304']) {
      const subject = uniqueSubject(P);
      stack.afterThisTest(
        await respond(stack.nc, subject, (msg) =>
          msg.respond('', {
            headers: replyHeaders([
              ['Status-Code', status],
              ['Content-Type', 'text/plain'],
            ]),
          }),
        ),
      );
      const res = await send(rr(0, subject), { body: 'x' });
      expect(res.status).toBe(Number(status));
      expect(res.headers['content-type'], status).toBeUndefined();
    }
  });

  it('denies $SRV.> by default: the service inventory is not for callers', async () => {
    const res = await send(rr(0, '$SRV.PING'), { body: 'x' });
    expect(res.status).toBe(403);
  });
});

describe('reloads', () => {
  const base = (): Record<string, unknown> => ({
    nats: { servers: [stack.nats.url] },
    http: { host: '127.0.0.1', port: 0 },
    auth: { apiKeys: [{ name: 'k', sha256: 'a'.repeat(64) }] },
  });

  it('runs one at a time: ten SIGHUPs in a burst apply the file last on disk', async () => {
    const gw = stack.gateways[2]!;
    const reloadsBefore = gw.logs.filter((l) => l.msg === 'config reloaded').length;
    for (let i = 0; i < 10; i++) {
      const routes = [{ method: 'GET', path: '/version', subject: `${P}.v${i}` }];
      await writeFile(gw.configFile, stringify({ ...base(), routes }));
      gw.kill('SIGHUP');
    }
    await gw.waitForLog(
      (l) =>
        l.msg === 'config reloaded' &&
        gw.logs.filter((m) => m.msg === 'config reloaded').length > reloadsBefore,
    );
    // Wait until no reload is running: the last one logged names the last file.
    await expect
      .poll(
        async () => {
          const doc = (await send(`${gw.url}/openapi.json`, { method: 'GET' })).json<{
            paths: Record<string, Record<string, { 'x-nats-subject'?: string }>>;
          }>();
          return doc.paths['/version']?.get?.['x-nats-subject'];
        },
        { timeout: 10_000, interval: 100 },
      )
      .toBe(`${P}.v9`);
    // Serialised: far fewer reloads than signals, none overlapping.
    const reloads = gw.logs.filter((l) => l.msg === 'config reloaded').length - reloadsBefore;
    expect(reloads).toBeGreaterThanOrEqual(1);
    expect(reloads).toBeLessThan(10);
  });

  it('never turns authentication off: a rewrite caught half done, or a file without auth, is refused', async () => {
    const gw = stack.gateways[2]!;
    // A slow rewrite: truncated, then written in two halves 100 ms apart, signalled in between.
    const full = stringify({ nats: base().nats, http: base().http });
    await writeFile(gw.configFile, '');
    gw.kill('SIGHUP');
    await new Promise((r) => setTimeout(r, 100));
    await writeFile(gw.configFile, full.slice(0, 20));
    await new Promise((r) => setTimeout(r, 100));
    await writeFile(gw.configFile, full);
    const refused = await gw.waitForLog(
      (l) =>
        l.msg ===
        'config reload refused: it turns API-key authentication off; that takes a restart',
    );
    expect(refused.level).toBe('error');
    const res = await send(rr(2, `${P}.open`), { body: 'x' });
    expect(res.status).toBe(401);
  });

  it('validate refuses an empty file', async () => {
    const { code, stderr } = await runGatewayToExit('', ['validate']);
    expect(code).toBe(1);
    expect(stderr).toContain('the file is empty');
  });
});
