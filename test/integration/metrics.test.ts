/** `/metrics` after a known sequence of requests. */
import { describe, expect, it } from 'vitest';
import { send } from '../helpers/http.js';
import { replyHeaders, respond } from '../helpers/responders.js';
import { useStack } from '../helpers/stack.js';

const P = `metrics${process.pid}`;
const stack = useStack({
  gateways: [{ routes: [{ method: 'GET', path: '/items/:id', subject: `${P}.items.{id}` }] }],
});

/** The value of one series in Prometheus text, or undefined when absent. */
function seriesValue(
  text: string,
  name: string,
  labels: Record<string, string>,
): number | undefined {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const end = line.lastIndexOf('}');
    const labelPart = line.slice(name.length + 1, end);
    const have = labelPart.split(',');
    if (wanted.every((w) => have.includes(w)) && have.length === wanted.length) {
      return Number(line.slice(end + 2));
    }
  }
  return undefined;
}

describe('metrics', () => {
  it('counts requests by route template, method and outcome, and reports NATS state', async () => {
    const gw = stack.gateway.url;
    await respond(stack.nc, `${P}.echo`, (msg) => msg.respond(msg.data));
    await respond(stack.nc, `${P}.items.*`, (msg) => msg.respond('item'));
    await respond(stack.nc, `${P}.silent`, () => undefined);
    await respond(stack.nc, `${P}.failing`, (msg) =>
      msg.respond('', {
        headers: replyHeaders([
          ['Nats-Service-Error-Code', '409'],
          ['Nats-Service-Error', 'no'],
        ]),
      }),
    );

    for (let i = 0; i < 3; i++)
      expect((await send(`${gw}/rr/${P}.echo`, { body: 'x' })).status).toBe(200);
    expect((await send(`${gw}/items/42`, { method: 'GET' })).status).toBe(200);
    expect((await send(`${gw}/items/43`, { method: 'GET' })).status).toBe(200);
    expect((await send(`${gw}/rr/${P}.nobody`, { body: 'x' })).status).toBe(503);
    expect((await send(`${gw}/rr/${P}.silent?timeout=100ms`, { body: 'x' })).status).toBe(504);
    expect((await send(`${gw}/rr/${P}.failing`, { body: 'x' })).status).toBe(409);
    expect((await send(`${gw}/rr/a..b`, { body: 'x' })).status).toBe(400);
    expect((await send(`${gw}/nowhere/at/all`, { method: 'GET' })).status).toBe(404);

    const res = await send(`${gw}/metrics`, { method: 'GET' });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const text = res.text;
    const total = (labels: Record<string, string>): number | undefined =>
      seriesValue(text, 'nhg_http_requests_total', labels);
    expect(total({ route: '/rr/{subject}', method: 'POST', outcome: 'ok' })).toBe(3);
    expect(total({ route: '/items/:id', method: 'GET', outcome: 'ok' })).toBe(2);
    expect(total({ route: '/rr/{subject}', method: 'POST', outcome: 'no_responders' })).toBe(1);
    expect(total({ route: '/rr/{subject}', method: 'POST', outcome: 'timeout' })).toBe(1);
    expect(total({ route: '/rr/{subject}', method: 'POST', outcome: 'service_error' })).toBe(1);
    expect(total({ route: '/rr/{subject}', method: 'POST', outcome: 'rejected' })).toBe(1);
    expect(total({ route: 'unmatched', method: 'GET', outcome: 'rejected' })).toBe(1);
    expect(
      seriesValue(text, 'nhg_http_request_duration_seconds_count', {
        route: '/rr/{subject}',
        outcome: 'ok',
      }),
    ).toBe(3);
    expect(seriesValue(text, 'nhg_nats_connection_state', { state: 'connected' })).toBe(1);
    expect(seriesValue(text, 'nhg_nats_connection_state', { state: 'reconnecting' })).toBe(0);
    expect(text).toMatch(/^nhg_http_requests_in_flight 1$/m); // The scrape itself.
    expect(text).toMatch(/^nhg_nats_reconnects_total 0$/m);
    // Labels never carry raw subjects, paths or ids.
    expect(text).not.toContain(P);
    expect(text).not.toContain('/items/42');
  });
});
