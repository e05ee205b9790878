/**
 * Deadlines that travel: the caller's budget from any of four sources (smallest wins, capped), the
 * deadline and the time left passed on to the responder, the 504 at the budget, late replies counted.
 */
import type { Msg } from '@nats-io/transport-node';
import { describe, expect, it } from 'vitest';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import { send } from '../helpers/http.js';
import type { HttpResult } from '../helpers/http.js';
import { headerPairs, respond, uniqueSubject } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const stack = useStack({ gateways: [{ requests: { timeout: '5s', maxTimeout: '10s' } }] });
const rr = (subject: string): string => `${stack.gateway.url}/rr/${subject}`;

interface Seen {
  receivedAt: number;
  headers: Record<string, string>;
}

/** A responder that records what it received and when, and answers "ok". */
async function recorder(): Promise<{ subject: string; seen: Seen[] }> {
  const subject = uniqueSubject('deadline');
  const seen: Seen[] = [];
  stack.afterThisTest(
    await respond(stack.nc, subject, (msg: Msg) => {
      seen.push({ receivedAt: Date.now(), headers: Object.fromEntries(headerPairs(msg)) });
      msg.respond('ok');
    }),
  );
  return { subject, seen };
}

/** The budget the responder was given, checked against the deadline it came with. */
function budgetSeen(seen: Seen): number {
  const timeoutMs = Number(seen.headers['X-Gateway-Timeout-Ms']);
  const deadline = Number(seen.headers['X-Gateway-Deadline']);
  expect(Number.isInteger(timeoutMs) && Number.isInteger(deadline)).toBe(true);
  // The deadline is the gateway's clock at publish plus the time left; the responder got it a
  // little later on the same machine.
  expect(deadline - seen.receivedAt).toBeLessThanOrEqual(timeoutMs + 5);
  expect(deadline - seen.receivedAt).toBeGreaterThan(timeoutMs - 1_000);
  return timeoutMs;
}

function expectBudget(seen: Seen, budgetMs: number): void {
  const timeoutMs = budgetSeen(seen);
  expect(timeoutMs).toBeLessThanOrEqual(budgetMs);
  // Generous: the time spent inside the gateway on a busy machine.
  expect(timeoutMs).toBeGreaterThan(budgetMs - 1_000);
}

describe('deadlines in', () => {
  it.each([
    ['?timeout=', { query: '1200ms' }, 1200],
    ['Request-Timeout', { 'Request-Timeout': '1300' }, 1300],
    ['grpc-timeout in milliseconds', { 'grpc-timeout': '1400m' }, 1400],
    ['grpc-timeout in seconds', { 'grpc-timeout': '1S' }, 1000],
    ['grpc-timeout in microseconds, rounded up', { 'grpc-timeout': '1500001u' }, 1501],
    ['X-Envoy-Expected-Rq-Timeout-Ms', { 'X-Envoy-Expected-Rq-Timeout-Ms': '1700' }, 1700],
    ['nothing: requests.timeout', {}, 5000],
    ['grpc-timeout in hours: capped at requests.maxTimeout', { 'grpc-timeout': '1H' }, 10_000],
  ] as const)('takes %s', async (_name, sources, budgetMs) => {
    const { subject, seen } = await recorder();
    const { query, ...headers } = sources as Record<string, string>;
    const url = query ? `${rr(subject)}?timeout=${query}` : rr(subject);
    expect((await send(url, { body: 'x', headers })).status).toBe(200);
    expectBudget(seen[0]!, budgetMs);
    // Consumed by the gateway, never forwarded as sent.
    for (const name of ['Request-Timeout', 'Grpc-Timeout', 'X-Envoy-Expected-Rq-Timeout-Ms'])
      expect(seen[0]!.headers[name]).toBeUndefined();
  });

  it('takes the smallest when several are present', async () => {
    const { subject, seen } = await recorder();
    const all = {
      'Request-Timeout': '1900',
      'grpc-timeout': '1800m',
      'X-Envoy-Expected-Rq-Timeout-Ms': '1100',
    };
    await send(`${rr(subject)}?timeout=1500ms`, { body: 'x', headers: all });
    expectBudget(seen[0]!, 1100);
    await send(`${rr(subject)}?timeout=900ms`, { body: 'x', headers: all });
    expectBudget(seen[1]!, 900);
  });

  it.each([
    ['grpc-timeout', 'soon'],
    ['grpc-timeout', '123456789S'],
    ['grpc-timeout', '10s'],
    ['grpc-timeout', '0m'],
    ['grpc-timeout', '-1S'],
    ['X-Envoy-Expected-Rq-Timeout-Ms', '1.5'],
    ['X-Envoy-Expected-Rq-Timeout-Ms', '-1'],
    ['X-Envoy-Expected-Rq-Timeout-Ms', '0'],
    ['Request-Timeout', 'forever'],
  ])('refuses %s: %j with a 400 naming the header', async (name, value) => {
    const { subject, seen } = await recorder();
    const res = await send(rr(subject), { body: 'x', headers: { [name]: value } });
    expect(res.status).toBe(400);
    const body = res.json<{ type: string; detail: string }>();
    expect(body.type).toBe(`${PROBLEM_TYPE_BASE}invalid-timeout`);
    expect(body.detail).toContain(name);
    expect(seen).toHaveLength(0);
  });
});

describe('deadlines out', () => {
  it('answers 504 at the budget, not at requests.timeout', async () => {
    const subject = uniqueSubject('deadline');
    stack.afterThisTest(await respond(stack.nc, subject, () => undefined));
    const started = Date.now();
    const res = await send(rr(subject), { body: 'x', headers: { 'grpc-timeout': '300m' } });
    const elapsedMs = Date.now() - started;
    expect(res.status).toBe(504);
    expect(res.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}timeout` });
    expect(elapsedMs).toBeGreaterThanOrEqual(290);
    expect(elapsedMs).toBeLessThan(1_900);
  });

  it('gives a gather the deadline of its whole wait', async () => {
    const { subject, seen } = await recorder();
    const res = await send(`${rr(subject)}?replies=all&wait=700ms`, { body: 'x' });
    expect(res.status).toBe(200);
    expectBudget(seen[0]!, 700);
  });

  it('counts a reply that comes after its request gave up, and never hands it to another', async () => {
    const subject = uniqueSubject('deadline');
    let answered = 0;
    const lateSent = new Promise<void>((resolve) => {
      void respond(stack.nc, subject, (msg) => {
        answered += 1;
        // The first request is answered after its 200 ms budget; the next at once.
        if (answered === 1) {
          setTimeout(() => {
            msg.respond('late');
            resolve();
          }, 400);
        } else {
          msg.respond('on time');
        }
      }).then((undo) => stack.afterThisTest(undo));
    });
    const before = await lateReplies();
    const first = await send(rr(subject), { body: 'x', headers: { 'Request-Timeout': '200' } });
    expect(first.status).toBe(504);
    const second = send(rr(subject), { body: 'x' });
    await lateSent;
    expect((await second).text).toBe('on time');
    await expect.poll(lateReplies, { timeout: 5_000, interval: 50 }).toBe(before + 1);
  });
});

async function lateReplies(): Promise<number> {
  const res: HttpResult = await send(`${stack.gateway.url}/metrics`, { method: 'GET' });
  const line = res.text.split('\n').find((l) => l.startsWith('nhg_nats_late_replies_total '));
  return Number(line?.split(' ')[1] ?? NaN);
}
