/** CORS answered by the gateway, and the client address under http.trustProxy. */
import type { Msg } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import type { Gateway } from '../helpers/gateway.js';
import { headerValues, send } from '../helpers/http.js';
import { useStack } from '../helpers/stack.js';

const P = `cors${process.pid}`;
const APP = 'https://app.example';
const stack = useStack({
  gateways: [
    { http: { cors: { origins: [APP], maxAge: '2m' } } },
    {
      http: {
        trustProxy: true,
        cors: { origins: [APP, 'https://admin.example'], credentials: true },
      },
    },
    { http: { trustProxy: 1 } },
  ],
});
const plain = (): Gateway => stack.gateways[0] as Gateway;
const trusting = (): Gateway => stack.gateways[1] as Gateway;
const oneHop = (): Gateway => stack.gateways[2] as Gateway;

const recordOn = (subject: string): Promise<Msg[]> => stack.record(subject);

describe('CORS', () => {
  it('answers a preflight itself, without touching NATS', async () => {
    const seen = await recordOn(`${P}.x`);
    const res = await send(`${plain().url}/rr/${P}.x`, {
      method: 'OPTIONS',
      headers: {
        origin: APP,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, x-trace',
      },
    });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe(APP);
    expect(res.headers['access-control-allow-methods']).toBe('GET, HEAD, POST, PUT, PATCH, DELETE');
    expect(res.headers['access-control-allow-headers']).toBe('content-type, x-trace');
    expect(res.headers['access-control-max-age']).toBe('120');
    expect(res.headers['access-control-allow-credentials']).toBeUndefined();
    expect(headerValues(res, 'vary')).toContain('Origin');
    expect(seen).toHaveLength(0);
  });

  it('adds CORS headers to simple requests from an allowed origin, also on errors', async () => {
    await recordOn(`${P}.y`);
    const ok = await send(`${plain().url}/rr/${P}.y`, { body: 'x', headers: { origin: APP } });
    expect(ok.status).toBe(200);
    expect(ok.headers['access-control-allow-origin']).toBe(APP);
    expect(ok.headers['access-control-expose-headers']).toBe('x-request-id');
    const missing = await send(`${plain().url}/rr/${P}.nobody`, {
      body: 'x',
      headers: { origin: APP },
    });
    expect(missing.status).toBe(503);
    expect(missing.headers['access-control-allow-origin']).toBe(APP);
    // Refused before routing (a bad escape): still readable by the page that sent it.
    const refused = await send(`${plain().url}/rr/${P}.a%ZZ`, {
      body: 'x',
      headers: { origin: APP },
    });
    expect(refused.status).toBe(400);
    expect(refused.headers['content-type']).toBe('application/problem+json');
    expect(refused.headers['access-control-allow-origin']).toBe(APP);
  });

  it('gives no CORS headers to other origins', async () => {
    await recordOn(`${P}.z`);
    const res = await send(`${plain().url}/rr/${P}.z`, {
      body: 'x',
      headers: { origin: 'https://evil.example' },
    });
    expect(res.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await send(`${plain().url}/rr/${P}.z`, {
      method: 'OPTIONS',
      headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' },
    });
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    // The answer depends on Origin either way: a shared cache must keep them apart.
    expect(headerValues(res, 'vary')).toContain('Origin');
    const noOrigin = await send(`${plain().url}/rr/${P}.z`, { body: 'x' });
    expect(headerValues(noOrigin, 'vary')).toContain('Origin');
  });

  it('names the origin and allows credentials when configured', async () => {
    const res = await send(`${trusting().url}/rr/${P}.w`, {
      method: 'OPTIONS',
      headers: { origin: 'https://admin.example', 'access-control-request-method': 'PUT' },
    });
    expect(res.status).toBe(204);
    expect(res.headers['access-control-allow-origin']).toBe('https://admin.example');
    expect(res.headers['access-control-allow-credentials']).toBe('true');
  });
});

describe('trustProxy', () => {
  const clientIpSeen = async (
    gw: Gateway,
    headers: Record<string, string>,
  ): Promise<string | undefined> => {
    const subject = `${P}.ip.${Math.random().toString(36).slice(2)}`;
    const seen = await recordOn(subject);
    await send(`${gw.url}/rr/${subject}`, { body: 'x', headers });
    const line = await gw.waitForLog((l) => l.msg === 'request' && l.subject === subject);
    const forwarded = (seen[0] as Msg).headers?.get('X-Gateway-Client-Ip');
    expect(line.clientIp).toBe(forwarded);
    return forwarded;
  };

  it('ignores X-Forwarded-For and Forwarded when off', async () => {
    expect(
      await clientIpSeen(plain(), {
        'x-forwarded-for': '203.0.113.9',
        forwarded: 'for=198.51.100.7',
      }),
    ).toBe('127.0.0.1');
  });

  it('believes the first address when on, preferring Forwarded', async () => {
    expect(await clientIpSeen(trusting(), { 'x-forwarded-for': '203.0.113.9, 10.0.0.1' })).toBe(
      '203.0.113.9',
    );
    expect(
      await clientIpSeen(trusting(), {
        forwarded: 'for="[2001:db8::1]:4711";proto=https, for=10.0.0.1',
        'x-forwarded-for': '1.1.1.1',
      }),
    ).toBe('2001:db8::1');
  });

  it('with one trusted hop, takes the address that proxy saw, not what the client claimed', async () => {
    expect(await clientIpSeen(oneHop(), { 'x-forwarded-for': '6.6.6.6, 203.0.113.9' })).toBe(
      '203.0.113.9',
    );
    expect(await clientIpSeen(oneHop(), {})).toBe('127.0.0.1');
  });
});
