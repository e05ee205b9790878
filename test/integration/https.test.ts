/** The optional HTTPS listener (http.tls), with a certificate generated for the test. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeSelfSigned } from '../helpers/certs.js';
import { startGateway } from '../helpers/gateway.js';
import { respond } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const P = `https${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'nhg-https-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
makeSelfSigned(dir, 'IP:127.0.0.1');

const tls = { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'cert.key') };
const stack = useStack({
  gateways: [{ http: { tls } }, { http: { tls, headersTimeout: '1s' } }],
});

/** A TCP connection to `port` that never starts its TLS handshake; resolves once it is open. */
function silentConnection(port: number): Promise<{ socket: Socket; closed: Promise<void> }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const closed = new Promise<void>((done) => socket.once('close', () => done()));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

describe('HTTPS listener', () => {
  it('serves /rr over TLS with the configured certificate', async () => {
    await respond(stack.nc, `${P}.echo`, (msg) => msg.respond(msg.data));
    expect(stack.gateway.url.startsWith('https://')).toBe(true);
    const body = await new Promise<string>((resolve, reject) => {
      const req = request(
        `${stack.gateway.url}/rr/${P}.echo`,
        {
          method: 'POST',
          ca: readFileSync(join(dir, 'cert.pem')),
          headers: { 'content-length': 7 },
        },
        (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(`${res.statusCode} ${text}`));
        },
      );
      req.on('error', reject);
      req.end('encrypt');
    });
    expect(body).toBe('200 encrypt');
  });

  it('closes a connection that never finishes its handshake after http.headersTimeout', async () => {
    const { socket, closed } = await silentConnection(stack.gateways[1]!.port);
    stack.afterThisTest(() => socket.destroy());
    // Node's own default would hold it for two minutes.
    const outcome = await Promise.race([
      closed.then(() => 'closed'),
      new Promise((resolve) => setTimeout(resolve, 12_000, 'still open')),
    ]);
    expect(outcome).toBe('closed');
  });

  it('shuts down without waiting for a connection still before its handshake', async () => {
    const gateway = await startGateway({
      config: {
        http: { tls, headersTimeout: '60s', requestTimeout: '60s' },
        nats: { servers: [stack.nats.url] },
      },
    });
    stack.afterThisTest(() => gateway.stop());
    const { socket, closed } = await silentConnection(gateway.port);
    stack.afterThisTest(() => socket.destroy());
    const exit = await Promise.race([
      gateway.signal('SIGTERM'),
      new Promise((resolve) => setTimeout(resolve, 15_000, 'still running')),
    ]);
    expect(exit).toBe(0);
    await closed;
  });
});
