/** The optional HTTPS listener (http.tls), with a certificate generated for the test. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeSelfSigned } from '../helpers/certs.js';
import { respond } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const P = `https${process.pid}`;
const dir = mkdtempSync(join(tmpdir(), 'nhg-https-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
makeSelfSigned(dir, 'IP:127.0.0.1');

const stack = useStack({
  gateways: [
    { http: { tls: { certFile: join(dir, 'cert.pem'), keyFile: join(dir, 'cert.key') } } },
  ],
});

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
});
