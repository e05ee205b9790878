/**
 * The API console in a real browser (Debian's chromium driven by playwright-core): it lists the
 * live routes, "try it" sends real requests through the gateway to a real responder, problems
 * render readably, and the page talks to no other origin.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from '../helpers/http.js';
import { replyHeaders, respond } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const P = `console${process.pid}`;
const stack = useStack({
  gateways: [
    { routes: [{ method: 'POST', path: '/greet/:name', subject: `${P}.greet.{name}` }] },
    { http: { docs: false } },
  ],
});

/** Debian's chromium; scripts/test.sh installs it. */
const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
// The flags a sandboxed root needs, and none of Chromium's own calls home on a closed network.
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

let browser: Browser | undefined;
let profile = '';
beforeAll(async () => {
  profile = await mkdtemp(join(tmpdir(), 'nhg-chromium-'));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
});
afterAll(async () => {
  await browser?.close();
  await rm(profile, { recursive: true, force: true });
});

/** Opens the console; returns the page and every URL it requested. */
async function openConsole(): Promise<{ page: Page; requested: string[] }> {
  const page = await browser!.newPage({ viewport: { width: 1100, height: 900 } });
  const requested: string[] = [];
  page.on('request', (request) => requested.push(request.url()));
  await page.goto(`${stack.gateway.url}/`);
  await page.locator('#operations-request-reply-requestReply').waitFor();
  return { page, requested };
}

/** Fills and executes `POST /rr/{subject}` in the page; returns the response block's text. */
async function tryRequestReply(page: Page, subject: string, body: string): Promise<string> {
  const operation = page.locator('#operations-request-reply-requestReply');
  if (!(await operation.locator('.try-out__btn').isVisible())) {
    await operation.locator('.opblock-summary').first().click();
  }
  const tryOut = operation.locator('button.try-out__btn');
  if ((await tryOut.textContent())?.includes('Try it out')) await tryOut.click();
  // Clear the previous answer, so that what is read below is this request's.
  const clear = operation.locator('button.btn-clear');
  if (await clear.isVisible()) await clear.click();
  await operation.locator('.live-responses-table').waitFor({ state: 'detached' });
  await operation.locator('input[placeholder="subject"]').fill(subject);
  await operation.locator('textarea.body-param__text').fill(body);
  await operation.locator('button.execute').click();
  const live = operation.locator('.live-responses-table .response').first();
  await live.waitFor();
  return (await live.innerText()).trim();
}

describe('GET /docs', () => {
  // A browser on a busy 2-core machine: generous, as the browser's own start is.
  it(
    'sends hello through the gateway and shows the reply; a problem renders readably',
    { timeout: 60_000 },
    async () => {
      // Like demo.echo: the body back, with the Content-Type it came with.
      stack.afterThisTest(
        await respond(stack.nc, `${P}.echo`, (msg) => {
          const type = msg.headers?.get('Content-Type') ?? 'application/octet-stream';
          msg.respond(msg.data, { headers: replyHeaders([['Content-Type', type]]) });
        }),
      );
      const { page, requested } = await openConsole();
      // The live routes: /rr (openConsole waited for it) and the mapped one.
      await page.locator('#operations-routes-route0Post').waitFor();

      const answer = await tryRequestReply(page, `${P}.echo`, 'hello');
      expect(answer).toMatch(/^200\b/);
      expect(answer).toContain('hello');

      const out = process.env.UPDATE_SCREENSHOT
        ? resolve(import.meta.dirname, '../../docs/console.png')
        : join(profile, 'console.png');
      // The README's picture: the request and the answer as the page shows them.
      const operation = page.locator('#operations-request-reply-requestReply');
      await operation.locator('.responses-inner').scrollIntoViewIfNeeded();
      const from = await operation.locator('.responses-inner').boundingBox();
      const to = await operation.locator('.live-responses-table').boundingBox();
      if (from && to) {
        await page.screenshot({
          path: out,
          clip: { x: from.x, y: from.y, width: from.width, height: to.y + to.height - from.y },
        });
      }

      const problem = await tryRequestReply(page, `${P}.nobody`, 'hello');
      expect(problem).toMatch(/^503\b/);
      expect(problem).toContain('no-responders');

      // Every script, style, image and request came from the gateway itself.
      const others = requested.filter(
        (url) => !url.startsWith(`${stack.gateway.url}/`) && !url.startsWith('data:'),
      );
      expect(others).toEqual([]);
      await page.close();
    },
  );

  it('keeps the page to its own origin with a Content-Security-Policy', async () => {
    const res = await send(`${stack.gateway.url}/docs`, { method: 'GET' });
    expect(res.status).toBe(200);
    const policy = String(res.headers['content-security-policy']);
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("connect-src 'self'");
    expect(policy).not.toMatch(/https?:/);
  });

  it('is off with http.docs: false, and / then is a 404', async () => {
    const off = stack.gateways[1]!;
    expect((await send(`${off.url}/docs`, { method: 'GET' })).status).toBe(404);
    expect((await send(`${off.url}/`, { method: 'GET' })).status).toBe(404);
    const doc = (await send(`${off.url}/openapi.json`, { method: 'GET' })).json<{
      paths: Record<string, unknown>;
    }>();
    expect(Object.keys(doc.paths)).not.toContain('/docs');
  });

  it('serves only the files the page needs', async () => {
    const gw = stack.gateway.url;
    for (const file of ['swagger-ui.css', 'swagger-ui-bundle.js', 'init.js']) {
      expect((await send(`${gw}/docs/${file}`, { method: 'GET' })).status, file).toBe(200);
    }
    for (const file of ['package.json', 'constructor', '..%2Fpackage.json', 'index.html']) {
      expect((await send(`${gw}/docs/${file}`, { method: 'GET' })).status, file).toBe(404);
    }
  });
});
