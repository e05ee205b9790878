/** Scatter-gather: `?replies=all` and `replies: all` routes, as JSON, SSE and NDJSON. */
import { describe, expect, it } from 'vitest';
import type { GatheredItem } from '../../src/http/gather.js';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import { send } from '../helpers/http.js';
import { hpub, startRawResponder } from '../helpers/raw-responder.js';
import { replyHeaders, respond, uniqueSubject } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const P = `gather${process.pid}`;
const stack = useStack({
  gateways: [
    {
      requests: { timeout: '2s', maxTimeout: '5s', maxReplies: 10 },
      routes: [
        {
          method: 'GET',
          path: '/census',
          subject: `${P}.census`,
          replies: 'all',
          gather: { max: 2 },
        },
      ],
    },
  ],
});

/** Responders on `subject` answering after the given delays with their index as the body. */
async function responders(subject: string, delaysMs: number[]): Promise<void> {
  for (const [i, delayMs] of delaysMs.entries()) {
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => {
        setTimeout(() => msg.respond(`r${i}`), delayMs);
      }),
    );
  }
}

const url = (subject: string, query: string): string =>
  `${stack.gateway.url}/rr/${subject}?replies=all&${query}`;

describe('gather', () => {
  it('stops at max replies, keeping arrival order', async () => {
    const subject = uniqueSubject(P);
    await responders(subject, [100, 0, 50]);
    const started = Date.now();
    const res = await send(url(subject, 'max=3'), { body: 'x' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(res.headers['x-gather-end']).toBe('max');
    const items = res.json<GatheredItem[]>();
    expect(items.map((i) => i.body)).toEqual(['r1', 'r2', 'r0']);
    expect(items[0]).toMatchObject({ status: 200, encoding: 'utf8' });
    expect(Date.now() - started).toBeLessThan(1500);
  });

  it('stops when the total wait is over', async () => {
    const subject = uniqueSubject(P);
    await responders(subject, [0, 20, 1000]);
    const started = Date.now();
    const res = await send(url(subject, 'wait=300ms'), { body: 'x' });
    const items = res.json<GatheredItem[]>();
    const elapsed = Date.now() - started;
    expect(res.headers['x-gather-end']).toBe('wait');
    expect(items.map((i) => i.body)).toEqual(['r0', 'r1']);
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(900);
  });

  it('stops when replies stall', async () => {
    const subject = uniqueSubject(P);
    await responders(subject, [0, 30, 600]);
    const started = Date.now();
    const res = await send(url(subject, 'stall=150ms&wait=3s'), { body: 'x' });
    expect(res.headers['x-gather-end']).toBe('stall');
    const items = res.json<GatheredItem[]>();
    expect(items.map((i) => i.body)).toEqual(['r0', 'r1']);
    expect(Date.now() - started).toBeLessThan(550);
  });

  it('reports binary bodies as base64, text as UTF-8, and each reply its own status and headers', async () => {
    const subject = uniqueSubject(P);
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) => msg.respond(new Uint8Array([0xff, 0x00, 0xfe]))),
    );
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) =>
        setTimeout(
          () =>
            msg.respond('conflict', {
              headers: replyHeaders([
                ['Nats-Service-Error-Code', '409'],
                ['Nats-Service-Error', 'taken'],
              ]),
            }),
          30,
        ),
      ),
    );
    stack.afterThisTest(
      await respond(stack.nc, subject, (msg) =>
        setTimeout(
          () =>
            msg.respond('grüße', {
              headers: replyHeaders([
                ['Status-Code', '201'],
                ['X-V', 'a'],
                ['X-V', 'b'],
              ]),
            }),
          60,
        ),
      ),
    );
    const items = (await send(url(subject, 'max=3'), { body: 'x' })).json<GatheredItem[]>();
    expect(items[0]).toEqual({
      status: 200,
      headers: {},
      body: Buffer.from([0xff, 0x00, 0xfe]).toString('base64'),
      encoding: 'base64',
    });
    expect(items[1]).toMatchObject({ status: 409, body: 'conflict', encoding: 'utf8' });
    expect(items[2]).toMatchObject({ status: 201, body: 'grüße', headers: { 'X-V': ['a', 'b'] } });
  });

  it('answers 503 no-responders when nobody listens', async () => {
    const res = await send(url(uniqueSubject(P), 'max=3'), { body: 'x' });
    expect(res.status).toBe(503);
    expect(res.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}no-responders` });
  });

  it('streams Server-Sent Events, one per reply, then an end event', async () => {
    const subject = uniqueSubject(P);
    await responders(subject, [0, 20, 40]);
    const res = await send(url(subject, 'max=3'), {
      body: 'x',
      headers: { accept: 'text/event-stream' },
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream');
    const events = res.text
      .trim()
      .split('\n\n')
      .map((block) => {
        const [eventLine, dataLine] = block.split('\n');
        return {
          event: eventLine?.replace('event: ', ''),
          data: JSON.parse(dataLine?.replace('data: ', '') ?? '') as unknown,
        };
      });
    expect(events.map((e) => e.event)).toEqual(['reply', 'reply', 'reply', 'end']);
    expect(events.slice(0, 3).map((e) => (e.data as GatheredItem).body)).toEqual([
      'r0',
      'r1',
      'r2',
    ]);
    expect(events[3]?.data).toEqual({ end: 'max', replies: 3 });
  });

  it('streams NDJSON, one line per reply, then a line that says why it ended', async () => {
    const subject = uniqueSubject(P);
    await responders(subject, [0, 20]);
    const res = await send(url(subject, 'max=2'), {
      body: 'x',
      headers: { accept: 'application/x-ndjson' },
    });
    expect(res.headers['content-type']).toBe('application/x-ndjson');
    const lines = res.text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.slice(0, 2).map((l) => l.body)).toEqual(['r0', 'r1']);
    expect(lines[2]).toEqual({ end: 'max', replies: 2 });
  });

  it('keeps the other replies when one has a malformed header block: that one is a 502 item', async () => {
    const subject = uniqueSubject(P);
    await responders(subject, [0, 60]);
    const raw = await startRawResponder(stack.nats.port, subject, (reply) =>
      hpub(reply, 'NATS/1.0\r\nBad Name: x\r\n\r\n', 'bad'),
    );
    stack.afterThisTest(() => raw.close());
    const res = await send(url(subject, 'max=3'), { body: 'x' });
    expect(res.status).toBe(200);
    const items = res.json<GatheredItem[]>();
    expect(items.map((i) => i.status).sort()).toEqual([200, 200, 502]);
    expect(items.filter((i) => i.status === 200).map((i) => i.body)).toEqual(['r0', 'r1']);
  });

  it('uses a route’s replies: all with its defaults', async () => {
    await responders(`${P}.census`, [0, 10, 20]);
    const items = (await send(`${stack.gateway.url}/census`, { method: 'GET' })).json<
      GatheredItem[]
    >();
    expect(items).toHaveLength(2);
  });

  it.each([
    ['max=0', 'bad-request'],
    ['max=many', 'bad-request'],
    ['wait=soon', 'invalid-timeout'],
    ['stall=-1', 'invalid-timeout'],
  ])('rejects %s with 400', async (query, slug) => {
    const res = await send(url(uniqueSubject(P), query), { body: 'x' });
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}${slug}` });
  });

  it('rejects an unknown replies mode', async () => {
    const res = await send(`${stack.gateway.url}/rr/${uniqueSubject(P)}?replies=some`, {
      body: 'x',
    });
    expect(res.status).toBe(400);
  });
});
