/** The example responders the demo runs, against a real gateway: they behave as the README says. */
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { send } from '../helpers/http.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack({
  gateways: [
    { discovery: { enabled: true, interval: '250ms', wait: '150ms', services: ['inventory'] } },
  ],
});
const RESPONDERS = resolve(import.meta.dirname, '../../examples/responders.mjs');

/** Starts the example responders; resolves with their stdout lines once they are ready. */
async function startResponders(): Promise<string[]> {
  const child = spawn(process.execPath, [RESPONDERS], {
    env: { ...process.env, NATS_URL: stack.nats.url },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  stack.afterThisTest(() => child.kill('SIGKILL'));
  const lines: string[] = [];
  await new Promise<void>((ready, fail) => {
    child.once('exit', (code) => fail(new Error(`responders exited (${code})`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      lines.push(line);
      if (line.includes('example responders ready')) ready();
    });
  });
  return lines;
}

describe('examples/responders.mjs', () => {
  it('demo.slow replies within the deadline and stops waiting once it has passed', async () => {
    const lines = await startResponders();
    const url = `${stack.gateway.url}/rr/demo.slow`;
    const inTime = await send(`${url}?timeout=5s`, { body: 'x', headers: { 'X-Delay-Ms': '50' } });
    expect(inTime.status).toBe(200);
    expect(inTime.text).toBe('replied after 50 ms\n');

    const late = await send(`${url}?timeout=200ms`, {
      body: 'x',
      headers: { 'X-Delay-Ms': '5000' },
    });
    expect(late.status).toBe(504);
    // It gives up at the deadline rather than replying after 5 s to nobody.
    await expect
      .poll(() => lines.some((l) => l.includes('deadline passed; not replying')), {
        timeout: 2_000,
      })
      .toBe(true);
  });

  it('the inventory service publishes GET /inventory/:sku through discovery, as the demo shows', async () => {
    await startResponders();
    const url = `${stack.gateway.url}/inventory/ABC-1`;
    await expect
      .poll(async () => (await send(url, { method: 'GET' })).status, { timeout: 10_000 })
      .toBe(200);
    const res = await send(url, { method: 'GET' });
    expect(res.headers['content-type']).toBe('application/json');
    const stock = res.json<{ sku: string; count: number }>();
    expect(stock.sku).toBe('ABC-1');
    expect(Number.isInteger(stock.count)).toBe(true);
  });
});
