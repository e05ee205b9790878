/**
 * Health is never starved: with the default limits, 10 050 uploads that trickle in fill
 * `http.maxInFlight` (10 000), the 50 past it get 503, and /healthz, /readyz and /metrics still
 * answer 200; every admitted upload then finishes.
 */
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { describe, expect, it, vi } from 'vitest';
import { send } from '../helpers/http.js';
import { respond, uniqueSubject } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const P = `liveness${process.pid}`;
const UPLOADS = 10_050;
// Budgets long enough that the first uploads, opened seconds before their bodies end, never time out.
const stack = useStack({
  gateways: [{ http: { requestTimeout: '120s' }, requests: { timeout: '60s', maxTimeout: '60s' } }],
});

interface Upload {
  socket: Socket;
  received: string;
}

/** Opens `count` connections, `batch` at a time, each sending a request head and half its body. */
async function startUploads(port: number, subject: string, count: number): Promise<Upload[]> {
  const uploads: Upload[] = [];
  const batch = 500;
  for (let opened = 0; opened < count; opened += batch) {
    const next = Array.from(
      { length: Math.min(batch, count - opened) },
      () =>
        new Promise<Upload>((resolve, reject) => {
          const socket = connect(port, '127.0.0.1');
          const upload: Upload = { socket, received: '' };
          socket.setEncoding('latin1');
          socket.on('data', (text: string) => (upload.received += text));
          socket.once('error', reject);
          socket.once('connect', () => {
            socket.write(
              `POST /rr/${subject} HTTP/1.1\r\nHost: x\r\nContent-Length: 16\r\n\r\nfirst-8-`,
            );
            resolve(upload);
          });
        }),
    );
    uploads.push(...(await Promise.all(next)));
  }
  return uploads;
}

describe('health under a full gateway', () => {
  it('answers /healthz, /readyz and /metrics while 10 000 uploads trickle in and 50 more are refused', async () => {
    const subject = uniqueSubject(P);
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => msg.respond(`got ${msg.data.length}`)),
    );
    const uploads = await startUploads(stack.gateway.port, subject, UPLOADS);
    stack.afterThisTest(() => uploads.forEach((u) => u.socket.destroy()));
    const answered = (u: Upload): boolean => u.received.endsWith('}');
    // Every upload past the limit is answered at once; the others wait for the rest of their body.
    await vi.waitUntil(() => uploads.filter(answered).length >= UPLOADS - 10_000, {
      timeout: 60_000,
      interval: 10,
    });
    const refused = uploads.filter(answered);
    for (const u of refused) expect(u.received).toMatch(/^HTTP\/1\.1 503 [^]*:problem:overloaded"/);

    for (const path of ['/healthz', '/readyz', '/metrics']) {
      const res = await send(`${stack.gateway.url}${path}`, { method: 'GET' });
      expect(res.status, path).toBe(200);
      if (path === '/metrics') {
        const inFlight = /^nhg_http_requests_in_flight (\d+)/m.exec(res.text)?.[1];
        // The uploads, and the scrape itself.
        expect(Number(inFlight)).toBeGreaterThanOrEqual(10_000);
      }
    }

    // Exactly the 50 past the limit: each refusal ends at once, the 10 000 stay in.
    expect(refused.length).toBe(UPLOADS - 10_000);
    const admitted = uploads.filter((u) => !answered(u));
    for (const u of admitted) u.socket.write('last-8-b');
    await vi.waitUntil(() => admitted.every((u) => u.received.endsWith('got 16')), {
      timeout: 60_000,
      interval: 10,
    });
    for (const u of admitted) expect(u.received).toMatch(/^HTTP\/1\.1 200 /);
  }, 120_000);
});
