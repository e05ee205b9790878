/** Operator tools: `validate` and SIGHUP reload with requests in flight. */
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runGatewayToExit, unexpectedErrors } from '../helpers/gateway.js';
import type { GatewayRun } from '../helpers/gateway.js';
import { send } from '../helpers/http.js';
import { respond } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const P = `reload${process.pid}`;

/** Runs `main.js validate` on a config text. */
const validate = (yaml: string): Promise<GatewayRun> => runGatewayToExit(yaml, ['validate']);

describe('validate', () => {
  it('exits 0 for a valid file and says what it holds', async () => {
    const { code, stdout } = await validate(
      'routes:\n  - { method: GET, path: /a, subject: a }\nrr: { enabled: false }\n',
    );
    expect(code).toBe(0);
    expect(stdout).toMatch(/is valid \(1 route, \/rr disabled\)/);
  });

  it('exits 1 with the same messages as start-up', async () => {
    const { code, stderr } = await validate(
      'routes:\n  - method: GET\n    path: /users/:id\n    subject: users.{uid}\n',
    );
    expect(code).toBe(1);
    expect(stderr).toContain(
      "routes.0.subject: route #0 (GET /users/:id): placeholder '{uid}' has no matching path parameter (the path has :id) (line 4)",
    );
  });

  it('exits 1 for an unknown key, naming it', async () => {
    const { code, stderr } = await validate('rr:\n  enable: false\n');
    expect(code).toBe(1);
    expect(stderr).toContain("rr: unknown key 'enable' (line 2)");
  });
});

const stack = useStack({
  gateways: [{ routes: [{ method: 'GET', path: '/thing', subject: `${P}.v1` }] }],
});

describe('SIGHUP reload', () => {
  it('serves new routes to new requests, lets in-flight ones finish on the old, and ignores a broken file', async () => {
    const gateway = stack.gateway;
    let arrived: () => void = () => undefined;
    const v1Arrived = new Promise<void>((resolve) => (arrived = resolve));
    await respond(stack.nc, `${P}.v1`, (msg) => {
      arrived();
      setTimeout(() => msg.respond('v1'), 600);
    });
    await respond(stack.nc, `${P}.v2`, (msg) => msg.respond('v2'));
    await respond(stack.nc, `${P}.new`, (msg) => msg.respond('new'));

    const inFlight = send(`${gateway.url}/thing`, { method: 'GET' });
    await v1Arrived;

    const v2 = {
      nats: { servers: [stack.nats.url] },
      http: { host: '127.0.0.1', port: 0 },
      routes: [
        { method: 'GET', path: '/thing', subject: `${P}.v2` },
        { method: 'GET', path: '/new', subject: `${P}.new` },
      ],
    };
    await writeFile(gateway.configFile, stringify(v2));
    gateway.kill('SIGHUP');
    await gateway.waitForLog((l) => l.msg === 'config reloaded');

    expect((await send(`${gateway.url}/thing`, { method: 'GET' })).text).toBe('v2');
    expect((await send(`${gateway.url}/new`, { method: 'GET' })).text).toBe('new');
    const old = await inFlight;
    expect(old.status).toBe(200);
    expect(old.text).toBe('v1');
    const doc = (await send(`${gateway.url}/openapi.json`, { method: 'GET' })).json<{
      paths: object;
    }>();
    expect(Object.keys(doc.paths)).toContain('/new');

    await writeFile(
      gateway.configFile,
      'routes:\n  - { method: GET, path: /thing, subject: "a..b" }\n',
    );
    gateway.kill('SIGHUP');
    const failed = await gateway.waitForLog(
      (l) => l.msg === 'config reload failed; keeping the running config',
    );
    expect(JSON.stringify(failed.issues)).toContain('routes.0.subject');
    expect((await send(`${gateway.url}/thing`, { method: 'GET' })).text).toBe('v2');
    expect((await send(`${gateway.url}/new`, { method: 'GET' })).text).toBe('new');

    const errors = unexpectedErrors(
      gateway.logs,
      (l) => l.msg === 'config reload failed; keeping the running config',
    );
    expect(errors).toEqual([]);
  });
});
