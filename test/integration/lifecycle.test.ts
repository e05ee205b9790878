/** Start-up with bad config, and graceful shutdown with requests in flight. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { afterEach, describe, expect, it } from 'vitest';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import {
  GATEWAY_MAIN,
  runGatewayToExit,
  startGateway,
  unexpectedErrors,
} from '../helpers/gateway.js';
import { headerValues, send } from '../helpers/http.js';
import { startNatsServer } from '../helpers/nats-server.js';
import type { NatsServer } from '../helpers/nats-server.js';
import { connectResponder, respond, uniqueSubject } from '../helpers/responders.js';

const teardown: Array<() => Promise<unknown> | void> = [];
afterEach(async () => {
  for (const undo of teardown.splice(0).reverse()) await undo();
});

async function natsWithResponder(): Promise<{ server: NatsServer; nc: NatsConnection }> {
  const server = await startNatsServer();
  teardown.push(() => server.stop());
  const nc = await connectResponder(server.url);
  teardown.push(() => nc.close());
  return { server, nc };
}

describe('configuration errors', () => {
  it('stops with exit code 1 naming an unknown key and its line; nothing listens', async () => {
    const { code, stdout, stderr } = await runGatewayToExit('http:\n  port: 0\n  prot: 8080\n');
    expect(code).toBe(1);
    expect(stderr).toContain("http: unknown key 'prot' (line 3)");
    expect(stdout).not.toContain('listening');
  });

  it('names the key path and reason of a bad value', async () => {
    const { code, stderr } = await runGatewayToExit('requests:\n  timeout: soon\n');
    expect(code).toBe(1);
    expect(stderr).toContain("requests.timeout: 'soon' is not a duration");
  });

  it('reports every problem at once', async () => {
    const { code, stderr } = await runGatewayToExit(
      'rr:\n  allow: ["a.>.b"]\nheaders:\n  case: upper\n',
    );
    expect(code).toBe(1);
    expect(stderr).toContain('rr.allow.0');
    expect(stderr).toContain('headers.case');
  });

  it('refuses a missing file', async () => {
    const child = spawn(process.execPath, [GATEWAY_MAIN, '--config', '/nonexistent/gateway.yaml']);
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('file not found');
  });

  it('takes the config path from GATEWAY_CONFIG and lets PORT override the file', async () => {
    const { server } = await natsWithResponder();
    const dir = await mkdtemp(join(tmpdir(), 'nhg-env-'));
    teardown.push(() => rm(dir, { recursive: true, force: true }));
    const file = join(dir, 'gateway.yaml');
    await writeFile(file, 'http:\n  host: 127.0.0.1\n  port: 1\n');
    const child = spawn(process.execPath, [GATEWAY_MAIN], {
      env: { PATH: process.env.PATH ?? '', GATEWAY_CONFIG: file, PORT: '0', NATS_URL: server.url },
    });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    teardown.push(async () => {
      child.kill('SIGKILL');
      await exited;
    });
    const connected = await new Promise<string>((resolve) => {
      let out = '';
      child.stdout.on('data', (c: Buffer) => {
        out += c.toString();
        if (out.includes('connected to NATS')) resolve(out);
      });
    });
    expect(connected).toMatch(/"msg":"listening"/);
    expect(connected).not.toMatch(/"port":1,/);
    expect(connected).toContain(`"server":"127.0.0.1:${server.port}"`);
  });
});

describe('graceful shutdown', () => {
  it('turns /readyz 503, refuses new connections, finishes in-flight requests, then exits 0', async () => {
    const { server, nc } = await natsWithResponder();
    const subject = uniqueSubject();
    let received: () => void = () => undefined;
    const requestArrived = new Promise<void>((resolve) => (received = resolve));
    await respond(nc, subject, (msg) => {
      received();
      setTimeout(() => msg.respond('finished'), 1_000);
    });
    const gateway = await startGateway({
      config: {
        nats: { servers: [server.url] },
        http: { shutdownDelay: '400ms', shutdownGrace: '5s' },
      },
    });
    teardown.push(() => gateway.stop());

    const inFlight = send(`${gateway.url}/rr/${subject}`, { body: 'x' });
    await requestArrived;
    const exited = gateway.signal('SIGTERM');
    await gateway.waitForLog((l) => l.msg === 'shutting down');

    // During the delay the listener still accepts, and readiness says 503.
    const ready = await send(`${gateway.url}/readyz`, {
      method: 'GET',
      headers: { connection: 'close' },
    });
    expect(ready.status).toBe(503);
    expect(ready.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}shutting-down` });
    // Once, though both the shutdown and the problem call for it.
    expect(headerValues(ready, 'connection')).toEqual(['close']);

    // After it, new connections are refused while the in-flight request is still running.
    await gateway.waitForLog((l) => l.msg === 'listener closed');
    await expect(
      send(`${gateway.url}/healthz`, { method: 'GET', headers: { connection: 'close' } }),
    ).rejects.toThrow(/ECONNREFUSED/);

    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(res.text).toBe('finished');
    expect(await exited).toBe(0);
    expect(gateway.logs.some((l) => l.msg === 'shutdown complete')).toBe(true);
    // Its access-log line was still waiting in the log batch when the process exited: flushed first.
    expect(gateway.logs).toContainEqual(
      expect.objectContaining({
        msg: 'request',
        requestId: res.headers['x-request-id'],
        status: 200,
      }),
    );
    expect(unexpectedErrors(gateway.logs)).toEqual([]);
  });

  it('cuts requests still waiting after the grace period with a 503 and exits 0', async () => {
    const { server, nc } = await natsWithResponder();
    const subject = uniqueSubject();
    let received: () => void = () => undefined;
    const requestArrived = new Promise<void>((resolve) => (received = resolve));
    await respond(nc, subject, () => received()); // Never answers.
    const gateway = await startGateway({
      config: { nats: { servers: [server.url] }, http: { shutdownGrace: '300ms' } },
    });
    teardown.push(() => gateway.stop());

    const started = Date.now();
    const inFlight = send(`${gateway.url}/rr/${subject}?timeout=20s`, { body: 'x' });
    await requestArrived;
    const exited = gateway.signal('SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(503);
    expect(res.headers['content-type']).toBe('application/problem+json');
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await exited).toBe(0);
  });
});
