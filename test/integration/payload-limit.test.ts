/** 413 when body plus NATS headers exceed the server's max_payload, read from the server itself. */
import { beforeAll, describe, expect, it } from 'vitest';
import { PROBLEM_TYPE_BASE } from '../../src/http/problem.js';
import { unexpectedErrors } from '../helpers/gateway.js';
import { send } from '../helpers/http.js';
import { respond, uniqueSubject } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const MAX_PAYLOAD = 4096;
const stack = useStack({ natsConfig: `max_payload: ${MAX_PAYLOAD}` });
let subject = '';
let received = 0;

beforeAll(async () => {
  subject = uniqueSubject();
  await respond(stack.nc, subject, (msg) => {
    received += 1;
    msg.respond(`${msg.data.length}`);
  });
});

const url = (): string => `${stack.gateway.url}/rr/${subject}`;

function expectTooLarge(res: Awaited<ReturnType<typeof send>>): void {
  expect(res.status).toBe(413);
  expect(res.headers['content-type']).toBe('application/problem+json');
  expect(res.json()).toMatchObject({ type: `${PROBLEM_TYPE_BASE}payload-too-large`, status: 413 });
  expect(res.json().detail).toContain(String(MAX_PAYLOAD));
}

describe('max_payload', () => {
  it('forwards a body that fits with its headers', async () => {
    const res = await send(url(), { body: Buffer.alloc(3000, 1) });
    expect(res.status).toBe(200);
    expect(res.text).toBe('3000');
  });

  it('answers 413 from Content-Length alone, without NATS seeing anything', async () => {
    const before = received;
    expectTooLarge(await send(url(), { body: Buffer.alloc(MAX_PAYLOAD + 1, 1) }));
    expect(received).toBe(before);
  });

  it('answers 413 for a chunked body that grows past the limit', async () => {
    const before = received;
    expectTooLarge(await send(url(), { body: Buffer.alloc(MAX_PAYLOAD * 3, 1), chunked: true }));
    expect(received).toBe(before);
  });

  it('answers 413 when the body fits but body plus headers do not', async () => {
    const before = received;
    const res = await send(url(), {
      body: Buffer.alloc(MAX_PAYLOAD - 200, 1),
      headers: { 'x-padding': 'p'.repeat(400) },
    });
    expectTooLarge(res);
    expect(received).toBe(before);
  });

  it('keeps serving on the same connection after a 413', async () => {
    const res = await send(url(), { body: 'small' });
    expect(res.status).toBe(200);
    expect(res.text).toBe('5');
  });

  it('logged no unexpected errors', () => {
    expect(unexpectedErrors(stack.gateway.logs)).toEqual([]);
  });
});
