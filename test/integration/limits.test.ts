/** Capacity and HTTP server limits: in-flight cap, slow clients, and long replies that must not be cut. */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:http';
import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import { LISTEN_BACKLOG } from '../../src/server.js';
import { send } from '../helpers/http.js';
import { respond } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const P = `limits${process.pid}`;
const stack = useStack({
  gateways: [
    {
      http: { maxInFlight: 5, headersTimeout: '500ms', requestTimeout: '1s' },
      requests: { timeout: '3s', maxTimeout: '5s' },
    },
  ],
});

/** Opens a raw connection, writes `text`, and resolves with what came back when the server closed it. */
function stall(port: number, text: string): Promise<{ reply: string; afterMs: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1', () => socket.write(text));
    let reply = '';
    socket.on('data', (chunk: Buffer) => (reply += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => resolve({ reply, afterMs: Date.now() - started }));
  });
}

describe('limits', () => {
  it('answers 503 overloaded with Retry-After past http.maxInFlight, health stays 200, and recovers', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let arrived = 0;
    let allArrived: () => void = () => undefined;
    const fiveArrived = new Promise<void>((resolve) => (allArrived = resolve));
    stack.afterThisTest(
      await respond(stack.nc, `${P}.held`, (msg) => {
        if (++arrived === 5) allArrived();
        void gate.then(() => msg.respond('done'));
      }),
    );
    const agent = new Agent({ keepAlive: false, maxSockets: Infinity });
    const held = Array.from({ length: 5 }, () =>
      send(`${stack.gateway.url}/rr/${P}.held`, { body: 'x', agent }),
    );
    await fiveArrived;
    const extra = await Promise.all(
      Array.from({ length: 10 }, () =>
        send(`${stack.gateway.url}/rr/${P}.held`, { body: 'x', agent }),
      ),
    );
    for (const res of extra) {
      expect(res.status).toBe(503);
      expect(res.headers['retry-after']).toBe('1');
      expect(res.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}overloaded` });
    }
    expect(arrived).toBe(5);
    // The gateway's own endpoints stay outside the limit: a liveness probe never restarts a busy pod.
    for (const path of ['/healthz', '/readyz', '/metrics']) {
      expect(
        (await send(`${stack.gateway.url}${path}`, { method: 'GET', agent })).status,
        path,
      ).toBe(200);
    }
    release();
    expect((await Promise.all(held)).map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect((await send(`${stack.gateway.url}/rr/${P}.held`, { body: 'x', agent })).status).toBe(
      200,
    );
  });

  it('closes a connection whose headers never finish (slowloris)', async () => {
    const { afterMs } = await stall(
      stack.gateway.port,
      'POST /rr/x HTTP/1.1\r\nHost: a\r\nX-Slow: ',
    );
    expect(afterMs).toBeGreaterThanOrEqual(400);
    expect(afterMs).toBeLessThan(3000);
  });

  it('closes a connection whose body never finishes', async () => {
    const { afterMs } = await stall(
      stack.gateway.port,
      'POST /rr/x HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly-a-little',
    );
    expect(afterMs).toBeGreaterThanOrEqual(900);
    expect(afterMs).toBeLessThan(4000);
  });

  it('does not cut a reply that takes longer than http.requestTimeout', async () => {
    stack.afterThisTest(
      await respond(stack.nc, `${P}.slow`, (msg) => {
        setTimeout(() => msg.respond('worth the wait'), 1_500);
      }),
    );
    const res = await send(`${stack.gateway.url}/rr/${P}.slow`, { body: 'x' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('worth the wait');
  });

  it('keeps as many connections waiting for accept() as the kernel allows, not Node’s 511', () => {
    // 10 000 clients connecting at once overflowed a 511-deep queue (bench/README.md).
    const kernelMax = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));
    const line = execFileSync('ss', ['-Hltn', `sport = :${stack.gateway.port}`], {
      encoding: 'utf8',
    });
    // For a listening socket, ss's Send-Q column is the backlog the socket was created with.
    const backlog = Number(line.trim().split(/\s+/)[2]);
    expect(backlog).toBe(Math.min(kernelMax, LISTEN_BACKLOG));
    expect(backlog).toBeGreaterThan(511);
  });
});
